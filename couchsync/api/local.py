"""``_local`` documents (replication checkpoints): ``GET|PUT|DELETE /{db}/_local/{id}``.

No rev tree, no MVCC check, invisible to ``_changes``/``_all_docs``/``update_seq``. Revs are
``"0-N"``: a write without ``_rev`` stores ``0-1``, a write with ``_rev:"0-N"`` stores ``0-(N+1)``
whatever is stored (CouchDB ``couch_db_updater:update_local_doc_revs``; reference §1.3).
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from aiohttp import web

from ..core.documents import parse_doc
from ..core.render import render_doc
from ..errors import BadRequest, DocumentTooLarge, InvalidRev, NotFound
from ..storage.database import Database
from .context import Ctx
from .http import json_response


def _local_rev(rev: object) -> int:
    if rev is None:
        return 0
    if not isinstance(rev, str):
        raise InvalidRev()
    pos, sep, n = rev.partition("-")
    if not sep or pos != "0" or not n.isdigit():
        raise InvalidRev()
    return int(n)


async def get_local(ctx: Ctx) -> web.StreamResponse:
    """``{"_id":"_local/x","_rev":"0-N",…}``; 404 ``missing``."""
    db = await ctx.db(ctx.params["db"])
    doc_id = ctx.params["doc"]
    got = await db.get_local(doc_id)
    if got is None:
        raise NotFound("missing")
    body = render_doc(doc_id, f"0-{got[0]}", False, got[1])
    etag = '"' + hashlib.md5(body).hexdigest() + '"'
    if ctx.request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers={"ETag": etag})
    return json_response(body, headers={"ETag": etag})


async def put_local(ctx: Ctx) -> web.StreamResponse:
    """``PUT`` → 201 ``{"ok":true,"id":"_local/x","rev":"0-N"}``; 400 "Invalid rev format"."""
    db = await ctx.db(ctx.params["db"])
    raw = await ctx.json(require_ctype=False)
    if not isinstance(raw, dict):
        raise BadRequest("Document must be a JSON object")
    if "_rev" not in raw and ctx.q("rev") is not None:
        raw = {**raw, "_rev": ctx.q("rev")}
    result = await write_local(db, ctx.params["doc"], raw, ctx.settings.max_document_size)
    return json_response(result, 200 if result["rev"] == "0-0" else 201)


async def write_local(db: Database, doc_id: str, raw: dict[str, Any], max_size: int) -> dict[str, Any]:
    """Stores (or, with ``_deleted``, removes) a ``_local`` doc; returns ``{"ok","id","rev":"0-N"}``.

    Used by ``PUT /{db}/_local/{id}`` and by ``_bulk_docs`` (CouchDB ``couch_db:update_docs`` writes
    ``_local/`` ids as local docs). Raises ``InvalidRev`` (400), ``DocumentTooLarge`` (413).
    """
    rev = _local_rev(raw.get("_rev"))
    doc = parse_doc({k: v for k, v in raw.items() if k != "_rev"}, docid=doc_id)
    if doc.deleted:
        await db.delete_local(doc_id)
        return {"ok": True, "id": doc_id, "rev": "0-0"}
    body = orjson.dumps(doc.body)
    if len(body) > max_size:
        raise DocumentTooLarge(doc_id)
    await db.put_local(doc_id, rev + 1, body)
    return {"ok": True, "id": doc_id, "rev": f"0-{rev + 1}"}


async def delete_local(ctx: Ctx) -> web.StreamResponse:
    """``DELETE`` → 200 ``{"ok":true,"id","rev":"0-0"}``; 404 when absent."""
    db = await ctx.db(ctx.params["db"])
    doc_id = ctx.params["doc"]
    if not await db.delete_local(doc_id):
        raise NotFound("missing")
    return json_response({"ok": True, "id": doc_id, "rev": "0-0"})
