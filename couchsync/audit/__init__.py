"""Accountable history: an append-only, hash-chained audit trail of every revision, reads as of a
past time, and erasure that leaves a record.

CouchDB forgets: compaction drops the bodies of superseded revisions, ``_revs_limit`` stems old ones
out of the rev tree, and ``_purge`` leaves no trace. Patient records need the opposite — who changed
what and when, what a record said on a given day, and the ability to erase a person's data
completely while keeping proof that it was erased.

**The trail.** Every accepted revision — interactive writes, ``_bulk_docs`` in both modes,
replication, update functions, deletions, purges and erasures — appends one :class:`~.chain.Entry`
to the database's ``audit`` table *in the same transaction* as the revision (a 201 means both are
on disk): ``seq`` (dense, 1, 2, 3…), server time (UTC ms), the authenticated user and roles, the
client address (:mod:`.actor`), the operation, doc id, partition, rev, parent rev, deleted flag, a
salted digest of the stored body, and the database seq the write produced. Entries are chained:
each carries the hash of the one before it (:mod:`.chain`), so ``GET /{db}/_audit/_verify`` finds an
edited, removed or truncated entry, and a stored body that no longer matches its digest.

**History bodies.** The bodies the trail refers to stay in the ``revs`` table: compaction, stemming
and purge *flag* them (``history_only``) instead of deleting them. The CouchDB read paths (``rev=``,
``open_revs``, ``_bulk_get``, ``_changes``) never see flagged rows, so a compacted non-leaf rev is
still ``missing`` there; ``?as_of=`` and ``/_history`` (:mod:`.asof`, :mod:`.store`) read them.
History keeps a body's attachment *metadata* (names, types, lengths, digests — covered by the entry
digest); attachment *data* follows CouchDB's compaction and goes once no current revision uses it.
Keeping the row costs nothing at write time (a separate history table would write every body
twice); a per-database retention (:mod:`.retention`) lets compaction remove old history bodies —
never entries.

**Erasure** (:mod:`.erase`): every body, attachment and view row of the documents goes (with
SQLite ``secure_delete``, and the WAL truncated afterwards), the salts of their entries are dropped
(the digests stay in the chain, which still verifies, but can no longer be matched against guessed
content), one ``erase`` entry records who, when, which ids and why, and a tombstone revision
``{"_deleted": true, "erased": true}`` on every leaf makes replicating PouchDB clients delete the
document too.

The pure parts (:mod:`.chain`, :mod:`.entries`, :mod:`.asof`, :mod:`.actor`) do no I/O; the SQL
lives in :mod:`.store`, :mod:`.erase` and :mod:`.retention`.
"""
