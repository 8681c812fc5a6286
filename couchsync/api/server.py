"""Server-level endpoints: ``/``, ``/_up``, ``/_uuids``, ``/_all_dbs``, ``/_dbs_info``, ``/_session``,
``/_active_tasks``. Sources: CouchDB ``chttpd_misc.erl``, ``couch_httpd_auth.erl``; reference §3.1–§3.2.
"""

from __future__ import annotations

import secrets
import time
from urllib.parse import parse_qsl

import orjson
from aiohttp import web

from ..auth.authenticator import BAD_CREDENTIALS
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


class _SequentialUuids:
    """CouchDB's default ``sequential`` algorithm (couch_uuids): a random 26-hex prefix and a
    6-hex counter bumped by a random 1..0xFFE; a new prefix once the counter passes 0xFFF000, so
    values never repeat (a wrapped counter under the same prefix would)."""

    def __init__(self) -> None:
        self._new_prefix()

    def _new_prefix(self) -> None:
        self.prefix = secrets.token_hex(13)
        self.counter = 0

    def next(self) -> str:
        self.counter += secrets.randbelow(0xFFE) + 1
        if self.counter >= 0xFFF000:
            self._new_prefix()
            self.counter = secrets.randbelow(0xFFE) + 1
        return f"{self.prefix}{self.counter:06x}"


_uuids = _SequentialUuids()


async def uuids(ctx: Ctx) -> web.StreamResponse:
    """``GET /_uuids?count=N`` → ``{"uuids": [32 hex]}`` (sequential algorithm); 400 on bad count
    (CouchDB couch_httpd_misc_handlers ``handle_uuids_req``: N < 0 or not an integer, N > 1000)."""
    raw = ctx.request.query.get("count", "1")
    if not raw.isascii() or not raw.isdigit():
        raise BadRequest("count must be a positive integer")
    count = int(raw)
    if count > 1000:
        raise BadRequest("count parameter too large")
    out = [_uuids.next() for _ in range(count)]
    return json_response({"uuids": out}, headers={
        "Cache-Control": "no-cache", "Pragma": "no-cache", "Expires": "Mon, 01 Jan 1990 00:00:00 GMT"})


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
    """``GET /_session`` → ``{"ok":true,"userCtx":{"name","roles"},"info":{…}}``; ``?basic=true``
    without a user → 401 "Please login." (CouchDB couch_httpd_auth ``handle_session_req``)."""
    if ctx.q("basic") == "true" and ctx.user.name is None:
        raise Unauthorized("Please login.")
    return json_response({"ok": True, "userCtx": {"name": ctx.user.name, "roles": list(ctx.user.roles)},
                          "info": _session_info(ctx)})


def _username(body: dict[str, object]) -> object:
    """CouchDB ``extract_username/1``: ``name`` or its alias ``username``; 400 when neither is
    given or both are, with different values."""
    name, username = body.get("name"), body.get("username")
    if name is None and username is None:
        raise BadRequest("request body must contain a username")
    if name is not None and username is not None and name != username:
        raise BadRequest("request body contains different usernames")
    return name if name is not None else username


def _redirect(ctx: Ctx, param: str, status: int, headers: dict[str, str]) -> int:
    """``?next=``/``?fail=`` (a local path) → 302 with ``Location``; otherwise ``status``."""
    target = ctx.q(param)
    if target and target.startswith("/") and not target.startswith("//"):
        headers["Location"] = target
        return 302
    return status


async def session_post(ctx: Ctx) -> web.StreamResponse:
    """``POST /_session`` JSON or form ``name``/``password`` → 200 + ``Set-Cookie: AuthSession``.

    Failure: 401 "Name or password is incorrect." with a clearing cookie (``?fail=`` → 302);
    success with ``?next=`` → 302. 415 for other content types, 400 without a user name.
    CouchDB: couch_httpd_auth ``handle_session_req``.
    """
    ctype = ctx.request.content_type
    s = ctx.settings
    if ctype == "application/json":
        body = await ctx.json_object()
    elif ctype == "application/x-www-form-urlencoded":
        raw = await read_body(ctx.request, 1 << 16)
        body = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    else:
        raise BadContentType("Content-Type must be 'application/x-www-form-urlencoded' or 'application/json'")
    name = _username(body)
    password = body.get("password", "")
    try:
        if not isinstance(name, str) or not isinstance(password, str):
            raise Unauthorized(BAD_CREDENTIALS)
        user = await ctx.state.auth.check_password(name, password, ctx.request.remote)
    except Unauthorized as e:
        headers = {"Set-Cookie": clear_cookie_header(secure=s.cookie_secure, same_site=s.cookie_same_site)}
        return json_response(e.to_json(), _redirect(ctx, "fail", 401, headers), headers)
    cookie = await ctx.state.auth.make_session_cookie(name)
    headers = {"Set-Cookie": set_cookie_header(
        cookie, max_age=s.session_timeout if s.allow_persistent_cookies else None,
        secure=s.cookie_secure, same_site=s.cookie_same_site)}
    status = _redirect(ctx, "next", 200, headers)
    return json_response({"ok": True, "name": user.name, "roles": list(user.roles)}, status, headers)


async def session_delete(ctx: Ctx) -> web.StreamResponse:
    """``DELETE /_session`` → ``{"ok":true}`` and a clearing cookie (stateless, as CouchDB)."""
    s = ctx.settings
    headers = {"Set-Cookie": clear_cookie_header(secure=s.cookie_secure, same_site=s.cookie_same_site)}
    return json_response({"ok": True}, _redirect(ctx, "next", 200, headers), headers)
