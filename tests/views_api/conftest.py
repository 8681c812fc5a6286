"""Fixtures and helpers for the view-engine API tests (reference §4.4, §4.5, §5, §7 items 28-30).

Re-exports the API fixtures (``server``, ``client`` = server admin, ``anon``, ``db``, ``settings``,
``data_dir``). :func:`call`/:func:`ok`/:func:`err` talk to the server; :func:`put_ddoc`,
:func:`bulk` and :func:`view` build the usual setups.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

import orjson
from aiohttp.test_utils import TestClient

from tests.api.conftest import anon, client, data_dir, db, server, settings  # noqa: F401
from tests.tenants.world import Exchange, call

__all__ = ["Exchange", "bulk", "call", "err", "ok", "put_ddoc", "qs", "view"]


async def ok(
    c: TestClient, method: str, path: str, status: int | tuple[int, ...] = (200, 201), **kw: Any
) -> Any:
    """Sends a request that must answer ``status``; returns the decoded JSON body."""
    ex = await call(c, method, path, **kw)
    wanted = (status,) if isinstance(status, int) else status
    assert ex.status in wanted, str(ex)
    return ex.json() if ex.body else None


def err(ex: Exchange, status: int, error: str, reason: str | None = None) -> dict[str, Any]:
    """Asserts a CouchDB error answer ``{"error", "reason"}`` and returns it."""
    assert ex.status == status, str(ex)
    body = ex.json()
    assert body.get("error") == error, str(ex)
    if reason is not None:
        assert body.get("reason") == reason, str(ex)
    return dict(body)


def qs(params: dict[str, Any] | list[tuple[str, Any]]) -> str:
    """A query string; values that are not strings are JSON-encoded (as PouchDB/CouchDB clients do
    for ``key``, ``keys``, ``startkey``, ``endkey``; booleans/numbers become ``true``/``3``)."""
    items = params.items() if isinstance(params, dict) else params
    parts = []
    for k, v in items:
        text = v if isinstance(v, str) and k not in JSON_KEYS else orjson.dumps(v).decode()
        parts.append(f"{urllib.parse.quote(k)}={urllib.parse.quote(text, safe='')}")
    return "?" + "&".join(parts) if parts else ""


JSON_KEYS = frozenset({"key", "keys", "startkey", "start_key", "endkey", "end_key"})


async def put_ddoc(c: TestClient, dbname: str, name: str, body: dict[str, Any], status: int = 201) -> str:
    """Writes ``_design/{name}`` (updating it when it exists); returns the new rev."""
    doc_id = f"_design/{name}"
    cur = await call(c, "GET", f"/{dbname}/{doc_id}")
    doc = {"language": "javascript", **body}
    if cur.status == 200:
        doc["_rev"] = cur.json()["_rev"]
    res = await ok(c, "PUT", f"/{dbname}/{doc_id}", status, json=doc)
    return str(res.get("rev", ""))


async def bulk(c: TestClient, dbname: str, docs: list[dict[str, Any]], **extra: Any) -> list[dict[str, Any]]:
    """``POST _bulk_docs``; asserts every doc was written (interactive mode)."""
    res = await ok(c, "POST", f"/{dbname}/_bulk_docs", 201, json={"docs": docs, **extra})
    if extra.get("new_edits") is not False:
        assert all("error" not in r for r in res), res
    return list(res)


async def view(
    c: TestClient,
    dbname: str,
    ddoc: str,
    name: str,
    params: dict[str, Any] | list[tuple[str, Any]] | None = None,
    *,
    status: int = 200,
    prefix: str = "",
) -> Any:
    """``GET /{db}[/_partition/p]/_design/{ddoc}/_view/{name}?…``; returns the JSON answer."""
    return await ok(c, "GET", f"/{dbname}{prefix}/_design/{ddoc}/_view/{name}{qs(params or {})}", status)
