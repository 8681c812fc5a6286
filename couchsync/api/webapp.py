"""``/_app/``: the offline-first web app's static files, built from ``web/`` (``npm run build:web``).

``GET|HEAD /_app/{path}`` answers the file ``{app_dir}/{path}`` (``index.html`` for ``/_app/``;
``/_app`` redirects to ``/_app/`` so relative URLs resolve below it). Anyone may load the files:
they hold no data, and access to data is checked where data is read (``Ctx.db``).

Caching: ``index.html``, the service worker ``sw.js``, the manifest and every other file without a
content hash in its name are ``no-cache`` (revalidated with ``ETag``/``If-None-Match`` → 304); the
build's hashed assets (``assets/app-3F2KX7QA.js``) are ``max-age`` one year, ``immutable``.
Errors (CouchDB shapes): 404 ``not_found`` for a missing file, a directory, a dot-file or any path
that would leave the app directory (``..``, encoded slashes, symlinks out); 404 with a hint when the
app has not been built. Sources: the build script ``web/build.mjs``; RFC 9111 (``no-cache``,
``immutable``: RFC 8246).
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from aiohttp import web

from ..errors import NotFound
from ..settings import Settings
from .context import Ctx

#: the repository's build output, for an editable install (``couchsync/api/webapp.py`` → ``web/dist``)
DEFAULT_APP_DIR = Path(__file__).resolve().parents[2] / "web" / "dist"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".map": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".txt": "text/plain; charset=utf-8",
}

#: names the build gives content-hashed assets: ``<name>-<8+ base32 chars>.<ext>`` (esbuild ``[hash]``)
HASHED = re.compile(r"-[A-Z0-9]{8,}\.[a-z0-9]+$")
IMMUTABLE = "public, max-age=31536000, immutable"

#: the app only talks to its own origin; ``unsafe-eval`` because PouchDB evaluates the design
#: document's map and reduce functions, as CouchDB does
CSP = ("default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; worker-src 'self'; manifest-src 'self'; frame-ancestors 'none'; base-uri 'self'")


def app_dir(settings: Settings) -> Path:
    """The directory served at ``/_app/``: ``settings.app_dir`` or :data:`DEFAULT_APP_DIR`."""
    return Path(settings.app_dir) if settings.app_dir else DEFAULT_APP_DIR


def resolve_file(root: Path, rel: str) -> Path:
    """The file ``rel`` (``/``-separated, already URL-decoded) below ``root``; ``index.html`` for "".

    Raises ``NotFound`` for an empty, ``.``/``..`` or dot-file segment, a backslash or NUL, a
    directory, a missing file, or a path whose real location is outside ``root``.
    """
    parts = rel.split("/") if rel else ["index.html"]
    for part in parts:
        if not part or part.startswith(".") or "\\" in part or "\x00" in part:
            raise NotFound("missing")
    base = root.resolve()
    path = base.joinpath(*parts).resolve()
    if not path.is_relative_to(base) or not path.is_file():
        raise NotFound("missing")
    return path


def headers_for(path: Path) -> dict[str, str]:
    """``Content-Type``, ``Cache-Control`` and, for HTML, the security headers of one file."""
    headers = {
        "Content-Type": CONTENT_TYPES.get(path.suffix, "application/octet-stream"),
        "Cache-Control": IMMUTABLE if HASHED.search(path.name) else "no-cache",
        "X-Content-Type-Options": "nosniff",
    }
    if path.suffix == ".html":
        headers["Content-Security-Policy"] = CSP
        headers["Referrer-Policy"] = "same-origin"
    return headers


async def serve(ctx: Ctx) -> web.StreamResponse:
    """``GET|HEAD /_app/{path}`` → the file's bytes (200), 304 for a matching ``If-None-Match``,
    301 ``/_app`` → ``/_app/``; 404 ``not_found`` otherwise (see the module docstring)."""
    rel = ctx.params["path"]
    if not rel and not ctx.request.raw_path.split("?", 1)[0].endswith("/"):
        raise web.HTTPMovedPermanently("/_app/")
    root = app_dir(ctx.settings)
    if not (root / "index.html").is_file():
        raise NotFound(f"The web app is not built ({root}): run `npm ci && npm run build:web`.")
    path = resolve_file(root, rel)
    stat = path.stat()
    etag = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'
    headers = {**headers_for(path), "ETag": etag}
    if etag in [t.strip() for t in ctx.request.headers.get("If-None-Match", "").split(",")]:
        del headers["Content-Type"]
        return web.Response(status=304, headers=headers)
    body = await asyncio.to_thread(path.read_bytes)
    return web.Response(body=body, headers=headers)
