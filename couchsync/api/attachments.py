"""Standalone attachments: ``GET|HEAD|PUT|DELETE /{db}/{docid}/{name}`` (name may contain ``/``).

``GET`` without ``?rev`` serves the winning rev's copy (PouchDB relies on it, reference §1.9);
``Range`` requests get 206. ``PUT`` creates the doc if it does not exist (no rev) and keeps the
other attachments as stubs. Sources: CouchDB ``chttpd_db:db_attachment_req``; reference §1.9, §4.3.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from aiohttp import web

from ..core.documents import DocInput, validate_docid
from ..core.revs import normalize_rev
from ..errors import Conflict, CouchError, NotFound, RangeNotSatisfiable, TooLarge
from ..storage.reader import Found, ReadOptions, open_docs
from .context import Ctx
from .documents import _rev_from_request, _write_one
from .http import read_body

MISSING_ATT = "Document is missing attachment"


async def get_attachment(ctx: Ctx) -> web.StreamResponse:
    """Raw bytes with ``Content-Type``, ``ETag`` (base64 md5), ``Accept-Ranges``; 404 if absent."""
    db = await ctx.doc_db()
    rev = ctx.q("rev")
    wanted = [normalize_rev(rev)] if rev else None
    found = (await open_docs(db, [(ctx.params["doc"], wanted)], ReadOptions()))[0][0]
    name = ctx.params["att"]
    if not isinstance(found, Found):
        raise NotFound(found.reason if wanted is None else "missing")
    if not found.atts or name not in found.atts:
        raise NotFound(MISSING_ATT)
    meta = found.atts[name]
    etag = '"' + meta["digest"].removeprefix("md5-") + '"'
    headers = {"Content-Type": meta["content_type"], "ETag": etag, "Accept-Ranges": "bytes",
               "Cache-Control": "must-revalidate", "Content-Security-Policy": "sandbox"}
    if ctx.request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers=headers)
    data = await db.get_attachment_data(meta["digest"])
    if data is None:
        raise NotFound(MISSING_ATT)
    rng = ctx.request.headers.get("Range")
    if rng:
        m = re.fullmatch(r"bytes=(\d*)-(\d*)", rng.strip())
        if m and (m.group(1) or m.group(2)):
            size = len(data)
            if m.group(1):
                start = int(m.group(1))
                end = int(m.group(2)) if m.group(2) else size - 1
            else:
                start, end = max(size - int(m.group(2)), 0), size - 1
            end = min(end, size - 1)
            if start > end or start >= size:
                raise RangeNotSatisfiable()
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
            return web.Response(body=data[start:end + 1], status=206, headers=headers)
    return web.Response(body=data, headers=headers)


async def _current(ctx: Ctx, rev: str | None) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The body and attachments of ``rev`` (for a PUT/DELETE of an attachment), or None if no doc."""
    db = await ctx.db(ctx.params["db"])
    row = await db.get_doc_row(ctx.params["doc"])
    if row is None or (row.deleted and rev is None):
        return None
    if rev is None:
        raise Conflict()
    found = (await open_docs(db, [(ctx.params["doc"], [rev])], ReadOptions()))[0][0]
    if not isinstance(found, Found):
        raise Conflict()
    body = orjson.loads(found.json)
    atts = body.pop("_attachments", None) or {}
    for key in ("_id", "_rev", "_deleted"):
        body.pop(key, None)
    return body, atts


async def put_attachment(ctx: Ctx) -> web.StreamResponse:
    """Raw body + ``Content-Type`` → 201 ``{"ok","id","rev"}``; 409 on a missing/stale rev."""
    db = await ctx.doc_db(write=True)
    doc_id = ctx.params["doc"]
    validate_docid(doc_id, partitioned=db.partitioned)
    rev = _rev_from_request(ctx, None)
    name = ctx.params["att"]
    try:
        data = await read_body(ctx.request, ctx.settings.max_attachment_size)
    except TooLarge:  # chttpd error_info({request_entity_too_large, {attachment, Name}})
        raise CouchError(name, status=413, error="attachment_too_large") from None
    current = await _current(ctx, rev)
    body, atts = current if current else ({}, {})
    if current is None and rev is not None:
        raise Conflict()
    attachments = {n: {"stub": True, "revpos": a["revpos"]} for n, a in atts.items()}
    ctype = ctx.request.headers.get("Content-Type", "application/octet-stream")
    attachments[name] = {"content_type": ctype, "follows": True}
    doc = DocInput(doc_id, rev, False, body, None, attachments, {name: data})
    return await _write_one(ctx, db, doc, status=201)


async def delete_attachment(ctx: Ctx) -> web.StreamResponse:
    """``DELETE …/{name}?rev=`` → 200 ``{"ok","id","rev"}``; 404 if the attachment is absent."""
    db = await ctx.doc_db(write=True)
    rev = _rev_from_request(ctx, None)
    current = await _current(ctx, rev)
    if current is None:
        raise NotFound("missing")
    body, atts = current
    name = ctx.params["att"]
    if name not in atts:
        raise NotFound(MISSING_ATT)
    attachments = {n: {"stub": True, "revpos": a["revpos"]} for n, a in atts.items() if n != name}
    doc = DocInput(ctx.params["doc"], rev, False, body, None, attachments)
    return await _write_one(ctx, db, doc, status=200)
