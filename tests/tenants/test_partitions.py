"""Partitioned databases, as CouchDB 3 (reference §5; CouchDB ``chttpd_db:handle_partition_req``,
``couch_partition.erl``, ``test/elixir/test/partition_*_test.exs``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import orjson
import pytest
from aiohttp.test_utils import TestClient

from tests.tenants.world import call, ok


def err(ex: Any, status: int, error: str, reason: str | None = None) -> None:
    assert ex.status == status, str(ex)
    body = ex.json()
    assert body["error"] == error, str(ex)
    if reason is not None:
        assert body["reason"] == reason, str(ex)


@pytest.fixture
async def pdb(client: TestClient) -> str:
    await ok(client, "PUT", "/pdb?partitioned=true", 201)
    return "pdb"


@pytest.fixture
async def seeded(client: TestClient, pdb: str) -> str:
    docs = [
        {"_id": i, "n": n} for n, i in enumerate(["p:1", "p:2", "p:3", "q:1", "pp:1", "o:1", "p:z:colon"])
    ]
    await ok(client, "POST", f"/{pdb}/_bulk_docs", 201, json={"docs": docs})
    rev = (await ok(client, "GET", f"/{pdb}/p:3", 200))["_rev"]
    await ok(client, "DELETE", f"/{pdb}/p:3?rev={rev}", 200)
    await ok(client, "PUT", f"/{pdb}/_design/d", 201, json={"views": {}})
    return pdb


async def test_create_partitioned_database(client: TestClient) -> None:
    ex = await call(client, "PUT", "/pdb?partitioned=true")
    assert ex.status == 201 and ex.json() == {"ok": True}, str(ex)
    assert (await ok(client, "GET", "/pdb", 200))["props"] == {"partitioned": True}
    await ok(client, "PUT", "/plain", 201)
    assert (await ok(client, "GET", "/plain", 200))["props"] == {}
    await ok(client, "PUT", "/plain2?partitioned=false", 201)
    assert (await ok(client, "GET", "/plain2", 200))["props"] == {}
    dbs = await ok(client, "POST", "/_dbs_info", 200, json={"keys": ["pdb"]})
    assert dbs[0]["info"]["props"] == {"partitioned": True}


async def test_system_database_cannot_be_partitioned(client: TestClient) -> None:
    err(
        await call(client, "PUT", "/_replicator?partitioned=true"),
        400,
        "bad_request",
        "Cannot partition a system database",
    )


async def test_create_partitioned_is_server_admin_only(anon: TestClient) -> None:
    err(await call(anon, "PUT", "/pdb?partitioned=true"), 401, "unauthorized")


@pytest.mark.parametrize(
    ("doc_id", "error", "reason"),
    [
        ("nocolon", "illegal_docid", "Doc id must be of form partition:id"),
        ("_x:y", "illegal_docid", "Only reserved document ids may start with underscore."),
        ("_x", "illegal_docid", "Only reserved document ids may start with underscore."),
        (":x", None, None),
        ("p:", None, None),
    ],
)
async def test_bad_doc_ids(
    client: TestClient, pdb: str, doc_id: str, error: str | None, reason: str | None
) -> None:
    for ex in (
        await call(client, "PUT", f"/{pdb}/{quote(doc_id, safe=':')}", json={}),
        await call(client, "POST", f"/{pdb}", json={"_id": doc_id}),
        await call(client, "POST", f"/{pdb}/_bulk_docs", json={"docs": [{"_id": "ok:1"}, {"_id": doc_id}]}),
        await call(
            client,
            "POST",
            f"/{pdb}/_bulk_docs",
            json={"new_edits": False, "docs": [{"_id": doc_id, "_rev": "1-" + "a" * 32}]},
        ),
    ):
        assert ex.status == 400, str(ex)
        if error is None:
            assert ex.json()["error"] in ("illegal_docid", "illegal_partition"), str(ex)
        else:
            assert ex.json() == {"error": error, "reason": reason}, str(ex)
    # a bad id fails the whole _bulk_docs request: ok:1 was not written
    assert (await call(client, "GET", f"/{pdb}/ok:1")).status == 404
    assert (await ok(client, "GET", f"/{pdb}", 200))["doc_count"] == 0


async def test_attachment_needs_partitioned_id(client: TestClient, pdb: str) -> None:
    ex = await call(client, "PUT", f"/{pdb}/nocolon/a.txt", data=b"x", headers={"Content-Type": "text/plain"})
    err(ex, 400, "illegal_docid", "Doc id must be of form partition:id")


async def test_post_without_id_in_partitioned_db(client: TestClient, pdb: str) -> None:
    """A server-generated id has no partition: CouchDB refuses it."""
    err(
        await call(client, "POST", f"/{pdb}", json={"a": 1}),
        400,
        "illegal_docid",
        "Doc id must be of form partition:id",
    )


@pytest.mark.parametrize("doc_id", ["p:x", "p:x:y", "P-1:x", "_design/d", "_local/l"])
async def test_good_doc_ids(client: TestClient, pdb: str, doc_id: str) -> None:
    path = f"/{pdb}/{quote(doc_id, safe=':/')}"
    await ok(client, "PUT", path, 201, json={"v": 1})
    assert (await ok(client, "GET", path, 200))["_id"] == doc_id


async def test_non_partitioned_db_takes_any_id(client: TestClient) -> None:
    await ok(client, "PUT", "/plain", 201)
    await ok(client, "PUT", "/plain/nocolon", 201, json={})
    await ok(client, "POST", "/plain", 201, json={"a": 1})


async def test_partition_info(client: TestClient, seeded: str) -> None:
    info = await ok(client, "GET", f"/{seeded}/_partition/p", 200)
    assert set(info) == {"db_name", "partition", "doc_count", "doc_del_count", "sizes"}
    assert info["db_name"] == seeded and info["partition"] == "p"
    assert info["doc_count"] == 3 and info["doc_del_count"] == 1  # p:1, p:2, p:z:colon; p:3 deleted
    assert set(info["sizes"]) == {"active", "external"}
    assert all(isinstance(v, int) and v > 0 for v in info["sizes"].values())
    q = await ok(client, "GET", f"/{seeded}/_partition/q", 200)
    assert (q["doc_count"], q["doc_del_count"]) == (1, 0)
    empty = await ok(client, "GET", f"/{seeded}/_partition/nothing-here", 200)
    assert (empty["doc_count"], empty["doc_del_count"]) == (0, 0)
    assert empty["sizes"] == {"active": 0, "external": 0}


async def test_partition_all_docs(client: TestClient, seeded: str) -> None:
    base = f"/{seeded}/_partition/p/_all_docs"
    rows = (await ok(client, "GET", base, 200))["rows"]
    assert [r["id"] for r in rows] == ["p:1", "p:2", "p:z:colon"]  # not pp:1, q:1 or _design/d
    docs = (await ok(client, "GET", f"{base}?include_docs=true&descending=true", 200))["rows"]
    assert [r["doc"]["_id"] for r in docs] == ["p:z:colon", "p:2", "p:1"]
    assert [r["id"] for r in (await ok(client, "GET", f'{base}?start_key="p:2"', 200))["rows"]] == [
        "p:2",
        "p:z:colon",
    ]
    assert [r["id"] for r in (await ok(client, "GET", f'{base}?end_key="p:2"&limit=5', 200))["rows"]] == [
        "p:1",
        "p:2",
    ]
    # a start_key after the partition (or an end_key before it) just yields 0 rows
    assert (await ok(client, "GET", f'{base}?start_key="q:"', 200))["rows"] == []
    assert (await ok(client, "GET", f'{base}?start_key="zzz"', 200))["rows"] == []
    assert (await ok(client, "GET", f'{base}?end_key="a"', 200))["rows"] == []
    keys = (await ok(client, "POST", base, 200, json={"keys": ["p:1", "q:1", "pp:1"]}))["rows"]
    assert keys[0]["id"] == "p:1"
    assert keys[1:] == [{"key": "q:1", "error": "not_found"}, {"key": "pp:1", "error": "not_found"}]
    q = (await ok(client, "GET", f"/{seeded}/_partition/q/_all_docs", 200))["rows"]
    assert [r["id"] for r in q] == ["q:1"]
    # the global _all_docs lists every partition in raw id order
    everything = [r["id"] for r in (await ok(client, "GET", f"/{seeded}/_all_docs", 200))["rows"]]
    assert everything == ["_design/d", "o:1", "p:1", "p:2", "p:z:colon", "pp:1", "q:1"]


async def test_partition_all_docs_query_param_agreeing(client: TestClient, seeded: str) -> None:
    rows = (await ok(client, "GET", f"/{seeded}/_partition/p/_all_docs?partition=p", 200))["rows"]
    assert [r["id"] for r in rows] == ["p:1", "p:2", "p:z:colon"]


async def test_partition_on_non_partitioned_db(client: TestClient) -> None:
    await ok(client, "PUT", "/plain", 201)
    await ok(client, "PUT", "/plain/p:1", 201, json={})
    err(await call(client, "GET", "/plain/_partition/p"), 400, "bad_request", "database is not partitioned")


async def test_partition_all_docs_on_non_partitioned_db(client: TestClient) -> None:
    await ok(client, "PUT", "/plain", 201)
    await ok(client, "PUT", "/plain/p:1", 201, json={})
    err(
        await call(client, "GET", "/plain/_partition/p/_all_docs"),
        400,
        "bad_request",
        "database is not partitioned",
    )


async def test_conflicting_partition_param_on_info(client: TestClient, seeded: str) -> None:
    err(
        await call(client, "GET", f"/{seeded}/_partition/p?partition=q"),
        400,
        "bad_request",
        "Conflicting value for `partition` in query string",
    )


async def test_conflicting_partition_param_on_all_docs(client: TestClient, seeded: str) -> None:
    err(
        await call(client, "GET", f"/{seeded}/_partition/p/_all_docs?partition=q"),
        400,
        "bad_request",
        "Conflicting value for `partition` in query string",
    )


@pytest.mark.parametrize(
    ("part", "reason"),
    [
        ("_x", "Partition must not start with an underscore"),
        ("_design", "Partition must not start with an underscore"),
    ],
)
async def test_illegal_partition_info(client: TestClient, seeded: str, part: str, reason: str) -> None:
    err(await call(client, "GET", f"/{seeded}/_partition/{part}"), 400, "illegal_partition", reason)


async def test_illegal_partition_all_docs(client: TestClient, seeded: str) -> None:
    err(
        await call(client, "GET", f"/{seeded}/_partition/_x/_all_docs"),
        400,
        "illegal_partition",
        "Partition must not start with an underscore",
    )


async def test_partition_paths(client: TestClient, anon: TestClient, seeded: str) -> None:
    assert (await call(client, "GET", f"/{seeded}/_partition")).status == 400
    assert (await call(client, "GET", f"/{seeded}/_partition/")).status == 400
    err(await call(client, "GET", f"/{seeded}/_partition/p/_changes"), 404, "not_found")
    err(await call(client, "GET", f"/{seeded}/_partition/p/_design_docs"), 404, "not_found")
    err(await call(client, "GET", f"/{seeded}/_partition/p/_local_docs"), 404, "not_found")
    assert (await call(client, "POST", f"/{seeded}/_partition/p", json={})).status == 405
    err(await call(anon, "GET", f"/{seeded}/_partition/p"), 401, "unauthorized")
    err(await call(anon, "GET", f"/{seeded}/_partition/p/_all_docs"), 401, "unauthorized")
    err(await call(client, "GET", "/nosuchdb/_partition/p"), 404, "not_found")


async def test_global_endpoints_work_on_partitioned_db(client: TestClient, seeded: str) -> None:
    changes = await ok(client, "GET", f"/{seeded}/_changes", 200)
    assert {r["id"] for r in changes["results"]} >= {"p:1", "q:1", "_design/d"}
    got = await ok(client, "POST", f"/{seeded}/_bulk_get", 200, json={"docs": [{"id": "p:1"}, {"id": "q:1"}]})
    assert [r["docs"][0]["ok"]["_id"] for r in got["results"]] == ["p:1", "q:1"]
    diff = await ok(client, "POST", f"/{seeded}/_revs_diff", 200, json={"p:1": ["1-" + "0" * 32]})
    assert "p:1" in diff
    keys = orjson.dumps(["p:1", "o:1"]).decode()
    rows = (await ok(client, "GET", f"/{seeded}/_all_docs?keys={quote(keys)}", 200))["rows"]
    assert [r["id"] for r in rows] == ["p:1", "o:1"]


async def test_partition_name_is_validated_before_the_db_kind(client: TestClient) -> None:
    """``handle_partition_req`` validates the partition before asking whether the db is partitioned."""
    await ok(client, "PUT", "/plain", 201)
    err(
        await call(client, "GET", "/plain/_partition/_x"),
        400,
        "illegal_partition",
        "Partition must not start with an underscore",
    )
