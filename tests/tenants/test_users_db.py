"""The ``_users`` database: admin-only, bcrypt on write, CouchDB's ``_auth`` validation rules.

Reference §3.3: user documents are ``{"_id":"org.couchdb.user:NAME","name","type":"user","roles",
"password"}``; the clear ``password`` is replaced on write (here ``password_scheme: "bcrypt"``,
``derived_key``, ``salt``) and never stored. The built-in validation (``_design/_auth``) refuses
with ``403 forbidden`` and CouchDB's reasons. In CouchDB 3 the ``_users`` security is admin-only; the
issue: "Only admins read or write it; no client can sign itself up and no replication into
``_users`` by non-admins is possible"; editing ``_users/_security`` is refused (403).
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.tenants.world import PW, World, call, close_client, new_client, ok

CLEAR = "clear-text-Secret-4711"


def user_doc(name: str, **extra: Any) -> dict[str, Any]:
    return {"_id": f"org.couchdb.user:{name}", "name": name, "type": "user", "roles": [], **extra}


def grep_data_dir(data_dir: str, needle: bytes) -> list[str]:
    hits = []
    for root, _, files in os.walk(data_dir):
        for f in files:
            path = os.path.join(root, f)
            with open(path, "rb") as fh:
                if needle in fh.read():
                    hits.append(path)
    return hits


NON_ADMINS = (("anonymous", 401), ("staff_a", 403), ("tenant_admin", 403), ("other_admin", 403))


@pytest.mark.parametrize(("principal", "status"), NON_ADMINS)
async def test_users_db_is_admin_only(world: World, principal: str, status: int) -> None:
    w = world
    c = w.c(principal)
    own = (
        "org.couchdb.user:"
        + {"anonymous": "nobody", "staff_a": "staff-a", "tenant_admin": "t-admin", "other_admin": "o-admin"}[
            principal
        ]
    )
    requests: list[tuple[str, str, Any]] = [
        ("GET", "/_users", None),
        ("GET", "/_users/_all_docs?include_docs=true", None),
        ("POST", "/_users/_all_docs", {"keys": [own]}),
        ("GET", "/_users/_changes?include_docs=true", None),
        ("GET", "/_users/_changes?feed=longpoll&timeout=10", None),
        ("GET", f"/_users/{own}", None),  # not even their own document
        ("GET", f"/_users/{own}?open_revs=all", None),
        ("GET", "/_users/_security", None),
        ("GET", "/_users/_design_docs", None),
        ("GET", "/_users/_local_docs", None),
        ("POST", "/_users/_bulk_get", {"docs": [{"id": own}]}),
        ("POST", "/_users/_revs_diff", {own: ["1-abc"]}),
        # sign-up / writes
        ("PUT", "/_users/org.couchdb.user:signup", user_doc("signup", password=CLEAR)),
        ("POST", "/_users", user_doc("signup2", password=CLEAR)),
        ("POST", "/_users/_bulk_docs", {"docs": [user_doc("signup3", password=CLEAR)]}),
        ("PUT", f"/_users/{own}", user_doc(own.split(":", 1)[1], roles=["_admin"], password=CLEAR)),
        ("DELETE", f"/_users/{own}?rev=1-abc", None),
        ("PUT", "/_users/_local/x", {"a": 1}),
        ("PUT", "/_users/_security", {"members": {"names": [], "roles": []}}),
        ("PUT", "/_users/_design/evil", {"validate_doc_update": "function(){}"}),
        ("POST", "/_users/_compact", {}),
        # replication into _users
        (
            "POST",
            "/_users/_bulk_docs",
            {
                "new_edits": False,
                "docs": [user_doc("replicated", _rev="1-" + "a" * 32, roles=["_admin"], password=CLEAR)],
            },
        ),
        (
            "PUT",
            "/_users/org.couchdb.user:replicated2?new_edits=false",
            user_doc("replicated2", _rev="1-" + "b" * 32, password=CLEAR),
        ),
        ("POST", "/_users/_missing_revs", {"org.couchdb.user:x": ["1-abc"]}),
        ("GET", "/_users/_local/some-checkpoint", None),
    ]
    for method, path, body in requests:
        ex = await call(c, method, path, json=body)
        assert ex.status == status, str(ex)
        assert ex.json()["error"] == {401: "unauthorized", 403: "forbidden"}[status], str(ex)
        for secret in (b"derived_key", b"salt", PW.encode()):
            assert secret not in ex.body, str(ex)
    for name in ("signup", "signup2", "signup3", "replicated", "replicated2"):
        assert (await call(w.admin, "GET", f"/_users/org.couchdb.user:{name}")).status == 404
    assert (await ok(w.admin, "GET", "/_users/_security", 200)) != {"members": {"names": [], "roles": []}}


async def test_users_db_is_readable_by_server_admin(world: World) -> None:
    w = world
    rows = (await ok(w.admin, "GET", "/_users/_all_docs", 200))["rows"]
    ids = {r["id"] for r in rows}
    assert {"org.couchdb.user:staff-a", "org.couchdb.user:t-admin", "org.couchdb.user:o-admin"} <= ids
    doc = await ok(w.admin, "GET", "/_users/org.couchdb.user:staff-a", 200)
    assert doc["tenant"] == w.db and doc["tenant_role"] == "staff" and doc["type"] == "user"
    assert doc["password_scheme"] == "bcrypt" and doc["derived_key"] and doc["salt"]
    assert "password" not in doc


async def test_put_user_hashes_password(client: TestClient, server: Any, data_dir: str) -> None:
    ex = await call(client, "PUT", "/_users/org.couchdb.user:alice", json=user_doc("alice", password=CLEAR))
    assert ex.status == 201, str(ex)
    doc = await ok(client, "GET", "/_users/org.couchdb.user:alice", 200)
    assert doc["password_scheme"] == "bcrypt"
    assert isinstance(doc["derived_key"], str) and doc["derived_key"]
    assert isinstance(doc["salt"], str) and doc["salt"]
    assert "password" not in doc and CLEAR not in str(doc)
    alice = await new_client(server, "alice", CLEAR)
    try:
        session = await ok(alice, "GET", "/_session", 200)
        assert session["userCtx"] == {"name": "alice", "roles": []}
        login = await alice.post("/_session", json={"name": "alice", "password": CLEAR})
        assert login.status == 200
        # an update of the whole doc (GET + PUT, as pouchdb-authentication does) without password
        # keeps the hash; password: null too
        await ok(client, "PUT", "/_users/org.couchdb.user:alice", 201, json={**doc, "roles": ["reader"]})
        again = await ok(client, "GET", "/_users/org.couchdb.user:alice", 200)
        await ok(client, "PUT", "/_users/org.couchdb.user:alice", 201, json={**again, "password": None})
        kept = await ok(client, "GET", "/_users/org.couchdb.user:alice", 200)
        assert kept["derived_key"] == doc["derived_key"] and kept["salt"] == doc["salt"]
        assert (await ok(alice, "GET", "/_session", 200))["userCtx"]["roles"] == ["reader"]
        # a new password: new salt, the old password fails
        await ok(
            client,
            "PUT",
            "/_users/org.couchdb.user:alice",
            201,
            json={**kept, "password": "second-Secret-99"},
        )
        changed = await ok(client, "GET", "/_users/org.couchdb.user:alice", 200)
        assert changed["salt"] != kept["salt"] and "password" not in changed
        assert (await call(alice, "GET", "/_session")).status == 401
    finally:
        await close_client(alice)
    # replicated writes (new_edits=false) are hashed too
    ex = await call(
        client,
        "POST",
        "/_users/_bulk_docs",
        json={
            "new_edits": False,
            "docs": [user_doc("bob", _rev="1-" + "c" * 32, password="bobs-clear-Secret")],
        },
    )
    assert ex.status == 201 and ex.json() == [], str(ex)
    bob = await ok(client, "GET", "/_users/org.couchdb.user:bob", 200)
    assert bob["password_scheme"] == "bcrypt" and "password" not in bob
    for needle in (CLEAR, "second-Secret-99", "bobs-clear-Secret"):
        assert grep_data_dir(data_dir, needle.encode()) == [], f"{needle} stored on disk"


async def test_tenant_api_never_stores_clear_password(world: World, data_dir: str) -> None:
    w = world
    await ok(
        w.c("tenant_admin"),
        "POST",
        f"/_tenants/{w.db}/users",
        201,
        json={"name": "carol", "password": "carols-Secret-123", "role": "staff", "hospitals": ["HOSP-A"]},
    )
    await ok(
        w.c("tenant_admin"),
        "PATCH",
        f"/_tenants/{w.db}/users/carol",
        200,
        json={"password": "carols-Other-456"},
    )
    assert grep_data_dir(data_dir, b"carols-Secret-123") == []
    assert grep_data_dir(data_dir, b"carols-Other-456") == []
    assert grep_data_dir(data_dir, PW.encode()) == []


@pytest.mark.parametrize(
    ("doc_id", "doc", "reason"),
    [
        ("org.couchdb.user:x", {"name": "x", "roles": []}, "doc.type must be user"),
        ("org.couchdb.user:x", {"name": "x", "type": "admin", "roles": []}, "doc.type must be user"),
        ("org.couchdb.user:x", {"type": "user", "roles": []}, "doc.name is required"),
        ("org.couchdb.user:", {"name": "", "type": "user", "roles": []}, "doc.name is required"),
        ("org.couchdb.user:x", {"name": "x", "type": "user"}, "doc.roles must exist"),
        ("org.couchdb.user:x", {"name": "x", "type": "user", "roles": "admin"}, "doc.roles must be an array"),
        (
            "org.couchdb.user:x",
            {"name": "x", "type": "user", "roles": [1]},
            "doc.roles can only contain strings",
        ),
        (
            "org.couchdb.user:x",
            {"name": "y", "type": "user", "roles": []},
            "Doc ID must be of the form org.couchdb.user:name",
        ),
        ("x", {"name": "x", "type": "user", "roles": []}, "Doc ID must be of the form org.couchdb.user:name"),
        (
            "org.couchdb.user:x",
            {"name": "x", "type": "user", "roles": ["_admin"]},
            "No system roles (starting with underscore) in users db.",
        ),
        (
            "org.couchdb.user:x",
            {"name": "x", "type": "user", "roles": ["ok", "_reader"]},
            "No system roles (starting with underscore) in users db.",
        ),
        (
            "org.couchdb.user:_x",
            {"name": "_x", "type": "user", "roles": []},
            "Username may not start with underscore.",
        ),
        (
            "org.couchdb.user:a:b",
            {"name": "a:b", "type": "user", "roles": []},
            "Character `:` is not allowed in usernames.",
        ),
    ],
)
async def test_user_doc_validation(client: TestClient, doc_id: str, doc: dict[str, Any], reason: str) -> None:
    ex = await call(client, "PUT", f"/_users/{doc_id}", json={**doc, "password": CLEAR})
    assert ex.status == 403, str(ex)
    assert ex.json() == {"error": "forbidden", "reason": reason}
    ex = await call(client, "POST", "/_users/_bulk_docs", json={"docs": [{"_id": doc_id, **doc}]})
    assert ex.status == 201, str(ex)
    assert ex.json() == [{"id": doc_id, "error": "forbidden", "reason": reason}]
    assert (await call(client, "GET", f"/_users/{doc_id}")).status == 404


async def test_metrics_role_is_allowed(client: TestClient) -> None:
    await ok(
        client,
        "PUT",
        "/_users/org.couchdb.user:prom",
        201,
        json=user_doc("prom", roles=["_metrics"], password=CLEAR),
    )


async def test_users_security_cannot_be_edited(client: TestClient) -> None:
    before = await ok(client, "GET", "/_users/_security", 200)
    ex = await call(client, "PUT", "/_users/_security", json={"members": {"names": [], "roles": []}})
    assert ex.status == 403, str(ex)
    assert ex.json() == {
        "error": "forbidden",
        "reason": "You can't edit the security object of the user database.",
    }
    assert await ok(client, "GET", "/_users/_security", 200) == before


async def test_user_disabled_in_users_doc_cannot_log_in(client: TestClient, server: Any) -> None:
    await ok(client, "PUT", "/_users/org.couchdb.user:dora", 201, json=user_doc("dora", password=CLEAR))
    dora = await new_client(server, "dora", CLEAR)
    try:
        assert (await call(dora, "GET", "/_session")).status == 200
        doc = await ok(client, "GET", "/_users/org.couchdb.user:dora", 200)
        await ok(client, "PUT", "/_users/org.couchdb.user:dora", 201, json={**doc, "disabled": True})
        assert (await call(dora, "GET", "/_session")).status == 401
        bad = await call(client, "PUT", "/_users/org.couchdb.user:dora", json={**doc, "disabled": "yes"})
        assert bad.status in (403, 409), str(bad)
    finally:
        await close_client(dora)


async def test_user_doc_readable_only_by_admins_even_with_roles(world: World) -> None:
    """A user whose roles name ``_users``' would-be admin roles still gets 403 (security is admin-only)."""
    w = world
    await ok(
        w.admin,
        "PUT",
        "/_users/org.couchdb.user:eve",
        201,
        json=user_doc("eve", roles=["admins", "users:admin"], password=CLEAR),
    )
    eve = await w.client("eve", CLEAR)
    assert (await call(eve, "GET", "/_users/_all_docs")).status == 403
    assert (await call(eve, "GET", "/_users/org.couchdb.user:eve")).status == 403
