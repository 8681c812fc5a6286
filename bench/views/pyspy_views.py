#!/usr/bin/env python3
"""Summarise a py-spy "raw" (collapsed stacks) profile of couchsync taken by bench/views: where
the server's busy samples go while it builds, updates or queries a view.

    python3 bench/views/pyspy_views.py PROFILE.txt [--rate HZ] [--top N] [--src REPO]

Works with plain profiles and with ``--native`` (C frames: sqlite, QuickJS, the GC) and
``--threads`` ones. Idle samples (a thread waiting for work: the event loop in ``select``, an
aiosqlite worker or the sandbox worker in ``queue.get``, thread-pool workers) are dropped.
Busy samples are split by thread role:

* event loop: Python on the main thread (handlers, the indexer, row building),
* JS sandbox: the ``ThreadedSandbox`` worker (serialising docs, QuickJS, parsing results),
* sqlite: the aiosqlite worker threads (the SQL itself, fsync, row conversion),

and within all of them by *site*: the deepest couchsync frame, with its source line, so
``indexer.py:66`` reads as the statement it is. With ``--native`` the CPython cyclic garbage
collector (``gc_collect_main``), QuickJS ``JSON.parse``/``JSON.stringify`` and sqlite's
``executemany``/fetch/``fdatasync`` get sites of their own. Without ``--gil``, a thread that waits
for the GIL (or, on a loaded machine, for a CPU) still counts as busy. Stdlib only.
"""

from __future__ import annotations

import argparse
import collections
import linecache
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
_THREAD = re.compile(r"^thread \((?:0x)?[0-9a-fA-F]+\): ?(.*)$")
_FRAME = re.compile(r"^(?P<fn>.+?) \((?P<file>[^():]+):(?P<line>\d+)\)$")


def parse(frame: str) -> tuple[str, str, int] | None:
    m = _FRAME.match(frame)
    if not m:
        return None
    return m["fn"], m["file"], int(m["line"])


def source(file: str, line: int, src: Path) -> str:
    if not file.startswith("couchsync/"):
        return ""
    text = linecache.getline(str(src / file), line).strip()
    return text[:90]


def is_idle(py: list[tuple[str, str, int]], src: Path) -> bool:
    if not py:
        return False
    fn, file, line = py[-1]
    if fn.startswith("EpollSelector.select") or fn.startswith("select ("):
        return True
    if file.endswith("aiosqlite/core.py") and fn == "_connection_worker_thread":
        return ".get(" in linecache.getline(_site_file(file), line) or line == 59
    if file.endswith("concurrent/futures/thread.py") and fn == "_worker":
        return True
    if file == "couchsync/views/sandbox.py" and fn == "_worker":
        # the worker loop itself: waiting in jobs.get() (the rest of its lines are trivial); a
        # profile may be older than the source, so the line number is not checked
        return True
    return fn in ("Condition.wait", "Event.wait", "SimpleQueue.get", "Queue.get")


def _site_file(file: str) -> str:
    for p in sorted(REPO.glob(".venv/lib/python3*/site-packages")):
        if (p / file).exists():
            return str(p / file)
    return file


def role_of(thread: str, frames: list[str]) -> str:
    s = ";".join(frames)
    if "couchsync-js" in thread or "_worker (couchsync/views/sandbox.py" in s:
        return "JS sandbox worker"
    if "_connection_worker_thread" in s:
        return "sqlite (aiosqlite workers)"
    if thread.startswith("MainThread") or "run_app (" in s or "BaseEventLoop.run_forever" in s:
        return "event loop (main thread)"
    if "concurrent/futures/thread.py" in s:
        return "thread pool (to_thread)"
    return "other"


def site_of(role: str, frames: list[str], py: list[tuple[str, str, int]], src: Path) -> str:
    s = ";".join(frames)
    natives = [f.split(" (")[0] for f in frames if parse(f) is None or not parse(f)[1].endswith(".py")]
    deepest = next((p for p in reversed(py) if p[1].startswith("couchsync/")), None)
    where = (
        f"{deepest[1].removeprefix('couchsync/')}:{deepest[2]} {deepest[0]}"
        if deepest
        else (f"{py[-1][1]}:{py[-1][2]} {py[-1][0]}" if py else "?")
    )
    code = source(deepest[1], deepest[2], src) if deepest else ""
    if "gc_collect_main" in natives or "gc_collect_with_callback" in natives:
        return f"[CPython cyclic GC] under {where}  | {code}"
    if role == "sqlite (aiosqlite workers)":
        if "fdatasync" in s or "fsync" in natives:
            return "[sqlite] fsync (commit)"
        if "executemany" in s:
            return "[sqlite] executemany (INSERT/DELETE rows)"
        if "iternext" in s or "fetchall" in s or "fetchmany" in s:
            return "[sqlite] SELECT + row fetch"
        if "pysqlite_" in s or "sqlite3" in s:
            return "[sqlite] other statement (execute, commit)"
        return "[sqlite] call (no native frames: run with --native to split)"
    if role == "JS sandbox worker" and deepest and deepest[0] in ("Sandbox._js",):
        if "JSON_parse" in s or "js_json_parse" in s.lower():
            return "[QuickJS] JSON.parse of the doc batch"
        if "JSON_stringify" in s or "js_json_stringify" in s.lower() or "json_to_str" in s.lower():
            return "[QuickJS] JSON.stringify of the emitted rows"
        if natives:
            return "[QuickJS] map functions, emit, engine"
        return "[QuickJS] call (no native frames: run with --native to split)"
    return f"{where}  | {code}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("profile")
    ap.add_argument("--rate", type=float, default=200.0)
    ap.add_argument("--top", type=int, default=18)
    ap.add_argument("--src", default=str(REPO), help="repository root for source lines")
    args = ap.parse_args()
    src = Path(args.src)

    roles: collections.Counter[str] = collections.Counter()
    sites: collections.Counter[str] = collections.Counter()
    role_sites: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    total = idle = 0
    with open(args.profile, encoding="utf-8", errors="replace") as fh:
        lines = fh.read().splitlines()
    for raw in lines:
        if not raw:
            continue
        stack, _, count = raw.rpartition(" ")
        try:
            n = int(count)
        except ValueError:
            continue
        frames = stack.split(";")
        thread = ""
        m = _THREAD.match(frames[0])
        if m:
            thread = m.group(1)
            frames = frames[1:]
        total += n
        py = [p for p in map(parse, frames) if p and (p[1].endswith(".py") or p[1].startswith("<"))]
        if is_idle(py, src):
            idle += n
            continue
        role = role_of(thread, frames)
        site = site_of(role, frames, py, src)
        roles[role] += n
        sites[site] += n
        role_sites[role][site] += n

    busy = sum(roles.values())
    if not busy:
        print(f"no busy samples ({total} total)")
        return
    sec = lambda n: n / args.rate  # noqa: E731
    print(f"{total} samples, {busy} busy ({sec(busy):.1f} s at {args.rate:g} Hz), {idle} idle dropped")
    for role, n in roles.most_common():
        print(f"  {100 * n / busy:5.1f}%  {sec(n):6.2f} s  {role}")
    gc = sum(n for s, n in sites.items() if s.startswith("[CPython cyclic GC]"))
    if gc:
        print(f"  of which CPython cyclic GC (all threads): {100 * gc / busy:.1f}%")
    print("top sites (deepest couchsync frame and its line; [..] = native-level split), share of busy:")
    for site, n in sites.most_common(args.top):
        print(f"  {100 * n / busy:5.1f}%  {site}")


if __name__ == "__main__":
    main()
