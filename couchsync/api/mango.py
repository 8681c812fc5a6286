"""Mango endpoints: ``_index``, ``_find``, ``_explain`` (global and ``_partition/{p}``).

Sources: CouchDB ``mango_httpd.erl``; reference §6.
"""

from __future__ import annotations

from aiohttp import web

from ..errors import NotFound
from .context import Ctx


async def index(ctx: Ctx) -> web.StreamResponse:
    """``GET|POST /{db}/_index``."""
    raise NotFound("missing")


async def delete_index(ctx: Ctx) -> web.StreamResponse:
    """``DELETE /{db}/_index/{ddoc}/json/{name}``."""
    raise NotFound("missing")


async def find(ctx: Ctx) -> web.StreamResponse:
    """``POST /{db}/_find``."""
    raise NotFound("missing")


async def explain(ctx: Ctx) -> web.StreamResponse:
    """``POST /{db}/_explain``."""
    raise NotFound("missing")
