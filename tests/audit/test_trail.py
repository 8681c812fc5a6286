"""Audit entries for every write path, by the right user, in the same transaction as the revision.

Paths: PUT (create, update, re-create), POST /{db}, DELETE, COPY, standalone attachments, ``_bulk_docs``
in both modes, update functions, ``_purge``, ``_erase``, retention changes; users: server admin,
tenant admin, staff (and their refused writes, which record nothing); the audit switched off.
"""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from couchsync.api.app import create_app
from couchsync.settings import Settings
from tests.api.conftest import ADMIN
from tests.api.helpers import err, ok, rdoc, rev
from tests.tenants.world import add_hospital, add_user, create_tenant

from .helpers import trail, user_client

JSON = {"Content-Type": "application/json"}
HEX64 = re.compile(r"^[0-9a-f]{64}$")


async def put(c: TestClient, db: str, doc_id: str, body: dict[str, Any], status: int = 201) -> str:
    return str((await ok(await c.put(f"/{db}/{doc_id}", json=body), status))["rev"])


def summary(entries: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(e["op"], e["id"], e["rev"], e["parent"], e["deleted"]) for e in entries]


def check_chain_shape(entries: list[dict[str, Any]]) -> None:
    assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1))
    assert all(a["ts"] <= b["ts"] for a, b in zip(entries, entries[1:], strict=False))
    assert all(a["hash"] == b["prev"] for a, b in zip(entries, entries[1:], strict=False))
    assert entries[0]["prev"] == "0" * 64 and all(HEX64.match(e["hash"]) for e in entries)


async def test_interactive_paths_record_one_entry_per_revision(client: TestClient, db: str) -> None:
    r1 = await put(client, db, "a", {"v": 1})
    r2 = await put(client, db, "a", {"_rev": r1, "v": 2})
    r3 = str((await ok(await client.delete(f"/{db}/a?rev={r2}")))["rev"])
    r4 = await put(client, db, "a", {"v": "again"})
    posted = await ok(await client.post(f"/{db}", json={"_id": "b", "x": 1}), 201)
    copied = await ok(await client.request("COPY", f"/{db}/b", headers={"Destination": "c"}), 201)
    att = await ok(await client.put(f"/{db}/b/f.txt?rev={posted['rev']}", data=b"hello",
                                    headers={"Content-Type": "text/plain"}), 201)
    att_del = await ok(await client.delete(f"/{db}/b/f.txt?rev={att['rev']}"))
    entries = await trail(client, db)
    assert summary(entries) == [
        ("create", "a", r1, None, False),
        ("update", "a", r2, r1, False),
        ("delete", "a", r3, r2, True),
        ("create", "a", r4, r3, False),  # re-creation on the deleted leaf
        ("create", "b", posted["rev"], None, False),
        ("create", "c", copied["rev"], None, False),
        ("update", "b", att["rev"], posted["rev"], False),
        ("update", "b", att_del["rev"], att["rev"], False),
    ]
    check_chain_shape(entries)
    for e in entries:
        assert (e["user"], e["roles"], e["address"]) == ("admin", ["_admin"], "127.0.0.1")
        assert e["digest"].startswith("sha256-") and len(e["digest"]) == 7 + 64
        assert e["partition"] is None and e["info"] is None and "erased" not in e
    # db_seq is the seq the write produced, as _changes shows it
    changes = await ok(await client.get(f"/{db}/_changes"))
    last_seq = {row["id"]: row["seq"] for row in changes["results"]}
    assert entries[-1]["db_seq"] == last_seq["b"] and entries[5]["db_seq"] == last_seq["c"]


async def test_bulk_docs_both_modes(client: TestClient, db: str) -> None:
    r1 = await put(client, db, "x", {"v": 1})
    res = await ok(await client.post(f"/{db}/_bulk_docs", json={"docs": [
        {"_id": "x", "_rev": r1, "v": 2}, {"_id": "y"}, {"_id": "x", "_rev": r1, "v": "conflict"}]}), 201)
    assert [("error" in r) for r in res] == [False, False, True]
    before = len(await trail(client, db))
    assert before == 3
    # replicated: a new path (two revs, one body) and a rev already present (no entry, no seq)
    replicated = [rdoc("z", 2, "b", "a", v="r"), rdoc("z", 2, "b", "a", v="r")]
    await ok(await client.post(f"/{db}/_bulk_docs", json={"new_edits": False, "docs": replicated}), 201)
    await ok(await client.post(f"/{db}/_bulk_docs", json={"new_edits": False, "docs": replicated[:1]}), 201)
    entries = await trail(client, db)
    assert summary(entries) == [
        ("create", "x", r1, None, False), ("update", "x", res[0]["rev"], r1, False),
        ("create", "y", res[1]["rev"], None, False), ("replicate", "z", rev(2, "b"), rev(1, "a"), False)]
    # PUT ?new_edits=false is replication too, a deletion keeps its flag
    await ok(await client.put(f"/{db}/z?new_edits=false", json={**rdoc("z", 3, "c", "b"), "_deleted": True}))
    last = (await trail(client, db))[-1]
    assert (last["op"], last["rev"], last["parent"], last["deleted"]) == ("replicate", rev(3, "c"), rev(2, "b"), True)


async def test_failed_writes_record_nothing(client: TestClient, db: str) -> None:
    r1 = await put(client, db, "x", {"v": 1})
    await err(await client.put(f"/{db}/x", json={"v": "no rev"}), 409, "conflict")
    # a whole-batch failure (412 missing stub) rolls the entries of its other documents back too
    await err(await client.post(f"/{db}/_bulk_docs", json={"docs": [
        {"_id": "fresh"}, {"_id": "x", "_rev": r1, "_attachments": {"f": {"stub": True}}}]}), 412, "missing_stub")
    vdu = "function (newDoc) { if (newDoc.bad) throw({forbidden: 'bad'}); }"
    await put(client, db, "_design/v", {"validate_doc_update": vdu})
    await err(await client.put(f"/{db}/x", json={"_rev": r1, "bad": True}), 403, "forbidden")
    assert [(e["op"], e["id"]) for e in await trail(client, db)] == [("create", "x"), ("create", "_design/v")]
    assert (await ok(await client.get(f"/{db}/_audit/_verify")))["ok"] is True


async def test_update_function_is_recorded(client: TestClient, db: str) -> None:
    bump = ("function (doc, req) { if (!doc) { return [{_id: req.id, n: 1}, 'new']; }"
            " doc.n = doc.n + 1; return [doc, 'bumped']; }")
    await put(client, db, "_design/u", {"updates": {"bump": bump}})
    r = await client.post(f"/{db}/_design/u/_update/bump/counter")
    assert r.status == 201, await r.text()
    r = await client.put(f"/{db}/_design/u/_update/bump/counter")
    assert r.status == 201
    new_rev = r.headers["X-Couch-Update-NewRev"]
    entries = await trail(client, db, doc_id="counter")
    assert [(e["op"], e["user"]) for e in entries] == [("create", "admin"), ("update", "admin")]
    assert entries[-1]["rev"] == new_rev


async def test_purge_erase_and_retention_are_recorded(client: TestClient, db: str) -> None:
    r1 = await put(client, db, "p", {"v": 1})
    r2 = await put(client, db, "p", {"_rev": r1, "v": 2})
    await ok(await client.post(f"/{db}/_purge", json={"p": [r2]}), 201)
    await put(client, db, "e", {"secret": 1})
    await ok(await client.post(f"/{db}/_erase", json={"doc_ids": ["e"], "reason": "request 42"}), 201)
    await ok(await client.put(f"/{db}/_audit/_retention", json={"max_age_seconds": 86400}))
    entries = await trail(client, db)
    purge = next(e for e in entries if e["op"] == "purge")
    assert (purge["id"], purge["rev"], purge["info"]) == ("p", None, {"revs": [r2], "removed": [r2, r1]})
    assert purge["db_seq"] is None  # the document is gone
    erase = next(e for e in entries if e["op"] == "erase")
    assert (erase["id"], erase["info"]) == (None, {"doc_ids": ["e"], "reason": "request 42"})
    tomb = next(e for e in entries if e["op"] == "tombstone")
    assert (tomb["id"], tomb["deleted"]) == ("e", True) and tomb["seq"] == erase["seq"] + 1
    assert entries[-1]["op"] == "retention" and entries[-1]["info"] == {"max_age_seconds": 86400}
    assert {e["user"] for e in entries} == {"admin"}


@pytest.fixture
async def tenant(server: TestServer, client: TestClient) -> AsyncIterator[dict[str, Any]]:
    db = await create_tenant(client, "Audit Clinic")
    for h in ("HA", "HB"):
        await add_hospital(client, db, h)
    await add_user(client, db, "t-admin", "admin", [])
    await add_user(client, db, "nurse-a", "staff", ["HA"])
    clients = {"admin": await user_client(server, "t-admin", "pass-word-1"),
               "nurse": await user_client(server, "nurse-a", "pass-word-1")}
    yield {"db": db, **clients}
    for c in clients.values():
        await c.session.close()


async def test_tenant_users_roles_and_partitions(client: TestClient, tenant: dict[str, Any]) -> None:
    db, admin, nurse = tenant["db"], tenant["admin"], tenant["nurse"]
    await put(admin, db, "HB:p1", {"v": 1})
    await put(nurse, db, "HA:p2", {"v": 1})
    await err(await nurse.put(f"/{db}/HB:p3", json={"v": 1}), 403, "forbidden")
    res = await ok(await nurse.post(f"/{db}/_bulk_docs", json={"docs": [{"_id": "HA:p4"}, {"_id": "HB:p5"}]}), 201)
    assert "error" in res[1]
    entries = await trail(client, db)
    assert [(e["user"], e["id"], e["partition"]) for e in entries] == [
        ("t-admin", "HB:p1", "HB"), ("nurse-a", "HA:p2", "HA"), ("nurse-a", "HA:p4", "HA")]
    assert f"{db}:admin" in entries[0]["roles"]
    assert f"{db}:hospital:HA" in entries[1]["roles"]
    verified = await ok(await client.get(f"/{db}/_audit/_verify"))
    assert (verified["ok"], verified["bodies_checked"]) == (True, 3)


@pytest.fixture
async def no_audit_client(data_dir: str) -> AsyncIterator[TestClient]:
    import os

    import aiohttp

    srv = TestServer(create_app(Settings(data_dir=os.path.join(data_dir, "noaudit"), admin=":".join(ADMIN),
                                         bcrypt_rounds=4, audit=False)))
    await srv.start_server()
    c = TestClient(srv, headers={"Authorization": aiohttp.encode_basic_auth(*ADMIN)})
    await c.start_server()
    yield c
    await c.close()


async def test_audit_off_records_nothing_and_compaction_drops_bodies(no_audit_client: TestClient) -> None:
    c = no_audit_client
    await ok(await c.put("/plain"), 201)
    r1 = await put(c, "plain", "d", {"v": 1, "_attachments": {
        "f": {"content_type": "text/plain", "data": base64.b64encode(b"x").decode()}}})
    await put(c, "plain", "d", {"_rev": r1, "v": 2})
    await ok(await c.post("/plain/_compact", json={}), 202)
    for _ in range(100):
        if not (await ok(await c.get("/plain")))["compact_running"]:
            break
    assert (await ok(await c.get("/plain/_audit")))["entries"] == []
    assert (await c.get(f"/plain/d?rev={r1}")).status == 404
    verified = await ok(await c.get("/plain/_audit/_verify"))
    assert (verified["ok"], verified["entries"], verified["head"]["seq"]) == (True, 0, 0)
