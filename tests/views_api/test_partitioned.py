"""Partitioned views (reference §5): ``/{db}/_partition/{p}/_design/{ddoc}/_view/{v}`` reads only
that partition; partitioned vs global design docs; staff limited to their hospitals' partitions.

Case sources:
  REF   /work/shared/reference/couchdb-protocol.md §5
  UTIL  CouchDB couch_mrview_util.erl ``validate_args/2`` ("`partition` parameter is mandatory for
        queries to this view." / "… is not supported in this design doc", both
        ``query_parse_error``; a ddoc is partitioned only in a partitioned db — ``set_partitioned``)
  CDB   CouchDB chttpd_db.erl ``handle_partition_req`` (non-partitioned db, conflicting
        ``?partition=``: ``bad_request``); test/elixir/test/partition_view_test.exs (keys, ranges,
        reduce, include_docs within a partition)
  TEN   issue 4 "Partitioned views": staff are limited to their hospitals' partitions; tests/tenants
"""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from tests.tenants.world import HOSPITALS, World, build_world

from .conftest import bulk, call, err, ok, put_ddoc, qs, view

MAP = "function (doc) { if (doc.k) emit(doc.k, doc.v); }"
VIEWS = {"by_k": {"map": MAP}, "sum": {"map": MAP, "reduce": "_sum"}}
MANDATORY = "`partition` parameter is mandatory for queries to this view."
UNSUPPORTED = "`partition` parameter is not supported in this design doc"

DOCS = [
    {"_id": "p1:a", "k": "a", "v": 1},
    {"_id": "p1:b", "k": "b", "v": 2},
    {"_id": "p1:c", "k": "c", "v": 3},
    {"_id": "p2:a", "k": "a", "v": 10},
    {"_id": "p2:c", "k": "c", "v": 20},
    {"_id": "p10:a", "k": "a", "v": 100},
]


@pytest.fixture
async def pdb(client: TestClient) -> str:
    await ok(client, "PUT", "/pviews?partitioned=true", 201)
    await bulk(client, "pviews", [dict(d) for d in DOCS])
    await put_ddoc(client, "pviews", "part", {"views": VIEWS})
    await put_ddoc(client, "pviews", "glob", {"views": VIEWS, "options": {"partitioned": False}})
    return "pviews"


def ids(res: dict[str, Any]) -> list[str]:
    return [r["id"] for r in res["rows"]]


async def test_partitioned_view_needs_a_partition(client: TestClient, pdb: str) -> None:
    """REF §5 / UTIL: a partitioned view queried globally → 400 mandatory."""
    err(await call(client, "GET", f"/{pdb}/_design/part/_view/by_k"), 400, "query_parse_error", MANDATORY)
    err(await call(client, "GET", f"/{pdb}/_design/part/_view/sum"), 400, "query_parse_error", MANDATORY)
    err(
        await call(client, "POST", f"/{pdb}/_design/part/_view/by_k", json={"keys": ["a", "b"]}),
        400,
        "query_parse_error",
        MANDATORY,
    )


PART_CASES: list[tuple[str, str, dict[str, Any], list[str], str]] = [
    ("p1", "by_k", {}, ["p1:a", "p1:b", "p1:c"], "REF reads only that partition"),
    ("p2", "by_k", {}, ["p2:a", "p2:c"], "REF"),
    ("p10", "by_k", {}, ["p10:a"], "REF partition p1 is not a prefix of p10"),
    ("nothing", "by_k", {}, [], "REF empty partition"),
    ("p1", "by_k", {"key": "a"}, ["p1:a"], "CDB"),
    ("p2", "by_k", {"key": "b"}, [], "CDB a key of another partition only"),
    ("p1", "by_k", {"keys": ["c", "a", "x"]}, ["p1:c", "p1:a"], "CDB keys"),
    ("p1", "by_k", {"startkey": "b"}, ["p1:b", "p1:c"], "CDB ranges"),
    ("p1", "by_k", {"endkey": "b", "inclusive_end": False}, ["p1:a"], "CDB"),
    ("p1", "by_k", {"descending": True}, ["p1:c", "p1:b", "p1:a"], "CDB"),
    ("p1", "by_k", {"descending": True, "startkey": "b"}, ["p1:b", "p1:a"], "CDB"),
    ("p1", "by_k", {"skip": 1, "limit": 1}, ["p1:b"], "CDB"),
    ("p1", "by_k", {"startkey": "a", "startkey_docid": "p1:b"}, ["p1:b", "p1:c"], "REF _docid works"),
    ("p1", "sum", {"reduce": False}, ["p1:a", "p1:b", "p1:c"], "REF"),
]


@pytest.mark.parametrize(
    ("part", "name", "params", "expected", "source"),
    PART_CASES,
    ids=[f"{c[0]}-{c[1]}-{c[2]}" for c in PART_CASES],
)
async def test_partition_view_reads_only_its_partition(
    client: TestClient,
    pdb: str,
    part: str,
    name: str,
    params: dict[str, Any],
    expected: list[str],
    source: str,
) -> None:
    res = await view(client, pdb, "part", name, params, prefix=f"/_partition/{part}")
    assert ids(res) == expected, source
    # the same query with ?partition= on the global path (REF §5: the endpoint forces partition=p)
    res2 = await view(client, pdb, "part", name, [*params.items(), ("partition", part)])
    assert ids(res2) == expected, source
    assert res2 == res


async def test_partition_reduce_and_include_docs(client: TestClient, pdb: str) -> None:
    """REF §5 "Not forbidden": reduce, group, include_docs in partitioned views."""
    base = f"/{pdb}/_partition/p1/_design/part/_view"
    assert (await ok(client, "GET", f"{base}/sum"))["rows"] == [{"key": None, "value": 6}]
    assert (await ok(client, "GET", f"{base}/sum?group=true"))["rows"] == [
        {"key": "a", "value": 1},
        {"key": "b", "value": 2},
        {"key": "c", "value": 3},
    ]
    res = await ok(client, "POST", f"{base}/sum", 200, json={"keys": ["c", "a"], "group": True})
    assert res["rows"] == [{"key": "c", "value": 3}, {"key": "a", "value": 1}]
    res = await ok(client, "GET", f"/{pdb}/_partition/p2/_design/part/_view/sum")
    assert res["rows"] == [{"key": None, "value": 30}]
    res = await ok(client, "GET", f"{base}/by_k?include_docs=true&key=%22b%22")
    assert [r["doc"]["_id"] for r in res["rows"]] == ["p1:b"] and res["rows"][0]["doc"]["v"] == 2


async def test_partition_queries_endpoint(client: TestClient, pdb: str) -> None:
    """CDB ``handle_partition_req`` hands every ``_design/{ddoc}/_…`` path to the design handler
    with the partition forced, so ``POST …/_view/{v}/queries`` works under ``_partition`` too."""
    base = f"/{pdb}/_partition/p1/_design/part/_view"
    res = await ok(
        client, "POST", f"{base}/by_k/queries", 200, json={"queries": [{"key": "a"}, {"limit": 1}]}
    )
    assert [ids(r) for r in res["results"]] == [["p1:a"], ["p1:a"]]


async def test_partition_view_follows_updates(client: TestClient, pdb: str) -> None:
    await view(client, pdb, "part", "by_k", prefix="/_partition/p1")
    cur = await ok(client, "GET", f"/{pdb}/p1:b")
    await ok(client, "PUT", f"/{pdb}/p1:b", 201, json={**cur, "k": "z"})
    await ok(client, "PUT", f"/{pdb}/p2:new", 201, json={"k": "b", "v": 5})
    res = await view(client, pdb, "part", "by_k", prefix="/_partition/p1")
    assert [(r["id"], r["key"]) for r in res["rows"]] == [("p1:a", "a"), ("p1:c", "c"), ("p1:b", "z")]
    res = await view(client, pdb, "part", "by_k", prefix="/_partition/p2")
    assert ids(res) == ["p2:a", "p2:new", "p2:c"]


async def test_global_ddoc_in_partitioned_db(client: TestClient, pdb: str) -> None:
    """REF §5: ``options.partitioned: false`` makes a ddoc global: queried globally over every
    partition; via ``_partition`` (or ``?partition=``) → 400 not supported in this design doc."""
    res = await view(client, pdb, "glob", "by_k")
    assert ids(res) == ["p10:a", "p1:a", "p2:a", "p1:b", "p1:c", "p2:c"]  # ties: raw ids
    assert (await view(client, pdb, "glob", "sum"))["rows"] == [{"key": None, "value": 136}]
    for path in (
        f"/{pdb}/_partition/p1/_design/glob/_view/by_k",
        f"/{pdb}/_design/glob/_view/by_k?partition=p1",
        f"/{pdb}/_partition/p1/_design/glob/_view/sum?group=true",
    ):
        err(await call(client, "GET", path), 400, "query_parse_error", UNSUPPORTED)


async def test_partition_path_errors(client: TestClient, pdb: str, db: str) -> None:
    """CDB ``handle_partition_req``: conflicting ``?partition=``, bad partition names, a
    non-partitioned database; UTIL: ``?partition=`` on a view of a non-partitioned db."""
    err(
        await call(client, "GET", f"/{pdb}/_partition/p1/_design/part/_view/by_k?partition=p2"),
        400,
        "bad_request",
        "Conflicting value for `partition` in query string",
    )
    res = await ok(client, "GET", f"/{pdb}/_partition/p1/_design/part/_view/by_k?partition=p1")
    assert ids(res) == ["p1:a", "p1:b", "p1:c"]
    err(
        await call(client, "GET", f"/{pdb}/_partition/_bad/_design/part/_view/by_k"),
        400,
        "illegal_partition",
        "Partition must not start with an underscore",
    )
    err(
        await call(client, "GET", f"/{pdb}/_partition/p1/_design/nope/_view/by_k"),
        404,
        "not_found",
        "missing",
    )
    err(
        await call(client, "GET", f"/{pdb}/_partition/p1/_design/part/_view/nope"),
        404,
        "not_found",
        "missing_named_view",
    )
    # a non-partitioned database
    await bulk(client, db, [{"_id": "p1:a", "k": "a", "v": 1}])
    await put_ddoc(client, db, "plain", {"views": VIEWS})
    err(
        await call(client, "GET", f"/{db}/_partition/p1/_design/plain/_view/by_k"),
        400,
        "bad_request",
        "database is not partitioned",
    )
    err(
        await call(client, "GET", f"/{db}/_design/plain/_view/by_k?partition=p1"),
        400,
        "query_parse_error",
        UNSUPPORTED,
    )
    assert ids(await view(client, db, "plain", "by_k")) == ["p1:a"]
    ex = await call(
        client, "PUT", f"/{db}/_design/bad", json={"views": VIEWS, "options": {"partitioned": True}}
    )
    err(ex, 400, "invalid_design_doc", "partitioned option cannot be true in a non-partitioned database.")


# -- staff (tenant users) ----------------------------------------------------------------------


@pytest.fixture
async def world(server: TestServer) -> Any:
    w = await build_world(server)
    admin = w.c("tenant_admin")
    for t, h in HOSPITALS.items():
        await bulk(admin, w.db, [{"_id": f"{h}:p{i}", "k": f"{t}{i}", "v": i} for i in range(3)])
    await put_ddoc(admin, w.db, "hv", {"views": VIEWS})
    await put_ddoc(admin, w.db, "hg", {"views": VIEWS, "options": {"partitioned": False}})
    yield w
    await w.close()


@pytest.mark.parametrize("principal", ["staff_a", "staff_ab", "tenant_admin", "server_admin"])
async def test_staff_partitioned_views_only_in_their_hospitals(world: World, principal: str) -> None:
    """TEN: staff read partitioned views of their hospitals only (403 elsewhere, also through
    ``?partition=``); admins read every partition."""
    c = world.c(principal)
    allowed = {"staff_a": {"A"}, "staff_ab": {"A", "B"}}.get(principal, {"A", "B", "C"})
    for t, h in HOSPITALS.items():
        paths = [
            f"/{world.db}/_partition/{h}/_design/hv/_view/by_k",
            f"/{world.db}/_design/hv/_view/by_k{qs({'partition': h})}",
            f"/{world.db}/_partition/{h}/_design/hv/_view/sum",
        ]
        for path in paths:
            ex = await call(c, "GET", path)
            if t in allowed:
                assert ex.status == 200, str(ex)
                body = ex.json()
                if "_view/by_k" in path:
                    assert [r["id"] for r in body["rows"]] == [f"{h}:p{i}" for i in range(3)]
                else:
                    assert body["rows"] == [{"key": None, "value": 3}]
            else:
                err(ex, 403, "forbidden")
                for seed in world.seeds.values():
                    assert seed.marker.encode() not in ex.body
    err(await call(c, "GET", f"/{world.db}/_design/hv/_view/by_k"), 400, "query_parse_error", MANDATORY)


@pytest.mark.parametrize("principal", ["staff_a", "staff_ab", "tenant_admin"])
async def test_staff_global_views_show_only_their_rows(world: World, principal: str) -> None:
    """TEN: a global ddoc queried by staff gives only rows of documents they may read."""
    c = world.c(principal)
    allowed = {"staff_a": ["A"], "staff_ab": ["A", "B"]}.get(principal, ["A", "B", "C"])
    res = await ok(c, "GET", f"/{world.db}/_design/hg/_view/by_k")
    assert [r["id"] for r in res["rows"]] == [f"{HOSPITALS[t]}:p{i}" for t in allowed for i in range(3)]
    res = await ok(c, "GET", f"/{world.db}/_design/hg/_view/sum")
    assert res["rows"] == [{"key": None, "value": 3 * len(allowed)}]
    res = await ok(c, "GET", f"/{world.db}/_design/hg/_view/by_k?include_docs=true")
    assert {r["doc"]["_id"].split(":")[0] for r in res["rows"]} == {HOSPITALS[t] for t in allowed}
    res = await ok(c, "POST", f"/{world.db}/_design/hg/_view/by_k", 200, json={"keys": ["C0", "A1", "B2"]})
    expected = [f"{HOSPITALS[t]}:p{i}" for t, i in (("C", 0), ("A", 1), ("B", 2)) if t in allowed]
    assert [r["id"] for r in res["rows"]] == expected


@pytest.mark.parametrize("principal", ["anonymous", "other_staff", "other_admin"])
async def test_outsiders_cannot_query(world: World, principal: str) -> None:
    c = world.c(principal)
    for path in (
        f"/{world.db}/_partition/{HOSPITALS['A']}/_design/hv/_view/by_k",
        f"/{world.db}/_design/hg/_view/by_k",
    ):
        ex = await call(c, "GET", path)
        assert ex.status in (401, 403), str(ex)
        for seed in world.seeds.values():
            assert seed.marker.encode() not in ex.body
