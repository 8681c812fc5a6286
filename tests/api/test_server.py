"""Server-level endpoints: ``/``, ``/_up``, ``/_uuids``, ``/_all_dbs``, ``/_dbs_info``,
``/_active_tasks``, and ``HEAD`` wherever ``GET`` works.

Sources: protocol reference §0 (JSON headers, HEAD), §3.1; CouchDB ``chttpd_misc.erl``
(``handle_welcome_req``, ``handle_uuids_req``, ``handle_all_dbs_req``, ``handle_up_req``), DOCS
``api/server/common.rst``.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from couchsync.api.app import create_app
from couchsync.settings import Settings

HEX32 = re.compile(r"^[0-9a-f]{32}$")


async def _json(resp: Any) -> Any:
    assert resp.headers["Content-Type"].startswith("application/json"), resp.headers
    return await resp.json()


# -- GET / ---------------------------------------------------------------------------------------


async def test_welcome(anon: TestClient) -> None:
    """``GET /`` needs no auth and has CouchDB 3.5.2's shape (reference §3.1)."""
    r = await anon.get("/")
    assert r.status == 200
    assert r.headers["Cache-Control"] == "must-revalidate"
    body = await _json(r)
    assert body["couchdb"] == "Welcome"
    assert body["version"] == "3.5.2"
    assert HEX32.match(body["uuid"])
    assert isinstance(body["git_sha"], str)
    # PouchDB/CouchDB clients feature-detect partitioned dbs from this list (CDB chttpd_misc).
    assert set(body["features"]) >= {
        "access-ready",
        "partitioned",
        "pluggable-storage-engines",
        "reshard",
        "scheduler",
    }
    assert isinstance(body["vendor"]["name"], str)


async def test_welcome_uuid_persists_across_restart(settings: Settings) -> None:
    """The server uuid feeds PouchDB's replication id: it must survive a restart on the same data
    dir (reference §1.2, §7 item 1)."""
    uuids = []
    for _ in range(2):
        srv = TestServer(create_app(settings))
        client = TestClient(srv)
        await client.start_server()
        try:
            uuids.append((await (await client.get("/")).json())["uuid"])
        finally:
            await client.close()
    assert uuids[0] == uuids[1]
    assert HEX32.match(uuids[0])


async def test_welcome_uuid_differs_per_data_dir(tmp_path: Any) -> None:
    got = []
    for name in ("one", "two"):
        s = Settings(data_dir=str(tmp_path / name), admin="admin:secret", bcrypt_rounds=4)
        client = TestClient(TestServer(create_app(s)))
        await client.start_server()
        try:
            got.append((await (await client.get("/")).json())["uuid"])
        finally:
            await client.close()
    assert got[0] != got[1]


# -- /_up ----------------------------------------------------------------------------------------


async def test_up(anon: TestClient) -> None:
    """``GET /_up`` (no auth) → ``{"status":"ok","seeds":{}}`` (CDB chttpd_misc handle_up_req)."""
    r = await anon.get("/_up")
    assert r.status == 200
    assert await _json(r) == {"status": "ok", "seeds": {}}


# -- /_uuids -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "count"), [("", 1), ("?count=0", 0), ("?count=1", 1), ("?count=7", 7), ("?count=1000", 1000)]
)
async def test_uuids_count(anon: TestClient, query: str, count: int) -> None:
    """``GET /_uuids[?count=N]`` → N distinct 32-hex uuids, no auth needed (reference §3.1); CDB
    couch_httpd_misc_handlers handle_uuids_req only refuses N < 0, so ``count=0`` is ``[]``."""
    r = await anon.get("/_uuids" + query)
    assert r.status == 200
    uuids = (await _json(r))["uuids"]
    assert len(uuids) == count == len(set(uuids))
    assert all(HEX32.match(u) for u in uuids)


async def test_uuids_are_sequential(anon: TestClient) -> None:
    """Default algorithm ``sequential``: a batch is monotonically increasing (DOCS config/misc.rst)."""
    uuids = (await (await anon.get("/_uuids?count=50")).json())["uuids"]
    assert uuids == sorted(uuids)


async def test_uuids_never_repeat(anon: TestClient) -> None:
    """20 000 uuids (past the point where the 6-hex counter would wrap) are all distinct."""
    seen: set[str] = set()
    for _ in range(20):
        seen.update((await (await anon.get("/_uuids?count=1000")).json())["uuids"])
    assert len(seen) == 20_000


async def test_uuids_no_cache_headers(anon: TestClient) -> None:
    """CDB chttpd_misc handle_uuids_req: ``Cache-Control: no-cache``, ``Pragma: no-cache`` and an
    ``Expires`` in the past, so proxies never hand out the same uuids twice."""
    r = await anon.get("/_uuids")
    assert r.headers["Cache-Control"] == "no-cache"
    assert r.headers["Pragma"] == "no-cache"
    assert r.headers["Expires"] == "Mon, 01 Jan 1990 00:00:00 GMT"


@pytest.mark.parametrize(
    ("count", "reason"),
    [
        ("1001", "count parameter too large"),
        ("100000", "count parameter too large"),
        ("-1", "count must be a positive integer"),
        ("abc", "count must be a positive integer"),
        ("1.5", "count must be a positive integer"),
        ("", "count must be a positive integer"),
    ],
)
async def test_uuids_bad_count(anon: TestClient, count: str, reason: str) -> None:
    """CDB chttpd_misc handle_uuids_req: > ``[uuids] max_count`` (1000) → 400 "count parameter too
    large"; not an integer or negative → 400 "count must be a positive integer"."""
    r = await anon.get(f"/_uuids?count={count}")
    assert r.status == 400
    assert await _json(r) == {"error": "bad_request", "reason": reason}


# -- /_all_dbs -----------------------------------------------------------------------------------


async def _make_dbs(client: TestClient, names: list[str]) -> None:
    for n in names:
        r = await client.put("/" + n.replace("/", "%2F"))
        assert r.status == 201, await r.text()


async def test_all_dbs_admin_only(client: TestClient, anon: TestClient) -> None:
    """3.x default ``[chttpd] admin_only_all_dbs = true``: anonymous → 401 (reference §3.1)."""
    await _make_dbs(client, ["b", "a"])
    r = await client.get("/_all_dbs")
    assert r.status == 200
    assert await _json(r) == ["_users", "a", "b"]  # _users exists from the first start
    r = await anon.get("/_all_dbs")
    assert r.status == 401
    assert await _json(r) == {"error": "unauthorized", "reason": "You are not a server admin."}


ALL_DBS = ["_users", "a", "a/b", "b", "c", "c1", "d"]  # "_" (0x5F) sorts before "a"


ALL_DBS_CASES = [
    ("", ALL_DBS),
    ('?startkey="b"', ["b", "c", "c1", "d"]),
    ('?start_key="b"', ["b", "c", "c1", "d"]),
    ('?endkey="c"', ["_users", "a", "a/b", "b", "c"]),
    ('?end_key="c"', ["_users", "a", "a/b", "b", "c"]),
    ('?endkey="c"&inclusive_end=false', ["_users", "a", "a/b", "b"]),
    ('?startkey="b"&endkey="c1"', ["b", "c", "c1"]),
    ("?descending=true", ALL_DBS[::-1]),
    ('?descending=true&startkey="c"', ["c", "b", "a/b", "a", "_users"]),
    ('?descending=true&startkey="c"&endkey="a/b"', ["c", "b", "a/b"]),
    ('?descending=true&endkey="b"&inclusive_end=false', ["d", "c1", "c"]),
    ("?limit=2", ["_users", "a"]),
    ("?skip=3", ["b", "c", "c1", "d"]),
    ("?skip=2&limit=2", ["a/b", "b"]),
    ("?limit=0", []),
    ('?startkey="zzz"', []),
]


async def test_all_dbs_range_params(client: TestClient) -> None:
    """``_all_dbs`` takes ``_all_docs``-style range params, names in raw byte order (CDB
    chttpd_misc handle_all_dbs_info_req → couch_mrview_http:parse_params; DOCS
    api/server/common.rst). One set of databases, the table of queries run against it."""
    await _make_dbs(client, ALL_DBS[1:])
    for query, expected in ALL_DBS_CASES:
        r = await client.get("/_all_dbs" + query)
        assert r.status == 200, query
        assert await _json(r) == expected, query


async def test_all_dbs_includes_system_dbs_sorted(client: TestClient) -> None:
    await _make_dbs(client, ["zeta", "_replicator", "alpha"])
    assert await (await client.get("/_all_dbs")).json() == ["_replicator", "_users", "alpha", "zeta"]


# -- /_dbs_info, /_active_tasks ------------------------------------------------------------------


async def test_dbs_info(client: TestClient, anon: TestClient) -> None:
    """``GET|POST /_dbs_info`` (3.2+) → ``[{"key","info"}]``; unknown → ``{"key","error":"not_found"}``."""
    await _make_dbs(client, ["x1", "x2"])
    r = await client.get("/_dbs_info")
    assert r.status == 200
    rows = await _json(r)
    assert [row["key"] for row in rows] == ["_users", "x1", "x2"]
    assert rows[1]["info"]["db_name"] == "x1"
    r = await client.post("/_dbs_info", json={"keys": ["x2", "nope"]})
    assert r.status == 200
    rows = await _json(r)
    assert rows[0]["key"] == "x2" and rows[0]["info"]["doc_count"] == 0
    assert rows[1] == {"key": "nope", "error": "not_found"}
    r = await client.post("/_dbs_info", json={})
    assert r.status == 400
    assert (await _json(r))["error"] == "bad_request"
    r = await anon.get("/_dbs_info")
    assert r.status == 401


async def test_active_tasks(client: TestClient, anon: TestClient) -> None:
    """``GET /_active_tasks`` (server admin) → an array; ``[]`` when idle (reference §3.1)."""
    r = await client.get("/_active_tasks")
    assert r.status == 200
    assert await _json(r) == []
    r = await anon.get("/_active_tasks")
    assert r.status == 401
    assert (await _json(r))["error"] == "unauthorized"


# -- HEAD wherever GET ---------------------------------------------------------------------------

HEAD_PATHS = [
    "/",
    "/_up",
    "/_uuids",
    "/_all_dbs",
    "/_dbs_info",
    "/_active_tasks",
    "/_session",
    "/{db}",
    "/{db}/_all_docs",
    "/{db}/_design_docs",
    "/{db}/_local_docs",
    "/{db}/_changes",
    "/{db}/_security",
    "/{db}/_revs_limit",
    "/{db}/_purged_infos",
    "/{db}/_purged_infos_limit",
    "/{db}/doc1",
    "/{db}/_design/dd",
    "/{db}/_local/loc",
]


async def test_head_like_get(client: TestClient, db: str) -> None:
    """``HEAD`` is accepted wherever ``GET`` is: same status and content type, no body (reference §0)."""
    for doc in ("doc1", "_design/dd", "_local/loc"):
        assert (await client.put(f"/{db}/{doc}", json={"a": 1})).status == 201
    for path in HEAD_PATHS:
        url = path.format(db=db)
        g = await client.get(url)
        h = await client.head(url)
        assert g.status == 200, (path, await g.text())
        assert h.status == g.status, path
        assert h.headers["Content-Type"].split(";")[0] == g.headers["Content-Type"].split(";")[0], path
        assert await h.read() == b"", path


@pytest.mark.parametrize("path", ["/nosuchdb", "/{db}/missing", "/_all_dbs/nothing"])
async def test_head_missing(client: TestClient, db: str, path: str) -> None:
    h = await client.head(path.format(db=db))
    assert h.status == 404
    assert await h.read() == b""
