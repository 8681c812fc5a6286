"""``validate_doc_update`` on the write paths, and design-doc writes by non-admins.

Case sources:
  REF   /work/shared/reference/couchdb-protocol.md §4.4 "validate_doc_update" (newDoc with
        ``_revisions``, oldDoc, userCtx ``{"db","name","roles"}``, secObj; forbidden → 403,
        unauthorized → 401; per-doc in ``_bulk_docs``; design-doc writes skip VDUs, admin check
        instead), §7 items 23 and 24
  CDB   CouchDB couch_db.erl ``validate_doc_update``/``check_is_admin``/``throw_security_error``
        (anonymous → 401 unauthorized, named user → 403 forbidden, "You are not a db or server
        admin."); chttpd_db ``_bulk_docs`` answers (per-doc errors; new_edits=false lists only
        failures, with ``rev``)
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from .conftest import bulk, call, err, ok, put_ddoc

VDU = """function (newDoc, oldDoc, userCtx, secObj) {
  if (newDoc.forbid) throw({forbidden: 'no ' + newDoc._id});
  if (newDoc.unauth) throw({unauthorized: 'who are you?'});
  if (newDoc.marker) throw({forbidden: JSON.stringify({newDoc: newDoc, oldDoc: oldDoc, userCtx: userCtx, secObj: secObj})});
  if (newDoc._deleted && oldDoc && oldDoc.protected) throw({forbidden: 'protected'});
  if (oldDoc && oldDoc.frozen && !newDoc._deleted) throw({forbidden: 'frozen by ' + userCtx.name});
}"""
VDU2 = (
    "function (newDoc, oldDoc, userCtx, secObj) { if (newDoc.second) throw({forbidden: 'second says no'}); }"
)
SECURITY = {"admins": {"names": [], "roles": ["boss"]}, "members": {"names": ["bob"], "roles": ["team"]}}
NOT_DB_ADMIN = "You are not a db or server admin."


@pytest.fixture
async def vdb(client: TestClient, db: str) -> str:
    await ok(client, "PUT", f"/{db}/_security", 200, json=SECURITY)
    await put_ddoc(client, db, "v", {"validate_doc_update": VDU})
    await put_ddoc(client, db, "v2", {"validate_doc_update": VDU2})
    return db


@pytest.fixture
async def bob(server: TestServer, client: TestClient) -> AsyncIterator[TestClient]:
    """A plain user (member of the test db through SECURITY)."""
    await ok(
        client,
        "PUT",
        "/_users/org.couchdb.user:bob",
        201,
        json={"name": "bob", "password": "bobpw", "roles": ["team"], "type": "user"},
    )
    c = TestClient(server, headers={"Authorization": aiohttp.encode_basic_auth("bob", "bobpw")})
    await c.start_server()
    yield c
    await c.session.close()


async def test_put_and_post_map_throws_to_status(client: TestClient, vdb: str) -> None:
    """REF §7 item 24: forbidden → 403, unauthorized → 401, with the thrown message."""
    await ok(client, "PUT", f"/{vdb}/fine", 201, json={"a": 1})
    err(await call(client, "PUT", f"/{vdb}/x", json={"forbid": True}), 403, "forbidden", "no x")
    err(await call(client, "PUT", f"/{vdb}/y", json={"unauth": True}), 401, "unauthorized", "who are you?")
    err(await call(client, "POST", f"/{vdb}", json={"_id": "z", "forbid": True}), 403, "forbidden", "no z")
    err(await call(client, "PUT", f"/{vdb}/w", json={"second": True}), 403, "forbidden", "second says no")
    for doc_id in ("x", "y", "z", "w"):
        assert (await call(client, "GET", f"/{vdb}/{doc_id}")).status == 404
    # updates and deletes are validated against the old revision
    r1 = await ok(client, "PUT", f"/{vdb}/frozen", 201, json={"frozen": True, "protected": True})
    err(
        await call(client, "PUT", f"/{vdb}/frozen", json={"_rev": r1["rev"], "frozen": False}),
        403,
        "forbidden",
        "frozen by admin",
    )
    err(await call(client, "DELETE", f"/{vdb}/frozen?rev={r1['rev']}"), 403, "forbidden", "protected")
    assert (await ok(client, "GET", f"/{vdb}/frozen"))["_rev"] == r1["rev"]


async def test_bulk_docs_interactive_per_document(client: TestClient, vdb: str) -> None:
    """REF: per-doc entries in ``_bulk_docs``; the others are written."""
    res = await ok(
        client,
        "POST",
        f"/{vdb}/_bulk_docs",
        201,
        json={
            "docs": [
                {"_id": "ok1", "a": 1},
                {"_id": "bad1", "forbid": True},
                {"_id": "bad2", "unauth": True},
                {"_id": "ok2", "a": 2},
                {"_id": "bad3", "second": True},
            ]
        },
    )
    assert [r["id"] for r in res] == ["ok1", "bad1", "bad2", "ok2", "bad3"]
    assert res[0]["ok"] is True and res[3]["ok"] is True
    assert res[1] == {"id": "bad1", "error": "forbidden", "reason": "no bad1"}
    assert res[2] == {"id": "bad2", "error": "unauthorized", "reason": "who are you?"}
    assert res[4] == {"id": "bad3", "error": "forbidden", "reason": "second says no"}
    ids = [r["id"] for r in (await ok(client, "GET", f"/{vdb}/_all_docs"))["rows"]]
    assert "ok1" in ids and "ok2" in ids and not {"bad1", "bad2", "bad3"} & set(ids)


async def test_bulk_docs_replicated_lists_only_failures(client: TestClient, vdb: str) -> None:
    """REF §7 item 24: ``new_edits:false`` → ``[{"id","rev","error","reason"}]`` for failures only."""
    res = await ok(
        client,
        "POST",
        f"/{vdb}/_bulk_docs",
        201,
        json={
            "new_edits": False,
            "docs": [
                {"_id": "r1", "_rev": "1-aaaa", "a": 1},
                {"_id": "r2", "_rev": "1-bbbb", "forbid": True},
                {
                    "_id": "r3",
                    "_rev": "2-cccc",
                    "_revisions": {"start": 2, "ids": ["cccc", "c0"]},
                    "unauth": True,
                },
            ],
        },
    )
    assert res == [
        {"id": "r2", "rev": "1-bbbb", "error": "forbidden", "reason": "no r2"},
        {"id": "r3", "rev": "2-cccc", "error": "unauthorized", "reason": "who are you?"},
    ]
    assert (await ok(client, "GET", f"/{vdb}/r1"))["_rev"] == "1-aaaa"
    assert (await call(client, "GET", f"/{vdb}/r2")).status == 404
    ok_only = await ok(
        client,
        "POST",
        f"/{vdb}/_bulk_docs",
        201,
        json={"new_edits": False, "docs": [{"_id": "r4", "_rev": "1-dd"}]},
    )
    assert ok_only == []


async def test_vdu_sees_new_old_userctx_and_secobj(client: TestClient, vdb: str, bob: TestClient) -> None:
    """REF: the function gets newDoc (with ``_revisions``), oldDoc (the revision replaced, null
    when none), userCtx ``{"db","name","roles"}`` and the ``_security`` object."""
    ex = await call(client, "PUT", f"/{vdb}/m1", json={"marker": "first"})
    seen = json.loads(err(ex, 403, "forbidden")["reason"])
    assert seen["newDoc"]["_id"] == "m1" and seen["newDoc"]["marker"] == "first"
    assert "_revisions" in seen["newDoc"]
    assert seen["oldDoc"] is None
    assert seen["userCtx"]["db"] == vdb and seen["userCtx"]["name"] == "admin"
    assert "_admin" in seen["userCtx"]["roles"]
    assert seen["secObj"] == SECURITY

    r1 = await ok(bob, "PUT", f"/{vdb}/m2", 201, json={"v": 1})
    ex = await call(bob, "PUT", f"/{vdb}/m2", json={"_rev": r1["rev"], "marker": "second"})
    seen = json.loads(err(ex, 403, "forbidden")["reason"])
    assert seen["newDoc"]["_id"] == "m2" and seen["newDoc"]["marker"] == "second"
    assert seen["newDoc"]["_revisions"]["ids"][1:2] == [r1["rev"].split("-", 1)[1]]
    assert seen["oldDoc"]["_id"] == "m2" and seen["oldDoc"]["_rev"] == r1["rev"] and seen["oldDoc"]["v"] == 1
    assert seen["userCtx"] == {"db": vdb, "name": "bob", "roles": ["team"]}
    assert seen["secObj"] == SECURITY

    # a deletion: newDoc carries _deleted
    ex = await call(
        bob,
        "POST",
        f"/{vdb}/_bulk_docs",
        json={"docs": [{"_id": "m2", "_rev": r1["rev"], "_deleted": True, "marker": "del"}]},
    )
    assert ex.status == 201, str(ex)
    [entry] = ex.json()
    assert entry["error"] == "forbidden"
    seen = json.loads(entry["reason"])
    assert seen["newDoc"]["_deleted"] is True and seen["oldDoc"]["v"] == 1


async def test_member_is_validated_too(client: TestClient, vdb: str, bob: TestClient) -> None:
    await ok(bob, "PUT", f"/{vdb}/b1", 201, json={"a": 1})
    err(await call(bob, "PUT", f"/{vdb}/b2", json={"forbid": True}), 403, "forbidden", "no b2")
    r = await ok(bob, "PUT", f"/{vdb}/b3", 201, json={"frozen": True})
    err(await call(bob, "PUT", f"/{vdb}/b3", json={"_rev": r["rev"]}), 403, "forbidden", "frozen by bob")


async def test_design_and_local_docs_skip_vdus(client: TestClient, vdb: str) -> None:
    """REF: design-doc writes skip VDUs (admin check instead); ``_local`` docs are not validated."""
    await ok(client, "PUT", f"/{vdb}/_design/other", 201, json={"forbid": True, "language": "javascript"})
    await ok(client, "PUT", f"/{vdb}/_local/ck", 201, json={"forbid": True})
    res = await bulk(client, vdb, [{"_id": "_design/other2", "forbid": True}])
    assert res[0]["ok"] is True


async def test_design_docs_by_non_admins_are_refused_per_doc(
    client: TestClient, vdb: str, bob: TestClient
) -> None:
    """REF §7 item 23 / CDB ``check_is_admin``: a member writing a design doc gets 403 forbidden,
    per doc in ``_bulk_docs`` (both modes); the other docs are written."""
    err(
        await call(bob, "PUT", f"/{vdb}/_design/mine", json={"views": {}}),
        403,
        "forbidden",
        NOT_DB_ADMIN,
    )
    res = await ok(
        bob,
        "POST",
        f"/{vdb}/_bulk_docs",
        201,
        json={"docs": [{"_id": "plain", "a": 1}, {"_id": "_design/mine", "views": {}}]},
    )
    assert res[0]["ok"] is True and res[0]["id"] == "plain"
    assert res[1] == {"id": "_design/mine", "error": "forbidden", "reason": NOT_DB_ADMIN}
    res = await ok(
        bob,
        "POST",
        f"/{vdb}/_bulk_docs",
        201,
        json={
            "new_edits": False,
            "docs": [{"_id": "_design/rep", "_rev": "1-abcd", "views": {}}, {"_id": "rep", "_rev": "1-abcd"}],
        },
    )
    assert res == [{"id": "_design/rep", "rev": "1-abcd", "error": "forbidden", "reason": NOT_DB_ADMIN}]
    assert (await call(client, "GET", f"/{vdb}/_design/rep")).status == 404
    assert (await ok(client, "GET", f"/{vdb}/rep"))["_rev"] == "1-abcd"
    # deleting an admin's design doc is a design-doc write too
    rev = (await ok(client, "GET", f"/{vdb}/_design/v2"))["_rev"]
    err(await call(bob, "DELETE", f"/{vdb}/_design/v2?rev={rev}"), 403, "forbidden", NOT_DB_ADMIN)


async def test_anonymous_design_doc_write_is_unauthorized(
    client: TestClient, anon: TestClient, db: str
) -> None:
    """CDB ``throw_security_error``: anonymous → 401 unauthorized (per doc in ``_bulk_docs``)."""
    await ok(client, "PUT", f"/{db}/_security", 200, json={"admins": {}, "members": {}})  # a public db
    await ok(anon, "PUT", f"/{db}/pub", 201, json={"a": 1})
    err(await call(anon, "PUT", f"/{db}/_design/x", json={}), 401, "unauthorized", NOT_DB_ADMIN)
    res = await ok(
        anon, "POST", f"/{db}/_bulk_docs", 201, json={"docs": [{"_id": "_design/x"}, {"_id": "p2"}]}
    )
    assert res[0] == {"id": "_design/x", "error": "unauthorized", "reason": NOT_DB_ADMIN}
    assert res[1]["ok"] is True


async def test_vdu_applies_to_update_functions(client: TestClient, vdb: str) -> None:
    """REF: an update function's doc goes through the normal write path (VDU included)."""
    await put_ddoc(
        client,
        vdb,
        "u",
        {"updates": {"mk": "function (doc, req) { return [{_id: req.query.id, forbid: true}, 'made']; }"}},
    )
    ex = await call(client, "POST", f"/{vdb}/_design/u/_update/mk?id=viaupd")
    err(ex, 403, "forbidden", "no viaupd")
    assert (await call(client, "GET", f"/{vdb}/viaupd")).status == 404


async def test_vdu_changes_take_effect_immediately(client: TestClient, db: str) -> None:
    await ok(client, "PUT", f"/{db}/a", 201, json={"forbid": True})
    rev = await put_ddoc(client, db, "v", {"validate_doc_update": VDU})
    err(await call(client, "PUT", f"/{db}/b", json={"forbid": True}), 403, "forbidden", "no b")
    await ok(client, "DELETE", f"/{db}/_design/v?rev={rev}", 200)
    await ok(client, "PUT", f"/{db}/b", 201, json={"forbid": True})
    await put_ddoc(client, db, "v", {"validate_doc_update": VDU2})
    await ok(client, "PUT", f"/{db}/c", 201, json={"forbid": True})
    err(await call(client, "PUT", f"/{db}/d", json={"second": 1}), 403, "forbidden", "second says no")


async def test_replicated_write_sees_nearest_ancestor_as_old_doc(client: TestClient, vdb: str) -> None:
    """REF: on replicated writes oldDoc is the nearest on-disk ancestor (null if none)."""
    await bulk(client, vdb, [{"_id": "rep", "_rev": "1-aaaa", "v": 1}], new_edits=False)
    res = await ok(
        client,
        "POST",
        f"/{vdb}/_bulk_docs",
        201,
        json={
            "new_edits": False,
            "docs": [
                {
                    "_id": "rep",
                    "_rev": "3-cccc",
                    "_revisions": {"start": 3, "ids": ["cccc", "bbbb", "aaaa"]},
                    "marker": 1,
                }
            ],
        },
    )
    [entry] = res
    seen: dict[str, Any] = json.loads(entry["reason"])
    assert seen["oldDoc"]["_rev"] == "1-aaaa" and seen["oldDoc"]["v"] == 1
    assert seen["newDoc"]["_revisions"] == {"start": 3, "ids": ["cccc", "bbbb", "aaaa"]}
