"""Compaction (``_compact``) and purge (``_purge``, ``_purged_infos``, ``_purged_infos_limit``).

Sources: protocol reference §4.1, §2.7; CouchDB ``chttpd_db.erl`` (``handle_compact_req``,
``db_req`` ``_purge``/``_purged_infos_limit``, ``purge_results_to_json``), ``couch_db_updater.erl``
(``purge_docs``), ``couch_bt_engine_compactor.erl`` (non-leaf bodies are not copied); DOCS
``api/database/compact.rst``, ``api/database/misc.rst`` (purge); CouchDB test
``test/elixir/test/purge_test.exs``.
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from couchsync.api.context import STATE

JSON = {"Content-Type": "application/json"}


async def _put(client: TestClient, db: str, doc_id: str, body: dict[str, Any]) -> str:
    r = await client.put(f"/{db}/{doc_id}", json=body)
    assert r.status == 201, await r.text()
    return str((await r.json())["rev"])


async def _compact(client: TestClient, db: str) -> None:
    """``POST _compact`` and wait until ``compact_running`` is false again."""
    r = await client.post(f"/{db}/_compact", json={})
    assert r.status == 202
    assert await r.json() == {"ok": True}
    for _ in range(200):
        info = await (await client.get(f"/{db}")).json()
        if not info["compact_running"]:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("compaction did not finish")


async def _conflicted(client: TestClient, db: str, doc_id: str) -> tuple[str, str, str]:
    """A doc with ``1-a`` and two children ``2-b`` (replicated) and ``2-…`` (interactive).

    Returns ``(rev1, interactive leaf, replicated leaf)``.
    """
    rev1 = await _put(client, db, doc_id, {"v": 1})
    leaf_a = await _put(client, db, doc_id, {"_rev": rev1, "v": 2})
    other = "2-" + "b" * 32
    r = await client.post(
        f"/{db}/_bulk_docs",
        json={
            "new_edits": False,
            "docs": [
                {
                    "_id": doc_id,
                    "_rev": other,
                    "_revisions": {"start": 2, "ids": ["b" * 32, rev1.split("-")[1]]},
                    "v": "other",
                }
            ],
        },
    )
    assert r.status == 201 and await r.json() == []
    return rev1, leaf_a, other


async def _ids(client: TestClient, path: str) -> list[str]:
    body = await (await client.get(path)).json()
    return [row["id"] for row in body["rows" if "rows" in body else "results"]]


# -- _compact ------------------------------------------------------------------------------------


async def test_compact_drops_non_leaf_bodies(client: TestClient, db: str) -> None:
    """After compaction a non-leaf revision's body is gone: ``GET ?rev=<old>`` → 404 "missing";
    the rev tree (``_revisions``) is intact and ``_revs_info`` reports it ``missing``."""
    rev1 = await _put(client, db, "d", {"v": 1})
    rev2 = await _put(client, db, "d", {"_rev": rev1, "v": 2})
    rev3 = await _put(client, db, "d", {"_rev": rev2, "v": 3})
    assert (await client.get(f"/{db}/d?rev={rev1}")).status == 200
    await _compact(client, db)
    for old in (rev1, rev2):
        r = await client.get(f"/{db}/d?rev={old}")
        assert r.status == 404
        assert await r.json() == {"error": "not_found", "reason": "missing"}
    doc = await (await client.get(f"/{db}/d?revs=true&revs_info=true")).json()
    assert doc["_rev"] == rev3 and doc["v"] == 3
    assert doc["_revisions"]["start"] == 3 and len(doc["_revisions"]["ids"]) == 3
    assert [i["status"] for i in doc["_revs_info"]] == ["available", "missing", "missing"]
    assert (await client.get(f"/{db}/d?rev={rev3}")).status == 200


async def test_compact_keeps_every_leaf(client: TestClient, db: str) -> None:
    """Conflict leaves and deleted leaves (tombstones) are kept; only their ancestors go."""
    rev1, leaf_a, leaf_b = await _conflicted(client, db, "c")
    t1 = await _put(client, db, "gone", {"x": 1})
    r = await client.delete(f"/{db}/gone?rev={t1}")
    tomb = (await r.json())["rev"]
    await _compact(client, db)
    assert (await client.get(f"/{db}/c?rev={rev1}")).status == 404
    assert (await (await client.get(f"/{db}/c?rev={leaf_a}")).json())["v"] == 2
    assert (await (await client.get(f"/{db}/c?rev={leaf_b}")).json())["v"] == "other"
    doc = await (await client.get(f"/{db}/c?conflicts=true")).json()
    assert len(doc["_conflicts"]) == 1
    assert await (await client.get(f"/{db}/gone?rev={tomb}")).json() == {
        "_id": "gone",
        "_rev": tomb,
        "_deleted": True,
    }
    assert (await client.get(f"/{db}/gone?rev={t1}")).status == 404


async def test_compact_preserves_counters_and_changes(client: TestClient, db: str) -> None:
    for i in range(3):
        rev = await _put(client, db, f"d{i}", {"i": i})
        await _put(client, db, f"d{i}", {"_rev": rev, "i": i + 10})
    before = await (await client.get(f"/{db}")).json()
    changes = await (await client.get(f"/{db}/_changes")).json()
    await _compact(client, db)
    after = await (await client.get(f"/{db}")).json()
    for key in ("doc_count", "doc_del_count", "update_seq", "purge_seq"):
        assert after[key] == before[key], key
    assert await (await client.get(f"/{db}/_changes")).json() == changes


async def _blob_count(server: TestServer, db: str) -> int:
    database = await server.app[STATE].registry.get(db)
    rows = await database.read("SELECT count(*) FROM attachments")
    return int(rows[0][0])


async def test_compact_removes_blobs_of_dead_revisions(
    client: TestClient, server: TestServer, db: str
) -> None:
    """Attachment blobs only referenced by non-leaf revisions (here: the revision before a delete,
    and one replaced by an update) are removed; a blob still referenced by a leaf stays."""

    def att(data: bytes) -> dict[str, Any]:
        return {"a.txt": {"content_type": "text/plain", "data": base64.b64encode(data).decode()}}

    r1 = await _put(client, db, "deleted", {"_attachments": att(b"only in a deleted doc")})
    assert (await client.delete(f"/{db}/deleted?rev={r1}")).status == 200
    r2 = await _put(client, db, "updated", {"_attachments": att(b"first version")})
    await _put(client, db, "updated", {"_rev": r2, "_attachments": att(b"second version")})
    await _put(client, db, "kept", {"_attachments": att(b"kept forever")})
    assert await _blob_count(server, db) == 4
    await _compact(client, db)
    assert await _blob_count(server, db) == 2
    r = await client.get(f"/{db}/updated/a.txt")
    assert r.status == 200 and await r.read() == b"second version"
    r = await client.get(f"/{db}/kept/a.txt")
    assert r.status == 200 and await r.read() == b"kept forever"


async def test_compact_keeps_blob_shared_with_a_leaf(client: TestClient, server: TestServer, db: str) -> None:
    """Blobs are content-addressed: a blob of a dead revision that a live leaf also uses stays."""
    data = base64.b64encode(b"shared").decode()
    att = {"s.txt": {"content_type": "text/plain", "data": data}}
    r1 = await _put(client, db, "x", {"_attachments": att})
    assert (await client.delete(f"/{db}/x?rev={r1}")).status == 200
    await _put(client, db, "y", {"_attachments": att})
    await _compact(client, db)
    assert await _blob_count(server, db) == 1
    assert await (await client.get(f"/{db}/y/s.txt")).read() == b"shared"


async def test_compact_is_repeatable(client: TestClient, db: str) -> None:
    rev = await _put(client, db, "d", {})
    await _put(client, db, "d", {"_rev": rev})
    await _compact(client, db)
    await _compact(client, db)
    assert (await client.get(f"/{db}/d")).status == 200


@pytest.mark.parametrize("headers", [{"Content-Type": "text/plain"}, {}])
async def test_compact_requires_json_content_type(
    client: TestClient, db: str, headers: dict[str, str]
) -> None:
    """handle_compact_req: ``chttpd:validate_ctype(Req, "application/json")`` → 415."""
    r = await client.post(
        f"/{db}/_compact", data=b"", headers=headers, skip_auto_headers=[] if headers else ["Content-Type"]
    )
    assert r.status == 415
    assert await r.json() == {"error": "bad_content_type", "reason": "Content-Type must be application/json"}


async def test_compact_missing_db(client: TestClient) -> None:
    r = await client.post("/nosuchdb/_compact", json={})
    assert r.status == 404
    assert await r.json() == {"error": "not_found", "reason": "Database does not exist."}


# -- _purge --------------------------------------------------------------------------------------


async def _purge(client: TestClient, db: str, body: dict[str, Any]) -> dict[str, Any]:
    r = await client.post(f"/{db}/_purge", json=body)
    assert r.status == 201, await r.text()
    out = await r.json()
    assert out["purge_seq"] is None
    return dict(out["purged"])


async def test_purge_only_leaf(client: TestClient, db: str) -> None:
    """Purging a doc's only leaf removes the doc entirely: GET 404, gone from ``_all_docs`` and
    ``_changes``, ``doc_count`` down, ``purge_seq`` up (reference §4.1)."""
    rev = await _put(client, db, "a", {"x": 1})
    await _put(client, db, "b", {})
    before = await (await client.get(f"/{db}")).json()
    assert await _purge(client, db, {"a": [rev]}) == {"a": [rev]}
    r = await client.get(f"/{db}/a")
    assert r.status == 404 and await r.json() == {"error": "not_found", "reason": "missing"}
    assert await _ids(client, f"/{db}/_all_docs") == ["b"]
    assert await _ids(client, f"/{db}/_changes") == ["b"]
    info = await (await client.get(f"/{db}")).json()
    assert info["doc_count"] == before["doc_count"] - 1
    assert int(info["purge_seq"].split("-")[0]) == 1
    # the id is free again: a new document starts over at generation 1
    assert (await _put(client, db, "a", {"x": 2})).startswith("1-")


@pytest.mark.parametrize(
    ("body", "purged"),
    [
        ({"nosuch": ["1-" + "a" * 32]}, {"nosuch": []}),
        ({"d": ["9-" + "a" * 32]}, {"d": []}),  # unknown rev
        ({"d": []}, {"d": []}),
    ],
)
async def test_purge_nothing_to_purge(
    client: TestClient, db: str, body: dict[str, Any], purged: dict[str, Any]
) -> None:
    await _put(client, db, "d", {})
    assert await _purge(client, db, body) == purged
    assert (await client.get(f"/{db}/d")).status == 200


async def test_purge_ignores_non_leaf_revs(client: TestClient, db: str) -> None:
    """Only leaf revisions are purged; an ancestor rev is ignored (couch_db_updater purge_docs)."""
    rev1 = await _put(client, db, "d", {"v": 1})
    rev2 = await _put(client, db, "d", {"_rev": rev1, "v": 2})
    assert await _purge(client, db, {"d": [rev1]}) == {"d": []}
    assert (await (await client.get(f"/{db}/d")).json())["_rev"] == rev2
    info = await (await client.get(f"/{db}")).json()
    assert int(info["purge_seq"].split("-")[0]) == 0


async def test_purge_one_conflict_leaf(client: TestClient, db: str) -> None:
    """Purging one leaf of a conflicted doc leaves the other as the only leaf; the doc gets a
    new ``_changes`` entry (reference §4.1: "a partial purge creates a new _changes entry")."""
    _rev1, leaf_a, leaf_b = await _conflicted(client, db, "c")
    await _put(client, db, "later", {})
    before = await (await client.get(f"/{db}/_changes")).json()
    seq_before = {row["id"]: row["seq"] for row in before["results"]}
    loser = (
        min(leaf_a, leaf_b)
        if (await (await client.get(f"/{db}/c")).json())["_rev"] == max(leaf_a, leaf_b)
        else max(leaf_a, leaf_b)
    )
    assert await _purge(client, db, {"c": [loser]}) == {"c": [loser]}
    doc = await (await client.get(f"/{db}/c?conflicts=true")).json()
    assert "_conflicts" not in doc
    assert doc["_rev"] != loser
    after = await (await client.get(f"/{db}/_changes?since={before['last_seq']}")).json()
    assert [row["id"] for row in after["results"]] == ["c"]
    full = await (await client.get(f"/{db}/_changes?style=all_docs")).json()
    assert [row["id"] for row in full["results"]] == ["later", "c"]
    assert full["results"][1]["changes"] == [{"rev": doc["_rev"]}]
    assert int(full["results"][1]["seq"].split("-")[0]) > int(seq_before["later"].split("-")[0])
    assert (await (await client.get(f"/{db}")).json())["doc_count"] == 2


async def test_purge_winner_promotes_other_leaf(client: TestClient, db: str) -> None:
    _rev1, leaf_a, leaf_b = await _conflicted(client, db, "c")
    winner = (await (await client.get(f"/{db}/c")).json())["_rev"]
    other = leaf_b if winner == leaf_a else leaf_a
    assert await _purge(client, db, {"c": [winner]}) == {"c": [winner]}
    assert (await (await client.get(f"/{db}/c")).json())["_rev"] == other


async def test_purge_all_leaves(client: TestClient, db: str) -> None:
    """Purging every leaf removes the doc from ``_all_docs`` and ``_changes`` (reference §4.1)."""
    _rev1, leaf_a, leaf_b = await _conflicted(client, db, "c")
    assert await _purge(client, db, {"c": [leaf_a, leaf_b]}) == {"c": [leaf_a, leaf_b]}
    assert (await client.get(f"/{db}/c")).status == 404
    assert await _ids(client, f"/{db}/_all_docs") == []
    assert await _ids(client, f"/{db}/_changes?style=all_docs") == []
    body = await (await client.get(f"/{db}")).json()
    assert body["doc_count"] == 0 and body["doc_del_count"] == 0


async def test_purge_tombstone(client: TestClient, db: str) -> None:
    rev = await _put(client, db, "d", {})
    tomb = (await (await client.delete(f"/{db}/d?rev={rev}")).json())["rev"]
    assert (await (await client.get(f"/{db}")).json())["doc_del_count"] == 1
    assert await _purge(client, db, {"d": [tomb]}) == {"d": [tomb]}
    info = await (await client.get(f"/{db}")).json()
    assert info["doc_del_count"] == 0 and info["doc_count"] == 0
    assert await _ids(client, f"/{db}/_changes") == []


async def test_purge_several_docs_and_purged_infos(client: TestClient, db: str) -> None:
    """``_purged_infos`` lists ``{"id","revs"}`` in purge order."""
    ra = await _put(client, db, "a", {})
    rb = await _put(client, db, "b", {})
    rc = await _put(client, db, "c", {})
    assert await _purge(client, db, {"a": [ra], "b": [rb]}) == {"a": [ra], "b": [rb]}
    assert await _purge(client, db, {"c": [rc]}) == {"c": [rc]}
    r = await client.get(f"/{db}/_purged_infos")
    assert r.status == 200
    assert (await r.json())["purged_infos"] == [
        {"id": "a", "revs": [ra]},
        {"id": "b", "revs": [rb]},
        {"id": "c", "revs": [rc]},
    ]
    info = await (await client.get(f"/{db}")).json()
    assert int(info["purge_seq"].split("-")[0]) == 3


async def test_purged_infos_empty(client: TestClient, db: str) -> None:
    assert (await (await client.get(f"/{db}/_purged_infos")).json())["purged_infos"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"d": "1-" + "a" * 32},  # not a list
        {"d": [1]},
        {"d": ["not-a-rev"]},  # couch_doc:parse_revs → 400 "Invalid rev format"
        {"d": ["x-" + "a" * 32]},
    ],
)
async def test_purge_bad_body(client: TestClient, db: str, body: dict[str, Any]) -> None:
    await _put(client, db, "d", {})
    r = await client.post(f"/{db}/_purge", json=body)
    assert r.status == 400
    assert (await r.json())["error"] == "bad_request"
    assert (await client.get(f"/{db}/d")).status == 200


async def test_purge_limits(client: TestClient, db: str) -> None:
    """``[purge] max_document_id_number`` (100) and ``max_revisions_number`` (1000) (chttpd_db)."""
    r = await client.post(f"/{db}/_purge", json={f"d{i}": [] for i in range(101)})
    assert r.status == 400
    assert await r.json() == {"error": "bad_request", "reason": "Exceeded maximum number of documents."}
    revs = [f"1-{i:032x}" for i in range(1001)]
    r = await client.post(f"/{db}/_purge", json={"d": revs})
    assert r.status == 400
    assert await r.json() == {"error": "bad_request", "reason": "Exceeded maximum number of revisions."}


# -- _purged_infos_limit -------------------------------------------------------------------------


async def test_purged_infos_limit(client: TestClient, db: str) -> None:
    r = await client.get(f"/{db}/_purged_infos_limit")
    assert r.status == 200
    assert await r.json() == 1000
    r = await client.put(f"/{db}/_purged_infos_limit", data="5", headers=JSON)
    assert r.status == 200
    assert await r.json() == {"ok": True}
    assert await (await client.get(f"/{db}/_purged_infos_limit")).json() == 5


@pytest.mark.parametrize("raw", ["0", "-3", '"5"', "2.5", "null", "{}"])
async def test_purged_infos_limit_bad_values(client: TestClient, db: str, raw: str) -> None:
    """Not a positive integer → 400 "`purge_infos_limit` must be positive integer" (chttpd_db)."""
    r = await client.put(f"/{db}/_purged_infos_limit", data=raw, headers=JSON)
    assert r.status == 400
    assert await r.json() == {
        "error": "bad_request",
        "reason": "`purge_infos_limit` must be positive integer",
    }
