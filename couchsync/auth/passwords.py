"""Password hashing for user documents.

New passwords are hashed with bcrypt (a couchsync choice; CouchDB itself uses PBKDF2). Imported
CouchDB users keep working: :func:`verify_password` also accepts CouchDB's ``pbkdf2`` and legacy
``simple`` schemes, exactly as ``couch_httpd_auth:authenticate/2`` and ``couch_passwords`` compute
them (CouchDB ``src/couch/src/couch_passwords.erl``: ``simple/2``, ``pbkdf2/4,5``, ``verify/2``).

Stored fields (the user document minus ``password``)::

    bcrypt:  {"password_scheme": "bcrypt", "derived_key": "$2b$12$...", "salt": "<32 hex>"}
    pbkdf2:  {"password_scheme": "pbkdf2", "pbkdf2_prf": "sha256" | "sha" | ...,
              "iterations": int, "salt": str, "derived_key": "<hex>"}
    simple:  {"password_scheme": "simple" (or absent), "salt": str, "password_sha": "<sha1 hex>"}

``salt`` is also the per-user part of the AuthSession cookie HMAC key (see
:mod:`couchsync.auth.cookies`), so rehashing a password with a fresh salt invalidates that user's
cookies, as in CouchDB.

bcrypt is deliberately slow (cost 12 takes a few hundred ms): call these from a worker thread
(``loop.run_in_executor``) in async code.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from typing import Any

import bcrypt

from couchsync.errors import BadRequest

#: Default bcrypt cost factor (2**12 rounds).
DEFAULT_BCRYPT_ROUNDS = 12

#: bcrypt only looks at the first 72 bytes of a password.
BCRYPT_MAX_PASSWORD_BYTES = 72

#: CouchDB's default ``iterations`` for a ``pbkdf2`` user doc that lacks the field
#: (``couch_httpd_auth:authenticate/2``).
PBKDF2_DEFAULT_ITERATIONS = 10000

# CouchDB ``pbkdf2_prf`` values (Erlang crypto hash names) -> hashlib names. A doc without
# ``pbkdf2_prf`` predates CouchDB 3.4 and used ``sha`` (SHA-1).
_PBKDF2_PRFS = {
    "sha": "sha1",
    "sha1": "sha1",
    "sha224": "sha224",
    "sha256": "sha256",
    "sha384": "sha384",
    "sha512": "sha512",
}


def new_salt() -> str:
    """Returns 32 random lowercase hex characters (16 bytes), CouchDB's salt format."""
    return secrets.token_hex(16)


def hash_password(password: str, *, rounds: int = DEFAULT_BCRYPT_ROUNDS) -> dict[str, str]:
    """Hashes ``password`` for storage in a user document.

    Returns ``{"password_scheme": "bcrypt", "derived_key": <bcrypt hash str>, "salt": <32 hex>}``.
    ``rounds`` is the bcrypt cost (4..31); tests use 4.

    Raises :class:`~couchsync.errors.BadRequest` when the password's UTF-8 form is longer than 72
    bytes or contains a NUL: bcrypt would silently ignore everything past that point, and
    truncating a passphrase without telling anyone is worse than refusing it.
    """
    raw = _bcrypt_input(password)
    if raw is None:
        raise BadRequest(
            f"Password must be at most {BCRYPT_MAX_PASSWORD_BYTES} bytes of UTF-8 and contain no NUL"
        )
    derived = bcrypt.hashpw(raw, bcrypt.gensalt(rounds)).decode("ascii")
    return {"password_scheme": "bcrypt", "derived_key": derived, "salt": new_salt()}


def verify_password(password: str, stored: Mapping[str, Any]) -> bool:
    """True when ``password`` matches the stored credentials ``stored`` (a user doc or its fields).

    Schemes (``stored["password_scheme"]``, default ``"simple"`` as in CouchDB):

    * ``bcrypt``: ``bcrypt.checkpw(password, derived_key)``.
    * ``pbkdf2``: ``hex(PBKDF2-HMAC(prf, password, salt, iterations, dklen=digest size))`` compared
      with ``derived_key``; ``pbkdf2_prf`` defaults to ``sha`` (SHA-1) and ``iterations`` to 10000.
      The salt is used as its UTF-8 text, not hex-decoded (CouchDB ``couch_passwords:pbkdf2/5``).
    * ``simple``: ``hex(sha1(password + salt))`` compared with ``password_sha``
      (``couch_passwords:simple/2``).

    Comparisons are constant-time (``hmac.compare_digest``). Missing, mistyped or unknown fields
    give ``False`` rather than an error: a malformed user doc must not be a way in, nor a 500.
    """
    scheme = stored.get("password_scheme", "simple")
    pw = password.encode("utf-8")
    if scheme == "bcrypt":
        derived = stored.get("derived_key")
        raw = _bcrypt_input(password)
        if not isinstance(derived, str) or raw is None:
            return False
        try:
            return bcrypt.checkpw(raw, derived.encode("ascii"))
        except ValueError:  # not a bcrypt hash
            return False
    if scheme == "pbkdf2":
        derived = stored.get("derived_key")
        salt = stored.get("salt", "")
        prf = _PBKDF2_PRFS.get(stored.get("pbkdf2_prf", "sha"))
        iterations = stored.get("iterations", PBKDF2_DEFAULT_ITERATIONS)
        if not isinstance(derived, str) or not isinstance(salt, str) or prf is None:
            return False
        if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 1:
            return False
        computed = hashlib.pbkdf2_hmac(prf, pw, salt.encode("utf-8"), iterations).hex()
        return hmac.compare_digest(computed, derived.lower())
    if scheme == "simple":
        expected = stored.get("password_sha")
        salt = stored.get("salt", "")
        if not isinstance(expected, str) or not isinstance(salt, str):
            return False
        computed = hashlib.sha1(pw + salt.encode("utf-8")).hexdigest()
        return hmac.compare_digest(computed, expected.lower())
    return False


def needs_rehash(stored: Mapping[str, Any], *, rounds: int = DEFAULT_BCRYPT_ROUNDS) -> bool:
    """True when ``stored`` should be replaced by :func:`hash_password` after a successful login.

    That is: any scheme other than ``bcrypt``, or a bcrypt hash whose cost is below ``rounds``.
    (CouchDB likewise upgrades hashes on login, ``couch_password_hasher``.)
    """
    if stored.get("password_scheme") != "bcrypt":
        return True
    derived = stored.get("derived_key")
    if not isinstance(derived, str):
        return True
    parts = derived.split("$")  # "", "2b", "12", "<salt+hash>"
    if len(parts) != 4 or not parts[2].isdigit():
        return True
    return int(parts[2]) < rounds


def _bcrypt_input(password: str) -> bytes | None:
    raw = password.encode("utf-8")
    if len(raw) > BCRYPT_MAX_PASSWORD_BYTES or b"\x00" in raw:
        return None
    return raw
