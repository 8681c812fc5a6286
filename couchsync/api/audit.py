"""Audit endpoints: ``_audit``, ``_audit/_verify``, ``_erase``, ``/{docid}/_history`` (issue 7)."""

from __future__ import annotations

from aiohttp import web

from ..errors import NotFound
from .context import Ctx


async def audit_log(ctx: Ctx) -> web.StreamResponse:
    """``GET /{db}/_audit``."""
    raise NotFound("missing")


async def audit_verify(ctx: Ctx) -> web.StreamResponse:
    """``GET /{db}/_audit/_verify``."""
    raise NotFound("missing")


async def erase(ctx: Ctx) -> web.StreamResponse:
    """``POST /{db}/_erase``."""
    raise NotFound("missing")


async def history(ctx: Ctx) -> web.StreamResponse:
    """``GET /{db}/{docid}/_history``."""
    raise NotFound("missing")
