"""SQLite schema of one database file, with ordered migrations keyed by ``PRAGMA user_version``.

Tables:

* ``meta(key, value)`` — instance id, ``update_seq``, counters, ``revs_limit``, ``security``, props.
* ``docs`` — one row per document at its latest seq (a document appears once in ``_changes``):
  the winning rev, deleted flag, the rev tree (JSON, :func:`couchsync.core.revtree.to_json`) and its
  leaves (JSON ``[[rev, deleted], …]`` winner first, for ``style=all_docs`` and ``_conflicts``).
Large rows (bodies, blobs) live in rowid tables: SQLite advises ``WITHOUT ROWID`` only for small rows.

* ``revs`` — revision bodies (JSON without special members) and attachment metadata, per rev.
* ``local_docs`` — ``_local`` documents: no rev tree, no seq.
* ``attachments`` — blobs stored once by digest (content-addressed).
* ``purged`` — ``_purged_infos``.
* ``view_indexes``, ``view_rows`` — map results per design-doc signature; ``view_rows_back`` is the
  back-index (doc → its rows) used to drop stale rows when a document changes.
* ``audit`` — the append-only, hash-chained audit trail (:mod:`couchsync.audit`); ``revs.history_only``
  marks bodies kept for history only (stemmed, compacted or purged revisions: *missing* over the
  CouchDB API); ``erased`` lists erased documents with the revs erased and the tombstones written (the
  updater refuses replicated revisions descending from them; the first erasure adds the trigger
  ``view_rows_erased``, see :mod:`couchsync.audit.erase`).
"""

from __future__ import annotations

MIGRATIONS: list[str] = [
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE docs (
        doc_id TEXT PRIMARY KEY,
        seq INTEGER NOT NULL UNIQUE,
        winning_rev TEXT NOT NULL,
        deleted INTEGER NOT NULL,
        rev_tree BLOB NOT NULL,
        leaves BLOB NOT NULL,
        partition TEXT
    ) WITHOUT ROWID;
    CREATE INDEX docs_partition ON docs(partition, doc_id) WHERE partition IS NOT NULL;
    CREATE TABLE revs (
        doc_id TEXT NOT NULL,
        rev TEXT NOT NULL,
        deleted INTEGER NOT NULL,
        body BLOB NOT NULL,
        atts BLOB,
        PRIMARY KEY (doc_id, rev)
    );
    CREATE TABLE local_docs (doc_id TEXT PRIMARY KEY, rev INTEGER NOT NULL, body BLOB NOT NULL) WITHOUT ROWID;
    CREATE TABLE attachments (digest TEXT PRIMARY KEY, length INTEGER NOT NULL, data BLOB NOT NULL);
    CREATE TABLE purged (purge_seq INTEGER PRIMARY KEY, doc_id TEXT NOT NULL, revs BLOB NOT NULL);
    """,
    # partition-scoped _changes (staff of a hospital) is an index range scan, not a filtered full scan
    "CREATE INDEX docs_partition_seq ON docs(partition, seq) WHERE partition IS NOT NULL;",
    # view indexes: one state row per design-doc signature, rows ordered by (key collation, doc id);
    # `part` is the row's partition for partitioned design docs ('' for global ones)
    """
    CREATE TABLE view_indexes (sig TEXT PRIMARY KEY, ddoc_id TEXT NOT NULL, seq INTEGER NOT NULL,
                               purge_seq INTEGER NOT NULL DEFAULT 0);
    CREATE TABLE view_rows (
        sig TEXT NOT NULL, view TEXT NOT NULL, part TEXT NOT NULL, key_sort BLOB NOT NULL,
        doc_id TEXT NOT NULL, n INTEGER NOT NULL, key BLOB NOT NULL, value BLOB NOT NULL,
        PRIMARY KEY (sig, view, part, key_sort, doc_id, n)
    ) WITHOUT ROWID;
    CREATE INDEX view_rows_back ON view_rows(sig, doc_id);
    """,
    # audit trail (issue 7): see couchsync/audit/__init__.py for the entry and hash definitions
    """
    ALTER TABLE revs ADD COLUMN history_only INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX revs_history ON revs(doc_id, rev) WHERE history_only = 1;
    CREATE TABLE audit (
        seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, user TEXT, roles TEXT NOT NULL, address TEXT,
        op TEXT NOT NULL, doc_id TEXT, partition TEXT, rev TEXT, parent TEXT, deleted INTEGER NOT NULL,
        digest BLOB, db_seq INTEGER, info TEXT, prev BLOB NOT NULL, hash BLOB NOT NULL,
        salt BLOB, erased INTEGER
    );
    CREATE INDEX audit_doc ON audit(doc_id, seq) WHERE doc_id IS NOT NULL;
    CREATE INDEX audit_ts ON audit(ts);
    CREATE INDEX audit_partition ON audit(partition, seq) WHERE partition IS NOT NULL;
    CREATE TABLE erased (doc_id TEXT PRIMARY KEY, audit_seq INTEGER NOT NULL, revs TEXT NOT NULL,
                         tombstones TEXT NOT NULL) WITHOUT ROWID;
    """,
]

PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=OFF",
    "PRAGMA busy_timeout=10000",
    "PRAGMA cache_size=-16000",
    "PRAGMA temp_store=MEMORY",
)
