"""Fixtures and helpers of the Mango (``_index``/``_find``/``_explain``) tests.

* The API fixtures are re-exported from :mod:`tests.api.conftest` (``server``, ``client`` = server
  admin, ``anon``, ``db``, ``settings``, ``data_dir``): a fresh server per test.
* :class:`LiveServer` runs one real couchsync app on a loopback port in a background thread (its
  own event loop) for a whole module, and :class:`SyncClient` talks to it with plain blocking
  HTTP. The table and differential tests use it: Hypothesis drives synchronous test functions, and
  one server per module keeps hundreds of cases fast. Everything goes over HTTP, nothing is mocked.
"""

from __future__ import annotations

import asyncio
import base64
import http.client
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import orjson
import pytest
from aiohttp import web

from couchsync.api.app import create_app
from couchsync.settings import Settings
from tests.api.conftest import ADMIN, anon, client, data_dir, db, server, settings  # noqa: F401

__all__ = ["ADMIN", "LiveServer", "Resp", "SyncClient", "live_server"]


@dataclass
class Resp:
    status: int
    body: Any
    raw: bytes

    def __str__(self) -> str:
        return f"{self.status} {self.raw[:800]!r}"


class SyncClient:
    """Blocking HTTP/1.1 keep-alive client with Basic auth (or anonymous)."""

    def __init__(self, port: int, auth: tuple[str, str] | None = ADMIN) -> None:
        self.port = port
        self.headers = {"Accept": "application/json"}
        if auth is not None:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            self.headers["Authorization"] = f"Basic {token}"
        self._conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            self._conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        return self._conn

    def request(self, method: str, path: str, body: Any = None, *, raw: bytes | None = None) -> Resp:
        headers = dict(self.headers)
        data: bytes | None = raw
        if body is not None:
            data = orjson.dumps(body)
        if data is not None:
            headers["Content-Type"] = "application/json"
        for attempt in (0, 1):
            conn = self._connection()
            try:
                conn.request(method, path, body=data, headers=headers)
                resp = conn.getresponse()
                payload = resp.read()
                break
            except (http.client.HTTPException, ConnectionError):
                conn.close()
                self._conn = None
                if attempt:
                    raise
        try:
            decoded = orjson.loads(payload) if payload else None
        except orjson.JSONDecodeError:
            decoded = payload.decode("utf-8", "replace")
        return Resp(resp.status, decoded, payload)

    def ok(self, method: str, path: str, body: Any = None, status: int | tuple[int, ...] = (200, 201)) -> Any:
        r = self.request(method, path, body)
        wanted = (status,) if isinstance(status, int) else status
        assert r.status in wanted, f"{method} {path} {orjson.dumps(body)[:400]!r} -> {r}"
        return r.body

    # conveniences ---------------------------------------------------------------------------------

    def create_db(self, name: str, partitioned: bool = False) -> None:
        self.ok("PUT", f"/{name}" + ("?partitioned=true" if partitioned else ""), status=201)

    def bulk(self, dbname: str, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        res = self.ok("POST", f"/{dbname}/_bulk_docs", {"docs": docs}, status=201)
        assert all("error" not in r for r in res), res
        return list(res)

    def create_index(self, dbname: str, fields: list[Any], **extra: Any) -> dict[str, Any]:
        body = {"index": {"fields": fields}, "type": "json", **extra}
        return dict(self.ok("POST", f"/{dbname}/_index", body, status=200))

    def find(self, path: str, body: dict[str, Any]) -> Resp:
        return self.request("POST", path, body)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class LiveServer:
    """One couchsync app on 127.0.0.1:<free port>, served from a background thread."""

    def __init__(self) -> None:
        base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
        self.data_dir = tempfile.mkdtemp(prefix="couchsync-mango-", dir=base)
        self.settings = Settings(data_dir=self.data_dir, admin=":".join(ADMIN), bcrypt_rounds=4)
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="mango-live-server", daemon=True)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            runner = web.AppRunner(create_app(self.settings))
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, "127.0.0.1", 0)
            loop.run_until_complete(site.start())
            self._runner = runner
            sockets = site._server.sockets if site._server is not None else []  # type: ignore[union-attr]
            self.port = sockets[0].getsockname()[1]
        except BaseException as e:  # pragma: no cover - startup failure is reported by start()
            self._error = e
            self._ready.set()
            return
        self._ready.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    def start(self) -> LiveServer:
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise self._error
        assert self.port, "live server did not start"
        return self

    def client(self, auth: tuple[str, str] | None = ADMIN) -> SyncClient:
        return SyncClient(self.port, auth)

    def stop(self) -> None:
        if self._loop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(30)
        shutil.rmtree(self.data_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def live_server() -> Iterator[LiveServer]:
    srv = LiveServer().start()
    yield srv
    srv.stop()


def enc(ddoc_or_name: str) -> str:
    """Percent-encode a path segment the way PouchDB does (``encodeURIComponent``)."""
    return quote(ddoc_or_name, safe="")
