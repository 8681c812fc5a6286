"""The ``AuthSession`` cookie, byte-compatible with CouchDB 3.3+.

Source: CouchDB ``src/couch/src/couch_httpd_auth.erl`` (3.3+, with ``[chttpd_auth]
hash_algorithms``):

* ``cookie_auth_cookie/3``: value = ``base64url_nopad(User ":" HexTime ":" Mac)`` where ``HexTime``
  is ``erlang:integer_to_list(UnixSeconds, 16)`` (upper-case hex, no padding) and
  ``Mac = hmac(FirstHashAlg, ServerSecret ++ UserSalt, User ":" HexTime)`` as **raw digest bytes**
  (not hex). The default ``hash_algorithms`` is ``sha256, sha``: new cookies use SHA-256, and any
  listed algorithm verifies (DOCS ``config/auth.rst`` ``hash_algorithms``).
* ``cookie_authentication_handler/2``: the decoded value is split at the first two ``:`` (the MAC
  may itself contain ``:``); anything that fails to decode or split is a 400
  "Malformed AuthSession cookie. Please clear your cookies."; a non-hex time, an expired time
  (``now >= time + timeout``) or a wrong MAC is silently ignored (the request proceeds as
  anonymous). A valid cookie with ``time_left < 0.9 * timeout`` gets a fresh ``Set-Cookie``
  (``cookie_auth_header/2``).
* ``make_cookie_time/0``: whole Unix seconds.

The caller supplies ``now`` (Unix seconds), the server secret and the user's ``salt`` field, so
this module has no clock and no storage.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hmac
import re
from collections.abc import Iterable
from typing import NamedTuple

from couchsync.errors import BadRequest

COOKIE_NAME = "AuthSession"

#: ``[chttpd_auth] timeout`` default, seconds.
DEFAULT_TIMEOUT = 600

#: ``[chttpd_auth] hash_algorithms`` default: the first signs, all verify.
DEFAULT_HASH_ALGORITHMS: tuple[str, ...] = ("sha256", "sha")

MALFORMED_REASON = "Malformed AuthSession cookie. Please clear your cookies."

_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_SAME_SITE = {"none": "None", "lax": "Lax", "strict": "Strict"}


class CookieParts(NamedTuple):
    """A decoded cookie: ``name``, ``timestamp`` (Unix seconds, ``None`` when the time field is not
    hex, which CouchDB treats as an invalid, ignored cookie) and the raw ``mac`` bytes."""

    name: str
    timestamp: int | None
    mac: bytes


class Verdict(enum.Enum):
    """Outcome of :func:`verify_cookie`.

    ``VALID`` and ``NEEDS_REFRESH`` authenticate the request; ``NEEDS_REFRESH`` also asks for a new
    ``Set-Cookie`` on the response. ``EXPIRED`` and ``INVALID`` (bad MAC or non-hex time) mean the
    cookie is ignored and the request is anonymous, as in CouchDB; they are not errors.
    """

    VALID = "valid"
    NEEDS_REFRESH = "needs_refresh"
    EXPIRED = "expired"
    INVALID = "invalid"

    @property
    def authenticated(self) -> bool:
        """True for ``VALID`` and ``NEEDS_REFRESH``."""
        return self in (Verdict.VALID, Verdict.NEEDS_REFRESH)


def make_cookie(
    name: str, secret: bytes, user_salt: str, now: int, *, hash_name: str = DEFAULT_HASH_ALGORITHMS[0]
) -> str:
    """Returns the ``AuthSession`` cookie value for ``name`` minted at ``now`` (Unix seconds).

    ``base64url_nopad(name ":" HEX(now) ":" hmac(hash_name, secret + user_salt, name ":" HEX(now)))``
    with the MAC as raw bytes; ``hash_name`` is a hashlib name, ``"sha"`` meaning SHA-1 as in
    CouchDB config.

    Raises ``ValueError`` when ``name`` contains ``:`` (the cookie could not be split back;
    CouchDB user names cannot contain ``:`` either).
    """
    if ":" in name:
        raise ValueError("a cookie user name cannot contain ':'")
    session = f"{name}:{now:X}".encode()
    mac = _hmac(hash_name, secret + user_salt.encode("utf-8"), session)
    return base64.urlsafe_b64encode(session + b":" + mac).rstrip(b"=").decode("ascii")


def parse_cookie(value: str) -> CookieParts:
    """Decodes a cookie value into ``(name, timestamp, mac)`` without checking the MAC.

    The caller uses ``name`` to look up the user (for the salt and roles), then calls
    :func:`verify_cookie`. An empty value means "no cookie" in CouchDB and should be skipped by
    the caller before getting here.

    Raises:
        BadRequest: ``"Malformed AuthSession cookie. Please clear your cookies."`` when the value
            is not base64url, does not split into three ``:``-separated fields, or (a couchsync
            addition) the name is not UTF-8.
    """
    name, time_field, mac = _split(value)
    try:
        name_str = name.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest(MALFORMED_REASON) from None
    return CookieParts(name_str, _parse_hex_time(time_field), mac)


def verify_cookie(
    value: str,
    secret: bytes,
    user_salt: str,
    now: int,
    timeout: int = DEFAULT_TIMEOUT,
    *,
    hash_names: Iterable[str] = DEFAULT_HASH_ALGORITHMS,
) -> Verdict:
    """Checks a cookie against the server ``secret`` and the user's ``salt`` at time ``now``.

    Returns :class:`Verdict`: ``INVALID`` when the time field is not hex or the MAC matches none of
    ``hash_names`` (each compared in constant time); else ``EXPIRED`` when
    ``now >= timestamp + timeout``; else ``NEEDS_REFRESH`` when less than 90% of the lifetime is
    left (``timestamp + timeout - now < 0.9 * timeout``); else ``VALID``.

    Raises:
        BadRequest: the malformed-cookie error of :func:`parse_cookie`.
    """
    name, time_field, mac = _split(value)
    timestamp = _parse_hex_time(time_field)
    if timestamp is None:
        return Verdict.INVALID
    key = secret + user_salt.encode("utf-8")
    message = name + b":" + time_field
    matched = False
    for hash_name in hash_names:  # no early exit: every configured algorithm is tried
        matched |= hmac.compare_digest(_hmac(hash_name, key, message), mac)
    if not matched:
        return Verdict.INVALID
    if now >= timestamp + timeout:
        return Verdict.EXPIRED
    time_left = timestamp + timeout - now
    if time_left < timeout * 0.9:
        return Verdict.NEEDS_REFRESH
    return Verdict.VALID


def set_cookie_header(
    value: str,
    *,
    max_age: int | None,
    secure: bool,
    same_site: str | None,
    http_only: bool = True,
    domain: str | None = None,
) -> str:
    """Returns the ``Set-Cookie`` header value, e.g.
    ``AuthSession=<v>; Version=1; Path=/; Max-Age=600; HttpOnly; Secure; SameSite=Lax``.

    ``max_age`` is the cookie timeout, or ``None`` for a session cookie (CouchDB
    ``allow_persistent_cookies = false``); negative values become 0. ``secure`` is set on HTTPS,
    ``domain`` from ``cookie_domain``, ``same_site`` from ``same_site`` (``none``/``lax``/``strict``,
    any case, or ``None``/``""`` to omit). Source: ``cookie_attributes/1``.

    Raises ``ValueError`` for any other ``same_site`` (CouchDB logs and omits it; a config
    error should be caught at startup instead).
    """
    parts = [f"{COOKIE_NAME}={value}", "Version=1", "Path=/"]
    if max_age is not None:
        parts.append(f"Max-Age={max(max_age, 0)}")
    if domain:
        parts.append(f"Domain={domain}")
    if http_only:
        parts.append("HttpOnly")
    if secure:
        parts.append("Secure")
    if same_site:
        try:
            parts.append(f"SameSite={_SAME_SITE[same_site.lower()]}")
        except KeyError:
            raise ValueError(f"same_site must be one of none, lax, strict; got {same_site!r}") from None
    return "; ".join(parts)


def clear_cookie_header(
    *, secure: bool, same_site: str | None, http_only: bool = True, domain: str | None = None
) -> str:
    """Returns a ``Set-Cookie`` value that deletes the cookie:
    ``AuthSession=; Version=1; Path=/; Max-Age=0; HttpOnly[...]``.

    CouchDB's ``clear_auth_cookie/1`` sends the empty value with the usual ``Max-Age`` (600) and
    relies on an empty cookie being ignored; ``Max-Age=0`` makes the browser drop it instead, with
    the same effect on the server.
    """
    return set_cookie_header(
        "", max_age=0, secure=secure, same_site=same_site, http_only=http_only, domain=domain
    )


def _split(value: str) -> tuple[bytes, bytes, bytes]:
    if not _B64URL.fullmatch(value):
        raise BadRequest(MALFORMED_REASON)
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise BadRequest(MALFORMED_REASON) from None
    fields = raw.split(b":", 2)
    if len(fields) != 3:
        raise BadRequest(MALFORMED_REASON)
    return fields[0], fields[1], fields[2]


def _parse_hex_time(field: bytes) -> int | None:
    # erlang:list_to_integer(TimeStr, 16): hex digits of either case (Erlang would also take a
    # sign; a negative cookie time is refused here, which only matters to forged cookies).
    if not re.fullmatch(rb"[0-9A-Fa-f]+", field):
        return None
    return int(field, 16)


def _hmac(hash_name: str, key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, "sha1" if hash_name == "sha" else hash_name).digest()
