"""Changes of a user's rights take effect at once: on the next request and on feeds already open.

The issue: "The change of a user's hospitals takes effect on the next request, also for a live
``_changes`` feed"; "A disabled user, or one whose password changed, loses access at once,
including sessions already issued". Rights change through ``PATCH /_tenants/{db}/users/{name}``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from tests.tenants.world import HOSPITALS, PW, World, call, ok, unique


async def patch_user(w: World, name: str, body: dict[str, Any], by: TestClient | None = None) -> Any:
    return await ok(by or w.c("tenant_admin"), "PATCH", f"/_tenants/{w.db}/users/{name}", 200, json=body)


async def write(w: World, target: str, **fields: Any) -> str:
    doc_id = w.new_id(target, "live")
    await ok(w.admin, "PUT", f"/{w.db}/{doc_id}", 201, json={"kind": "live", **fields})
    return doc_id


async def open_longpoll(c: TestClient, db: str) -> ClientResponse:
    """A ``since=now`` longpoll with heartbeat; returns once the headers are in (the feed is open)."""
    resp = await c.get(f"/{db}/_changes?feed=longpoll&since=now&heartbeat=40&include_docs=true")
    assert resp.status == 200, await resp.text()
    await asyncio.sleep(0.02)
    return resp


async def result_ids(resp: ClientResponse, timeout: float = 10) -> tuple[list[str], bytes]:
    body = await asyncio.wait_for(resp.read(), timeout)
    return [r["id"] for r in orjson.loads(body)["results"]], body


async def session_cookie(w: World, name: str, password: str = PW) -> str:
    c = await w.client()
    resp = await c.post("/_session", json={"name": name, "password": password})
    assert resp.status == 200, await resp.text()
    morsel = resp.cookies.get("AuthSession")
    assert morsel is not None and morsel.value
    return morsel.value


async def with_cookie(w: World, cookie: str) -> TestClient:
    return await w.client(headers={"Cookie": f"AuthSession={cookie}"})


# -- next request ----------------------------------------------------------------------------------


async def test_hospital_change_applies_to_next_request(world: World) -> None:
    w, staff = world, world.c("staff_a")
    a, c = w.seeds["A"].id, w.seeds["C"].id
    assert (await call(staff, "GET", f"/{w.db}/{c}")).status == 403
    await patch_user(w, "staff-a", {"hospitals": [HOSPITALS["A"], HOSPITALS["C"]]})
    assert (await call(staff, "GET", f"/{w.db}/{c}")).status == 200
    rows = await ok(staff, "GET", f"/{w.db}/_all_docs", 200)
    assert {a, c} <= {r["id"] for r in rows["rows"]}
    assert (await call(staff, "PUT", f"/{w.db}/{HOSPITALS['C']}:mine", json={})).status == 201
    await patch_user(w, "staff-a", {"hospitals": [HOSPITALS["C"]]})
    assert (await call(staff, "GET", f"/{w.db}/{a}")).status == 403
    assert (await call(staff, "GET", f"/{w.db}/{c}")).status == 200
    changes = await ok(staff, "GET", f"/{w.db}/_changes", 200)
    assert a not in {r["id"] for r in changes["results"]}
    res = await ok(staff, "POST", f"/{w.db}/_bulk_docs", 201, json={"docs": [{"_id": f"{HOSPITALS['A']}:x"}]})
    assert res[0]["error"] == "forbidden"


async def test_role_change_applies_to_next_request(world: World) -> None:
    w, staff = world, world.c("staff_a")
    c = w.seeds["C"].id
    await patch_user(w, "staff-a", {"role": "admin", "hospitals": []})
    assert (await call(staff, "GET", f"/{w.db}/{c}")).status == 200
    assert (await call(staff, "GET", f"/_tenants/{w.db}/users")).status == 200
    await patch_user(w, "staff-a", {"role": "staff", "hospitals": [HOSPITALS["A"]]})
    assert (await call(staff, "GET", f"/{w.db}/{c}")).status == 403
    assert (await call(staff, "GET", f"/_tenants/{w.db}/users")).status == 403


async def test_cookie_session_is_limited_to_partitions_and_follows_changes(world: World) -> None:
    w = world
    c = await with_cookie(w, await session_cookie(w, "staff-a"))
    assert (await call(c, "GET", f"/{w.db}/{w.seeds['A'].id}")).status == 200
    assert (await call(c, "GET", f"/{w.db}/{w.seeds['C'].id}")).status == 403
    await patch_user(w, "staff-a", {"hospitals": [HOSPITALS["C"]]})
    assert (await call(c, "GET", f"/{w.db}/{w.seeds['C'].id}")).status == 200
    assert (await call(c, "GET", f"/{w.db}/{w.seeds['A'].id}")).status == 403


# -- live feeds ------------------------------------------------------------------------------------


async def _ended_feed(resp: ClientResponse) -> str:
    """An open feed whose reader's access changed ends at once, empty, with a ``last_seq`` that no
    longer matches the reader's access (so the client's next request restarts from 0)."""
    ids, body = await result_ids(resp)
    assert ids == []
    return str(orjson.loads(body)["last_seq"])


async def _resume(c: TestClient, db: str, since: str) -> tuple[list[str], bytes]:
    r = await c.get(f"/{db}/_changes", params={"since": since, "include_docs": "true"})
    assert r.status == 200
    body = await r.read()
    return [row["id"] for row in orjson.loads(body)["results"]], body


async def test_longpoll_sees_newly_granted_partition(world: World) -> None:
    """Granting C ends the open feed; resuming from its last_seq restarts from 0 and delivers C's
    documents, including those written before the grant (helper-found bug: a checkpointed seq
    would skip them)."""
    w = world
    old_c = await write(w, "C")
    resp = await open_longpoll(w.c("staff_a"), w.db)
    await patch_user(w, "staff-a", {"hospitals": [HOSPITALS["A"], HOSPITALS["C"]]})
    c_id = await write(w, "C")
    since = await _ended_feed(resp)
    ids, _ = await _resume(w.c("staff_a"), w.db, since)
    assert old_c in ids and c_id in ids
    assert all(i.startswith((HOSPITALS["A"] + ":", HOSPITALS["C"] + ":", "_design/")) for i in ids)


async def test_longpoll_stops_delivering_revoked_partition(world: World) -> None:
    w = world
    resp = await open_longpoll(w.c("staff_ab"), w.db)
    await patch_user(w, "staff-ab", {"hospitals": [HOSPITALS["A"]]})
    marker = f"MARKREVOKED{unique()}"
    await write(w, "B", marker=marker)
    a_id = await write(w, "A")
    since = await _ended_feed(resp)
    ids, body = await _resume(w.c("staff_ab"), w.db, since)
    assert a_id in ids
    assert marker.encode() not in body
    assert not any(i.startswith(HOSPITALS["B"] + ":") for i in ids)


async def test_longpoll_of_demoted_tenant_admin_stops_delivering_other_partitions(world: World) -> None:
    """A tenant admin demoted to staff of A while their longpoll is open must not get a C write."""
    w = world
    resp = await open_longpoll(w.c("tenant_admin"), w.db)
    await patch_user(w, "t-admin", {"role": "staff", "hospitals": [HOSPITALS["A"]]}, by=w.admin)
    marker = f"MARKDEMOTED{unique()}"
    await write(w, "C", marker=marker)
    a_id = await write(w, "A")
    ids, body = await result_ids(resp)
    assert marker.encode() not in body
    assert ids == []
    ids, body = await _resume(w.c("tenant_admin"), w.db, str(orjson.loads(body)["last_seq"]))
    assert a_id in ids and marker.encode() not in body


async def test_longpoll_of_promoted_staff_gets_everything(world: World) -> None:
    w = world
    resp = await open_longpoll(w.c("staff_a"), w.db)
    await patch_user(w, "staff-a", {"role": "admin", "hospitals": []})
    c_id = await write(w, "C")
    since = await _ended_feed(resp)
    ids, _ = await _resume(w.c("staff_a"), w.db, since)
    assert c_id in ids


async def test_longpoll_of_disabled_user_delivers_nothing(world: World) -> None:
    w = world
    resp = await open_longpoll(w.c("staff_a"), w.db)
    await patch_user(w, "staff-a", {"disabled": True})
    marker = f"MARKDISABLED{unique()}"
    await write(w, "A", marker=marker)
    # either the feed ends (without the write) or it keeps waiting; it must never deliver it
    try:
        body = await asyncio.wait_for(resp.read(), 0.5)
    except TimeoutError:
        resp.close()
        return
    assert marker.encode() not in body


async def _next_row(resp: ClientResponse, timeout: float = 5) -> dict[str, Any]:
    """The next change row of a continuous feed (heartbeat newlines skipped)."""
    while True:
        line = await asyncio.wait_for(resp.content.readline(), timeout)
        assert line, "feed ended"
        if line.strip():
            row: dict[str, Any] = orjson.loads(line)
            return row


async def test_continuous_feed_ends_when_access_changes(world: World) -> None:
    """A continuous feed delivers the reader's partitions, and ends (final ``last_seq`` line) as soon
    as their hospitals change; a revoked partition's write is never delivered."""
    w = world
    resp = await w.c("staff_ab").get(
        f"/{w.db}/_changes?feed=continuous&since=now&heartbeat=40&include_docs=true"
    )
    assert resp.status == 200
    await asyncio.sleep(0.02)
    b1 = await write(w, "B")
    assert (await _next_row(resp))["id"] == b1
    await patch_user(w, "staff-ab", {"hospitals": [HOSPITALS["A"]]})
    marker = f"MARKCONT{unique()}"
    await write(w, "B", marker=marker)
    rest = await asyncio.wait_for(resp.read(), 10)
    assert marker.encode() not in rest
    lines = [orjson.loads(line) for line in rest.splitlines() if line.strip()]
    assert lines and "last_seq" in lines[-1]


# -- lost access -----------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["disabled", "password", "deleted"])
async def test_user_loses_access_at_once_including_sessions(world: World, how: str) -> None:
    w = world
    cookie = await session_cookie(w, "staff-a")
    by_cookie = await with_cookie(w, cookie)
    basic = w.c("staff_a")
    doc = f"/{w.db}/{w.seeds['A'].id}"
    assert (await call(by_cookie, "GET", doc)).status == 200
    assert (await call(basic, "GET", doc)).status == 200
    if how == "disabled":
        await patch_user(w, "staff-a", {"disabled": True})
    elif how == "password":
        await patch_user(w, "staff-a", {"password": "a-new-password"})
    else:
        await ok(w.c("tenant_admin"), "DELETE", f"/_tenants/{w.db}/users/staff-a", 200)
    ex = await call(basic, "GET", doc)
    assert ex.status == 401 and ex.json()["error"] == "unauthorized", str(ex)
    ex = await call(by_cookie, "GET", doc)  # the cookie no longer authenticates: anonymous
    assert ex.status == 401, str(ex)
    session = await ok(by_cookie, "GET", "/_session", 200)
    assert session["userCtx"]["name"] is None
    ex = await call(by_cookie, "GET", f"/{w.db}/_changes")
    assert ex.status == 401
    login = await (await w.client()).post("/_session", json={"name": "staff-a", "password": PW})
    assert login.status == 401
    if how == "password":
        fresh = await w.client("staff-a", "a-new-password")
        assert (await call(fresh, "GET", doc)).status == 200
        assert (await call(fresh, "GET", f"/{w.db}/{w.seeds['C'].id}")).status == 403


async def test_reenabled_user_gets_access_back(world: World) -> None:
    w = world
    doc = f"/{w.db}/{w.seeds['A'].id}"
    await patch_user(w, "staff-a", {"disabled": True})
    assert (await call(w.c("staff_a"), "GET", doc)).status == 401
    await patch_user(w, "staff-a", {"disabled": False})
    assert (await call(w.c("staff_a"), "GET", doc)).status == 200


async def test_disabled_tenant_admin_loses_admin_api(world: World) -> None:
    w = world
    cookie = await session_cookie(w, "t-admin")
    by_cookie = await with_cookie(w, cookie)
    assert (await call(by_cookie, "GET", f"/_tenants/{w.db}/users")).status == 200
    await patch_user(w, "t-admin", {"disabled": True}, by=w.admin)
    assert (await call(by_cookie, "GET", f"/_tenants/{w.db}/users")).status == 401
    assert (await call(w.c("tenant_admin"), "GET", f"/_tenants/{w.db}/users")).status == 401


async def test_staff_client_authenticates_as_staff(world: World) -> None:
    """Sanity for the helpers: the staff client really authenticates as staff-a."""
    session = await ok(world.c("staff_a"), "GET", "/_session", 200)
    assert session["userCtx"]["name"] == "staff-a"
    assert f"{world.db}:hospital:{HOSPITALS['A']}" in session["userCtx"]["roles"]
