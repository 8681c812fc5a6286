"""History retention: ``GET|PUT /{db}/_audit/_retention``, and a compaction past it removing old
history bodies — never audit entries, never current revisions."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from aiohttp.test_utils import TestClient

from couchsync.audit import entries as audit_entries
from couchsync.audit import retention, store
from tests.api.helpers import err, ok

from .helpers import iso, trail

DAY_MS = 86_400_000


async def _compact(c: TestClient, db: str) -> None:
    await ok(await c.post(f"/{db}/_compact", json={}), 202)
    for _ in range(300):
        if not (await ok(await c.get(f"/{db}")))["compact_running"]:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("compaction did not finish")


async def _edit(c: TestClient, db: str, doc_id: str, n: int) -> list[str]:
    revs: list[str] = []
    for i in range(n):
        body = {"v": i, **({"_rev": revs[-1]} if revs else {})}
        revs.append((await ok(await c.put(f"/{db}/{doc_id}", json=body), 201))["rev"])
    return revs


def clock(monkeypatch: pytest.MonkeyPatch, offset_ms: int) -> None:
    """Moves the server clock (entries' ``ts`` and retention's "now") ``offset_ms`` ahead."""
    real: Callable[[], int] = audit_entries.now_ms
    monkeypatch.setattr(store, "now_ms", lambda: real() + offset_ms)
    monkeypatch.setattr(retention, "now_ms", lambda: real() + offset_ms)


async def test_retention_setting(client: TestClient, anon: TestClient, db: str) -> None:
    assert await ok(await client.get(f"/{db}/_audit/_retention")) == {"max_age_seconds": None}
    assert await ok(await client.put(f"/{db}/_audit/_retention", json={"max_age_seconds": 3600})) == {"ok": True}
    assert await ok(await client.get(f"/{db}/_audit/_retention")) == {"max_age_seconds": 3600}
    for bad in ({}, {"max_age_seconds": -1}, {"max_age_seconds": "1"}, {"max_age_seconds": True},
                {"max_age_seconds": 1.5}):
        await err(await client.put(f"/{db}/_audit/_retention", json=bad), 400, "bad_request")
    await err(await client.put(f"/{db}/_audit/_retention", data=b"[1]"), 400, "bad_request")
    await err(await anon.put(f"/{db}/_audit/_retention", json={"max_age_seconds": 1}), 401, "unauthorized")
    await err(await client.delete(f"/{db}/_audit/_retention"), 405, "method_not_allowed")
    await ok(await client.put(f"/{db}/_audit/_retention", json={"max_age_seconds": None}))
    assert [e["info"] for e in await trail(client, db)] == [{"max_age_seconds": 3600}, {"max_age_seconds": None}]


async def test_compaction_past_retention_removes_old_bodies_only(client: TestClient, db: str,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    old = await _edit(client, db, "old", 3)  # 1-, 2- superseded now
    await _compact(client, db)  # forever: history kept
    history = (await ok(await client.get(f"/{db}/old/_history")))["history"]
    assert all(h["available"] for h in history)
    await ok(await client.put(f"/{db}/_audit/_retention", json={"max_age_seconds": 86400}))
    clock(monkeypatch, 2 * DAY_MS)  # two days later ...
    recent = await _edit(client, db, "recent", 3)  # ... these are superseded "now"
    entries_before = await trail(client, db)
    await _compact(client, db)
    old_history = (await ok(await client.get(f"/{db}/old/_history")))["history"]
    assert [(h["rev"], h["available"]) for h in old_history] == [(old[2], True), (old[1], False), (old[0], False)]
    assert all(h["available"] for h in (await ok(await client.get(f"/{db}/recent/_history")))["history"])
    assert (await ok(await client.get(f"/{db}/old")))["_rev"] == old[2]  # the current revision stays
    first_ts = entries_before[0]["ts"]
    await err(await client.get(f"/{db}/old", params={"as_of": iso(first_ts)}), 404, "not_found", "missing")
    assert (await ok(await client.get(f"/{db}/recent", params={"as_of": iso(entries_before[-2]["ts"])})))[
        "_rev"] == recent[1]
    # no entry is removed, the chain verifies, expired bodies are no longer matched by digest
    after = await trail(client, db)
    assert [e["hash"] for e in after] == [e["hash"] for e in entries_before]
    verified = await ok(await client.get(f"/{db}/_audit/_verify"))
    assert verified["ok"] is True and verified["bodies_checked"] == 4  # old[2] and recent[0..2]
    # a retention of 0 expires every superseded body at the next compaction
    await ok(await client.put(f"/{db}/_audit/_retention", json={"max_age_seconds": 0}))
    clock(monkeypatch, 2 * DAY_MS + 1000)
    await _compact(client, db)
    assert [h["available"] for h in (await ok(await client.get(f"/{db}/recent/_history")))["history"]] == [
        True, False, False]
