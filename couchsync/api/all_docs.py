"""``_all_docs``, ``_design_docs`` and ``_local_docs`` (GET and POST, and ``/queries``).

Keys are doc ids compared by raw UTF-8 bytes (SQLite's BINARY collation). Deleted documents never
appear in range queries; with ``keys`` they appear as ``{"value":{"rev","deleted":true},"doc":null}``.
Sources: CouchDB ``couch_mrview_http.erl`` (params), ``fabric_view_all_docs.erl``; reference §4.2.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from ..auth.access import Access
from ..core import revtree
from ..core.render import render_doc
from ..errors import BadRequest, QueryParseError
from ..storage.database import Database
from ..storage.reader import ReadOptions, attachments_json
from ..storage.updater import DESIGN_PARTITION
from ..views.args import JSON_PARAMS
from .context import Ctx
from .http import json_response, vbool, vint

#: URL-encoded JSON params; ``startkey_docid`` & co. are raw strings (couch_mrview_http parse_param)
DOCID_PARAMS = ("startkey_docid", "start_key_doc_id", "endkey_docid", "end_key_doc_id")


@dataclass
class AllDocsArgs:
    """Parsed ``_all_docs`` query (CouchDB ``#mrargs`` subset)."""

    start: str | None = None
    end: str | None = None
    inclusive_end: bool = True
    descending: bool = False
    limit: int | None = None
    skip: int = 0
    include_docs: bool = False
    conflicts: bool = False
    attachments: bool = False
    att_encoding_info: bool = False
    update_seq: bool = False
    keys: list[Any] | None = None


def parse_args(params: dict[str, Any]) -> AllDocsArgs:
    """Parameters (already JSON-decoded values) → args; 400 ``query_parse_error`` on bad input.

    CouchDB: couch_mrview_http ``parse_param``, couch_mrview_util ``validate_args`` and
    ``all_docs_key_opts`` (a non-string ``startkey``/``endkey`` falls back to
    ``startkey_docid``/``endkey_docid``).
    """
    a = AllDocsArgs()
    a.descending = vbool(params, "descending", False)
    a.inclusive_end = vbool(params, "inclusive_end", True)
    a.include_docs = vbool(params, "include_docs", False)
    a.conflicts = vbool(params, "conflicts", False)
    a.attachments = vbool(params, "attachments", False)
    a.att_encoding_info = vbool(params, "att_encoding_info", False)
    a.update_seq = vbool(params, "update_seq", False)
    vbool(params, "sorted", True)
    _check_choice(params, "stale", ("ok", "update_after"))
    _check_choice(params, "stable", ("true", "false"))
    _check_choice(params, "update", ("true", "false", "lazy"))
    a.limit = vint(params, "limit", None)
    a.skip = vint(params, "skip", 0) or 0
    key = params.get("key", _MISSING)
    keys = params.get("keys", _MISSING)
    start = _first(params, "startkey", "start_key")
    end = _first(params, "endkey", "end_key")
    if keys is not _MISSING and keys is not None:
        if not isinstance(keys, list):
            raise QueryParseError("`keys` member must be an array.")
        if keys and (key is not _MISSING or start is not _MISSING or end is not _MISSING):
            raise QueryParseError("`keys` is incompatible with `key`, `start_key` and `end_key`")
        a.keys = keys
        return a
    if key is not _MISSING:
        start = end = key
    start_docid = _first(params, "startkey_docid", "start_key_doc_id")
    end_docid = _first(params, "endkey_docid", "end_key_doc_id")
    if isinstance(start, str):
        a.start = start
    elif isinstance(start_docid, str):
        a.start = start_docid
    if isinstance(end, str):
        a.end = end
    elif isinstance(end_docid, str):
        a.end = end_docid
    return a


def _check_choice(params: dict[str, Any], name: str, allowed: tuple[str, ...]) -> None:
    v = params.get(name)
    if v is None:
        return
    if isinstance(v, bool):
        v = "true" if v else "false"
    if v not in allowed:
        raise QueryParseError(f"Invalid value for `{name}`.")


_MISSING: Any = object()


def _first(params: dict[str, Any], *names: str) -> Any:
    for n in names:
        if n in params:
            return params[n]
    return _MISSING


def query_params(ctx: Ctx) -> dict[str, Any]:
    """Query-string params with JSON-valued ones decoded; 400 ``bad_request`` on invalid JSON,
    and for a ``keys`` that is not an array (chttpd_db ``db_req`` GET ``?IS_ALL_DOCS``)."""
    out: dict[str, Any] = {}
    for k, v in ctx.request.query.items():
        if k in JSON_PARAMS:
            try:
                out[k] = orjson.loads(v)
            except orjson.JSONDecodeError:
                raise BadRequest("invalid UTF-8 JSON") from None
        else:
            out[k] = v
    if "keys" in out and not isinstance(out["keys"], list):
        raise BadRequest("`keys` parameter must be an array.")
    return out


@dataclass(frozen=True)
class Scope:
    """Which documents a listing covers: ids under ``prefix`` (``_design/``, ``partition:``) and,
    for staff, only the ``partitions`` they may read (design docs included)."""

    prefix: str | None = None
    partitions: frozenset[str] | None = None

    def sql(self, alias: str = "") -> tuple[list[str], list[Any]]:
        where: list[str] = []
        params: list[Any] = []
        if self.prefix is not None:
            where.append(f"{alias}doc_id >= ? AND {alias}doc_id < ?")
            params += [self.prefix, self.prefix[:-1] + chr(ord(self.prefix[-1]) + 1)]
        if self.partitions is not None:
            parts = sorted(self.partitions | {DESIGN_PARTITION})
            where.append(f"{alias}partition IN ({','.join('?' * len(parts))})")
            params += parts
        return where, params

    def allows(self, doc_id: str) -> bool:
        return Access(self.partitions).can_read(doc_id) and (self.prefix is None or doc_id.startswith(self.prefix))


EVERYTHING = Scope()


async def run(db: Database, a: AllDocsArgs, scope: Scope = EVERYTHING) -> dict[str, Any] | bytes:
    """Runs one ``_all_docs`` query over the documents of ``scope``."""
    if a.keys is not None:
        return await _by_keys(db, a, scope)
    lo, hi = a.start, a.end
    if a.descending:
        lo, hi = a.end, a.start
    lo_incl = True if not a.descending else a.inclusive_end
    hi_incl = a.inclusive_end if not a.descending else True
    where, params = scope.sql("d.")
    where.insert(0, "d.deleted = 0")
    if lo is not None:
        where.append("d.doc_id >= ?" if lo_incl else "d.doc_id > ?")
        params.append(lo)
    if hi is not None:
        where.append("d.doc_id <= ?" if hi_incl else "d.doc_id < ?")
        params.append(hi)
    order = "DESC" if a.descending else "ASC"
    cols = "d.doc_id, d.winning_rev, d.rev_tree" + (", r.body, r.atts, r.deleted" if a.include_docs else "")
    join = " LEFT JOIN revs r ON r.doc_id = d.doc_id AND r.rev = d.winning_rev" if a.include_docs else ""
    limit = -1 if a.limit is None else a.limit
    rows = await db.read(f"SELECT {cols} FROM docs d{join} WHERE {' AND '.join(where)} "
                         f"ORDER BY d.doc_id {order} LIMIT ? OFFSET ?", [*params, limit, a.skip])
    total = await _total(db, scope)
    offset = min(total, await _offset(db, a, scope) + a.skip)  # fabric_view_all_docs FinalOffset
    blobs = await _blobs(db, [r[4] for r in rows]) if a.include_docs and a.attachments else {}
    out_rows = []
    for r in rows:
        row: dict[str, Any] = {"id": r[0], "key": r[0], "value": {"rev": r[1]}}
        if a.include_docs:
            row["doc"] = orjson.Fragment(_doc_json(db, r[0], r[1], r[2], r[3], r[4], a, blobs))
        out_rows.append(row)
    result: dict[str, Any] = {"total_rows": total, "offset": offset, "rows": out_rows}
    if a.update_seq:
        result["update_seq"] = db.format_seq(db.update_seq)
    return result


async def _blobs(db: Database, atts_column: list[bytes | None]) -> dict[str, bytes]:
    """The attachment bodies referenced by ``atts`` columns (``attachments=true``)."""
    digests = [m["digest"] for raw in atts_column if raw for m in orjson.loads(raw).values()]
    return await db.get_attachment_blobs(digests) if digests else {}


def _doc_json(db: Database, doc_id: str, rev: str, tree_json: bytes, body: bytes | None,
              atts: bytes | None, a: AllDocsArgs, blobs: dict[str, bytes]) -> bytes:
    extras: list[tuple[str, Any]] = []
    tree = None
    if a.conflicts:
        tree = revtree.from_json(orjson.loads(tree_json))
        c = revtree.conflicts(tree)
        if c:
            extras.append(("_conflicts", c))
    if atts:
        meta = orjson.loads(atts)
        opts = ReadOptions(attachments=a.attachments, att_encoding_info=a.att_encoding_info)
        extras.append(("_attachments", attachments_json(meta, opts, tree or {}, blobs)))
    return render_doc(doc_id, rev, False, body or b"{}", extras)


async def _total(db: Database, scope: Scope) -> int:
    if scope == EVERYTHING:
        return int(db.meta["doc_count"])
    where, params = scope.sql()
    rows = await db.read(f"SELECT count(*) FROM docs WHERE deleted = 0 AND {' AND '.join(where)}", params)
    return int(rows[0][0])


async def _offset(db: Database, a: AllDocsArgs, scope: Scope) -> int:
    first = a.start
    if first is None:
        return 0
    where, params = scope.sql()
    where += ["deleted = 0", "doc_id > ?" if a.descending else "doc_id < ?"]
    params.append(first)
    rows = await db.read(f"SELECT count(*) FROM docs WHERE {' AND '.join(where)}", params)
    return int(rows[0][0])


async def _by_keys(db: Database, a: AllDocsArgs, scope: Scope) -> dict[str, Any]:
    keys = a.keys or []
    ids = [k for k in keys if isinstance(k, str) and scope.allows(k)]
    found = await db.get_doc_rows(ids)
    bodies = {}
    if a.include_docs:
        bodies = await db.get_revs([(d, r.winning_rev) for d, r in found.items() if not r.deleted])
    blobs: dict[str, bytes] = {}
    if a.include_docs and a.attachments:
        blobs = await _blobs(db, [orjson.dumps(b.atts) if b.atts else None for b in bodies.values()])
    rows: list[dict[str, Any]] = []
    for k in keys:
        row = found.get(k) if isinstance(k, str) else None
        if row is None:
            rows.append({"key": k, "error": "not_found"})
            continue
        if row.deleted:
            entry: dict[str, Any] = {"id": k, "key": k, "value": {"rev": row.winning_rev, "deleted": True}}
            if a.include_docs:
                entry["doc"] = None
            rows.append(entry)
            continue
        entry = {"id": k, "key": k, "value": {"rev": row.winning_rev}}
        if a.include_docs:
            b = bodies.get((k, row.winning_rev))
            atts = orjson.dumps(b.atts) if b and b.atts else None
            entry["doc"] = orjson.Fragment(_doc_json(db, k, row.winning_rev, row.rev_tree,
                                                     b.body if b else None, atts, a, blobs))
        rows.append(entry)
    if a.descending:
        rows.reverse()
    rows = rows[a.skip:]
    if a.limit is not None:
        rows = rows[: a.limit]
    # fabric_view_all_docs (keys): offset and update_seq are null
    result: dict[str, Any] = {"total_rows": await _total(db, scope), "offset": None, "rows": rows}
    if a.update_seq:
        result["update_seq"] = None
    return result


async def local_docs(db: Database, a: AllDocsArgs) -> dict[str, Any]:
    """``_local_docs``: rows ``{"id","key","value":{"rev":"0-N"},"doc"?}``; ``total_rows`` null."""
    if a.keys is not None:
        rows = []
        for k in a.keys:
            got = await db.get_local(k) if isinstance(k, str) else None
            if got is None:
                rows.append({"key": k, "error": "not_found"})
            else:
                rows.append(_local_row(k, got[0], got[1], a.include_docs))
        if a.descending:
            rows.reverse()
        rows = rows[a.skip:] if a.limit is None else rows[a.skip:a.skip + a.limit]
        return {"total_rows": None, "offset": None, "rows": rows}
    where, params = ["1"], []
    lo, hi = (a.end, a.start) if a.descending else (a.start, a.end)
    lo_incl = a.inclusive_end if a.descending else True
    hi_incl = True if a.descending else a.inclusive_end
    if lo is not None:
        where.append("doc_id >= ?" if lo_incl else "doc_id > ?")
        params.append(lo)
    if hi is not None:
        where.append("doc_id <= ?" if hi_incl else "doc_id < ?")
        params.append(hi)
    res = await db.read(f"SELECT doc_id, rev, body FROM local_docs WHERE {' AND '.join(where)} ORDER BY doc_id "
                        f"{'DESC' if a.descending else 'ASC'} LIMIT ? OFFSET ?",
                        [*params, -1 if a.limit is None else a.limit, a.skip])
    out: dict[str, Any] = {"total_rows": None, "offset": None,
                           "rows": [_local_row(d, r, b, a.include_docs) for d, r, b in res]}
    if a.update_seq:
        out["update_seq"] = None  # _local docs have no seq (CouchDB PR #526)
    return out


def _local_row(doc_id: str, rev: int, body: bytes, include: bool) -> dict[str, Any]:
    row: dict[str, Any] = {"id": doc_id, "key": doc_id, "value": {"rev": f"0-{rev}"}}
    if include:
        row["doc"] = orjson.Fragment(render_doc(doc_id, f"0-{rev}", False, body))
    return row


async def handle(ctx: Ctx, db: Database, kind: str) -> web.StreamResponse:
    """GET/POST ``/{db}/_all_docs|_design_docs|_local_docs`` and ``…/queries``."""
    params = query_params(ctx)
    if ctx.method == "POST":
        body = await ctx.json_object()
        if ctx.segs[-1] == "queries":
            # chttpd_db multi_all_docs_view: the query string is the base, each query overrides it
            if body.get("queries") is None:
                raise BadRequest("POST body must include `queries` parameter.")
            queries = body["queries"]
            if not isinstance(queries, list):
                raise BadRequest("`queries` member must be an array.")
            results = []
            for q in queries:
                if not isinstance(q, dict):
                    raise BadRequest("Each query must be an object.")
                results.append(await _one(db, parse_args({**params, **q}), kind, _scope(ctx, kind)))
            return json_response({"results": results})
        if body.get("keys") is not None and not isinstance(body["keys"], list):
            raise BadRequest("`keys` body member must be an array.")
        params = {**body, **params}  # query-string params override body params
    return json_response(await _one(db, parse_args(params), kind, _scope(ctx, kind)))


def _scope(ctx: Ctx, kind: str) -> Scope:
    """``_design_docs`` → ``_design/`` ids; ``/_partition/{p}/_all_docs`` → ``p:`` ids; staff →
    their partitions."""
    partition = ctx.params.get("partition")
    prefix = "_design/" if kind == "_design_docs" else f"{partition}:" if partition else None
    return Scope(prefix, ctx.access.partitions)


async def _one(db: Database, a: AllDocsArgs, kind: str, scope: Scope) -> Any:
    if kind == "_local_docs":
        return await local_docs(db, a)
    return await run(db, a, scope)
