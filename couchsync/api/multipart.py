"""MIME multipart: ``multipart/related`` document PUTs in, ``multipart/mixed`` ``open_revs`` out.

In: the first part is the JSON document whose attachments carry ``"follows": true``; the following
parts are their bodies in the order of those entries (CouchDB ``couch_doc:doc_from_multi_part_stream``).
Out: one part per result — plain JSON for a doc without attachment bodies, a nested
``multipart/related`` part (doc JSON, then each attachment) for one with, and
``application/json; error="true"`` ``{"missing": rev}`` for a missing rev (``chttpd_db:send_docs_multipart``).
"""

from __future__ import annotations

import secrets
from typing import Any

import orjson
from aiohttp import BodyPartReader, web

from ..errors import BadRequest, InvalidJSON, TooLarge


async def read_related(request: web.Request, limit: int) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Returns ``(doc, {att name: bytes})`` from a ``multipart/related`` body.

    Raises ``BadRequest`` for a malformed body, ``InvalidJSON``, ``TooLarge`` past ``limit`` bytes.
    """
    try:
        reader = await request.multipart()
        first = await reader.next()
        if not isinstance(first, BodyPartReader):
            raise BadRequest("Missing JSON document part in multipart body")
        try:
            doc = orjson.loads(await first.read())
        except orjson.JSONDecodeError:
            raise InvalidJSON() from None
        if not isinstance(doc, dict):
            raise BadRequest("Document must be a JSON object")
        names = [n for n, a in (doc.get("_attachments") or {}).items() if isinstance(a, dict) and a.get("follows")]
        data: dict[str, bytes] = {}
        total = 0
        for name in names:
            part = await reader.next()
            if not isinstance(part, BodyPartReader):
                raise BadRequest(f"Missing attachment body for {name}")
            body = await part.read(decode=False)
            total += len(body)
            if total > limit:
                raise TooLarge()
            data[name] = bytes(body)
        return doc, data
    except (ValueError, AssertionError) as e:
        raise BadRequest(f"Invalid multipart body: {e}") from None


def related_body(doc_json: bytes, atts: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    """A ``multipart/related`` document: the JSON (attachments marked ``"follows": true``), then one
    part per attachment with ``Content-Disposition``, ``Content-Type``, ``Content-Length``, in the
    order of ``atts`` (name → (content type, bytes)). CouchDB ``couch_doc:doc_to_multi_part_stream``.

    Returns ``(body, content_type)``.
    """
    boundary = secrets.token_hex(16)
    out = bytearray(f"--{boundary}\r\nContent-Type: application/json\r\n\r\n".encode())
    out += doc_json + b"\r\n"
    for name, (ctype, data) in atts.items():
        name_q = name.replace("\\", "\\\\").replace('"', '\\"')
        out += (f"--{boundary}\r\nContent-Disposition: attachment; filename=\"{name_q}\"\r\n"
                f"Content-Type: {ctype}\r\nContent-Length: {len(data)}\r\n\r\n").encode()
        out += data + b"\r\n"
    out += f"--{boundary}--".encode()
    return bytes(out), f'multipart/related; boundary="{boundary}"'


def mixed_body(parts: list[tuple[bytes, dict[str, tuple[str, bytes]] | None, bool]]) -> tuple[bytes, str]:
    """``parts``: ``(doc json, {name: (content_type, bytes)} or None, is_error)``.

    Returns ``(body, content_type)`` of a ``multipart/mixed`` response.
    """
    boundary = secrets.token_hex(16)
    out = bytearray()
    for doc_json, atts, is_error in parts:
        out += f"--{boundary}\r\n".encode()
        if is_error:
            out += b'Content-Type: application/json; error="true"\r\n\r\n' + doc_json + b"\r\n"
        elif not atts:
            out += b"Content-Type: application/json\r\n\r\n" + doc_json + b"\r\n"
        else:
            inner, ctype = related_body(doc_json, atts)
            out += f"Content-Type: {ctype}\r\n\r\n".encode() + inner + b"\r\n"
    out += f"--{boundary}--".encode()
    return bytes(out), f'multipart/mixed; boundary="{boundary}"'


def accepts_multipart(request: web.Request, kind: str = "multipart/mixed") -> bool:
    """True unless the Accept header names ``application/json`` without ``kind``/``multipart/*``.

    A missing Accept header (or ``*/*``) accepts everything, so it gets multipart, as in CouchDB.
    """
    accept = request.headers.get("Accept", "")
    if not accept:
        return True
    types = [t.split(";")[0].strip().lower() for t in accept.split(",")]
    if kind in types or "multipart/*" in types:
        return True
    if "application/json" in types:
        return False
    return "*/*" in types
