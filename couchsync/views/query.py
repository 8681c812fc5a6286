"""Answer a view query from the index rows: ranges, keys, include_docs, grouping and reduce.

Map response ``{"total_rows","offset","rows":[{"id","key","value","doc"?}],"update_seq"?}``;
reduce response ``{"rows":[{"key","value"}]}``. Sources: CouchDB ``couch_mrview.erl`` (``map_fold``,
``red_fold``), ``couch_mrview_http.erl`` (``row_to_json``); reference §4.5.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from ..core.collate import sort_key
from ..storage import views as view_store
from ..storage.database import Database
from ..storage.reader import Found, ReadOptions, open_docs
from ..storage.views import Bound, RangeQuery
from .args import ViewArgs

#: ``reducer(kvs [(key, doc_id, value)]) -> value`` (it may reduce in chunks and rereduce them)
Reducer = Callable[[list[tuple[Any, str, Any]]], Awaitable[Any]]


def ranges(
    sig: str, view: str, part: str, a: ViewArgs, partitions: frozenset[str] | None
) -> list[RangeQuery]:
    """The index range scans answering ``a`` (one per key for ``keys``)."""
    if a.keys is not None:
        return [
            RangeQuery(
                sig, view, part, Bound(sort_key(k)), Bound(sort_key(k)), a.descending, partitions=partitions
            )
            for k in a.keys
        ]
    start = Bound(sort_key(a.start), a.start_docid, True) if a.has_start else None
    end = Bound(sort_key(a.end), a.end_docid, a.inclusive_end) if a.has_end else None
    low, high = (end, start) if a.descending else (start, end)
    return [RangeQuery(sig, view, part, low, high, a.descending, partitions=partitions)]


async def map_query(
    db: Database, sig: str, view: str, part: str, a: ViewArgs, partitions: frozenset[str] | None
) -> dict[str, Any]:
    qs = ranges(sig, view, part, a, partitions)
    total = await _total(db, sig, view, part, partitions)
    rows: list[tuple[str, bytes, bytes]] = []
    if a.keys is None:
        q = qs[0]
        rows = await view_store.range_rows(
            db, RangeQuery(q.sig, q.view, q.part, q.low, q.high, q.descending, a.limit, a.skip, partitions)
        )
        offset = min(total, await view_store.count_before(db, q) + a.skip)
    else:
        sorts = [q.low.key_sort for q in qs if q.low is not None]
        found = await view_store.rows_for_keys(db, RangeQuery(sig, view, part, partitions=partitions), sorts)
        for ks in sorts:  # request order, duplicates repeated
            rows += found.get(ks, [])[:: -1 if a.descending else 1]
        rows = rows[a.skip :] if a.limit is None else rows[a.skip : a.skip + a.limit]
        offset = None
    out_rows: list[dict[str, Any]] = [
        {"id": d, "key": orjson.Fragment(k), "value": orjson.Fragment(v)} for d, k, v in rows
    ]
    if a.include_docs:
        await _include_docs(db, out_rows, rows, a)
    result: dict[str, Any] = {"total_rows": total, "offset": offset, "rows": out_rows}
    if a.update_seq:  # the index's seq (CouchDB ``make_meta``: the view's update_seq)
        result["update_seq"] = db.format_seq(await view_store.index_seq(db, sig) or 0)
    return result


_totals: dict[tuple[Any, ...], tuple[int, int]] = {}


async def _total(db: Database, sig: str, view: str, part: str, partitions: frozenset[str] | None) -> int:
    """``total_rows``: counted once per index seq (a count over the view is a scan of its rows)."""
    seq = await view_store.index_seq(db, sig) or 0
    key = (db.path, db.instance_id, sig, view, part, partitions)
    cached = _totals.get(key)
    if cached is not None and cached[0] == seq:
        return cached[1]
    total = await view_store.count_rows(db, RangeQuery(sig, view, part, partitions=partitions))
    if len(_totals) > 10_000:
        _totals.clear()
    _totals[key] = (seq, total)
    return total


async def _include_docs(
    db: Database, out_rows: list[dict[str, Any]], rows: list[tuple[str, bytes, bytes]], a: ViewArgs
) -> None:
    """``doc`` per row: the emitting doc, or the one named by an emitted ``{"_id", "_rev"?}`` value."""
    wanted: list[tuple[str, Any]] = []
    for doc_id, _, value in rows:
        v = orjson.loads(value) if value.startswith(b"{") else None
        if isinstance(v, dict) and isinstance(v.get("_id"), str):
            wanted.append((v["_id"], [v["_rev"]] if isinstance(v.get("_rev"), str) else None))
        else:
            wanted.append((doc_id, None))
    found = await open_docs(db, wanted, ReadOptions(conflicts=a.conflicts, attachments=a.attachments))
    for row, res in zip(out_rows, found, strict=True):
        r = res[0] if res else None
        row["doc"] = orjson.Fragment(r.json) if isinstance(r, Found) and not r.deleted else None


async def reduce_query(
    db: Database,
    sig: str,
    view: str,
    part: str,
    a: ViewArgs,
    partitions: frozenset[str] | None,
    reduce_fn: Reducer,
) -> dict[str, Any]:
    """Groups the rows of the range(s) (``group_level`` -1 = exact keys, None = one group) and
    reduces each group; ``skip``/``limit`` apply to the groups."""
    groups: list[tuple[Any, list[tuple[Any, str, Any]]]] = []
    last_gk: bytes | None = None
    for q in ranges(sig, view, part, a, partitions):
        for doc_id, k, v in await view_store.range_rows(db, q):
            key = orjson.loads(k)
            if a.group_level is None:
                gkey, gsort = None, b""
            else:
                gkey = key[: a.group_level] if a.group_level >= 0 and isinstance(key, list) else key
                gsort = sort_key(gkey)
            if not groups or gsort != last_gk:
                groups.append((gkey, []))
                last_gk = gsort
            groups[-1][1].append((key, doc_id, orjson.loads(v)))
    if a.group_level is None:
        value = await reduce_fn(groups[0][1]) if groups else None
        rows = [{"key": None, "value": value}] if groups else []
    else:
        rows = [{"key": gkey, "value": await reduce_fn(kvs)} for gkey, kvs in groups]
    rows = rows[a.skip :] if a.limit is None else rows[a.skip : a.skip + a.limit]
    result: dict[str, Any] = {"rows": rows}
    if a.update_seq:  # the index's seq (CouchDB ``make_meta``: the view's update_seq)
        result["update_seq"] = db.format_seq(await view_store.index_seq(db, sig) or 0)
    return result
