"""One SQLite file per database: a single writer, a WAL reader, lazily (re)opened.

Every write goes through :meth:`Database.write` — one ``BEGIN IMMEDIATE … COMMIT`` under the
database's write lock on the writer connection, with ``synchronous=FULL``, so a commit that returns
is on disk. Reads use a separate connection and see the last committed state (WAL). Listeners of
``_changes`` are woken after each commit.

Connections are closed by the registry's LRU (:mod:`couchsync.storage.registry`) and reopened on
the next use, so thousands of databases do not exhaust file descriptors.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import aiosqlite
import orjson
import shortuuid

from ..core import revtree
from ..core.revtree import RevTree
from .schema import MIGRATIONS, PRAGMAS

T = TypeVar("T")

DEFAULT_SECURITY: dict[str, Any] = {"members": {"roles": ["_admin"]}, "admins": {"roles": ["_admin"]}}


@dataclass(slots=True)
class DocRow:
    """A row of ``docs``: the document's latest state."""

    doc_id: str
    seq: int
    winning_rev: str
    deleted: bool
    rev_tree: bytes
    leaves: bytes

    def tree(self) -> RevTree:
        return revtree.from_json(orjson.loads(self.rev_tree))

    def leaf_list(self) -> list[tuple[str, bool]]:
        """``[(rev, deleted)]`` winner first."""
        return [(r, bool(d)) for r, d in orjson.loads(self.leaves)]


def live_conflicts(leaves_json: bytes) -> list[str]:
    """``_conflicts`` from a ``docs.leaves`` value (``[[rev, deleted], …]``, winner first): the live
    losing leaves, in order; a one-leaf document (the usual case) is answered without decoding."""
    if leaves_json.count(b"[") <= 2:
        return []
    return [r for r, deleted in orjson.loads(leaves_json)[1:] if not deleted]


@dataclass(slots=True)
class RevBody:
    """A stored revision: ``body`` JSON bytes (no special members) and attachment metadata."""

    deleted: bool
    body: bytes
    atts: dict[str, dict[str, Any]] | None


class Database:
    """A database's file, connections, counters and change notifier.

    Counters (``update_seq``, ``doc_count``, ``doc_del_count``, ``purge_seq``) live in ``meta`` and
    are mirrored here; they change only inside :meth:`write` after a successful commit.
    """

    def __init__(self, name: str, path: str):
        from .notifier import ChangesNotifier

        self.name = name
        self.path = path
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._open_lock = asyncio.Lock()
        self._write_lock = asyncio.Lock()
        self.notifier = ChangesNotifier()
        self.meta: dict[str, Any] = {}
        #: meta values staged by the running write transaction (:meth:`stage_meta`)
        self._staged: dict[str, Any] | None = None
        self.compact_running = False
        self.last_used = time.monotonic()

    # -- lifecycle -------------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self._writer is not None

    async def create(self, props: dict[str, Any], meta: dict[str, Any] | None = None) -> None:
        """Creates the file with a new instance id — schema, migrations and ``meta`` (e.g. a
        ``security`` object) in one transaction, one fsync. The caller checked it does not exist."""
        conn = await self._connect()
        values = {
            "instance_id": shortuuid.ShortUUID().random(length=10),
            "instance_start_time": str(int(time.time() * 1_000_000)),
            "update_seq": 0, "doc_count": 0, "doc_del_count": 0, "purge_seq": 0,
            "revs_limit": 1000, "purged_infos_limit": 1000,
            "security": DEFAULT_SECURITY, "props": props, **(meta or {}),
        }
        rows = ",".join(f"({_sql_str(k)}, {_sql_str(orjson.dumps(v).decode())})" for k, v in values.items())
        script = "".join(MIGRATIONS)
        await conn.executescript(f"BEGIN IMMEDIATE; {script}; PRAGMA user_version={len(MIGRATIONS)}; "
                                 f"INSERT INTO meta(key, value) VALUES {rows}; COMMIT;")
        await conn.close()

    async def _connect(self) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        for pragma in PRAGMAS:
            await conn.execute(pragma)
        return conn

    async def ensure_open(self) -> None:
        self.last_used = time.monotonic()
        if self._writer is not None:
            return
        async with self._open_lock:
            if self._writer is not None:
                return
            writer = await self._connect()
            async with writer.execute("PRAGMA user_version") as cur:
                row = await cur.fetchone()
            version = row[0] if row else 0
            for i in range(version, len(MIGRATIONS)):  # each migration and its version bump atomically
                try:
                    await writer.executescript(f"BEGIN IMMEDIATE; {MIGRATIONS[i]}; PRAGMA user_version={i + 1}; COMMIT;")
                except BaseException:
                    await writer.close()  # closing rolls the half-applied migration back
                    raise
            async with writer.execute("SELECT key, value FROM meta") as cur:
                self.meta = {k: orjson.loads(v) async for k, v in cur}
            self._reader = await self._connect()
            await self._reader.execute("PRAGMA query_only=ON")
            self._writer = writer
            self.notifier.seq = self.meta["update_seq"]

    async def close(self) -> None:
        async with self._write_lock:
            for conn in (self._writer, self._reader):
                if conn is not None:
                    await conn.close()
            self._writer = self._reader = None

    # -- properties ------------------------------------------------------------------------------

    @property
    def instance_id(self) -> str:
        return str(self.meta["instance_id"])

    @property
    def update_seq(self) -> int:
        return int(self.meta["update_seq"])

    @property
    def partitioned(self) -> bool:
        return bool(self.meta.get("props", {}).get("partitioned"))

    def format_seq(self, seq: int) -> str:
        """Opaque seq string ``"<int>-<instance id>"`` (protocol reference §1.4)."""
        return f"{seq}-{self.instance_id}"

    # -- generic access --------------------------------------------------------------------------

    async def read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """Runs a query on the reader connection and returns all rows."""
        await self.ensure_open()
        assert self._reader is not None
        async with self._reader.execute(sql, params) as cur:
            return list(await cur.fetchall())

    async def write(self, fn: Callable[[aiosqlite.Connection], Awaitable[T]],
                    meta_updates: Callable[[T], dict[str, Any]] | None = None) -> T:
        """Runs ``fn(conn)`` in one ``BEGIN IMMEDIATE … COMMIT`` under the write lock.

        ``meta_updates(result)`` returns meta keys to store in the same transaction; they are
        mirrored in memory only after the commit; so are values ``fn`` staged with :meth:`stage_meta`.
        On any exception the transaction is rolled back.
        The transaction runs shielded: a client that disconnects cannot interrupt a commit halfway
        and leave the in-memory counters behind the file.
        """
        return await asyncio.shield(self._write(fn, meta_updates))

    async def _write(self, fn: Callable[[aiosqlite.Connection], Awaitable[T]],
                     meta_updates: Callable[[T], dict[str, Any]] | None) -> T:
        async with self._write_lock:
            await self.ensure_open()
            conn = self._writer
            assert conn is not None
            await conn.execute("BEGIN IMMEDIATE")
            self._staged = {}
            try:
                result = await fn(conn)
                updates = {**self._staged, **(meta_updates(result) if meta_updates else {})}
                if updates:
                    await conn.executemany(
                        "INSERT INTO meta(key, value) VALUES (?, ?) "
                        "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                        [(k, orjson.dumps(v).decode()) for k, v in updates.items()])
                await conn.execute("COMMIT")
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
            finally:
                self._staged = None
            self.meta.update(updates)
        if "update_seq" in updates:
            await self.notifier.notify(self.update_seq)
        return result

    def stage_meta(self, key: str, value: Any) -> None:
        """Stores a meta value with the running write transaction (inside :meth:`write` only)."""
        assert self._staged is not None, "stage_meta outside a write transaction"
        self._staged[key] = value

    def current_meta(self, key: str, default: Any = None) -> Any:
        """A meta value as the running write transaction sees it (staged, else committed)."""
        if self._staged is not None and key in self._staged:
            return self._staged[key]
        return self.meta.get(key, default)

    async def checkpoint(self, mode: str = "TRUNCATE") -> None:
        """``PRAGMA wal_checkpoint(mode)`` on the writer, between transactions: with ``TRUNCATE``
        the WAL (which still holds old page images) is copied back and emptied. Best effort: a
        checkpoint blocked by a reader leaves the WAL for the next one."""
        if mode not in ("PASSIVE", "FULL", "RESTART", "TRUNCATE"):
            raise ValueError(mode)
        async with self._write_lock:
            await self.ensure_open()
            assert self._writer is not None
            await self._writer.execute(f"PRAGMA wal_checkpoint({mode})")

    async def set_meta(self, key: str, value: Any) -> None:
        """Stores one meta value durably (``revs_limit``, ``security``, …)."""
        async def noop(conn: aiosqlite.Connection) -> None:
            return None
        await self.write(noop, lambda _: {key: value})

    # -- documents -------------------------------------------------------------------------------

    async def get_doc_rows(self, doc_ids: Iterable[str], conn: aiosqlite.Connection | None = None) -> dict[str, DocRow]:
        """``docs`` rows by id (absent ids omitted); on ``conn`` (the writer) inside a write."""
        ids = list(dict.fromkeys(doc_ids))
        out: dict[str, DocRow] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            sql = ("SELECT doc_id, seq, winning_rev, deleted, rev_tree, leaves FROM docs WHERE doc_id IN ("
                   + ",".join("?" * len(chunk)) + ")")
            rows = await (_fetchall(conn, sql, chunk) if conn is not None else self.read(sql, chunk))
            for r in rows:
                out[r[0]] = DocRow(r[0], r[1], r[2], bool(r[3]), r[4], r[5])
        return out

    async def get_doc_row(self, doc_id: str) -> DocRow | None:
        return (await self.get_doc_rows([doc_id])).get(doc_id)

    async def get_revs(self, pairs: Sequence[tuple[str, str]],
                       conn: aiosqlite.Connection | None = None) -> dict[tuple[str, str], RevBody]:
        """Stored revision bodies for ``(doc_id, rev)`` pairs (absent ones omitted). Bodies kept for
        history only (``history_only``: stemmed, compacted or purged revisions) are absent here, as
        over the CouchDB API; :mod:`couchsync.audit` reads them."""
        out: dict[tuple[str, str], RevBody] = {}
        uniq = list(dict.fromkeys(pairs))
        for i in range(0, len(uniq), 400):
            chunk = uniq[i:i + 400]
            sql = ("SELECT doc_id, rev, deleted, body, atts FROM revs WHERE (doc_id, rev) IN (VALUES "
                   + ",".join(["(?,?)"] * len(chunk)) + ") AND history_only = 0")
            params = [x for pair in chunk for x in pair]
            rows = await (_fetchall(conn, sql, params) if conn is not None else self.read(sql, params))
            for d, r, deleted, body, atts in rows:
                out[(d, r)] = RevBody(bool(deleted), body, orjson.loads(atts) if atts else None)
        return out

    async def get_attachment_data(self, digest: str) -> bytes | None:
        rows = await self.read("SELECT data FROM attachments WHERE digest=?", (digest,))
        return bytes(rows[0][0]) if rows else None

    async def get_attachment_blobs(self, digests: Iterable[str]) -> dict[str, bytes]:
        ds = list(dict.fromkeys(digests))
        out: dict[str, bytes] = {}
        for i in range(0, len(ds), 500):
            chunk = ds[i:i + 500]
            rows = await self.read("SELECT digest, data FROM attachments WHERE digest IN ("
                                   + ",".join("?" * len(chunk)) + ")", chunk)
            out.update((d, bytes(b)) for d, b in rows)
        return out

    # -- local docs ------------------------------------------------------------------------------

    async def get_local(self, doc_id: str) -> tuple[int, bytes] | None:
        rows = await self.read("SELECT rev, body FROM local_docs WHERE doc_id=?", (doc_id,))
        return (rows[0][0], rows[0][1]) if rows else None

    async def put_local(self, doc_id: str, rev: int, body: bytes) -> None:
        async def fn(conn: aiosqlite.Connection) -> None:
            await conn.execute("INSERT INTO local_docs(doc_id, rev, body) VALUES (?,?,?) ON CONFLICT(doc_id) "
                               "DO UPDATE SET rev=excluded.rev, body=excluded.body", (doc_id, rev, body))
        await self.write(fn)

    async def delete_local(self, doc_id: str) -> bool:
        async def fn(conn: aiosqlite.Connection) -> bool:
            cur = await conn.execute("DELETE FROM local_docs WHERE doc_id=?", (doc_id,))
            return cur.rowcount > 0
        return await self.write(fn)


def _sql_str(text: str) -> str:
    """A SQL string literal (for the one multi-statement script of :meth:`Database.create`)."""
    return "'" + text.replace("'", "''") + "'"


async def _fetchall(conn: aiosqlite.Connection, sql: str, params: Sequence[Any]) -> list[Any]:
    async with conn.execute(sql, params) as cur:
        return list(await cur.fetchall())


def file_size(path: str) -> int:
    """Bytes on disk of the database file and its WAL."""
    total = 0
    for suffix in ("", "-wal"):
        with contextlib.suppress(OSError):
            total += os.path.getsize(path + suffix)
    return total
