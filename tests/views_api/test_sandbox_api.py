"""Sandbox robustness through the API: map functions that loop, throw or exhaust memory skip the
documents concerned (the rest is indexed) and the server keeps answering meanwhile.

Sources: issue 4 "Server view engine" (per-call time limit and memory limit; a map function that
throws or loops skips that document, logged and counted; the server stays responsive); CouchDB
docs src/docs/src/ddocs/views/intro.rst / couch_mrview_updater (a map error is logged and the
document has no rows in that view).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from couchsync.api.app import create_app
from couchsync.api.context import STATE
from couchsync.settings import Settings
from couchsync.views.engine import ViewEngine

from .conftest import bulk, call, ok, put_ddoc, view

TIME_LIMIT_MS = 300

LOOP = "function (doc) { if (doc.loop) { while (true) {} } emit(doc._id, 1); }"
THROW = "function (doc) { if (doc.bad === 'type') { return doc.missing.deep; } if (doc.bad) { throw new Error('boom'); } emit(doc._id, 1); }"
HOG = "function (doc) { if (doc.hog) { var a = []; while (true) { a.push(new Array(100000).join('x')); } } emit(doc._id, 1); }"
ALWAYS = "function (doc) { emit(doc._id, 1); }"


@pytest.fixture
async def fast(settings: Settings) -> AsyncIterator[TestClient]:
    """An admin client of a server whose JavaScript calls are limited to TIME_LIMIT_MS and 32 MiB."""
    app = create_app(settings)
    app[STATE].views = ViewEngine(time_limit_ms=TIME_LIMIT_MS, memory_limit=32 << 20)
    srv = TestServer(app)
    await srv.start_server()
    c = TestClient(srv, headers={"Authorization": aiohttp.encode_basic_auth("admin", "secret")})
    await c.start_server()
    yield c
    await c.close()


async def fresh_db(c: TestClient, docs: list[dict[str, Any]]) -> str:
    name = f"sb{time.monotonic_ns()}"
    await ok(c, "PUT", f"/{name}", 201)
    await bulk(c, name, docs)
    return name


def ids(res: dict[str, Any]) -> list[str]:
    return [r["id"] for r in res["rows"]]


async def test_looping_map_skips_the_doc(fast: TestClient) -> None:
    docs = [{"_id": f"d{i}"} for i in range(6)] + [
        {"_id": "loop1", "loop": True},
        {"_id": "loop2", "loop": True},
    ]
    db = await fresh_db(fast, docs)
    await put_ddoc(fast, db, "s", {"views": {"v": {"map": LOOP}, "ok": {"map": ALWAYS}}})
    res = await view(fast, db, "s", "v")
    assert ids(res) == [f"d{i}" for i in range(6)]
    # the other view of the same ddoc indexed the looping docs (the failure is per doc and view)
    assert ids(await view(fast, db, "s", "ok")) == [*(f"d{i}" for i in range(6)), "loop1", "loop2"]
    # the sandbox recovered: later updates are indexed
    await ok(fast, "PUT", f"/{db}/later", 201, json={})
    assert ids(await view(fast, db, "s", "v"))[-1] == "later"


@pytest.mark.parametrize("bad", ["type", "error"])
async def test_throwing_map_skips_the_doc(fast: TestClient, bad: str) -> None:
    docs = [{"_id": "a"}, {"_id": "b", "bad": bad}, {"_id": "c"}]
    db = await fresh_db(fast, docs)
    await put_ddoc(fast, db, "s", {"views": {"v": {"map": THROW, "reduce": "_count"}, "ok": {"map": ALWAYS}}})
    assert ids(await view(fast, db, "s", "v", {"reduce": False})) == ["a", "c"]
    assert (await view(fast, db, "s", "v"))["rows"] == [{"key": None, "value": 2}]
    assert ids(await view(fast, db, "s", "ok")) == ["a", "b", "c"]
    # fixing the document brings its row
    cur = await ok(fast, "GET", f"/{db}/b")
    await ok(fast, "PUT", f"/{db}/b", 201, json={"_id": "b", "_rev": cur["_rev"]})
    assert ids(await view(fast, db, "s", "v", {"reduce": False})) == ["a", "b", "c"]


async def test_memory_hog_map_skips_the_doc(fast: TestClient) -> None:
    docs = [{"_id": "a"}, {"_id": "hog", "hog": True}, {"_id": "z"}]
    db = await fresh_db(fast, docs)
    await put_ddoc(fast, db, "s", {"views": {"v": {"map": HOG}}})
    assert ids(await view(fast, db, "s", "v")) == ["a", "z"]
    await ok(fast, "PUT", f"/{db}/after", 201, json={})
    assert ids(await view(fast, db, "s", "v")) == ["a", "after", "z"]


async def test_server_stays_responsive_while_a_map_loops(fast: TestClient) -> None:
    """While the indexer burns through looping docs (3 × the time limit), other requests are
    answered promptly."""
    docs = [{"_id": f"loop{i}", "loop": True} for i in range(3)] + [{"_id": "ok"}]
    db = await fresh_db(fast, docs)
    await put_ddoc(fast, db, "s", {"views": {"v": {"map": LOOP}}})
    query = asyncio.create_task(view(fast, db, "s", "v"))
    await asyncio.sleep(0.05)
    latencies = []
    while not query.done():
        t0 = time.monotonic()
        ex = await call(fast, "GET", f"/{db}/ok")
        latencies.append(time.monotonic() - t0)
        assert ex.status == 200, str(ex)
        await asyncio.sleep(0.02)
    res = await query
    assert ids(res) == ["ok"]
    assert len(latencies) >= 5, latencies
    assert max(latencies) < TIME_LIMIT_MS / 1000 / 2, latencies


async def test_looping_reduce_fails_the_request_not_the_server(fast: TestClient) -> None:
    db = await fresh_db(fast, [{"_id": "a"}, {"_id": "b"}])
    await put_ddoc(
        fast,
        db,
        "s",
        {"views": {"v": {"map": ALWAYS, "reduce": "function (k, v, re) { while (true) {} }"}}},
    )
    ex = await call(fast, "GET", f"/{db}/_design/s/_view/v")
    assert ex.status == 500, str(ex)
    assert "error" in ex.json()
    assert ids(await view(fast, db, "s", "v", {"reduce": False})) == ["a", "b"]


async def test_looping_vdu_refuses_the_write_not_the_server(fast: TestClient) -> None:
    db = await fresh_db(fast, [{"_id": "a"}])
    await put_ddoc(
        fast, db, "vdu", {"validate_doc_update": "function (n, o, u, s) { if (n.spin) while (true) {} }"}
    )
    ex = await call(fast, "PUT", f"/{db}/spinner", json={"spin": True})
    assert ex.status >= 400 and ex.json()["error"] == "os_process_error", str(ex)
    res = await ok(
        fast, "POST", f"/{db}/_bulk_docs", 201, json={"docs": [{"_id": "s2", "spin": 1}, {"_id": "c2"}]}
    )
    assert res[0]["error"] == "os_process_error" and res[1]["ok"] is True
    assert (await call(fast, "GET", f"/{db}/spinner")).status == 404
    await ok(fast, "PUT", f"/{db}/calm", 201, json={})


async def test_looping_vdu_on_put_is_a_500(fast: TestClient) -> None:
    """CouchDB chttpd ``error_info``: an ``os_process_error`` from the query server is a 500."""
    db = await fresh_db(fast, [{"_id": "a"}])
    await put_ddoc(
        fast, db, "vdu", {"validate_doc_update": "function (n, o, u, s) { if (n.spin) while (true) {} }"}
    )
    ex = await call(fast, "PUT", f"/{db}/spinner", json={"spin": True})
    assert ex.status == 500, str(ex)
