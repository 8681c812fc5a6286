"""HTTP Basic credentials (CouchDB's "default" authentication handler).

Source: CouchDB ``src/couch/src/couch_httpd_auth.erl`` ``basic_name_pw/1``: the header is split at
the first space, the scheme compared case-insensitively with ``basic``, the rest base64-decoded and
split at the first ``:`` (so a password may contain ``:``; a user name cannot).
"""

from __future__ import annotations

import base64
import binascii
import re

from couchsync.errors import BadRequest, Unauthorized

_B64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")


def parse_basic(header_value: str) -> tuple[str, str] | None:
    """Parses an ``Authorization`` header value such as ``"Basic dXNlcjpwYXNz"``.

    Returns ``(name, password)``, or ``None`` where CouchDB treats the header as carrying no
    credentials (the request then proceeds as anonymous): the decoded value has no ``:``, or is
    the special logout pair ``"_:_"``.

    Raises:
        BadRequest: ``"Authorization header is invalid"`` when the scheme is not ``Basic`` or there
            is no value after it; ``"Authorization header has invalid base64 value"`` when the value
            is not base64. (A missing ``=`` padding is tolerated.)
        Unauthorized: ``"Name or password is incorrect."`` when the decoded bytes are not UTF-8;
            CouchDB would look such a name up byte for byte and fail with that same 401.
    """
    scheme, sep, value = header_value.strip().partition(" ")
    if scheme.casefold() != "basic" or not sep:
        raise BadRequest("Authorization header is invalid")
    value = value.strip()
    if len(value) % 4:
        value += "=" * (-len(value) % 4)
    if not _B64.fullmatch(value):
        raise BadRequest("Authorization header has invalid base64 value")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("Authorization header has invalid base64 value") from None
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Unauthorized("Name or password is incorrect.") from None
    name, colon, password = decoded.partition(":")
    if not colon or (name == "_" and password == "_"):
        return None
    return name, password


def make_basic(name: str, password: str) -> str:
    """Returns the ``Authorization`` header value for ``name``/``password`` (UTF-8), for tests and
    outgoing replication requests."""
    token = base64.b64encode(f"{name}:{password}".encode()).decode("ascii")
    return f"Basic {token}"
