#!/usr/bin/env python3
"""Summarise a py-spy "raw" (collapsed stacks) profile of couchsync: where the server's busy time goes.

    python3 bench/lib/pyspy_summary.py PROFILE.txt [--rate HZ] [--top N]

Idle samples (event loop in epoll, aiosqlite/thread-pool workers waiting for work) and start-up
(imports, config) are dropped. Busy samples are grouped by:
  * the HTTP handler (the frame under ``couchsync.api.routes.dispatch``),
  * the database write transaction (``Database._write``: it runs shielded, as its own task),
  * sqlite (aiosqlite worker threads inside the C call: sqlite, fsync, row conversion and, without
  ``--gil``, waiting for the GIL),
  * aiohttp request parsing / response writing, bcrypt, and the rest of the event loop.
For each group: its share, seconds (samples / rate), the top self frames and the top inclusive
couchsync functions. Self frames are "function (file:line)". Stdlib only.
"""

from __future__ import annotations

import argparse
import collections
import re

IDLE_LEAVES = ("aiosqlite/core.py:59)", "EpollSelector.select", "concurrent/futures/thread.py:81)")
_PREFIX = re.compile(r" \((?:/[^)]*/)?(?:site-packages/|lib/python3\.\d+/)?")
SKIP_INCL = (
    "dispatch",
    "auth_middleware",
    "cors_middleware",
    "error_middleware",
    "_guarded",
    "serve",
    "<module>",
)


def norm(frame: str) -> str:
    return _PREFIX.sub(" (", frame, count=1)


def fn_file(frame: str) -> str:
    name, _, rest = frame.partition(" (")
    return f"{name} ({rest.split(':')[0].rstrip(')')})"


def group_of(frames: list[str]) -> str | None:
    if frames[0].startswith("Thread._bootstrap"):
        if any("verify_password" in f or "hash_password" in f for f in frames):
            return "bcrypt (thread pool)"
        if frames[-1].startswith("_connection_worker_thread (aiosqlite/core.py"):
            return "sqlite calls (aiosqlite worker threads: sqlite C code, fsync, row conversion, GIL waits)"
        return "worker threads, python (aiosqlite result hand-off to the loop)"
    if not any(
        f.startswith("serve (couchsync/cli/main.py") and "run_app" not in f for f in frames
    ) or not any("run_app" in f for f in frames):
        return None  # start-up
    for i, f in enumerate(frames):
        if f.startswith("dispatch (couchsync/api/routes.py") and i + 1 < len(frames):
            return "handler " + fn_file(frames[i + 1])
    if any(f.startswith("Database._write (") for f in frames):
        return "db write transaction (storage.updater under Database._write)"
    if any("finish_response" in f or "write_eof" in f or "_write_ready" in f for f in frames):
        return "aiohttp response write"
    if any("data_received" in f or "http_parser" in f for f in frames):
        return "aiohttp request parse"
    if any("_handle_request" in f for f in frames):
        return "aiohttp request / middlewares"
    return "event loop, other"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("profile")
    ap.add_argument("--rate", type=float, default=200.0, help="py-spy sampling rate used (Hz)")
    ap.add_argument("--top", type=int, default=6, help="self frames shown per group")
    args = ap.parse_args()

    self_by = collections.defaultdict(collections.Counter)
    incl_by = collections.defaultdict(collections.Counter)
    total = collections.Counter()
    idle = startup = 0
    with open(args.profile) as fh:
        for line in fh:
            stack, _, n_s = line.rstrip("\n").rpartition(" ")
            if not stack or not n_s.isdigit():
                continue
            n = int(n_s)
            frames = [norm(f) for f in stack.split(";")]
            if frames[-1].endswith(IDLE_LEAVES) or any(frames[-1].startswith(k) for k in IDLE_LEAVES):
                idle += n
                continue
            g = group_of(frames)
            if g is None:
                startup += n
                continue
            total[g] += n
            self_by[g][frames[-1]] += n
            for f in {fn_file(f) for f in frames if "couchsync/" in f}:
                incl_by[g][f] += n

    busy = sum(total.values())
    r = args.rate
    print(
        f"py-spy summary of {args.profile}: busy {busy / r:.1f} s, idle {idle / r:.1f} s, "
        f"start-up {startup / r:.1f} s (at {r:g} Hz)"
    )
    if not busy:
        return
    for g, c in total.most_common():
        print(f"\n{100 * c / busy:5.1f}%  {c / r:6.2f} s  {g}")
        for f, k in self_by[g].most_common(args.top):
            print(f"         self {100 * k / busy:4.1f}%  {f}")
        incl = [(f, k) for f, k in incl_by[g].most_common(14) if not f.startswith(SKIP_INCL)][:6]
        if incl:
            print("         incl  " + "; ".join(f"{f} {100 * k / busy:.1f}%" for f, k in incl))


if __name__ == "__main__":
    main()
