"""The databases of a data dir: name rules, create, open (LRU of open handles), delete, list.

Each database is ``<data_dir>/dbs/<name with "/" as "%2F">.sqlite``. :class:`Database` objects stay
in memory (they carry the change notifier); only their SQLite connections are closed when more than
``max_open`` databases are open, least recently used first, and reopened on the next use.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sqlite3
import time
from typing import Any

import orjson

from ..errors import CouchError, DatabaseNotFound, FileExists, IllegalDatabaseName
from .database import Database

DB_NAME_RE = re.compile(r"^[a-z][a-z0-9_$()+/-]*$")
SYSTEM_DBS = frozenset({"_users", "_replicator", "_global_changes"})


def validate_db_name(name: str) -> str:
    """Returns ``name``; raises ``IllegalDatabaseName`` (400) with CouchDB's reason.

    CouchDB: couch_db ``validate_dbname`` (regex ``^[a-z][a-z0-9_$()+/-]*$`` or a system db).
    """
    if name in SYSTEM_DBS or (DB_NAME_RE.match(name) and len(name) <= 238):
        return name
    raise IllegalDatabaseName(
        f"Name: '{name}'. Only lowercase characters (a-z), digits (0-9), and any of the characters _, $, (, ), +, -, "
        "and / are allowed. Must begin with a letter.")


def _file_name(name: str) -> str:
    return name.replace("/", "%2F") + ".sqlite"


def _db_name(file_name: str) -> str:
    return file_name[: -len(".sqlite")].replace("%2F", "/")


class Registry:
    """Creates, opens, lists and deletes databases under ``data_dir/dbs``."""

    def __init__(self, data_dir: str, max_open: int = 200):
        self.dir = os.path.join(data_dir, "dbs")
        os.makedirs(self.dir, exist_ok=True)
        self.max_open = max_open
        self._dbs: dict[str, Database] = {}
        self._lock = asyncio.Lock()

    def path(self, name: str) -> str:
        return os.path.join(self.dir, _file_name(name))

    def exists(self, name: str) -> bool:
        return os.path.exists(self.path(name))

    def all_dbs(self) -> list[str]:
        """All database names, sorted by raw byte order."""
        names = [_db_name(f) for f in os.listdir(self.dir) if f.endswith(".sqlite")]
        return sorted(names, key=lambda n: n.encode())

    async def create(self, name: str, props: dict[str, Any] | None = None,
                     meta: dict[str, Any] | None = None) -> Database:
        """Raises ``IllegalDatabaseName`` (400) or ``FileExists`` (412)."""
        validate_db_name(name)
        props = props or {}
        if props.get("partitioned") and name in SYSTEM_DBS:
            raise CouchError("Cannot partition a system database", status=400, error="bad_request")
        async with self._lock:
            if self.exists(name):
                raise FileExists()
            db = Database(name, self.path(name))
            await db.create(props, meta)
            self._dbs[name] = db
        await self._evict()
        return db

    async def get(self, name: str) -> Database:
        """The open database; raises ``IllegalDatabaseName`` (400) or ``DatabaseNotFound`` (404)."""
        db = self._dbs.get(name)
        if db is None:
            validate_db_name(name)
        if db is None or not self.exists(name):
            if not self.exists(name):
                raise DatabaseNotFound()
            async with self._lock:
                db = self._dbs.get(name)
                if db is None:
                    db = self._dbs[name] = Database(name, self.path(name))
        was_open = db.is_open
        await db.ensure_open()
        if not was_open:
            await self._evict()
        return db

    async def delete(self, name: str) -> None:
        """Closes and removes the files; raises ``DatabaseNotFound``."""
        async with self._lock:
            if not self.exists(name):
                raise DatabaseNotFound()
            db = self._dbs.pop(name, None)
            if db is not None:
                await db.close()
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.path(name) + suffix)

    def peek_meta(self, name: str, key: str) -> Any:
        """One ``meta`` value read straight from the file (no handle kept open, so listing many
        databases does not fill the LRU); ``None`` if absent. Blocking: call it in a thread."""
        if name in self._dbs and self._dbs[name].is_open:
            return self._dbs[name].meta.get(key)
        conn = sqlite3.connect(f"file:{self.path(name)}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error:
            return None
        finally:
            conn.close()
        return orjson.loads(row[0]) if row else None

    async def _evict(self) -> None:
        open_dbs = [d for d in self._dbs.values() if d.is_open]
        if len(open_dbs) <= self.max_open:
            return
        open_dbs.sort(key=lambda d: d.last_used)
        idle_before = time.monotonic() - 5.0  # never close a handle a request may still be using
        for db in open_dbs[: len(open_dbs) - self.max_open]:
            if db.last_used < idle_before:
                await db.close()

    async def close_all(self) -> None:
        for db in list(self._dbs.values()):
            await db.close()
