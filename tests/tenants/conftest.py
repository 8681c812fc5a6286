"""Fixtures for the tenant tests: the API fixtures (``server``, ``client`` = server admin, ``anon``,
``settings``, ``data_dir``) plus ``world``, a seeded two-tenant setup (see :mod:`.world`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestServer

from tests.api.conftest import anon, client, data_dir, server, settings  # noqa: F401
from tests.tenants.world import World, build_world


@pytest.fixture
async def world(server: TestServer) -> AsyncIterator[World]:  # noqa: F811
    w = await build_world(server)
    yield w
    await w.close()
