"""``POST /{db}/_bulk_get``: what PouchDB's replicator (and CouchDB's) fetch after ``_revs_diff``.

Sources: protocol reference §1.7, §7.2–3 ("ref §x"); CouchDB ``chttpd_db.erl`` (``db_req``
``_bulk_get``, ``bulk_get_parse_arg``, ``bulk_get_parse_doc_id``, ``bulk_get_parse_revs``,
``bulk_get_parse_atts_since``, ``bulk_get_docs``, ``validate_query_param``).
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from .helpers import err, ok, rdoc, rev, rid


async def replicate(client: TestClient, db: str, docs: list[dict[str, Any]]) -> None:
    r = await client.post(f"/{db}/_bulk_docs", json={"docs": docs, "new_edits": False})
    assert await ok(r, 201) == []


async def bulk_get(client: TestClient, db: str, docs: Any, query: str = "") -> list[dict[str, Any]]:
    body = await ok(await client.post(f"/{db}/_bulk_get{query}", json={"docs": docs}))
    assert list(body) == ["results"]
    return body["results"]


@pytest.fixture
async def tree(client: TestClient, db: str) -> str:
    """Doc ``a``: 1-a → 2-b → 3-c (winner) and 1-a → 2-d; doc ``gone``: 1-a → 2-b (deleted)."""
    await replicate(
        client,
        db,
        [
            rdoc("a", 1, "a", v="a"),
            rdoc("a", 2, "b", "a", v="b"),
            rdoc("a", 3, "c", "b", "a", v="c"),
            rdoc("a", 2, "d", "a", v="d"),
            rdoc("gone", 1, "a"),
            rdoc("gone", 2, "b", "a", _deleted=True),
        ],
    )
    return db


def missing(doc_id: Any, r: Any) -> dict[str, Any]:
    """ref §1.7: the per-entry error for a rev that cannot be read."""
    return {"error": {"id": doc_id, "rev": r, "error": "not_found", "reason": "missing"}}


async def test_results_in_request_order(client: TestClient, tree: str) -> None:
    """ref §1.7: one result per entry, in request order, duplicates not merged;
    ``{"id","docs":[{"ok":doc}]}``."""
    res = await bulk_get(
        client,
        tree,
        [{"id": "a", "rev": rev(2, "d")}, {"id": "a", "rev": rev(3, "c")}, {"id": "a", "rev": rev(2, "d")}],
    )
    assert res == [
        {"id": "a", "docs": [{"ok": {"_id": "a", "_rev": rev(2, "d"), "v": "d"}}]},
        {"id": "a", "docs": [{"ok": {"_id": "a", "_rev": rev(3, "c"), "v": "c"}}]},
        {"id": "a", "docs": [{"ok": {"_id": "a", "_rev": rev(2, "d"), "v": "d"}}]},
    ]


async def test_revs_true(client: TestClient, tree: str) -> None:
    """ref §1.7: ``revs=true`` adds ``_revisions`` (PouchDB always sends it)."""
    res = await bulk_get(client, tree, [{"id": "a", "rev": rev(3, "c")}], "?revs=true")
    assert res[0]["docs"][0]["ok"]["_revisions"] == {"start": 3, "ids": [rid("c"), rid("b"), rid("a")]}


async def test_old_rev_without_latest(client: TestClient, tree: str) -> None:
    """Without ``latest`` an internal rev whose body is stored is returned as such."""
    res = await bulk_get(client, tree, [{"id": "a", "rev": rev(2, "b")}])
    assert res[0]["docs"] == [{"ok": {"_id": "a", "_rev": rev(2, "b"), "v": "b"}}]


@pytest.mark.parametrize(
    ("requested", "leaves"),
    [
        pytest.param(rev(2, "b"), [rev(3, "c")], id="superseded-to-its-leaf"),
        pytest.param(rev(1, "a"), [rev(3, "c"), rev(2, "d")], id="branch-point-to-both-leaves"),
        pytest.param(rev(3, "c"), [rev(3, "c")], id="leaf-is-itself"),
    ],
)
async def test_latest(client: TestClient, tree: str, requested: str, leaves: list[str]) -> None:
    """ref §1.7, §7.2: with ``latest=true`` a non-leaf rev resolves to the leaf (leaves) below it."""
    res = await bulk_get(client, tree, [{"id": "a", "rev": requested}], "?revs=true&latest=true")
    assert res[0]["id"] == "a"
    assert sorted(d["ok"]["_rev"] for d in res[0]["docs"]) == sorted(leaves)


async def test_latest_after_concurrent_update(client: TestClient, db: str) -> None:
    """ref §7.2: the rev ``_changes`` reported was updated before the fetch: ``latest`` returns the new
    leaf, not an error."""
    r1 = (await ok(await client.put(f"/{db}/x", json={"v": 1}), 201))["rev"]
    r2 = (await ok(await client.put(f"/{db}/x", json={"_rev": r1, "v": 2}), 201))["rev"]
    await ok(await client.post(f"/{db}/_compact", json={}), 202)
    res = await bulk_get(client, db, [{"id": "x", "rev": r1}], "?revs=true&latest=true")
    assert res[0]["docs"][0]["ok"]["_rev"] == r2 and res[0]["docs"][0]["ok"]["v"] == 2


async def test_no_rev_returns_all_leaves(client: TestClient, tree: str) -> None:
    """ref §1.7: an entry without ``rev`` gets every leaf (deleted ones included) like ``open_revs=all``;
    a deleted doc comes back as ``{"_id","_rev","_deleted":true}``."""
    res = await bulk_get(client, tree, [{"id": "a"}, {"id": "gone"}])
    assert sorted(d["ok"]["_rev"] for d in res[0]["docs"]) == [rev(2, "d"), rev(3, "c")]
    assert res[1] == {"id": "gone", "docs": [{"ok": {"_id": "gone", "_rev": rev(2, "b"), "_deleted": True}}]}


async def test_attachments(client: TestClient, db: str) -> None:
    """ref §1.7: stubs by default; ``attachments=true`` → inline base64 ``data``; a per-entry
    ``atts_since`` inlines only attachments newer than those revs (chttpd_db bulk_get_parse_atts_since)."""
    r1 = (
        await ok(
            await client.put(f"/{db}/d/old.txt", data=b"old", headers={"Content-Type": "text/plain"}), 201
        )
    )["rev"]
    r2 = (
        await ok(
            await client.put(
                f"/{db}/d/new.txt?rev={r1}", data=b"new", headers={"Content-Type": "text/plain"}
            ),
            201,
        )
    )["rev"]
    res = await bulk_get(client, db, [{"id": "d", "rev": r2}])
    atts = res[0]["docs"][0]["ok"]["_attachments"]
    assert atts["old.txt"] == {
        "content_type": "text/plain",
        "revpos": 1,
        "digest": atts["old.txt"]["digest"],
        "length": 3,
        "stub": True,
    }
    res = await bulk_get(client, db, [{"id": "d", "rev": r2}], "?attachments=true")
    atts = res[0]["docs"][0]["ok"]["_attachments"]
    assert {n: base64.b64decode(a["data"]) for n, a in atts.items()} == {"old.txt": b"old", "new.txt": b"new"}
    res = await bulk_get(client, db, [{"id": "d", "rev": r2, "atts_since": [r1]}])
    atts = res[0]["docs"][0]["ok"]["_attachments"]
    assert atts["old.txt"].get("stub") is True and base64.b64decode(atts["new.txt"]["data"]) == b"new"


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        pytest.param(
            {"id": "a", "rev": rev(9, "f")},
            {"id": "a", "docs": [missing("a", rev(9, "f"))]},
            id="unknown-rev",
        ),
        pytest.param(
            {"id": "nope", "rev": rev(1, "a")},
            {"id": "nope", "docs": [missing("nope", rev(1, "a"))]},
            id="unknown-doc-with-rev",
        ),
        pytest.param(
            {"id": "nope"},
            {"id": "nope", "docs": [missing("nope", "undefined")]},
            id="unknown-doc-without-rev",
        ),  # chttpd_db bulk_get_rev_error(all)
        pytest.param(
            "a",
            {
                "id": None,
                "docs": [
                    {
                        "error": {
                            "id": None,
                            "rev": None,
                            "error": "bad_request",
                            "reason": "document must be a JSON object",
                        }
                    }
                ],
            },
            id="entry-not-object",
        ),
        pytest.param(
            {"rev": rev(1, "a")},
            {
                "id": None,
                "docs": [
                    {
                        "error": {
                            "id": None,
                            "rev": None,
                            "error": "bad_request",
                            "reason": "document id missed",
                        }
                    }
                ],
            },
            id="missing-id",
        ),
        pytest.param(
            {"id": "_foo"},
            {
                "id": "_foo",
                "docs": [
                    {
                        "error": {
                            "id": "_foo",
                            "rev": None,
                            "error": "illegal_docid",
                            "reason": "Only reserved document ids may start with underscore.",
                        }
                    }
                ],
            },
            id="illegal-id",
        ),
        pytest.param(
            {"id": 5},
            {
                "id": 5,
                "docs": [
                    {
                        "error": {
                            "id": 5,
                            "rev": None,
                            "error": "illegal_docid",
                            "reason": "Document id must be a string",
                        }
                    }
                ],
            },
            id="non-string-id",
        ),
        pytest.param(
            {"id": "a", "rev": "bogus"},
            {
                "id": "a",
                "docs": [
                    {
                        "error": {
                            "id": "a",
                            "rev": "bogus",
                            "error": "bad_request",
                            "reason": "Invalid rev format",
                        }
                    }
                ],
            },
            id="bad-rev",
        ),
        pytest.param(
            {"id": "a", "rev": rev(3, "c"), "atts_since": "x"},
            {
                "id": "a",
                "docs": [
                    {
                        "error": {
                            "id": "a",
                            "rev": "x",
                            "error": "bad_request",
                            "reason": "att_since value must be array of revs.",
                        }
                    }
                ],
            },
            id="bad-atts-since",
        ),
    ],
)
async def test_per_entry_errors(client: TestClient, tree: str, entry: Any, expected: dict[str, Any]) -> None:
    """ref §1.7 / chttpd_db bulk_get_parse_*: a bad entry gets a per-entry error, never a failed
    request; the good entries around it are still served."""
    good = {"id": "a", "docs": [{"ok": {"_id": "a", "_rev": rev(3, "c"), "v": "c"}}]}
    res = await bulk_get(
        client, tree, [{"id": "a", "rev": rev(3, "c")}, entry, {"id": "a", "rev": rev(3, "c")}]
    )
    assert res == [good, expected, good]


async def test_empty_docs(client: TestClient, db: str) -> None:
    assert await bulk_get(client, db, []) == []


@pytest.mark.parametrize("param", ["rev", "open_revs", "atts_since", "new_edits", "w"])
async def test_refused_query_params(client: TestClient, db: str, param: str) -> None:
    """chttpd_db validate_query_param (ref §1.7) → 400 ``"\\"<p>\\" query parameter is not acceptable"``."""
    r = await client.post(f"/{db}/_bulk_get?{param}=x", json={"docs": []})
    await err(r, 400, "bad_request", f'"{param}" query parameter is not acceptable')


@pytest.mark.parametrize(
    ("body", "status", "error", "reason"),
    [
        pytest.param({}, 400, "bad_request", "Missing JSON list of 'docs'.", id="no-docs"),
        pytest.param({"docs": None}, 400, "bad_request", "Missing JSON list of 'docs'.", id="docs-null"),
        pytest.param([], 400, "bad_request", "Request body must be a JSON object", id="body-array"),
    ],
)
async def test_request_errors(
    client: TestClient, db: str, body: Any, status: int, error: str, reason: str
) -> None:
    """chttpd_db ``_bulk_get``: ``json_body_obj`` and "Missing JSON list of 'docs'."."""
    await err(await client.post(f"/{db}/_bulk_get", json=body), status, error, reason)


async def test_content_type_and_method(client: TestClient, db: str) -> None:
    """ref §0: JSON content type required (415); only POST (405)."""
    r = await client.post(f"/{db}/_bulk_get", data=b'{"docs":[]}', headers={"Content-Type": "text/plain;x=1"})
    await err(r, 415, "bad_content_type", "Content-Type must be application/json")
    await err(await client.get(f"/{db}/_bulk_get"), 405, "method_not_allowed")


async def test_missing_db_and_anonymous(client: TestClient, anon: TestClient, db: str) -> None:
    """ref §1.7: PouchDB falls back on any error; the errors are still CouchDB-shaped."""
    await err(
        await client.post("/nosuchdb/_bulk_get", json={"docs": []}),
        404,
        "not_found",
        "Database does not exist.",
    )
    await err(await anon.post(f"/{db}/_bulk_get", json={"docs": []}), 401, "unauthorized")
