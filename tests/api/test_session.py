"""Authentication: ``/_session`` (cookie login), the ``AuthSession`` cookie, and Basic auth.

Sources: protocol reference §3.2.1, §3.2.2, §7 item 35; CouchDB ``src/couch/src/couch_httpd_auth.erl``
(``handle_session_req/2``, ``extract_username/1``, ``cookie_authentication_handler``,
``cookie_auth_header``, ``basic_name_pw``), ``chttpd_auth_lockout`` (DOCS ``config/auth.rst``).

Cookies are sent by hand (``Cookie:`` header) from a client without a cookie jar, so each test
states exactly which cookie a request carries.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from couchsync.api.app import create_app
from couchsync.api.context import STATE
from couchsync.auth.cookies import make_cookie
from couchsync.settings import Settings

INCORRECT = {"error": "unauthorized", "reason": "Name or password is incorrect."}
MALFORMED = {"error": "bad_request", "reason": "Malformed AuthSession cookie. Please clear your cookies."}


@pytest.fixture
async def bare(server: TestServer) -> AsyncIterator[TestClient]:
    """No credentials and no cookie jar."""
    c = TestClient(server, cookie_jar=aiohttp.DummyCookieJar())
    await c.start_server()
    yield c
    await c.close()


def _set_cookie(resp: Any) -> dict[str, str] | None:
    """The ``AuthSession`` Set-Cookie of ``resp`` as ``{"value", <attribute>: <value>|""}``."""
    for raw in resp.headers.getall("Set-Cookie", []):
        first, *attrs = [p.strip() for p in raw.split(";")]
        name, _, value = first.partition("=")
        if name == "AuthSession":
            out = {"value": value}
            for a in attrs:
                k, _, v = a.partition("=")
                out[k.lower()] = v
            return out
    return None


def _cookie(value: str) -> dict[str, str]:
    return {"Cookie": f"AuthSession={value}"}


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


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


async def _login(c: TestClient, name: str = "admin", password: str = "secret") -> str:
    r = await c.post("/_session", json={"name": name, "password": password})
    assert r.status == 200, await r.text()
    cookie = _set_cookie(r)
    assert cookie is not None
    return cookie["value"]


async def _minted(server: TestServer, name: str, age: int) -> str:
    """A genuine cookie for ``name`` minted ``age`` seconds ago (server secret + user salt)."""
    auth = server.app[STATE].auth
    creds = await auth.credentials(name)
    assert creds is not None
    return make_cookie(name, auth.secret, creds.salt, int(time.time()) - age)


# -- POST /_session ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "payload"),
    [
        ("json", {"name": "admin", "password": "secret"}),
        ("json", {"username": "admin", "password": "secret"}),  # alias (extract_username)
        ("json", {"name": "admin", "username": "admin", "password": "secret"}),
        ("form", {"name": "admin", "password": "secret"}),
        ("form", {"username": "admin", "password": "secret"}),
    ],
)
async def test_login(bare: TestClient, kind: str, payload: dict[str, str]) -> None:
    """JSON or form login → 200 ``{"ok":true,"name","roles"}`` and ``Set-Cookie: AuthSession=…;
    Version=1; Path=/; Max-Age=600; HttpOnly`` (reference §3.2.2)."""
    if kind == "json":
        r = await bare.post("/_session", json=payload)
    else:
        r = await bare.post("/_session", data=payload)  # application/x-www-form-urlencoded
    assert r.status == 200, await r.text()
    assert await r.json() == {"ok": True, "name": "admin", "roles": ["_admin"]}
    cookie = _set_cookie(r)
    assert cookie is not None and cookie["value"]
    assert cookie["path"] == "/"
    assert cookie["max-age"] == "600"
    assert "httponly" in cookie
    assert "secure" not in cookie  # plain http


async def test_login_json_with_charset(bare: TestClient) -> None:
    r = await bare.post(
        "/_session",
        data='{"name":"admin","password":"secret"}',
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert r.status == 200


@pytest.mark.parametrize(
    ("kind", "payload"),
    [
        ("json", {"name": "admin", "password": "wrong"}),
        ("json", {"name": "ghost", "password": "secret"}),
        ("json", {"name": "admin"}),  # password defaults to "" (couch_util:get_value(..., ""))
        ("json", {"name": "admin", "password": ""}),
        ("form", {"name": "admin", "password": "wrong"}),
        ("form", {"username": "ghost", "password": "x"}),
    ],
)
async def test_login_wrong_credentials(bare: TestClient, kind: str, payload: dict[str, str]) -> None:
    """Failure → 401 ``unauthorized`` "Name or password is incorrect." plus a clearing cookie
    (couch_httpd_auth handle_session_req ``clear_auth_cookie``)."""
    r = await (
        bare.post("/_session", json=payload) if kind == "json" else bare.post("/_session", data=payload)
    )
    assert r.status == 401
    assert await r.json() == INCORRECT
    cookie = _set_cookie(r)
    assert cookie is not None and cookie["value"] == ""
    assert "WWW-Authenticate" not in r.headers  # no browser login popup (reference §3.2.1)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"password": "secret"}, "request body must contain a username"),
        ({}, "request body must contain a username"),
        (
            {"name": "admin", "username": "other", "password": "secret"},
            "request body contains different usernames",
        ),
    ],
)
async def test_login_username_errors(bare: TestClient, payload: dict[str, str], reason: str) -> None:
    """couch_httpd_auth ``extract_username/1``: no ``name``/``username`` → 400; both, different → 400."""
    r = await bare.post("/_session", json=payload)
    assert r.status == 400
    assert await r.json() == {"error": "bad_request", "reason": reason}


@pytest.mark.parametrize("ctype", ["text/plain", "multipart/form-data; boundary=xyz", "application/xml"])
async def test_login_other_content_type_415(bare: TestClient, ctype: str) -> None:
    """couch_httpd_auth handle_session_req: neither form nor JSON → 415 ``bad_content_type``."""
    r = await bare.post("/_session", data="name=admin&password=secret", headers={"Content-Type": ctype})
    assert r.status == 415
    assert await r.json() == {
        "error": "bad_content_type",
        "reason": "Content-Type must be 'application/x-www-form-urlencoded' or 'application/json'",
    }


async def test_login_invalid_json(bare: TestClient) -> None:
    r = await bare.post("/_session", data='{"name":', headers={"Content-Type": "application/json"})
    assert r.status == 400
    assert (await r.json())["error"] == "bad_request"


@pytest.mark.parametrize(("query", "status"), [("?next=/db/_all_docs", 302), ("?fail=/login", 200)])
async def test_login_next_redirect(bare: TestClient, query: str, status: int) -> None:
    """``?next=`` on success → 302 to it (``?fail=`` only applies to failures)."""
    r = await bare.post(
        "/_session" + query, json={"name": "admin", "password": "secret"}, allow_redirects=False
    )
    assert r.status == status
    if status == 302:
        assert r.headers["Location"].endswith("/db/_all_docs")
    assert _set_cookie(r) is not None


async def test_login_fail_redirect(bare: TestClient) -> None:
    """``?fail=`` on a failed login → 302 to it, with the clearing cookie."""
    r = await bare.post(
        "/_session?fail=/login", json={"name": "admin", "password": "x"}, allow_redirects=False
    )
    assert r.status == 302
    assert r.headers["Location"].endswith("/login")
    cookie = _set_cookie(r)
    assert cookie is not None and cookie["value"] == ""


async def test_login_non_admin_user(client: TestClient, bare: TestClient) -> None:
    """A ``_users`` user (pbkdf2 credentials) logs in with its roles."""
    await make_user(client, "bob", "bobpass", ["reader"])
    r = await bare.post("/_session", json={"name": "bob", "password": "bobpass"})
    assert r.status == 200
    assert await r.json() == {"ok": True, "name": "bob", "roles": ["reader"]}
    r = await bare.post("/_session", json={"name": "bob", "password": "nope"})
    assert r.status == 401


# -- GET /_session -------------------------------------------------------------------------------


async def test_session_anonymous(bare: TestClient) -> None:
    """Anonymous: ``userCtx {"name":null,"roles":[]}``, no ``info.authenticated``."""
    r = await bare.get("/_session")
    assert r.status == 200
    body = await r.json()
    assert body["ok"] is True
    assert body["userCtx"] == {"name": None, "roles": []}
    assert "authenticated" not in body["info"]
    assert body["info"]["authentication_handlers"] == ["cookie", "default"]
    assert body["info"]["authentication_db"] == "_users"


async def test_session_basic(client: TestClient) -> None:
    body = await (await client.get("/_session")).json()
    assert body["userCtx"] == {"name": "admin", "roles": ["_admin"]}
    assert body["info"]["authenticated"] == "default"


async def test_session_cookie(bare: TestClient) -> None:
    value = await _login(bare)
    body = await (await bare.get("/_session", headers=_cookie(value))).json()
    assert body["userCtx"] == {"name": "admin", "roles": ["_admin"]}
    assert body["info"]["authenticated"] == "cookie"


async def test_session_basic_true_requires_login(bare: TestClient, client: TestClient) -> None:
    """``?basic=true`` with no user → 401 "Please login." (handle_session_req GET)."""
    r = await bare.get("/_session?basic=true")
    assert r.status == 401
    assert await r.json() == {"error": "unauthorized", "reason": "Please login."}
    assert (await client.get("/_session?basic=true")).status == 200


# -- the cookie ----------------------------------------------------------------------------------


async def test_cookie_authenticates_requests(bare: TestClient, db: str) -> None:
    value = await _login(bare)
    assert (await bare.get("/_all_dbs")).status == 401
    r = await bare.get("/_all_dbs", headers=_cookie(value))
    assert r.status == 200
    assert db in await r.json()
    r = await bare.put(f"/{db}/doc", json={"a": 1}, headers=_cookie(value))
    assert r.status == 201
    assert _set_cookie(r) is None  # a fresh cookie is not refreshed


async def test_delete_session_clears_cookie(bare: TestClient) -> None:
    """``DELETE /_session`` → ``{"ok":true}`` + an emptied ``AuthSession``. Stateless, as CouchDB:
    the old cookie value is not revoked and still authenticates (reference §3.2.2, §7 item 35)."""
    value = await _login(bare)
    r = await bare.delete("/_session", headers=_cookie(value))
    assert r.status == 200
    assert await r.json() == {"ok": True}
    cleared = _set_cookie(r)
    assert cleared is not None and cleared["value"] == "" and cleared["path"] == "/"
    body = await (await bare.get("/_session", headers=_cookie(value))).json()
    assert body["userCtx"]["name"] == "admin"


async def test_empty_cookie_is_anonymous(bare: TestClient) -> None:
    r = await bare.get("/_session", headers=_cookie(""))
    assert r.status == 200
    assert (await r.json())["userCtx"]["name"] is None


@pytest.mark.parametrize(
    "value",
    [
        "!!notbase64!!",
        _b64url(b"no-colons-at-all"),
        _b64url(b"admin:5F5E100"),  # two fields only
    ],
)
async def test_malformed_cookie_400(bare: TestClient, value: str) -> None:
    """Not base64url or not ``name:time:mac`` → 400 "Malformed AuthSession cookie. Please clear
    your cookies." (couch_httpd_auth cookie_authentication_handler)."""
    r = await bare.get("/_session", headers=_cookie(value))
    assert r.status == 400
    assert await r.json() == MALFORMED


@pytest.mark.parametrize(
    "value",
    [
        _b64url(b"admin:5F5E100:" + b"\x01" * 32),  # wrong MAC
        _b64url(b"admin:zz:" + b"\x01" * 32),  # time not hex
        _b64url(b"ghost:5F5E100:" + b"\x01" * 32),  # unknown user
    ],
)
async def test_invalid_cookie_is_ignored(bare: TestClient, value: str) -> None:
    """A well-formed but invalid cookie is ignored: the request proceeds as anonymous."""
    r = await bare.get("/_session", headers=_cookie(value))
    assert r.status == 200
    assert (await r.json())["userCtx"] == {"name": None, "roles": []}
    assert (await bare.get("/_all_dbs", headers=_cookie(value))).status == 401


async def test_expired_cookie_is_ignored(bare: TestClient, server: TestServer) -> None:
    value = await _minted(server, "admin", 601)
    body = await (await bare.get("/_session", headers=_cookie(value))).json()
    assert body["userCtx"]["name"] is None


@pytest.mark.parametrize(("age", "refreshed"), [(0, False), (59, False), (61, True), (500, True)])
async def test_cookie_refresh(bare: TestClient, server: TestServer, age: int, refreshed: bool) -> None:
    """With less than 90% of the 600 s lifetime left (older than 60 s), any authenticated response
    carries a fresh ``Set-Cookie`` (couch_httpd_auth ``cookie_auth_header``)."""
    value = await _minted(server, "admin", age)
    r = await bare.get("/_all_dbs", headers=_cookie(value))
    assert r.status == 200
    cookie = _set_cookie(r)
    if not refreshed:
        assert cookie is None
        return
    assert cookie is not None and cookie["value"] not in ("", value)
    assert cookie["max-age"] == "600"
    body = await (await bare.get("/_session", headers=_cookie(cookie["value"]))).json()
    assert body["userCtx"]["name"] == "admin"
    assert body["info"]["authenticated"] == "cookie"


async def test_short_session_timeout(tmp_path: Any) -> None:
    """``session_timeout`` drives ``Max-Age``, the refresh point (10% of it) and expiry."""
    s = Settings(data_dir=str(tmp_path / "d"), admin="admin:secret", bcrypt_rounds=4, session_timeout=20)
    srv = TestServer(create_app(s))
    c = TestClient(srv, cookie_jar=aiohttp.DummyCookieJar())
    await c.start_server()
    try:
        r = await c.post("/_session", json={"name": "admin", "password": "secret"})
        cookie = _set_cookie(r)
        assert cookie is not None and cookie["max-age"] == "20"
        value = cookie["value"]
        assert _set_cookie(await c.get("/_all_dbs", headers=_cookie(value))) is None
        value = await _minted(srv, "admin", 3)  # 17 s left < 18 s
        r = await c.get("/_all_dbs", headers=_cookie(value))
        assert r.status == 200
        fresh = _set_cookie(r)
        assert fresh is not None and fresh["max-age"] == "20"
        value = await _minted(srv, "admin", 21)
        assert (await c.get("/_all_dbs", headers=_cookie(value))).status == 401
    finally:
        await c.close()


@pytest.mark.parametrize(
    ("overrides", "present", "absent"),
    [
        ({"cookie_same_site": "none", "cookie_secure": True}, {"samesite": "None", "secure": ""}, set()),
        ({"cookie_same_site": "Lax"}, {"samesite": "Lax"}, {"secure"}),
        ({"allow_persistent_cookies": False}, {}, {"max-age"}),
    ],
)
async def test_cookie_attributes_from_settings(
    tmp_path: Any, overrides: dict[str, Any], present: dict[str, str], absent: set[str]
) -> None:
    """``SameSite``/``Secure`` when configured (cross-origin cookies need ``SameSite=None; Secure``,
    reference §0.1); no ``Max-Age`` without persistent cookies (reference §3.2.2)."""
    s = Settings(data_dir=str(tmp_path / "d"), admin="admin:secret", bcrypt_rounds=4, **overrides)
    c = TestClient(TestServer(create_app(s)), cookie_jar=aiohttp.DummyCookieJar())
    await c.start_server()
    try:
        r = await c.post("/_session", json={"name": "admin", "password": "secret"})
        assert r.status == 200
        cookie = _set_cookie(r)
        assert cookie is not None
        for k, v in present.items():
            assert cookie[k] == v, k
        for k in absent:
            assert k not in cookie
    finally:
        await c.close()


# -- Basic ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("user", "password"), [("admin", "wrong"), ("ghost", "secret"), ("admin", "")])
async def test_basic_wrong_credentials_401(bare: TestClient, user: str, password: str) -> None:
    """Wrong Basic credentials fail the request, even on open endpoints: 401 "Name or password is
    incorrect.", no ``WWW-Authenticate`` (reference §3.2.1). (Four tries: below the lockout.)"""
    for path in ("/", "/_session", "/_all_dbs", "/_up"):
        r = await bare.get(path, headers={"Authorization": aiohttp.encode_basic_auth(user, password)})
        assert r.status == 401, path
        assert await r.json() == INCORRECT
        assert "WWW-Authenticate" not in r.headers


@pytest.mark.parametrize("header", ["Basic !!!!", "Basic a", "Basic YWRtaW46c2VjcmV0=x"])
async def test_basic_bad_base64_400(bare: TestClient, header: str) -> None:
    r = await bare.get("/_session", headers={"Authorization": header})
    assert r.status == 400
    assert await r.json() == {
        "error": "bad_request",
        "reason": "Authorization header has invalid base64 value",
    }


async def test_basic_without_colon_is_anonymous(bare: TestClient) -> None:
    """couch_httpd_auth basic_name_pw: no ``:`` in the decoded value → no credentials."""
    token = base64.b64encode(b"admin").decode()
    r = await bare.get("/_session", headers={"Authorization": f"Basic {token}"})
    assert r.status == 200
    assert (await r.json())["userCtx"]["name"] is None


async def test_basic_user_and_scheme_case(bare: TestClient) -> None:
    token = base64.b64encode(b"admin:secret").decode()
    r = await bare.get("/_session", headers={"Authorization": f"basic {token}"})
    assert (await r.json())["userCtx"]["name"] == "admin"


async def test_lockout_after_repeated_failures(bare: TestClient) -> None:
    """Five failures for a name from one address → 403 ``forbidden`` until the lockout ends, even
    with the right password (CouchDB 3.4+ ``[chttpd_auth_lockout]``, threshold 5)."""
    for _ in range(5):
        r = await bare.post("/_session", json={"name": "admin", "password": "wrong"})
        assert r.status == 401
    r = await bare.post("/_session", json={"name": "admin", "password": "secret"})
    assert r.status == 403
    assert await r.json() == {
        "error": "forbidden",
        "reason": "Account is temporarily locked due to multiple authentication failures",
    }
