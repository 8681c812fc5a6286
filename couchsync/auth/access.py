"""Document-level access inside a database: which partitions a user may read and write.

CouchDB's ``_security`` decides *whether* a user reaches a database at all. In a tenant database
(one whose meta has ``tenant``), staff are further limited to their hospitals' partitions: the
roles ``<db>:hospital:<H>`` (derived from their ``_users`` doc on every request, so a change of
hospitals applies to the next request). Design documents stay readable (never writable: that needs
a db admin) and ``_local`` documents (replication checkpoints) stay readable and writable.

Every read path asks :meth:`Access.can_read` or passes :attr:`Access.partitions` down to SQL; every
write path asks :meth:`Access.can_write` per document. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import security
from .userctx import UserCtx

FORBIDDEN_DOC = "You are not allowed to access this document."


@dataclass(frozen=True, slots=True)
class Access:
    """``partitions``: the partitions readable and writable; ``None`` means every document."""

    partitions: frozenset[str] | None = None

    @property
    def unrestricted(self) -> bool:
        return self.partitions is None

    def can_read(self, doc_id: str) -> bool:
        if self.partitions is None or doc_id.startswith(("_design/", "_local/")):
            return True
        partition, sep, _ = doc_id.partition(":")
        return bool(sep) and partition in self.partitions

    def can_write(self, doc_id: str) -> bool:
        if self.partitions is None or doc_id.startswith("_local/"):
            return True
        if doc_id.startswith("_design/"):
            return False
        return self.can_read(doc_id)


ALL = Access(None)


def access_for(user: UserCtx, db_name: str, meta: Mapping[str, Any]) -> Access:
    """The access of ``user`` to the database ``db_name`` with ``meta`` (``security``, ``tenant``)."""
    if not isinstance(meta.get("tenant"), Mapping) or security.is_admin(user, meta.get("security") or {}):
        return ALL
    prefix = f"{db_name}:hospital:"
    return Access(frozenset(r[len(prefix):] for r in user.roles if r.startswith(prefix)))
