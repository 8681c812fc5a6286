"""The user context: who a request runs as.

Mirrors CouchDB's ``#user_ctx{name, roles, handler}`` record (``couch_db.hrl``) and its JSON form
``couch_util:json_user_ctx/1`` (``{"db": ..., "name": ..., "roles": [...]}``), which is what a
validate_doc_update function receives as ``userCtx`` and what ``GET /_session`` reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: The role that makes a user a server admin (CouchDB ``?ADMIN_USER`` / ``<<"_admin">>``).
ADMIN_ROLE = "_admin"


@dataclass(frozen=True)
class UserCtx:
    """An authenticated (or anonymous) identity.

    ``name`` is ``None`` for anonymous requests; ``roles`` is a tuple of role names;
    ``authenticated`` names the handler that authenticated the request, as CouchDB reports it in
    ``GET /_session`` ``info.authenticated``: ``"cookie"``, ``"default"`` (Basic), ``"jwt"``, or
    ``None`` for anonymous.
    """

    name: str | None
    roles: tuple[str, ...] = ()
    authenticated: str | None = None

    @property
    def is_server_admin(self) -> bool:
        """True when ``"_admin"`` is among the roles (server admins, from config ``[admins]``)."""
        return ADMIN_ROLE in self.roles

    @property
    def is_anonymous(self) -> bool:
        """True when no user name is attached (CouchDB ``#user_ctx{name = null}``)."""
        return self.name is None

    def to_json(self, db: str | None = None) -> dict[str, Any]:
        """Returns ``{"db"?: str, "name": str | None, "roles": [str, ...]}``.

        ``db`` is included (first, as CouchDB orders it) only when given: the VDU ``userCtx``
        carries it, ``GET /_session``'s ``userCtx`` does not.
        """
        out: dict[str, Any] = {}
        if db is not None:
            out["db"] = db
        out["name"] = self.name
        out["roles"] = list(self.roles)
        return out


#: The anonymous user: ``{"name": null, "roles": []}``.
ANONYMOUS = UserCtx(name=None, roles=(), authenticated=None)
