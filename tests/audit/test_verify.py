"""``GET /{db}/_audit/_verify``: the hash chain catches entries edited, removed or truncated, and
stored bodies altered, when someone with access to the SQLite file tampers with it."""

from __future__ import annotations

import hashlib

from aiohttp.test_utils import TestClient, TestServer
from click.testing import CliRunner

from couchsync.cli.audit import audit as audit_cli
from tests.api.helpers import err, ok

from .helpers import sqlite, trail


async def _history(client: TestClient, db: str, n: int = 5) -> None:
    rev = None
    for i in range(n):
        body = {"v": i, **({"_rev": rev} if rev else {})}
        rev = (await ok(await client.put(f"/{db}/doc", json=body), 201))["rev"]
    await ok(await client.put(f"/{db}/other", json={"w": 1}), 201)


async def verify(client: TestClient, db: str, **params: str) -> dict[str, object]:
    return dict(await ok(await client.get(f"/{db}/_audit/_verify", params=params)))


async def test_intact_chain_verifies(client: TestClient, db: str) -> None:
    await _history(client, db)
    result = await verify(client, db)
    entries = await trail(client, db)
    assert result == {"ok": True, "entries": 6, "head": {"seq": 6, "hash": entries[-1]["hash"]},
                      "bodies_checked": 6}


async def test_an_edited_entry_is_caught(server: TestServer, client: TestClient, db: str) -> None:
    await _history(client, db)
    with sqlite(server, db) as conn:
        conn.execute("UPDATE audit SET user = 'mallory' WHERE seq = 3")
    result = await verify(client, db)
    assert result["ok"] is False
    assert result["broken"] == {"seq": 3, "reason": "hash mismatch", "detail": "entry 3 does not match its hash"}


async def test_an_edited_and_rehashed_entry_breaks_the_next_link(server: TestServer, client: TestClient,
                                                                  db: str) -> None:
    await _history(client, db)
    with sqlite(server, db) as conn:
        conn.execute("UPDATE audit SET ts = ts - 86400000 WHERE seq = 3")
        from couchsync.audit.chain import entry_hash
        from couchsync.audit.store import COLS, from_row

        row = conn.execute(f"SELECT {COLS} FROM audit WHERE seq = 3").fetchone()
        conn.execute("UPDATE audit SET hash = ? WHERE seq = 3", (entry_hash(bytes(row[14]), from_row(row)),))
    broken = (await verify(client, db))["broken"]
    assert isinstance(broken, dict) and (broken["seq"], broken["reason"]) == (4, "prev mismatch")


async def test_a_removed_entry_is_caught(server: TestServer, client: TestClient, db: str) -> None:
    await _history(client, db)
    with sqlite(server, db) as conn:
        conn.execute("DELETE FROM audit WHERE seq = 2")
    broken = (await verify(client, db))["broken"]
    assert isinstance(broken, dict) and (broken["seq"], broken["reason"]) == (2, "missing entry")


async def test_removed_last_entries_are_caught(server: TestServer, client: TestClient, db: str) -> None:
    await _history(client, db)
    with sqlite(server, db) as conn:
        conn.execute("DELETE FROM audit WHERE seq >= 5")
    broken = (await verify(client, db))["broken"]
    assert isinstance(broken, dict) and (broken["seq"], broken["reason"]) == (5, "truncated")


async def test_an_altered_body_is_caught(server: TestServer, client: TestClient, db: str) -> None:
    await _history(client, db)
    with sqlite(server, db) as conn:
        conn.execute("""UPDATE revs SET body = '{"v":"forged"}' WHERE doc_id = 'doc' AND rev LIKE '2-%'""")
    result = await verify(client, db)
    broken = result["broken"]
    assert isinstance(broken, dict) and (broken["seq"], broken["reason"]) == (2, "body digest mismatch")
    assert (await verify(client, db, bodies="false"))["ok"] is True


async def test_digests_commit_to_the_stored_body(server: TestServer, client: TestClient, db: str) -> None:
    await _history(client, db, 1)
    with sqlite(server, db) as conn:
        salt, digest = conn.execute("SELECT salt, digest FROM audit WHERE seq = 1").fetchone()
        body = conn.execute("SELECT body FROM revs WHERE doc_id = 'doc'").fetchone()[0]
    assert hashlib.sha256(salt + b"\0" + body + b"\0").digest() == digest
    assert (await trail(client, db))[0]["digest"] == "sha256-" + digest.hex()


async def test_verify_is_for_db_admins(client: TestClient, anon: TestClient, db: str) -> None:
    await err(await anon.get(f"/{db}/_audit/_verify"), 401, "unauthorized")
    await err(await client.post(f"/{db}/_audit/_verify", json={}), 405, "method_not_allowed")
    await err(await client.get("/missing-db/_audit/_verify"), 404, "not_found")


async def test_cli_prints_trail_and_verifies(server: TestServer, client: TestClient, db: str) -> None:
    import asyncio

    await _history(client, db, 2)
    url = str(server.make_url("")).rstrip("/")
    runner = CliRunner()
    args = ["--url", url, "--user", "admin:secret"]
    res = await asyncio.to_thread(runner.invoke, audit_cli, [db, "--doc", "doc", *args])
    assert res.exit_code == 0, res.output
    assert "create" in res.output and "update" in res.output and "admin" in res.output
    assert "other" not in res.output
    res = await asyncio.to_thread(runner.invoke, audit_cli, ["verify", db, *args])
    assert res.exit_code == 0 and "ok" in res.output and "3 entries" in res.output, res.output
    with sqlite(server, db) as conn:
        conn.execute("DELETE FROM audit WHERE seq = 2")
    res = await asyncio.to_thread(runner.invoke, audit_cli, ["verify", db, *args])
    assert res.exit_code == 1 and "broken at entry 2: missing entry" in res.output, res.output
    res = await asyncio.to_thread(runner.invoke, audit_cli, ["nope-db", *args])
    assert res.exit_code == 1 and "404 not_found" in res.output
