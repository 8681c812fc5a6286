"""``/_app/``: the offline-first web app's static files, built from ``web/`` (issue 6)."""

from __future__ import annotations

from aiohttp import web

from ..errors import NotFound
from .context import Ctx


async def serve(ctx: Ctx) -> web.StreamResponse:
    """``GET /_app/{path}``; ``ctx.params["path"]`` is the file path below the app root."""
    raise NotFound("missing")
