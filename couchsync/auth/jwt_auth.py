"""JWT bearer authentication, following CouchDB 3.x's ``jwt_authentication_handler``.

Sources (CouchDB):

* ``src/jwtf/src/jwtf.erl``: the checks and their error strings. Order: split into three parts
  ("Malformed token"), header object ("Not an object"), ``typ`` if required, ``alg`` ("Missing alg
  header parameter" / "Invalid alg header parameter"), payload claims ``iss``, ``iat``, ``nbf``,
  ``exp`` (400 "Missing X claim" / "Invalid X claim"; 401 "nbf not in past" / "exp not in
  future"), key lookup, then the signature (400 "Bad HMAC" for HS*, "Bad signature" for RS*/ES*).
  ``exp``/``nbf``/``iat`` are checked whenever present; ``required_claims`` only makes them
  mandatory.
* ``src/jwtf/src/jwtf_keystore.erl``: the key for a token is ``[jwt_keys] <kty>:<kid>`` with
  ``kty`` = ``hmac`` (HS*), ``rsa`` (RS*), ``ec`` (ES*) and ``kid`` defaulting to ``_default``;
  missing → 400 "Unknown kid". HMAC keys are stored base64-encoded; RSA/EC keys are PEM public
  keys with newlines written as literal ``\\n``.
* ``src/couch/src/couch_httpd_auth.erl`` ``jwt_authentication_handler/1``, ``get_roles_claim/1``:
  ``sub`` → user name (401 "Token missing sub claim."); roles from the top-level claim
  ``roles_claim_name`` (default the literal key ``"_couchdb.roles"``), or, when set, the dotted
  ``roles_claim_path`` (``\\.`` escapes a dot inside a key); the value is a list of strings or a
  comma-separated string (split on ``\\s*,\\s*``, trailing empties dropped); anything else → 400
  "Malformed token". A ``roles_claim_path`` that is absent from the token gives CouchDB's
  ``couch_util:get_nested_json_value`` error, 404 ``not_found`` "missing json key: <key>"
  (or "json_mismatch" when a step is not an object): CouchDB's own test
  ``test/elixir/test/jwt_roles_claim_test.exs`` expects that 404.
* ``required_claims`` config syntax: ``exp, iat, {iss, "https://issuer"}``; default ``exp``.

Deliberate differences, all toward refusing: ``exp``/``nbf`` must be numbers, else 400 "Invalid
exp claim" / "Invalid nbf claim" (Erlang's term order lets a string ``exp`` pass), ``sub`` must be a string, an ``iss`` that is not required is not
compared (one CouchDB version rejected any ``iss`` then), undecodable base64/JSON parts give
"Malformed token" instead of Erlang terms such as ``badarg``, and ``alg: none`` (never in the
table) is "Invalid alg header parameter".
"""

from __future__ import annotations

import base64
import binascii
import re
import time
from collections.abc import Collection, Iterable, Mapping
from typing import Any, TypeAlias

import orjson
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from jwt.algorithms import get_default_algorithms

from couchsync.auth.userctx import UserCtx
from couchsync.errors import BadRequest, CouchError, NotFound, Unauthorized

#: Every algorithm CouchDB's ``jwtf`` accepts (``?ALGS``); ``none`` is not one of them.
ALGORITHMS: tuple[str, ...] = (
    "RS256",
    "RS384",
    "RS512",
    "ES256",
    "ES384",
    "ES512",
    "HS256",
    "HS384",
    "HS512",
)

#: Default ``[jwt_auth] roles_claim_name``: a literal top-level claim name, dots included.
DEFAULT_ROLES_CLAIM_NAME = "_couchdb.roles"

#: A verification key: raw bytes for ``hmac:``, a public key object for ``rsa:`` / ``ec:``.
JwtKey: TypeAlias = bytes | RSAPublicKey | EllipticCurvePublicKey

#: One required check: a bare name (``"exp"``, ``"nbf"``, ``"iat"``, ``"iss"``, ``"kid"``,
#: ``"typ"``) or ``("iss", expected_issuer)``.
RequiredClaim: TypeAlias = str | tuple[str, str]

_KTY = {"HS": "hmac", "RS": "rsa", "ES": "ec"}
_KEY_TYPES: dict[str, tuple[type, ...]] = {
    "hmac": (bytes,),
    "rsa": (RSAPublicKey,),
    "ec": (EllipticCurvePublicKey,),
}
_CHECKS = frozenset({"exp", "nbf", "iat", "iss", "kid", "typ"})
_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_REQUIRED_CLAIMS_RE = re.compile(r'(?P<key1>[a-z]+)|\{(?P<key2>[a-z]+)\s*,\s*"(?P<val>[^"]+)"\}')
_PATH_SPLIT = re.compile(r"(?<!\\)\.")
_ROLES_SPLIT = re.compile(r"\s*,\s*")
_ALGORITHM_IMPLS = get_default_algorithms()


class JwtKeys:
    """The ``[jwt_keys]`` key store: ``"<kty>:<kid>"`` → key.

    ``JwtKeys({"hmac:_default": b"secret", "rsa:k1": rsa_public_key})`` takes ready keys;
    :meth:`from_config` takes the config section's strings. Raises ``ValueError`` for a name that
    is not ``hmac:``/``rsa:``/``ec:`` + kid, or a key of the wrong type.
    """

    def __init__(self, keys: Mapping[str, JwtKey] | None = None):
        self._keys: dict[str, JwtKey] = {}
        for name, key in (keys or {}).items():
            kty, sep, kid = name.partition(":")
            if not sep or not kid or kty not in _KEY_TYPES:
                raise ValueError(f"jwt key name must be hmac:<kid>, rsa:<kid> or ec:<kid>; got {name!r}")
            if not isinstance(key, _KEY_TYPES[kty]):
                raise ValueError(f"jwt key {name!r} is not a {kty} key")
            self._keys[name] = key

    @classmethod
    def from_config(cls, section: Mapping[str, str]) -> JwtKeys:
        """Builds the store from CouchDB-style ``[jwt_keys]`` entries.

        ``hmac:<kid> = <base64 of the secret>``; ``rsa:<kid>`` / ``ec:<kid>`` = a PEM
        ``PUBLIC KEY`` with newlines written as ``\\n`` (real newlines work too). Raises
        ``ValueError`` for undecodable or mistyped keys, at load time rather than per request.
        """
        keys: dict[str, JwtKey] = {}
        for name, encoded in section.items():
            kty = name.partition(":")[0]
            if kty == "hmac":
                try:
                    keys[name] = base64.b64decode(encoded.strip(), validate=True)
                except (binascii.Error, ValueError):
                    raise ValueError(f"jwt key {name!r}: not valid base64") from None
            elif kty in ("rsa", "ec"):
                pem = encoded.replace("\\n", "\n").encode("ascii")
                try:
                    public = load_pem_public_key(pem)
                except ValueError:
                    raise ValueError(f"jwt key {name!r}: not a PEM public key") from None
                if not isinstance(public, _KEY_TYPES[kty]):
                    raise ValueError(f"jwt key {name!r}: not an {kty.upper()} public key")
                keys[name] = public  # type: ignore[assignment]
            else:
                raise ValueError(f"jwt key name must be hmac:<kid>, rsa:<kid> or ec:<kid>; got {name!r}")
        return cls(keys)

    def get(self, alg: str, kid: str | None) -> JwtKey:
        """Returns the key for ``alg`` (``HS*``/``RS*``/``ES*``) and ``kid`` (``None`` → ``_default``).

        Raises :class:`BadRequest` "Unknown kid" when there is none (``jwtf_keystore``).
        """
        kty = _KTY.get(alg[:2])
        if kty is None:
            raise BadRequest("Unknown kty")
        key = self._keys.get(f"{kty}:{'_default' if kid is None else kid}")
        if key is None:
            raise BadRequest("Unknown kid")
        return key

    def __len__(self) -> int:
        return len(self._keys)


def parse_required_claims(value: str) -> tuple[RequiredClaim, ...]:
    """Parses ``[jwt_auth] required_claims`` (e.g. ``exp, iat, {iss, "https://idp"}``).

    Returns e.g. ``("exp", "iat", ("iss", "https://idp"))``; ``""`` → ``()``. Raises
    :class:`CouchError` 500 ``misconfigured_server`` "JWT is not configured correctly" when nothing
    matches or a name is not a known check (``couch_httpd_auth:get_configured_claims/0``).
    """
    out: list[RequiredClaim] = []
    for m in _REQUIRED_CLAIMS_RE.finditer(value):
        if m.group("key1"):
            out.append(m.group("key1"))
        else:
            out.append((m.group("key2"), m.group("val")))
    names = [c if isinstance(c, str) else c[0] for c in out]
    if (value.strip() and not out) or any(n not in _CHECKS for n in names):
        raise CouchError("JWT is not configured correctly", status=500, error="misconfigured_server")
    return tuple(out)


def decode_jwt(
    token: str,
    keys: JwtKeys,
    required_claims: Iterable[RequiredClaim] = ("exp",),
    roles_claim_path: str | None = None,
    *,
    roles_claim_name: str = DEFAULT_ROLES_CLAIM_NAME,
    algorithms: Collection[str] = ALGORITHMS,
    now: int | None = None,
) -> UserCtx:
    """Verifies a compact JWS ``token`` (the part after ``Bearer ``) and returns its user.

    Returns ``UserCtx(name=claims["sub"], roles=<roles claim>, authenticated="jwt")``.

    ``required_claims`` names claims that must be present (see :data:`RequiredClaim`);
    ``algorithms`` narrows the accepted ``alg`` values (``[jwt_auth] allowed_algorithms``);
    ``now`` is the Unix time to judge ``exp``/``nbf`` against (default: the clock).

    Raises:
        BadRequest: malformed token, bad header, missing/invalid claim, unknown kid, bad signature
            or malformed roles (reasons as in CouchDB, listed in the module docstring).
        Unauthorized: "exp not in future", "nbf not in past", "Token missing sub claim.".
        NotFound: ``roles_claim_path`` absent from the token (CouchDB's 404, see module doc).
        ValueError: ``required_claims`` names an unknown check (a programming error).
    """
    required: dict[str, str | None] = {}
    for claim in required_claims:
        name, expected = (claim, None) if isinstance(claim, str) else claim
        if name not in _CHECKS:
            raise ValueError(f"unknown JWT check {name!r}")
        required[name] = expected
    if now is None:
        now = int(time.time())

    parts = token.split(".")
    if len(parts) != 3:
        raise BadRequest("Malformed token")
    header_b64, payload_b64, signature_b64 = parts

    header = _json_object(header_b64)
    typ = header.get("typ")
    if "typ" in required and typ is None:
        raise BadRequest("Missing typ header parameter")
    if "typ" in required and typ != "JWT":
        raise BadRequest("Invalid typ header parameter")
    alg = header.get("alg")
    if alg is None:
        raise BadRequest("Missing alg header parameter")
    if not isinstance(alg, str) or alg not in ALGORITHMS or alg not in algorithms:
        raise BadRequest("Invalid alg header parameter")

    claims = _json_object(payload_b64)
    _check_claims(claims, required, now)

    kid = header.get("kid")
    if kid is None and "kid" in required:
        raise BadRequest("Missing kid claim")
    if kid is not None and not isinstance(kid, str):
        raise BadRequest("Unknown kid")
    key = keys.get(alg, kid)

    signature = _b64url_decode(signature_b64)
    message = f"{header_b64}.{payload_b64}".encode("ascii")
    if not _ALGORITHM_IMPLS[alg].verify(message, key, signature):
        raise BadRequest("Bad HMAC" if alg.startswith("HS") else "Bad signature")

    roles = _roles(claims, roles_claim_path, roles_claim_name)
    sub = claims.get("sub")
    if sub is None:
        raise Unauthorized("Token missing sub claim.")
    if not isinstance(sub, str):
        raise BadRequest("Malformed token")
    return UserCtx(name=sub, roles=roles, authenticated="jwt")


def split_claim_path(path: str) -> list[str]:
    """Splits a ``roles_claim_path`` at dots not preceded by ``\\``, then unescapes ``\\.``:
    ``"foo.bar\\.zonk.roles"`` → ``["foo", "bar.zonk", "roles"]`` (``tokenize_json_path``)."""
    return [seg.replace("\\.", ".") for seg in _PATH_SPLIT.split(path)]


def _check_claims(claims: Mapping[str, Any], required: Mapping[str, str | None], now: int) -> None:
    # jwtf:validate_payload/2 order: iss, iat, nbf, exp.
    if "iss" in required:
        iss = claims.get("iss")
        if iss is None:
            raise BadRequest("Missing iss claim")
        expected = required["iss"]
        if expected is not None and iss != expected:
            raise BadRequest("Invalid iss claim")
    iat = claims.get("iat")
    if iat is None and "iat" in required:
        raise BadRequest("Missing iat claim")
    if iat is not None and (isinstance(iat, bool) or not isinstance(iat, int)):
        raise BadRequest("Invalid iat claim")
    nbf = claims.get("nbf")
    if nbf is None and "nbf" in required:
        raise BadRequest("Missing nbf claim")
    if nbf is not None and not _number("nbf", nbf) < now:
        raise Unauthorized("nbf not in past")
    exp = claims.get("exp")
    if exp is None and "exp" in required:
        raise BadRequest("Missing exp claim")
    if exp is not None and not _number("exp", exp) > now:
        raise Unauthorized("exp not in future")


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadRequest(f"Invalid {name} claim")
    return value


def _roles(claims: Mapping[str, Any], path: str | None, claim_name: str) -> tuple[str, ...]:
    value: Any
    if path is None:
        value = claims.get(claim_name, [])
    else:
        value = claims
        for key in split_claim_path(path):
            if not isinstance(value, dict):
                raise NotFound("json_mismatch")
            value = value.get(key)
            if value is None:
                raise NotFound(f"missing json key: {key}")
    if isinstance(value, str):
        roles = _ROLES_SPLIT.split(value)
        while roles and roles[-1] == "":
            roles.pop()
        return tuple(roles)
    if isinstance(value, list) and all(isinstance(r, str) for r in value):
        return tuple(value)
    raise BadRequest("Malformed token")


def _b64url_decode(part: str) -> bytes:
    if not _B64URL.fullmatch(part):
        raise BadRequest("Malformed token")
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError):
        raise BadRequest("Malformed token") from None


def _json_object(part: str) -> dict[str, Any]:
    try:
        value = orjson.loads(_b64url_decode(part))
    except orjson.JSONDecodeError:
        raise BadRequest("Malformed token") from None
    if not isinstance(value, dict):
        raise BadRequest("Not an object")
    return value
