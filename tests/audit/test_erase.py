"""``POST /{db}/_erase``: after erasure no endpoint returns a byte of the erased content — document
reads (``rev``, ``open_revs`` JSON and multipart, ``revs_info``), attachments, ``_bulk_get``,
``_all_docs``, ``_changes`` with ``include_docs``, views (stale and updated), ``_find`` (with and
without an index), ``/_history``, ``as_of``, ``_audit`` — nor does the file; the chain still verifies
and the erasure is recorded. Also: permissions, bad bodies, idempotence, re-creation, stale clients,
shared attachment blobs, the view-row trigger."""

from __future__ import annotations

import base64
import uuid
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from tests.api.helpers import err, ok, rev

from .helpers import file_bytes, iso, sqlite, tick, trail

VIEW = "function (doc) { if (doc.name) { emit(doc.name, doc.ssn || null); } }"


class Leak:
    """Collects every response body and checks none holds a secret token."""

    def __init__(self, *tokens: str) -> None:
        self.tokens = [t.encode() for t in tokens] + [base64.b64encode(t.encode()) for t in tokens]
        self.seen: list[tuple[str, bytes]] = []

    async def get(self, c: TestClient, method: str, path: str, status: int | None = None, **kw: Any) -> bytes:
        r = await c.request(method, path, **kw)
        body = await r.read()
        if status is not None:
            assert r.status == status, (path, r.status, body[:300])
        self.seen.append((f"{method} {path} {kw.get('params', '')}", body))
        return body

    def check(self) -> None:
        for what, body in self.seen:
            for tok in self.tokens:
                assert tok not in body, f"{tok!r} leaked by {what}: {body[:400]!r}"


async def _put(c: TestClient, db: str, doc_id: str, body: dict[str, Any]) -> str:
    return str((await ok(await c.put(f"/{db}/{doc_id}", json=body), 201))["rev"])


async def _compact(c: TestClient, db: str) -> None:
    import asyncio

    await ok(await c.post(f"/{db}/_compact", json={}), 202)
    for _ in range(200):
        if not (await ok(await c.get(f"/{db}")))["compact_running"]:
            return
        await asyncio.sleep(0.01)


async def _seed(c: TestClient, db: str, secret: str, att: str) -> dict[str, Any]:
    """``pat``: v1 (with an attachment) → v2, a replicated conflict branch, compacted (v1 is
    history only); a view and a Mango index built over it; an innocent ``keep`` document."""
    await tick()
    data = base64.b64encode(att.encode()).decode()
    v1 = await _put(c, db, "pat", {"name": f"{secret}-v1", "ssn": secret,
                                   "_attachments": {"scan.txt": {"content_type": "text/plain", "data": data}}})
    await tick()
    v2 = await _put(c, db, "pat", {"_rev": v1, "name": f"{secret}-v2", "ssn": secret,
                                   "_attachments": {"scan.txt": {"stub": True}}})
    branch = {"_id": "pat", "_rev": rev(2, "b"), "_revisions": {"start": 2, "ids": ["b" * 32, v1.split("-")[1]]},
              "name": f"{secret}-branch"}
    await ok(await c.post(f"/{db}/_bulk_docs", json={"new_edits": False, "docs": [branch]}), 201)
    await _put(c, db, "keep", {"name": "innocent", "ssn": "000"})
    await ok(await c.put(f"/{db}/_local/ck", json={"last": 1}), 201)
    await _put(c, db, "_design/v", {"views": {"by_name": {"map": VIEW}}})
    rows = (await ok(await c.get(f"/{db}/_design/v/_view/by_name")))["rows"]
    assert any(secret in r["key"] for r in rows)
    await _compact(c, db)
    return {"v1": v1, "v2": v2, "branch": rev(2, "b")}


async def test_erased_content_is_gone_from_every_read_path(server: TestServer, client: TestClient, db: str) -> None:
    secret, att = f"SECRET-{uuid.uuid4().hex}", f"ATTDATA-{uuid.uuid4().hex}"
    revs = await _seed(client, db, secret, att)
    await tick()
    times = {e["rev"]: e["ts"] for e in await trail(client, db, doc_id="pat")}

    res = await ok(await client.post(f"/{db}/_erase", json={"doc_ids": ["pat"], "reason": "GDPR art. 17"}), 201)
    (result,) = res["results"]
    assert result["id"] == "pat" and result["ok"] is True and result["rev"].startswith("3-")
    tombstone = result["rev"]

    leak = Leak(secret, att)
    g = leak.get
    assert (await ok(await client.get(f"/{db}/pat"), 404))["reason"] == "deleted"
    body = await g(client, "GET", f"/{db}/pat", 200, params={"rev": tombstone})
    import orjson

    assert orjson.loads(body) == {"_id": "pat", "_rev": tombstone, "_deleted": True, "erased": True}
    for r in revs.values():
        await g(client, "GET", f"/{db}/pat", 404, params={"rev": r})
        await g(client, "GET", f"/{db}/pat/scan.txt", 404, params={"rev": r})
    await g(client, "GET", f"/{db}/pat/scan.txt", 404)
    opened = orjson.loads(await g(client, "GET", f"/{db}/pat", 200, params={"open_revs": "all"},
                                  headers={"Accept": "application/json"}))
    assert sorted(o["ok"]["_rev"][:2] for o in opened) == ["3-", "3-"]
    assert all(o["ok"] == {"_id": "pat", "_rev": o["ok"]["_rev"], "_deleted": True, "erased": True} for o in opened)
    await g(client, "GET", f"/{db}/pat", 200, params={"open_revs": "all", "revs": "true", "attachments": "true"})
    old = orjson.dumps(list(revs.values())).decode()
    missing = orjson.loads(await g(client, "GET", f"/{db}/pat", 200, params={"open_revs": old},
                                   headers={"Accept": "application/json"}))
    assert [m.get("missing") for m in missing] == list(revs.values())
    await g(client, "GET", f"/{db}/pat", 200, params={"open_revs": old, "latest": "true"})
    await g(client, "GET", f"/{db}/pat", 200, params={"rev": tombstone, "revs_info": "true", "conflicts": "true",
                                                      "deleted_conflicts": "true"})
    await g(client, "POST", f"/{db}/_bulk_get", 200, params={"revs": "true", "attachments": "true"},
            json={"docs": [{"id": "pat"}, *({"id": "pat", "rev": r} for r in revs.values())]})
    await g(client, "GET", f"/{db}/_all_docs", 200, params={"include_docs": "true", "attachments": "true"})
    await g(client, "POST", f"/{db}/_all_docs", 200, params={"include_docs": "true"}, json={"keys": ["pat"]})
    changes = orjson.loads(await g(client, "GET", f"/{db}/_changes", 200, params={
        "include_docs": "true", "style": "all_docs", "conflicts": "true", "attachments": "true"}))
    row = next(r for r in changes["results"] if r["id"] == "pat")
    assert row["deleted"] is True and row["doc"]["erased"] is True
    await g(client, "GET", f"/{db}/_changes", 200, params={"include_docs": "true", "feed": "longpoll",
                                                           "since": "0"})
    # views: rows are gone at once, before any index update, and stay gone after one
    stale = orjson.loads(await g(client, "GET", f"/{db}/_design/v/_view/by_name", 200, params={"update": "false"}))
    assert [r["id"] for r in stale["rows"]] == ["keep"]
    await g(client, "GET", f"/{db}/_design/v/_view/by_name", 200, params={"include_docs": "true"})
    await g(client, "POST", f"/{db}/_design/v/_view/by_name", 200, json={"keys": [f"{secret}-v2"]})
    history = orjson.loads(await g(client, "GET", f"/{db}/pat/_history", 200,
                                   params={"include_docs": "true", "attachments": "true"}))
    assert [(h["op"], h["available"], h.get("erased", False)) for h in history["history"]] == [
        ("tombstone", True, False), ("tombstone", True, False), ("replicate", False, True),
        ("update", False, True), ("create", False, True)]
    assert history["erasure"]["reason"] == "GDPR art. 17" and history["erasure"]["user"] == "admin"
    for r, ts in times.items():
        assert orjson.loads(await g(client, "GET", f"/{db}/pat", 404, params={"as_of": iso(ts)}))["reason"] \
            == "erased", r
    assert orjson.loads(await g(client, "GET", f"/{db}/pat", 404,
                                params={"as_of": "2999-01-01T00:00:00Z"}))["reason"] == "deleted"
    await g(client, "GET", f"/{db}/_audit", 200)
    leak.check()
    # the innocent document, the local checkpoint and the index of the rest are untouched
    assert (await ok(await client.get(f"/{db}/keep")))["name"] == "innocent"
    assert (await ok(await client.get(f"/{db}/_local/ck")))["last"] == 1
    # ... and not a byte is left in the file
    data = file_bytes(server, db)
    assert secret.encode() not in data and att.encode() not in data
    assert b"innocent" in data
    verified = await ok(await client.get(f"/{db}/_audit/_verify"))
    assert verified["ok"] is True, verified


async def test_erased_content_is_gone_from_find(server: TestServer, client: TestClient, db: str) -> None:
    """``_find`` without an index (bodies from ``revs``) and with a json index (rows in ``view_rows``,
    built before the erasure)."""
    import orjson

    secret = f"SECRET-{uuid.uuid4().hex}"
    await _put(client, db, "pat", {"name": f"{secret}-v1", "ssn": secret})
    await _put(client, db, "keep", {"name": "innocent", "ssn": "000"})
    await ok(await client.post(f"/{db}/_index", json={"index": {"fields": ["name"]}, "name": "by-name",
                                                      "ddoc": "m"}))
    found = await ok(await client.post(f"/{db}/_find", json={"selector": {"name": {"$gt": None}}, "use_index": "m"}))
    assert sorted(d["_id"] for d in found["docs"]) == ["keep", "pat"]
    await ok(await client.post(f"/{db}/_erase", json={"doc_ids": ["pat"], "reason": "r"}), 201)
    leak = Leak(secret)
    for selector in ({"name": {"$gt": None}}, {"ssn": secret}, {"_id": "pat"}):
        found = orjson.loads(await leak.get(client, "POST", f"/{db}/_find", 200, json={"selector": selector}))
        assert all(d["_id"] != "pat" for d in found["docs"])
    found = orjson.loads(await leak.get(client, "POST", f"/{db}/_find", 200,
                                        json={"selector": {"name": {"$gt": None}}, "use_index": "m"}))
    assert [d["_id"] for d in found["docs"]] == ["keep"]
    await leak.get(client, "POST", f"/{db}/_find", 200, json={"selector": {"name": {"$gt": None}},
                                                               "use_index": "m", "update": False})
    leak.check()
    assert secret.encode() not in file_bytes(server, db)


async def test_erase_is_for_db_admins_and_checks_its_body(client: TestClient, anon: TestClient, db: str) -> None:
    await _put(client, db, "a", {"v": 1})
    good = {"doc_ids": ["a"], "reason": "r"}
    await err(await anon.post(f"/{db}/_erase", json=good), 401, "unauthorized")
    await err(await client.get(f"/{db}/_erase"), 405, "method_not_allowed")
    for body in ({}, {"doc_ids": [], "reason": "r"}, {"doc_ids": "a", "reason": "r"}, {"doc_ids": [1], "reason": "r"},
                 {"doc_ids": ["a"]}, {"doc_ids": ["a"], "reason": " "}, {"doc_ids": ["a"], "reason": 5},
                 {"doc_ids": ["_local/x"], "reason": "r"}, {"doc_ids": ["_bad"], "reason": "r"},
                 {"doc_ids": [f"d{i}" for i in range(1001)], "reason": "r"}):
        r = await client.post(f"/{db}/_erase", json=body)
        assert r.status == 400, (body, await r.text())
    await err(await client.post(f"/{db}/_erase", data=b"[]", headers={"Content-Type": "application/json"}),
              400, "bad_request")
    await err(await client.post(f"/{db}/_erase", data=b"{", headers={"Content-Type": "application/json"}),
              400, "bad_request")
    assert (await ok(await client.get(f"/{db}/a")))["v"] == 1
    assert [e["op"] for e in await trail(client, db)] == ["create"]


async def test_unknown_ids_and_erasing_twice(client: TestClient, db: str) -> None:
    none = await ok(await client.post(f"/{db}/_erase", json={"doc_ids": ["ghost"], "reason": "r"}))
    assert none == {"ok": True, "seq": None, "results": [{"id": "ghost", "error": "not_found", "reason": "missing"}]}
    await _put(client, db, "a", {"v": 1})
    first = await ok(await client.post(f"/{db}/_erase", json={"doc_ids": ["a", "ghost", "a"], "reason": "r"}), 201)
    assert [r.get("ok", r.get("error")) for r in first["results"]] == [True, "not_found"]
    seq = (await ok(await client.get(f"/{db}")))["update_seq"]
    again = await ok(await client.post(f"/{db}/_erase", json={"doc_ids": ["a"], "reason": "again"}), 201)
    assert again["results"] == first["results"][:1] and again["seq"] > first["seq"]
    assert (await ok(await client.get(f"/{db}")))["update_seq"] == seq  # no new revision
    assert [e["op"] for e in await trail(client, db)] == ["create", "erase", "tombstone", "erase"]


async def test_recreation_after_erasure_and_stale_clients(client: TestClient, db: str) -> None:
    v1 = await _put(client, db, "p", {"name": "old secret"})
    v2 = await _put(client, db, "p", {"_rev": v1, "name": "old secret 2"})
    res = await ok(await client.post(f"/{db}/_erase", json={"doc_ids": ["p"], "reason": "r"}), 201)
    tomb = res["results"][0]["rev"]
    # a client that edited v2 offline pushes its edit: refused, the content stays erased
    stale = {"_id": "p", "_rev": rev(3, "c"), "_revisions": {"start": 3, "ids": ["c" * 32, v2.split("-")[1]]},
             "name": "old secret 3"}
    refused = await ok(await client.post(f"/{db}/_bulk_docs", json={"new_edits": False, "docs": [stale]}), 201)
    assert refused == [{"id": "p", "rev": rev(3, "c"), "error": "forbidden",
                        "reason": "This document was erased; revisions written before its erasure are refused."}]
    assert (await client.get(f"/{db}/p")).status == 404
    # a client that synced the erasure and re-creates on the tombstone is welcome, and so is a new PUT
    fresh = {"_id": "p", "_rev": rev(4, "d"), "_revisions": {"start": 4, "ids": ["d" * 32, tomb.split("-")[1]]},
             "name": "new"}
    assert await ok(await client.post(f"/{db}/_bulk_docs", json={"new_edits": False, "docs": [fresh]}), 201) == []
    assert (await ok(await client.get(f"/{db}/p")))["name"] == "new"
    await _put(client, db, "q", {"v": 1})
    await ok(await client.post(f"/{db}/_erase", json={"doc_ids": ["q"], "reason": "r"}), 201)
    q2 = await _put(client, db, "q", {"v": "recreated"})
    assert (await ok(await client.get(f"/{db}/q")))["_rev"] == q2
    assert (await ok(await client.get(f"/{db}/_audit/_verify")))["ok"] is True


async def test_shared_attachment_blob_and_purged_history(server: TestServer, client: TestClient, db: str) -> None:
    data = base64.b64encode(b"shared scan").decode()
    att = {"scan": {"content_type": "text/plain", "data": data}}
    await _put(client, db, "a", {"_attachments": att})
    await _put(client, db, "b", {"_attachments": att})
    await ok(await client.post(f"/{db}/_erase", json={"doc_ids": ["a"], "reason": "r"}), 201)
    assert await (await client.get(f"/{db}/b/scan")).read() == b"shared scan"
    await err(await client.get(f"/{db}/a/scan"), 404, "not_found")
    # a purged document still has history bodies: erasure removes them too
    secret = f"PURGED-{uuid.uuid4().hex}"
    r1 = await _put(client, db, "gone", {"s": secret})
    await ok(await client.post(f"/{db}/_purge", json={"gone": [r1]}), 201)
    assert (await ok(await client.get(f"/{db}/gone/_history", params={"include_docs": "true"})))[
        "history"][1]["doc"]["s"] == secret
    res = await ok(await client.post(f"/{db}/_erase", json={"doc_ids": ["gone"], "reason": "r"}), 201)
    assert res["results"] == [{"id": "gone", "ok": True}]
    assert secret.encode() not in file_bytes(server, db)


async def test_late_view_rows_of_an_erased_document_are_dropped(server: TestServer, client: TestClient,
                                                                db: str) -> None:
    """An index update that read the document before the erasure cannot put its rows back."""
    await _put(client, db, "p", {"v": 1})
    await ok(await client.post(f"/{db}/_erase", json={"doc_ids": ["p"], "reason": "r"}), 201)
    row = ("sig", "view", "", b"k", "p", 0, b'"k"', b'"secret"')
    with sqlite(server, db) as conn:
        conn.execute("INSERT INTO view_rows VALUES (?,?,?,?,?,?,?,?)", row)
        assert conn.execute("SELECT count(*) FROM view_rows WHERE doc_id = 'p'").fetchone()[0] == 0
    await _put(client, db, "p", {"v": "recreated"})
    with sqlite(server, db) as conn:
        conn.execute("INSERT INTO view_rows VALUES (?,?,?,?,?,?,?,?)", row)
        assert conn.execute("SELECT count(*) FROM view_rows WHERE doc_id = 'p'").fetchone()[0] == 1
