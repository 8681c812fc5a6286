"""Database endpoints: create, info, delete, ``_bulk_docs``, ``_revs_limit``, ``_security``,
``_compact``, ``_purge``, ``_ensure_full_commit``. Sources: CouchDB ``chttpd_db.erl``; reference §4.1, §1.10.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from ..auth import security
from ..auth.access import FORBIDDEN_DOC
from ..auth.users import USERS_DB, hash_on_write, validate_user_doc
from ..core.documents import DocInput, parse_doc, validate_docid
from ..core.revs import normalize_rev
from ..errors import BadContentType, BadRequest, CouchError, DocumentTooLarge, Forbidden, Gone, Unauthorized
from ..storage import maintenance
from ..storage.database import Database, file_size
from ..storage.updater import update_docs
from ..views.design import parse_design
from .context import Ctx
from .http import json_response
from .local import write_local

NOT_DB_ADMIN = "You are not a db or server admin."
#: CouchDB ``[purge] max_document_id_number`` and ``max_revisions_number`` defaults
PURGE_MAX_IDS = 100
PURGE_MAX_REVS = 1000


async def db_info(db: Database) -> dict[str, Any]:
    """``GET /{db}`` body (CouchDB ``fabric_db_info`` shape)."""
    size = file_size(db.path)
    return {
        "instance_start_time": db.meta["instance_start_time"],
        "db_name": db.name,
        "purge_seq": db.format_seq(int(db.meta["purge_seq"])),
        "update_seq": db.format_seq(db.update_seq),
        "sizes": {"file": size, "external": size, "active": size},
        "props": db.meta.get("props") or {},
        "doc_del_count": int(db.meta["doc_del_count"]),
        "doc_count": int(db.meta["doc_count"]),
        "disk_format_version": 8,
        "compact_running": db.compact_running,
        "cluster": {"q": 1, "n": 1, "w": 1, "r": 1},
    }


async def get_db(ctx: Ctx) -> web.StreamResponse:
    db = await ctx.db(ctx.params["db"])
    return json_response(await db_info(db))


async def put_db(ctx: Ctx) -> web.StreamResponse:
    """``PUT /{db}[?partitioned=true]`` (server admin) → 201; 412 ``file_exists``; 400 bad name."""
    ctx.require_server_admin()
    name = ctx.params["db"]
    partitioned = ctx.q("partitioned") == "true"
    await ctx.state.registry.create(name, {"partitioned": True} if partitioned else {})
    return json_response({"ok": True}, 201, {"Location": f"/{name}"})


async def delete_db(ctx: Ctx) -> web.StreamResponse:
    """``DELETE /{db}`` (server admin) → ``{"ok":true}``; a ``?rev=`` is a mistake (400)."""
    if ctx.q("rev") is not None:
        raise BadRequest("You tried to DELETE a database with a ?=rev parameter. "
                         "Did you mean to DELETE a document instead?")
    ctx.require_server_admin()
    await ctx.state.registry.delete(ctx.params["db"])
    return json_response({"ok": True})


# -- writes --------------------------------------------------------------------------------------


def check_size(ctx: Ctx, doc_id: str | None, raw_len: int) -> None:
    if raw_len > ctx.settings.max_document_size:
        raise DocumentTooLarge(doc_id or "")


async def write_docs(ctx: Ctx, db: Database, docs: list[DocInput], *, new_edits: bool) -> list[dict[str, Any]]:
    """Writes docs with the per-doc permission rules; returns per-doc results.

    Design docs by non-db-admins become per-doc ``forbidden`` (``unauthorized`` for anonymous)
    entries, as CouchDB does in both modes; so do staff writes outside their hospitals' partitions
    (PouchDB reports them as ``denied`` and replication goes on). ``_users`` documents are validated
    and their clear ``password`` replaced by a bcrypt hash before they are stored.
    """
    results: list[dict[str, Any] | None] = [None] * len(docs)
    allowed: list[DocInput] = []
    positions: list[int] = []
    admin = ctx.is_db_admin(db)
    for i, doc in enumerate(docs):
        err: CouchError | None = None
        if doc.id is not None and doc.id.startswith("_design/") and not admin:
            err = Unauthorized(NOT_DB_ADMIN) if ctx.user.is_anonymous else Forbidden(NOT_DB_ADMIN)
        elif doc.id is not None and not ctx.access.can_write(doc.id):
            err = Forbidden(FORBIDDEN_DOC)
        elif doc.id is not None and doc.id.startswith("_design/") and not doc.deleted:
            try:
                parse_design(doc.id, doc.body, db_partitioned=db.partitioned)
            except CouchError as e:
                err = e
        elif db.name == USERS_DB and doc.id is not None:
            try:
                validate_user_doc(doc.id, doc.body, deleted=doc.deleted)
                doc.body = await asyncio.to_thread(hash_on_write, doc.body, rounds=ctx.settings.bcrypt_rounds)
                doc.encoded = None
            except CouchError as e:
                err = e
        if err is not None:
            entry: dict[str, Any] = {"id": doc.id, "error": err.error, "reason": err.reason}
            if not new_edits and doc.rev:
                entry["rev"] = doc.rev
            results[i] = entry
            continue
        allowed.append(doc)
        positions.append(i)
    if allowed:
        sec = db.meta.get("security") or {}
        validate = await ctx.state.views.validator(db, ctx.user.to_json(db.name), sec)
        written = await update_docs(db, allowed, new_edits=new_edits, validate=validate)
        for pos, res in zip(positions, written, strict=True):
            results[pos] = res
    return [r for r in results if r is not None]


async def bulk_docs(ctx: Ctx) -> web.StreamResponse:
    """``POST /{db}/_bulk_docs`` ``{"docs":[…],"new_edits"?}`` → 201 with per-doc results.

    Interactive: one ``{"ok","id","rev"}`` or ``{"id","error","reason"}`` per doc. Replicated
    (``new_edits:false``): only failures, ``[]`` on success. Whole-request 400s: missing/non-array
    ``docs``, an invalid doc id, a bad special member, a doc without ``_rev``/``_revisions`` when
    ``new_edits:false``. CouchDB: chttpd_db ``db_req(_bulk_docs)``.
    """
    db = await ctx.db(ctx.params["db"])
    body = await ctx.json_object()
    if "docs" not in body:
        raise BadRequest("POST body must include `docs` parameter.")
    raw_docs = body["docs"]
    if not isinstance(raw_docs, list):
        raise BadRequest("`docs` parameter must be an array.")
    new_edits = body.get("new_edits", True)
    if not isinstance(new_edits, bool):
        raise BadRequest("`new_edits` parameter must be a boolean.")
    local_docs = {i: raw for i, raw in enumerate(raw_docs) if _is_local(raw)}
    docs = [prepare_doc(ctx, db, raw, None, new_edits=new_edits)
            for i, raw in enumerate(raw_docs) if i not in local_docs]
    results = await write_docs(ctx, db, docs, new_edits=new_edits)
    for i, raw in local_docs.items():  # CouchDB writes _local/ ids in _bulk_docs as local docs
        results.insert(i, await write_local(db, raw["_id"], raw, ctx.settings.max_document_size))
    if not new_edits:
        results = [{k: v for k, v in r.items() if k != "ok"} for r in results if "error" in r]
    elif body.get("all_or_nothing") is True and any("error" in r for r in results):
        return json_response(results, 417)
    return json_response(results, 201)


def _is_local(raw: Any) -> bool:
    return isinstance(raw, dict) and isinstance(raw.get("_id"), str) and raw["_id"].startswith("_local/") \
        and raw["_id"] != "_local/"


def prepare_doc(ctx: Ctx, db: Database, raw: Any, docid: str | None, *, new_edits: bool) -> DocInput:
    """Parses and validates one incoming doc; assigns a UUID id to new interactive docs."""
    import uuid


    if not isinstance(raw, dict):
        raise BadRequest("Document must be a JSON object")
    doc = parse_doc(raw, docid=docid)
    if doc.id is None:
        if not new_edits:
            raise BadRequest("Document id must be specified when new_edits is false")
        doc.id = uuid.uuid4().hex
    validate_docid(doc.id, partitioned=db.partitioned)
    if doc.id.startswith("_local/"):
        raise BadRequest("_local documents are written with PUT /{db}/_local/{id}")
    if not new_edits and doc.rev is None and doc.revisions is None:
        raise BadRequest("When `new_edits: false`, the document needs `_rev` or `_revisions` specified")
    if ctx.settings.max_document_size < 1 << 30:
        check_size(ctx, doc.id, len(doc.body_json()))
    return doc


async def ensure_full_commit(ctx: Ctx) -> web.StreamResponse:
    """``POST /{db}/_ensure_full_commit`` → 201 ``{"ok":true,"instance_start_time"}`` (no-op: every
    commit is durable). CouchDB checks the JSON content type first (415 ``bad_content_type``)."""
    if ctx.request.content_type != "application/json":
        raise BadContentType()
    db = await ctx.db(ctx.params["db"])
    return json_response({"ok": True, "instance_start_time": db.meta["instance_start_time"]}, 201)


async def revs_limit(ctx: Ctx) -> web.StreamResponse:
    """``GET`` → bare integer; ``PUT`` (db admin) bare positive integer → ``{"ok":true}``."""
    if ctx.method in ("GET", "HEAD"):
        db = await ctx.db(ctx.params["db"])
        return json_response(int(db.meta["revs_limit"]))
    db = await ctx.db(ctx.params["db"], admin=True)
    value = await ctx.json(require_ctype=False)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise BadRequest("Rev limit has to be an integer greater than 0")
    await db.set_meta("revs_limit", value)
    return json_response({"ok": True})


async def security_obj(ctx: Ctx) -> web.StreamResponse:
    """``GET /{db}/_security`` (members) → secObj; ``PUT`` (db admin) → ``{"ok":true}``."""
    if ctx.method in ("GET", "HEAD"):
        db = await ctx.db(ctx.params["db"])
        return json_response(db.meta.get("security") or {})
    db = await ctx.db(ctx.params["db"], admin=True)
    if db.name == USERS_DB:  # [couchdb] users_db_security_editable = false (chttpd_db)
        raise Forbidden("You can't edit the security object of the user database.")
    obj = security.validate_security(await ctx.json(require_ctype=False))
    await db.set_meta("security", obj)
    return json_response({"ok": True})


async def compact(ctx: Ctx) -> web.StreamResponse:
    """``POST /{db}/_compact`` (db admin, JSON) → 202; drops non-leaf bodies and unreferenced blobs."""
    if ctx.request.content_type != "application/json":
        raise BadContentType()
    db = await ctx.db(ctx.params["db"], admin=True)
    maintenance.start_compaction(db)
    return json_response({"ok": True}, 202)


async def purge(ctx: Ctx) -> web.StreamResponse:
    """``POST /{db}/_purge`` (server admin) ``{"docid":[revs]}`` → 201 ``{"purge_seq":null,"purged":{…}}``."""
    ctx.require_server_admin()
    db = await ctx.db(ctx.params["db"])
    body = await ctx.json_object()
    if len(body) > PURGE_MAX_IDS:
        raise BadRequest("Exceeded maximum number of documents.")
    request: dict[str, list[str]] = {}
    for doc_id, revs in body.items():
        if not isinstance(revs, list) or not all(isinstance(r, str) for r in revs):
            raise BadRequest(f"Invalid revision list for {doc_id}")
        request[doc_id] = [normalize_rev(r) for r in revs]  # couch_doc:parse_revs: 400 "Invalid rev format"
    if sum(len(revs) for revs in request.values()) > PURGE_MAX_REVS:
        raise BadRequest("Exceeded maximum number of revisions.")
    purged = await maintenance.purge(db, request)
    return json_response({"purge_seq": None, "purged": purged}, 201)


async def purged_infos(ctx: Ctx) -> web.StreamResponse:
    db = await ctx.db(ctx.params["db"])
    return json_response({"purged_infos": await maintenance.purged_infos(db),
                          "purge_seq": db.format_seq(int(db.meta["purge_seq"]))})


async def purged_infos_limit(ctx: Ctx) -> web.StreamResponse:
    if ctx.method in ("GET", "HEAD"):
        db = await ctx.db(ctx.params["db"])
        return json_response(int(db.meta["purged_infos_limit"]))
    db = await ctx.db(ctx.params["db"], admin=True)
    value = await ctx.json(require_ctype=False)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise BadRequest("`purge_infos_limit` must be positive integer")  # sic, chttpd_db
    await db.set_meta("purged_infos_limit", value)
    return json_response({"ok": True})


async def temp_view(ctx: Ctx) -> web.StreamResponse:
    raise Gone("Temporary views are not supported in CouchDB")
