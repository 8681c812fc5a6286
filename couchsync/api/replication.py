"""Replication endpoints: ``_revs_diff``, ``_missing_revs``, ``_bulk_get``.

Sources: CouchDB ``chttpd_db.erl`` (``_revs_diff``, ``_missing_revs``, ``bulk_get``),
``couch_db:get_missing_revs``; reference §1.6, §1.7.
"""

from __future__ import annotations

import contextlib
from typing import Any

import orjson
from aiohttp import web

from ..core import revtree
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
        row = rows.get(doc_id)
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
    requests: list[tuple[str, Wanted]] = []
    entries: list[tuple[Any, str | None, dict[str, Any] | None]] = []  # (id, rev, error)
    for entry in docs:
        err, doc_id, rev = _check_entry(entry)
        entries.append((doc_id, rev, err))
        if err is None:
            requests.append((doc_id, [rev] if rev else "all"))
    has_atts_since = any(isinstance(e, dict) and "atts_since" in e for e in docs)
    if has_atts_since:
        found = [await _one(db, e, r, base) for e, r in zip(docs, entries, strict=True)]
    else:
        results = iter(await open_docs(db, requests, base))
        found = [next(results) if err is None else None for _, _, err in entries]
    parts = []
    for (doc_id, rev, err), res in zip(entries, found, strict=True):
        if err is not None or res is None:
            parts.append({"id": doc_id, "docs": [{"error": err}]})
            continue
        docs_out: list[dict[str, Any]] = []
        for r in res:
            if isinstance(r, Found):
                docs_out.append({"ok": orjson.Fragment(r.json)})
            else:
                docs_out.append({"error": {"id": doc_id, "rev": r.rev or rev or "undefined",
                                           "error": "not_found", "reason": "missing"}})
        parts.append({"id": doc_id, "docs": docs_out})
    return json_response({"results": parts})


async def _one(db: Any, entry: Any, parsed: tuple[Any, str | None, dict[str, Any] | None],
               base: ReadOptions) -> list[Any] | None:
    doc_id, rev, err = parsed
    if err is not None:
        return None
    since = entry.get("atts_since") if isinstance(entry, dict) else None
    opts = base
    if isinstance(since, list):
        with contextlib.suppress(CouchError):
            opts = ReadOptions(**{**{f: getattr(base, f) for f in base.__dataclass_fields__},
                                  "attachments": True, "atts_since": tuple(normalize_rev(r) for r in since)})
    return (await open_docs(db, [(doc_id, [rev] if rev else "all")], opts))[0]


def _check_entry(entry: Any) -> tuple[dict[str, Any] | None, Any, str | None]:
    """Returns ``(error or None, id, rev)`` for one ``_bulk_get`` entry."""
    if not isinstance(entry, dict):
        return {"id": None, "rev": None, "error": "bad_request", "reason": "document must be a JSON object"}, None, None
    doc_id = entry.get("id")
    rev = entry.get("rev")
    if doc_id is None:
        return ({"id": None, "rev": rev, "error": "bad_request", "reason": "document id missed"}, None, None)
    if not isinstance(doc_id, str) or not doc_id:
        return ({"id": doc_id, "rev": rev, "error": "illegal_docid", "reason": "Document id must be a string"},
                doc_id, None)
    if rev is not None:
        try:
            rev = normalize_rev(rev)
        except CouchError as e:
            return ({"id": doc_id, "rev": rev, "error": e.error, "reason": e.reason}, doc_id, None)
    return None, doc_id, rev
