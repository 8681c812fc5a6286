"""Erasure (GDPR right to erasure): remove a document's content for good, keep the proof.

``POST /{db}/_erase {"doc_ids": [...], "reason": "..."}`` runs :func:`erase`: in one transaction,

1. one ``erase`` audit entry records who, when, which ids and why (written even with the audit
   off: it is the proof the endpoint exists for);
2. every stored body of those documents goes — leaves, compacted and stemmed history, purged
   revisions — with their attachment blobs (those no other revision references) and every view and
   Mango index row of theirs (all signatures of ``view_rows``);
3. their audit entries lose their salts and are marked ``erased``: the chain still verifies, but the
   digests can no longer be matched against guessed content;
4. the rev tree keeps only revision ids (every node becomes *missing*), and each leaf gets a child
   tombstone ``{"_deleted": true, "erased": true}`` (op ``tombstone``), so the document is deleted
   and a PouchDB client that replicates the change deletes its copy too.

The marker is ``erased``, not ``_erased``: PouchDB (``parseDoc``) and CouchDB reject unknown
underscore members, so a tombstone carrying ``_erased`` would fail to replicate. Deletes run with
SQLite ``secure_delete`` (freed content is zeroed) and the WAL, which still holds old page images,
is checkpointed and truncated after the commit (best effort: a busy reader postpones it).

An erased document may be written again later: it is then a new document (re-creation on the
tombstone) with a new history. The ``erased`` table lists erased ids. An index update that read the
document just before the erasure commits its rows just after it: the trigger :data:`VIEW_ROWS_GUARD`
drops them. The first erasure of a database creates it — a check per inserted view row costs
25–45 % of a row insert, which databases that never erased anything do not pay.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import aiosqlite
import orjson

from ..core import revtree
from ..core.documents import DocInput
from ..core.revs import new_revid
from ..storage.database import Database
from ..storage.updater import apply_docs
from . import store as audit_store
from .chain import ERASE, TOMBSTONE

log = logging.getLogger("couchsync.audit")

#: keeps view and Mango index rows of an erased (and not re-created) document out of ``view_rows``
VIEW_ROWS_GUARD = """CREATE TRIGGER IF NOT EXISTS view_rows_erased BEFORE INSERT ON view_rows
    WHEN EXISTS (SELECT 1 FROM erased WHERE doc_id = NEW.doc_id)
     AND EXISTS (SELECT 1 FROM docs WHERE doc_id = NEW.doc_id AND deleted = 1)
BEGIN SELECT RAISE(IGNORE); END"""

TOMBSTONE_BODY: dict[str, Any] = {"erased": True}
TOMBSTONE_JSON = orjson.dumps(TOMBSTONE_BODY)


@dataclass(slots=True)
class Erasure:
    """The outcome: ``seq`` of the ``erase`` entry (``None`` if nothing was found) and one result
    per requested id: ``{"id", "ok": true, "rev"?}`` (``rev``: the winning tombstone, absent for a
    document only history knew, e.g. purged) or ``{"id", "error": "not_found", "reason": "missing"}``."""

    seq: int | None
    results: list[dict[str, Any]]
    meta: dict[str, Any] = field(default_factory=dict)


async def erase(db: Database, doc_ids: list[str], reason: str) -> Erasure:
    """Erases ``doc_ids`` (module docstring). Ids unknown to the database — no document, no stored
    body, no audit entry — are reported ``not_found`` and recorded nowhere."""
    ids = list(dict.fromkeys(doc_ids))

    async def fn(conn: aiosqlite.Connection) -> Erasure:
        async with conn.execute("PRAGMA secure_delete") as cur:
            row = await cur.fetchone()
        before = int(row[0]) if row else 0
        await conn.execute("PRAGMA secure_delete = ON")
        try:
            return await _erase(db, conn, ids, reason)
        finally:
            await conn.execute(f"PRAGMA secure_delete = {before}")

    result = await db.write(fn, lambda r: r.meta)
    if result.seq is not None:
        try:
            await db.checkpoint("TRUNCATE")
        except Exception:  # the data is erased; only old WAL frames wait for the next checkpoint
            log.exception("WAL checkpoint after erasing in %s failed", db.name)
    return result


async def _fetch(conn: aiosqlite.Connection, sql: str, params: Any = ()) -> list[Any]:
    async with conn.execute(sql, params) as cur:
        return list(await cur.fetchall())


async def _known(conn: aiosqlite.Connection, ids: list[str]) -> set[str]:
    """Ids with any trace: a ``docs`` row, a stored body or an audit entry."""
    known: set[str] = set()
    for i in range(0, len(ids), 300):
        chunk = ids[i:i + 300]
        marks = ",".join("?" * len(chunk))
        for table in ("docs", "revs", "audit"):
            rows = await _fetch(conn, f"SELECT DISTINCT doc_id FROM {table} WHERE doc_id IN ({marks})", chunk)
            known.update(r[0] for r in rows)
    return known


async def _signatures(conn: aiosqlite.Connection) -> list[str]:
    """Every index signature with rows (views and Mango), by a skip-scan of ``view_rows_back``."""
    rows = await _fetch(conn, "WITH RECURSIVE s(sig) AS (SELECT min(sig) FROM view_rows UNION ALL "
                              "SELECT (SELECT min(sig) FROM view_rows WHERE sig > s.sig) FROM s WHERE s.sig IS NOT NULL) "
                              "SELECT sig FROM s WHERE sig IS NOT NULL")
    return [r[0] for r in rows]


async def _erase(db: Database, conn: aiosqlite.Connection, ids: list[str], reason: str) -> Erasure:
    known = await _known(conn, ids)
    found = [i for i in ids if i in known]
    if not found:
        return Erasure(None, [{"id": i, "error": "not_found", "reason": "missing"} for i in ids])
    seq = await audit_store.append(db, conn, [audit_store.new_entry(db, ERASE, info={"doc_ids": found,
                                                                                   "reason": reason})])
    docs = await db.get_doc_rows(found, conn)
    digests: set[str] = set()
    keep: dict[str, set[str]] = {}
    had: dict[str, set[str]] = {}  # revs with a stored body (purged revisions included)
    for doc_id in found:
        stored = await _fetch(conn, "SELECT rev, deleted, body, atts FROM revs WHERE doc_id = ?", (doc_id,))
        row = docs.get(doc_id)
        leaves = {n.rev for n in revtree.leaves(row.tree())} if row else set()
        # a leaf that already is an erasure tombstone stays (erasing twice writes nothing new)
        keep[doc_id] = {r for r, deleted, body, _ in stored if r in leaves and deleted and bytes(body) == TOMBSTONE_JSON}
        gone = [(doc_id, r) for r, *_ in stored if r not in keep[doc_id]]
        had[doc_id] = {r for r, _ in gone}
        digests.update(m["digest"] for r, _, _, atts in stored if atts and r not in keep[doc_id]
                       for m in orjson.loads(atts).values())
        await conn.executemany("DELETE FROM revs WHERE doc_id = ? AND rev = ?", gone)
    sigs = await _signatures(conn)
    await conn.executemany("DELETE FROM view_rows WHERE sig = ? AND doc_id = ?", [(s, d) for s in sigs for d in found])
    if digests:
        await _drop_blobs(conn, digests)
    await conn.executemany("UPDATE audit SET salt = NULL, erased = ? WHERE doc_id = ? AND seq < ?",
                           [(seq, d, seq) for d in found])
    tombstones: list[DocInput] = []
    erased_rows = []
    for doc_id in found:
        row = docs.get(doc_id)
        tree = row.tree() if row else {}
        for node in tree.values():
            node.available = node.rev in keep[doc_id]
        if row is not None:
            await conn.execute("UPDATE docs SET rev_tree = ? WHERE doc_id = ?",
                               (orjson.dumps(revtree.to_json(tree)), doc_id))
        tombs = []
        for leaf in revtree.leaves(tree) if tree else []:
            if leaf.rev in keep[doc_id]:
                continue
            revid = new_revid(True, leaf.rev, TOMBSTONE_BODY, [])
            tombs.append(f"{leaf.pos + 1}-{revid}")
            tombstones.append(DocInput(doc_id, tombs[-1], True, dict(TOMBSTONE_BODY),
                                       (leaf.pos + 1, [revid, leaf.revid])))
        erased_rows.append((doc_id, seq, sorted((set(tree) | had[doc_id]) - keep[doc_id]),
                            sorted(keep[doc_id] | set(tombs))))
    await _record_erased(conn, erased_rows)
    await conn.execute(VIEW_ROWS_GUARD)
    db.stage_meta("erasures", int(db.current_meta("erasures") or 0) + 1)
    meta: dict[str, Any] = {}
    winners: dict[str, str] = {doc_id: row.winning_rev for doc_id, row in docs.items()}
    if tombstones:
        batch = await apply_docs(db, conn, tombstones, new_edits=False, op=TOMBSTONE)
        meta = batch.new_meta
        winners.update((doc_id, revtree.leaves(st.tree)[0].rev) for doc_id, st in batch.states.items() if st.tree)
    results: list[dict[str, Any]] = []
    for doc_id in ids:
        if doc_id not in known:
            results.append({"id": doc_id, "error": "not_found", "reason": "missing"})
        elif doc_id in winners:
            results.append({"id": doc_id, "ok": True, "rev": winners[doc_id]})
        else:
            results.append({"id": doc_id, "ok": True})
    return Erasure(seq, results, meta)


async def _record_erased(conn: aiosqlite.Connection, rows: list[tuple[str, int, list[str], list[str]]]) -> None:
    """Records in ``erased`` the revs each document lost (with those of earlier erasures) and its
    current tombstones (an earlier erasure's tombstone may have been built on since)."""
    for doc_id, seq, revs, tombs in rows:
        old = await _fetch(conn, "SELECT revs FROM erased WHERE doc_id = ?", (doc_id,))
        if old:
            revs = sorted(set(revs) | set(orjson.loads(old[0][0])))
        await conn.execute("INSERT OR REPLACE INTO erased(doc_id, audit_seq, revs, tombstones) VALUES (?,?,?,?)",
                           (doc_id, seq, orjson.dumps(revs).decode(), orjson.dumps(tombs).decode()))


async def _drop_blobs(conn: aiosqlite.Connection, digests: set[str]) -> None:
    """Deletes the blobs of ``digests`` that no remaining revision (live or history) references."""
    referenced: set[str] = set()
    async with conn.execute("SELECT atts FROM revs WHERE atts IS NOT NULL") as cur:
        async for (atts,) in cur:
            referenced.update(m["digest"] for m in orjson.loads(atts).values() if m["digest"] in digests)
    await conn.executemany("DELETE FROM attachments WHERE digest = ?", [(d,) for d in digests - referenced])
