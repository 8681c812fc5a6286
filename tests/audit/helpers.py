"""Helpers of the audit tests: the trail of a database, its SQLite file, tenant users, times."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient, TestServer

from couchsync.api.context import STATE
from tests.api.helpers import ok


async def trail(client: TestClient, db: str, **params: Any) -> list[dict[str, Any]]:
    """Every entry of ``GET /{db}/_audit`` (all pages), oldest first."""
    out: list[dict[str, Any]] = []
    before = None
    while True:
        q = {**{k: str(v) for k, v in params.items()}, "limit": "1000"}
        if before is not None:
            q["before"] = str(before)
        page = await ok(await client.get(f"/{db}/_audit", params=q))
        out += page["entries"]
        before = page["next"]
        if before is None:
            return out[::-1]


def path_of(server: TestServer, db: str) -> str:
    return server.app[STATE].registry.path(db)


@contextmanager
def sqlite(server: TestServer, db: str) -> Iterator[sqlite3.Connection]:
    """A second connection to the database's file, as an intruder with file access would open it."""
    conn = sqlite3.connect(path_of(server, db), isolation_level=None)
    try:
        yield conn
    finally:
        conn.close()


def file_bytes(server: TestServer, db: str) -> bytes:
    """The database file and its WAL, as on disk."""
    out = b""
    for suffix in ("", "-wal"):
        try:
            with open(path_of(server, db) + suffix, "rb") as f:
                out += f.read()
        except FileNotFoundError:
            pass
    return out


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def tick() -> None:
    """Lets the server clock advance past the last entry's millisecond."""
    await asyncio.sleep(0.005)


async def user_client(server: TestServer, name: str, password: str) -> TestClient:
    c = TestClient(server, headers={"Authorization": aiohttp.encode_basic_auth(name, password)},
                   cookie_jar=aiohttp.DummyCookieJar())
    await c.start_server()
    return c
