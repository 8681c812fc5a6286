"""In-process ceilings for bench/views: the raw QuickJS map rate, and the indexer's pipeline
stage by stage, on the very documents the HTTP benchmark loads (run by bench/views/run.mjs).

    .venv/bin/python bench/views/raw_map.py DOCS.ndjson [--reps 3] [--batch 1000] [--no-stages]

DOCS.ndjson: one document per line, with ``_id`` and ``_rev`` (as the servers store them).
Prints one JSON object to stdout (progress to stderr). Every figure is the median over ``--reps``;
``cpu`` is process CPU time (all threads), so it stays meaningful on a loaded machine.

Map rates (``function(doc){ emit(doc.resourceType, null); }``, batches of ``--batch``), both through a
``ThreadedSandbox`` (the server's sandbox, on its own worker thread):

* ``threaded_dict``: ``CompiledDDoc.map_docs(names, dicts)``, the call the server's indexer makes
  (it hands the sandbox parsed dicts, which the sandbox re-serialises with orjson).
* ``threaded_bytes``: the same with each doc's JSON bytes (what an indexer passing the rendered
  bodies straight from storage would pay).

(A same-thread ``Sandbox`` on this process's main thread measured 2-2.5x slower than the worker,
with dicts and with bytes alike, so it is not used as the ceiling.) The documents are loaded and
then ``gc.freeze()``-d, so that the harness's own 100k parsed docs do not make Python's cyclic GC
dearer than it is in the server, which never holds them.

Stages (default on; ``--no-stages`` leaves them out): the indexer's per-page work outside HTTP,
one page of ``--batch`` changes at a time, each stage timed separately, wall and process CPU (only
one thread works at a time: the main thread, or the sandbox worker during ``map``):

* ``render``: ``render_doc(id, rev, False, body)``; ``loads``: ``orjson.loads`` of it (indexer.py).
* ``map``: ``threaded_dict`` again (the sandbox call).
* ``rows``: ``Indexer._rows`` (``sort_key(key)``, ``orjson.dumps`` of key and value).
* ``sqlite``: one transaction per page into a scratch SQLite file with couchsync's own schema and
  pragmas (``couchsync.storage.schema``: WAL, ``synchronous=FULL``): ``INSERT OR REPLACE`` the
  rows, upsert ``view_indexes``, commit; the same statements as ``storage.views.apply_batch``
  (without aiosqlite's thread hop).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from typing import Any

import orjson

from couchsync.core.render import render_doc
from couchsync.storage.schema import MIGRATIONS, PRAGMAS
from couchsync.views import ThreadedSandbox
from couchsync.views.design import parse_design
from couchsync.views.indexer import Indexer

MAP = "function(doc){ emit(doc.resourceType, null); }"
DDOC = {"_id": "_design/bench", "language": "javascript", "views": {"by_type": {"map": MAP}}}


def log(msg: str) -> None:
    print(f"[raw_map {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def map_rate(compiled: Any, batches: list[list[Any]], n: int) -> dict[str, float]:
    w0, c0 = clock()
    rows = 0
    for batch in batches:
        for per_doc in compiled.map_docs(["by_type"], batch):
            rows += len(per_doc[0])
    w1, c1 = clock()
    if rows != n:
        raise SystemExit(f"map emitted {rows} rows for {n} docs")
    return {"wall": w1 - w0, "cpu": c1 - c0, "rate": n / (w1 - w0), "cpu_rate": n / (c1 - c0)}


def stages(
    compiled: Any, pages: list[list[tuple[str, str, bytes]]], n: int, scratch: str
) -> dict[str, float]:
    ddoc = parse_design(DDOC["_id"], DDOC, db_partitioned=False)
    indexer = Indexer()
    path = os.path.join(scratch, f"stages-{time.monotonic_ns()}.sqlite")
    conn = sqlite3.connect(path, isolation_level=None)
    for p in PRAGMAS:
        conn.execute(p)
    for m in MIGRATIONS:
        conn.executescript(m)
    stage_names = ("render", "loads", "map", "rows", "sqlite")
    t = dict.fromkeys(stage_names, 0.0)
    cpu = dict.fromkeys(stage_names, 0.0)
    seq = 0

    def mark(name: str, since: tuple[float, float]) -> tuple[float, float]:
        now = clock()
        t[name] += now[0] - since[0]
        cpu[name] += now[1] - since[1]
        return now

    for page in pages:
        at = clock()
        rendered = [render_doc(doc_id, rev, False, body) for doc_id, rev, body in page]
        at = mark("render", at)
        docs = [orjson.loads(r) for r in rendered]
        at = mark("loads", at)
        results = compiled.map_docs(["by_type"], docs)
        at = mark("map", at)
        rows = indexer._rows(ddoc, ["by_type"], [doc_id for doc_id, _, _ in page], results)
        at = mark("rows", at)
        seq += len(page)
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT OR REPLACE INTO view_rows(sig, view, part, key_sort, doc_id, n, key, value) "
            "VALUES (?,?,?,?,?,?,?,?)",
            [(ddoc.signature, *r) for r in rows],
        )
        conn.execute(
            "INSERT INTO view_indexes(sig, ddoc_id, seq) VALUES (?,?,?) "
            "ON CONFLICT(sig) DO UPDATE SET seq = excluded.seq, ddoc_id = excluded.ddoc_id",
            (ddoc.signature, ddoc.id, seq),
        )
        conn.execute("COMMIT")
        mark("sqlite", at)
    conn.close()
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path + suffix)
    total = sum(t.values())
    total_cpu = sum(cpu.values())
    return {
        **t,
        **{f"{k} cpu": v for k, v in cpu.items()},
        "total": total,
        "cpu": total_cpu,
        "rate": n / total,
        "cpu_rate": n / total_cpu,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("docs")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--no-stages", action="store_true")
    args = ap.parse_args()

    with open(args.docs, "rb") as fh:
        lines = [line.rstrip(b"\n") for line in fh if line.strip()]
    dicts = [orjson.loads(line) for line in lines]
    n = len(dicts)
    log(f"{n} docs from {args.docs}")
    # storage form: the body without _id/_rev (compact JSON), as couchsync stores it
    stored = [
        (d["_id"], d["_rev"], orjson.dumps({k: v for k, v in d.items() if k not in ("_id", "_rev")}))
        for d in dicts
    ]
    b = args.batch
    dict_batches = [dicts[i : i + b] for i in range(0, n, b)]
    byte_batches = [lines[i : i + b] for i in range(0, n, b)]
    pages = [stored[i : i + b] for i in range(0, n, b)]

    gc.collect()
    gc.freeze()
    threaded_box = ThreadedSandbox()
    threaded = threaded_box.compile(DDOC)
    # warm-up: warms allocators, atoms and the string_sort_key cache
    threaded.map_docs(["by_type"], dicts[: min(n, 2000)])

    runs: dict[str, list[dict[str, float]]] = {"threaded_dict": [], "threaded_bytes": [], "stages": []}
    scratch = tempfile.mkdtemp(prefix="couchsync-bench-views-")
    try:
        for rep in range(1, args.reps + 1):
            log(f"rep {rep}/{args.reps}: map rates")
            runs["threaded_dict"].append(map_rate(threaded, dict_batches, n))
            runs["threaded_bytes"].append(map_rate(threaded, byte_batches, n))
            if not args.no_stages:
                log(f"rep {rep}/{args.reps}: indexer stages")
                runs["stages"].append(stages(threaded, pages, n, scratch))
    finally:
        try:
            for f in os.listdir(scratch):
                os.unlink(os.path.join(scratch, f))
            os.rmdir(scratch)
        except OSError:
            pass
        threaded_box.close()

    def med(rs: list[dict[str, float]]) -> dict[str, float] | None:
        if not rs:
            return None
        return {k: statistics.median(r[k] for r in rs) for k in rs[0]}

    out = {
        "docs": n,
        "batch": b,
        "reps": args.reps,
        "runs": runs,
        "median": {k: med(v) for k, v in runs.items()},
    }
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
