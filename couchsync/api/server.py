"""Server-level endpoints: ``/``, ``/_up``, ``/_uuids``, ``/_all_dbs``, ``/_dbs_info``, ``/_session``,
``/_active_tasks``. Sources: CouchDB ``chttpd_misc.erl``, ``couch_httpd_auth.erl``; reference §3.1–§3.2.
"""

from __future__ import annotations

import secrets
import time
from urllib.parse import parse_qsl

import orjson
from aiohttp import web

from ..auth.cookies import clear_cookie_header, set_cookie_header
from ..errors import BadContentType, BadRequest, Unauthorized
from .context import Ctx
from .databases import db_info
from .http import json_response, read_body

VERSION = "3.5.2"
FEATURES = ["access-ready", "partitioned", "pluggable-storage-engines", "reshard", "scheduler"]


async def root(ctx: Ctx) -> web.StreamResponse:
    """``GET /`` → ``{"couchdb":"Welcome","version","git_sha","uuid","features","vendor"}``."""
    return json_response({
        "couchdb": "Welcome", "version": VERSION, "git_sha": "couchsync", "uuid": ctx.state.config.uuid,
        "features": FEATURES, "vendor": {"name": "couchsync", "version": "0.1.0"},
    })


async def up(ctx: Ctx) -> web.StreamResponse:
    return json_response({"status": "ok", "seeds": {}})


_uuid_prefix = secrets.token_hex(13)
_uuid_counter = [0]


async def uuids(ctx: Ctx) -> web.StreamResponse:
    """``GET /_uuids?count=N`` → ``{"uuids": [32 hex]}`` (sequential algorithm); 400 on bad count."""
    raw = ctx.q("count", "1") or "1"
    if not raw.isdigit() or int(raw) < 1:
        raise BadRequest("count must be a positive integer")
    count = int(raw)
    if count > 1000:
        raise BadRequest("count parameter too large")
    out = []
    for _ in range(count):
        _uuid_counter[0] += secrets.randbelow(0xFFE) + 1
        out.append(f"{_uuid_prefix}{_uuid_counter[0] & 0xFFFFFF:06x}")
    return json_response({"uuids": out}, headers={
        "Cache-Control": "no-cache", "Pragma": "no-cache", "Expires": "Fri, 01 Jan 1990 00:00:00 GMT"})


def _range_filter(names: list[str], ctx: Ctx) -> list[str]:
    def param(*keys: str) -> str | None:
        for k in keys:
            v = ctx.q(k)
            if v is not None:
                try:
                    val = orjson.loads(v)
                except orjson.JSONDecodeError:
                    raise BadRequest(f"Invalid JSON in parameter {k}") from None
                return val if isinstance(val, str) else None
        return None
    descending = ctx.q("descending") == "true"
    start, end = param("startkey", "start_key"), param("endkey", "end_key")
    inclusive = ctx.q("inclusive_end", "true") != "false"
    if descending:
        names = names[::-1]
    out = []
    for n in names:
        if start is not None and (n < start if not descending else n > start):
            continue
        if end is not None and ((n > end or (n == end and not inclusive)) if not descending
                                else (n < end or (n == end and not inclusive))):
            continue
        out.append(n)
    skip = int(ctx.q("skip", "0") or 0)
    limit = ctx.q("limit")
    out = out[skip:]
    return out[: int(limit)] if limit is not None and limit.isdigit() else out


async def all_dbs(ctx: Ctx) -> web.StreamResponse:
    """``GET /_all_dbs`` (server admin) → sorted names; range params as ``_all_docs``."""
    ctx.require_server_admin()
    return json_response(_range_filter(ctx.state.registry.all_dbs(), ctx))


async def dbs_info(ctx: Ctx) -> web.StreamResponse:
    """``GET|POST /_dbs_info`` (server admin) → ``[{"key": name, "info": {…}}|{"key","error"}]``."""
    ctx.require_server_admin()
    if ctx.method == "POST":
        body = await ctx.json_object()
        keys = body.get("keys")
        if not isinstance(keys, list):
            raise BadRequest("`keys` member must exist.")
    else:
        keys = _range_filter(ctx.state.registry.all_dbs(), ctx)
    out = []
    for name in keys:
        if isinstance(name, str) and ctx.state.registry.exists(name):
            out.append({"key": name, "info": await db_info(await ctx.state.registry.get(name))})
        else:
            out.append({"key": name, "error": "not_found"})
    return json_response(out)


async def active_tasks(ctx: Ctx) -> web.StreamResponse:
    ctx.require_server_admin()
    tasks = []
    for name in ctx.state.registry.all_dbs():
        db = ctx.state.registry._dbs.get(name)
        if db is not None and db.compact_running:
            tasks.append({"type": "database_compaction", "database": name, "progress": 0,
                          "started_on": int(time.time()), "updated_on": int(time.time())})
    return json_response(tasks)


# -- /_session -----------------------------------------------------------------------------------


def _session_info(ctx: Ctx) -> dict[str, object]:
    info: dict[str, object] = {"authentication_handlers": ["cookie", "default"], "authentication_db": "_users"}
    if ctx.user.authenticated:
        info["authenticated"] = ctx.user.authenticated
    return info


async def session_get(ctx: Ctx) -> web.StreamResponse:
    """``GET /_session`` → ``{"ok":true,"userCtx":{"name","roles"},"info":{…}}``."""
    if ctx.q("basic") == "true" and ctx.user.name is None:
        raise Unauthorized("Authentication required.")
    return json_response({"ok": True, "userCtx": {"name": ctx.user.name, "roles": list(ctx.user.roles)},
                          "info": _session_info(ctx)})


async def session_post(ctx: Ctx) -> web.StreamResponse:
    """``POST /_session`` JSON or form ``name``/``password`` → 200 + ``Set-Cookie: AuthSession``.

    Raises ``Unauthorized`` (401 "Name or password is incorrect.") with a clearing cookie,
    ``BadContentType`` (415) for other content types; ``?next=`` redirects (302).
    """
    ctype = ctx.request.content_type
    s = ctx.settings
    if ctype == "application/json":
        body = await ctx.json_object()
    elif ctype == "application/x-www-form-urlencoded":
        raw = await read_body(ctx.request, 1 << 16)
        body = dict(parse_qsl(raw.decode("utf-8", "replace")))
    else:
        raise BadContentType("Content-Type must be application/json or application/x-www-form-urlencoded")
    name = body.get("name", body.get("username"))
    password = body.get("password")
    if not isinstance(name, str) or not isinstance(password, str):
        raise Unauthorized("Name or password is incorrect.")
    try:
        user = await ctx.state.auth.check_password(name, password, ctx.request.remote)
    except Unauthorized as e:
        resp = json_response(e.to_json(), 401)
        resp.headers.add("Set-Cookie", clear_cookie_header(secure=s.cookie_secure, same_site=s.cookie_same_site))
        return resp
    cookie = await ctx.state.auth.make_session_cookie(name)
    headers = {"Set-Cookie": set_cookie_header(
        cookie, max_age=s.session_timeout if s.allow_persistent_cookies else None,
        secure=s.cookie_secure, same_site=s.cookie_same_site)}
    next_url = ctx.q("next")
    if next_url and next_url.startswith("/"):
        headers["Location"] = next_url
        return json_response({"ok": True, "name": user.name, "roles": list(user.roles)}, 302, headers)
    return json_response({"ok": True, "name": user.name, "roles": list(user.roles)}, 200, headers)


async def session_delete(ctx: Ctx) -> web.StreamResponse:
    """``DELETE /_session`` → ``{"ok":true}`` and a clearing cookie (stateless, as CouchDB)."""
    s = ctx.settings
    return json_response({"ok": True}, headers={
        "Set-Cookie": clear_cookie_header(secure=s.cookie_secure, same_site=s.cookie_same_site)})
