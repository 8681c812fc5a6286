"""The isolation matrix: every endpoint × every principal × every target.

Principals: anonymous, other-tenant staff, other-tenant admin, staff of hospital A, staff of A and B,
the tenant admin, the server admin. Targets: a document in partition A (own for staff), B (own for
staff of A and B only), C (nobody's hospital), the design document ``_design/app`` and the ``_local``
document ``_local/ck`` (see :mod:`.world`).

Every case checks the status, the per-document outcome where the request succeeds as a whole
(``_bulk_get``, ``_bulk_docs``, ``_revs_diff``, ``_all_docs`` keys, ``_changes``), and that no byte of a
document the principal may not read appears in the response body (:func:`~.world.assert_no_leak`).

Expected, from the issue and CouchDB 3 (reference §3.4): users of another tenant get 403 on
everything in the tenant database, anonymous 401. Staff read and write only their hospitals'
partitions, read design documents (writing one is 403), use ``_local`` documents; writes elsewhere
in ``_bulk_docs`` are per-document ``403 forbidden`` while the request itself is 201. Tenant and
server admins see and write everything; ``_security`` PUT and ``_compact`` need a db admin.

One world serves the whole module (it is only ever added to: writes use fresh ids, deletes delete
documents made for the case), so the ~800 cases stay fast.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import orjson
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer

from couchsync.api.app import create_app
from couchsync.settings import Settings
from tests.tenants.world import (
    ADMIN,
    ADMINS,
    HOSPITALS,
    OUTSIDERS,
    PARTITION_TARGETS,
    PRINCIPALS,
    STAFF_PARTS,
    TARGETS,
    Exchange,
    World,
    assert_no_leak,
    build_world,
    call,
    ok,
    unique,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def mworld() -> AsyncIterator[World]:
    base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    path = tempfile.mkdtemp(prefix="couchsync-iso-", dir=base)
    settings = Settings(data_dir=path, admin=":".join(ADMIN), bcrypt_rounds=4)
    srv = TestServer(create_app(settings))
    await srv.start_server()
    w = await build_world(srv)
    yield w
    await w.close()
    await srv.close()
    shutil.rmtree(path, ignore_errors=True)


Run = Callable[[World, str, str | None], Awaitable[Exchange]]
Check = Callable[[World, str, str | None, Exchange], None]


@dataclass(frozen=True)
class Endpoint:
    """``rule``: ``read`` / ``write`` (staff need the target readable / writable, else 403),
    ``member`` (every member gets ``ok``; the outcome per document is in ``check``), ``admin``
    (db admins only; staff 403). ``ok`` may be a set (e.g. 200 with no rows, or 403)."""

    run: Run
    rule: str
    ok: frozenset[int]
    targets: tuple[str | None, ...]
    check: Check | None = None
    denied: frozenset[int] = frozenset({403})


def expected(ep: Endpoint, principal: str, target: str | None) -> frozenset[int]:
    if principal == "anonymous":
        return frozenset({401})
    if principal in OUTSIDERS:
        return frozenset({403})
    if ep.rule == "member":
        return ep.ok
    if ep.rule == "admin":
        return ep.ok if principal in ADMINS else frozenset({403})
    assert target is not None
    allowed = World.visible(principal, target) if ep.rule == "read" else World.writable(principal, target)
    return ep.ok if allowed else ep.denied


def path_of(doc_id: str) -> str:
    return quote(doc_id, safe="/:")


# -- runners ---------------------------------------------------------------------------------------


def seed(w: World, t: str | None) -> Any:
    assert t is not None
    return w.seeds[t]


async def doc_get(w: World, p: str, t: str | None) -> Exchange:
    return await call(w.c(p), "GET", f"/{w.db}/{path_of(seed(w, t).id)}?revs=true&conflicts=true")


async def doc_get_attachments(w: World, p: str, t: str | None) -> Exchange:
    return await call(
        w.c(p),
        "GET",
        f"/{w.db}/{path_of(seed(w, t).id)}?attachments=true",
        headers={"Accept": "application/json"},
    )


async def doc_get_multipart(w: World, p: str, t: str | None) -> Exchange:
    return await call(
        w.c(p),
        "GET",
        f"/{w.db}/{path_of(seed(w, t).id)}?attachments=true",
        headers={"Accept": "multipart/related"},
    )


async def doc_put(w: World, p: str, t: str | None) -> Exchange:
    assert t is not None
    return await call(w.c(p), "PUT", f"/{w.db}/{path_of(w.new_id(t))}", json={"kind": "put"})


async def doc_post(w: World, p: str, t: str | None) -> Exchange:
    assert t is not None
    return await call(w.c(p), "POST", f"/{w.db}", json={"_id": w.new_id(t), "kind": "post"})


async def doc_update(w: World, p: str, t: str | None) -> Exchange:
    assert t is not None
    doc_id, rev = await w.fresh(t)
    return await call(w.c(p), "PUT", f"/{w.db}/{path_of(doc_id)}", json={"_rev": rev, "kind": "upd"})


async def doc_delete(w: World, p: str, t: str | None) -> Exchange:
    assert t is not None
    doc_id, rev = await w.fresh(t)
    return await call(w.c(p), "DELETE", f"/{w.db}/{path_of(doc_id)}?rev={rev}")


async def doc_copy(w: World, p: str, t: str | None) -> Exchange:
    """COPY the target into a new document of its own partition (a design doc into A), so the
    copy is visible to exactly whoever may read the source."""
    dest = w.new_id("A" if t == "design" else t or "", "copy")
    return await call(w.c(p), "COPY", f"/{w.db}/{path_of(seed(w, t).id)}", headers={"Destination": dest})


async def doc_copy_into(w: World, p: str, t: str | None) -> Exchange:
    """COPY an own (A) document into the target."""
    assert t is not None
    return await call(
        w.c(p), "COPY", f"/{w.db}/{path_of(w.seeds['A'].id)}", headers={"Destination": w.new_id(t, "copy")}
    )


async def open_revs_json(w: World, p: str, t: str | None) -> Exchange:
    return await call(
        w.c(p),
        "GET",
        f"/{w.db}/{path_of(seed(w, t).id)}?open_revs=all&revs=true",
        headers={"Accept": "application/json"},
    )


async def open_revs_multipart(w: World, p: str, t: str | None) -> Exchange:
    s = seed(w, t)
    revs = quote(orjson.dumps([s.rev]).decode())
    return await call(
        w.c(p),
        "GET",
        f"/{w.db}/{path_of(s.id)}?open_revs={revs}&revs=true&latest=true",
        headers={"Accept": "multipart/mixed"},
    )


async def att_get(w: World, p: str, t: str | None) -> Exchange:
    return await call(w.c(p), "GET", f"/{w.db}/{path_of(seed(w, t).id)}/note.txt")


async def att_put(w: World, p: str, t: str | None) -> Exchange:
    assert t is not None
    return await call(
        w.c(p),
        "PUT",
        f"/{w.db}/{path_of(w.new_id(t))}/file.txt",
        data=b"hello",
        headers={"Content-Type": "text/plain"},
    )


async def att_put_existing(w: World, p: str, t: str | None) -> Exchange:
    assert t is not None
    doc_id, rev = await w.fresh(t)
    return await call(
        w.c(p),
        "PUT",
        f"/{w.db}/{path_of(doc_id)}/file.txt?rev={rev}",
        data=b"hello",
        headers={"Content-Type": "text/plain"},
    )


async def bulk_get(w: World, p: str, t: str | None) -> Exchange:
    return await call(
        w.c(p),
        "POST",
        f"/{w.db}/_bulk_get?revs=true&attachments=true",
        json={"docs": [{"id": seed(w, t).id}]},
    )


async def bulk_get_rev(w: World, p: str, t: str | None) -> Exchange:
    s = seed(w, t)
    return await call(
        w.c(p), "POST", f"/{w.db}/_bulk_get?revs=true", json={"docs": [{"id": s.id, "rev": s.rev}]}
    )


FAKE_REV = "9-" + "f" * 32


async def revs_diff(w: World, p: str, t: str | None) -> Exchange:
    s = seed(w, t)
    return await call(w.c(p), "POST", f"/{w.db}/_revs_diff", json={s.id: [s.rev, FAKE_REV]})


async def missing_revs(w: World, p: str, t: str | None) -> Exchange:
    s = seed(w, t)
    return await call(w.c(p), "POST", f"/{w.db}/_missing_revs", json={s.id: [s.rev, FAKE_REV]})


async def bulk_docs(w: World, p: str, t: str | None) -> Exchange:
    assert t is not None
    return await call(
        w.c(p), "POST", f"/{w.db}/_bulk_docs", json={"docs": [{"_id": w.new_id(t), "kind": "bulk"}]}
    )


async def bulk_docs_update(w: World, p: str, t: str | None) -> Exchange:
    assert t is not None
    if t == "local":
        doc_id, rev = w.new_id(t), "0-1"
    else:
        doc_id, rev = await w.fresh(t)
    return await call(
        w.c(p), "POST", f"/{w.db}/_bulk_docs", json={"docs": [{"_id": doc_id, "_rev": rev, "v": 2}]}
    )


async def bulk_docs_replicated(w: World, p: str, t: str | None) -> Exchange:
    assert t is not None
    rev = "0-1" if t == "local" else "1-" + "a" * 32
    return await call(
        w.c(p),
        "POST",
        f"/{w.db}/_bulk_docs",
        json={"new_edits": False, "docs": [{"_id": w.new_id(t), "_rev": rev, "kind": "repl"}]},
    )


async def all_docs_keys(w: World, p: str, t: str | None) -> Exchange:
    return await call(
        w.c(p),
        "POST",
        f"/{w.db}/_all_docs?include_docs=true&attachments=true",
        json={"keys": [seed(w, t).id]},
    )


async def all_docs_keys_get(w: World, p: str, t: str | None) -> Exchange:
    keys = quote(orjson.dumps([seed(w, t).id]).decode())
    return await call(w.c(p), "GET", f"/{w.db}/_all_docs?include_docs=true&conflicts=true&keys={keys}")


async def changes_doc_ids(w: World, p: str, t: str | None) -> Exchange:
    return await call(
        w.c(p),
        "POST",
        f"/{w.db}/_changes?filter=_doc_ids&include_docs=true&attachments=true",
        json={"doc_ids": [seed(w, t).id]},
    )


async def changes_doc_ids_get(w: World, p: str, t: str | None) -> Exchange:
    ids = quote(orjson.dumps([seed(w, t).id]).decode())
    return await call(w.c(p), "GET", f"/{w.db}/_changes?filter=_doc_ids&include_docs=true&doc_ids={ids}")


async def local_get(w: World, p: str, t: str | None) -> Exchange:
    return await call(w.c(p), "GET", f"/{w.db}/_local/ck")


async def partition_info(w: World, p: str, t: str | None) -> Exchange:
    assert t is not None
    return await call(w.c(p), "GET", f"/{w.db}/_partition/{HOSPITALS[t]}")


async def partition_all_docs(w: World, p: str, t: str | None) -> Exchange:
    assert t is not None
    return await call(w.c(p), "GET", f"/{w.db}/_partition/{HOSPITALS[t]}/_all_docs?include_docs=true")


async def partition_all_docs_keys(w: World, p: str, t: str | None) -> Exchange:
    """Keys of the target asked under partition A."""
    return await call(
        w.c(p),
        "POST",
        f"/{w.db}/_partition/{HOSPITALS['A']}/_all_docs?include_docs=true",
        json={"keys": [seed(w, t).id]},
    )


async def all_docs(w: World, p: str, t: str | None) -> Exchange:
    return await call(w.c(p), "GET", f"/{w.db}/_all_docs?include_docs=true&attachments=true&conflicts=true")


async def all_docs_post(w: World, p: str, t: str | None) -> Exchange:
    return await call(w.c(p), "POST", f"/{w.db}/_all_docs", json={"include_docs": True})


async def all_docs_queries(w: World, p: str, t: str | None) -> Exchange:
    return await call(
        w.c(p),
        "POST",
        f"/{w.db}/_all_docs/queries",
        json={"queries": [{"include_docs": True}, {"descending": True, "include_docs": True}]},
    )


async def all_docs_range(w: World, p: str, t: str | None) -> Exchange:
    """A range covering B and C only."""
    return await call(
        w.c(p), "GET", f'/{w.db}/_all_docs?include_docs=true&start_key="HOSP-B"&end_key="HOSP-D"'
    )


async def design_docs(w: World, p: str, t: str | None) -> Exchange:
    return await call(w.c(p), "GET", f"/{w.db}/_design_docs?include_docs=true")


async def local_docs(w: World, p: str, t: str | None) -> Exchange:
    return await call(w.c(p), "GET", f"/{w.db}/_local_docs?include_docs=true")


async def changes_normal(w: World, p: str, t: str | None) -> Exchange:
    return await call(
        w.c(p), "GET", f"/{w.db}/_changes?include_docs=true&attachments=true&style=all_docs&conflicts=true"
    )


async def changes_post(w: World, p: str, t: str | None) -> Exchange:
    return await call(w.c(p), "POST", f"/{w.db}/_changes?include_docs=true", json={})


async def changes_descending(w: World, p: str, t: str | None) -> Exchange:
    return await call(w.c(p), "GET", f"/{w.db}/_changes?descending=true&include_docs=true&limit=1000")


async def changes_continuous(w: World, p: str, t: str | None) -> Exchange:
    return await call(w.c(p), "GET", f"/{w.db}/_changes?feed=continuous&timeout=50&include_docs=true")


async def changes_eventsource(w: World, p: str, t: str | None) -> Exchange:
    return await call(w.c(p), "GET", f"/{w.db}/_changes?feed=eventsource&timeout=50&include_docs=true")


async def changes_selector(w: World, p: str, t: str | None) -> Exchange:
    return await call(
        w.c(p),
        "POST",
        f"/{w.db}/_changes?filter=_selector&include_docs=true",
        json={"selector": {"marker": {"$exists": True}}},
    )


async def changes_design(w: World, p: str, t: str | None) -> Exchange:
    return await call(w.c(p), "GET", f"/{w.db}/_changes?filter=_design&include_docs=true")


async def changes_longpoll(w: World, p: str, t: str | None) -> Exchange:
    """``since=now`` longpoll with heartbeat; meanwhile the server admin writes into C, then A.
    Staff must get the A write only (never the C one); admins get the C write."""
    resp = await w.c(p).get(f"/{w.db}/_changes?feed=longpoll&since=now&heartbeat=50&include_docs=true")
    path = f"/{w.db}/_changes?feed=longpoll&since=now"
    if resp.status != 200:
        return Exchange("GET", path, b"", resp.status, await resp.read())
    await asyncio.sleep(0.03)
    c_id, a_id = w.new_id("C", "lp"), w.new_id("A", "lp")
    marker = f"MARKLONGPOLLC{unique()}"
    await ok(w.admin, "PUT", f"/{w.db}/{c_id}", 201, json={"marker": marker})
    await asyncio.sleep(0.12)  # a few heartbeats: the feed woke up for C and went back to sleep
    await ok(w.admin, "PUT", f"/{w.db}/{a_id}", 201, json={"kind": "lp"})
    body = await asyncio.wait_for(resp.read(), 10)
    ex = Exchange("GET", path, b"", resp.status, body)
    results = orjson.loads(body)["results"]
    ids = [r["id"] for r in results]
    if p in STAFF_PARTS:
        assert ids == [a_id], f"{p}: longpoll delivered {ids}, want only {a_id}"
        assert marker.encode() not in body
    else:
        assert c_id in ids, f"{p}: longpoll delivered {ids}"
    return ex


async def db_info(w: World, p: str, t: str | None) -> Exchange:
    return await call(w.c(p), "GET", f"/{w.db}")


async def db_head(w: World, p: str, t: str | None) -> Exchange:
    return await call(w.c(p), "HEAD", f"/{w.db}")


async def security_get(w: World, p: str, t: str | None) -> Exchange:
    return await call(w.c(p), "GET", f"/{w.db}/_security")


async def security_put(w: World, p: str, t: str | None) -> Exchange:
    current = await ok(w.admin, "GET", f"/{w.db}/_security", 200)
    return await call(w.c(p), "PUT", f"/{w.db}/_security", json=current)


async def compact(w: World, p: str, t: str | None) -> Exchange:
    return await call(w.c(p), "POST", f"/{w.db}/_compact", json={})


async def revs_limit_put(w: World, p: str, t: str | None) -> Exchange:
    return await call(
        w.c(p), "PUT", f"/{w.db}/_revs_limit", data=b"1000", headers={"Content-Type": "application/json"}
    )


# -- per-document outcome checks ------------------------------------------------------------------


def check_doc_body(w: World, p: str, t: str | None, ex: Exchange) -> None:
    assert seed(w, t).marker.encode() in ex.body, str(ex)


def check_att_body(w: World, p: str, t: str | None, ex: Exchange) -> None:
    assert ex.body == (seed(w, t).att_marker or "").encode(), str(ex)


def check_bulk_get(w: World, p: str, t: str | None, ex: Exchange) -> None:
    docs = ex.json()["results"][0]["docs"]
    assert len(docs) == 1, str(ex)
    if World.visible(p, t or ""):
        assert docs[0]["ok"]["marker"] == seed(w, t).marker, str(ex)
    else:
        assert docs[0]["error"]["error"] == "forbidden", str(ex)


def check_revs_diff(w: World, p: str, t: str | None, ex: Exchange) -> None:
    s = seed(w, t)
    body = ex.json()
    entry = body.get("missing_revs", body)
    missing = entry[s.id]["missing"] if "missing_revs" not in body else entry[s.id]
    if World.visible(p, t or ""):
        assert missing == [FAKE_REV], str(ex)
    else:  # another partition looks absent: every rev is missing, no ancestors named
        assert sorted(missing) == sorted([s.rev, FAKE_REV]), str(ex)
        assert "possible_ancestors" not in ex.json().get(s.id, {}), str(ex)


def check_bulk_docs(w: World, p: str, t: str | None, ex: Exchange) -> None:
    res = ex.json()
    assert len(res) == 1, str(ex)
    if World.writable(p, t or ""):
        assert res[0].get("ok") is True, str(ex)
    else:
        assert res[0]["error"] == "forbidden", str(ex)


def check_bulk_docs_replicated(w: World, p: str, t: str | None, ex: Exchange) -> None:
    res = ex.json()
    if World.writable(p, t or ""):
        assert res == [], str(ex)
    else:
        assert len(res) == 1 and res[0]["error"] == "forbidden", str(ex)


def check_all_docs_keys(w: World, p: str, t: str | None, ex: Exchange) -> None:
    rows = ex.json()["rows"]
    assert len(rows) == 1, str(ex)
    if World.visible(p, t or "") and t != "local":
        assert rows[0]["doc"]["marker"] == seed(w, t).marker, str(ex)
    else:
        assert rows[0] == {"key": seed(w, t).id, "error": "not_found"}, str(ex)


def check_partition_keys(w: World, p: str, t: str | None, ex: Exchange) -> None:
    rows = ex.json()["rows"]
    if t == "A":
        assert rows[0]["doc"]["marker"] == seed(w, t).marker, str(ex)
    else:  # outside the partition
        assert rows == [{"key": seed(w, t).id, "error": "not_found"}], str(ex)


def check_changes_doc_ids(w: World, p: str, t: str | None, ex: Exchange) -> None:
    ids = [r["id"] for r in ex.json()["results"]]
    if World.visible(p, t or "") and t != "local":
        assert ids == [seed(w, t).id], str(ex)
    else:
        assert ids == [], str(ex)


def check_partition_all_docs(w: World, p: str, t: str | None, ex: Exchange) -> None:
    rows = ex.json()["rows"]
    if World.visible(p, t or ""):
        assert seed(w, t).id in [r["id"] for r in rows], str(ex)
        assert all(r["id"].startswith(HOSPITALS[t or ""] + ":") for r in rows), str(ex)
    else:
        assert rows == [], str(ex)


def _listing_check(extract: Callable[[Any], list[str]], wanted: tuple[str, ...]) -> Check:
    """The ids listed are all readable by the principal, and every readable seed of ``wanted`` is there."""

    def check(w: World, p: str, t: str | None, ex: Exchange) -> None:
        ids = extract(ex)
        bad = [i for i in ids if not World.id_visible(p, i)]
        assert not bad, f"{p} sees {bad} in {ex}"
        for target in wanted:
            if World.visible(p, target):
                assert w.seeds[target].id in ids, f"{p} misses {target} in {ex}"

    return check


def _rows(ex: Exchange) -> list[str]:
    return [r["id"] for r in ex.json()["rows"]]


def _queries_rows(ex: Exchange) -> list[str]:
    return [r["id"] for res in ex.json()["results"] for r in res["rows"]]


def _results(ex: Exchange) -> list[str]:
    return [r["id"] for r in ex.json()["results"]]


def _lines(ex: Exchange) -> list[str]:
    out = []
    for line in ex.body.splitlines():
        line = line.strip()
        if line.startswith(b"data:"):
            line = line[5:].strip()
        if line.startswith(b"{"):
            row = orjson.loads(line)
            if "id" in row:
                out.append(row["id"])
    return out


def _status(*codes: int) -> frozenset[int]:
    return frozenset(codes)


DOC_TARGETS: tuple[str | None, ...] = TARGETS
NONLOCAL: tuple[str | None, ...] = ("A", "B", "C", "design")
PARTS: tuple[str | None, ...] = PARTITION_TARGETS
NONE: tuple[str | None, ...] = (None,)
SEEDS = ("A", "B", "C", "design")

ENDPOINTS: dict[str, Endpoint] = {
    # documents
    "doc_get": Endpoint(doc_get, "read", _status(200), DOC_TARGETS, check_doc_body),
    "doc_get_attachments": Endpoint(doc_get_attachments, "read", _status(200), NONLOCAL, check_doc_body),
    "doc_get_multipart": Endpoint(doc_get_multipart, "read", _status(200), NONLOCAL, check_doc_body),
    "doc_put": Endpoint(doc_put, "write", _status(201), DOC_TARGETS),
    "doc_post": Endpoint(doc_post, "write", _status(201), NONLOCAL),
    "doc_update": Endpoint(doc_update, "write", _status(201), DOC_TARGETS),
    "doc_delete": Endpoint(doc_delete, "write", _status(200), DOC_TARGETS),
    "doc_copy_from": Endpoint(doc_copy, "read", _status(201), NONLOCAL),
    "doc_copy_into": Endpoint(doc_copy_into, "write", _status(201), NONLOCAL),
    "open_revs_json": Endpoint(open_revs_json, "read", _status(200), NONLOCAL, check_doc_body),
    "open_revs_multipart": Endpoint(open_revs_multipart, "read", _status(200), NONLOCAL, check_doc_body),
    # attachments
    "att_get": Endpoint(att_get, "read", _status(200), NONLOCAL, check_att_body),
    "att_put_new_doc": Endpoint(att_put, "write", _status(201), NONLOCAL),
    "att_put_existing": Endpoint(att_put_existing, "write", _status(201), NONLOCAL),
    # replication
    "bulk_get": Endpoint(bulk_get, "member", _status(200), NONLOCAL, check_bulk_get),
    "bulk_get_rev": Endpoint(bulk_get_rev, "member", _status(200), NONLOCAL, check_bulk_get),
    "revs_diff": Endpoint(revs_diff, "member", _status(200), NONLOCAL, check_revs_diff),
    "missing_revs": Endpoint(missing_revs, "member", _status(200), NONLOCAL, check_revs_diff),
    "bulk_docs": Endpoint(bulk_docs, "member", _status(201), DOC_TARGETS, check_bulk_docs),
    "bulk_docs_update": Endpoint(bulk_docs_update, "member", _status(201), DOC_TARGETS, check_bulk_docs),
    "bulk_docs_replicated": Endpoint(
        bulk_docs_replicated, "member", _status(201), DOC_TARGETS, check_bulk_docs_replicated
    ),
    # listings by key
    "all_docs_keys": Endpoint(all_docs_keys, "member", _status(200), DOC_TARGETS, check_all_docs_keys),
    "all_docs_keys_get": Endpoint(
        all_docs_keys_get, "member", _status(200), DOC_TARGETS, check_all_docs_keys
    ),
    "changes_doc_ids": Endpoint(changes_doc_ids, "member", _status(200), DOC_TARGETS, check_changes_doc_ids),
    "changes_doc_ids_get": Endpoint(
        changes_doc_ids_get, "member", _status(200), DOC_TARGETS, check_changes_doc_ids
    ),
    # partitions
    "partition_info": Endpoint(partition_info, "read", _status(200), PARTS),
    "partition_all_docs": Endpoint(
        partition_all_docs, "read", _status(200), PARTS, check_partition_all_docs, denied=_status(200, 403)
    ),
    "partition_all_docs_keys": Endpoint(
        partition_all_docs_keys, "member", _status(200), PARTS, check_partition_keys
    ),
    # whole-database reads
    "all_docs": Endpoint(all_docs, "member", _status(200), NONE, _listing_check(_rows, SEEDS)),
    "all_docs_post": Endpoint(all_docs_post, "member", _status(200), NONE, _listing_check(_rows, SEEDS)),
    "all_docs_queries": Endpoint(
        all_docs_queries, "member", _status(200), NONE, _listing_check(_queries_rows, SEEDS)
    ),
    "all_docs_range": Endpoint(
        all_docs_range, "member", _status(200), NONE, _listing_check(_rows, ("B", "C"))
    ),
    "design_docs": Endpoint(design_docs, "member", _status(200), NONE, _listing_check(_rows, ("design",))),
    "local_docs": Endpoint(local_docs, "member", _status(200), NONE, _listing_check(_rows, ("local",))),
    "local_get": Endpoint(local_get, "member", _status(200), NONE),
    "changes_normal": Endpoint(changes_normal, "member", _status(200), NONE, _listing_check(_results, SEEDS)),
    "changes_post": Endpoint(changes_post, "member", _status(200), NONE, _listing_check(_results, SEEDS)),
    "changes_descending": Endpoint(
        changes_descending, "member", _status(200), NONE, _listing_check(_results, SEEDS)
    ),
    "changes_continuous": Endpoint(
        changes_continuous, "member", _status(200), NONE, _listing_check(_lines, SEEDS)
    ),
    "changes_eventsource": Endpoint(
        changes_eventsource, "member", _status(200), NONE, _listing_check(_lines, SEEDS)
    ),
    "changes_selector": Endpoint(
        changes_selector, "member", _status(200), NONE, _listing_check(_results, SEEDS)
    ),
    "changes_design": Endpoint(
        changes_design, "member", _status(200), NONE, _listing_check(_results, ("design",))
    ),
    "changes_longpoll": Endpoint(changes_longpoll, "member", _status(200), NONE),
    # database level
    "db_info": Endpoint(db_info, "member", _status(200), NONE),
    "db_head": Endpoint(db_head, "member", _status(200), NONE),
    "security_get": Endpoint(security_get, "member", _status(200), NONE),
    "security_put": Endpoint(security_put, "admin", _status(200), NONE),
    "compact": Endpoint(compact, "admin", _status(202), NONE),
    "revs_limit_put": Endpoint(revs_limit_put, "admin", _status(200), NONE),
}

CASES = [
    pytest.param(name, principal, target, id=f"{name}-{principal}-{target or 'db'}")
    for name, ep in ENDPOINTS.items()
    for principal in PRINCIPALS
    for target in ep.targets
]


@pytest.mark.parametrize(("endpoint", "principal", "target"), CASES)
async def test_isolation(mworld: World, endpoint: str, principal: str, target: str | None) -> None:
    ep = ENDPOINTS[endpoint]
    ex = await ep.run(mworld, principal, target)
    want = expected(ep, principal, target)
    assert ex.status in want, f"want {sorted(want)}: {ex}"
    assert_no_leak(mworld, principal, ex, endpoint)
    if ex.status >= 400 and ex.method != "HEAD":
        err = ex.json()
        assert err["error"] == {401: "unauthorized", 403: "forbidden"}[ex.status], str(ex)
    elif ep.check is not None and ex.status in ep.ok:
        ep.check(mworld, principal, target, ex)


async def test_matrix_covers_every_principal_and_target() -> None:
    """The table itself: every principal, and each of own partition / other partition / design /
    _local wherever an endpoint takes a document."""
    assert set(PRINCIPALS) == {
        "anonymous",
        "other_staff",
        "other_admin",
        "staff_a",
        "staff_ab",
        "tenant_admin",
        "server_admin",
    }
    assert {t for ep in ENDPOINTS.values() for t in ep.targets} == {*TARGETS, None}
    assert len(CASES) > 700


@pytest.mark.parametrize("principal", ["staff_a", "staff_ab", "other_staff", "anonymous"])
async def test_no_existence_oracle(mworld: World, principal: str) -> None:
    """A forbidden document that exists and one that does not look the same: same status, same
    body (the id aside), so nobody can probe another partition (or tenant) for ids."""
    w, c = mworld, mworld.c(principal)
    real, absent = w.seeds["C"].id, f"{HOSPITALS['C']}:no-such-doc"
    rev = w.seeds["C"].rev

    async def probes(doc_id: str) -> list[tuple[int, bytes]]:
        out = []
        for method, path, body in [
            ("GET", f"/{w.db}/{doc_id}", None),
            ("HEAD", f"/{w.db}/{doc_id}", None),
            ("GET", f"/{w.db}/{doc_id}?open_revs=all", None),
            ("GET", f"/{w.db}/{doc_id}/note.txt", None),
            ("PUT", f"/{w.db}/{doc_id}", {"_rev": rev}),
            ("DELETE", f"/{w.db}/{doc_id}?rev={rev}", None),
            ("POST", f"/{w.db}/_bulk_get", {"docs": [{"id": doc_id}]}),
            ("POST", f"/{w.db}/_revs_diff", {doc_id: [rev]}),
            ("POST", f"/{w.db}/_all_docs", {"keys": [doc_id]}),
            ("POST", f"/{w.db}/_changes?filter=_doc_ids", {"doc_ids": [doc_id]}),
            ("POST", f"/{w.db}/_bulk_docs", {"docs": [{"_id": doc_id, "_rev": rev}]}),
        ]:
            ex = await call(c, method, path, json=body)
            out.append((ex.status, ex.body.replace(doc_id.encode(), b"ID")))
        return out

    a, b = await probes(real), await probes(absent)
    for (sa, ba), (sb, bb) in zip(a, b, strict=True):
        assert sa == sb
        if b'"last_seq"' not in ba:  # _changes carries seqs that move with other tests' writes
            assert ba == bb
