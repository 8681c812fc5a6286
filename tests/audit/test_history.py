"""Reading history: ``?as_of=`` over a document edited, deleted and re-created; ``/_history``;
``_audit`` filters and pages; who may read what; history bodies kept through stemming, compaction
and purge while the CouchDB read paths still report those revisions ``missing``."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from tests.api.helpers import err, ok, rdoc, rev
from tests.tenants.world import add_hospital, add_user, create_tenant

from .helpers import iso, tick, trail, user_client


async def put(c: TestClient, db: str, doc_id: str, body: dict[str, Any]) -> str:
    return str((await ok(await c.put(f"/{db}/{doc_id}", json=body), 201))["rev"])


async def as_of(c: TestClient, db: str, doc_id: str, ms: int, **params: str) -> tuple[int, Any]:
    r = await c.get(f"/{db}/{doc_id}", params={"as_of": iso(ms), **params})
    return r.status, await r.json()


async def compact(c: TestClient, db: str) -> None:
    await ok(await c.post(f"/{db}/_compact", json={}), 202)
    for _ in range(200):
        if not (await ok(await c.get(f"/{db}")))["compact_running"]:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("compaction did not finish")


async def test_as_of_over_edits_deletion_and_recreation(client: TestClient, db: str) -> None:
    await tick()
    r1 = await put(client, db, "p", {"name": "v1"})
    await tick()
    r2 = await put(client, db, "p", {"_rev": r1, "name": "v2"})
    await tick()
    r3 = (await ok(await client.delete(f"/{db}/p?rev={r2}")))["rev"]
    await tick()
    r4 = await put(client, db, "p", {"name": "v3"})
    ts = {e["rev"]: e["ts"] for e in await trail(client, db)}
    assert await as_of(client, db, "p", ts[r1] - 1) == (404, {"error": "not_found", "reason": "missing"})
    assert await as_of(client, db, "p", ts[r1]) == (200, {"_id": "p", "_rev": r1, "name": "v1"})
    assert await as_of(client, db, "p", ts[r2] - 1) == (200, {"_id": "p", "_rev": r1, "name": "v1"})
    assert await as_of(client, db, "p", ts[r2]) == (200, {"_id": "p", "_rev": r2, "name": "v2"})
    assert await as_of(client, db, "p", ts[r3]) == (404, {"error": "not_found", "reason": "deleted"})
    assert await as_of(client, db, "p", ts[r4]) == (200, {"_id": "p", "_rev": r4, "name": "v3"})
    # a time with an offset names the same instant
    r = await client.get(f"/{db}/p", params={"as_of": iso(ts[r2]).replace("Z", "+00:00")})
    assert (await r.json())["_rev"] == r2
    # bodies of the old revisions survive compaction for history, not for the CouchDB API
    await compact(client, db)
    await err(await client.get(f"/{db}/p?rev={r1}"), 404, "not_found", "missing")
    opened = await client.get(f"/{db}/p", params={"open_revs": f'["{r1}"]'}, headers={"Accept": "application/json"})
    assert await ok(opened) == [{"missing": r1}]
    info = await ok(await client.get(f"/{db}/p?revs_info=true"))
    assert {"rev": r1, "status": "missing"} in info["_revs_info"]
    assert (await as_of(client, db, "p", ts[r1]))[1]["name"] == "v1"


async def test_as_of_follows_the_winner_of_conflicts_and_purges(client: TestClient, db: str) -> None:
    await tick()
    r1 = await put(client, db, "c", {"v": "base"})
    await tick()
    r2 = await put(client, db, "c", {"_rev": r1, "v": "mine"})
    await tick()
    other = {**rdoc("c", 3, "f", "e", v="theirs"), "_revisions": {"start": 3, "ids": ["f" * 32, "e" * 32,
                                                                                     r1.split("-")[1]]}}
    await ok(await client.post(f"/{db}/_bulk_docs", json={"new_edits": False, "docs": [other]}), 201)
    await tick()
    await ok(await client.post(f"/{db}/_purge", json={"c": [rev(3, "f")]}), 201)
    ts = [e["ts"] for e in await trail(client, db)]
    assert (await as_of(client, db, "c", ts[1]))[1]["v"] == "mine"
    assert (await as_of(client, db, "c", ts[2]))[1]["v"] == "theirs"  # the longer branch wins
    assert (await as_of(client, db, "c", ts[3]))[1]["v"] == "mine"  # purged again
    assert (await ok(await client.get(f"/{db}/c")))["_rev"] == r2
    # the purged body is kept as history
    history = await ok(await client.get(f"/{db}/c/_history"))
    assert [(h["op"], h["available"]) for h in history["history"]] == [
        ("purge", False), ("replicate", True), ("update", True), ("create", True)]
    assert history["history"][0]["info"] == {"revs": [rev(3, "f")], "removed": [rev(3, "f"), rev(2, "e")]}


async def test_stemmed_revisions_stay_in_history(client: TestClient, db: str) -> None:
    await ok(await client.put(f"/{db}/_revs_limit", data="2"))
    revs = []
    for i in range(5):
        revs.append(await put(client, db, "s", {"v": i, **({"_rev": revs[-1]} if revs else {})}))
        await tick()
    doc = await ok(await client.get(f"/{db}/s?revs=true"))
    assert len(doc["_revisions"]["ids"]) == 2
    await err(await client.get(f"/{db}/s?rev={revs[0]}"), 404, "not_found", "missing")
    history = await ok(await client.get(f"/{db}/s/_history", params={"include_docs": "true"}))
    assert [h["rev"] for h in history["history"]] == revs[::-1]
    assert all(h["available"] for h in history["history"])
    assert [h["doc"]["v"] for h in history["history"]] == [4, 3, 2, 1, 0]
    first = (await trail(client, db))[0]["ts"]
    assert (await as_of(client, db, "s", first))[1] == {"_id": "s", "_rev": revs[0], "v": 0}


async def test_history_shape_and_attachments(client: TestClient, db: str) -> None:
    data = base64.b64encode(b"scan v1").decode()
    r1 = await put(client, db, "h", {"v": 1, "_attachments": {"scan": {"content_type": "text/plain", "data": data}}})
    r2 = await put(client, db, "h", {"_rev": r1, "v": 2})
    history = await ok(await client.get(f"/{db}/h/_history"))
    assert history["id"] == "h" and "erasure" not in history
    newest, oldest = history["history"]
    assert set(newest) == {"seq", "time", "user", "roles", "address", "op", "rev", "parent", "deleted", "available"}
    assert (newest["rev"], newest["parent"], newest["op"], newest["user"]) == (r2, r1, "update", "admin")
    assert newest["time"].endswith("Z") and oldest["rev"] == r1
    with_docs = await ok(await client.get(f"/{db}/h/_history", params={"include_docs": "true",
                                                                       "attachments": "true"}))
    att = with_docs["history"][1]["doc"]["_attachments"]["scan"]
    assert att["data"] == data and att["revpos"] == 1
    status, body = await as_of(client, db, "h", (await trail(client, db))[0]["ts"])
    assert status == 200 and body["_attachments"]["scan"]["stub"] is True
    await err(await client.get(f"/{db}/nothing/_history"), 404, "not_found", "missing")
    await err(await client.get(f"/{db}/_design/none/_history"), 404, "not_found")


async def test_audit_filters_and_pages(client: TestClient, db: str) -> None:
    await tick()
    for i in range(7):
        await put(client, db, f"d{i}", {"i": i})
    await tick()
    cut = (await trail(client, db))[-1]["ts"] + 1
    await tick()
    r = await put(client, db, "late", {"x": 1})
    await ok(await client.delete(f"/{db}/late?rev={r}"))
    page1 = await ok(await client.get(f"/{db}/_audit", params={"limit": "4"}))
    assert [e["seq"] for e in page1["entries"]] == [9, 8, 7, 6] and page1["next"] == 6
    page2 = await ok(await client.get(f"/{db}/_audit", params={"limit": "4", "before": "6"}))
    assert [e["seq"] for e in page2["entries"]] == [5, 4, 3, 2] and page2["next"] == 2
    page3 = await ok(await client.get(f"/{db}/_audit", params={"limit": "4", "before": "2"}))
    assert [e["seq"] for e in page3["entries"]] == [1] and page3["next"] is None
    since = await ok(await client.get(f"/{db}/_audit", params={"since": iso(cut)}))
    assert [e["id"] for e in since["entries"]] == ["late", "late"]
    until = await ok(await client.get(f"/{db}/_audit", params={"until": iso(cut)}))
    assert len(until["entries"]) == 7
    by_doc = await ok(await client.get(f"/{db}/_audit", params={"doc_id": "late", "op": "delete"}))
    assert [(e["op"], e["id"]) for e in by_doc["entries"]] == [("delete", "late")]
    assert (await ok(await client.get(f"/{db}/_audit", params={"user": "nobody"})))["entries"] == []
    assert len((await ok(await client.get(f"/{db}/_audit", params={"user": "admin"})))["entries"]) == 9
    for params in ({"limit": "0"}, {"limit": "x"}, {"limit": "1001"}, {"before": "-1"}, {"since": "yesterday"},
                   {"until": "2026-01-01"}, {"op": "sneeze"}):
        await err(await client.get(f"/{db}/_audit", params=params), 400, "bad_request")


async def test_as_of_bad_input(client: TestClient, db: str) -> None:
    r1 = await put(client, db, "b", {"v": 1})
    await err(await client.get(f"/{db}/b", params={"as_of": "last tuesday"}), 400, "bad_request")
    await err(await client.get(f"/{db}/b", params={"as_of": "2026-11-21T10:00:00"}), 400, "bad_request")
    await err(await client.get(f"/{db}/b", params={"as_of": "2999-01-01T00:00:00Z", "rev": r1}), 400, "bad_request")
    await err(await client.get(f"/{db}/b", params={"as_of": "2999-01-01T00:00:00Z", "open_revs": "all"}),
              400, "bad_request")
    assert (await ok(await client.get(f"/{db}/b", params={"as_of": "2999-01-01T00:00:00Z"})))["_rev"] == r1
    await err(await client.get(f"/{db}/zzz", params={"as_of": "2999-01-01T00:00:00Z"}), 404, "not_found", "missing")


@pytest.fixture
async def clinic(server: TestServer, client: TestClient) -> AsyncIterator[dict[str, Any]]:
    db = await create_tenant(client, "History Clinic")
    for h in ("HA", "HB"):
        await add_hospital(client, db, h)
    await add_user(client, db, "h-admin", "admin", [])
    await add_user(client, db, "h-nurse", "staff", ["HA"])
    admin = await user_client(server, "h-admin", "pass-word-1")
    nurse = await user_client(server, "h-nurse", "pass-word-1")
    yield {"db": db, "admin": admin, "nurse": nurse}
    for c in (admin, nurse):
        await c.session.close()


async def test_who_reads_history(server: TestServer, client: TestClient, anon: TestClient,
                                 clinic: dict[str, Any], db: str) -> None:
    tdb, admin, nurse = clinic["db"], clinic["admin"], clinic["nurse"]
    await put(admin, tdb, "HA:p", {"v": 1})
    await put(admin, tdb, "HB:q", {"v": 1})
    await put(admin, tdb, "_design/app", {"views": {}})
    await ok(await admin.post(f"/{tdb}/_erase", json={"doc_ids": ["HB:q"], "reason": "r"}), 201)
    everything = await ok(await admin.get(f"/{tdb}/_audit"))
    assert {e["id"] for e in everything["entries"]} == {"HA:p", "HB:q", "_design/app", None}
    mine = await ok(await nurse.get(f"/{tdb}/_audit"))
    assert [e["id"] for e in mine["entries"]] == ["HA:p"]  # no other hospital, no design doc, no erase record
    await err(await nurse.get(f"/{tdb}/_audit", params={"doc_id": "HB:q"}), 403, "forbidden")
    assert (await ok(await nurse.get(f"/{tdb}/HA:p/_history")))["history"][0]["user"] == "h-admin"
    await err(await nurse.get(f"/{tdb}/HB:q/_history"), 403, "forbidden")
    await err(await nurse.get(f"/{tdb}/_design/app/_history"), 403, "forbidden")
    assert (await ok(await nurse.get(f"/{tdb}/HA:p", params={"as_of": "2999-01-01T00:00:00Z"})))["v"] == 1
    await err(await nurse.get(f"/{tdb}/HB:q", params={"as_of": "2999-01-01T00:00:00Z"}), 403, "forbidden")
    await err(await nurse.get(f"/{tdb}/_audit/_verify"), 403, "forbidden")
    assert (await ok(await admin.get(f"/{tdb}/_audit/_verify")))["ok"] is True
    await err(await anon.get(f"/{tdb}/_audit"), 401, "unauthorized")
    await err(await anon.get(f"/{tdb}/HA:p/_history"), 401, "unauthorized")
    # a plain member of a non-tenant database reads documents, not their history
    await ok(await client.put("/_users/org.couchdb.user:bob", json={
        "name": "bob", "password": "pw", "roles": [], "type": "user"}), 201)
    await ok(await client.put(f"/{db}/_security", json={"members": {"names": ["bob"]}}))
    await put(client, db, "x", {"v": 1})
    bob = await user_client(server, "bob", "pw")
    try:
        assert (await ok(await bob.get(f"/{db}/x")))["v"] == 1
        await err(await bob.get(f"/{db}/_audit"), 403, "forbidden")
        await err(await bob.get(f"/{db}/x/_history"), 403, "forbidden")
        await err(await bob.get(f"/{db}/x", params={"as_of": "2999-01-01T00:00:00Z"}), 403, "forbidden")
    finally:
        await bob.session.close()
