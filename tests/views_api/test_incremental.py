"""Incremental index updates, the index signature (``_info``) and ``_view_cleanup``.

Case sources:
  REF   /work/shared/reference/couchdb-protocol.md §4.4 (map runs on the winning revision of every
        non-deleted, non-design doc; ``_info`` shape), issue 4 "Server view engine" (signature of
        the view code: an unrelated ddoc edit does not rebuild; stale rows removed through a
        back-index; ``_view_cleanup`` drops unused indexes)
  MRST  CouchDB couch_mrview_util.erl ``ddoc_to_mrst`` (signature = md5 of views, language,
        design options and lib, nothing else of the ddoc)
  CLN   CouchDB docs src/docs/src/api/database/compact.rst ``POST /{db}/_view_cleanup`` (202
        ``{"ok": true}``, admin only)
"""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from .conftest import bulk, call, err, ok, put_ddoc, view

MAP = (
    "function (doc) { if (doc.tags) { for (var i = 0; i < doc.tags.length; i++) emit(doc.tags[i], doc.n); } }"
)
DDOC: dict[str, Any] = {"views": {"tags": {"map": MAP}, "count": {"map": MAP, "reduce": "_count"}}}


def rows(res: dict[str, Any]) -> list[tuple[Any, str, Any]]:
    return [(r["key"], r["id"], r["value"]) for r in res["rows"]]


async def info(c: TestClient, db: str, ddoc: str = "i") -> dict[str, Any]:
    return dict((await ok(c, "GET", f"/{db}/_design/{ddoc}/_info"))["view_index"])


async def seq_int(c: TestClient, db: str) -> int:
    return int(str((await ok(c, "GET", f"/{db}"))["update_seq"]).split("-")[0])


async def test_rows_follow_edits_deletes_and_recreation(client: TestClient, db: str) -> None:
    await bulk(
        client,
        db,
        [
            {"_id": "a", "tags": ["x", "y"], "n": 1},
            {"_id": "b", "tags": ["y"], "n": 2},
            {"_id": "c", "tags": ["z"], "n": 3},
        ],
    )
    await put_ddoc(client, db, "i", DDOC)
    assert rows(await view(client, db, "i", "tags")) == [
        ("x", "a", 1),
        ("y", "a", 1),
        ("y", "b", 2),
        ("z", "c", 3),
    ]

    # edit: a emits fewer and different rows (its stale "x"/"y" rows go away)
    a = await ok(client, "GET", f"/{db}/a")
    await ok(client, "PUT", f"/{db}/a", 201, json={**a, "tags": ["w"], "n": 10})
    # edit: b stops emitting altogether
    b = await ok(client, "GET", f"/{db}/b")
    await ok(client, "PUT", f"/{db}/b", 201, json={"_id": "b", "_rev": b["_rev"], "n": 2})
    assert rows(await view(client, db, "i", "tags")) == [("w", "a", 10), ("z", "c", 3)]

    # delete c; its row goes
    c = await ok(client, "GET", f"/{db}/c")
    await ok(client, "DELETE", f"/{db}/c?rev={c['_rev']}", 200)
    res = await view(client, db, "i", "tags")
    assert rows(res) == [("w", "a", 10)] and res["total_rows"] == 1

    # re-create c (new doc over the tombstone) and give b tags again
    await ok(client, "PUT", f"/{db}/c", 201, json={"tags": ["z", "z"], "n": 30})
    b = await ok(client, "GET", f"/{db}/b")
    await ok(client, "PUT", f"/{db}/b", 201, json={**b, "tags": ["a"]})
    res = await view(client, db, "i", "tags")
    assert rows(res) == [("a", "b", 2), ("w", "a", 10), ("z", "c", 30), ("z", "c", 30)]
    assert (await view(client, db, "i", "count", {"group": True}))["rows"] == [
        {"key": "a", "value": 1},
        {"key": "w", "value": 1},
        {"key": "z", "value": 2},
    ]
    # many small increments in a row, each query sees exactly the latest state
    for n in range(5):
        cur = await ok(client, "GET", f"/{db}/a")
        await ok(client, "PUT", f"/{db}/a", 201, json={**cur, "tags": [f"t{n}"], "n": n})
        assert [r for r in rows(await view(client, db, "i", "tags")) if r[1] == "a"] == [(f"t{n}", "a", n)]


async def test_deleting_every_doc_empties_the_view(client: TestClient, db: str) -> None:
    res = await bulk(client, db, [{"_id": f"d{i}", "tags": ["t"], "n": i} for i in range(30)])
    await put_ddoc(client, db, "i", DDOC)
    assert (await view(client, db, "i", "tags"))["total_rows"] == 30
    await bulk(client, db, [{"_id": r["id"], "_rev": r["rev"], "_deleted": True} for r in res])
    res2 = await view(client, db, "i", "tags")
    assert res2["rows"] == [] and res2["total_rows"] == 0
    assert (await view(client, db, "i", "count"))["rows"] == []


async def test_view_indexes_the_winning_revision(client: TestClient, db: str) -> None:
    """REF §4.4: the map runs on the winning revision; when the winner is deleted, the other
    branch's revision becomes the one indexed."""
    await bulk(
        client,
        db,
        [
            {"_id": "k", "_rev": "1-aaaa", "tags": ["loser"], "n": 1},
            {"_id": "k", "_rev": "1-bbbb", "tags": ["winner"], "n": 2},
        ],
        new_edits=False,
    )
    await put_ddoc(client, db, "i", DDOC)
    assert rows(await view(client, db, "i", "tags")) == [("winner", "k", 2)]
    await ok(client, "DELETE", f"/{db}/k?rev=1-bbbb", 200)
    assert rows(await view(client, db, "i", "tags")) == [("loser", "k", 1)]


async def test_design_docs_are_not_mapped_unless_include_design(client: TestClient, db: str) -> None:
    """REF §4.4: design docs are indexed only with ``options.include_design``."""
    await ok(client, "PUT", f"/{db}/plain", 201, json={"tags": ["p"], "n": 1})
    await put_ddoc(client, db, "i", {**DDOC, "tags": ["from-ddoc"], "n": 0})
    assert rows(await view(client, db, "i", "tags")) == [("p", "plain", 1)]
    await put_ddoc(
        client, db, "inc", {**DDOC, "tags": ["from-ddoc"], "n": 0, "options": {"include_design": True}}
    )
    got = rows(await view(client, db, "inc", "tags"))
    assert ("from-ddoc", "_design/inc", 0) in got and ("from-ddoc", "_design/i", 0) in got


async def test_info_shape_and_seq(client: TestClient, db: str) -> None:
    """REF §4.4: ``GET /{db}/_design/{ddoc}/_info``."""
    await bulk(client, db, [{"_id": f"d{i}", "tags": ["t"], "n": i} for i in range(5)])
    await put_ddoc(client, db, "i", DDOC)
    body = await ok(client, "GET", f"/{db}/_design/i/_info")
    assert body["name"] == "i"
    vi = body["view_index"]
    for member in (
        "signature",
        "language",
        "sizes",
        "update_seq",
        "purge_seq",
        "updater_running",
        "compact_running",
        "waiting_clients",
        "waiting_commit",
    ):
        assert member in vi, member
    assert vi["language"] == "javascript"
    assert isinstance(vi["signature"], str) and len(vi["signature"]) == 32
    int(vi["signature"], 16)
    assert vi["update_seq"] == 0  # not built yet
    await view(client, db, "i", "tags")
    assert (await info(client, db))["update_seq"] == await seq_int(client, db)
    err(await call(client, "GET", f"/{db}/_design/nope/_info"), 404, "not_found", "missing")


UNRELATED_EDITS: list[tuple[str, dict[str, Any]]] = [
    ("show function", {"shows": {"s": "function (doc, req) { return 'hi'; }"}}),
    ("update function", {"updates": {"u": "function (doc, req) { return [null, 'ok']; }"}}),
    ("filter", {"filters": {"f": "function (doc, req) { return true; }"}}),
    ("validate_doc_update", {"validate_doc_update": "function (n, o, u, s) { }"}),
    ("other member", {"meta": {"owner": "someone"}}),
]


@pytest.mark.parametrize(("what", "extra"), UNRELATED_EDITS, ids=[c[0] for c in UNRELATED_EDITS])
async def test_unrelated_ddoc_edit_keeps_the_index(
    client: TestClient, db: str, what: str, extra: dict[str, Any]
) -> None:
    """MRST: the signature only covers views/language/options/lib; the built index stays."""
    await bulk(client, db, [{"_id": f"d{i}", "tags": ["t"], "n": i} for i in range(5)])
    await put_ddoc(client, db, "i", DDOC)
    await view(client, db, "i", "tags")
    before = await info(client, db)
    await ok(client, "PUT", f"/{db}/late", 201, json={"tags": ["late"], "n": 9})
    await put_ddoc(client, db, "i", {**DDOC, **extra})
    after = await info(client, db)
    assert after["signature"] == before["signature"], what
    assert after["update_seq"] == before["update_seq"] > 0, what
    # the existing index still answers (no rebuild from scratch): update=false sees the old rows
    res = await view(client, db, "i", "tags", {"update": "false"})
    assert res["total_rows"] == 5 and "late" not in [r["id"] for r in res["rows"]]


SIGNATURE_EDITS: list[tuple[str, dict[str, Any]]] = [
    ("map", {"views": {"tags": {"map": MAP.replace("doc.n", "doc.n * 2")}, "count": DDOC["views"]["count"]}}),
    ("reduce", {"views": {"tags": DDOC["views"]["tags"], "count": {"map": MAP, "reduce": "_sum"}}}),
    ("new view", {"views": {**DDOC["views"], "more": {"map": "function (doc) { emit(1, 1); }"}}}),
    ("options", {"options": {"include_design": True}}),
    ("lib", {"views": {**DDOC["views"], "lib": {"x": "exports.x = 1;"}}}),
]


@pytest.mark.parametrize(("what", "body"), SIGNATURE_EDITS, ids=[c[0] for c in SIGNATURE_EDITS])
async def test_view_edit_changes_the_signature_and_rebuilds(
    client: TestClient, db: str, what: str, body: dict[str, Any]
) -> None:
    """MRST: changing what determines the rows gives a new signature and a fresh index."""
    await bulk(client, db, [{"_id": f"d{i}", "tags": ["t"], "n": i} for i in range(5)])
    await put_ddoc(client, db, "i", DDOC)
    await view(client, db, "i", "tags")
    before = await info(client, db)
    await put_ddoc(client, db, "i", {**DDOC, **body})
    after = await info(client, db)
    assert after["signature"] != before["signature"], what
    assert after["update_seq"] == 0, what
    res = await view(client, db, "i", "tags", {"update": "false"})
    assert res["rows"] == [], what
    res = await view(client, db, "i", "tags")
    assert res["total_rows"] == 5, what
    if what == "map":
        assert [r["value"] for r in res["rows"]] == [0, 2, 4, 6, 8]
    assert (await info(client, db))["update_seq"] == await seq_int(client, db)


async def test_same_views_in_two_ddocs_share_nothing_but_answer_alike(client: TestClient, db: str) -> None:
    await bulk(client, db, [{"_id": f"d{i}", "tags": ["t", f"u{i}"], "n": i} for i in range(4)])
    await put_ddoc(client, db, "i", DDOC)
    await put_ddoc(client, db, "j", DDOC)
    assert await view(client, db, "i", "tags") == await view(client, db, "j", "tags")
    # deleting one ddoc leaves the other working
    rev = (await ok(client, "GET", f"/{db}/_design/i"))["_rev"]
    await ok(client, "DELETE", f"/{db}/_design/i?rev={rev}", 200)
    assert (await view(client, db, "j", "tags"))["total_rows"] == 8


async def test_view_cleanup_drops_unused_indexes(client: TestClient, db: str) -> None:
    """CLN: ``_view_cleanup`` (202) removes indexes whose signature no design doc has. Observable:
    switching a ddoc back to an old map finds the old index only if it was not cleaned up."""
    await bulk(client, db, [{"_id": f"d{i}", "tags": ["t"], "n": i} for i in range(3)])
    map2 = {"views": {"tags": {"map": MAP.replace("doc.n", "-doc.n")}}}
    # index A (DDOC) built, then the ddoc moves to map2 (index B) and more docs arrive
    await put_ddoc(client, db, "i", DDOC)
    await view(client, db, "i", "tags")
    sig_a = (await info(client, db))["signature"]
    await put_ddoc(client, db, "i", map2)
    await view(client, db, "i", "tags")
    await ok(client, "PUT", f"/{db}/late", 201, json={"tags": ["t"], "n": 7})

    # without cleanup, going back to DDOC reuses the old (stale) index A
    await put_ddoc(client, db, "i", DDOC)
    kept = await info(client, db)
    assert kept["signature"] == sig_a and kept["update_seq"] > 0
    assert (await view(client, db, "i", "tags", {"update": "false"}))["total_rows"] == 3

    # map2 again, clean up (A is unused now), back to DDOC: A is gone, rebuilt from scratch
    await put_ddoc(client, db, "i", map2)
    res = await ok(client, "POST", f"/{db}/_view_cleanup", 202, json={})
    assert res == {"ok": True}
    await put_ddoc(client, db, "i", DDOC)
    fresh = await info(client, db)
    assert fresh["signature"] == sig_a and fresh["update_seq"] == 0
    assert (await view(client, db, "i", "tags", {"update": "false"}))["rows"] == []
    assert (await view(client, db, "i", "tags"))["total_rows"] == 4

    # the index in use survives a cleanup; deleting the ddoc then cleaning drops it
    await ok(client, "POST", f"/{db}/_view_cleanup", 202, json={})
    assert (await info(client, db))["update_seq"] > 0
    rev = (await ok(client, "GET", f"/{db}/_design/i"))["_rev"]
    await ok(client, "DELETE", f"/{db}/_design/i?rev={rev}", 200)
    await ok(client, "POST", f"/{db}/_view_cleanup", 202, json={})
    await put_ddoc(client, db, "i", DDOC)
    assert (await info(client, db))["update_seq"] == 0


async def test_view_cleanup_needs_a_db_admin(client: TestClient, anon: TestClient, db: str) -> None:
    """CLN: admin only; anonymous → 401."""
    err(await call(anon, "POST", f"/{db}/_view_cleanup", json={}), 401, "unauthorized")
