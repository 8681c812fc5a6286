"""Audit entries and the hash chain that makes the log tamper-evident.

An :class:`Entry` is one line of a database's audit log. Its *hashed fields* are, in this order::

    [seq, ts, user, roles, address, op, doc_id, partition, rev, parent, deleted, digest, db_seq, info]

encoded as compact JSON with sorted object keys (``digest`` as lowercase hex or ``null``), the
*canonical form*. Each entry stores ``prev`` — the ``hash`` of the entry before it (32 zero bytes
for the first) — and ``hash = sha256(prev || canonical form)``. Editing any hashed field of an
entry changes its hash; recomputing that hash breaks the next entry's ``prev``; removing an entry
leaves a gap in the dense ``seq`` numbering (1, 2, 3, …) and a ``prev`` that names a hash no longer
present; truncating the tail leaves the log shorter than the head the database records.

``digest`` commits to a revision's stored content without containing it: ``sha256(salt || deleted
flag byte || body JSON || 0x00 || attachment metadata JSON)`` with a random 16-byte ``salt`` per
entry. The salt is *not* hashed into the chain: erasing a document (or expiring a body) deletes the
salts of its entries, after which the digests can no longer be matched against guessed content,
while every chain link still verifies.

Pure: no I/O.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import orjson

GENESIS = bytes(32)

# operations (``op``)
CREATE = "create"  # interactive write of a new document, or re-creation of a deleted one
UPDATE = "update"  # interactive write on a live document (PUT, POST, _bulk_docs, update functions, attachments)
DELETE = "delete"  # interactive deletion (DELETE, ``_deleted: true``)
REPLICATE = "replicate"  # ``new_edits=false`` (replication, ``_bulk_docs`` with new_edits false)
PURGE = "purge"  # ``_purge`` of a document's leaves (``info``: ``revs`` asked, ``removed`` from the tree)
ERASE = "erase"  # ``_erase``: the one record of an erasure (``info``: ``doc_ids``, ``reason``)
TOMBSTONE = "tombstone"  # the final revision an erasure writes on each leaf of an erased document
RETENTION = "retention"  # a change of the database's history retention (``info``: ``max_age_seconds``)
OPS = (CREATE, UPDATE, DELETE, REPLICATE, PURGE, ERASE, TOMBSTONE, RETENTION)


@dataclass(slots=True)
class Entry:
    """One audit entry. ``ts`` is server time, UTC milliseconds since the epoch (never decreasing
    along ``seq``); ``db_seq`` the database update seq the write produced (``None`` when it made
    none). ``salt`` and ``erased`` (the seq of the erasure that unlinked the entry) are not hashed."""

    seq: int
    ts: int
    user: str | None
    roles: tuple[str, ...]
    address: str | None
    op: str
    doc_id: str | None = None
    partition: str | None = None
    rev: str | None = None
    parent: str | None = None
    deleted: bool = False
    digest: bytes | None = None
    db_seq: int | None = None
    info: dict[str, Any] | None = None
    prev: bytes = GENESIS
    hash: bytes = b""
    salt: bytes | None = field(default=None, compare=False)
    erased: int | None = field(default=None, compare=False)


def canonical(e: Entry) -> bytes:
    """The canonical form of ``e``'s hashed fields (module docstring)."""
    return orjson.dumps(
        [e.seq, e.ts, e.user, list(e.roles), e.address, e.op, e.doc_id, e.partition, e.rev, e.parent,
         bool(e.deleted), e.digest.hex() if e.digest is not None else None, e.db_seq, e.info],
        option=orjson.OPT_SORT_KEYS,
    )


def entry_hash(prev: bytes, e: Entry) -> bytes:
    """``sha256(prev || canonical(e))`` (32 bytes)."""
    return hashlib.sha256(prev + canonical(e)).digest()


def seal(e: Entry, prev: bytes) -> Entry:
    """Sets ``e.prev`` and ``e.hash``; returns ``e``."""
    e.prev = prev
    e.hash = entry_hash(prev, e)
    return e


def body_digest(salt: bytes, deleted: bool, body: bytes, atts: bytes | None) -> bytes:
    """The salted digest of a stored revision (module docstring)."""
    return hashlib.sha256(salt + (b"\x01" if deleted else b"\x00") + body + b"\x00" + (atts or b"")).digest()


@dataclass(frozen=True, slots=True)
class Broken:
    """The first broken link: the ``seq`` where verification failed and why.

    ``reason`` is one of ``"missing entry"`` (a gap in the numbering: that seq was removed),
    ``"prev mismatch"`` (the entry does not chain to the one before it), ``"hash mismatch"`` (the
    entry's fields were edited), ``"truncated"`` (entries after ``seq - 1`` were removed: the log
    is shorter than the recorded head), ``"head mismatch"`` (the last entry is not the recorded
    head) or ``"body digest mismatch"`` (a stored revision body differs from the one audited).
    """

    seq: int
    reason: str
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "reason": self.reason, "detail": self.detail}


class ChainVerifier:
    """Feeds entries in ``seq`` order; remembers the first broken link.

    ``verifier.feed(e)`` for every entry, then ``verifier.finish(head_seq, head_hash)`` with the
    head the database records (``(0, None)`` when it records none).
    """

    def __init__(self) -> None:
        self.count = 0
        self.last_seq = 0
        self.last_hash = GENESIS
        self.broken: Broken | None = None

    def feed(self, e: Entry) -> None:
        if self.broken is not None:
            return
        self.count += 1
        expected = self.last_seq + 1
        if e.seq != expected:
            self.broken = Broken(expected, "missing entry", f"entry {expected} is absent; the next one is {e.seq}")
        elif e.prev != self.last_hash:
            self.broken = Broken(e.seq, "prev mismatch",
                                 f"entry {e.seq} names {e.prev.hex()} as its predecessor, not {self.last_hash.hex()}")
        elif entry_hash(e.prev, e) != e.hash:
            self.broken = Broken(e.seq, "hash mismatch", f"entry {e.seq} does not match its hash")
        self.last_seq, self.last_hash = e.seq, e.hash

    def finish(self, head_seq: int, head_hash: bytes | None) -> Broken | None:
        """Checks the end of the log against the recorded head (entries after the head were
        written after verification started and are not fed)."""
        if self.broken is None and head_seq > self.last_seq:
            self.broken = Broken(self.last_seq + 1, "truncated",
                                 f"the log ends at {self.last_seq}; the database recorded {head_seq} entries")
        elif self.broken is None and head_hash is not None and head_seq == self.last_seq \
                and head_hash != self.last_hash:
            self.broken = Broken(head_seq, "head mismatch", f"entry {head_seq} is not the recorded head")
        return self.broken
