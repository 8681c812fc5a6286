"""Database ``_security`` and authorization: who may read, write and administer a database.

Sources: protocol reference §3.4, §3.3, §7 item 22; CouchDB ``couch_db.erl`` (``is_admin``,
``is_member``, ``is_public_db``, ``check_is_member``, ``check_is_admin``,
``validate_security_object``, ``validate_names_and_roles``), ``couch_db_updater.erl``
(``default_security_object``, ``[couchdb] default_security = admin_only``), ``chttpd_db.erl``
(``validate_security_can_be_edited``), ``chttpd.erl`` (``verify_is_server_admin``).
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

NOT_AUTHORIZED = {"error": "unauthorized", "reason": "You are not authorized to access this db."}
NOT_ALLOWED = {"error": "forbidden", "reason": "You are not allowed to access this db."}
NOT_SERVER_ADMIN = {"error": "unauthorized", "reason": "You are not a server admin."}
NOT_DB_ADMIN_403 = {"error": "forbidden", "reason": "You are not a db or server admin."}
NOT_DB_ADMIN_401 = {"error": "unauthorized", "reason": "You are not a db or server admin."}
DEFAULT_SECURITY = {"members": {"roles": ["_admin"]}, "admins": {"roles": ["_admin"]}}


async def make_user(client: TestClient, name: str, password: str, roles: list[str] | None = None) -> None:
    """A ``_users`` doc with CouchDB ``pbkdf2`` credentials (as an import from CouchDB has)."""
    salt = "0123456789abcdef0123456789abcdef"
    key = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), 10).hex()
    doc = {
        "name": name,
        "type": "user",
        "roles": roles or [],
        "password_scheme": "pbkdf2",
        "pbkdf2_prf": "sha256",
        "iterations": 10,
        "salt": salt,
        "derived_key": key,
    }
    r = await client.put(f"/_users/org.couchdb.user%3A{name}", json=doc)
    assert r.status == 201, await r.text()


@pytest.fixture
async def bob(server: TestServer, client: TestClient) -> AsyncIterator[TestClient]:
    """An authenticated user with the role ``reader`` and no rights on any database yet."""
    await make_user(client, "bob", "bobpass", ["reader"])
    c = TestClient(server, headers={"Authorization": aiohttp.encode_basic_auth("bob", "bobpass")})
    await c.start_server()
    yield c
    await c.close()


async def _expect(resp: Any, status: int, body: dict[str, Any] | None = None) -> None:
    text = await resp.text()
    assert resp.status == status, text
    if body is not None:
        assert await resp.json() == body


async def _set_security(client: TestClient, db: str, sec: dict[str, Any]) -> None:
    r = await client.put(f"/{db}/_security", json=sec)
    assert r.status == 200, await r.text()
    assert await r.json() == {"ok": True}


# Requests a member may make; each one must be refused to non-members.
READS = [
    ("GET", "/{db}", None),
    ("GET", "/{db}/_all_docs", None),
    ("POST", "/{db}/_all_docs", {}),
    ("GET", "/{db}/_design_docs", None),
    ("GET", "/{db}/_local_docs", None),
    ("GET", "/{db}/_changes", None),
    ("POST", "/{db}/_changes", {}),
    ("GET", "/{db}/doc", None),
    ("GET", "/{db}/_local/x", None),
    ("GET", "/{db}/_security", None),
    ("GET", "/{db}/_revs_limit", None),
    ("POST", "/{db}/_ensure_full_commit", {}),
]
WRITES = [
    ("PUT", "/{db}/doc2", {"a": 1}),
    ("POST", "/{db}", {"a": 1}),
    ("POST", "/{db}/_bulk_docs", {"docs": [{"_id": "doc3"}]}),
    ("PUT", "/{db}/_local/y", {"a": 1}),
]


async def _seed(client: TestClient, db: str) -> None:
    assert (await client.put(f"/{db}/doc", json={"a": 1})).status == 201
    assert (await client.put(f"/{db}/_local/x", json={"a": 1})).status == 201


# -- defaults ------------------------------------------------------------------------------------


async def test_default_security_is_admin_only(client: TestClient, db: str) -> None:
    """CouchDB 3: a new database is admin-only (``default_security = admin_only``)."""
    r = await client.get(f"/{db}/_security")
    assert r.status == 200
    assert await r.json() == DEFAULT_SECURITY


async def test_anonymous_refused_401(client: TestClient, anon: TestClient, db: str) -> None:
    """Anonymous on an admin-only db → 401 ``unauthorized`` "You are not authorized to access this
    db." for every read and write (couch_db ``check_is_member`` → ``throw_security_error``,
    reference §3.4)."""
    await _seed(client, db)
    for method, path, body in READS + WRITES:
        r = await anon.request(method, path.format(db=db), json=body)
        assert (r.status, await r.json()) == (401, NOT_AUTHORIZED), (method, path)


async def test_authenticated_non_member_403(client: TestClient, bob: TestClient, db: str) -> None:
    """Authenticated but not a member → 403 ``forbidden`` "You are not allowed to access this db."."""
    await _seed(client, db)
    for method, path, body in READS + WRITES:
        r = await bob.request(method, path.format(db=db), json=body)
        assert (r.status, await r.json()) == (403, NOT_ALLOWED), (method, path)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", "/newdb", None),
        ("DELETE", "/{db}", None),
        ("POST", "/{db}/_purge", {"doc": ["1-abc"]}),
        ("GET", "/_all_dbs", None),
        ("GET", "/_dbs_info", None),
        ("GET", "/_active_tasks", None),
    ],
)
async def test_server_admin_only(
    client: TestClient, bob: TestClient, anon: TestClient, db: str, method: str, path: str, body: Any
) -> None:
    """Server-admin operations → 401 "You are not a server admin." for anonymous and logged-in
    users alike — even a db admin (chttpd ``verify_is_server_admin``; reference §3.4)."""
    await _set_security(client, db, {"admins": {"names": ["bob"]}, "members": {"names": ["bob"]}})
    for c in (anon, bob):
        r = await c.request(method, path.format(db=db), json=body)
        await _expect(r, 401, NOT_SERVER_ADMIN)


# -- members -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sec",
    [
        {"members": {"names": ["bob"], "roles": []}},
        {"members": {"roles": ["reader"]}},
        {"readers": {"names": ["bob"]}},  # legacy name of members
        {"admins": {"roles": ["_admin"]}, "members": {"names": ["someone", "bob"]}},
    ],
)
async def test_member_reads_and_writes(
    client: TestClient, bob: TestClient, anon: TestClient, db: str, sec: dict[str, Any]
) -> None:
    """A member (by name or role) reads everything and writes documents; anonymous stays out."""
    await _seed(client, db)
    await _set_security(client, db, sec)
    for method, path, body in READS:
        r = await bob.request(method, path.format(db=db), json=body)
        assert r.status in (200, 201), (method, path, await r.text())
    for method, path, body in WRITES:
        r = await bob.request(method, path.format(db=db), json=body)
        assert r.status in (200, 201), (method, path, await r.text())
    r = await anon.get(f"/{db}")
    await _expect(r, 401, NOT_AUTHORIZED)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", "/{db}/_security", {"members": {"names": ["bob"]}}),
        ("PUT", "/{db}/_revs_limit", 10),
        ("POST", "/{db}/_compact", {}),
        ("POST", "/{db}/_view_cleanup", {}),
        ("PUT", "/{db}/_design/dd", {"views": {}}),
    ],
)
async def test_member_is_not_db_admin(
    client: TestClient, bob: TestClient, db: str, method: str, path: str, body: Any
) -> None:
    """Db-admin operations refuse plain members: 403 "You are not a db or server admin."."""
    await _set_security(client, db, {"members": {"names": ["bob"]}})
    r = await bob.request(method, path.format(db=db), json=body)
    await _expect(r, 403, NOT_DB_ADMIN_403)


async def test_member_design_doc_in_bulk_docs_is_per_doc_error(
    client: TestClient, bob: TestClient, db: str
) -> None:
    """In ``_bulk_docs`` a refused design doc is one per-doc ``forbidden`` entry (reference §7 item 23)."""
    await _set_security(client, db, {"members": {"names": ["bob"]}})
    r = await bob.post(f"/{db}/_bulk_docs", json={"docs": [{"_id": "_design/x"}, {"_id": "plain"}]})
    assert r.status == 201
    rows = await r.json()
    assert rows[0] == {"id": "_design/x", "error": "forbidden", "reason": "You are not a db or server admin."}
    assert rows[1]["ok"] is True and rows[1]["id"] == "plain"


# -- db admins -----------------------------------------------------------------------------------


@pytest.mark.parametrize("sec", [{"admins": {"names": ["bob"]}}, {"admins": {"roles": ["reader"]}}])
async def test_db_admin(client: TestClient, bob: TestClient, db: str, sec: dict[str, Any]) -> None:
    """A db admin (by name or role) is also a member, and may change ``_security``,
    ``_revs_limit``, compact and write design docs — but not delete the db."""
    await _set_security(client, db, sec)
    assert (await bob.get(f"/{db}")).status == 200
    assert (await bob.put(f"/{db}/_design/dd", json={"views": {}})).status == 201
    assert (await bob.put(f"/{db}/_revs_limit", json=20)).status == 200
    assert (await bob.post(f"/{db}/_compact", json={})).status == 202
    r = await bob.put(f"/{db}/_security", json={**sec, "members": {"names": ["bob"]}})
    await _expect(r, 200, {"ok": True})
    await _expect(await bob.delete(f"/{db}"), 401, NOT_SERVER_ADMIN)


# -- public databases ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sec",
    [
        {},
        {"members": {"names": [], "roles": []}},
        {"admins": {"names": ["bob"]}, "members": {}},
    ],
)
async def test_public_db(client: TestClient, anon: TestClient, db: str, sec: dict[str, Any]) -> None:
    """Empty ``members.names`` and ``members.roles`` → public: anyone reads and writes documents
    (couch_db ``is_public_db``), but administering needs a db admin: anonymous → 401."""
    await _seed(client, db)
    await _set_security(client, db, sec)
    assert (await anon.get(f"/{db}")).status == 200
    assert (await anon.get(f"/{db}/doc")).status == 200
    assert (await anon.put(f"/{db}/anon-doc", json={})).status == 201
    r = await anon.put(f"/{db}/_security", json={})
    await _expect(r, 401, NOT_DB_ADMIN_401)
    r = await anon.put(f"/{db}/_design/dd", json={})
    await _expect(r, 401, NOT_DB_ADMIN_401)


async def test_security_roundtrip_keeps_object(client: TestClient, db: str) -> None:
    """``GET`` returns the stored object as it was put, extra members included."""
    sec = {"admins": {"names": ["a"], "roles": ["r1"]}, "members": {"names": ["b"], "roles": []}, "x": 1}
    await _set_security(client, db, sec)
    assert await (await client.get(f"/{db}/_security")).json() == sec


# -- validation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sec", "reason"),
    [
        ({"admins": {"names": "bob"}}, "names must be a JSON list of strings"),
        ({"admins": {"names": ["bob", 1]}}, "names must be a JSON list of strings"),
        ({"admins": {"roles": [None]}}, "roles must be a JSON list of strings"),
        ({"members": {"roles": {"a": 1}}}, "roles must be a JSON list of strings"),
        ({"members": {"names": [["x"]]}}, "names must be a JSON list of strings"),
        ({"members": []}, "admins or members must be a JSON list of strings"),
        ({"admins": "bob"}, "admins or members must be a JSON list of strings"),
        ({"readers": 5}, "admins or members must be a JSON list of strings"),
    ],
)
async def test_security_validation(client: TestClient, db: str, sec: dict[str, Any], reason: str) -> None:
    """Names and roles must be lists of strings, sections objects (couch_db
    ``validate_names_and_roles``; the reason strings are CouchDB's). The object is not stored."""
    r = await client.put(f"/{db}/_security", json=sec)
    await _expect(r, 400, {"error": "bad_request", "reason": reason})
    assert await (await client.get(f"/{db}/_security")).json() == DEFAULT_SECURITY


@pytest.mark.parametrize("raw", ["[]", "1", '"admins"', "null"])
async def test_security_must_be_object(client: TestClient, db: str, raw: str) -> None:
    r = await client.put(f"/{db}/_security", data=raw, headers={"Content-Type": "application/json"})
    assert r.status == 400
    assert (await r.json())["error"] == "bad_request"


async def test_security_invalid_json(client: TestClient, db: str) -> None:
    r = await client.put(f"/{db}/_security", data="{", headers={"Content-Type": "application/json"})
    await _expect(r, 400, {"error": "bad_request", "reason": "invalid UTF-8 JSON"})


async def test_users_db_security_not_editable(client: TestClient) -> None:
    """``PUT /_users/_security`` → 403 (``[couchdb] users_db_security_editable = false``, chttpd_db
    ``validate_security_can_be_edited``); reading it is fine for an admin."""
    r = await client.put("/_users/_security", json={})
    await _expect(
        r, 403, {"error": "forbidden", "reason": "You can't edit the security object of the user database."}
    )
    r = await client.get("/_users/_security")
    assert r.status == 200


async def test_users_db_admin_only(anon: TestClient, bob: TestClient) -> None:
    """The ``_users`` database is admin-only out of the box (reference §3.3)."""
    await _expect(await anon.get("/_users/_all_docs"), 401, NOT_AUTHORIZED)
    await _expect(await bob.get("/_users/_all_docs"), 403, NOT_ALLOWED)
