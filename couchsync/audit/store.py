"""The audit log in the database's SQLite file: append inside a write, query, verify.

Entries are appended by the writers (:mod:`couchsync.storage.updater`, ``maintenance.purge``,
:mod:`couchsync.audit.erase`) on the writer connection inside their own ``BEGIN IMMEDIATE``
transaction, so an entry commits together with the revision it records or not at all. The head of
the chain (last ``seq``, its ``hash`` and ``ts``) is kept in ``meta["audit_head"]`` as ``[seq, hex,
ts]``, staged during the transaction (:meth:`Database.stage_meta`) and mirrored after the commit.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiosqlite
import orjson

from ..core.documents import partition_of
from ..storage.database import Database
from . import actor
from .chain import GENESIS, Broken, ChainVerifier, Entry, body_digest, seal
from .entries import now_ms

COLS = ("seq, ts, user, roles, address, op, doc_id, partition, rev, parent, deleted, digest, db_seq, info, "
        "prev, hash, salt, erased")
_INSERT = f"INSERT INTO audit({COLS}) VALUES ({','.join('?' * 18)})"
PAGE = 5000


def head(db: Database, *, committed: bool = False) -> tuple[int, bytes, int]:
    """``(seq, hash, ts)`` of the last entry: staged in the running write (inside a write), or the
    last committed one (``committed``: readers)."""
    raw = db.meta.get("audit_head") if committed else db.current_meta("audit_head")
    if not raw:
        return 0, GENESIS, 0
    seq, hex_hash, ts = raw
    return int(seq), bytes.fromhex(hex_hash), int(ts)


def new_entry(db: Database, op: str, doc_id: str | None = None, **fields: Any) -> Entry:
    """An unsealed entry by the current actor (``seq``/``ts``/hashes are set by :func:`append`)."""
    who = actor.current()
    part = partition_of(doc_id) if doc_id is not None and db.partitioned else None
    return Entry(0, 0, who.name, who.roles, who.address, op, doc_id, part, **fields)


#: an accepted revision for :func:`append_revisions`: ``(op, doc_id, rev, parent rev, deleted,
#: stored body JSON, stored attachment metadata JSON, db seq)``
Revision = tuple[str, str, str, str | None, bool, bytes, bytes | None, int | None]


async def append_revisions(db: Database, conn: aiosqlite.Connection, revisions: Sequence[Revision]) -> int:
    """The hot path of :func:`append` for a write batch: one entry per accepted revision, by the
    current actor, each with a fresh salt and the salted digest of the stored content. Computes
    exactly what :func:`append` would for the same entries, without building them (``_verify``
    recomputes every hash with :mod:`.chain`: the tests check both agree); returns the last seq."""
    if not revisions:
        return head(db)[0]
    who = actor.current()
    roles = list(who.roles)
    roles_json = orjson.dumps(roles).decode()
    partitioned = db.partitioned
    seq, prev, last_ts = head(db)
    ts = max(now_ms(), last_ts)
    raw_salts = os.urandom(16 * len(revisions))
    sha256 = hashlib.sha256
    dumps = orjson.dumps
    rows = []
    for i, (op, doc_id, rev, parent, deleted, body, atts, db_seq) in enumerate(revisions):
        seq += 1
        salt = raw_salts[16 * i:16 * i + 16]
        digest = sha256(salt + (b"\x01" if deleted else b"\x00") + body + b"\x00" + (atts or b"")).digest()
        part = partition_of(doc_id) if partitioned else None
        h = sha256(prev)
        h.update(dumps([seq, ts, who.name, roles, who.address, op, doc_id, part, rev, parent, deleted, digest.hex(),
                        db_seq, None]))
        hashed = h.digest()
        rows.append((seq, ts, who.name, roles_json, who.address, op, doc_id, part, rev, parent, int(deleted), digest,
                     db_seq, None, prev, hashed, salt, None))
        prev = hashed
    await conn.executemany(_INSERT, rows)
    db.stage_meta("audit_head", [seq, prev.hex(), ts])
    return seq


async def append(db: Database, conn: aiosqlite.Connection, entries: Sequence[Entry]) -> int:
    """Seals ``entries`` onto the chain (consecutive seqs, one ``ts`` — never earlier than the
    head's — and the hash links) and inserts them; returns the last seq. Must run inside
    :meth:`Database.write`."""
    if not entries:
        return head(db)[0]
    seq, prev, last_ts = head(db)
    ts = max(now_ms(), last_ts)
    rows = []
    for e in entries:
        seq += 1
        e.seq, e.ts = seq, ts
        seal(e, prev)
        prev = e.hash
        rows.append((e.seq, e.ts, e.user, orjson.dumps(list(e.roles)).decode(), e.address, e.op, e.doc_id,
                     e.partition, e.rev, e.parent, int(e.deleted), e.digest, e.db_seq,
                     orjson.dumps(e.info, option=orjson.OPT_SORT_KEYS).decode() if e.info is not None else None,
                     e.prev, e.hash, e.salt, e.erased))
    await conn.executemany(_INSERT, rows)
    db.stage_meta("audit_head", [seq, prev.hex(), ts])
    return seq


def from_row(r: Sequence[Any]) -> Entry:
    """An entry from its row; raises ``ValueError`` for a row no writer produced (tampering)."""
    try:
        return Entry(r[0], r[1], r[2], tuple(orjson.loads(r[3])), r[4], r[5], r[6], r[7], r[8], r[9], bool(r[10]),
                     _blob(r[11]) if r[11] is not None else None, r[12], orjson.loads(r[13]) if r[13] else None,
                     _blob(r[14]), _blob(r[15]), _blob(r[16]) if r[16] is not None else None, r[17])
    except (TypeError, orjson.JSONDecodeError) as e:
        raise ValueError(f"malformed audit entry {r[0]!r}") from e


def _blob(value: Any) -> bytes:
    """A BLOB column (a TEXT value written by hand is taken as its UTF-8 bytes)."""
    return value.encode() if isinstance(value, str) else bytes(value)


# -- queries -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Query:
    """A page of ``GET /{db}/_audit``: newest first, ``seq < before``, at most ``limit`` entries.

    ``since``/``until`` are UTC ms (``since <= ts < until``); ``partitions`` restricts staff to the
    entries of their hospitals' documents (``None``: everything).
    """

    doc_id: str | None = None
    since: int | None = None
    until: int | None = None
    user: str | None = None
    op: str | None = None
    before: int | None = None
    limit: int = 100
    partitions: frozenset[str] | None = None

    def where(self) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        for clause, value in (("doc_id = ?", self.doc_id), ("ts >= ?", self.since), ("ts < ?", self.until),
                              ("user = ?", self.user), ("op = ?", self.op), ("seq < ?", self.before)):
            if value is not None:
                clauses.append(clause)
                params.append(value)
        if self.partitions is not None:
            parts = sorted(self.partitions)
            clauses.append(f"partition IN ({','.join('?' * len(parts))})")
            params += parts
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


async def page(db: Database, q: Query) -> list[Entry]:
    """Entries matching ``q``, newest first."""
    where, params = q.where()
    rows = await db.read(f"SELECT {COLS} FROM audit{where} ORDER BY seq DESC LIMIT ?", [*params, q.limit])
    return [from_row(r) for r in rows]


async def doc_entries(db: Database, doc_id: str, until: int | None = None) -> list[Entry]:
    """Every entry of ``doc_id`` (with ``ts <= until`` when given), oldest first."""
    sql = f"SELECT {COLS} FROM audit WHERE doc_id = ?" + (" AND ts <= ?" if until is not None else "")
    rows = await db.read(sql + " ORDER BY seq", (doc_id,) if until is None else (doc_id, until))
    return [from_row(r) for r in rows]


async def entry(db: Database, seq: int) -> Entry | None:
    """The entry ``seq``, if present."""
    rows = await db.read(f"SELECT {COLS} FROM audit WHERE seq = ?", (seq,))
    return from_row(rows[0]) if rows else None


async def erasure_of(db: Database, doc_id: str) -> int | None:
    """The seq of the ``erase`` entry that last erased ``doc_id``, if any."""
    rows = await db.read("SELECT audit_seq FROM erased WHERE doc_id = ?", (doc_id,))
    return int(rows[0][0]) if rows else None


@dataclass(slots=True)
class StoredRev:
    """A revision body kept in ``revs`` (live or history-only)."""

    deleted: bool
    body: bytes
    atts: dict[str, dict[str, Any]] | None


async def stored_revs(db: Database, doc_id: str, revs: Sequence[str]) -> dict[str, StoredRev]:
    """The bodies of ``revs`` of ``doc_id`` still stored, history-only ones included (the CouchDB
    read paths use :meth:`Database.get_revs`, which skips those)."""
    out: dict[str, StoredRev] = {}
    uniq = list(dict.fromkeys(revs))
    for i in range(0, len(uniq), 500):
        chunk = uniq[i:i + 500]
        rows = await db.read("SELECT rev, deleted, body, atts FROM revs WHERE doc_id = ? AND rev IN ("
                             + ",".join("?" * len(chunk)) + ")", [doc_id, *chunk])
        for rev, deleted, body, atts in rows:
            out[rev] = StoredRev(bool(deleted), bytes(body), orjson.loads(atts) if atts else None)
    return out


# -- verification --------------------------------------------------------------------------------


@dataclass(slots=True)
class Verification:
    """``GET /{db}/_audit/_verify``: ``broken`` is the first broken link, or ``None``."""

    entries: int
    head_seq: int
    head_hash: bytes
    bodies_checked: int
    broken: Broken | None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": self.broken is None, "entries": self.entries,
                               "head": {"seq": self.head_seq, "hash": self.head_hash.hex()},
                               "bodies_checked": self.bodies_checked}
        if self.broken is not None:
            out["broken"] = self.broken.to_json()
        return out


async def verify(db: Database, *, bodies: bool = True) -> Verification:
    """Walks the chain from the first entry to the head recorded when verification starts, then
    (``bodies``) checks every stored revision body against the digest of the entry that wrote it
    (the earliest entry of that rev whose salt is still kept). Reads in pages; never blocks writers.
    """
    head_seq, head_hash, _ = head(db, committed=True)
    v = ChainVerifier()
    last = 0
    while v.broken is None:
        rows = await db.read(f"SELECT {COLS} FROM audit WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
                             (last, head_seq, PAGE))
        if not rows:
            break
        for r in rows:
            try:
                v.feed(from_row(r))
            except ValueError:
                v.broken = Broken(r[0], "hash mismatch", f"entry {r[0]} is malformed")
                break
        last = rows[-1][0]
    broken = v.finish(head_seq, head_hash if head_seq else None)
    checked = 0
    last = 0
    while bodies and broken is None:
        rows = await db.read(
            "SELECT a.seq, a.salt, a.digest, r.deleted, r.body, r.atts FROM audit a "
            "JOIN revs r ON r.doc_id = a.doc_id AND r.rev = a.rev "
            "WHERE a.seq > ? AND a.seq <= ? AND a.salt IS NOT NULL AND a.digest IS NOT NULL "
            "AND NOT EXISTS (SELECT 1 FROM audit b WHERE b.doc_id = a.doc_id AND b.rev = a.rev "
            "AND b.salt IS NOT NULL AND b.seq < a.seq) ORDER BY a.seq LIMIT ?", (last, head_seq, PAGE))
        if not rows:
            break
        for seq, salt, digest, deleted, body, atts in rows:
            checked += 1
            if body_digest(_blob(salt), bool(deleted), _blob(body), _blob(atts) if atts else None) != _blob(digest):
                broken = Broken(seq, "body digest mismatch",
                                f"the stored body of the revision audited by entry {seq} was altered")
                break
        last = rows[-1][0]
    return Verification(v.count, head_seq, head_hash, checked, broken)
