"""Document endpoints: ``GET|HEAD|PUT|DELETE|COPY /{db}/{docid}`` (incl. ``_design/x``).

Sources: CouchDB ``chttpd_db.erl`` (``db_doc_req``, ``couch_doc_from_req``); reference §2.4, §2.7,
§1.8 (``open_revs``), §4.3.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from ..core.documents import DocInput, validate_docid
from ..core.revs import normalize_rev
from ..errors import BadRequest, Conflict, CouchError, NotFound
from ..storage.database import Database
from ..storage.reader import Found, Missing, ReadOptions, Wanted, open_docs
from .context import Ctx
from .databases import prepare_doc, write_docs
from .http import json_response, qbool, qjson
from .multipart import accepts_multipart, mixed_body, read_related


def read_options(ctx: Ctx) -> ReadOptions:
    """Doc-read query params → :class:`ReadOptions` (``meta`` = revs_info+conflicts+deleted_conflicts)."""
    meta = qbool(ctx.request, "meta")
    atts_since = qjson(ctx.request, "atts_since")
    if atts_since is not None:
        if not isinstance(atts_since, list):
            raise BadRequest("atts_since value must be array of revs.")
        atts_since = tuple(normalize_rev(r) for r in atts_since)
    return ReadOptions(
        revs=qbool(ctx.request, "revs"),
        revs_info=meta or qbool(ctx.request, "revs_info"),
        conflicts=meta or qbool(ctx.request, "conflicts"),
        deleted_conflicts=meta or qbool(ctx.request, "deleted_conflicts"),
        local_seq=qbool(ctx.request, "local_seq"),
        attachments=qbool(ctx.request, "attachments") or atts_since is not None,
        atts_since=atts_since,
        att_encoding_info=qbool(ctx.request, "att_encoding_info"),
        latest=qbool(ctx.request, "latest"),
    )


async def get_doc(ctx: Ctx) -> web.StreamResponse:
    """``GET /{db}/{docid}``: the winning rev, ``?rev=``, or ``?open_revs=`` (JSON or multipart)."""
    db = await ctx.db(ctx.params["db"])
    doc_id = ctx.params["doc"]
    opts = read_options(ctx)
    open_revs = ctx.q("open_revs")
    if open_revs is not None:
        return await _open_revs(ctx, db, doc_id, open_revs, opts)
    rev = ctx.q("rev")
    wanted: Wanted = None
    if rev is not None:
        wanted = [normalize_rev(rev)]
    result = (await open_docs(db, [(doc_id, wanted)], opts))[0][0]
    if isinstance(result, Missing):
        raise NotFound(result.reason if rev is None else "missing")
    etag = f'"{result.rev}"'
    if ctx.request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers={"ETag": etag})
    return json_response(result.json, headers={"ETag": etag})


async def _open_revs(ctx: Ctx, db: Database, doc_id: str, raw: str, opts: ReadOptions) -> web.StreamResponse:
    wanted: Wanted
    if raw == "all":
        wanted = "all"
    else:
        try:
            revs = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise BadRequest("Invalid JSON in open_revs") from None
        if not isinstance(revs, list):
            raise BadRequest("open_revs must be an array of revs or \"all\"")
        wanted = [normalize_rev(r) for r in revs]
    results = (await open_docs(db, [(doc_id, wanted)], opts))[0]
    if wanted == "all" and results and isinstance(results[0], Missing):
        raise NotFound("missing")
    if not accepts_multipart(ctx.request):
        return json_response(orjson.dumps([
            {"ok": orjson.Fragment(r.json)} if isinstance(r, Found) else {"missing": r.rev} for r in results]))
    parts: list[tuple[bytes, dict[str, tuple[str, bytes]] | None, bool]] = []
    for r in results:
        if isinstance(r, Missing):
            parts.append((orjson.dumps({"missing": r.rev}), None, True))
        else:
            parts.append((r.json, None, False))
    body, ctype = mixed_body(parts)
    return web.Response(body=body, headers={"Content-Type": ctype})


def _rev_from_request(ctx: Ctx, body_rev: str | None) -> str | None:
    """The rev named by ``_rev``, ``?rev=`` and ``If-Match``; 400 if they disagree."""
    rev = body_rev
    q = ctx.q("rev")
    if q is not None:
        qn = normalize_rev(q)
        if rev is not None and rev != qn:
            raise BadRequest("Document rev from request body and query string have different values")
        rev = qn
    etag = ctx.request.headers.get("If-Match")
    if etag:
        en = normalize_rev(etag.strip('"'))
        if rev is not None and rev != en:
            raise BadRequest("Document rev and etag have different values")
        rev = en
    return rev


async def put_doc(ctx: Ctx) -> web.StreamResponse:
    """``PUT /{db}/{docid}`` (JSON or ``multipart/related``) → 201 ``{"ok","id","rev"}``.

    ``?new_edits=false`` merges a replicated rev; ``?batch=ok`` → 202. Raises ``Conflict`` (409),
    ``Forbidden`` (403, design doc by non-admin), 400s for bad ids/members.
    """
    db = await ctx.db(ctx.params["db"])
    doc_id = ctx.params["doc"]
    validate_docid(doc_id, partitioned=db.partitioned)
    follows = None
    if ctx.request.content_type == "multipart/related":
        raw, follows = await read_related(ctx.request, ctx.settings.max_attachment_size)
    else:
        raw = await ctx.json(require_ctype=False)
    new_edits = ctx.q("new_edits") != "false"
    doc = prepare_doc(ctx, db, raw, doc_id, new_edits=new_edits)
    doc.follows = follows
    doc.rev = _rev_from_request(ctx, doc.rev)
    return await _write_one(ctx, db, doc, new_edits=new_edits)


async def _write_one(ctx: Ctx, db: Database, doc: DocInput, *, new_edits: bool = True,
                     status: int | None = None) -> web.StreamResponse:
    results = await write_docs(ctx, db, [doc], new_edits=new_edits)
    res = results[0]
    if "error" in res:
        raise CouchError(res["reason"], status=_status_of(res["error"]), error=res["error"])
    rev = res.get("rev") or ""
    code = status or (202 if ctx.q("batch") == "ok" else 200 if doc.deleted else 201)
    body: dict[str, Any] = {"ok": True, "id": doc.id, "rev": rev}
    headers = {"ETag": f'"{rev}"', "Location": f"/{db.name}/{doc.id}"}
    return json_response(body, code, headers)


def _status_of(error: str) -> int:
    return {"conflict": 409, "forbidden": 403, "unauthorized": 401, "not_found": 404}.get(error, 400)


async def delete_doc(ctx: Ctx) -> web.StreamResponse:
    """``DELETE /{db}/{docid}?rev=`` → 200 ``{"ok","id","rev"}``; 404 missing/deleted; 409 stale rev."""
    db = await ctx.db(ctx.params["db"])
    doc_id = ctx.params["doc"]
    rev = _rev_from_request(ctx, None)
    row = await db.get_doc_row(doc_id)
    if row is None:
        raise NotFound("missing")
    if rev is None:
        if row.deleted:
            raise NotFound("deleted")
        raise Conflict()
    return await _write_one(ctx, db, DocInput(doc_id, rev, True, {}), status=200)


async def copy_doc(ctx: Ctx) -> web.StreamResponse:
    """``COPY /{db}/{docid}`` with ``Destination: newid[?rev=R]`` → 201 (attachments copied)."""
    db = await ctx.db(ctx.params["db"])
    dest = ctx.request.headers.get("Destination")
    if not dest:
        raise BadRequest("Destination header is mandatory for COPY.")
    dest_id, _, query = dest.partition("?")
    dest_rev = None
    if query.startswith("rev="):
        dest_rev = normalize_rev(query[4:])
    rev = ctx.q("rev")
    wanted: Wanted = [normalize_rev(rev)] if rev else None
    src = (await open_docs(db, [(ctx.params["doc"], wanted)], ReadOptions(attachments=True)))[0][0]
    if isinstance(src, Missing):
        raise NotFound(src.reason)
    body = orjson.loads(src.json)
    for key in ("_id", "_rev", "_deleted"):
        body.pop(key, None)
    atts = body.pop("_attachments", None)
    validate_docid(dest_id, partitioned=db.partitioned)
    doc = prepare_doc(ctx, db, {"_id": dest_id, **body}, dest_id, new_edits=True)
    doc.attachments = {n: {"content_type": a["content_type"], "data": a["data"]} for n, a in (atts or {}).items()}
    doc.rev = dest_rev
    return await _write_one(ctx, db, doc, status=201)

