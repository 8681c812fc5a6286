"""HTTP helpers shared by the handlers: JSON responses, request bodies, query parameters.

Sources: protocol reference §0 (content types, boolean and JSON-valued params, error shapes).
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from ..errors import BadContentType, BadRequest, CouchError, InvalidJSON, QueryParseError, TooLarge

JSON_HEADERS = {"Content-Type": "application/json", "Cache-Control": "must-revalidate"}


def dumps(obj: Any) -> bytes:
    """Compact UTF-8 JSON (non-ASCII kept), member order as given."""
    return orjson.dumps(obj)


def json_response(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """``obj`` (or pre-encoded ``bytes``) as ``application/json`` with ``status``."""
    body = obj if isinstance(obj, bytes | bytearray) else orjson.dumps(obj)
    h = dict(JSON_HEADERS)
    if headers:
        h.update(headers)
    return web.Response(body=body + b"\n", status=status, headers=h)


def is_json_content_type(request: web.Request) -> bool:
    return request.content_type in ("application/json", "text/plain") or request.content_type.endswith("+json")


async def read_body(request: web.Request, limit: int) -> bytes:
    """The raw request body; raises ``TooLarge`` (413) past ``limit`` bytes."""
    if request.content_length is not None and request.content_length > limit:
        raise TooLarge()
    data = bytearray()
    async for chunk in request.content.iter_chunked(1 << 16):
        data += chunk
        if len(data) > limit:
            raise TooLarge()
    return bytes(data)


async def read_json(request: web.Request, limit: int, *, require_ctype: bool = True,
                    allow_empty: bool = False) -> Any:
    """The JSON body. Raises ``BadContentType`` (415) unless ``application/json`` (when
    ``require_ctype``), ``InvalidJSON`` (400 "invalid UTF-8 JSON"), ``TooLarge`` (413)."""
    if require_ctype and request.content_type != "application/json":
        raise BadContentType()
    raw = await read_body(request, limit)
    if not raw.strip():
        if allow_empty:
            return None
        raise InvalidJSON()
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidJSON() from None


async def read_json_object(request: web.Request, limit: int, *, require_ctype: bool = True,
                           allow_empty: bool = False) -> dict[str, Any]:
    """Like :func:`read_json`, requiring an object: 400 "Request body must be a JSON object"."""
    body = await read_json(request, limit, require_ctype=require_ctype, allow_empty=allow_empty)
    if body is None and allow_empty:
        return {}
    if not isinstance(body, dict):
        raise BadRequest("Request body must be a JSON object")
    return body


# -- query parameters ----------------------------------------------------------------------------


def qbool(request: web.Request, name: str, default: bool = False) -> bool:
    """Document/changes style boolean: only the literal ``"true"`` is true."""
    v = request.query.get(name)
    if v is None:
        return default
    return v == "true"


def vbool(params: dict[str, Any], name: str, default: bool) -> bool:
    """View-style boolean (``_all_docs``, views): case-insensitive true/false, else 400."""
    v = params.get(name)
    if v is None:
        return default
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.lower() in ("true", "false"):
        return v.lower() == "true"
    raise QueryParseError(f'Invalid boolean parameter: "{v}"')


def vint(params: dict[str, Any], name: str, default: int | None, *, minimum: int = 0) -> int | None:
    """Non-negative integer parameter: 400 ``query_parse_error`` "Invalid value for integer"."""
    v = params.get(name)
    if v is None:
        return default
    if isinstance(v, bool):
        raise QueryParseError(f"Invalid value for integer: {v!r}")
    if isinstance(v, int):
        n = v
    else:
        try:
            n = int(str(v))
        except ValueError:
            raise QueryParseError(f"Invalid value for integer: \"{v}\"") from None
    if n < minimum:
        raise QueryParseError(f"Invalid value for positive integer: \"{v}\"")
    return n


def qjson(request: web.Request, name: str) -> Any:
    """A URL-encoded JSON parameter; raises 400 ``bad_request`` on invalid JSON."""
    v = request.query.get(name)
    if v is None:
        return None
    try:
        return orjson.loads(v)
    except orjson.JSONDecodeError:
        raise BadRequest(f"Invalid JSON in parameter {name}") from None


def error_response(err: CouchError, headers: dict[str, str] | None = None) -> web.Response:
    return json_response(err.to_json(), err.status, headers)
