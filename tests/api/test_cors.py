"""CORS for browser PouchDB: preflights, actual responses, errors and streamed feeds.

The ``settings`` fixture allows the origin ``http://app.test``. PouchDB's fetch always sends
``credentials: 'include'`` with ``Content-Type``/``Accept: application/json``, so every request is
preflighted and every answer needs the exact origin plus ``Allow-Credentials: true``.

Sources: protocol reference §0.1, §7 item 19; CouchDB ``src/chttpd/src/chttpd_cors.erl``
(``maybe_handle_preflight_request``, ``handle_preflight_request``, ``headers/2``),
``chttpd_cors.hrl`` (default allowed headers and methods, ``Max-Age`` 600).
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from couchsync.api.app import create_app
from couchsync.settings import Settings

ORIGIN = "http://app.test"


def _preflight(
    method: str = "GET", headers: str | None = "content-type,authorization", origin: str = ORIGIN
) -> dict[str, str]:
    h = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers is not None:
        h["Access-Control-Request-Headers"] = headers
    return h


def _no_cors(resp: Any) -> None:
    leaked = [k for k in resp.headers if k.lower().startswith("access-control-")]
    assert not leaked, leaked


def _has_cors(resp: Any, origin: str = ORIGIN) -> None:
    assert resp.headers["Access-Control-Allow-Origin"] == origin  # exact echo, never "*"
    assert resp.headers["Access-Control-Allow-Credentials"] == "true"
    exposed = {h.strip() for h in resp.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"content-type", "cache-control", "etag", "server"} <= exposed


# -- preflight -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/", "/{db}", "/{db}/_changes", "/{db}/doc", "/_session", "/{db}/_bulk_docs"]
)
async def test_preflight_allowed(anon: TestClient, db: str, path: str) -> None:
    """A preflight from an allowed origin for each of PouchDB's methods is answered 204 without
    credentials, echoing the origin and the requested headers (chttpd_cors
    handle_preflight_request; ``Max-Age`` 600)."""
    for method in ("GET", "PUT", "POST", "HEAD", "DELETE"):
        r = await anon.options(path.format(db=db), headers=_preflight(method, "Content-Type, Authorization"))
        assert r.status == 204, method
        assert await r.read() == b""
        assert r.headers["Access-Control-Allow-Origin"] == ORIGIN
        assert r.headers["Access-Control-Allow-Credentials"] == "true"
        assert r.headers["Access-Control-Max-Age"] == "600"
        allowed_headers = {h.strip().lower() for h in r.headers["Access-Control-Allow-Headers"].split(",")}
        assert allowed_headers >= {"content-type", "authorization"}
        methods = {m.strip() for m in r.headers["Access-Control-Allow-Methods"].split(",")}
        assert methods >= {"GET", "PUT", "POST", "HEAD", "DELETE"}


PREFLIGHT_HEADER_SETS = [
    None,
    "accept",
    "accept,content-type",
    "content-type,authorization,accept,x-requested-with",
    "if-match,destination,x-couch-full-commit",
]


async def test_preflight_default_header_list(anon: TestClient) -> None:
    """Any subset of CouchDB's default allowed request headers passes (chttpd_cors.hrl
    ``SUPPORTED_HEADERS``)."""
    for headers in PREFLIGHT_HEADER_SETS:
        r = await anon.options("/", headers=_preflight("GET", headers))
        assert r.status == 204, headers
        assert r.headers["Access-Control-Allow-Origin"] == ORIGIN


@pytest.mark.parametrize(
    ("origin", "method", "headers"),
    [
        ("http://evil.test", "GET", "content-type"),  # origin not configured
        ("http://app.test:8080", "GET", None),  # a different origin: exact match only
        ("https://app.test", "GET", None),
        (ORIGIN, "GET", "content-type,x-custom-header"),  # a header outside the allowed set
        (ORIGIN, "PATCH", "content-type"),  # a method outside the allowed set
    ],
)
async def test_preflight_refused_has_no_cors_headers(
    anon: TestClient, db: str, origin: str, method: str, headers: str | None
) -> None:
    """Not an acceptable preflight → treated as a plain request without any CORS header
    (chttpd_cors ``not_preflight``; reference §0.1): the browser then blocks the request."""
    r = await anon.options(f"/{db}", headers=_preflight(method, headers, origin))
    assert r.status != 204
    _no_cors(r)


async def test_options_without_origin_is_not_cors(anon: TestClient) -> None:
    r = await anon.options("/", headers={"Access-Control-Request-Method": "GET"})
    _no_cors(r)


# -- actual responses ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/", None),
        ("GET", "/{db}", None),
        ("PUT", "/{db}/doc", {"a": 1}),
        ("POST", "/{db}/_all_docs", {}),
        ("GET", "/{db}/_changes", None),
        ("POST", "/{db}/_bulk_docs", {"docs": [{"_id": "x"}]}),
        ("GET", "/_session", None),
    ],
)
async def test_actual_response_carries_cors(
    client: TestClient, db: str, method: str, path: str, body: Any
) -> None:
    """Actual responses to an allowed origin carry ACAO (exact origin), ACAC ``true`` and the
    exposed headers (chttpd_cors ``headers/2``; reference §0.1)."""
    r = await client.request(method, path.format(db=db), json=body, headers={"Origin": ORIGIN})
    assert r.status < 300, await r.text()
    _has_cors(r)
    assert "Origin" in r.headers.get("Vary", "")


@pytest.mark.parametrize(
    ("who", "method", "path", "status"),
    [
        ("anon", "GET", "/{db}", 401),  # admin-only db, anonymous
        ("anon", "GET", "/_all_dbs", 401),
        ("client", "GET", "/nosuchdb", 404),  # PouchDB's setup: GET → 404 → PUT
        ("client", "GET", "/{db}/missing", 404),
        ("client", "PUT", "/{db}", 412),
        ("client", "POST", "/{db}/_bulk_docs", 415),
        ("client", "DELETE", "/_all_dbs", 405),
        ("client", "GET", '/{db}/_changes?since="garbage"', 400),
    ],
)
async def test_error_responses_carry_cors(
    client: TestClient, anon: TestClient, db: str, who: str, method: str, path: str, status: int
) -> None:
    """Errors must be readable cross-origin too: PouchDB decides what to do from 401/404/412
    bodies (CouchDB adds CORS headers in ``chttpd:send_response`` for every response)."""
    c = client if who == "client" else anon
    r = await c.request(
        method, path.format(db=db), data="x", headers={"Origin": ORIGIN, "Content-Type": "text/plain"}
    )
    assert r.status == status, await r.text()
    assert (await r.json())["error"]
    _has_cors(r)


async def test_auth_failure_carries_cors(anon: TestClient) -> None:
    """A 401 from bad Basic credentials (raised before any handler runs) still carries CORS."""
    auth = aiohttp.encode_basic_auth("admin", "wrong")
    r = await anon.get("/_session", headers={"Origin": ORIGIN, "Authorization": auth})
    assert r.status == 401
    _has_cors(r)


async def test_disallowed_origin_actual_request(client: TestClient) -> None:
    r = await client.get("/", headers={"Origin": "http://evil.test"})
    assert r.status == 200
    _no_cors(r)


async def test_no_origin_no_cors(client: TestClient) -> None:
    r = await client.get("/")
    _no_cors(r)


async def test_longpoll_heartbeat_feed_carries_cors(client: TestClient, db: str) -> None:
    """PouchDB's live replication long-polls with ``heartbeat=10000``: that response is streamed
    (headers sent before the body), and must still carry the CORS headers."""
    task = asyncio.create_task(
        client.get(f"/{db}/_changes?feed=longpoll&heartbeat=100&since=now", headers={"Origin": ORIGIN})
    )
    await asyncio.sleep(0.2)
    assert (await client.put(f"/{db}/doc", json={})).status == 201
    r = await asyncio.wait_for(task, 5)
    assert r.status == 200
    _has_cors(r)
    assert [row["id"] for row in (await r.json())["results"]] == ["doc"]


@pytest.mark.parametrize("feed", ["continuous", "eventsource"])
async def test_streamed_feeds_carry_cors(client: TestClient, db: str, feed: str) -> None:
    assert (await client.put(f"/{db}/doc", json={})).status == 201
    r = await client.get(f"/{db}/_changes?feed={feed}&timeout=10", headers={"Origin": ORIGIN})
    assert r.status == 200
    _has_cors(r)
    await r.read()


async def test_cors_off_without_configured_origins(tmp_path: Any) -> None:
    """With no configured origins CORS is off: no headers, preflights are plain OPTIONS requests."""
    s = Settings(data_dir=str(tmp_path / "d"), admin="admin:secret", bcrypt_rounds=4)
    c = TestClient(TestServer(create_app(s)))
    await c.start_server()
    try:
        r = await c.options("/", headers=_preflight())
        _no_cors(r)
        r = await c.get("/", headers={"Origin": ORIGIN})
        assert r.status == 200
        _no_cors(r)
    finally:
        await c.close()


async def test_wildcard_origin_echoes_request_origin(tmp_path: Any) -> None:
    """``origins = *``: the request origin is echoed (never ``*`` itself: credentials are used)."""
    s = Settings(data_dir=str(tmp_path / "d"), admin="admin:secret", bcrypt_rounds=4, cors_origins=("*",))
    c = TestClient(TestServer(create_app(s)))
    await c.start_server()
    try:
        r = await c.get("/", headers={"Origin": "http://other.test"})
        _has_cors(r, "http://other.test")
        r = await c.options("/", headers=_preflight(origin="http://other.test"))
        assert r.status == 204
        assert r.headers["Access-Control-Allow-Origin"] == "http://other.test"
    finally:
        await c.close()
