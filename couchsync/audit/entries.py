"""Audit entries as JSON, and the times they carry (UTC milliseconds ↔ RFC 3339).

Pure: no I/O (the clock is read by :func:`now_ms` only).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from ..errors import BadRequest
from .chain import Entry

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def now_ms() -> int:
    """Server time: UTC milliseconds since the epoch."""
    return time.time_ns() // 1_000_000


def format_time(ms: int) -> str:
    """``1790000000123`` → ``"2026-09-21T…:…:20.123Z"`` (RFC 3339, UTC, milliseconds)."""
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(text: str, name: str) -> int:
    """An RFC 3339 time (``2026-11-21T10:00:00Z``, ``…+01:00``, fractions allowed) → UTC ms.

    Raises ``BadRequest`` (400) naming the parameter ``name`` for anything else, a time without a
    UTC offset included (RFC 3339 requires one).
    """
    try:
        dt = datetime.fromisoformat(text.strip())
    except ValueError:
        dt = None
    if dt is None or dt.tzinfo is None or "T" not in text.upper():
        raise BadRequest(f"`{name}` must be an RFC 3339 time with a UTC offset, e.g. 2026-11-21T10:00:00Z")
    return (dt - _EPOCH) // timedelta(milliseconds=1)  # exact: no float rounding


def entry_json(e: Entry, format_seq: Callable[[int], str]) -> dict[str, Any]:
    """The public shape of an entry::

        {"seq", "time", "ts", "user", "roles", "address", "op", "id", "partition", "rev", "parent",
         "deleted", "digest", "db_seq", "info", "prev", "hash", "erased"?}

    ``time`` is ``ts`` as RFC 3339; ``digest`` is ``"sha256-<hex>"`` or ``null``; ``db_seq`` the
    database seq as ``_changes`` shows it (``"12-<instance>"``) or ``null``; ``prev``/``hash`` hex;
    ``erased: true`` once an erasure unlinked the entry from its content.
    """
    out: dict[str, Any] = {
        "seq": e.seq, "time": format_time(e.ts), "ts": e.ts, "user": e.user, "roles": list(e.roles),
        "address": e.address, "op": e.op, "id": e.doc_id, "partition": e.partition, "rev": e.rev,
        "parent": e.parent, "deleted": e.deleted,
        "digest": "sha256-" + e.digest.hex() if e.digest is not None else None,
        "db_seq": format_seq(e.db_seq) if e.db_seq is not None else None,
        "info": e.info, "prev": e.prev.hex(), "hash": e.hash.hex(),
    }
    if e.erased is not None:
        out["erased"] = True
    return out
