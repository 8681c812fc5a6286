"""Thread-safety wrappers compared (not a pytest module; run it directly).

    .venv/bin/python tests/views/bench_threads.py [--calls 3000]

From an asyncio event loop, per call of a small ``validate_doc_update`` and of a 500-doc
``map_docs`` batch:

* ``lock+to_thread``: one Sandbox shared by the default executor's threads under a
  ``threading.Lock`` (what "a lock" would mean; NOT safe with QuickJS, measured for comparison),
* ``worker (await a*)``: ThreadedSandbox, ``await compiled.avalidate(...)`` (one hop),
* ``worker via to_thread``: ThreadedSandbox called through ``asyncio.to_thread`` (two hops),
* ``inline``: the Sandbox called on the loop thread (blocks the loop; the floor).
Sequential calls and 8 concurrent callers. Times are wall clock, microseconds per call.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_map import make_docs  # noqa: E402

from couchsync.views import Sandbox, ThreadedSandbox  # noqa: E402

DDOC = {
    "_id": "_design/bench",
    "views": {"by_type": {"map": "function(doc){ emit(doc.resourceType, null); }"}},
    "validate_doc_update": "function(n, o, u) { if (!n.resourceType) throw({forbidden: 'resourceType required'}); }",
}
NEW_DOC = {"_id": "x", "resourceType": "Patient", "name": [{"family": "Doe"}]}
USER = {"db": "db", "name": "bob", "roles": ["staff"]}


async def timed(n: int, concurrency: int, call: Callable[[], Awaitable[Any]]) -> float:
    async def runner(count: int) -> None:
        for _ in range(count):
            await call()

    start = time.perf_counter()
    await asyncio.gather(*(runner(n // concurrency) for _ in range(concurrency)))
    return (time.perf_counter() - start) / n * 1e6


async def main_async(calls: int) -> None:
    docs = make_docs(500)
    shared = Sandbox()
    shared._any_thread = True  # the unsafe variant, for comparison only
    shared_compiled = shared.compile(DDOC)
    lock = threading.Lock()

    def locked_validate() -> None:
        with lock:
            shared_compiled.validate(NEW_DOC, None, USER, {})

    def locked_map() -> None:
        with lock:
            shared_compiled.map_docs(None, docs)

    worker = ThreadedSandbox()
    compiled = await worker.acompile(DDOC)
    inline = Sandbox().compile(DDOC)

    async def inline_validate() -> None:
        inline.validate(NEW_DOC, None, USER, {})

    async def inline_map() -> None:
        inline.map_docs(None, docs)

    variants: list[tuple[str, Callable[[], Awaitable[Any]], Callable[[], Awaitable[Any]]]] = [
        ("inline (blocks loop)", inline_validate, inline_map),
        ("lock+to_thread", lambda: asyncio.to_thread(locked_validate), lambda: asyncio.to_thread(locked_map)),
        (
            "worker (await a*)",
            lambda: compiled.avalidate(NEW_DOC, None, USER, {}),
            lambda: compiled.amap_docs(None, docs),
        ),
        (
            "worker via to_thread",
            lambda: asyncio.to_thread(compiled.validate, NEW_DOC, None, USER, {}),
            lambda: asyncio.to_thread(compiled.map_docs, None, docs),
        ),
    ]
    print(
        f"{'variant':24s} {'validate seq':>13s} {'validate x8':>12s} {'map500 seq':>11s} {'map500 x8':>10s}  (µs/call)"
    )
    for name, validate, map_batch in variants:
        results = []
        for fn, n in ((validate, calls), (map_batch, max(16, calls // 100))):
            for conc in (1, 8):
                best = min([await timed(n, conc, fn) for _ in range(3)])
                results.append(best)
        print(f"{name:24s} {results[0]:13.0f} {results[1]:12.0f} {results[2]:11.0f} {results[3]:10.0f}")
    worker.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=3000)
    args = parser.parse_args()
    asyncio.run(main_async(args.calls))


if __name__ == "__main__":
    main()
