"""Running a planned ``_find``: scan the chosen index's key range in pages, load the winning
revisions, match the whole selector, then ``skip``, ``limit``, ``fields``, ``bookmark``,
``execution_stats`` and warnings as CouchDB's ``mango_cursor_view`` does.

* json index: a range scan of ``view_rows`` (the index's signature and name; ``part`` = the
  partition for partitioned indexes) between byte bounds derived from the plan's start and end keys
  (array sort keys, see :func:`key_bounds`); rows are in view order (key, then doc id), reversed
  for a descending sort;
* ``_all_docs``: a scan of ``docs`` by id (raw order), narrowed by ``_id`` string ranges, without
  design documents and deleted documents.

A staff user's query only ever sees rows of their partitions (filtered in SQL). The bookmark is
the base64url JSON ``[key, doc_id]`` of the last returned row; a request with a bookmark resumes
strictly after it and then applies ``skip`` again (``mango_json_bookmark:update_args``).

Sources: CouchDB ``mango_cursor_view.erl``, ``mango_cursor_special.erl``, ``mango_cursor.erl``
(warnings), ``mango_json_bookmark.erl``, ``mango_execution_stats.erl``.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from ..core.collate import sort_key
from ..core.render import attachment_json, render_doc
from ..errors import CouchError
from ..storage import views as view_store
from ..storage.database import Database, live_conflicts
from .indexes import Index
from .opts import FindRequest
from .planner import MAX, MIN, Plan, covers
from .selector import parse_field, project, set_path

NO_INDEX_WARNING = "No matching index found, create an index to optimize query time."
SCAN_WARNING = ("The number of documents examined is high in proportion to the number of results "
                "returned. Consider adding a more specific index to improve this.")
SCAN_RATIO = 10
PAGE_MIN, PAGE_MAX = 64, 2000


@dataclass
class Stats:
    total_keys_examined: int = 0
    total_docs_examined: int = 0
    total_quorum_docs_examined: int = 0
    results_returned: int = 0
    started: float = field(default_factory=time.perf_counter)

    def to_json(self) -> dict[str, Any]:
        return {
            "total_keys_examined": self.total_keys_examined,
            "total_docs_examined": self.total_docs_examined,
            "total_quorum_docs_examined": self.total_quorum_docs_examined,
            "results_returned": self.results_returned,
            "execution_time_ms": round((time.perf_counter() - self.started) * 1000, 3),
        }


def encode_bookmark(key: Any, doc_id: str) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([key, doc_id])).decode().rstrip("=")


def decode_bookmark(bookmark: str) -> tuple[Any, str]:
    """``(key, doc_id)``; raises 400 ``invalid_bookmark`` "Invalid bookmark value: <json>"."""
    try:
        raw = base64.urlsafe_b64decode(bookmark + "=" * (-len(bookmark) % 4))
        value = orjson.loads(raw)
        if isinstance(value, list) and len(value) == 2 and isinstance(value[1], str):
            return value[0], value[1]
    except (binascii.Error, ValueError):
        pass
    raise CouchError(f"Invalid bookmark value: {orjson.dumps(bookmark).decode()}", status=400,
                     error="invalid_bookmark")


def key_bounds(plan: Plan) -> tuple[view_store.Bound, view_store.Bound]:
    """Byte bounds of a json index range over array keys. An array sort key is ``0x40``, the
    element keys, then ``0x00`` (:mod:`couchsync.core.collate`), and every element key starts with
    a byte below ``0xFF``; so after the ``$eq`` columns' prefix ``P``: ``$gte v`` → ``>= P+k(v)``,
    ``$gt v`` → ``> P+k(v)+0xFF``, ``$lte v`` → ``<= P+k(v)+0xFF``, ``$lt v`` → ``< P+k(v)``, and an
    open end → ``P`` / ``P+0xFF``. Tighter than CouchDB's start/end keys (shown by ``_explain``),
    which post-filtering makes equivalent."""
    prefix = b"\x40"
    for r in plan.ranges:
        if r.lcmp == "$eq":
            prefix += sort_key(r.low)
            continue
        if r.low is MIN:
            low = view_store.Bound(prefix)
        elif r.lcmp == "$gt":
            low = view_store.Bound(prefix + sort_key(r.low) + b"\xff", inclusive=False)
        else:
            low = view_store.Bound(prefix + sort_key(r.low))
        if r.high is MAX:
            high = view_store.Bound(prefix + b"\xff")
        elif r.hcmp == "$lt":
            high = view_store.Bound(prefix + sort_key(r.high), inclusive=False)
        else:
            high = view_store.Bound(prefix + sort_key(r.high) + b"\xff")
        return low, high
    return view_store.Bound(prefix), view_store.Bound(prefix + b"\xff")


Updater = Callable[[], Awaitable[Any]]

#: a scanned row: ``(doc_id, index key, winning rev, leaves JSON, body JSON, atts JSON | None)``
Row = tuple[str, Any, str, bytes, bytes, bytes | None]


async def execute(db: Database, plan: Plan, req: FindRequest, *, partitions: frozenset[str] | None,
                  update: Updater | None) -> dict[str, Any]:
    """Runs ``plan`` for ``req``; returns ``{"docs", "bookmark", "execution_stats"?, "warning"?}``.

    ``partitions``: the staff user's readable partitions (``None``: everything); ``update`` brings
    the json index up to date (called unless ``update: false``)."""
    index = plan.index
    if index is None:
        raise plan.error or CouchError("no usable index", status=400, error="no_usable_index")
    stats = Stats()
    docs: list[Any] = []
    last: tuple[Any, str] | None = None
    after = decode_bookmark(req.bookmark) if req.bookmark else None
    covering = covers(index, req.fields, req.selector.tree) and not req.conflicts
    paths = [parse_field(c) for c in index.columns]
    if not plan.empty:
        if not index.special and req.update and update is not None:
            await update()
        skip, limit = req.skip, req.limit
        page = min(max(skip + limit, PAGE_MIN), PAGE_MAX)
        while limit > 0:
            if index.special:
                rows = await _scan_all_docs(db, plan, req, partitions, after, page)
            else:
                rows = await _scan_index(db, plan, index, req, partitions, after, page, bodies=not covering)
            for doc_id, key, rev, leaves, body_json, atts in rows:
                stats.total_keys_examined += 1
                if covering:
                    body = _derived_doc(doc_id, paths, key)
                else:
                    stats.total_docs_examined += 1
                    body = orjson.loads(_render(doc_id, rev, leaves, body_json, atts, req.conflicts))
                if not req.selector.matches(body):
                    continue
                last = (key, doc_id)
                if skip:
                    skip -= 1
                    continue
                docs.append(project(body, req.fields) if req.fields else body)
                stats.results_returned += 1
                limit -= 1
                if not limit:
                    break
            if len(rows) < page:
                break
            after = rows[-1][1], rows[-1][0]
            page = min(page * 2, PAGE_MAX)
    out: dict[str, Any] = {"docs": docs}
    out["bookmark"] = encode_bookmark(*last) if last is not None else (req.bookmark or "nil")
    if req.execution_stats:
        out["execution_stats"] = stats.to_json()
    warnings = list(plan.warnings)
    if index.special:
        warnings.append(NO_INDEX_WARNING)
    ratio = stats.total_docs_examined / (stats.results_returned or 1)  # mango_cursor:index_scan_warning
    if ratio > SCAN_RATIO:
        warnings.append(SCAN_WARNING)
    if warnings:
        out["warning"] = "\n".join(warnings)
    return out


def _derived_doc(doc_id: str, paths: list[tuple[str, ...]], key: list[Any]) -> dict[str, Any]:
    """A document rebuilt from a covering index row: ``_id`` and each column's value at its path."""
    doc: dict[str, Any] = {"_id": doc_id}
    for path, value in zip(paths, key, strict=True):
        doc = set_path(doc, path, value)
    return doc


def _render(doc_id: str, rev: str, leaves: bytes, body: bytes, atts: bytes | None, conflicts: bool) -> bytes:
    """The winning revision as the document API renders it (attachment stubs; ``_conflicts``)."""
    extras: list[tuple[str, Any]] = []
    found = live_conflicts(leaves) if conflicts else None
    if found:
        extras.append(("_conflicts", found))
    if atts:
        extras.append(("_attachments", {n: attachment_json(m) for n, m in orjson.loads(atts).items()}))
    return render_doc(doc_id, rev, False, body, extras)


_JOIN = ("JOIN docs d ON d.doc_id = v.doc_id AND d.deleted = 0 "
         "JOIN revs r ON r.doc_id = d.doc_id AND r.rev = d.winning_rev")


async def _scan_index(db: Database, plan: Plan, index: Index, req: FindRequest, partitions: frozenset[str] | None,
                      after: tuple[Any, str] | None, page: int, *, bodies: bool = True) -> list[Row]:
    """The next ``page`` index rows after ``after``, joined with their live winning revisions
    (one query per page; without ``bodies`` for a covering index)."""
    low, high = key_bounds(plan)
    if after is not None:
        edge = view_store.Bound(sort_key(after[0]), after[1], inclusive=False)
        if plan.descending:
            high = edge
        else:
            low = edge
    part = (req.partition or "") if index.partitioned else ""
    where, params = view_store.RangeQuery(index.signature, index.name, part, low, high).where("v.")
    if partitions is not None:
        where += f" AND d.partition IN ({','.join('?' * len(partitions))})"
        params += sorted(partitions)
    order = "DESC" if plan.descending else "ASC"
    cols, join = "d.winning_rev, d.leaves, r.body, r.atts", _JOIN
    if not bodies:
        cols, join = "NULL, NULL, NULL, NULL", "JOIN docs d ON d.doc_id = v.doc_id AND d.deleted = 0"
    rows = await db.read(
        f"SELECT v.doc_id, v.key, {cols} FROM view_rows v {join} "
        f"WHERE {where} ORDER BY v.key_sort {order}, v.doc_id {order} LIMIT ?", [*params, page])
    return [(d, orjson.loads(k), rev, lv, b, a) for d, k, rev, lv, b, a in rows]


async def _scan_all_docs(db: Database, plan: Plan, req: FindRequest, partitions: frozenset[str] | None,
                         after: tuple[Any, str] | None, page: int) -> list[Row]:
    """The next ``page`` live, non-design documents by id after ``after`` (key = doc id)."""
    clauses = ["NOT (d.doc_id >= '_design/' AND d.doc_id < '_design0')"]
    params: list[Any] = []
    if plan.ranges:
        r = plan.ranges[0]
        if isinstance(r.low, str):
            clauses.append("d.doc_id >= ?")
            params.append(r.low)
        if isinstance(r.high, str):
            clauses.append("d.doc_id <= ?")
            params.append(r.high)
    if req.partition is not None:
        clauses.append("d.partition = ?")
        params.append(req.partition)
    if partitions is not None:
        clauses.append(f"d.partition IN ({','.join('?' * len(partitions))})")
        params += sorted(partitions)
    if after is not None:
        clauses.append("d.doc_id < ?" if plan.descending else "d.doc_id > ?")
        params.append(after[1])
    order = "DESC" if plan.descending else "ASC"
    rows = await db.read(
        "SELECT d.doc_id, d.doc_id, d.winning_rev, d.leaves, r.body, r.atts FROM docs d "
        "JOIN revs r ON r.doc_id = d.doc_id AND r.rev = d.winning_rev "
        f"WHERE d.deleted = 0 AND {' AND '.join(clauses)} ORDER BY d.doc_id {order} LIMIT ?", [*params, page])
    return list(rows)
