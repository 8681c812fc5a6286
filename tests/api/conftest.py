"""A real couchsync app on a loopback port (pytest-aiohttp), with a fresh data dir per test.

``client`` is authenticated as the server admin (Basic auth); ``anon`` has no credentials.
``db`` is a fresh database name already created.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from couchsync.api.app import create_app
from couchsync.settings import Settings

ADMIN = ("admin", "secret")
_names = itertools.count()


@pytest.fixture
def data_dir(tmp_path: Any) -> Iterator[str]:
    """A fresh data dir, on tmpfs when the machine has one: every commit is fsynced
    (``synchronous=FULL``), which on a real disk would dominate the suite's run time."""
    if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
        path = tempfile.mkdtemp(prefix="couchsync-test-", dir="/dev/shm")
        yield path
        shutil.rmtree(path, ignore_errors=True)
    else:
        yield str(tmp_path / "data")


@pytest.fixture
def settings(data_dir: str) -> Settings:
    return Settings(data_dir=data_dir, admin=":".join(ADMIN), bcrypt_rounds=4,
                    cors_origins=("http://app.test",))


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[TestServer]:
    srv = TestServer(create_app(settings))
    await srv.start_server()
    yield srv
    await srv.close()


@pytest.fixture
async def client(server: TestServer) -> AsyncIterator[TestClient]:
    c = TestClient(server, headers={"Authorization": aiohttp.encode_basic_auth(*ADMIN)})
    await c.start_server()
    yield c
    await c.close()


@pytest.fixture
async def anon(server: TestServer) -> AsyncIterator[TestClient]:
    c = TestClient(server)
    await c.start_server()
    yield c
    await c.close()


@pytest.fixture
async def db(client: TestClient) -> str:
    name = f"db{next(_names)}"
    r = await client.put(f"/{name}")
    assert r.status == 201, await r.text()
    return name
