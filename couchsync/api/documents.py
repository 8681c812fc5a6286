"""Document endpoints: ``GET|HEAD|PUT|DELETE|COPY /{db}/{docid}`` (incl. ``_design/x``).

Sources: CouchDB ``chttpd_db.erl`` (``db_doc_req``, ``couch_doc_from_req``); reference §2.4, §2.7,
§1.8 (``open_revs``), §4.3.
"""

from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import unquote

import orjson
from aiohttp import web

from ..core.documents import DocInput, validate_docid
from ..core.revs import normalize_rev
from ..errors import BadRequest, Conflict, CouchError, NotFound
from ..storage.database import Database
from ..storage.reader import Found, Missing, ReadOptions, Wanted, open_docs
from .audit import get_as_of
from .context import Ctx
from .databases import prepare_doc, write_docs
from .http import json_response, qbool, qjson
from .multipart import accepts_multipart, mixed_body, read_related, related_body


def read_options(ctx: Ctx) -> ReadOptions:
    """Doc-read query params → :class:`ReadOptions` (``meta`` = revs_info+conflicts+deleted_conflicts)."""
    meta = qbool(ctx.request, "meta")
    atts_since = qjson(ctx.request, "atts_since")
    if atts_since is not None:
        atts_since = tuple(_parse_revs(atts_since))
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


def _parse_revs(value: Any) -> list[str]:
    """A JSON list of revs (``open_revs``, ``atts_since``); 400 "Invalid list of revisions" /
    "Invalid rev format". CouchDB: couch_doc ``parse_revs``."""
    if not isinstance(value, list):
        raise BadRequest("Invalid list of revisions")
    return [normalize_rev(r) for r in value]


async def get_doc(ctx: Ctx) -> web.StreamResponse:
    """``GET /{db}/{docid}``: the winning rev, ``?rev=``, or ``?open_revs=`` (JSON or multipart).

    ``latest=true`` with ``rev`` opens the winner (CouchDB ``db_doc_req`` GET). The ``ETag`` (the rev)
    is sent only when the doc carries no meta members (``send_doc``). With ``attachments=true`` a
    client whose Accept header takes ``multipart/related`` (a missing Accept does) gets the document
    as ``multipart/related`` (``send_doc_efficiently``). ``?as_of=<RFC 3339 time>`` reads the
    winning revision of that time from the audit trail (:func:`couchsync.api.audit.get_as_of`).
    """
    db = await ctx.doc_db()
    doc_id = ctx.params["doc"]
    as_of = ctx.q("as_of")
    if as_of is not None:
        return await get_as_of(ctx, db, doc_id, as_of)
    opts = read_options(ctx)
    open_revs = ctx.q("open_revs")
    if open_revs is not None:
        return await _open_revs(ctx, db, doc_id, open_revs, opts)
    rev = ctx.q("rev")
    wanted: Wanted = None
    if rev is not None:
        wanted = [normalize_rev(rev)]
        if opts.latest:
            wanted = None
    multipart = opts.attachments and accepts_multipart(ctx.request, "multipart/related")
    if multipart:
        opts = dataclasses.replace(opts, follows=True)
    result = (await open_docs(db, [(doc_id, wanted)], opts))[0][0]
    if isinstance(result, Missing):
        raise NotFound(result.reason if wanted is None else "missing")
    headers: dict[str, str] = {}
    if not result.meta:
        etag = f'"{result.rev}"'
        if ctx.request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        headers["ETag"] = etag
    if result.att_data:
        body, ctype = related_body(result.json, _att_parts(result))
        return web.Response(body=body, headers={**headers, "Content-Type": ctype})
    return json_response(result.json, headers=headers)


def _att_parts(found: Found) -> dict[str, tuple[str, bytes]]:
    """The ``follows`` attachments of ``found`` as ``{name: (content type, bytes)}``."""
    atts = found.atts or {}
    return {name: (atts[name]["content_type"], data) for name, data in (found.att_data or {}).items()}


async def _open_revs(ctx: Ctx, db: Database, doc_id: str, raw: str, opts: ReadOptions) -> web.StreamResponse:
    wanted: Wanted
    if raw == "all":
        wanted = "all"
    else:
        try:
            revs = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise BadRequest("Invalid JSON in open_revs") from None
        wanted = _parse_revs(revs)
    multipart = accepts_multipart(ctx.request)
    if multipart:  # chttpd_db send_docs_multipart: attachment bodies follow (newer than atts_since)
        opts = dataclasses.replace(opts, attachments=True, follows=True)
    results = (await open_docs(db, [(doc_id, wanted)], opts))[0]
    if wanted == "all" and results and isinstance(results[0], Missing):
        raise NotFound("missing")
    if not multipart:
        return json_response(orjson.dumps([
            {"ok": orjson.Fragment(r.json)} if isinstance(r, Found) else {"missing": r.rev} for r in results]))
    parts: list[tuple[bytes, dict[str, tuple[str, bytes]] | None, bool]] = []
    for r in results:
        if isinstance(r, Missing):
            parts.append((orjson.dumps({"missing": r.rev}), None, True))
        else:
            parts.append((r.json, _att_parts(r) or None, False))
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
    db = await ctx.doc_db(write=True)
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
    if ctx.q("batch") == "ok":  # chttpd_db: the batched write is acknowledged without its rev
        return json_response({"ok": True, "id": doc.id}, 202)
    code = status or (200 if doc.deleted else 201)
    body: dict[str, Any] = {"ok": True, "id": doc.id, "rev": rev}
    headers = {"ETag": f'"{rev}"', "Location": f"/{db.name}/{doc.id}"}
    return json_response(body, code, headers)


def _status_of(error: str) -> int:
    """HTTP status of a per-document error (CouchDB ``chttpd:error_info``): JavaScript failures
    (``os_process_error``, ``unknown_error``, a VDU throwing something else) are 500s."""
    return {"conflict": 409, "forbidden": 403, "unauthorized": 401, "not_found": 404, "missing_stub": 412,
            "os_process_error": 500, "unknown_error": 500, "invalid_value": 500}.get(error, 400)


async def delete_doc(ctx: Ctx) -> web.StreamResponse:
    """``DELETE /{db}/{docid}?rev=`` → 200 ``{"ok","id","rev"}``; 404 missing/deleted; 409 stale rev.

    As CouchDB (``db_doc_req`` DELETE opens the winner first), a deleted doc is 404 ``deleted``
    whatever rev is named.
    """
    db = await ctx.doc_db(write=True)
    doc_id = ctx.params["doc"]
    rev = _rev_from_request(ctx, None)
    row = await db.get_doc_row(doc_id)
    if row is None:
        raise NotFound("missing")
    if row.deleted:
        raise NotFound("deleted")
    if rev is None:
        raise Conflict()
    return await _write_one(ctx, db, DocInput(doc_id, rev, True, {}), status=200)


async def copy_doc(ctx: Ctx) -> web.StreamResponse:
    """``COPY /{db}/{docid}`` with ``Destination: newid[?rev=R]`` → 201 (attachments copied)."""
    db = await ctx.doc_db()
    dest = ctx.request.headers.get("Destination")
    if not dest:
        raise BadRequest("Destination header is mandatory for COPY.")
    if dest.startswith(("http://", "https://")):
        raise BadRequest("Destination URL must be relative.")
    dest_id, _, query = dest.partition("?")
    dest_id = unquote(dest_id)
    dest_rev = None
    if query.startswith("rev="):
        dest_rev = normalize_rev(query[4:])
    rev = _rev_from_request(ctx, None)
    wanted: Wanted = [rev] if rev else None
    src = (await open_docs(db, [(ctx.params["doc"], wanted)], ReadOptions(attachments=True)))[0][0]
    if isinstance(src, Missing):
        raise NotFound(src.reason)
    body = orjson.loads(src.json)
    for key in ("_id", "_rev", "_deleted"):
        body.pop(key, None)
    atts = body.pop("_attachments", None)
    validate_docid(dest_id, partitioned=db.partitioned)
    ctx.check_doc(dest_id, write=True)
    doc = prepare_doc(ctx, db, {"_id": dest_id, **body}, dest_id, new_edits=True)
    doc.attachments = {n: {"content_type": a["content_type"], "data": a["data"]} for n, a in (atts or {}).items()}
    doc.rev = dest_rev
    return await _write_one(ctx, db, doc, status=201)

