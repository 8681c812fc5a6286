"""A database file from before the audit trail (schema version 3) upgrades on open: its documents
stay readable, writes are audited from then on, and history covers what the trail saw."""

from __future__ import annotations

import sqlite3

import orjson
from aiohttp.test_utils import TestClient, TestServer

from couchsync.api.context import STATE
from couchsync.storage.database import DEFAULT_SECURITY
from couchsync.storage.schema import MIGRATIONS
from tests.api.helpers import ok

from .helpers import trail

OLD_VERSION = 3
REV = "1-" + "a" * 32


def _old_file(path: str) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript("BEGIN; " + "".join(MIGRATIONS[:OLD_VERSION]) + f"; PRAGMA user_version={OLD_VERSION}; COMMIT;")
    meta = {"instance_id": "oldinstanc", "instance_start_time": "0", "update_seq": 1, "doc_count": 1,
            "doc_del_count": 0, "purge_seq": 0, "revs_limit": 1000, "purged_infos_limit": 1000,
            "security": DEFAULT_SECURITY, "props": {}}
    conn.executemany("INSERT INTO meta VALUES (?, ?)", [(k, orjson.dumps(v).decode()) for k, v in meta.items()])
    conn.execute("INSERT INTO docs VALUES (?,?,?,?,?,?,?)",
                 ("legacy", 1, REV, 0, orjson.dumps([[REV, None, 0, 1]]), orjson.dumps([[REV, 0]]), None))
    conn.execute("INSERT INTO revs VALUES (?,?,?,?,?)", ("legacy", REV, 0, b'{"v":"before"}', None))
    conn.close()


async def test_pre_audit_database_upgrades(server: TestServer, client: TestClient) -> None:
    assert len(MIGRATIONS) > OLD_VERSION
    _old_file(server.app[STATE].registry.path("olddb"))
    assert (await ok(await client.get("/olddb/legacy")))["v"] == "before"
    new = (await ok(await client.put("/olddb/legacy", json={"_rev": REV, "v": "after"}), 201))["rev"]
    entries = await trail(client, "olddb")
    assert [(e["seq"], e["op"], e["rev"], e["parent"]) for e in entries] == [(1, "update", new, REV)]
    history = (await ok(await client.get("/olddb/legacy/_history")))["history"]
    assert [h["rev"] for h in history] == [new]
    assert (await ok(await client.get("/olddb/_audit/_verify")))["ok"] is True
    conn = sqlite3.connect(server.app[STATE].registry.path("olddb"))
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    finally:
        conn.close()
