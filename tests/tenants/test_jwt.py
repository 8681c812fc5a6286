"""JWT bearer tokens against tenant databases (reference §3.2.3; CouchDB ``jwtf.erl``,
``couch_httpd_auth:jwt_authentication_handler``).

The app runs with ``Settings(jwt_keys=("hmac:_default=<base64 secret>",))``. A valid token's ``sub``
is the user and ``_couchdb.roles`` its roles — no ``_users`` document needed — so a token carrying
``<db>:staff`` and ``<db>:hospital:<H>`` is a staff member of H. Errors, as the server reports them
(CouchDB's strings, see ``couchsync/auth/jwt_auth.py``): expired → 401 "exp not in future"; bad
signature → 400 "Bad HMAC"; ``alg: none`` → 400 "Invalid alg header parameter"; missing ``sub`` →
401 "Token missing sub claim."; missing ``exp`` → 400 "Missing exp claim".
"""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Any

import jwt
import orjson
import pytest
from aiohttp.test_utils import TestClient

from couchsync.settings import Settings
from tests.tenants.world import ADMIN, HOSPITALS, World, call, ok, unique

SECRET = b"couchsync-jwt-test-secret-" + b"0123456789abcdef" * 3  # 74 bytes: long enough for HS512


@pytest.fixture
def settings(data_dir: str) -> Settings:
    return Settings(
        data_dir=data_dir,
        admin=":".join(ADMIN),
        bcrypt_rounds=4,
        jwt_keys=(f"hmac:_default={base64.b64encode(SECRET).decode()}",),
    )


def token(
    claims: dict[str, Any],
    *,
    key: bytes = SECRET,
    alg: str = "HS256",
    headers: dict[str, Any] | None = None,
    exp: bool = True,
) -> str:
    body = dict(claims)
    if exp:
        body.setdefault("exp", int(time.time()) + 300)
    return jwt.encode(body, key, algorithm=alg, headers=headers)


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


async def bearer(w: World, tok: str) -> TestClient:
    return await w.client(headers={"Authorization": f"Bearer {tok}"})


def staff_roles(w: World, *hospitals: str) -> list[str]:
    return [f"{w.db}:staff", *(f"{w.db}:hospital:{HOSPITALS[h]}" for h in hospitals)]


async def test_valid_staff_token_is_limited_to_its_hospitals(world: World) -> None:
    w = world
    c = await bearer(w, token({"sub": "jwt-nurse", "_couchdb.roles": staff_roles(w, "A")}))
    session = await ok(c, "GET", "/_session", 200)
    assert session["userCtx"] == {"name": "jwt-nurse", "roles": staff_roles(w, "A")}
    assert session["info"]["authenticated"] == "jwt"
    got = await ok(c, "GET", f"/{w.db}/{w.seeds['A'].id}", 200)
    assert got["marker"] == w.seeds["A"].marker
    ex = await call(c, "GET", f"/{w.db}/{w.seeds['C'].id}")
    assert ex.status == 403 and ex.json()["error"] == "forbidden"
    ids = {r["id"] for r in (await ok(c, "GET", f"/{w.db}/_all_docs", 200))["rows"]}
    assert ids == {w.seeds["A"].id, w.seeds["design"].id}
    changes = await call(c, "GET", f"/{w.db}/_changes?include_docs=true")
    assert {r["id"] for r in changes.json()["results"]} == ids
    for t in ("B", "C"):
        assert w.seeds[t].marker.encode() not in changes.body
    res = await ok(
        c,
        "POST",
        f"/{w.db}/_bulk_docs",
        201,
        json={"docs": [{"_id": f"{HOSPITALS['A']}:by-jwt"}, {"_id": f"{HOSPITALS['C']}:by-jwt"}]},
    )
    assert res[0]["ok"] is True and res[1]["error"] == "forbidden"
    assert (await call(c, "GET", f"/{w.other_db}")).status == 403
    assert (await call(c, "GET", f"/_tenants/{w.db}")).status == 403


async def test_roles_as_comma_separated_string(world: World) -> None:
    w = world
    roles = ", ".join(staff_roles(w, "A", "B"))
    c = await bearer(w, token({"sub": "jwt-nurse2", "_couchdb.roles": roles}))
    assert (await call(c, "GET", f"/{w.db}/{w.seeds['B'].id}")).status == 200
    assert (await call(c, "GET", f"/{w.db}/{w.seeds['C'].id}")).status == 403


async def test_valid_tenant_admin_token(world: World) -> None:
    w = world
    c = await bearer(w, token({"sub": "jwt-boss", "_couchdb.roles": [f"{w.db}:admin"]}))
    assert (await ok(c, "GET", f"/{w.db}/{w.seeds['C'].id}", 200))["marker"] == w.seeds["C"].marker
    assert (await call(c, "GET", f"/_tenants/{w.db}")).status == 200
    assert (await call(c, "PUT", f"/{w.db}/_design/by-jwt", json={})).status == 201
    assert (await call(c, "GET", f"/_tenants/{w.other_db}")).status == 403
    assert (await call(c, "GET", f"/{w.other_db}")).status == 403
    assert (await call(c, "GET", "/_tenants")).status == 401


async def test_token_without_tenant_roles(world: World) -> None:
    w = world
    for roles in ([], ["staff"], [f"{w.other_db}:staff", f"{w.other_db}:hospital:HOSP-A"]):
        c = await bearer(w, token({"sub": "jwt-nobody", "_couchdb.roles": roles}))
        ex = await call(c, "GET", f"/{w.db}/{w.seeds['A'].id}")
        assert ex.status == 403 and ex.json()["error"] == "forbidden", str(ex)
        assert w.seeds["A"].marker.encode() not in ex.body


async def test_server_admin_role_in_token(world: World) -> None:
    """CouchDB trusts a signed token's roles, ``_admin`` included."""
    w = world
    c = await bearer(w, token({"sub": "jwt-root", "_couchdb.roles": ["_admin"]}))
    assert (await call(c, "GET", "/_tenants")).status == 200


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
async def test_hmac_algorithms(world: World, alg: str) -> None:
    c = await bearer(world, token({"sub": "jwt-alg", "_couchdb.roles": staff_roles(world, "A")}, alg=alg))
    assert (await call(c, "GET", f"/{world.db}/{world.seeds['A'].id}")).status == 200


def _alg_none() -> str:
    header = b64url(orjson.dumps({"alg": "none", "typ": "JWT"}))
    payload = b64url(orjson.dumps({"sub": "x", "exp": int(time.time()) + 300, "_couchdb.roles": ["_admin"]}))
    return f"{header}.{payload}."


BAD_TOKENS = [
    pytest.param(
        lambda: token({"sub": "x", "exp": int(time.time()) - 10}),
        401,
        "unauthorized",
        "exp not in future",
        id="expired",
    ),
    pytest.param(
        lambda: token({"sub": "x", "_couchdb.roles": ["_admin"]}, key=b"another-secret-of-32-bytes-00000"),
        400,
        "bad_request",
        "Bad HMAC",
        id="bad-signature",
    ),
    pytest.param(_alg_none, 400, "bad_request", "Invalid alg header parameter", id="alg-none"),
    pytest.param(
        lambda: token({"_couchdb.roles": ["_admin"]}),
        401,
        "unauthorized",
        "Token missing sub claim.",
        id="missing-sub",
    ),
    pytest.param(
        lambda: token({"sub": "x"}, exp=False), 400, "bad_request", "Missing exp claim", id="missing-exp"
    ),
    pytest.param(
        lambda: token({"sub": "x", "nbf": int(time.time()) + 300}),
        401,
        "unauthorized",
        "nbf not in past",
        id="nbf-future",
    ),
    pytest.param(
        lambda: token({"sub": "x"}, headers={"kid": "nope"}),
        400,
        "bad_request",
        "Unknown kid",
        id="unknown-kid",
    ),
    pytest.param(lambda: "not-a-token", 400, "bad_request", "Malformed token", id="malformed"),
    pytest.param(lambda: token({"sub": "x"})[:-4] + "AAAA", 400, "bad_request", "Bad HMAC", id="tampered"),
]


@pytest.mark.parametrize(("make", "status", "error", "reason"), BAD_TOKENS)
async def test_bad_tokens(world: World, make: Any, status: int, error: str, reason: str) -> None:
    w = world
    c = await bearer(w, make())
    for path in ("/", f"/{w.db}/{w.seeds['A'].id}", f"/{w.db}/_all_docs?include_docs=true", "/_session"):
        ex = await call(c, "GET", path)
        assert ex.status == status, str(ex)
        assert ex.json() == {"error": error, "reason": reason}, str(ex)
        assert w.seeds["A"].marker.encode() not in ex.body


async def test_tampered_roles_are_refused(world: World) -> None:
    """Re-encoding the payload with more roles breaks the signature."""
    w = world
    good = token({"sub": "x", "_couchdb.roles": staff_roles(w, "A")})
    header, _, sig = good.split(".")
    payload = b64url(orjson.dumps({"sub": "x", "exp": int(time.time()) + 300, "_couchdb.roles": ["_admin"]}))
    c = await bearer(w, f"{header}.{payload}.{sig}")
    ex = await call(c, "GET", f"/{w.db}/{w.seeds['C'].id}")
    assert ex.status == 400 and ex.json()["reason"] == "Bad HMAC", str(ex)


async def test_jwt_staff_longpoll_delivers_own_partition(world: World) -> None:
    w = world
    c = await bearer(w, token({"sub": "jwt-live", "_couchdb.roles": staff_roles(w, "A")}))
    resp = await c.get(f"/{w.db}/_changes?feed=longpoll&since=now&heartbeat=40")
    assert resp.status == 200
    await asyncio.sleep(0.02)
    c_id, a_id = w.new_id("C", "jwt"), w.new_id("A", "jwt")
    await ok(w.admin, "PUT", f"/{w.db}/{c_id}", 201, json={})
    await asyncio.sleep(0.1)
    await ok(w.admin, "PUT", f"/{w.db}/{a_id}", 201, json={"n": unique()})
    try:
        body = await asyncio.wait_for(resp.read(), 2)
    except TimeoutError:
        resp.close()
        raise AssertionError("the JWT staff member's longpoll never delivered their own write") from None
    assert [r["id"] for r in orjson.loads(body)["results"]] == [a_id]
