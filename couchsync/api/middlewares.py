"""Middlewares, outermost first: errors → JSON, CORS, authentication.

* ``error_middleware`` turns every ``CouchError`` into ``{"error","reason"}`` with its status, and
  anything unexpected into a logged 500 ``unknown_error`` — never an HTML page or an empty body.
* ``cors_middleware`` answers preflights and decorates responses for configured origins
  (protocol reference §0.1; CouchDB ``chttpd_cors.erl``): exact-origin echo, credentials allowed.
  The actual-response headers are added by :func:`add_cors_headers`, registered as the app's
  ``on_response_prepare`` signal, so every response gets them — errors and streamed feeds too.
* ``auth_middleware`` resolves the user (cookie, then Basic, then JWT) and refreshes cookies; it also
  sets the audit actor (user, roles, client address) and the audit switch for the request's writes
  (:mod:`couchsync.audit.actor`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from ..audit.actor import Actor, acting
from ..auth.cookies import COOKIE_NAME, set_cookie_header
from ..auth.userctx import ANONYMOUS
from ..errors import CouchError, Unauthorized
from .context import STATE, USER
from .http import error_response, json_response

log = logging.getLogger("couchsync.api")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

EXPOSE_HEADERS = ("content-type, cache-control, accept-ranges, etag, server, x-couch-request-id, "
                  "x-couch-update-newrev, x-couchdb-body-time")


async def _guarded(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Runs ``handler``; any error becomes a JSON ``{"error","reason"}`` response."""
    try:
        return await handler(request)
    except CouchError as e:
        headers = {"Allow": ",".join(e.allowed)} if hasattr(e, "allowed") else None
        return error_response(e, headers)
    except web.HTTPException as e:
        if e.status >= 400:
            reason = e.reason or "error"
            name = {413: "too_large", 404: "not_found", 405: "method_not_allowed"}.get(e.status, "bad_request")
            return json_response({"error": name, "reason": reason}, e.status)
        raise
    except (ConnectionResetError, TimeoutError):
        raise
    except Exception as e:  # the one place where unexpected errors become a JSON 500
        log.exception("unhandled error on %s %s", request.method, request.path)
        return json_response({"error": "unknown_error", "reason": type(e).__name__}, 500)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    return await _guarded(request, handler)


_NO_CORS = web.RequestKey("couchsync_no_cors", bool)


def _allowed_origin(request: web.Request) -> str | None:
    origin = request.headers.get("Origin")
    if not origin:
        return None
    origins = request.app[STATE].settings.cors_origins
    if origin in origins or "*" in origins:
        return origin
    return None


async def add_cors_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Adds the actual-response CORS headers (exact origin, credentials, exposed headers) when the
    request's ``Origin`` is allowed. Runs as the ``on_response_prepare`` signal, for every response,
    error responses and streamed feeds included (CouchDB adds them in ``chttpd:send_response`` to
    everything it sends, so a browser can read a 401 or a 404)."""
    origin = _allowed_origin(request)
    if not origin or request.get(_NO_CORS) or "Access-Control-Allow-Origin" in response.headers:
        return
    response.headers["Access-Control-Allow-Origin"] = origin
    if request.app[STATE].settings.cors_credentials:
        response.headers["Access-Control-Allow-Credentials"] = "true"
    response.headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
    response.headers["Vary"] = "Origin"


@web.middleware
async def cors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    origin = _allowed_origin(request)
    settings = request.app[STATE].settings
    if origin and request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
        method = request.headers["Access-Control-Request-Method"].upper()
        wanted = [h.strip().lower() for h in request.headers.get("Access-Control-Request-Headers", "").split(",")
                  if h.strip()]
        allowed = {h.lower() for h in settings.cors_headers}
        if method in settings.cors_methods and all(h in allowed for h in wanted):
            headers = {
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Methods": ", ".join(settings.cors_methods),
                "Access-Control-Allow-Headers": ", ".join(wanted) if wanted else ", ".join(sorted(allowed)),
                "Access-Control-Max-Age": "600",
                "Vary": "Origin",
            }
            if settings.cors_credentials:
                headers["Access-Control-Allow-Credentials"] = "true"
            return web.Response(status=204, headers=headers)
        # A method or header outside the allowed sets: not a preflight (chttpd_cors
        # handle_preflight_request → not_preflight); answered as a plain request, without CORS
        # headers, so the browser refuses the cross-origin request.
        request[_NO_CORS] = True
    return await _guarded(request, handler)


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    state = request.app[STATE]
    auth = state.auth
    user = ANONYMOUS
    refresh = False
    cookie = request.cookies.get(COOKIE_NAME)
    if cookie:
        found = await auth.from_cookie(cookie)
        if found is not None:
            user, refresh = found
    header = request.headers.get("Authorization", "")
    if user is ANONYMOUS and header[:6].lower() == "basic ":
        user = await auth.from_basic(header, request.remote) or ANONYMOUS
    elif user is ANONYMOUS and header[:7].lower() == "bearer ":
        if state.jwt_keys is None:
            raise Unauthorized("JWT authentication is not enabled.")
        user = state.decode_jwt(header[7:].strip())
    request[USER] = user
    with acting(Actor(user.name, user.roles, request.remote), audit=state.settings.audit):
        response = await handler(request)
    if refresh and user.name is not None and not response.prepared:
        s = state.settings
        value = await auth.make_session_cookie(user.name)
        response.headers.add("Set-Cookie", set_cookie_header(
            value, max_age=s.session_timeout if s.allow_persistent_cookies else None,
            secure=s.cookie_secure, same_site=s.cookie_same_site))
    return response
