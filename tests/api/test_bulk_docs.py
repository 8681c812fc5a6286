"""``POST /{db}/_bulk_docs``: interactive (``new_edits`` true) and replicated (``new_edits:false``)
writes, stemming at ``_revs_limit``.

Sources: protocol reference §1.10, §2.3–§2.6, §7.5–7, §7.25, §7.32 ("ref §x"); CouchDB
``chttpd_db.erl`` (``db_req`` ``_bulk_docs``, ``validate_revs``, ``update_doc_result_to_json``),
``couch_db_updater.erl`` (``merge_rev_trees``), ``couch_key_tree.erl`` (``merge``, ``stem``).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from couchsync.settings import Settings

from .helpers import err, ok, rid

CONFLICT = "Document update conflict."


def path(start: int, *ids: str) -> dict[str, Any]:
    return {"start": start, "ids": [rid(c) for c in ids]}


def rdoc(doc_id: str, start: int, *ids: str, **body: Any) -> dict[str, Any]:
    """A replicated doc: leaf ``start-ids[0]`` with its ``_revisions`` path."""
    return {"_id": doc_id, "_rev": f"{start}-{rid(ids[0])}", "_revisions": path(start, *ids), **body}


async def bulk(client: TestClient, db: str, docs: list[Any], **extra: Any) -> Any:
    return await ok(await client.post(f"/{db}/_bulk_docs", json={"docs": docs, **extra}), 201)


async def replicate(client: TestClient, db: str, docs: list[dict[str, Any]]) -> None:
    assert await bulk(client, db, docs, new_edits=False) == []


async def info(client: TestClient, db: str) -> dict[str, Any]:
    return await ok(await client.get(f"/{db}"))


async def get(client: TestClient, db: str, doc_id: str, query: str = "") -> dict[str, Any]:
    return await ok(await client.get(f"/{db}/{doc_id}{query}"))


# -- interactive ------------------------------------------------------------------------------------


async def test_interactive_results_in_order(client: TestClient, db: str) -> None:
    """ref §1.10: 201, one ``{"ok":true,"id","rev"}`` per doc in request order; docs without ``_id``
    get distinct server UUIDs."""
    res = await bulk(client, db, [{"_id": "b", "v": 1}, {"v": 2}, {"_id": "a"}, {"v": 3}])
    assert [r["id"] for r in res][::2] == ["b", "a"]
    assert all(
        r["ok"] is True and re.fullmatch(r"1-[0-9a-f]{32}", r["rev"]) and set(r) == {"ok", "id", "rev"}
        for r in res
    )
    uuids = [res[1]["id"], res[3]["id"]]
    assert all(re.fullmatch(r"[0-9a-f]{32}", u) for u in uuids) and uuids[0] != uuids[1]
    assert (await get(client, db, uuids[0]))["v"] == 2
    assert (await info(client, db))["doc_count"] == 4


async def test_interactive_per_doc_conflicts(client: TestClient, db: str) -> None:
    """ref §1.10, §2.4 / chttpd_db update_doc_result_to_json: a failing doc gets
    ``{"id","error":"conflict","reason":"Document update conflict."}``; the others are written."""
    r1 = (await bulk(client, db, [{"_id": "a", "v": 1}]))[0]["rev"]
    r2 = (await bulk(client, db, [{"_id": "a", "_rev": r1, "v": 2}]))[0]["rev"]
    res = await bulk(
        client,
        db,
        [
            {"_id": "a", "v": "no rev"},
            {"_id": "new"},
            {"_id": "a", "_rev": r1, "v": "stale"},
            {"_id": "nope", "_rev": f"1-{rid('a')}"},
            {"_id": "a", "_rev": r2, "_deleted": True},
        ],
    )
    assert res[0] == {"id": "a", "error": "conflict", "reason": CONFLICT}
    assert res[1]["ok"] is True
    assert res[2] == {"id": "a", "error": "conflict", "reason": CONFLICT}
    assert res[3] == {"id": "nope", "error": "conflict", "reason": CONFLICT}
    assert res[4]["ok"] is True and res[4]["rev"].startswith("3-")
    await err(await client.get(f"/{db}/a"), 404, "not_found", "deleted")


async def test_interactive_multiple_versions_of_one_doc(client: TestClient, db: str) -> None:
    """couch_db_updater merge_rev_trees: versions of one doc in one request apply in order, so the
    second create — or a second edit of the same parent — is a conflict."""
    res = await bulk(client, db, [{"_id": "a", "v": 1}, {"_id": "a", "v": 2}])
    assert res[0]["ok"] is True and res[1] == {"id": "a", "error": "conflict", "reason": CONFLICT}
    r1 = res[0]["rev"]
    res = await bulk(client, db, [{"_id": "a", "_rev": r1, "v": 3}, {"_id": "a", "_rev": r1, "v": 4}])
    assert res[0]["ok"] is True and res[1] == {"id": "a", "error": "conflict", "reason": CONFLICT}
    assert (await get(client, db, "a"))["v"] == 3


async def test_interactive_recreate_deleted(client: TestClient, db: str) -> None:
    """ref §2.4: no ``_rev`` on a deleted doc recreates it at tombstone pos + 1."""
    r1 = (await bulk(client, db, [{"_id": "a"}]))[0]["rev"]
    tomb = (await bulk(client, db, [{"_id": "a", "_rev": r1, "_deleted": True}]))[0]["rev"]
    res = await bulk(client, db, [{"_id": "a", "v": 2}])
    assert res[0]["rev"].startswith("3-")
    assert (await get(client, db, "a", "?revs=true"))["_revisions"]["ids"][1] == tomb[2:]


async def test_design_docs_per_doc_for_anonymous(client: TestClient, anon: TestClient, db: str) -> None:
    """ref §1.10, §7.23: on a public db, design docs from a non-admin fail per doc (``unauthorized``
    for anonymous), in both modes; the other docs are written."""
    r = await client.put(
        f"/{db}/_security", json={"admins": {"names": [], "roles": []}, "members": {"names": [], "roles": []}}
    )
    await ok(r)
    res = await ok(
        await anon.post(f"/{db}/_bulk_docs", json={"docs": [{"_id": "_design/x"}, {"_id": "plain"}]}), 201
    )
    assert res[0] == {
        "id": "_design/x",
        "error": "unauthorized",
        "reason": "You are not a db or server admin.",
    }
    assert res[1]["ok"] is True
    r = await anon.post(
        f"/{db}/_bulk_docs",
        json={"new_edits": False, "docs": [rdoc("_design/y", 1, "a"), rdoc("plain2", 1, "a")]},
    )
    assert await ok(r, 201) == [
        {
            "id": "_design/y",
            "rev": f"1-{rid('a')}",
            "error": "unauthorized",
            "reason": "You are not a db or server admin.",
        }
    ]
    await err(await client.get(f"/{db}/_design/y"), 404, "not_found", "missing")
    assert (await get(client, db, "plain2"))["_rev"] == f"1-{rid('a')}"


# -- whole-request errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "error", "reason"),
    [
        pytest.param({}, 400, "bad_request", "POST body must include `docs` parameter.", id="no-docs"),
        pytest.param(
            {"docs": {"a": 1}}, 400, "bad_request", "`docs` parameter must be an array.", id="docs-object"
        ),
        pytest.param(
            {"docs": "x"}, 400, "bad_request", "`docs` parameter must be an array.", id="docs-string"
        ),
        pytest.param(
            {"docs": [], "new_edits": "false"},
            400,
            "bad_request",
            "`new_edits` parameter must be a boolean.",
            id="new-edits-string",
        ),
        pytest.param(
            {"docs": [], "new_edits": 0},
            400,
            "bad_request",
            "`new_edits` parameter must be a boolean.",
            id="new-edits-int",
        ),
        pytest.param(
            [{"_id": "a"}], 400, "bad_request", "Request body must be a JSON object", id="body-array"
        ),
        pytest.param(
            {"docs": [{"_id": "ok"}, 5]},
            400,
            "bad_request",
            "Document must be a JSON object",
            id="doc-not-object",
        ),
        pytest.param(
            {"docs": [{"_id": "ok"}, {"_id": "_foo"}]},
            400,
            "illegal_docid",
            "Only reserved document ids may start with underscore.",
            id="illegal-docid",
        ),
        pytest.param(
            {"docs": [{"_id": "ok"}, {"_id": ""}]},
            400,
            "illegal_docid",
            "Document id must not be empty",
            id="empty-docid",
        ),
        pytest.param(
            {"docs": [{"_id": "ok"}, {"_id": "b", "_bad": 1}]},
            400,
            "doc_validation",
            "Bad special document member: _bad",
            id="bad-special",
        ),
        pytest.param(
            {"docs": [{"_id": "ok"}, {"_id": "b", "_rev": "nope"}]},
            400,
            "bad_request",
            "Invalid rev format",
            id="bad-rev",
        ),
        pytest.param(
            {"new_edits": False, "docs": [rdoc("ok", 1, "a"), {"_id": "b"}]},
            400,
            "bad_request",
            "When `new_edits: false`, the document needs `_rev` or `_revisions` specified",
            id="replicated-without-rev",
        ),
        pytest.param(
            {"new_edits": False, "docs": [rdoc("ok", 1, "a"), {"_id": "b", "_revisions": {"start": 1}}]},
            400,
            "doc_validation",
            "_revisions.ids isn't a array.",
            id="replicated-bad-revisions",
        ),
    ],
)
async def test_whole_request_errors(
    client: TestClient, db: str, body: Any, status: int, error: str, reason: str
) -> None:
    """ref §1.10 / chttpd_db ``_bulk_docs``: these fail the whole request and write nothing."""
    await err(await client.post(f"/{db}/_bulk_docs", json=body), status, error, reason)
    assert (await info(client, db))["doc_count"] == 0


async def test_content_type_and_json(client: TestClient, db: str) -> None:
    """ref §0: ``_bulk_docs`` requires ``application/json`` (415) and valid JSON (400)."""
    r = await client.post(f"/{db}/_bulk_docs", data=b'{"docs":[]}', headers={"Content-Type": "text/html"})
    await err(r, 415, "bad_content_type", "Content-Type must be application/json")
    r = await client.post(
        f"/{db}/_bulk_docs", data=b'{"docs":[', headers={"Content-Type": "application/json"}
    )
    await err(r, 400, "bad_request", "invalid UTF-8 JSON")
    await err(await client.get(f"/{db}/_bulk_docs"), 405, "method_not_allowed")


# -- new_edits=false --------------------------------------------------------------------------------------


async def test_replicated_returns_empty_and_is_idempotent(client: TestClient, db: str) -> None:
    """ref §1.10, §7.5: success → ``[]``; the same batch again → ``[]`` and ``update_seq`` unchanged."""
    docs = [rdoc("a", 2, "b", "a", v=1), rdoc("b", 1, "c", v=2), rdoc("c", 3, "f", "e", "d", _deleted=True)]
    await replicate(client, db, docs)
    first = await info(client, db)
    assert (first["doc_count"], first["doc_del_count"]) == (2, 1)
    await replicate(client, db, docs)
    assert await info(client, db) == first
    body = await get(client, db, "a", "?revs=true")
    assert body == {"_id": "a", "_rev": f"2-{rid('b')}", "v": 1, "_revisions": path(2, "b", "a")}


async def test_replicated_known_rev_is_a_no_op(client: TestClient, db: str) -> None:
    """ref §1.10: a rev already stored (a leaf, or an internal node with its body) is silently
    accepted, no new seq."""
    await replicate(client, db, [rdoc("a", 2, "b", "a", v=2)])
    await replicate(client, db, [rdoc("a", 3, "c", "b", "a", v=3)])
    seq = (await info(client, db))["update_seq"]
    await replicate(client, db, [rdoc("a", 2, "b", "a", v=2), {"_id": "a", "_rev": f"3-{rid('c')}", "v": 3}])
    assert (await info(client, db))["update_seq"] == seq
    assert (await get(client, db, "a"))["_rev"] == f"3-{rid('c')}"


async def test_replicated_fills_missing_ancestor_body(client: TestClient, db: str) -> None:
    """couch_key_tree value_pref: an incoming body replaces a "missing" placeholder of the same rev
    (known only by id from ``_revisions``); the leaf is unchanged."""
    await replicate(client, db, [rdoc("a", 2, "b", "a", v=2)])
    await err(await client.get(f"/{db}/a?rev=1-{rid('a')}"), 404, "not_found", "missing")
    await replicate(client, db, [rdoc("a", 1, "a", v=1)])
    assert (await get(client, db, "a", f"?rev=1-{rid('a')}"))["v"] == 1
    body = await get(client, db, "a", "?revs_info=true")
    assert body["_rev"] == f"2-{rid('b')}"
    assert [i["status"] for i in body["_revs_info"]] == ["available", "available"]


@pytest.mark.parametrize(
    ("docs", "winner", "conflicts", "deleted_conflicts"),
    [
        pytest.param(
            [rdoc("a", 2, "b", "a"), rdoc("a", 2, "c", "a")],
            "2-c",
            ["2-b"],
            [],
            id="siblings-greater-revid-wins",
        ),
        pytest.param(
            [rdoc("a", 3, "a", "d", "a"), rdoc("a", 2, "f", "a")],
            "3-a",
            ["2-f"],
            [],
            id="higher-pos-beats-revid",
        ),
        pytest.param(
            [rdoc("a", 3, "c", "b", "a", _deleted=True), rdoc("a", 2, "d", "a")],
            "2-d",
            [],
            ["3-c"],
            id="live-beats-longer-deleted",
        ),  # ref §7.7
        pytest.param(
            [rdoc("a", 1, "a"), {"_id": "a", "_rev": f"5-{rid('e')}"}],
            "5-e",
            ["1-a"],
            [],
            id="rev-only-is-a-disconnected-root",
        ),  # ref §2.5
        pytest.param(
            [rdoc("a", 2, "b", "a"), rdoc("a", 2, "c", "a"), rdoc("a", 3, "d", "c", "a", _deleted=True)],
            "2-b",
            [],
            ["3-d"],
            id="deleting-the-winner-branch",
        ),
    ],
)
async def test_replicated_conflicts_and_winner(
    client: TestClient,
    db: str,
    docs: list[dict[str, Any]],
    winner: str,
    conflicts: list[str],
    deleted_conflicts: list[str],
) -> None:
    """ref §2.3, §2.5, §7.6: replicated siblings become conflicts; the winner is chosen by (not deleted,
    pos, revid); versions of one doc in one request merge in order."""

    def full(rev: str) -> str:
        pos, c = rev.split("-")
        return f"{pos}-{rid(c)}"

    await replicate(client, db, docs)
    body = await get(client, db, "a", "?conflicts=true&deleted_conflicts=true")
    assert body["_rev"] == full(winner)
    assert body.get("_conflicts", []) == [full(r) for r in conflicts]
    assert body.get("_deleted_conflicts", []) == [full(r) for r in deleted_conflicts]
    assert (await info(client, db))["doc_count"] == 1


async def test_replicated_extends_interactive_doc(client: TestClient, db: str) -> None:
    """ref §2.5: a path whose ancestor is the current leaf extends it (``new_leaf``), no conflict."""
    r1 = (await bulk(client, db, [{"_id": "a", "v": 1}]))[0]["rev"]
    await replicate(
        client,
        db,
        [
            {
                "_id": "a",
                "_rev": f"2-{rid('b')}",
                "_revisions": {"start": 2, "ids": [rid("b"), r1[2:]]},
                "v": 2,
            }
        ],
    )
    body = await get(client, db, "a", "?conflicts=true")
    assert body == {"_id": "a", "_rev": f"2-{rid('b')}", "v": 2}


async def test_replicated_revisions_win_over_rev(client: TestClient, db: str) -> None:
    """couch_doc transfer_fields / ref §1.10: "If both are present ``_revisions`` wins"."""
    await replicate(client, db, [{"_id": "a", "_rev": f"1-{rid('a')}", "_revisions": path(3, "c", "b", "a")}])
    assert (await get(client, db, "a"))["_rev"] == f"3-{rid('c')}"


async def test_replicated_tombstone_counts(client: TestClient, db: str) -> None:
    """ref §2.3: a doc whose only leaf is deleted counts in ``doc_del_count`` and GETs 404 deleted."""
    await replicate(client, db, [rdoc("a", 1, "a"), rdoc("a", 2, "b", "a", _deleted=True)])
    i = await info(client, db)
    assert (i["doc_count"], i["doc_del_count"]) == (0, 1)
    await err(await client.get(f"/{db}/a"), 404, "not_found", "deleted")


# -- stemming ------------------------------------------------------------------------------------------------


async def test_revs_limit_stemming(client: TestClient, db: str) -> None:
    """ref §2.6, §7.32: ``_revs_limit`` 3 and 5 edits → ``_revisions.ids`` has 3 ids, ``start`` 5; the
    stemmed ``1-…`` is reported missing by ``_revs_diff`` (and its body is gone)."""
    await ok(await client.put(f"/{db}/_revs_limit", data=b"3", headers={"Content-Type": "application/json"}))
    revs = [(await bulk(client, db, [{"_id": "a", "n": 0}]))[0]["rev"]]
    for n in range(1, 5):
        revs.append((await bulk(client, db, [{"_id": "a", "_rev": revs[-1], "n": n}]))[0]["rev"])
    body = await get(client, db, "a", "?revs=true&revs_info=true")
    assert body["_revisions"] == {"start": 5, "ids": [r[2:] for r in reversed(revs[2:])]}
    assert [i["rev"] for i in body["_revs_info"]] == list(reversed(revs[2:]))
    r = await client.post(f"/{db}/_revs_diff", json={"a": [revs[0], revs[2], revs[4]]})
    assert await ok(r) == {"a": {"missing": [revs[0]]}}
    await err(await client.get(f"/{db}/a?rev={revs[0]}"), 404, "not_found", "missing")


async def test_revs_limit_stems_replicated_history(client: TestClient, db: str) -> None:
    """ref §2.6: a replicated path longer than the limit is stemmed; presenting the stemmed revs again
    re-merges them as history (then stemmed again)."""
    await ok(await client.put(f"/{db}/_revs_limit", data=b"2", headers={"Content-Type": "application/json"}))
    await replicate(client, db, [rdoc("a", 4, "d", "c", "b", "a")])
    assert (await get(client, db, "a", "?revs=true"))["_revisions"] == path(4, "d", "c")
    await replicate(client, db, [rdoc("a", 5, "e", "d", "c", "b", "a")])
    body = await get(client, db, "a", "?revs=true&conflicts=true")
    assert body["_revisions"] == path(5, "e", "d") and "_conflicts" not in body


class TestBulkDocsTooLarge:
    """ref §1.10, §3.5: a doc over ``max_document_size`` fails the whole request with 413
    ``document_too_large`` (reason: its id)."""

    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return dataclasses.replace(settings, max_document_size=1000)

    @pytest.mark.parametrize("new_edits", [True, False])
    async def test_too_large(self, client: TestClient, db: str, new_edits: bool) -> None:
        docs = [rdoc("small", 1, "a"), rdoc("big", 1, "b", x="a" * 2000)]
        r = await client.post(f"/{db}/_bulk_docs", json={"docs": docs, "new_edits": new_edits})
        await err(r, 413, "document_too_large", "big")
        assert (await info(client, db))["doc_count"] == 0
