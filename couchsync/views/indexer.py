"""Incremental view indexes: bring an index up to date with the changes since its seq.

For a design doc's signature the indexer reads the database's changes after the index's seq in
pages (winning revisions with bodies), runs every map function of the design doc over each page in
one sandbox call, drops the previous rows of the changed documents through the back-index and
stores the new rows with their collation sort keys — one transaction per page, so writers are never
held up for long. Deleted documents only lose their rows; design documents are indexed only with
``options.include_design``. One update per index runs at a time; concurrent queries wait for it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from ..core.collate import sort_key
from ..core.documents import partition_of
from ..core.render import render_doc
from ..storage import views as view_store
from ..storage.changes import changes_page, extract_page
from ..storage.database import Database, live_conflicts
from .design import DesignDoc

log = logging.getLogger("couchsync.views")

#: ``mapper(docs) -> per doc: per view (in ``view_names`` order): [(key, value)] or an error marker``
Mapper = Callable[[list[bytes]], Awaitable[list[list[Any]]]]

PAGE = 5000  # documents per map call and per transaction (larger commits: fewer page rewrites)


def _conflicts(leaves_json: bytes) -> list[tuple[str, object]]:
    """``[("_conflicts", [rev])]`` for a document with live losing leaves (Mango indexes see them,
    as CouchDB's mango_native_proc does), else ``[]``."""
    found = live_conflicts(leaves_json)
    return [("_conflicts", found)] if found else []


class Indexer:
    """Keeps the view indexes of design documents up to date (one lock per signature)."""

    def __init__(self) -> None:
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        #: (db file, instance, sig) → the seq the index is known to be at (saves a query per read)
        self._known: dict[tuple[str, str, str], int] = {}
        self.errors = 0  # map calls that threw or timed out (documents skipped)

    def forget(self, db: Database) -> None:
        """Drops what is known of ``db``'s index seqs (after ``_view_cleanup`` dropped indexes)."""
        self._known = {k: v for k, v in self._known.items() if k[0] != db.path}

    def _lock(self, db: Database, sig: str) -> asyncio.Lock:
        return self._locks.setdefault((db.path, sig), asyncio.Lock())

    async def update(self, db: Database, ddoc: DesignDoc, mapper: Mapper, view_names: list[str],
                     extract: list[list[str | None]] | None = None) -> int:
        """Indexes every change up to the database's current seq; returns the index seq.

        ``extract`` (Mango json indexes on plain fields): per view, the SQLite JSON paths of its key
        members; rows are then built from those values alone, without decoding documents."""
        sig = ddoc.signature
        known = (db.path, db.instance_id, sig)
        if self._known.get(known) == db.update_seq:
            return db.update_seq
        async with self._lock(db, sig):
            seq = await view_store.index_seq(db, sig)
            fresh = seq is None
            seq = seq or 0
            include_design = bool((ddoc.body.get("options") or {}).get("include_design"))
            target = db.update_seq

            if extract is not None:
                flat = [p for paths in extract for p in paths]

                def read(since: int) -> Awaitable[list[Any]]:
                    return extract_page(db, since, PAGE, flat)

                async def build(page: list[Any]) -> tuple[list[str], list[tuple[Any, ...]], int]:
                    stale = [] if fresh else [r[1] for r in page]
                    return stale, self._extracted_rows(ddoc, view_names, extract, page), page[-1][0]
            else:

                def read(since: int) -> Awaitable[list[Any]]:
                    return changes_page(db, since, PAGE, with_bodies=True)

                async def build(page: list[Any]) -> tuple[list[str], list[tuple[Any, ...]], int]:
                    docs: list[bytes] = []  # JSON text straight from storage: no decode/re-encode
                    ids: list[str] = []
                    stale: list[str] = []
                    for ch in page:
                        if not fresh:
                            stale.append(ch.doc_id)
                        if ch.deleted or (ch.doc_id.startswith("_design/") and not include_design):
                            continue
                        docs.append(render_doc(ch.doc_id, ch.winning_rev, False, ch.body or b"{}",
                                               _conflicts(ch.leaves_json) if ddoc.is_query else ()))
                        ids.append(ch.doc_id)
                    results = await mapper(docs) if docs else []
                    return stale, self._rows(ddoc, view_names, ids, results), page[-1].seq

            # pipelined: page N+1 is read (a reader thread) and page N-1 written (the writer
            # thread) while page N is mapped; writes stay in order, each in its own transaction
            reading: asyncio.Future[list[Any]] | None = None
            writing: asyncio.Future[None] | None = None
            try:
                if seq < target:
                    reading = asyncio.ensure_future(read(seq))
                while reading is not None:
                    page = await reading
                    reading = None
                    if not page:
                        break
                    stale, rows, last = await build(page)
                    rows.sort()  # primary-key order: appends to the index b-tree instead of random inserts
                    if last < target:
                        reading = asyncio.ensure_future(read(last))
                    seq = last
                    if writing is not None:
                        await writing
                    writing = asyncio.ensure_future(view_store.apply_batch(db, sig, ddoc.id, stale, rows, seq))
            finally:
                if reading is not None:
                    reading.cancel()
                    await asyncio.gather(reading, return_exceptions=True)
                if writing is not None:
                    await writing
            if fresh and seq == 0:
                await view_store.apply_batch(db, sig, ddoc.id, [], [], 0)
            self._known[known] = seq
            return seq

    @staticmethod
    def _extracted_rows(ddoc: DesignDoc, view_names: list[str], extract: list[list[str | None]],
                        page: list[Any]) -> list[tuple[Any, ...]]:
        """Rows ``key = [field values]``, ``value = null`` from :func:`extract_page` rows; a document
        missing a field has no row (Mango ``get_index_entries``)."""
        rows: list[tuple[Any, ...]] = []
        loads = orjson.loads
        for r in page:
            doc_id = r[1]
            if r[2] or doc_id.startswith("_design/"):
                continue
            part = (partition_of(doc_id) or "") if ddoc.partitioned else ""
            i = 3
            for view, paths in zip(view_names, extract, strict=True):
                values = r[i:i + len(paths)]
                i += len(paths)
                if any(v is None for v in values):
                    continue
                key = [doc_id if p is None else loads(v) for p, v in zip(paths, values, strict=True)]
                rows.append((view, part, sort_key(key), doc_id, 0, orjson.dumps(key), b"null"))
        return rows

    def _rows(
        self,
        ddoc: DesignDoc,
        view_names: list[str],
        ids: list[str],
        results: list[list[Any]],
    ) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = []
        for doc_id, per_view in zip(ids, results, strict=True):
            part = (partition_of(doc_id) or "") if ddoc.partitioned else ""
            for view, emitted in zip(view_names, per_view, strict=True):
                if not isinstance(emitted, list):  # a MapError: the function threw or timed out
                    self.errors += 1
                    log.warning("map of %s/%s failed on %s; document skipped", ddoc.id, view, doc_id)
                    continue
                for n, (key, value) in enumerate(emitted):
                    rows.append(
                        (view, part, sort_key(key), doc_id, n, orjson.dumps(key), orjson.dumps(value))
                    )
        return rows
