"""Change notification for one database: wakes longpoll/continuous ``_changes`` after a commit.

In-process now (an ``asyncio.Condition``); a PostgreSQL backend would use LISTEN/NOTIFY behind the
same two calls.
"""

from __future__ import annotations

import asyncio
import contextlib


class ChangesNotifier:
    """``notify(seq)`` after every commit; ``wait(since, timeout)`` until ``seq > since``."""

    def __init__(self) -> None:
        self._cond = asyncio.Condition()
        self.seq = 0

    async def notify(self, seq: int) -> None:
        async with self._cond:
            self.seq = seq
            self._cond.notify_all()

    async def wait(self, since: int, timeout: float | None) -> bool:
        """Waits until a commit with ``seq > since``; returns False on timeout (seconds)."""
        async with self._cond:
            if self.seq > since:
                return True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._cond.wait_for(lambda: self.seq > since), timeout)
            return self.seq > since
