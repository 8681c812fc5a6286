"""``update_docs``: the one place where writes meet rev trees (CouchDB ``couch_db_updater``).

A batch (a PUT, a DELETE, a ``_bulk_docs`` request) is applied in one transaction:

1. load the current rev trees of the batch's documents (inside the write lock);
2. for each document in request order (several versions of one document merge in order), apply the
   rev-tree policy of :mod:`couchsync.core.edits` — interactive — or merge the replicated path —
   ``new_edits=false``; resolve attachments; record per-document errors;
3. stem each changed tree to ``_revs_limit``;
4. write changed ``docs`` rows with new seqs, new revision bodies and blobs, drop stemmed bodies;
5. append one audit entry per accepted revision (:mod:`couchsync.audit`), in request order;
6. commit, then update counters and wake ``_changes`` listeners.

An update that does not change a rev tree (a replicated rev we already have) allocates no seq.
With the audit on (:func:`couchsync.audit.actor.enabled`), stemmed revisions keep their bodies as
history (``revs.history_only``, invisible to the CouchDB read paths), and a stored body is never
replaced: a revision accepted again (a compacted rev replicated back) keeps the body it had.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiosqlite
import orjson

from ..audit import actor as audit_actor
from ..audit import store as audit_store
from ..audit.chain import CREATE, DELETE, REPLICATE, UPDATE
from ..core import revtree
from ..core.documents import (
    DocInput,
    ResolvedAttachments,
    attachment_digests,
    partition_of,
    resolve_attachments,
)
from ..core.edits import add_child, interactive_parent
from ..core.revs import new_revid
from ..core.revtree import RevTree
from ..errors import CouchError, Forbidden
from .database import Database, RevBody

DESIGN_PARTITION = "_design"


def partition_key(doc_id: str) -> str | None:
    """The ``docs.partition`` value: the partition, or ``_design`` for design docs (so staff
    queries ``partition IN (<hospitals>, '_design')`` stay index range scans)."""
    if doc_id.startswith("_design/"):
        return DESIGN_PARTITION
    return partition_of(doc_id)


@dataclass(slots=True)
class Proposed:
    """A revision about to become a leaf, as ``validate_doc_update`` sees it: ``new_doc`` (with
    ``_id``, ``_rev``, ``_revisions``, ``_deleted``, attachment stubs) and ``old_doc`` (the revision it
    replaces — interactive — or its nearest stored ancestor — replicated — or ``None``)."""

    new_doc: dict[str, Any]
    old_doc: dict[str, Any] | None


#: ``validate(proposed) -> None``, raising ``CouchError`` to refuse the revision (per document)
Validator = Callable[[Proposed], Awaitable[None]]


@dataclass(slots=True)
class _DocState:
    tree: RevTree
    existed: bool
    was_deleted: bool
    changed: bool = False
    new_revs: list[tuple[str, bool, bytes, bytes | None]] = field(default_factory=list)
    #: per entry of ``new_revs``: ``(parent rev, audit op)``
    audit: list[tuple[str | None, str]] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Batch:
    results: list[dict[str, Any]]
    states: dict[str, _DocState]
    blobs: dict[str, bytes]
    new_meta: dict[str, Any]
    #: accepted revisions in request order: ``(doc_id, index in its state's new_revs)``
    accepted: list[tuple[str, int]] = field(default_factory=list)
    #: the audit op of every revision of the batch (erasure tombstones), instead of the write's own
    op: str | None = None
    #: erased documents of a replicated batch: ``{doc_id: (revs erased, erasure tombstones)}``
    erased: dict[str, tuple[set[str], set[str]]] = field(default_factory=dict)

    def accept(self, doc_id: str, state: _DocState, parent: str | None, op: str) -> None:
        state.audit.append((parent, op))
        self.accepted.append((doc_id, len(state.new_revs) - 1))


async def update_docs(
    db: Database, docs: list[DocInput], *, new_edits: bool, validate: Validator | None = None
) -> list[dict[str, Any]]:
    """Applies ``docs`` (each with an ``id``) and returns one result per doc, in order.

    Interactive: ``{"ok": true, "id", "rev"}`` or ``{"id", "error": "conflict"|…, "reason"}``.
    Replicated: ``{"id", "rev", "ok": true}`` or ``{"id", "rev", "error", "reason"}`` (the caller
    reports only failures). Whole-batch errors (bad stubs, 412 ``missing_stub``) raise ``CouchError``.
    CouchDB: couch_db ``update_docs``, couch_db_updater ``merge_rev_trees``.
    """

    async def apply(conn: aiosqlite.Connection) -> _Batch:
        return await apply_docs(db, conn, docs, new_edits=new_edits, validate=validate)

    batch = await db.write(apply, lambda b: b.new_meta)
    return batch.results


async def apply_docs(db: Database, conn: aiosqlite.Connection, docs: list[DocInput], *, new_edits: bool,
                     validate: Validator | None = None, op: str | None = None) -> _Batch:
    """The body of :func:`update_docs`, inside a write transaction the caller runs (an erasure
    writes its tombstones with ``op="tombstone"`` in its own transaction). The caller stores
    ``batch.new_meta`` with the commit."""
    rows = await db.get_doc_rows([d.id for d in docs if d.id is not None], conn)
    states: dict[str, _DocState] = {}
    for doc_id, row in rows.items():
        states[doc_id] = _DocState(row.tree(), True, row.deleted)
    batch = _Batch([], states, {}, {}, op=op)
    if not new_edits and db.current_meta("erasures"):
        batch.erased = await _erased(conn, [d.id for d in docs if d.id is not None])
    limit = int(db.meta["revs_limit"])
    for doc in docs:
        assert doc.id is not None
        state = states.setdefault(doc.id, _DocState({}, False, False))
        try:
            if new_edits:
                res = await _interactive(db, conn, doc, state, batch, validate)
            else:
                res = await _replicated(db, conn, doc, state, batch, validate)
        except CouchError as e:
            if e.status in (412, 413) or e.error == "bad_request":
                raise
            res = {"id": doc.id, "error": e.error, "reason": e.reason}
            if not new_edits and doc.rev:
                res["rev"] = doc.rev
        batch.results.append(res)
        if state.changed:
            state.dropped.extend(revtree.stem(state.tree, limit))
    await _persist(db, conn, batch)
    return batch


async def _previous_atts(
    db: Database, conn: aiosqlite.Connection, doc_id: str, state: _DocState, rev: str | None
) -> dict[str, dict[str, Any]] | None:
    """Attachment metadata of ``rev`` (or of a body written earlier in this batch)."""
    if rev is None:
        return None
    for r, _deleted, _body, atts in state.new_revs:
        if r == rev:
            return orjson.loads(atts) if atts else None
    found: dict[tuple[str, str], RevBody] = await db.get_revs([(doc_id, rev)], conn)
    body = found.get((doc_id, rev))
    return body.atts if body else None


def _doc_json(doc: DocInput, rev: str, revisions: dict[str, Any], atts: ResolvedAttachments) -> dict[str, Any]:
    out: dict[str, Any] = {"_id": doc.id, "_rev": rev, **doc.body}
    if doc.deleted:
        out["_deleted"] = True
    out["_revisions"] = revisions
    if atts.meta:
        out["_attachments"] = {n: {**m, "stub": True} for n, m in atts.meta.items()}
    return out


async def _old_doc(db: Database, conn: aiosqlite.Connection, doc_id: str, state: _DocState,
                   rev: str | None) -> dict[str, Any] | None:
    """The stored revision ``rev`` as a document (``None`` when absent or not stored)."""
    if rev is None:
        return None
    for r, deleted, body, atts in state.new_revs:
        if r == rev:
            found: RevBody | None = RevBody(bool(deleted), body, orjson.loads(atts) if atts else None)
            break
    else:
        found = (await db.get_revs([(doc_id, rev)], conn)).get((doc_id, rev))
    if found is None:
        return None
    out: dict[str, Any] = {"_id": doc_id, "_rev": rev, **orjson.loads(found.body)}
    if found.deleted:
        out["_deleted"] = True
    if found.atts:
        out["_attachments"] = {n: {**m, "stub": True} for n, m in found.atts.items()}
    return out


def _encode(doc: DocInput, atts: ResolvedAttachments) -> tuple[bytes, bytes | None]:
    return doc.body_json(), (orjson.dumps(atts.meta) if atts.meta else None)


async def _interactive(
    db: Database,
    conn: aiosqlite.Connection,
    doc: DocInput,
    state: _DocState,
    batch: _Batch,
    validate: Validator | None,
) -> dict[str, Any]:
    assert doc.id is not None
    parent = interactive_parent(state.tree, doc.rev, doc.deleted)
    new_pos = parent.pos + 1 if parent else 1
    has_stub = any(isinstance(a, dict) and a.get("stub") for a in (doc.attachments or {}).values())
    previous = await _previous_atts(db, conn, doc.id, state, parent.rev if parent and has_stub else None)
    atts = resolve_attachments(doc.attachments, new_pos=new_pos, previous=previous, follows=doc.follows)
    revid = new_revid(doc.deleted, parent.rev if parent else None, doc.body, attachment_digests(atts.meta))
    if validate is not None:
        ancestors = [n.revid for n in revtree.ancestry(state.tree, parent.rev)] if parent else []
        new_doc = _doc_json(doc, f"{new_pos}-{revid}", {"start": new_pos, "ids": [revid, *ancestors]}, atts)
        await validate(Proposed(new_doc, await _old_doc(db, conn, doc.id, state, parent.rev if parent else None)))
    node = add_child(state.tree, parent, revid, doc.deleted)
    body, atts_json = _encode(doc, atts)
    state.new_revs.append((node.rev, doc.deleted, body, atts_json))
    state.changed = True
    batch.accept(doc.id, state, parent.rev if parent else None,
                 DELETE if doc.deleted else CREATE if parent is None or parent.deleted else UPDATE)
    batch.blobs.update(atts.blobs)
    return {"ok": True, "id": doc.id, "rev": node.rev}


async def _replicated(
    db: Database,
    conn: aiosqlite.Connection,
    doc: DocInput,
    state: _DocState,
    batch: _Batch,
    validate: Validator | None,
) -> dict[str, Any]:
    assert doc.id is not None
    if doc.revisions is not None:
        start, ids = doc.revisions
    else:
        assert doc.rev is not None
        pos_s, _, revid = doc.rev.partition("-")
        start, ids = int(pos_s), [revid]
    leaf = f"{start}-{ids[0]}"
    existing = state.tree.get(leaf)
    if existing is not None and existing.available:
        return {"id": doc.id, "rev": leaf, "ok": True}
    if doc.id in batch.erased:
        _check_not_erased(batch.erased[doc.id], start, ids)
    previous = None
    if any(isinstance(a, dict) and a.get("stub") for a in (doc.attachments or {}).values()):
        ancestor = next(
            (
                f"{start - k}-{r}"
                for k, r in enumerate(ids)
                if k and (n := state.tree.get(f"{start - k}-{r}")) is not None and n.available
            ),
            None,
        )
        previous = await _previous_atts(db, conn, doc.id, state, ancestor)
    atts = resolve_attachments(
        doc.attachments, new_pos=start, previous=previous, follows=doc.follows, replicated=True
    )
    if validate is not None:
        ancestor = next((f"{start - k}-{r}" for k, r in enumerate(ids)
                         if k and (n := state.tree.get(f"{start - k}-{r}")) is not None and n.available), None)
        new_doc = _doc_json(doc, leaf, {"start": start, "ids": ids}, atts)
        await validate(Proposed(new_doc, await _old_doc(db, conn, doc.id, state, ancestor)))
    revtree.merge_path(state.tree, start, ids, doc.deleted)
    body, atts_json = _encode(doc, atts)
    state.new_revs.append((leaf, doc.deleted, body, atts_json))
    state.changed = True
    batch.accept(doc.id, state, f"{start - 1}-{ids[1]}" if len(ids) > 1 else None, REPLICATE)
    batch.blobs.update(atts.blobs)
    return {"id": doc.id, "rev": leaf, "ok": True}


ERASED_REASON = "This document was erased; revisions written before its erasure are refused."


async def _erased(conn: aiosqlite.Connection, doc_ids: list[str]) -> dict[str, tuple[set[str], set[str]]]:
    """The erased documents among ``doc_ids`` (table ``erased``, see :mod:`couchsync.audit.erase`)."""
    ids = list(dict.fromkeys(doc_ids))
    out: dict[str, tuple[set[str], set[str]]] = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        async with conn.execute("SELECT doc_id, revs, tombstones FROM erased WHERE doc_id IN ("
                                + ",".join("?" * len(chunk)) + ")", chunk) as cur:
            async for doc_id, revs, tombs in cur:
                out[doc_id] = (set(orjson.loads(revs)), set(orjson.loads(tombs)))
    return out


def _check_not_erased(erased: tuple[set[str], set[str]], start: int, ids: list[str]) -> None:
    """A replicated path that descends from an erased revision without passing through an erasure
    tombstone brings erased content back (a client that edited the document before it synced the
    erasure): ``Forbidden`` (a per-document 403, which PouchDB reports as ``denied``)."""
    revs, tombstones = erased
    path = {f"{start - k}-{r}" for k, r in enumerate(ids)}
    if path & revs and not path & tombstones:
        raise Forbidden(ERASED_REASON)


async def _persist(db: Database, conn: aiosqlite.Connection, batch: _Batch) -> None:
    audit = audit_actor.enabled()
    seq = db.update_seq
    doc_seqs: dict[str, int] = {}
    doc_count = int(db.meta["doc_count"])
    del_count = int(db.meta["doc_del_count"])
    doc_rows: list[tuple[Any, ...]] = []
    rev_rows: list[tuple[Any, ...]] = []
    dropped_rows: list[tuple[str, str]] = []
    for doc_id, st in batch.states.items():
        if not st.changed:
            continue
        seq += 1
        doc_seqs[doc_id] = seq
        lv = revtree.leaves(st.tree)
        winner = lv[0]
        doc_rows.append(
            (
                doc_id,
                seq,
                winner.rev,
                int(winner.deleted),
                orjson.dumps(revtree.to_json(st.tree)),
                orjson.dumps([[n.rev, int(n.deleted)] for n in lv]),
                partition_key(doc_id) if db.partitioned else None,
            )
        )
        if st.existed:
            if st.was_deleted:
                del_count -= 1
            else:
                doc_count -= 1
        if winner.deleted:
            del_count += 1
        else:
            doc_count += 1
        kept = {r for r, *_ in st.new_revs if r in st.tree}
        rev_rows.extend((doc_id, r, int(d), b, a, 0 if r in kept else 1) for r, d, b, a in st.new_revs
                        if audit or r in kept)  # stemmed at once: kept for history only
        dropped_rows.extend((doc_id, r) for r in st.dropped)
    if not doc_rows:
        return
    await conn.executemany(
        "INSERT INTO docs(doc_id, seq, winning_rev, deleted, rev_tree, leaves, partition) VALUES (?,?,?,?,?,?,?) "
        "ON CONFLICT(doc_id) DO UPDATE SET seq=excluded.seq, winning_rev=excluded.winning_rev, "
        "deleted=excluded.deleted, rev_tree=excluded.rev_tree, leaves=excluded.leaves",
        doc_rows,
    )
    await conn.executemany(  # a stored body is never replaced (history is append-only)
        "INSERT INTO revs(doc_id, rev, deleted, body, atts, history_only) VALUES (?,?,?,?,?,?) "
        "ON CONFLICT(doc_id, rev) DO UPDATE SET history_only = min(history_only, excluded.history_only)",
        rev_rows,
    )
    if dropped_rows:
        await conn.executemany("UPDATE revs SET history_only = 1 WHERE doc_id=? AND rev=?" if audit
                               else "DELETE FROM revs WHERE doc_id=? AND rev=?", dropped_rows)
    if batch.blobs:
        await conn.executemany(
            "INSERT OR IGNORE INTO attachments(digest, length, data) VALUES (?,?,?)",
            [(d, len(b), b) for d, b in batch.blobs.items()],
        )
    if audit:
        await _append_audit(db, conn, batch, doc_seqs)
    batch.new_meta = {"update_seq": seq, "doc_count": doc_count, "doc_del_count": del_count}


async def _append_audit(db: Database, conn: aiosqlite.Connection, batch: _Batch, doc_seqs: dict[str, int]) -> None:
    """One entry per accepted revision, in request order, by the current actor."""
    revisions: list[audit_store.Revision] = []
    for doc_id, i in batch.accepted:
        st = batch.states[doc_id]
        rev, deleted, body, atts = st.new_revs[i]
        parent, op = st.audit[i]
        revisions.append((batch.op or op, doc_id, rev, parent, deleted, body, atts, doc_seqs.get(doc_id)))
    await audit_store.append_revisions(db, conn, revisions)
