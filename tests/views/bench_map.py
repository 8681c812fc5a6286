"""Raw QuickJS map rate of couchsync.views.sandbox (not a pytest module; run it directly).

    .venv/bin/python tests/views/bench_map.py [--docs 100000] [--batch 1000] [--threaded]

Builds ``--docs`` ~1 KB FHIR-shaped documents from the Synthea bundles in
``../shared/data/synthea-fhir-r4`` (resources whose JSON is 600..1500 bytes, fresh ``_id``/``_rev``),
then maps them with ``function(doc){ emit(doc.resourceType, null); }`` through
``CompiledDDoc.map_docs`` in batches. Reports docs/s by wall clock and by process CPU time (the
CPU figure is what matters on a shared, loaded machine), for dict input (orjson-serialised by the
sandbox) and for pre-serialised JSON bytes input (what a storage layer holding JSON bodies passes).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

import orjson

from couchsync.views import Sandbox, ThreadedSandbox

SYNTHEA = Path(
    os.environ.get("SYNTHEA_DIR", Path(__file__).resolve().parents[3] / "shared" / "data" / "synthea-fhir-r4")
)

DDOC = {
    "_id": "_design/bench",
    "language": "javascript",
    "views": {"by_type": {"map": "function(doc){ emit(doc.resourceType, null); }"}},
}


def make_docs(n: int) -> list[dict[str, Any]]:
    templates = []
    for path in sorted(glob.glob(str(SYNTHEA / "*.json"))):
        with open(path, encoding="utf-8") as fh:
            for entry in json.load(fh)["entry"]:
                resource = entry["resource"]
                if 600 <= len(orjson.dumps(resource)) <= 1500:
                    templates.append(resource)
    docs = []
    for i in range(n):
        doc = dict(templates[i % len(templates)])
        doc["_id"] = f"{doc['resourceType']}-{i:08d}"
        doc["_rev"] = "1-0123456789abcdef0123456789abcdef"
        docs.append(doc)
    return docs


def run(compiled: Any, batches: list[Any]) -> tuple[float, float, int]:
    wall, cpu = time.perf_counter(), time.process_time()
    rows = 0
    for batch in batches:
        for per_doc in compiled.map_docs(None, batch):
            rows += len(per_doc[0])
    return time.perf_counter() - wall, time.process_time() - cpu, rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threaded", action="store_true", help="through ThreadedSandbox")
    args = parser.parse_args()

    docs = make_docs(args.docs)
    mean = statistics.mean(len(orjson.dumps(d)) for d in docs[:2000])
    print(f"{args.docs} docs, mean {mean:.0f} bytes, batch {args.batch}")
    sandbox: Any = ThreadedSandbox() if args.threaded else Sandbox()
    compiled = sandbox.compile(DDOC)
    dict_batches = [docs[i : i + args.batch] for i in range(0, len(docs), args.batch)]
    byte_batches = [[orjson.dumps(d) for d in b] for b in dict_batches]
    for label, batches in (("dict input ", dict_batches), ("bytes input", byte_batches)):
        results = [run(compiled, batches) for _ in range(args.repeat)]
        best_wall = min(r[0] for r in results)
        best_cpu = min(r[1] for r in results)
        assert all(r[2] == args.docs for r in results)
        print(
            f"{label}: {args.docs / best_wall:9,.0f} docs/s wall   {args.docs / best_cpu:9,.0f} docs/s CPU"
            f"   (best of {args.repeat})"
        )
    print(sandbox.stats)
    if isinstance(sandbox, ThreadedSandbox):
        sandbox.close()


if __name__ == "__main__":
    main()
