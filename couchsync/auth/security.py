"""Database security objects (``_security``) and the member/admin checks built on them.

Source: CouchDB ``src/couch/src/couch_db.erl``: ``validate_security_object/1``,
``validate_names_and_roles/1``, ``is_admin/1``, ``is_member/1``, ``is_public_db/1``,
``is_authorized/2``, ``check_security/3``, ``check_is_admin/1``, ``check_is_member/1``,
``throw_security_error/1,2``; the CouchDB 3 default (``[couchdb] default_security = admin_only``)
is from ``couch_db_updater.erl`` ``default_security_object``.

Shape::

    {"admins":  {"names": [str, ...], "roles": [str, ...]},
     "members": {"names": [str, ...], "roles": [str, ...]}}

``members`` falls back to the legacy ``readers`` key when absent. Missing ``names``/``roles`` are
empty lists. The ``_admin`` role always counts as both db admin and member
(``is_authorized/2`` adds it to the role list).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from couchsync.auth.userctx import ADMIN_ROLE, UserCtx
from couchsync.errors import BadRequest, Forbidden, Unauthorized

#: CouchDB 3's security object for a new database (``default_security = admin_only``).
DEFAULT_SECURITY: dict[str, Any] = {"members": {"roles": ["_admin"]}, "admins": {"roles": ["_admin"]}}

NOT_AUTHORIZED = "You are not authorized to access this db."
NOT_ALLOWED = "You are not allowed to access this db."
NOT_DB_ADMIN = "You are not a db or server admin."
NOT_SERVER_ADMIN = "You are not a server admin."


def default_security() -> dict[str, Any]:
    """Returns a fresh deep copy of :data:`DEFAULT_SECURITY`, safe to store and mutate."""
    return copy.deepcopy(DEFAULT_SECURITY)


def validate_security(obj: Any) -> dict[str, Any]:
    """Validates a ``PUT /{db}/_security`` body and returns it (unchanged, as CouchDB stores it).

    ``admins`` and ``members`` (or legacy ``readers``, used when ``members`` is absent) must be
    objects whose ``names`` and ``roles``, when present, are lists of strings. Other keys pass
    through untouched.

    Raises :class:`BadRequest` (400 ``bad_request``) with CouchDB's reason:
    ``"names must be a JSON list of strings"``, ``"roles must be a JSON list of strings"``, or
    ``"admins or members must be a JSON list of strings"`` when a section is not an object; and
    ``"Security object must be a JSON object"`` (couchsync wording; CouchDB throws a bare
    ``bad_request``) when ``obj`` itself is not an object.
    """
    if not isinstance(obj, dict):
        raise BadRequest("Security object must be a JSON object")
    admins = obj.get("admins", {})
    members = obj["members"] if "members" in obj else obj.get("readers", {})
    for section in (admins, members):
        if not isinstance(section, dict):
            raise BadRequest("admins or members must be a JSON list of strings")
        for field in ("names", "roles"):
            if field in section:
                values = section[field]
                if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                    raise BadRequest(f"{field} must be a JSON list of strings")
    return obj


def is_admin(user: UserCtx, sec: Mapping[str, Any]) -> bool:
    """True when ``user`` is a db admin: has ``_admin``, or a name/role listed in ``admins``."""
    return _is_authorized(user, _section(sec, "admins"))


def is_member(user: UserCtx, sec: Mapping[str, Any]) -> bool:
    """True when ``user`` may read the db: a db admin, or the db is public (``members.names`` and
    ``members.roles`` both empty), or a name/role listed in ``members``."""
    if is_admin(user, sec) or is_public(sec):
        return True
    return _is_authorized(user, _section(sec, "members"))


def is_public(sec: Mapping[str, Any]) -> bool:
    """True when the db is readable by anyone, anonymous included (``is_public_db/1``)."""
    members = sec.get("members")
    if members is None:
        members = sec.get("readers", {})
    if not isinstance(members, Mapping):
        return False  # malformed (validate_security refuses it): keep the db closed
    # ``Names =:= [] andalso Roles =:= []``: anything else, even malformed, keeps the db closed.
    return members.get("names", []) == [] and members.get("roles", []) == []


def check_reader(user: UserCtx, sec: Mapping[str, Any]) -> None:
    """Raises unless ``user`` is a member: 401 ``unauthorized`` "You are not authorized to access
    this db." for anonymous, 403 ``forbidden`` "You are not allowed to access this db." otherwise
    (``check_is_member/1``)."""
    if not is_member(user, sec):
        if user.name is None:
            raise Unauthorized(NOT_AUTHORIZED)
        raise Forbidden(NOT_ALLOWED)


def check_db_admin(user: UserCtx, sec: Mapping[str, Any]) -> None:
    """Raises unless ``user`` is a db admin: "You are not a db or server admin." as 401
    ``unauthorized`` for anonymous, 403 ``forbidden`` otherwise (``check_is_admin/1``)."""
    if not is_admin(user, sec):
        if user.name is None:
            raise Unauthorized(NOT_DB_ADMIN)
        raise Forbidden(NOT_DB_ADMIN)


def check_server_admin(user: UserCtx) -> None:
    """Raises 401 ``unauthorized`` "You are not a server admin." unless ``user`` has ``_admin``,
    for anonymous and logged-in users alike (``chttpd:verify_is_server_admin/1``)."""
    if not user.is_server_admin:
        raise Unauthorized(NOT_SERVER_ADMIN)


def _section(sec: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = sec.get(key)
    if value is None and key == "members":
        value = sec.get("readers")
    return value if isinstance(value, Mapping) else {}


def _strings(section: Mapping[str, Any], field: str) -> list[str]:
    values = section.get(field, [])
    if not isinstance(values, list):
        return []
    return [v for v in values if isinstance(v, str)]


def _is_authorized(user: UserCtx, section: Mapping[str, Any]) -> bool:
    roles = {ADMIN_ROLE, *_strings(section, "roles")}
    if any(r in roles for r in user.roles):
        return True
    return user.name is not None and user.name in _strings(section, "names")
