"""History retention: how long bodies of superseded revisions are kept (default: forever).

A database's retention is ``meta["audit_retention"]``: ``None`` (keep forever) or a number of
seconds, set with ``PUT /{db}/_audit/_retention`` (which is itself audited, op ``retention``).
Compaction ends with :func:`expire`: a history body (``revs.history_only``) is removed once the
revision was superseded longer ago than the retention — superseded when its first child revision
was written, or when a purge took it out of the tree (failing both, when the next entry of its
document was written; a body from before the audit trail existed has no date and expires). Only
bodies go: audit entries stay, their salts dropped with the body (as an erasure does). The current
revisions (leaves) are never history, so they are never expired.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import aiosqlite
import orjson

from ..storage.database import Database
from . import actor
from . import store as audit_store
from .chain import PURGE, RETENTION
from .entries import now_ms

META_KEY = "audit_retention"
PAGE = 500


def max_age(db: Database) -> int | None:
    """The retention in seconds, or ``None`` (forever)."""
    value = db.meta.get(META_KEY)
    return int(value) if value is not None else None


async def set_max_age(db: Database, seconds: int | None) -> None:
    """Stores the retention (and, with the audit on, a ``retention`` entry) in one transaction."""

    async def fn(conn: aiosqlite.Connection) -> None:
        if actor.enabled():
            await audit_store.append(db, conn, [audit_store.new_entry(db, RETENTION,
                                                                      info={"max_age_seconds": seconds})])
        db.stage_meta(META_KEY, seconds)

    await db.write(fn)


async def expire(db: Database, now: int | None = None) -> int:
    """Removes history bodies older than the retention (a pass of compaction, in transactions of
    :data:`PAGE` bodies); returns how many. A no-op when the retention is forever."""
    seconds = max_age(db)
    if seconds is None:
        return 0
    cutoff = (now_ms() if now is None else now) - seconds * 1000
    last: tuple[str, str] = ("", "")
    removed = 0
    while True:
        rows = await db.read("SELECT doc_id, rev FROM revs WHERE history_only = 1 AND (doc_id, rev) > (?, ?) "
                             "ORDER BY doc_id, rev LIMIT ?", (*last, PAGE))
        if not rows:
            return removed
        last = (rows[-1][0], rows[-1][1])
        removed += await db.write(partial(_expire_page, rows=rows, cutoff=cutoff))


async def _expire_page(conn: aiosqlite.Connection, *, rows: Sequence[Any], cutoff: int) -> int:
    ids = sorted({r[0] for r in rows})
    async with conn.execute(
            f"SELECT doc_id, ts, op, rev, parent, info FROM audit WHERE doc_id IN ({','.join('?' * len(ids))}) "
            "ORDER BY seq", ids) as cur:
        entries = list(await cur.fetchall())
    when = superseded_at(entries)
    removed = 0
    for doc_id, rev in rows:
        if when.get((doc_id, rev), 0) >= cutoff:
            continue
        cur = await conn.execute("DELETE FROM revs WHERE doc_id = ? AND rev = ? AND history_only = 1", (doc_id, rev))
        if cur.rowcount:
            removed += 1
            await conn.execute("UPDATE audit SET salt = NULL WHERE doc_id = ? AND rev = ?", (doc_id, rev))
    return removed


def superseded_at(entries: Sequence[Any]) -> dict[tuple[str, str], int]:
    """``{(doc_id, rev): ts}`` when each revision stopped being current, from audit rows ``(doc_id,
    ts, op, rev, parent, info)`` in seq order (module docstring). Pure."""
    out: dict[tuple[str, str], int] = {}
    written: dict[tuple[str, str], int] = {}  # rev → index of its last own entry
    for i, (doc_id, ts, op, rev, parent, info) in enumerate(entries):
        if parent is not None:
            out.setdefault((doc_id, parent), ts)
        if op == PURGE and info:
            for r in orjson.loads(info).get("removed", []):
                out.setdefault((doc_id, r), ts)
        if rev is not None:
            written[(doc_id, rev)] = i
    for key, i in written.items():
        if key not in out:
            later = next((e[1] for e in entries[i + 1:] if e[0] == key[0]), None)
            if later is not None:
                out[key] = later
    return out
