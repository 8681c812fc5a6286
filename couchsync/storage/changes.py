"""The changes fold: documents in seq order, each once at its latest seq.

``docs.seq`` is unique and indexed, so a page of ``_changes`` is one indexed range scan, joined to
the winning revision's body when documents are included.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from .database import Database
from .updater import DESIGN_PARTITION


@dataclass(slots=True)
class ChangeRow:
    """One changed document: ``leaves`` is ``[(rev, deleted)]`` winner first."""

    seq: int
    doc_id: str
    winning_rev: str
    deleted: bool
    leaves_json: bytes
    body: bytes | None
    atts: dict[str, dict[str, Any]] | None

    @property
    def leaves(self) -> list[tuple[str, bool]]:
        return [(r, bool(d)) for r, d in orjson.loads(self.leaves_json)]


async def changes_page(db: Database, since: int, limit: int, *, descending: bool = False,
                       with_bodies: bool = False, doc_ids: list[str] | None = None,
                       design_only: bool = False, partitions: frozenset[str] | None = None) -> list[ChangeRow]:
    """Up to ``limit`` rows with ``seq > since`` (``seq < since`` when ``descending``), in seq order.

    ``doc_ids`` restricts to those ids (``_doc_ids`` filter); ``design_only`` to ``_design/`` docs.
    ``with_bodies`` joins the winning revision's body and attachment metadata.
    """
    cols = "d.seq, d.doc_id, d.winning_rev, d.deleted, d.leaves"
    join = ""
    if with_bodies:
        cols += ", r.body, r.atts"
        join = " LEFT JOIN revs r ON r.doc_id = d.doc_id AND r.rev = d.winning_rev"
    where = ["d.seq < ?" if descending else "d.seq > ?"]
    params: list[Any] = [since]
    if doc_ids is not None:
        where.append("d.doc_id IN (SELECT value FROM json_each(?))")
        params.append(orjson.dumps(doc_ids).decode())
    if design_only:
        where.append("d.doc_id >= '_design/' AND d.doc_id < '_design0'")
    order = "DESC" if descending else "ASC"
    if partitions is None:
        sql = f"SELECT {cols} FROM docs d{join} WHERE {' AND '.join(where)} ORDER BY d.seq {order} LIMIT ?"
    else:
        # staff: one index range scan on docs(partition, seq) per partition (design docs included),
        # merged in seq order by a compound SELECT — no sort of whole rows (an `IN` list would need one)
        parts = sorted(partitions | {DESIGN_PARTITION})
        arm = f"SELECT {cols} FROM docs d{join} WHERE {' AND '.join(where)} AND d.partition = ?"
        sql = " UNION ALL ".join([arm] * len(parts)) + f" ORDER BY 1 {order} LIMIT ?"
        params = [x for p in parts for x in (*params, p)]
    params.append(limit)
    rows = await db.read(sql, params)
    out = []
    for r in rows:
        body = r[5] if with_bodies else None
        atts = orjson.loads(r[6]) if with_bodies and r[6] else None
        out.append(ChangeRow(r[0], r[1], r[2], bool(r[3]), r[4], body, atts))
    return out


async def extract_page(db: Database, since: int, limit: int, paths: list[str | None]) -> list[tuple[Any, ...]]:
    """Up to ``limit`` changed documents after ``since`` in seq order, as ``(seq, doc_id, deleted,
    value…)`` where each value is the winning body's member at a SQLite JSON path (``$."a"."b"``)
    as JSON text, or ``NULL`` when absent (``None`` in ``paths``: the doc id). Lets an index whose
    keys are plain fields skip decoding whole documents (Mango json indexes)."""
    cols = ", ".join("d.doc_id" if p is None else "r.body -> ?" for p in paths)
    params: list[Any] = [p for p in paths if p is not None]
    sql = (f"SELECT d.seq, d.doc_id, d.deleted, {cols} FROM docs d LEFT JOIN revs r ON r.doc_id = d.doc_id "
           f"AND r.rev = d.winning_rev AND d.deleted = 0 WHERE d.seq > ? ORDER BY d.seq LIMIT ?")
    return list(await db.read(sql, [*params, since, limit]))


async def pending_after(db: Database, seq: int, partitions: frozenset[str] | None = None) -> int:
    """Number of documents changed after ``seq`` (``pending`` in ``_changes``), within ``partitions``."""
    if partitions is None:
        rows = await db.read("SELECT count(*) FROM docs WHERE seq > ?", (seq,))
    else:
        parts = sorted(partitions | {DESIGN_PARTITION})
        rows = await db.read(f"SELECT count(*) FROM docs WHERE seq > ? AND partition IN ({','.join('?' * len(parts))})",
                             (seq, *parts))
    return int(rows[0][0])
