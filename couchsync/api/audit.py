"""Audit endpoints (issue 7): the trail, its verification, history, reads as of a time, erasure,
retention. See :mod:`couchsync.audit` for what is recorded and how.

=============================================  ==============  ============================================
request                                        who             answer
=============================================  ==============  ============================================
``GET /{db}/_audit?doc_id&since&until&user``   db admins;      ``{"entries": [entry…], "next": seq|null}``
``&op&before&limit``                           staff: their    newest first; ``next`` is the ``before`` of
                                               hospitals       the following page
``GET /{db}/_audit/_verify[?bodies=false]``    db admins       ``{"ok", "entries", "head": {"seq","hash"},
                                                               "bodies_checked", "broken"?: {"seq",
                                                               "reason","detail"}}``
``GET /{db}/{docid}/_history[?include_docs]``  as ``_audit``   ``{"id", "history": [revision…],
                                                               "erasure"?: {…}}`` newest first
``GET /{db}/{docid}?as_of=<RFC 3339>``         as ``_audit``   the winning revision at that time
``POST /{db}/_erase {"doc_ids","reason"}``     db admins       201 ``{"ok", "seq", "results": […]}``
``GET|PUT /{db}/_audit/_retention``            db admins       ``{"max_age_seconds": n|null}``
=============================================  ==============  ============================================

Times are RFC 3339 with an offset (``2026-11-21T10:00:00Z``); ``since <= time < until``. Errors are
CouchDB-shaped: 400 ``bad_request`` for bad parameters or bodies, 401/403 for access, 404
``not_found`` (``missing``, ``deleted``, ``erased``).
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from ..audit import erase as erasure
from ..audit import retention as retention_mod
from ..audit import store
from ..audit.asof import winner_at
from ..audit.chain import OPS
from ..audit.entries import entry_json, format_time, parse_time
from ..auth.access import ALL, FORBIDDEN_DOC, Access
from ..core.documents import partition_of, validate_docid
from ..core.render import render_doc
from ..errors import BadRequest, Forbidden, NotFound
from ..storage.database import Database
from ..storage.reader import ReadOptions, attachments_json
from .context import Ctx
from .http import json_response, qbool

NOT_HISTORY_READER = "Only database admins and hospital staff may read the audit trail."
MAX_LIMIT = 1000
MAX_ERASE_IDS = 1000


async def _history_db(ctx: Ctx) -> tuple[Database, Access]:
    """The database and what of its history the user may read: everything for db admins (tenant
    admins, server admins), their hospitals' documents for staff; 403 for anyone else."""
    db = await ctx.db(ctx.params["db"])
    return db, _history_access(ctx, db)


def _history_access(ctx: Ctx, db: Database) -> Access:
    if ctx.is_db_admin(db):
        return ALL
    if ctx.access.partitions is not None:  # staff of a tenant database
        return ctx.access
    raise Forbidden(NOT_HISTORY_READER)


def _check_doc(access: Access, doc_id: str) -> None:
    """Staff read the history of their hospitals' documents only (not of design documents)."""
    if access.partitions is not None and partition_of(doc_id) not in access.partitions:
        raise Forbidden(FORBIDDEN_DOC)


def _int(ctx: Ctx, name: str, default: int | None, minimum: int, maximum: int | None = None) -> int | None:
    raw = ctx.q(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or int(raw) < minimum or (maximum is not None and int(raw) > maximum):
        upper = f" and at most {maximum}" if maximum is not None else ""
        raise BadRequest(f"`{name}` must be an integer of at least {minimum}{upper}")
    return int(raw)


def _time(ctx: Ctx, name: str) -> int | None:
    raw = ctx.q(name)
    return parse_time(raw, name) if raw is not None else None


async def audit_log(ctx: Ctx) -> web.StreamResponse:
    """``GET /{db}/_audit``: a page of entries, newest first (module docstring for the shape;
    :func:`couchsync.audit.entries.entry_json` for an entry)."""
    db, access = await _history_db(ctx)
    doc_id = ctx.q("doc_id")
    if doc_id is not None:
        _check_doc(access, doc_id)
    op = ctx.q("op")
    if op is not None and op not in OPS:
        raise BadRequest(f"`op` must be one of {', '.join(OPS)}")
    limit = _int(ctx, "limit", 100, 1, MAX_LIMIT)
    assert limit is not None
    q = store.Query(doc_id=doc_id, since=_time(ctx, "since"), until=_time(ctx, "until"), user=ctx.q("user"), op=op,
                    before=_int(ctx, "before", None, 1), limit=limit + 1, partitions=access.partitions)
    entries = await store.page(db, q)
    more = len(entries) > limit
    entries = entries[:limit]
    return json_response({"entries": [entry_json(e, db.format_seq) for e in entries],
                          "next": entries[-1].seq if more else None})


async def audit_verify(ctx: Ctx) -> web.StreamResponse:
    """``GET /{db}/_audit/_verify`` (db admins): walks the hash chain and checks stored bodies
    against their digests (``bodies=false`` skips that); ``ok: false`` with the first broken link
    is still a 200 — the verification itself succeeded."""
    db = await ctx.db(ctx.params["db"], admin=True)
    result = await store.verify(db, bodies=ctx.q("bodies") != "false")
    return json_response(result.to_json())


async def history(ctx: Ctx) -> web.StreamResponse:
    """``GET /{db}/{docid}/_history``: every audited revision of the document, newest first::

        {"id", "history": [{"seq", "time", "user", "roles", "address", "op", "rev", "parent",
                            "deleted", "available", "erased"?, "info"?, "doc"?}],
         "erasure"?: {"seq", "time", "user", "reason"}}

    ``available``: the body is still stored (not erased, not expired by retention); ``doc`` (with
    ``include_docs=true``) is that body rendered as the revision was. 404 when nothing of the
    document was ever audited.
    """
    db, access = await _history_db(ctx)
    doc_id = ctx.params["doc"]
    _check_doc(access, doc_id)
    entries = await store.doc_entries(db, doc_id)
    if not entries:
        raise NotFound("missing")
    include_docs = qbool(ctx.request, "include_docs")
    stored = await store.stored_revs(db, doc_id, [e.rev for e in entries if e.rev is not None])
    blobs = await _blobs(db, stored.values()) if include_docs and qbool(ctx.request, "attachments") else {}
    out = []
    for e in reversed(entries):
        item: dict[str, Any] = {"seq": e.seq, "time": format_time(e.ts), "user": e.user, "roles": list(e.roles),
                                "address": e.address, "op": e.op, "rev": e.rev, "parent": e.parent,
                                "deleted": e.deleted, "available": e.rev in stored}
        if e.erased is not None:
            item["erased"] = True
        if e.info is not None:
            item["info"] = e.info
        if include_docs and e.rev is not None and e.rev in stored:
            item["doc"] = orjson.Fragment(_render(ctx, doc_id, e.rev, stored[e.rev], blobs))
        out.append(item)
    body: dict[str, Any] = {"id": doc_id, "history": out}
    erased_by = await store.erasure_of(db, doc_id)
    if erased_by is not None:
        record = await store.entry(db, erased_by)
        if record is not None:
            body["erasure"] = {"seq": record.seq, "time": format_time(record.ts), "user": record.user,
                               "reason": (record.info or {}).get("reason")}
    return json_response(body)


async def get_as_of(ctx: Ctx, db: Database, doc_id: str, raw: str) -> web.StreamResponse:
    """``GET /{db}/{docid}?as_of=<RFC 3339>``: the winning revision as it was at that time,
    rebuilt from the audit trail (:mod:`couchsync.audit.asof`), with ``_attachments`` stubs (or
    data with ``attachments=true``). 404 ``missing`` if the document did not exist then, ``deleted``
    if it was deleted, ``erased`` if its content was erased since. ``rev``, ``open_revs`` and
    ``latest`` cannot be combined with it (400). Readable by whoever may read the trail."""
    _check_doc(_history_access(ctx, db), doc_id)
    for other in ("rev", "open_revs", "latest"):
        if ctx.q(other) is not None:
            raise BadRequest(f"`as_of` cannot be combined with `{other}`")
    when = parse_time(raw, "as_of")
    entries = await store.doc_entries(db, doc_id, until=when)
    winner = winner_at(entries, when)
    if winner is None:
        raise NotFound("missing")
    rev, deleted = winner
    if deleted:
        raise NotFound("deleted")
    found = (await store.stored_revs(db, doc_id, [rev])).get(rev)
    if found is None:
        raise NotFound("erased" if any(e.rev == rev and e.erased is not None for e in entries) else "missing")
    blobs = await _blobs(db, [found]) if qbool(ctx.request, "attachments") else {}
    return json_response(_render(ctx, doc_id, rev, found, blobs))


def _render(ctx: Ctx, doc_id: str, rev: str, found: store.StoredRev, blobs: dict[str, bytes]) -> bytes:
    extras: list[tuple[str, Any]] = []
    if found.atts:
        opts = ReadOptions(attachments=qbool(ctx.request, "attachments"))
        extras.append(("_attachments", attachments_json(found.atts, opts, {}, blobs)))
    return render_doc(doc_id, rev, found.deleted, found.body, extras)


async def _blobs(db: Database, revs: Any) -> dict[str, bytes]:
    return await db.get_attachment_blobs(m["digest"] for r in revs for m in (r.atts or {}).values())


async def erase(ctx: Ctx) -> web.StreamResponse:
    """``POST /{db}/_erase {"doc_ids": [...], "reason": "..."}`` (db admins: tenant admins, server
    admins) → 201 ``{"ok": true, "seq": <erase entry>, "results": [{"id","ok":true,"rev"?} |
    {"id","error":"not_found","reason":"missing"}]}``; 200 with ``seq: null`` when none of the ids
    is known. 400 for a body without a non-empty ``doc_ids`` array of valid document ids (at most
    1000; ``_local/`` ids have no history) or without a non-empty ``reason`` string."""
    db = await ctx.db(ctx.params["db"], admin=True)
    body = await ctx.json_object()
    doc_ids = body.get("doc_ids")
    if not isinstance(doc_ids, list) or not doc_ids or not all(isinstance(d, str) for d in doc_ids):
        raise BadRequest("`doc_ids` must be a non-empty array of document ids")
    if len(doc_ids) > MAX_ERASE_IDS:
        raise BadRequest(f"`doc_ids` holds more than {MAX_ERASE_IDS} ids")
    reason = body.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise BadRequest("`reason` must be a non-empty string")
    for doc_id in doc_ids:
        if doc_id.startswith("_local/"):
            raise BadRequest("_local documents have no history to erase")
        validate_docid(doc_id, partitioned=db.partitioned)
    result = await erasure.erase(db, doc_ids, reason)
    return json_response({"ok": True, "seq": result.seq, "results": result.results},
                         201 if result.seq is not None else 200)


async def retention(ctx: Ctx) -> web.StreamResponse:
    """``GET /{db}/_audit/_retention`` → ``{"max_age_seconds": n|null}``; ``PUT`` the same shape
    (db admins) → ``{"ok": true}``: how long superseded revision bodies stay in history (``null``:
    forever, the default). Compaction applies it (:mod:`couchsync.audit.retention`)."""
    db = await ctx.db(ctx.params["db"], admin=True)
    if ctx.method in ("GET", "HEAD"):
        return json_response({"max_age_seconds": retention_mod.max_age(db)})
    body = await ctx.json_object(require_ctype=False)
    if "max_age_seconds" not in body:
        raise BadRequest("`max_age_seconds` must be given (a number of seconds, or null for forever)")
    value = body["max_age_seconds"]
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
        raise BadRequest("`max_age_seconds` must be a non-negative integer or null")
    await retention_mod.set_max_age(db, value)
    return json_response({"ok": True})

