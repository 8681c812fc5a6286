"""A document as it was at a past time: its leaves and winning rev, rebuilt from the audit trail.

The audit entries of a document, replayed in ``seq`` order up to a time, rebuild the rev tree it had
then: every write entry adds its ``rev`` below its ``parent`` (with its ``deleted`` flag), a purge
entry removes the revisions it took out of the tree (``info.removed``). The leaves of that tree and
CouchDB's winner rule (non-deleted first, then the higher pos, then the greater revid) give the
winning revision at that time. Stemming never matters: the replay does not read the stored tree.

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable

from .chain import PURGE, Entry


def leaves_at(entries: Iterable[Entry], until_ms: int) -> list[tuple[str, bool]]:
    """``[(rev, deleted)]`` of the leaves after every entry with ``ts <= until_ms``, winner first.

    ``entries`` are one document's, in ``seq`` order (so in time order).
    """
    nodes: dict[str, tuple[str | None, bool]] = {}
    for e in entries:
        if e.ts > until_ms:
            break
        if e.op == PURGE:
            for rev in (e.info or {}).get("removed", []):
                nodes.pop(rev, None)
        elif e.rev is not None:
            nodes[e.rev] = (e.parent, e.deleted)
    parents = {p for p, _ in nodes.values() if p is not None}
    leaves = [(rev, deleted) for rev, (_, deleted) in nodes.items() if rev not in parents]
    leaves.sort(key=_winner_key, reverse=True)
    return leaves


def winner_at(entries: Iterable[Entry], until_ms: int) -> tuple[str, bool] | None:
    """The winning ``(rev, deleted)`` at ``until_ms``, or ``None`` if the document did not exist."""
    leaves = leaves_at(entries, until_ms)
    return leaves[0] if leaves else None


def _winner_key(leaf: tuple[str, bool]) -> tuple[bool, int, str]:
    rev, deleted = leaf
    pos, _, revid = rev.partition("-")
    return (not deleted, int(pos), revid)
