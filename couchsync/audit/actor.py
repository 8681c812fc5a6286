"""Who a write runs as, and whether the audit trail is on: two context variables.

The request's user reaches the updater without threading it through every call site: the auth
middleware sets :data:`ACTOR` (name, roles, client address) and :data:`ENABLED` (the server
setting ``audit``) once per request; tasks started by the request (a background compaction)
inherit both. Writes outside a request record :data:`SYSTEM` (``{"name": null, "roles":
["_admin"], "address": "internal"}``); the command line records :data:`CLI` (address ``"cli"``).

Pure: no I/O.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Actor:
    """The author of a write: the userCtx ``name`` (``None`` for anonymous or the server itself),
    its ``roles`` and the client ``address`` (IP, or ``"internal"``/``"cli"``)."""

    name: str | None
    roles: tuple[str, ...] = ()
    address: str | None = None


#: writes the server makes on its own (first-start set-up, tenant service outside a request)
SYSTEM = Actor(None, ("_admin",), "internal")
#: writes made by the ``couchsync`` command line in-process (``serve --demo-data``)
CLI = Actor(None, ("_admin",), "cli")

ACTOR: ContextVar[Actor] = ContextVar("couchsync_audit_actor", default=SYSTEM)
ENABLED: ContextVar[bool] = ContextVar("couchsync_audit_enabled", default=True)


def current() -> Actor:
    """The actor of the running request (or :data:`SYSTEM`)."""
    return ACTOR.get()


def enabled() -> bool:
    """Whether writes in this context append audit entries and keep history bodies."""
    return ENABLED.get()


@contextlib.contextmanager
def acting(actor: Actor, *, audit: bool | None = None) -> Iterator[None]:
    """Runs the block as ``actor`` (and with the audit switched to ``audit`` when given)."""
    token = ACTOR.set(actor)
    etoken = ENABLED.set(audit) if audit is not None else None
    try:
        yield
    finally:
        ACTOR.reset(token)
        if etoken is not None:
            ENABLED.reset(etoken)
