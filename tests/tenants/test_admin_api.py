"""The tenant admin API, ``/_tenants``: every route, who may call it, and every error.

From the issue: ``POST /_tenants`` (server admin) → ``201 {"ok","name","db"}``; names that slugify to
nothing, duplicates and over-long names → 400; ``GET /_tenants`` (server admin); ``GET /_tenants/{db}``
(its admins) shows hospitals and user count; ``DELETE /_tenants/{db}`` (server admin) removes tenant,
database and users. Hospitals: ``POST`` → 201, ``GET`` lists, ``DELETE`` only when empty (409).
Users: ``POST`` (role ``admin|staff``, hospitals must exist) → 201, ``GET`` list/one, ``PATCH``
(hospitals, role, password, disabled), ``DELETE``. A tenant admin can never see or touch another
tenant's users, nor create a server admin. Errors have CouchDB's ``{"error","reason"}`` shape.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.tenants.world import HOSPITALS, PW, World, add_hospital, add_user, call, create_tenant, ok

DB_RE = re.compile(r"^[a-z][a-z0-9_$()+/-]*$")
SECRETS = ("derived_key", "salt", "password_scheme", "password_sha", "iterations", '"password"')


def assert_error(ex: Any, status: int, error: str | None = None) -> dict[str, Any]:
    assert ex.status == status, str(ex)
    body = ex.json()
    assert isinstance(body, dict) and set(body) == {"error", "reason"}, str(ex)
    assert isinstance(body["error"], str) and isinstance(body["reason"], str) and body["reason"], str(ex)
    if error is not None:
        assert body["error"] == error, str(ex)
    return dict(body)


def assert_no_secrets(ex: Any, password: str = PW) -> None:
    for s in SECRETS:
        assert s.encode() not in ex.body, f"{s} shown: {ex}"
    assert password.encode() not in ex.body, str(ex)


# -- POST /_tenants ----------------------------------------------------------------------------


async def test_create_tenant(client: TestClient) -> None:
    ex = await call(client, "POST", "/_tenants", json={"name": "Cure"})
    assert ex.status == 201, str(ex)
    body = ex.json()
    assert set(body) == {"ok", "name", "db"} and body["ok"] is True and body["name"] == "Cure"
    assert re.fullmatch(r"cure-[23456789abcdefghijkmnopqrstuvwxyz]{7}", body["db"]), body
    info = await ok(client, "GET", f"/{body['db']}", 200)
    assert info["props"] == {"partitioned": True}
    sec = await ok(client, "GET", f"/{body['db']}/_security", 200)
    assert sec["admins"]["roles"] == [f"{body['db']}:admin"]
    assert sec["members"]["roles"] == [f"{body['db']}:staff"]
    listed = await ok(client, "GET", "/_tenants", 200)
    assert {"name": "Cure", "db": body["db"], "hospitals": []} in listed


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Clínica São José", "clinica-sao-jose"),
        ("Ärzte & Söhne", "arzte-sohne"),
        ("Hôpital Saint-Éloi", "hopital-saint-eloi"),
        ("  Cure  Clinic  ", "cure-clinic"),
        ("123 Health", "org-123-health"),
    ],
)
async def test_create_tenant_unicode_and_odd_names(client: TestClient, name: str, slug: str) -> None:
    body = await ok(client, "POST", "/_tenants", 201, json={"name": name})
    assert body["name"] == name
    assert body["db"].startswith(slug + "-") and len(body["db"]) == len(slug) + 8, body
    assert DB_RE.match(body["db"])
    assert (await call(client, "GET", f"/{body['db']}")).status == 200


async def test_create_tenant_non_latin_name_gets_a_valid_db(client: TestClient) -> None:
    body = await ok(client, "POST", "/_tenants", 201, json={"name": "北京协和医院"})
    assert body["name"] == "北京协和医院" and DB_RE.match(body["db"]), body
    got = await ok(client, "GET", f"/_tenants/{body['db']}", 200)
    assert got["name"] == "北京协和医院"


@pytest.mark.parametrize(
    "body",
    [
        {"name": ""},
        {"name": "   "},
        {},
        {"name": None},
        {"name": 42},
        {"name": ["Cure"]},
        {"name": {"a": 1}},
        {"name": True},
        {"name": "!!!"},
        {"name": "--- ... ---"},
        {"name": "🏥🏥"},
        {"name": "x" * 201},
    ],
)
async def test_create_tenant_bad_names(client: TestClient, body: dict[str, Any]) -> None:
    assert_error(await call(client, "POST", "/_tenants", json=body), 400, "bad_request")
    assert await ok(client, "GET", "/_tenants", 200) == []


async def test_create_tenant_longest_name(client: TestClient) -> None:
    body = await ok(client, "POST", "/_tenants", 201, json={"name": "Clinic " * 28 + "abcd"})  # 200 chars
    assert DB_RE.match(body["db"]) and len(body["db"]) <= 64 + 8


@pytest.mark.parametrize("raw", [b"[]", b'"Cure"', b"null", b"{not json"])
async def test_create_tenant_bad_body(client: TestClient, raw: bytes) -> None:
    ex = await call(client, "POST", "/_tenants", data=raw, headers={"Content-Type": "application/json"})
    assert_error(ex, 400)


async def test_duplicate_tenant_name_is_refused(client: TestClient) -> None:
    """The issue: "duplicates … get clear 400 errors" (the same organisation registered twice)."""
    first = await ok(client, "POST", "/_tenants", 201, json={"name": "Cure"})
    for again in ("Cure", " cure ", "CURE"):
        err = assert_error(await call(client, "POST", "/_tenants", json={"name": again}), 400, "bad_request")
        assert first["db"] in err["reason"] or "exists" in err["reason"]
    assert len(await ok(client, "GET", "/_tenants", 200)) == 1


async def test_names_with_the_same_slug_get_distinct_dbs(client: TestClient) -> None:
    a = await ok(client, "POST", "/_tenants", 201, json={"name": "Cure"})
    b = await ok(client, "POST", "/_tenants", 201, json={"name": "Cure!"})
    c = await ok(client, "POST", "/_tenants", 201, json={"name": "Curé"})
    assert len({a["db"], b["db"], c["db"]}) == 3
    assert all(x["db"].startswith("cure-") for x in (a, b, c))


async def test_tenant_name_free_again_after_delete(client: TestClient) -> None:
    a = await ok(client, "POST", "/_tenants", 201, json={"name": "Cure"})
    await ok(client, "DELETE", f"/_tenants/{a['db']}", 200)
    b = await ok(client, "POST", "/_tenants", 201, json={"name": "Cure"})
    assert b["db"] != a["db"]


# -- who may call what ---------------------------------------------------------------------------


async def test_list_and_create_are_server_admin_only(world: World) -> None:
    w = world
    listed = await ok(w.admin, "GET", "/_tenants", 200)
    assert sorted(t["db"] for t in listed) == sorted([w.db, w.other_db])
    mine = next(t for t in listed if t["db"] == w.db)
    assert mine == {"name": "Cure", "db": w.db, "hospitals": list(HOSPITALS.values())}
    for p in ("anonymous", "tenant_admin", "staff_a", "other_admin"):
        assert_error(await call(w.c(p), "GET", "/_tenants"), 401, "unauthorized")
        assert_error(await call(w.c(p), "POST", "/_tenants", json={"name": "Evil"}), 401, "unauthorized")
    assert len(await ok(w.admin, "GET", "/_tenants", 200)) == 2


async def test_get_tenant(world: World) -> None:
    w = world
    for p in ("tenant_admin", "server_admin"):
        got = await ok(w.c(p), "GET", f"/_tenants/{w.db}", 200)
        assert got["name"] == "Cure" and got["db"] == w.db
        assert got["hospitals"] == list(HOSPITALS.values())
        assert got["user_count"] == 3
    assert_error(await call(w.c("anonymous"), "GET", f"/_tenants/{w.db}"), 401, "unauthorized")
    for p in ("other_admin", "other_staff", "staff_a", "staff_ab"):
        assert_error(await call(w.c(p), "GET", f"/_tenants/{w.db}"), 403, "forbidden")
    assert_error(await call(w.admin, "GET", "/_tenants/nosuch-abcdefg"), 404, "not_found")
    await ok(w.admin, "PUT", "/plain", 201)
    assert_error(await call(w.admin, "GET", "/_tenants/plain"), 404, "not_found")
    # another tenant's admin learns nothing about a tenant that does not exist either
    assert_error(await call(w.c("other_admin"), "GET", "/_tenants/nosuch-abcdefg"), 403, "forbidden")


async def test_delete_tenant(world: World) -> None:
    w = world
    for p in ("anonymous", "tenant_admin", "staff_a", "other_admin"):
        assert_error(await call(w.c(p), "DELETE", f"/_tenants/{w.db}"), 401, "unauthorized")
    res = await ok(w.admin, "DELETE", f"/_tenants/{w.db}", 200)
    assert res["ok"] is True
    assert_error(await call(w.admin, "GET", f"/{w.db}"), 404, "not_found")
    assert_error(await call(w.admin, "GET", f"/_tenants/{w.db}"), 404, "not_found")
    assert [t["db"] for t in await ok(w.admin, "GET", "/_tenants", 200)] == [w.other_db]
    for name in ("t-admin", "staff-a", "staff-ab"):
        assert_error(await call(w.admin, "GET", f"/_users/org.couchdb.user:{name}"), 404)
    assert (await call(w.c("staff_a"), "GET", "/_session")).status == 401
    assert (await call(w.c("other_staff"), "GET", f"/{w.other_db}/HOSP-X:doc")).status == 200
    assert_error(await call(w.admin, "DELETE", f"/_tenants/{w.db}"), 404, "not_found")


async def test_unknown_routes_and_methods(world: World) -> None:
    w = world
    assert (await call(w.admin, "PUT", "/_tenants", json={})).status == 405
    assert (await call(w.admin, "POST", f"/_tenants/{w.db}", json={})).status == 405
    assert (await call(w.admin, "PUT", f"/_tenants/{w.db}/users/x", json={})).status == 405
    assert_error(await call(w.admin, "GET", f"/_tenants/{w.db}/nothing"), 404, "not_found")
    assert_error(await call(w.admin, "GET", f"/_tenants/{w.db}/users/a/b"), 404, "not_found")


# -- hospitals -----------------------------------------------------------------------------------


async def test_hospitals_add_list_delete(world: World) -> None:
    w, ta = world, world.c("tenant_admin")
    res = await ok(ta, "POST", f"/_tenants/{w.db}/hospitals", 201, json={"name": "AIC-CURE"})
    assert res == {"ok": True, "db": w.db, "name": "AIC-CURE"}
    listed = await ok(ta, "GET", f"/_tenants/{w.db}/hospitals", 200)
    counts = {h["name"]: h["doc_count"] for h in listed}
    assert counts == {"HOSP-A": 1, "HOSP-B": 1, "HOSP-C": 1, "AIC-CURE": 0}
    await ok(ta, "PUT", f"/{w.db}/AIC-CURE:patient-1", 201, json={})
    listed = await ok(ta, "GET", f"/_tenants/{w.db}/hospitals", 200)
    assert {h["name"]: h["doc_count"] for h in listed}["AIC-CURE"] == 1
    assert_error(await call(ta, "DELETE", f"/_tenants/{w.db}/hospitals/AIC-CURE"), 409, "conflict")
    await ok(ta, "POST", f"/_tenants/{w.db}/hospitals", 201, json={"name": "EMPTY"})
    assert await ok(ta, "DELETE", f"/_tenants/{w.db}/hospitals/EMPTY", 200) == {"ok": True}
    names = [h["name"] for h in await ok(ta, "GET", f"/_tenants/{w.db}/hospitals", 200)]
    assert "EMPTY" not in names and "AIC-CURE" in names
    assert_error(await call(ta, "DELETE", f"/_tenants/{w.db}/hospitals/EMPTY"), 404, "not_found")
    assert "EMPTY" not in (await ok(ta, "GET", f"/_tenants/{w.db}", 200))["hospitals"]


async def test_hospital_with_only_deleted_documents(world: World) -> None:
    w, ta = world, world.c("tenant_admin")
    await add_hospital(ta, w.db, "GONE")
    rev = (await ok(ta, "PUT", f"/{w.db}/GONE:x", 201, json={}))["rev"]
    await ok(ta, "DELETE", f"/{w.db}/GONE:x?rev={rev}", 200)
    listed = {h["name"]: h["doc_count"] for h in await ok(ta, "GET", f"/_tenants/{w.db}/hospitals", 200)}
    assert listed["GONE"] == 0
    # tombstones still replicate as documents of the partition: refusing (409) or allowing is fine,
    # but the answer is one of the two
    ex = await call(ta, "DELETE", f"/_tenants/{w.db}/hospitals/GONE")
    assert ex.status in (200, 409), str(ex)


async def test_duplicate_hospital(world: World) -> None:
    assert_error(
        await call(
            world.c("tenant_admin"), "POST", f"/_tenants/{world.db}/hospitals", json={"name": "HOSP-A"}
        ),
        409,
        "conflict",
    )


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"name": ""}, "illegal_partition"),
        ({"name": "_private"}, "illegal_partition"),
        ({"name": "a:b"}, "illegal_partition"),
        ({"name": 42}, "bad_request"),
        ({"name": None}, "bad_request"),
        ({}, "bad_request"),
        ({"name": "x" * 101}, "bad_request"),
    ],
)
async def test_invalid_hospital_names(world: World, body: dict[str, Any], error: str) -> None:
    w = world
    assert_error(
        await call(w.c("tenant_admin"), "POST", f"/_tenants/{w.db}/hospitals", json=body), 400, error
    )
    assert (await ok(w.admin, "GET", f"/_tenants/{w.db}", 200))["hospitals"] == list(HOSPITALS.values())


async def test_hospitals_permissions(world: World) -> None:
    w = world
    path = f"/_tenants/{w.db}/hospitals"
    for p, status in (("anonymous", 401), ("staff_a", 403), ("other_admin", 403), ("other_staff", 403)):
        assert_error(await call(w.c(p), "GET", path), status)
        assert_error(await call(w.c(p), "POST", path, json={"name": "EVIL"}), status)
        assert_error(await call(w.c(p), "DELETE", f"{path}/HOSP-A"), status)
    await ok(w.admin, "POST", path, 201, json={"name": "BY-SERVER-ADMIN"})
    assert_error(await call(w.admin, "GET", "/_tenants/nosuch-abcdefg/hospitals"), 404, "not_found")
    assert_error(await call(w.admin, "POST", "/_tenants/nosuch-abcdefg/hospitals", json={"name": "H"}), 404)


# -- users ---------------------------------------------------------------------------------------


async def test_add_user(world: World) -> None:
    w, ta = world, world.c("tenant_admin")
    res = await ok(
        ta,
        "POST",
        f"/_tenants/{w.db}/users",
        201,
        json={"name": "nurse", "password": PW, "role": "staff", "hospitals": ["HOSP-B", "HOSP-C"]},
    )
    assert res == {
        "ok": True,
        "name": "nurse",
        "tenant": w.db,
        "role": "staff",
        "hospitals": ["HOSP-B", "HOSP-C"],
    }
    nurse = await w.client("nurse", PW)
    session = await ok(nurse, "GET", "/_session", 200)
    assert sorted(session["userCtx"]["roles"]) == sorted(
        [f"{w.db}:staff", f"{w.db}:hospital:HOSP-B", f"{w.db}:hospital:HOSP-C"]
    )
    assert (await call(nurse, "GET", f"/{w.db}/{w.seeds['B'].id}")).status == 200
    assert (await call(nurse, "GET", f"/{w.db}/{w.seeds['A'].id}")).status == 403
    res = await ok(
        ta, "POST", f"/_tenants/{w.db}/users", 201, json={"name": "boss", "password": PW, "role": "admin"}
    )
    assert res["role"] == "admin"
    boss = await w.client("boss", PW)
    assert (await ok(boss, "GET", "/_session", 200))["userCtx"]["roles"] == [f"{w.db}:admin"]
    assert (await call(boss, "GET", f"/{w.db}/{w.seeds['C'].id}")).status == 200
    assert (await call(boss, "GET", f"/_tenants/{w.db}/users")).status == 200
    assert (await ok(ta, "GET", f"/_tenants/{w.db}", 200))["user_count"] == 5


async def test_add_user_by_server_admin(world: World) -> None:
    w = world
    await add_user(w.admin, w.db, "by-root", "staff", ["HOSP-A"])
    assert (await call(await w.client("by-root", PW), "GET", f"/{w.db}/{w.seeds['A'].id}")).status == 200


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"role": "_admin", "hospitals": []}, 400),
        ({"role": "server_admin", "hospitals": []}, 400),
        ({"role": "superuser"}, 400),
        ({"role": ["admin"]}, 400),
        ({"role": "staff", "hospitals": []}, 400),
        ({"role": "staff"}, 400),
        ({"role": "staff", "hospitals": ["NOPE"]}, 400),
        ({"role": "staff", "hospitals": ["HOSP-X"]}, 400),  # the other tenant's hospital
        ({"role": "staff", "hospitals": "HOSP-A"}, 400),
        ({"role": "staff", "hospitals": [1]}, 400),
        ({"role": "staff", "hospitals": ["HOSP-A"], "password": "short"}, 400),
        ({"role": "staff", "hospitals": ["HOSP-A"], "password": 12345678}, 400),
        ({"role": "staff", "hospitals": ["HOSP-A"], "password": None}, 400),
        ({"role": "staff", "hospitals": ["HOSP-A"], "name": None}, 400),
        ({"role": "staff", "hospitals": ["HOSP-A"], "name": 7}, 400),
        ({"role": "staff", "hospitals": ["HOSP-A"], "name": ""}, 400),
        ({"role": "staff", "hospitals": ["HOSP-A"], "name": "_sys"}, 400),
        ({"role": "staff", "hospitals": ["HOSP-A"], "name": "a:b"}, 400),
        ({"role": "staff", "hospitals": ["HOSP-A"], "name": "staff-a"}, 409),  # same tenant
        ({"role": "staff", "hospitals": ["HOSP-A"], "name": "o-staff"}, 409),  # another tenant's user
        ({"role": "admin", "hospitals": [], "name": "admin"}, 409),  # the server admin's name
    ],
)
async def test_add_user_errors(world: World, body: dict[str, Any], status: int) -> None:
    w = world
    full = {"name": "newbie", "password": PW, **body}
    ex = await call(w.c("tenant_admin"), "POST", f"/_tenants/{w.db}/users", json=full)
    assert_error(ex, status, {400: None, 409: "conflict"}[status])
    names = [u["name"] for u in await ok(w.admin, "GET", f"/_tenants/{w.db}/users", 200)]
    assert sorted(names) == ["staff-a", "staff-ab", "t-admin"]
    if isinstance(full["name"], str) and full["name"] == "newbie":
        assert (await call(await w.client("newbie", PW), "GET", "/_session")).status == 401


async def test_name_of_server_admin_cannot_be_taken_over(world: World) -> None:
    """Whatever the API answers, a tenant user named like the server admin gets no server rights."""
    w = world
    await call(
        w.c("tenant_admin"),
        "POST",
        f"/_tenants/{w.db}/users",
        json={"name": "admin", "password": "tenant-chosen", "role": "admin", "hospitals": []},
    )
    assert (await call(await w.client("admin", "tenant-chosen"), "GET", "/_session")).status == 401
    assert (await call(w.admin, "GET", "/_all_dbs")).status == 200


async def test_tenant_admin_cannot_create_server_admin_by_injection(world: World) -> None:
    w = world
    body = {
        "name": "sneaky",
        "password": PW,
        "role": "admin",
        "hospitals": [],
        "roles": ["_admin"],
        "tenant": w.other_db,
        "type": "admin",
        "_id": "org.couchdb.user:root",
        "disabled": False,
    }
    ex = await call(w.c("tenant_admin"), "POST", f"/_tenants/{w.db}/users", json=body)
    assert ex.status in (201, 400), str(ex)
    if ex.status == 201:
        sneaky = await w.client("sneaky", PW)
        session = await ok(sneaky, "GET", "/_session", 200)
        assert session["userCtx"]["roles"] == [f"{w.db}:admin"]
        assert_error(await call(sneaky, "PUT", "/newdb"), 401)
        assert_error(await call(sneaky, "GET", "/_users/_all_docs"), 403)
        assert_error(await call(sneaky, "GET", f"/{w.other_db}"), 403)
        assert_error(await call(sneaky, "GET", f"/_tenants/{w.other_db}/users"), 403)
        stored = await ok(w.admin, "GET", "/_users/org.couchdb.user:sneaky", 200)
        assert stored["tenant"] == w.db and "_admin" not in stored["roles"]
    assert (await call(w.admin, "GET", "/_users/org.couchdb.user:root")).status == 404


async def test_list_and_get_users_never_show_secrets(world: World) -> None:
    w, ta = world, world.c("tenant_admin")
    ex = await call(ta, "GET", f"/_tenants/{w.db}/users")
    assert ex.status == 200, str(ex)
    users = {u["name"]: u for u in ex.json()}
    assert set(users) == {"t-admin", "staff-a", "staff-ab"}
    assert users["staff-ab"] == {
        "name": "staff-ab",
        "role": "staff",
        "hospitals": ["HOSP-A", "HOSP-B"],
        "disabled": False,
        "roles": [f"{w.db}:staff", f"{w.db}:hospital:HOSP-A", f"{w.db}:hospital:HOSP-B"],
    }
    assert users["t-admin"]["role"] == "admin" and users["t-admin"]["roles"] == [f"{w.db}:admin"]
    assert_no_secrets(ex)
    ex = await call(ta, "GET", f"/_tenants/{w.db}/users/staff-a")
    assert ex.status == 200 and ex.json()["hospitals"] == ["HOSP-A"], str(ex)
    assert_no_secrets(ex)
    ex = await call(ta, "PATCH", f"/_tenants/{w.db}/users/staff-a", json={"password": "another-pass"})
    assert ex.status == 200, str(ex)
    assert_no_secrets(ex, "another-pass")


async def test_get_user_not_found(world: World) -> None:
    w, ta = world, world.c("tenant_admin")
    assert_error(await call(ta, "GET", f"/_tenants/{w.db}/users/nobody"), 404, "not_found")
    assert_error(await call(ta, "GET", f"/_tenants/{w.db}/users/o-staff"), 404, "not_found")
    assert_error(await call(ta, "GET", f"/_tenants/{w.db}/users/admin"), 404, "not_found")


async def test_patch_user(world: World) -> None:
    w, ta = world, world.c("tenant_admin")
    path = f"/_tenants/{w.db}/users/staff-a"
    res = await ok(ta, "PATCH", path, 200, json={"hospitals": ["HOSP-B", "HOSP-C"]})
    assert res["ok"] is True and res["hospitals"] == ["HOSP-B", "HOSP-C"] and res["role"] == "staff"
    assert res["roles"] == [f"{w.db}:staff", f"{w.db}:hospital:HOSP-B", f"{w.db}:hospital:HOSP-C"]
    assert (await ok(ta, "GET", path, 200))["hospitals"] == ["HOSP-B", "HOSP-C"]
    res = await ok(ta, "PATCH", path, 200, json={"role": "admin"})
    assert res["role"] == "admin" and res["roles"] == [f"{w.db}:admin"]
    res = await ok(ta, "PATCH", path, 200, json={"role": "staff", "hospitals": ["HOSP-A"]})
    assert res["roles"] == [f"{w.db}:staff", f"{w.db}:hospital:HOSP-A"]
    res = await ok(ta, "PATCH", path, 200, json={"disabled": True})
    assert res["disabled"] is True and res["hospitals"] == ["HOSP-A"]
    assert (await call(w.c("staff_a"), "GET", "/_session")).status == 401
    res = await ok(ta, "PATCH", path, 200, json={"disabled": False, "password": "brand-new-pw"})
    assert res["disabled"] is False
    assert (await call(w.c("staff_a"), "GET", "/_session")).status == 401
    assert (await call(await w.client("staff-a", "brand-new-pw"), "GET", "/_session")).status == 200
    # an empty patch changes nothing
    res = await ok(ta, "PATCH", path, 200, json={})
    assert res["hospitals"] == ["HOSP-A"] and res["role"] == "staff"


@pytest.mark.parametrize(
    "body",
    [
        {"hospitals": ["NOPE"]},
        {"hospitals": []},
        {"hospitals": "HOSP-A"},
        {"role": "_admin"},
        {"role": "root"},
        {"disabled": "yes"},
        {"disabled": 1},
        {"password": "short"},
        {"password": 5},
        {"roles": ["_admin"]},
        {"name": "renamed"},
        {"tenant": "x"},
        {"derived_key": "00"},
        {"salt": "00"},
    ],
)
async def test_patch_user_errors(world: World, body: dict[str, Any]) -> None:
    w = world
    assert_error(await call(w.c("tenant_admin"), "PATCH", f"/_tenants/{w.db}/users/staff-a", json=body), 400)
    got = await ok(w.admin, "GET", f"/_tenants/{w.db}/users/staff-a", 200)
    assert got == {
        "name": "staff-a",
        "role": "staff",
        "hospitals": ["HOSP-A"],
        "disabled": False,
        "roles": [f"{w.db}:staff", f"{w.db}:hospital:HOSP-A"],
    }
    assert (await call(w.c("staff_a"), "GET", f"/{w.db}/{w.seeds['A'].id}")).status == 200


async def test_patch_body_must_be_object(world: World) -> None:
    w = world
    for raw in (b"[]", b"null", b"nope"):
        ex = await call(
            w.c("tenant_admin"),
            "PATCH",
            f"/_tenants/{w.db}/users/staff-a",
            data=raw,
            headers={"Content-Type": "application/json"},
        )
        assert_error(ex, 400)


async def test_delete_user(world: World) -> None:
    w, ta = world, world.c("tenant_admin")
    assert await ok(ta, "DELETE", f"/_tenants/{w.db}/users/staff-ab", 200) == {"ok": True}
    assert_error(await call(ta, "GET", f"/_tenants/{w.db}/users/staff-ab"), 404, "not_found")
    assert_error(await call(ta, "DELETE", f"/_tenants/{w.db}/users/staff-ab"), 404, "not_found")
    assert (await call(w.c("staff_ab"), "GET", "/_session")).status == 401
    assert (await ok(ta, "GET", f"/_tenants/{w.db}", 200))["user_count"] == 2
    # the name is free again
    await add_user(ta, w.db, "staff-ab", "staff", ["HOSP-C"], password="another-pw")
    assert (
        await call(await w.client("staff-ab", "another-pw"), "GET", f"/{w.db}/{w.seeds['C'].id}")
    ).status == 200


async def test_tenant_admin_cannot_see_or_touch_other_tenants_users(world: World) -> None:
    w, ta = world, world.c("tenant_admin")
    other = f"/_tenants/{w.other_db}/users"
    assert_error(await call(ta, "GET", other), 403, "forbidden")
    assert_error(await call(ta, "GET", f"{other}/o-staff"), 403, "forbidden")
    assert_error(await call(ta, "PATCH", f"{other}/o-staff", json={"disabled": True}), 403, "forbidden")
    assert_error(await call(ta, "DELETE", f"{other}/o-staff"), 403, "forbidden")
    assert_error(await call(ta, "POST", other, json={"name": "plant", "password": PW, "role": "admin"}), 403)
    assert_error(await call(ta, "POST", f"/_tenants/{w.other_db}/hospitals", json={"name": "P"}), 403)
    # through its own tenant's path the other tenant's users do not exist
    mine = f"/_tenants/{w.db}/users"
    assert_error(await call(ta, "GET", f"{mine}/o-staff"), 404, "not_found")
    assert_error(await call(ta, "PATCH", f"{mine}/o-staff", json={"hospitals": ["HOSP-A"]}), 404)
    assert_error(await call(ta, "PATCH", f"{mine}/o-admin", json={"disabled": True}), 404)
    assert_error(await call(ta, "DELETE", f"{mine}/o-staff"), 404, "not_found")
    assert "o-staff" not in [u["name"] for u in await ok(ta, "GET", mine, 200)]
    # and the other tenant's users are untouched
    assert (await call(w.c("other_staff"), "GET", f"/{w.other_db}/HOSP-X:doc")).status == 200
    assert (await call(w.c("other_admin"), "GET", f"{other}/o-staff")).status == 200
    assert "plant" not in [u["name"] for u in await ok(w.admin, "GET", other, 200)]


async def test_users_permissions(world: World) -> None:
    w = world
    path = f"/_tenants/{w.db}/users"
    for p, status in (
        ("anonymous", 401),
        ("staff_a", 403),
        ("staff_ab", 403),
        ("other_admin", 403),
        ("other_staff", 403),
    ):
        assert_error(await call(w.c(p), "GET", path), status)
        assert_error(
            await call(w.c(p), "POST", path, json={"name": "x1", "password": PW, "role": "admin"}), status
        )
        assert_error(await call(w.c(p), "GET", f"{path}/staff-a"), status)
        assert_error(await call(w.c(p), "PATCH", f"{path}/staff-a", json={"role": "admin"}), status)
        assert_error(await call(w.c(p), "DELETE", f"{path}/staff-a"), status)
    # staff cannot promote themselves
    assert_error(await call(w.c("staff_a"), "PATCH", f"{path}/staff-a", json={"role": "admin"}), 403)
    assert (await ok(w.admin, "GET", f"{path}/staff-a", 200))["role"] == "staff"
    assert_error(await call(w.admin, "GET", "/_tenants/nosuch-abcdefg/users"), 404, "not_found")
    assert_error(
        await call(
            w.admin,
            "POST",
            "/_tenants/nosuch-abcdefg/users",
            json={"name": "x2", "password": PW, "role": "admin"},
        ),
        404,
        "not_found",
    )


async def test_tenant_admin_created_admin_is_limited_to_its_tenant(world: World, client: TestClient) -> None:
    w = world
    await add_user(w.c("tenant_admin"), w.db, "co-admin", "admin", [])
    co = await w.client("co-admin", PW)
    assert (await call(co, "GET", f"/{w.db}/{w.seeds['C'].id}")).status == 200
    assert_error(await call(co, "GET", f"/{w.other_db}"), 403)
    assert_error(await call(co, "GET", "/_tenants"), 401)
    assert_error(await call(co, "PUT", "/some-db"), 401)
    assert_error(await call(co, "DELETE", f"/{w.db}"), 401)


async def test_tenant_created_in_one_does_not_leak_to_new_tenant(client: TestClient) -> None:
    """A fresh tenant's database holds nothing and its security names only its own roles."""
    a = await create_tenant(client, "First")
    await add_hospital(client, a, "H1")
    await ok(client, "PUT", f"/{a}/H1:doc", 201, json={"x": 1})
    b = await create_tenant(client, "Second")
    info = await ok(client, "GET", f"/{b}", 200)
    assert info["doc_count"] == 0
    assert (await ok(client, "GET", f"/_tenants/{b}", 200))["hospitals"] == []
