"""The pure parts of the audit trail: hash chain, verifier, digests, times, as-of replay, retention dates."""

from __future__ import annotations

import hashlib

import orjson
import pytest

from couchsync.audit.asof import leaves_at, winner_at
from couchsync.audit.chain import (
    GENESIS,
    PURGE,
    REPLICATE,
    UPDATE,
    ChainVerifier,
    Entry,
    body_digest,
    canonical,
    entry_hash,
    seal,
)
from couchsync.audit.entries import format_time, parse_time
from couchsync.audit.retention import superseded_at
from couchsync.errors import BadRequest


def chain(n: int) -> list[Entry]:
    out: list[Entry] = []
    prev = GENESIS
    for i in range(1, n + 1):
        e = seal(Entry(i, 1000 + i, "alice", ("r",), "127.0.0.1", UPDATE, f"d{i}", None, f"1-{i:032x}"), prev)
        prev = e.hash
        out.append(e)
    return out


def verify(entries: list[Entry], head: tuple[int, bytes | None] | None = None) -> object:
    v = ChainVerifier()
    for e in entries:
        v.feed(e)
    last = entries[-1] if entries else None
    seq, h = head if head is not None else ((last.seq, last.hash) if last else (0, None))
    return v.finish(seq, h)


def test_hash_is_sha256_of_prev_and_canonical_fields() -> None:
    e = Entry(1, 5, None, ("_admin",), "cli", "erase", info={"reason": "r", "doc_ids": ["a"]})
    assert canonical(e) == (b'[1,5,null,["_admin"],"cli","erase",null,null,null,null,false,null,null,'
                            b'{"doc_ids":["a"],"reason":"r"}]')
    assert entry_hash(GENESIS, e) == hashlib.sha256(GENESIS + canonical(e)).digest()
    # salt and erased mark are not hashed: erasure keeps the chain verifiable
    e.salt, e.erased = b"x" * 16, 7
    assert entry_hash(GENESIS, e) == hashlib.sha256(GENESIS + canonical(e)).digest()


def test_verifier_accepts_an_intact_chain() -> None:
    assert verify(chain(5)) is None
    assert verify([]) is None


def test_verifier_finds_an_edited_entry() -> None:
    entries = chain(5)
    entries[2].user = "mallory"
    broken = verify(entries)
    assert broken is not None and (broken.seq, broken.reason) == (3, "hash mismatch")


def test_verifier_finds_an_edited_and_resealed_entry_at_the_next_link() -> None:
    entries = chain(5)
    entries[2].user = "mallory"
    seal(entries[2], entries[1].hash)
    broken = verify(entries, (5, entries[4].hash))
    assert broken is not None and (broken.seq, broken.reason) == (4, "prev mismatch")


def test_verifier_finds_a_removed_entry() -> None:
    entries = chain(5)
    del entries[1]
    broken = verify(entries)
    assert broken is not None and (broken.seq, broken.reason) == (2, "missing entry")
    entries = chain(5)
    del entries[0]
    broken = verify(entries)
    assert broken is not None and (broken.seq, broken.reason) == (1, "missing entry")


def test_verifier_finds_a_truncated_tail_and_a_forged_head() -> None:
    entries = chain(5)
    broken = verify(entries[:4], (5, entries[4].hash))
    assert broken is not None and (broken.seq, broken.reason) == (5, "truncated")
    broken = verify(entries, (5, b"\1" * 32))
    assert broken is not None and (broken.seq, broken.reason) == (5, "head mismatch")


def test_body_digest_depends_on_salt_flag_body_and_attachments() -> None:
    salt = b"s" * 16
    base = body_digest(salt, False, b'{"a":1}', None)
    assert base == hashlib.sha256(salt + b"\0" + b'{"a":1}' + b"\0").digest()
    assert body_digest(b"t" * 16, False, b'{"a":1}', None) != base
    assert body_digest(salt, True, b'{"a":1}', None) != base
    assert body_digest(salt, False, b'{"a":2}', None) != base
    assert body_digest(salt, False, b'{"a":1}', b"{}") != base


def test_times_round_trip_rfc3339() -> None:
    assert format_time(0) == "1970-01-01T00:00:00.000Z"
    assert parse_time("1970-01-01T00:00:00.123Z", "t") == 123
    assert parse_time("2026-11-21T11:00:00.001+01:00", "t") == parse_time("2026-11-21T10:00:00.001Z", "t")
    assert parse_time(format_time(1_790_000_000_123), "t") == 1_790_000_000_123
    for bad in ("2026-11-21", "2026-11-21T10:00:00", "yesterday", "", "1790000000"):
        with pytest.raises(BadRequest):
            parse_time(bad, "as_of")


def _e(seq: int, ts: int, rev: str | None, parent: str | None = None, deleted: bool = False, op: str = UPDATE,
       info: dict[str, object] | None = None) -> Entry:
    return Entry(seq, ts, "u", (), None, op, "d", None, rev, parent, deleted, info=info)


def test_asof_replays_edits_deletion_and_recreation() -> None:
    entries = [_e(1, 10, "1-a"), _e(2, 20, "2-b", "1-a"), _e(3, 30, "3-c", "2-b", True), _e(4, 40, "4-d", "3-c")]
    assert winner_at(entries, 9) is None
    assert winner_at(entries, 10) == ("1-a", False)
    assert winner_at(entries, 25) == ("2-b", False)
    assert winner_at(entries, 30) == ("3-c", True)
    assert winner_at(entries, 10**13) == ("4-d", False)


def test_asof_picks_couchdb_winner_among_conflicts_and_forgets_purged_revs() -> None:
    entries = [_e(1, 10, "1-a"), _e(2, 20, "2-b", "1-a"), _e(3, 30, "2-z", "1-a", op=REPLICATE),
               _e(4, 40, "3-x", "2-b", True), _e(5, 50, None, op=PURGE, info={"revs": ["2-z"], "removed": ["2-z"]})]
    assert winner_at(entries, 30) == ("2-z", False)
    assert leaves_at(entries, 30) == [("2-z", False), ("2-b", False)]
    assert winner_at(entries, 40) == ("2-z", False)  # a live leaf beats a deleted one
    assert winner_at(entries, 50) == ("3-x", True)
    # a replicated path whose parent was never seen: the unseen ancestor is not a leaf
    assert leaves_at([_e(1, 10, "5-e", "4-unseen", op=REPLICATE)], 10) == [("5-e", False)]


def test_superseded_at_uses_first_child_then_purge_then_next_entry() -> None:
    rows = [("d", 10, UPDATE, "1-a", None, None), ("d", 20, UPDATE, "2-b", "1-a", None),
            ("d", 25, REPLICATE, "2-c", "1-a", None), ("d", 30, UPDATE, "3-x", "2-b", None),
            ("d", 40, PURGE, None, None, orjson.dumps({"revs": ["2-c"], "removed": ["2-c"]}).decode()),
            ("e", 50, REPLICATE, "4-p", "3-unseen", None), ("e", 60, REPLICATE, "5-q", "4-unseen", None)]
    when = superseded_at(rows)
    assert when[("d", "1-a")] == 20 and when[("d", "2-b")] == 30 and when[("d", "2-c")] == 40
    # no child entry names it (a leaf, or a replicated path's unseen link): the next entry of its document
    assert when[("e", "4-p")] == 60 and when[("d", "3-x")] == 40
    assert ("e", "5-q") not in when
