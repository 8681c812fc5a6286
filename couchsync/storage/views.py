"""View index rows in the database's SQLite file.

One ``view_indexes`` row per design-doc signature holds the seq the index is up to date with;
``view_rows`` holds ``(view, part, key_sort, doc_id, n) → key, value`` where ``key_sort`` is
:func:`couchsync.core.collate.sort_key` of the emitted key, so an index range scan returns rows in
CouchDB view order (key collation, then doc id by raw bytes, then emit order). ``part`` is the
row's partition for partitioned design docs and ``''`` for global ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiosqlite

from .database import Database

Row = tuple[str, bytes, bytes, str, int, bytes, bytes]  # view, part, key_sort, doc_id, n, key, value


async def index_seq(db: Database, sig: str) -> int | None:
    """The seq the index ``sig`` is up to date with, or ``None`` if it does not exist."""
    rows = await db.read("SELECT seq FROM view_indexes WHERE sig = ?", (sig,))
    return int(rows[0][0]) if rows else None


async def apply_batch(db: Database, sig: str, ddoc_id: str, stale_doc_ids: Sequence[str],
                      rows: Sequence[tuple[Any, ...]], seq: int) -> None:
    """In one transaction: drop the rows of ``stale_doc_ids`` (via the back-index), insert ``rows``
    ``(view, part, key_sort, doc_id, n, key, value)`` and record that the index is at ``seq``."""

    async def fn(conn: aiosqlite.Connection) -> None:
        if stale_doc_ids:
            await conn.executemany("DELETE FROM view_rows WHERE sig = ? AND doc_id = ?",
                                   [(sig, d) for d in stale_doc_ids])
        if rows:
            await conn.executemany(
                "INSERT OR REPLACE INTO view_rows(sig, view, part, key_sort, doc_id, n, key, value) "
                "VALUES (?,?,?,?,?,?,?,?)", [(sig, *r) for r in rows])
        await conn.execute(
            "INSERT INTO view_indexes(sig, ddoc_id, seq) VALUES (?,?,?) "
            "ON CONFLICT(sig) DO UPDATE SET seq = excluded.seq, ddoc_id = excluded.ddoc_id", (sig, ddoc_id, seq))

    await db.write(fn)


async def drop_indexes(db: Database, keep: set[str]) -> list[str]:
    """Deletes every index whose signature is not in ``keep`` (``_view_cleanup``); returns them."""
    rows = await db.read("SELECT sig FROM view_indexes")
    stale = [r[0] for r in rows if r[0] not in keep]

    async def fn(conn: aiosqlite.Connection) -> None:
        for sig in stale:
            await conn.execute("DELETE FROM view_rows WHERE sig = ?", (sig,))
            await conn.execute("DELETE FROM view_indexes WHERE sig = ?", (sig,))

    if stale:
        await db.write(fn)
    return stale


@dataclass(frozen=True, slots=True)
class Bound:
    """One end of a key range: ``key_sort``, optional ``doc_id`` tie-breaker, inclusive or not."""

    key_sort: bytes
    doc_id: str | None = None
    inclusive: bool = True


@dataclass(frozen=True, slots=True)
class RangeQuery:
    """Rows of ``view`` in partition ``part`` between ``low`` and ``high`` (in ascending order)."""

    sig: str
    view: str
    part: str = ""
    low: Bound | None = None
    high: Bound | None = None
    descending: bool = False
    limit: int | None = None
    skip: int = 0
    partitions: frozenset[str] | None = None  # staff on a global view: only rows of these doc partitions

    def where(self, alias: str = "") -> tuple[str, list[Any]]:
        """The SQL condition and its parameters; ``alias`` (``"v."``) qualifies the columns of
        ``view_rows`` when the query joins other tables."""
        a = alias
        clauses = [f"{a}sig = ?", f"{a}view = ?", f"{a}part = ?"]
        params: list[Any] = [self.sig, self.view, self.part]
        for bound, op in ((self.low, ">"), (self.high, "<")):
            if bound is None:
                continue
            cmp = op + ("=" if bound.inclusive else "")
            if bound.doc_id is None:
                clauses.append(f"{a}key_sort {cmp} ?")
                params.append(bound.key_sort)
            else:
                clauses.append(f"({a}key_sort, {a}doc_id) {cmp} (?, ?)")
                params += [bound.key_sort, bound.doc_id]
        if self.partitions is not None:
            parts = sorted(self.partitions)
            clauses.append(f"substr({a}doc_id, 1, instr({a}doc_id, ':') - 1) IN ({','.join('?' * len(parts))})")
            params += parts
        return " AND ".join(clauses), params


async def range_rows(db: Database, q: RangeQuery) -> list[tuple[str, bytes, bytes]]:
    """``[(doc_id, key json, value json)]`` in view order (reversed when ``descending``)."""
    where, params = q.where()
    order = "DESC" if q.descending else "ASC"
    sql = (f"SELECT doc_id, key, value FROM view_rows WHERE {where} "
           f"ORDER BY key_sort {order}, doc_id {order}, n {order} LIMIT ? OFFSET ?")
    return await db.read(sql, [*params, -1 if q.limit is None else q.limit, q.skip])


async def count_rows(db: Database, q: RangeQuery) -> int:
    where, params = q.where()
    rows = await db.read(f"SELECT count(*) FROM view_rows WHERE {where}", params)
    return int(rows[0][0])


async def count_before(db: Database, q: RangeQuery) -> int:
    """Rows that precede the range in the query's direction (``offset`` in a map response)."""
    edge = q.high if q.descending else q.low
    if edge is None:
        return 0
    flipped = Bound(edge.key_sort, edge.doc_id, not edge.inclusive)
    before = RangeQuery(q.sig, q.view, q.part, low=flipped if q.descending else None,
                        high=None if q.descending else flipped, partitions=q.partitions)
    return await count_rows(db, before)


async def rows_for_keys(db: Database, q: RangeQuery, key_sorts: list[bytes]) -> dict[bytes, list[Any]]:
    """Rows of every key in ``key_sorts`` with few queries (``keys=[…]``): ``{key_sort: [(doc_id,
    key json, value json)]}``, each list in view order."""
    where, params = q.where()
    uniq = list(dict.fromkeys(key_sorts))
    out: dict[bytes, list[Any]] = {}
    for i in range(0, len(uniq), 500):
        chunk = uniq[i:i + 500]
        rows = await db.read(
            f"SELECT key_sort, doc_id, key, value FROM view_rows WHERE {where} AND key_sort IN "
            f"({','.join('?' * len(chunk))}) ORDER BY key_sort, doc_id, n", [*params, *chunk])
        for ks, doc_id, key, value in rows:
            out.setdefault(bytes(ks), []).append((doc_id, key, value))
    return out
