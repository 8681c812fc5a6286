"""``POST /{db}/_revs_diff`` and the legacy ``POST /{db}/_missing_revs``.

Sources: protocol reference §1.6, §2.6, §7.4 ("ref §x"); CouchDB ``chttpd_db.erl`` (``db_req``
``_revs_diff``/``_missing_revs``), ``couch_db.erl`` (``get_missing_revs``, possible ancestors),
``couch_key_tree.erl`` (``find_missing``).
"""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from .helpers import err, ok, rdoc, rev, rid


@pytest.fixture
async def tree(client: TestClient, db: str) -> str:
    """Doc ``a``: 1-a → 2-b → 3-c (live leaf) and 1-a → 2-d (deleted leaf); doc ``b``: 1-a."""
    r = await client.post(
        f"/{db}/_bulk_docs",
        json={
            "new_edits": False,
            "docs": [rdoc("a", 3, "c", "b", "a"), rdoc("a", 2, "d", "a", _deleted=True), rdoc("b", 1, "a")],
        },
    )
    assert await ok(r, 201) == []
    return db


async def revs_diff(client: TestClient, db: str, body: Any) -> Any:
    return await ok(await client.post(f"/{db}/_revs_diff", json=body))


@pytest.mark.parametrize(
    ("request_revs", "expected"),
    [
        pytest.param(
            {"a": [rev(1, "a"), rev(2, "b"), rev(3, "c"), rev(2, "d")]},
            {},
            id="internal-nodes-and-leaves-known",
        ),  # ref §1.6, §7.4
        pytest.param({"a": [rev(1, "a")], "b": [rev(1, "a")]}, {}, id="all-known"),
        pytest.param({}, {}, id="empty-request"),
        pytest.param(
            {"a": [rev(3, "c"), rev(4, "f")]},
            {"a": {"missing": [rev(4, "f")], "possible_ancestors": [rev(3, "c"), rev(2, "d")]}},
            id="ancestors-include-deleted-leaf",
        ),
        pytest.param(
            {"a": [rev(3, "f")]},
            {"a": {"missing": [rev(3, "f")], "possible_ancestors": [rev(2, "d")]}},
            id="only-lower-leaves-are-ancestors",
        ),
        pytest.param({"a": [rev(1, "f")]}, {"a": {"missing": [rev(1, "f")]}}, id="no-ancestors-omitted"),
        pytest.param(
            {"nope": [rev(1, "a"), rev(2, "b")]},
            {"nope": {"missing": [rev(1, "a"), rev(2, "b")]}},
            id="unknown-doc-all-missing",
        ),
        pytest.param(
            {"a": [rev(3, "c")], "b": [rev(2, "f")], "nope": [rev(1, "a")]},
            {
                "b": {"missing": [rev(2, "f")], "possible_ancestors": [rev(1, "a")]},
                "nope": {"missing": [rev(1, "a")]},
            },
            id="only-docs-with-missing-revs",
        ),
        pytest.param(
            {"a": [f"4-{rid('E')}"]},
            {"a": {"missing": [rev(4, "e")], "possible_ancestors": [rev(3, "c"), rev(2, "d")]}},
            id="uppercase-rev-normalised",
        ),  # ref §2.1 couch_doc parse_rev / rev_to_str
    ],
)
async def test_revs_diff(
    client: TestClient, tree: str, request_revs: dict[str, list[str]], expected: dict[str, Any]
) -> None:
    """ref §1.6: ``{"docid": {"missing": [...], "possible_ancestors": [...]}}`` for docs with a rev
    not anywhere in the tree; ``possible_ancestors`` = leaves (deleted included) with a lower pos
    than a missing rev (couch_db get_missing_revs), omitted when empty. Ancestor order is not
    semantic (CouchDB folds the sorted leaves into a reversed list), so it is compared as a set."""
    got = await revs_diff(client, tree, request_revs)
    assert set(got) == set(expected)
    for doc_id, entry in expected.items():
        assert got[doc_id]["missing"] == entry["missing"]
        assert sorted(got[doc_id].get("possible_ancestors", [])) == sorted(
            entry.get("possible_ancestors", [])
        )
        assert ("possible_ancestors" in got[doc_id]) == ("possible_ancestors" in entry)


async def test_stemmed_revs_are_missing(client: TestClient, db: str) -> None:
    """ref §1.6, §2.6: a rev stemmed away by ``_revs_limit`` is missing again."""
    await ok(await client.put(f"/{db}/_revs_limit", data=b"2", headers={"Content-Type": "application/json"}))
    r = await client.post(
        f"/{db}/_bulk_docs", json={"new_edits": False, "docs": [rdoc("a", 4, "d", "c", "b", "a")]}
    )
    assert await ok(r, 201) == []
    got = await revs_diff(client, db, {"a": [rev(1, "a"), rev(2, "b"), rev(3, "c"), rev(4, "d")]})
    assert got == {"a": {"missing": [rev(1, "a"), rev(2, "b")]}}


async def test_deleted_doc_revs_are_known(client: TestClient, db: str) -> None:
    """A fully deleted doc still has its tree: its revs are not missing."""
    r1 = (await ok(await client.put(f"/{db}/d", json={}), 201))["rev"]
    r2 = (await ok(await client.delete(f"/{db}/d?rev={r1}")))["rev"]
    assert await revs_diff(client, db, {"d": [r1, r2]}) == {}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        pytest.param({"a": ["nope"]}, "Invalid rev format", id="bad-rev"),  # couch_doc parse_rev
        pytest.param({"a": [f"1-{'z' * 32}"]}, "Invalid rev format", id="non-hex-rev"),
        pytest.param({"a": [5]}, "Invalid rev format", id="non-string-rev"),
        pytest.param(["a"], "Request body must be a JSON object", id="body-array"),  # chttpd json_body_obj
    ],
)
@pytest.mark.parametrize("endpoint", ["_revs_diff", "_missing_revs"])
async def test_bad_requests(client: TestClient, db: str, endpoint: str, body: Any, reason: str) -> None:
    await err(await client.post(f"/{db}/{endpoint}", json=body), 400, "bad_request", reason)


@pytest.mark.parametrize("endpoint", ["_revs_diff", "_missing_revs"])
async def test_content_type_and_method(client: TestClient, db: str, endpoint: str) -> None:
    """chttpd_db: ``validate_ctype(Req, "application/json")`` → 415; only POST → 405."""
    r = await client.post(f"/{db}/{endpoint}", data=b"{}", headers={"Content-Type": "text/plain"})
    await err(r, 415, "bad_content_type", "Content-Type must be application/json")
    await err(await client.get(f"/{db}/{endpoint}"), 405, "method_not_allowed")
    await err(
        await client.post(f"/nosuchdb/{endpoint}", json={}), 404, "not_found", "Database does not exist."
    )


async def test_missing_revs(client: TestClient, tree: str) -> None:
    """ref §4.1 / chttpd_db ``_missing_revs``: ``{"missing_revs": {"id": [revs]}}`` for docs with
    missing revs only (internal nodes are known)."""
    got = await ok(
        await client.post(
            f"/{tree}/_missing_revs",
            json={"a": [rev(1, "a"), rev(4, "f")], "b": [rev(1, "a")], "nope": [rev(1, "a")]},
        )
    )
    assert got == {"missing_revs": {"a": [rev(4, "f")], "nope": [rev(1, "a")]}}
    assert await ok(await client.post(f"/{tree}/_missing_revs", json={"b": [rev(1, "a")]})) == {
        "missing_revs": {}
    }
