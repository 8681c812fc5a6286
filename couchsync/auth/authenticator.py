"""Who is making a request: cookie, then Basic (CouchDB's default handler chain), then JWT.

Users come from the server admins (``server.json``) and from a pluggable user lookup (the
``_users`` database, wired by the tenants layer). Successful password checks are cached in memory
keyed by a hash of (name, password, stored hash), so bcrypt's deliberate slowness is paid once per
credential, not per request; a password change changes the stored hash and so misses the cache.
bcrypt runs in a worker thread so it never blocks the event loop.

Sources: CouchDB ``couch_httpd_auth.erl`` (``default_authentication_handler``,
``cookie_authentication_handler``), protocol reference §3.2.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import Unauthorized
from .basic import parse_basic
from .cookies import Verdict, make_cookie, parse_cookie, verify_cookie
from .passwords import verify_password
from .throttle import LoginThrottle
from .userctx import ANONYMOUS, UserCtx

#: ``lookup(name) -> user doc`` (``{"name","roles","password_scheme",…,"salt"}``) or ``None``
UserLookup = Callable[[str], Awaitable[Mapping[str, Any] | None]]

BAD_CREDENTIALS = "Name or password is incorrect."


@dataclass(frozen=True, slots=True)
class Credentials:
    """A known user: roles and the salt that keys its cookies (changes with its password)."""

    name: str
    roles: tuple[str, ...]
    salt: str
    stored: Mapping[str, Any]


class Authenticator:
    """Resolves requests to a :class:`UserCtx`; raises ``Unauthorized`` (401) on bad credentials."""

    def __init__(
        self,
        admins: Mapping[str, str],
        secret: str,
        *,
        session_timeout: int = 600,
        lookup: UserLookup | None = None,
    ):
        self.admins = dict(admins)
        self.secret = secret.encode()
        self.session_timeout = session_timeout
        self.lookup = lookup
        self.throttle = LoginThrottle()
        self._verified: OrderedDict[tuple[Any, ...], float] = OrderedDict()

    async def credentials(self, name: str) -> Credentials | None:
        """The user named ``name``: a server admin (``_admin``) or a user doc from ``lookup``."""
        admin_hash = self.admins.get(name)
        if admin_hash is not None:
            stored = {"password_scheme": "bcrypt", "derived_key": admin_hash}
            return Credentials(
                name, ("_admin",), hashlib.sha256(admin_hash.encode()).hexdigest()[:32], stored
            )
        if self.lookup is None:
            return None
        doc = await self.lookup(name)
        if not doc or doc.get("disabled"):
            return None
        roles = tuple(r for r in doc.get("roles", []) if isinstance(r, str))
        salt = str(doc.get("salt") or doc.get("derived_key") or "")
        return Credentials(name, roles, salt, doc)

    async def check_password(self, name: str, password: str, addr: str | None) -> UserCtx:
        """Verifies a name/password; returns the user. Raises ``Unauthorized`` (401
        "Name or password is incorrect.") or ``Forbidden`` (403) while throttled."""
        now = time.monotonic()
        self.throttle.check(name, addr, now)
        creds = await self.credentials(name)
        if creds is not None and await self._verify(creds, password):
            self.throttle.record_success(name, addr)
            return UserCtx(name, creds.roles, "default")
        self.throttle.record_failure(name, addr, now)
        raise Unauthorized(BAD_CREDENTIALS)

    async def _verify(self, creds: Credentials, password: str) -> bool:
        # a password change replaces derived_key and salt, so the old entry is never hit again
        key = (creds.name, password, creds.stored.get("derived_key"), creds.stored.get("salt"),
               creds.stored.get("password_sha"))
        expiry = self._verified.get(key)
        if expiry is not None and expiry > time.monotonic():
            return True
        ok = await asyncio.to_thread(verify_password, password, creds.stored)
        if ok:
            self._verified[key] = time.monotonic() + 600
            while len(self._verified) > 10_000:
                self._verified.popitem(last=False)
        return ok

    async def from_basic(self, header: str, addr: str | None) -> UserCtx | None:
        parsed = parse_basic(header)
        if parsed is None:
            return None
        return await self.check_password(parsed[0], parsed[1], addr)

    async def from_cookie(self, value: str) -> tuple[UserCtx, bool] | None:
        """``(user, needs_refresh)`` for a valid cookie; ``None`` (anonymous) otherwise."""
        parts = parse_cookie(value)
        creds = await self.credentials(parts.name)
        if creds is None:
            return None
        verdict = verify_cookie(value, self.secret, creds.salt, int(time.time()), self.session_timeout)
        if not verdict.authenticated:
            return None
        return UserCtx(creds.name, creds.roles, "cookie"), verdict is Verdict.NEEDS_REFRESH

    async def make_session_cookie(self, name: str) -> str:
        creds = await self.credentials(name)
        salt = creds.salt if creds else ""
        return make_cookie(name, self.secret, salt, int(time.time()))


__all__ = ["ANONYMOUS", "Authenticator", "Credentials", "UserLookup"]
