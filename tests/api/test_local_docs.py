"""``_local`` documents (replication checkpoints): ``GET|PUT|DELETE /{db}/_local/{id}`` and
``/{db}/_local_docs``.

Sources: protocol reference §0 (path decoding), §1.3, §7.9–10 ("ref §x"); CouchDB ``chttpd_db.erl``
(``db_req`` ``_local`` clauses), ``couch_db_updater.erl`` (``update_local_doc_revs``,
``increment_local_doc_revs``); PouchDB ``pouchdb-checkpointer``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from couchsync.settings import Settings

from .helpers import err, ok

CHECKPOINT = {
    "session_id": "s1",
    "last_seq": "12-abc",
    "history": [{"last_seq": "12-abc", "session_id": "s1"}],
    "replicator": "pouchdb",
    "version": 1,
}


async def test_put_get_checkpoint(client: TestClient, db: str) -> None:
    """ref §1.3: PUT without ``_rev`` stores ``0-1`` → 201 ``{"ok","id","rev"}``; GET returns
    ``{"_id":"_local/x","_rev":"0-1",…}`` with the body as sent."""
    r = await client.put(f"/{db}/_local/rep1", json={"_id": "_local/rep1", **CHECKPOINT})
    assert await ok(r, 201) == {"ok": True, "id": "_local/rep1", "rev": "0-1"}
    body = await ok(await client.get(f"/{db}/_local/rep1"))
    assert body == {"_id": "_local/rep1", "_rev": "0-1", **CHECKPOINT}
    assert list(body) == ["_id", "_rev", *CHECKPOINT]


@pytest.mark.parametrize(
    ("sent_rev", "stored"),
    [
        pytest.param(None, "0-1", id="no-rev"),
        pytest.param("0-1", "0-2", id="current"),
        pytest.param("0-3", "0-4", id="rev-ahead-of-stored"),  # no MVCC: N+1 whatever is stored
        pytest.param("0-0", "0-1", id="zero"),
    ],
)
async def test_rev_increments_without_conflict_check(
    client: TestClient, db: str, sent_rev: str | None, stored: str
) -> None:
    """ref §1.3 / couch_db_updater increment_local_doc_revs: ``_rev:"0-N"`` stores ``0-(N+1)``."""
    await ok(await client.put(f"/{db}/_local/x", json={"n": 1}), 201)
    body = {"n": 2} if sent_rev is None else {"_rev": sent_rev, "n": 2}
    assert (await ok(await client.put(f"/{db}/_local/x", json=body), 201))["rev"] == stored
    assert await ok(await client.get(f"/{db}/_local/x")) == {"_id": "_local/x", "_rev": stored, "n": 2}


async def test_same_stale_rev_twice_both_succeed(client: TestClient, db: str) -> None:
    """ref §7.9: two PUTs with the same stale ``_rev`` both succeed (no conflict check)."""
    await ok(await client.put(f"/{db}/_local/x", json={"n": 0}), 201)
    await ok(await client.put(f"/{db}/_local/x", json={"_rev": "0-1", "n": 1}), 201)
    r = await client.put(f"/{db}/_local/x", json={"_rev": "0-1", "n": 2})
    assert (await ok(r, 201))["rev"] == "0-2"
    assert (await ok(await client.get(f"/{db}/_local/x")))["n"] == 2


async def test_invisible_to_changes_all_docs_and_counters(client: TestClient, db: str) -> None:
    """ref §1.3, §7.9: not in ``_changes``/``_all_docs``, no ``update_seq``/``doc_count`` change."""
    before = await ok(await client.get(f"/{db}"))
    await ok(await client.put(f"/{db}/_local/x", json={"n": 1}), 201)
    await ok(await client.put(f"/{db}/_local/x", json={"_rev": "0-1", "n": 2}), 201)
    after = await ok(await client.get(f"/{db}"))
    assert (after["update_seq"], after["doc_count"], after["doc_del_count"]) == (
        before["update_seq"],
        before["doc_count"],
        before["doc_del_count"],
    )
    assert (await ok(await client.get(f"/{db}/_changes")))["results"] == []
    assert (await ok(await client.get(f"/{db}/_all_docs")))["rows"] == []


@pytest.mark.parametrize(
    "get_path",
    [
        pytest.param("_local/ab.c_d==", id="raw"),
        pytest.param("_local/ab.c_d%3D%3D", id="encoded"),
        pytest.param("_local%2Fab.c_d%3D%3D", id="encoded-slash"),  # ref §0: segments decoded after split
    ],
)
async def test_url_decoding(client: TestClient, db: str, get_path: str) -> None:
    """ref §7.10: PUT ``/db/_local/ab.c_d%3D%3D`` and GET ``/db/_local/ab.c_d==`` address one doc."""
    r = await client.put(f"/{db}/_local/ab.c_d%3D%3D", json={"v": 1})
    assert (await ok(r, 201))["id"] == "_local/ab.c_d=="
    assert await ok(await client.get(f"/{db}/{get_path}")) == {
        "_id": "_local/ab.c_d==",
        "_rev": "0-1",
        "v": 1,
    }


async def test_encoded_slash_in_id(client: TestClient, db: str) -> None:
    """ref §0: ``/db/_local/a%2Fb`` addresses ``_local/a/b``."""
    assert (await ok(await client.put(f"/{db}/_local/a%2Fb", json={}), 201))["id"] == "_local/a/b"
    assert (await ok(await client.get(f"/{db}/_local%2Fa%2Fb")))["_id"] == "_local/a/b"


async def test_url_id_wins_over_body_id(client: TestClient, db: str) -> None:
    """ref §1.3: "The URL id wins over a different ``_id`` in the body"."""
    await ok(await client.put(f"/{db}/_local/x", json={"_id": "_local/y", "v": 1}), 201)
    assert (await ok(await client.get(f"/{db}/_local/x")))["v"] == 1
    await err(await client.get(f"/{db}/_local/y"), 404, "not_found", "missing")


@pytest.mark.parametrize(
    ("method", "url", "reason"),
    [
        pytest.param("GET", "_local", "Invalid _local document id.", id="bare"),  # chttpd_db db_req
        pytest.param("PUT", "_local", "Invalid _local document id.", id="bare-put"),
        pytest.param("GET", "_local/", "Invalid _local document id.", id="trailing-slash"),
        pytest.param("PUT", "_local/x/y", "_local documents do not accept attachments.", id="extra-segment"),
        pytest.param("GET", "_local/x/y/z", "_local documents do not accept attachments.", id="two-extra"),
        *[
            pytest.param(
                m,
                "_local%2F",
                "Invalid _local document id.",
                id=f"encoded-prefix-only-{m.lower()}",
            )
            for m in ("GET", "PUT")
        ],
    ],
)
async def test_bad_local_paths(client: TestClient, db: str, method: str, url: str, reason: str) -> None:
    """ref §0 / chttpd_db db_req ``_local`` clauses → 400 bad_request."""
    await ok(await client.put(f"/{db}/_local/x", json={}), 201)
    await err(await client.request(method, f"/{db}/{url}", json={}), 400, "bad_request", reason)


async def test_delete(client: TestClient, db: str) -> None:
    """ref §1.3: "delete sets ``0-0`` and removes it": 200 ``{"ok","id","rev":"0-0"}``; then 404;
    no rev needed (no MVCC); a new PUT starts again at ``0-1``."""
    await ok(await client.put(f"/{db}/_local/x", json={"v": 1}), 201)
    await ok(await client.put(f"/{db}/_local/x", json={"_rev": "0-1", "v": 2}), 201)
    r = await client.delete(f"/{db}/_local/x")
    assert await ok(r, 200) == {"ok": True, "id": "_local/x", "rev": "0-0"}
    await err(await client.get(f"/{db}/_local/x"), 404, "not_found", "missing")
    await err(await client.delete(f"/{db}/_local/x"), 404, "not_found", "missing")
    assert (await ok(await client.put(f"/{db}/_local/x", json={}), 201))["rev"] == "0-1"


async def test_put_deleted_true_deletes(client: TestClient, db: str) -> None:
    """couch_db_updater increment_local_doc_revs(deleted) → rev ``0-0``, doc removed; 200 as any
    ``_deleted`` PUT (chttpd_db update_doc)."""
    await ok(await client.put(f"/{db}/_local/x", json={"v": 1}), 201)
    r = await client.put(f"/{db}/_local/x", json={"_rev": "0-1", "_deleted": True})
    assert await ok(r, 200) == {"ok": True, "id": "_local/x", "rev": "0-0"}
    await err(await client.get(f"/{db}/_local/x"), 404, "not_found", "missing")


async def test_get_missing(client: TestClient, db: str) -> None:
    await err(await client.get(f"/{db}/_local/nope"), 404, "not_found", "missing")


@pytest.mark.parametrize(
    "rev",
    [
        pytest.param("0-x", id="non-integer-n"),  # increment_local_doc_revs: binary_to_integer fails
        pytest.param("1-abc", id="non-zero-pos"),
        pytest.param("abc", id="no-dash"),
        pytest.param(5, id="not-a-string"),
    ],
)
async def test_invalid_rev(client: TestClient, db: str, rev: Any) -> None:
    """ref §1.3: a non-integer N → "Invalid rev format"."""
    await err(
        await client.put(f"/{db}/_local/x", json={"_rev": rev}), 400, "bad_request", "Invalid rev format"
    )


@pytest.mark.parametrize(
    ("body", "error", "reason"),
    [
        pytest.param({"_foo": 1}, "doc_validation", "Bad special document member: _foo", id="bad-special"),
        pytest.param([1], "bad_request", "Document must be a JSON object", id="not-object"),
    ],
)
async def test_invalid_body(client: TestClient, db: str, body: Any, error: str, reason: str) -> None:
    """ref §1.3: "unknown ``_``-prefixed fields are still rejected as for normal docs"."""
    await err(await client.put(f"/{db}/_local/x", json=body), 400, error, reason)


async def test_invalid_json(client: TestClient, db: str) -> None:
    r = await client.put(f"/{db}/_local/x", data=b"{nope", headers={"Content-Type": "application/json"})
    await err(r, 400, "bad_request", "invalid UTF-8 JSON")


async def test_local_docs_listing(client: TestClient, db: str) -> None:
    """ref §4.1: ``/{db}/_local_docs`` lists local docs ``_all_docs``-style with ``{"rev":"0-N"}``;
    normal docs are not listed."""
    await ok(await client.put(f"/{db}/plain", json={}), 201)
    await ok(await client.put(f"/{db}/_local/b", json={"v": 1}), 201)
    await ok(await client.put(f"/{db}/_local/a", json={}), 201)
    await ok(await client.put(f"/{db}/_local/b", json={"_rev": "0-1"}), 201)
    rows = (await ok(await client.get(f"/{db}/_local_docs")))["rows"]
    assert rows == [
        {"id": "_local/a", "key": "_local/a", "value": {"rev": "0-1"}},
        {"id": "_local/b", "key": "_local/b", "value": {"rev": "0-2"}},
    ]
    rows = (await ok(await client.get(f'/{db}/_local_docs?include_docs=true&keys=["_local/b"]')))["rows"]
    assert rows[0]["doc"] == {"_id": "_local/b", "_rev": "0-2"}


async def test_anonymous_on_admin_only_db(anon: TestClient, db: str) -> None:
    """ref §3.4: checkpoints need db membership like every doc: anonymous → 401."""
    await err(await anon.get(f"/{db}/_local/x"), 401, "unauthorized")
    await err(await anon.put(f"/{db}/_local/x", json={}), 401, "unauthorized")


async def test_local_doc_in_bulk_docs(client: TestClient, db: str) -> None:
    """couch_db update_docs: ``_local/`` docs in ``_bulk_docs`` are split off and written as local docs."""
    r = await client.post(f"/{db}/_bulk_docs", json={"docs": [{"_id": "_local/x", "v": 1}]})
    assert await ok(r, 201) == [{"ok": True, "id": "_local/x", "rev": "0-1"}]
    assert (await ok(await client.get(f"/{db}/_local/x")))["v"] == 1


class TestLocalDocTooLarge:
    """couch_doc from_json_obj_validate (ref §3.5): body > ``max_document_size`` → 413."""

    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return dataclasses.replace(settings, max_document_size=1000)

    async def test_put(self, client: TestClient, db: str) -> None:
        r = await client.put(f"/{db}/_local/big", json={"x": "a" * 2000})
        await err(r, 413, "document_too_large", "_local/big")
