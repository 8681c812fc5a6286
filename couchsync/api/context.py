"""Typed application state and the per-request context handed to every handler."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from ..auth import security
from ..auth.access import ALL, FORBIDDEN_DOC, Access, access_for
from ..auth.authenticator import Authenticator
from ..auth.jwt_auth import JwtKeys, decode_jwt
from ..auth.userctx import ANONYMOUS, UserCtx
from ..errors import DatabaseNotFound, Forbidden, Unauthorized
from ..settings import Settings
from ..storage.database import Database
from ..storage.registry import Registry
from ..storage.server_config import ServerConfig
from ..tenants.service import TenantService
from ..views.engine import ViewEngine
from .http import read_json, read_json_object


@dataclass
class ServerState:
    """Everything a handler may need that outlives a request."""

    settings: Settings
    config: ServerConfig
    registry: Registry
    auth: Authenticator
    tenants: TenantService
    views: ViewEngine
    jwt_keys: JwtKeys | None = None
    started: float = field(default_factory=time.time)

    def decode_jwt(self, token: str) -> UserCtx:
        """The user of a ``Bearer`` token; raises ``BadRequest``/``Unauthorized`` (CouchDB jwtf)."""
        assert self.jwt_keys is not None
        return decode_jwt(token, self.jwt_keys)


STATE = web.AppKey("couchsync_state", ServerState)
USER = web.RequestKey("couchsync_user", UserCtx)


@dataclass
class Ctx:
    """One request: the aiohttp request, decoded path segments, the user, and the server state."""

    request: web.Request
    state: ServerState
    segs: list[str]
    user: UserCtx = ANONYMOUS
    params: dict[str, str] = field(default_factory=dict)
    #: document-level access in the database opened by :meth:`db` (staff: their partitions)
    access: Access = ALL

    @property
    def settings(self) -> Settings:
        return self.state.settings

    @property
    def method(self) -> str:
        return self.request.method

    def q(self, name: str, default: str | None = None) -> str | None:
        return self.request.query.get(name, default)

    async def db(self, name: str, *, admin: bool = False) -> Database:
        """The database, after checking the user is a member (or a db admin with ``admin``).

        Raises ``DatabaseNotFound`` (404), ``Unauthorized`` (401) or ``Forbidden`` (403).
        """
        try:
            db = await self.state.registry.get(name)
        except DatabaseNotFound:
            if self.user.is_anonymous:  # do not tell anonymous clients which databases exist
                raise Unauthorized(security.NOT_AUTHORIZED) from None
            raise
        sec = db.meta.get("security") or {}
        if admin:
            security.check_db_admin(self.user, sec)
        else:
            security.check_reader(self.user, sec)
        self.access = access_for(self.user, name, db.meta)
        return db

    async def doc_db(self, *, write: bool = False) -> Database:
        """The database of a document URL, after checking document-level access to
        ``params["doc"]``: 403 ``forbidden`` for staff outside their hospitals' partitions."""
        db = await self.db(self.params["db"])
        self.check_doc(self.params["doc"], write=write)
        return db

    def check_doc(self, doc_id: str, *, write: bool = False) -> None:
        """Raises ``Forbidden`` (403) unless the user may read (or ``write``) ``doc_id``."""
        if not (self.access.can_write(doc_id) if write else self.access.can_read(doc_id)):
            raise Forbidden(FORBIDDEN_DOC)

    async def refresh_access(self, db: Database) -> Access:
        """Re-derives the user's roles from the user store (long-lived requests such as live
        ``_changes``); a user that was disabled or deleted meanwhile gets no partitions."""
        if self.user.name is None or self.user.is_server_admin or self.user.authenticated == "jwt":
            return self.access  # a JWT's roles are in the token, not in _users
        creds = await self.state.auth.credentials(self.user.name)
        user = UserCtx(self.user.name, creds.roles if creds else (), self.user.authenticated)
        self.access = access_for(user, db.name, db.meta)
        if creds is None and self.access.partitions is not None:
            self.access = Access(frozenset())
        return self.access

    def is_db_admin(self, db: Database) -> bool:
        return security.is_admin(self.user, db.meta.get("security") or {})

    def require_server_admin(self) -> None:
        security.check_server_admin(self.user)

    async def json(self, *, require_ctype: bool = True, allow_empty: bool = False) -> Any:
        return await read_json(self.request, self.settings.max_http_request_size,
                               require_ctype=require_ctype, allow_empty=allow_empty)

    async def json_object(self, *, require_ctype: bool = True, allow_empty: bool = False) -> dict[str, Any]:
        return await read_json_object(self.request, self.settings.max_http_request_size,
                                      require_ctype=require_ctype, allow_empty=allow_empty)
