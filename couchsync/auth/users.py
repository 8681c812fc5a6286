"""The ``_users`` database's document rules and password hashing on write.

User documents have CouchDB's shape: ``{"_id": "org.couchdb.user:NAME", "type": "user", "name": NAME,
"roles": [...], "password": <clear, replaced on write>}``. On write the clear ``password`` is replaced
by ``password_scheme: "bcrypt"``, ``derived_key`` and a fresh ``salt`` (the salt keys the user's
session cookies, so a password change ends every session). couchsync additions, all optional:
``tenant`` (a tenant database), ``tenant_role`` (``admin``|``staff``), ``hospitals`` (partitions),
``disabled`` (bool: no login, no session).

Pure (bcrypt is CPU only). Sources: CouchDB ``couch_users_db.erl`` (``before_doc_update``),
``couch_js_functions.hrl`` (``AUTH_DB_DOC_VALIDATE_FUNCTION``); reference §3.3.
"""

from __future__ import annotations

from typing import Any

from ..errors import CouchError, Forbidden
from .passwords import hash_password

USER_PREFIX = "org.couchdb.user:"
USERS_DB = "_users"
#: what a hash-bearing user doc may never show to anyone but a server admin
SECRET_FIELDS = ("derived_key", "salt", "password_sha", "iterations", "pbkdf2_prf", "password_scheme")


def _forbidden(reason: str) -> CouchError:
    return Forbidden(reason)


def validate_user_doc(doc_id: str, body: dict[str, Any], *, deleted: bool = False,
                      old: dict[str, Any] | None = None) -> None:
    """Raises ``Forbidden`` (403, CouchDB's reasons) unless ``body`` is a valid user document.

    The checks and their order are ``AUTH_DB_DOC_VALIDATE_FUNCTION``'s: type, name, roles (exist,
    array, strings), ``_id``, immutable name, system roles, ``_``-prefixed name, ``:`` in the name;
    then couchsync's own fields (``hospitals``, ``disabled``).
    """
    if doc_id.startswith("_design/") or deleted:
        return
    if body.get("type") != "user":
        raise _forbidden("doc.type must be user")
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise _forbidden("doc.name is required")
    roles = body.get("roles")
    if roles is None or roles is False or roles == "" or roles == 0:  # JavaScript's !newDoc.roles
        raise _forbidden("doc.roles must exist")
    if not isinstance(roles, list):
        raise _forbidden("doc.roles must be an array")
    if not all(isinstance(r, str) for r in roles):
        raise _forbidden("doc.roles can only contain strings")
    if doc_id != USER_PREFIX + name:
        raise _forbidden(f"Doc ID must be of the form {USER_PREFIX}name")
    if old is not None and old.get("name") not in (None, name):
        raise _forbidden("Usernames can not be changed.")
    for role in roles:
        if role.startswith("_") and role != "_metrics":
            raise _forbidden("No system roles (starting with underscore) in users db.")
    if name.startswith("_"):
        raise _forbidden("Username may not start with underscore.")
    if ":" in name:
        raise _forbidden("Character `:` is not allowed in usernames.")
    hospitals = body.get("hospitals", [])
    if not isinstance(hospitals, list) or not all(isinstance(h, str) for h in hospitals):
        raise _forbidden("doc.hospitals must be an array of strings")
    if "disabled" in body and not isinstance(body["disabled"], bool):
        raise _forbidden("doc.disabled must be a boolean")


def hash_on_write(body: dict[str, Any], *, rounds: int = 12) -> dict[str, Any]:
    """Returns ``body`` with a clear ``password`` replaced by bcrypt fields (new salt).

    ``password: null`` or absent leaves the stored hash untouched (the caller keeps the old fields).
    Raises ``BadRequest`` (400) for a non-string or over-long password.
    """
    if "password" not in body:
        return body
    password = body["password"]
    out = {k: v for k, v in body.items() if k != "password"}
    if password is None:
        return out
    if not isinstance(password, str):
        raise CouchError("password must be a string", status=400, error="bad_request")
    for k in SECRET_FIELDS:
        out.pop(k, None)
    out.update(hash_password(password, rounds=rounds))
    return out


def public_view(body: dict[str, Any]) -> dict[str, Any]:
    """The user doc without secrets (what the tenant admin API shows)."""
    return {k: v for k, v in body.items() if k not in SECRET_FIELDS and k != "password"}
