"""Compaction and purge.

Compaction drops the bodies of non-leaf revisions (their nodes become *missing*, as CouchDB's
compactor does) and attachment blobs no revision references; it runs in the background in small
transactions so writers are never blocked for long, with ``compact_running`` set meanwhile.

Purge (``_purge``) removes leaf revisions — and ancestors no remaining leaf needs — for good; a
document whose every leaf is purged disappears from ``_all_docs`` and ``_changes``, a partial purge
gives the document a new seq. Sources: CouchDB ``couch_db_updater`` (purge), ``couch_bt_engine_compactor``.

With the audit trail on (:mod:`couchsync.audit`), compaction and purge *flag* the bodies they take
out of the rev tree as history (``revs.history_only``) instead of deleting them, each purged document
gets a ``purge`` audit entry, and compaction ends with the retention pass
(:func:`couchsync.audit.retention.expire`), which removes history bodies older than the database's
retention.
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from typing import Any

import aiosqlite
import orjson

from ..audit import actor as audit_actor
from ..audit import retention
from ..audit import store as audit_store
from ..audit.chain import PURGE
from ..core import revtree
from ..core.revs import normalize_rev
from ..errors import CouchError
from .database import Database

log = logging.getLogger("couchsync.storage")
_tasks: set[asyncio.Task[None]] = set()


def start_compaction(db: Database) -> None:
    """Starts compaction in the background unless it is already running."""
    if db.compact_running:
        return
    db.compact_running = True
    task = asyncio.create_task(_compact(db))
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


async def compact(db: Database) -> None:
    """Runs compaction to completion (used by tests and the CLI)."""
    db.compact_running = True
    await _compact(db)


async def _compact(db: Database) -> None:
    try:
        last = ""
        while True:
            rows = await db.read("SELECT doc_id, rev_tree FROM docs WHERE doc_id > ? ORDER BY doc_id LIMIT 500",
                                 (last,))
            if not rows:
                break
            last = rows[-1][0]
            await db.write(partial(_compact_docs, db, rows=rows))
        await retention.expire(db)
        await db.write(_drop_unreferenced_blobs)
        await db.read("PRAGMA wal_checkpoint(PASSIVE)")
    except Exception:  # compaction must never take the server down; it is retried by the next call
        log.exception("compaction of %s failed", db.name)
    finally:
        db.compact_running = False


async def _compact_docs(db: Database, conn: aiosqlite.Connection, *, rows: list[Any]) -> None:
    ids = [r[0] for r in rows]
    current = await db.get_doc_rows(ids, conn)  # re-read inside the write lock
    updates = []
    drops = []
    for doc_id, row in current.items():
        tree = row.tree()
        parents = {n.parent for n in tree.values()}
        stale = [n for n in tree.values() if n.rev in parents and n.available]
        if not stale:
            continue
        for n in stale:
            n.available = False
            drops.append((doc_id, n.rev))
        updates.append((orjson.dumps(revtree.to_json(tree)), doc_id))
    if drops:
        await conn.executemany("UPDATE revs SET history_only = 1 WHERE doc_id=? AND rev=?" if audit_actor.enabled()
                               else "DELETE FROM revs WHERE doc_id=? AND rev=?", drops)
        await conn.executemany("UPDATE docs SET rev_tree=? WHERE doc_id=?", updates)


async def _drop_unreferenced_blobs(conn: aiosqlite.Connection) -> None:
    referenced: set[str] = set()
    # history bodies keep their attachment metadata, not the data: a blob goes once no revision
    # visible over the CouchDB API references it, as in CouchDB
    async with conn.execute("SELECT atts FROM revs WHERE atts IS NOT NULL AND history_only = 0") as cur:
        async for (atts,) in cur:
            referenced.update(a["digest"] for a in orjson.loads(atts).values())
    async with conn.execute("SELECT digest FROM attachments") as cur:
        stale = [(d,) async for (d,) in cur if d not in referenced]
    if stale:
        await conn.executemany("DELETE FROM attachments WHERE digest=?", stale)


async def purge(db: Database, request: dict[str, list[str]]) -> dict[str, list[str]]:
    """Purges leaf revs; returns ``{"docid": [purged revs]}``. Non-leaf or unknown revs are ignored.
    With the audit on, the removed bodies stay as history and each purged document gets a ``purge``
    entry (``info``: ``revs`` purged, ``removed`` from the tree)."""

    async def fn(conn: aiosqlite.Connection) -> tuple[dict[str, list[str]], dict[str, Any]]:
        audit = audit_actor.enabled()
        entries = []
        rows = await db.get_doc_rows(request.keys(), conn)
        seq = db.update_seq
        purge_seq = int(db.meta["purge_seq"])
        doc_count, del_count = int(db.meta["doc_count"]), int(db.meta["doc_del_count"])
        result: dict[str, list[str]] = {}
        for doc_id, revs in request.items():
            row = rows.get(doc_id)
            result[doc_id] = []
            if row is None:
                continue
            tree = row.tree()
            leaf_revs = {n.rev for n in revtree.leaves(tree)}
            try:
                wanted = [normalize_rev(r) for r in revs]
            except CouchError:
                continue
            gone = [r for r in wanted if r in leaf_revs]
            if not gone:
                continue
            result[doc_id] = gone
            removed = _remove_leaves(tree, gone)
            await conn.executemany("UPDATE revs SET history_only = 1 WHERE doc_id=? AND rev=?" if audit
                                   else "DELETE FROM revs WHERE doc_id=? AND rev=?", [(doc_id, r) for r in removed])
            if audit:
                entries.append(audit_store.new_entry(db, PURGE, doc_id, info={"revs": gone, "removed": removed},
                                                     db_seq=None if not tree else seq + 1))
            purge_seq += 1
            await conn.execute("INSERT INTO purged(purge_seq, doc_id, revs) VALUES (?,?,?)",
                               (purge_seq, doc_id, orjson.dumps(gone)))
            if row.deleted:
                del_count -= 1
            else:
                doc_count -= 1
            if not tree:
                await conn.execute("DELETE FROM docs WHERE doc_id=?", (doc_id,))
                continue
            seq += 1
            lv = revtree.leaves(tree)
            if lv[0].deleted:
                del_count += 1
            else:
                doc_count += 1
            await conn.execute(
                "UPDATE docs SET seq=?, winning_rev=?, deleted=?, rev_tree=?, leaves=? WHERE doc_id=?",
                (seq, lv[0].rev, int(lv[0].deleted), orjson.dumps(revtree.to_json(tree)),
                 orjson.dumps([[n.rev, int(n.deleted)] for n in lv]), doc_id))
        limit = int(db.meta["purged_infos_limit"])
        await conn.execute("DELETE FROM purged WHERE purge_seq <= ?", (purge_seq - limit,))
        await audit_store.append(db, conn, entries)
        meta = {"update_seq": seq, "purge_seq": purge_seq, "doc_count": doc_count, "doc_del_count": del_count}
        return result, meta

    result, _ = await db.write(fn, lambda r: r[1])
    return result


def _remove_leaves(tree: revtree.RevTree, gone: list[str]) -> list[str]:
    """Removes ``gone`` leaves and every ancestor left without a descendant leaf; returns removed revs."""
    removed = []
    stack = list(gone)
    while stack:
        rev = stack.pop()
        node = tree.pop(rev, None)
        if node is None:
            continue
        removed.append(rev)
        parent = node.parent
        if parent is not None and parent in tree and all(n.parent != parent for n in tree.values()):
            stack.append(parent)
    return removed


async def purged_infos(db: Database) -> list[dict[str, Any]]:
    rows = await db.read("SELECT doc_id, revs FROM purged ORDER BY purge_seq")
    return [{"id": d, "revs": orjson.loads(r)} for d, r in rows]
