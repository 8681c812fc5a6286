"""Temporary lockout after repeated authentication failures.

Modelled on CouchDB 3.4+'s ``[chttpd_auth_lockout]`` (DOCS ``config/auth.rst``: ``mode = enforce``
by default, ``threshold = 5``, ``max_lifetime`` 5 minutes, ``max_objects = 10000``; failures are
counted per user name **and** client address pair, so a stranger cannot lock a user out from
elsewhere). The refusal is 403 ``forbidden`` "Account is temporarily locked due to multiple
authentication failures" (``couch_httpd_auth.erl`` ``?LOCKOUT_MSG``; CouchDB's test
``test/elixir/test/auth_lockout_test.exs`` expects five 401s, then that 403).

Semantics here: failures for a pair are counted in a fixed window that opens at the first failure
and lasts ``window_seconds``; the failure that brings the count to ``max_failures`` locks the pair
for ``lockout_seconds`` from that moment. A success clears the pair. (CouchDB keeps the lock for
the rest of the window; with both periods at 300 s the difference is at most the window's age.)

Memory is bounded by ``max_entries``: entries are kept in least-recently-failed order, stale ones
are pruned as new failures arrive, and past the bound the oldest entry is dropped (which may end
an old lockout early; CouchDB's LRU behaves the same way).

Pure and synchronous: the caller passes ``now`` (seconds, any monotonic or wall clock). Not
thread-safe; one instance per event loop.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from couchsync.errors import Forbidden

LOCKOUT_REASON = "Account is temporarily locked due to multiple authentication failures"

_Key = tuple[str, str | None]


@dataclass
class _Entry:
    window_start: float
    failures: int
    locked_until: float | None = None


class LoginThrottle:
    """Tracks authentication failures per ``(name, addr)`` pair.

    Use: ``check(name, addr, now)`` before verifying credentials (raises while locked), then
    ``record_failure`` or ``record_success``.
    """

    def __init__(
        self,
        max_failures: int = 5,
        window_seconds: float = 300,
        lockout_seconds: float = 300,
        *,
        max_entries: int = 10000,
    ):
        if max_failures < 1 or window_seconds <= 0 or lockout_seconds < 0 or max_entries < 1:
            raise ValueError("LoginThrottle limits must be positive")
        self.max_failures = max_failures
        self.window_seconds = window_seconds
        self.lockout_seconds = lockout_seconds
        self.max_entries = max_entries
        self._entries: OrderedDict[_Key, _Entry] = OrderedDict()

    def check(self, name: str, addr: str | None, now: float) -> None:
        """Raises :class:`~couchsync.errors.Forbidden` (403, :data:`LOCKOUT_REASON`) while the
        pair is locked; otherwise returns. An expired lock is forgotten here."""
        key = (name, addr)
        entry = self._entries.get(key)
        if entry is None or entry.locked_until is None:
            return
        if now < entry.locked_until:
            raise Forbidden(LOCKOUT_REASON)
        del self._entries[key]

    def is_locked(self, name: str, addr: str | None, now: float) -> bool:
        """True while the pair is locked (does not raise, does not prune)."""
        entry = self._entries.get((name, addr))
        return entry is not None and entry.locked_until is not None and now < entry.locked_until

    def record_failure(self, name: str, addr: str | None, now: float) -> None:
        """Counts a failed attempt; the ``max_failures``-th within the window starts a lockout."""
        key = (name, addr)
        entry = self._entries.get(key)
        if entry is None or self._expired(entry, now):
            entry = _Entry(window_start=now, failures=0)
            self._entries[key] = entry
        self._entries.move_to_end(key)
        if entry.locked_until is None:
            entry.failures += 1
            if entry.failures >= self.max_failures:
                entry.locked_until = now + self.lockout_seconds
        self._prune(now)

    def record_success(self, name: str, addr: str | None) -> None:
        """Forgets the pair's failures (a successful login resets the count)."""
        self._entries.pop((name, addr), None)

    def __len__(self) -> int:
        return len(self._entries)

    def _expired(self, entry: _Entry, now: float) -> bool:
        if entry.locked_until is not None:
            return now >= entry.locked_until
        return now >= entry.window_start + self.window_seconds

    def _prune(self, now: float) -> None:
        # Oldest-touched first: drop stale entries at the head, then enforce the bound.
        while self._entries:
            oldest = next(iter(self._entries.values()))
            if not self._expired(oldest, now):
                break
            self._entries.popitem(last=False)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
