"""Replication endpoints: ``_revs_diff``, ``_missing_revs``, ``_bulk_get``.

Sources: CouchDB ``chttpd_db.erl`` (``_revs_diff``, ``_missing_revs``, ``bulk_get``),
``couch_db:get_missing_revs``; reference §1.6, §1.7.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson
from aiohttp import web

from ..auth.access import FORBIDDEN_DOC
from ..core import revtree
from ..core.documents import validate_docid
from ..core.revs import normalize_rev
from ..errors import BadRequest, CouchError
from ..storage.reader import Found, ReadOptions, Wanted, open_docs
from .context import Ctx
from .http import json_response, qbool


async def _missing(ctx: Ctx) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """``{docid: [revs]}`` body → ``(missing, possible_ancestors)`` per doc with something missing."""
    db = await ctx.db(ctx.params["db"])
    body = await ctx.json_object()
    wanted: dict[str, list[str]] = {}
    for doc_id, revs in body.items():
        if not isinstance(revs, list):
            raise BadRequest("Invalid revision list for " + doc_id)
        wanted[doc_id] = [normalize_rev(r) for r in revs]
    rows = await db.get_doc_rows(wanted.keys())
    missing: dict[str, list[str]] = {}
    ancestors: dict[str, list[str]] = {}
    for doc_id, revs in wanted.items():
        row = rows.get(doc_id) if ctx.access.can_read(doc_id) else None  # staff: other partitions look absent
        tree = row.tree() if row else {}
        miss = revtree.find_missing(tree, list(dict.fromkeys(revs)))
        if miss:
            missing[doc_id] = miss
            if tree:
                ancestors[doc_id] = revtree.possible_ancestors(tree, miss)
    return missing, ancestors


async def revs_diff(ctx: Ctx) -> web.StreamResponse:
    """``POST /{db}/_revs_diff`` ``{"docid": [rev]}`` → ``{"docid": {"missing": [rev],
    "possible_ancestors"?: [rev]}}`` for docs with missing revs; an internal node is not missing."""
    missing, ancestors = await _missing(ctx)
    out: dict[str, Any] = {}
    for doc_id, revs in missing.items():
        entry: dict[str, Any] = {"missing": revs}
        if ancestors.get(doc_id):
            entry["possible_ancestors"] = ancestors[doc_id]
        out[doc_id] = entry
    return json_response(out)


async def missing_revs(ctx: Ctx) -> web.StreamResponse:
    """``POST /{db}/_missing_revs`` → ``{"missing_revs": {"docid": [rev]}}`` (legacy)."""
    missing, _ = await _missing(ctx)
    return json_response({"missing_revs": missing})


REFUSED_PARAMS = ("rev", "open_revs", "atts_since", "new_edits", "w")


async def bulk_get(ctx: Ctx) -> web.StreamResponse:
    """``POST /{db}/_bulk_get`` ``{"docs":[{"id","rev"?,"atts_since"?}]}`` →
    ``{"results":[{"id","docs":[{"ok":doc}|{"error":{"id","rev","error","reason"}}]}]}``.

    One result per entry in request order; bad entries get per-entry errors, never a failed request.
    ``latest=true`` resolves a superseded rev to its leaves (PouchDB needs it).
    """
    db = await ctx.db(ctx.params["db"])
    for p in REFUSED_PARAMS:
        if p in ctx.request.query:
            raise BadRequest(f'"{p}" query parameter is not acceptable')
    body = await ctx.json_object()
    docs = body.get("docs")
    if not isinstance(docs, list):
        raise BadRequest("Missing JSON list of 'docs'.")
    q = ctx.request
    base = ReadOptions(
        revs=qbool(q, "revs") or body.get("revs") is True,
        revs_info=qbool(q, "revs_info"),
        conflicts=qbool(q, "conflicts"),
        deleted_conflicts=qbool(q, "deleted_conflicts"),
        local_seq=qbool(q, "local_seq"),
        attachments=qbool(q, "attachments") or body.get("attachments") is True,
        att_encoding_info=qbool(q, "att_encoding_info"),
        latest=qbool(q, "latest") or body.get("latest") is True,
    )
    entries = [_check_access(ctx, _check_entry(e, db.partitioned)) for e in docs]
    batch: list[tuple[str, Wanted]] = [(e.id, e.wanted) for e in entries if e.error is None and e.atts_since is None]
    batched = iter(await open_docs(db, batch, base) if batch else [])
    parts = []
    for e in entries:
        if e.error is not None:
            parts.append({"id": e.id, "docs": [{"error": e.error}]})
            continue
        if e.atts_since is None:
            res = next(batched)
        else:  # chttpd_db bulk_get_parse_atts_since: [{atts_since, Revs}, attachments]
            opts = dataclasses.replace(base, attachments=True, atts_since=e.atts_since)
            res = (await open_docs(db, [(e.id, e.wanted)], opts))[0]
        docs_out: list[dict[str, Any]] = []
        for r in res:
            if isinstance(r, Found):
                docs_out.append({"ok": orjson.Fragment(r.json)})
            else:
                docs_out.append({"error": {"id": e.id, "rev": r.rev or e.rev or "undefined",
                                           "error": "not_found", "reason": "missing"}})
        parts.append({"id": e.id, "docs": docs_out})
    return json_response({"results": parts})


@dataclasses.dataclass(slots=True)
class _Entry:
    """One parsed ``_bulk_get`` entry: ``error`` is the per-entry error object, if any."""

    id: Any
    rev: str | None = None
    atts_since: tuple[str, ...] | None = None
    error: dict[str, Any] | None = None

    @property
    def wanted(self) -> Wanted:
        return [self.rev] if self.rev else "all"


def _check_access(ctx: Ctx, e: _Entry) -> _Entry:
    """Staff asking for a document outside their partitions get a per-entry ``forbidden``."""
    if e.error is None and not ctx.access.can_read(e.id):
        return _entry_error(e.id, e.rev, "forbidden", FORBIDDEN_DOC)
    return e


def _entry_error(doc_id: Any, rev: Any, error: str, reason: str) -> _Entry:
    return _Entry(doc_id, error={"id": doc_id, "rev": rev, "error": error, "reason": reason})


def _check_entry(entry: Any, partitioned: bool) -> _Entry:
    """Parses one ``_bulk_get`` entry as CouchDB's ``bulk_get_parse_arg`` does: a non-object (or empty)
    entry and a missing ``id`` → ``bad_request`` with id/rev ``null``; an invalid id →
    ``illegal_docid`` with rev ``null``; a bad ``rev`` or ``atts_since`` → ``bad_request`` naming the
    bad value as ``rev``."""
    if not isinstance(entry, dict) or not entry:
        return _entry_error(None, None, "bad_request", "document must be a JSON object")
    if "id" not in entry:
        return _entry_error(None, None, "bad_request", "document id missed")
    doc_id = entry["id"]
    try:
        validate_docid(doc_id, partitioned=partitioned)
    except CouchError as e:
        return _entry_error(doc_id, None, e.error, e.reason)
    raw_rev = entry.get("rev")
    rev = None
    if raw_rev is not None:
        try:
            rev = normalize_rev(raw_rev)
        except CouchError as e:
            return _entry_error(doc_id, raw_rev, e.error, e.reason)
    since = entry.get("atts_since")
    if since is None or since == []:
        return _Entry(doc_id, rev)
    if not isinstance(since, list):
        return _entry_error(doc_id, since, "bad_request", "att_since value must be array of revs.")
    parsed: list[str] = []
    for r in since:
        try:
            parsed.append(normalize_rev(r))
        except CouchError as e:
            return _entry_error(doc_id, r, e.error, e.reason)
    return _Entry(doc_id, rev, tuple(parsed))
