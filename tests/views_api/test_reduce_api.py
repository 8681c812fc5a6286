"""Builtin reducers through the view API with CouchDB's exact output shapes and errors, JavaScript
reduce with chunked reduce + rereduce, and ``group_level`` on array keys.

Case sources:
  REF   /work/shared/reference/couchdb-protocol.md §4.4 "Built-in reducers", §7 item 30
  QS    CouchDB src/couch/src/couch_query_servers.erl (builtin_sum_rows/sum_values/sum_arrays/
        sum_objects, builtin_stats/build_initial_accumulator/stat_values/unpack_stats/pack_stats,
        approx_count_distinct, builtin_rank_n, builtin_first_last)
  DOCS  CouchDB docs src/docs/src/ddocs/ddocs.rst "Built-in Reduce Functions", "Reduce and
        Rereduce Functions" (keys = [[key, id], …] on reduce, null on rereduce);
        src/docs/src/ddocs/views/intro.rst "Reduce/Rereduce" and group_level examples
  MRV   CouchDB src/couch_mrview/src/couch_mrview.erl group_rows_fun/red_fold (group_level on
        arrays: lists:sublist; non-array keys grouped exactly)
"""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from couchsync.views.reduce import SUM_ERROR

from .conftest import bulk, call, err, put_ddoc, view

MAP_KV = "function (doc) { if ('k' in doc) emit(doc.k, doc.v); }"


async def reduce_rows(
    c: TestClient, db: str, reducer: str, values: list[Any], params: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Emits ``values`` under keys 0, 1, … (index order = list order) through ``reducer``."""
    await bulk(c, db, [{"_id": f"r{i:04d}", "k": i, "v": v} for i, v in enumerate(values)])
    await put_ddoc(c, db, "red", {"views": {"v": {"map": MAP_KV, "reduce": reducer}}})
    res = await view(c, db, "red", "v", params)
    return list(res["rows"])


def stats(s: float, n: int, lo: float, hi: float, sq: float) -> dict[str, Any]:
    return {"sum": s, "count": n, "min": lo, "max": hi, "sumsqr": sq}


# (reducer, emitted values in index order, expected ungrouped value, source)
SHAPES: list[tuple[str, list[Any], Any, str]] = [
    ("_count", [1, "x", None, [1], {"a": 1}], 5, "REF _count counts rows whatever the value"),
    ("_sum", [1, 2, 3.5], 6.5, "REF numbers"),
    ("_sum", [0.1, 0.2], 0.30000000000000004, "QS float addition"),
    ("_sum", [[1, 2], [10], [5, 5, 5]], [16, 7, 5], "REF/§7.30 arrays element-wise, shorter padded"),
    ("_sum", [[1, 2], 3, [10, 20, 30]], [14, 22, 30], "QS number + array"),
    ("_sum", [3, [1, 2]], [4, 2], "QS array after a number"),
    (
        "_sum",
        [{"a": 1, "b": {"x": 2}}, {"a": 3, "b": {"y": 1}, "c": [1, 2]}, {"c": [1]}],
        {"a": 4, "b": {"x": 2, "y": 1}, "c": [2, 2]},
        "REF objects per key, recursively",
    ),
    (
        "_sum",
        [1, "two", 3],
        {"error": "builtin_reduce_error", "reason": SUM_ERROR, "caused_by": "two"},
        "REF _sum error value",
    ),
    (
        "_sum",
        [[1, "x"], [2, 3]],
        {"error": "builtin_reduce_error", "reason": SUM_ERROR, "caused_by": ["x"]},
        "QS sum_arrays(Else, _): caused_by the accumulator tail",
    ),
    ("_stats", [1, 2], stats(3, 2, 1, 2, 5), "REF §7.30"),
    ("_stats", [4], stats(4, 1, 4, 4, 16), "QS single value"),
    ("_stats", [-1.5, 2, 0], stats(0.5, 3, -1.5, 2, 6.25), "QS"),
    (
        "_stats",
        [[1, 2], [3, 4]],
        [stats(4, 2, 1, 3, 10), stats(6, 2, 2, 4, 20)],
        "REF arrays of numbers → array of stats objects",
    ),
    (
        "_stats",
        [stats(3, 2, 1, 2, 5), stats(4, 1, 4, 4, 16), 5],
        stats(12, 4, 1, 5, 46),
        "REF pre-aggregated objects accepted",
    ),
    ("_approx_count_distinct", ["ignored"] * 3, 3, "REF counts distinct keys (keys 0,1,2 here)"),
    ("_first", [7, 8, 9], 7, "REF 3.5 _first: value of the first row"),
    ("_last", [7, 8, 9], 9, "REF 3.5 _last"),
    ("_top_3", [5, 1, 9, 3, 7], [9, 7, 5], "REF 3.5 _top_N"),
    ("_bottom_2", [5, 1, 9, 3, 7], [1, 3], "REF 3.5 _bottom_N"),
]


@pytest.mark.parametrize(
    ("reducer", "values", "expected", "source"), SHAPES, ids=[f"{c[0]}-{c[1]}" for c in SHAPES]
)
async def test_builtin_reduce_shapes(
    client: TestClient, db: str, reducer: str, values: list[Any], expected: Any, source: str
) -> None:
    rows = await reduce_rows(client, db, reducer, values)
    assert rows == [{"key": None, "value": expected}], source
    if isinstance(expected, dict) and "sumsqr" in expected:
        assert list(rows[0]["value"]) == ["sum", "count", "min", "max", "sumsqr"]  # QS pack_stats order


async def test_builtin_reduce_per_group(client: TestClient, db: str) -> None:
    """REF: the ``_sum`` error is a row value, other groups are unaffected (HTTP 200)."""
    docs = [
        {"_id": "a1", "k": "a", "v": 1},
        {"_id": "a2", "k": "a", "v": 2},
        {"_id": "b1", "k": "b", "v": "bad"},
        {"_id": "c1", "k": "c", "v": [1, 2]},
    ]
    await bulk(client, db, docs)
    await put_ddoc(
        client,
        db,
        "red",
        {
            "views": {
                "sum": {"map": MAP_KV, "reduce": "_sum"},
                "count": {"map": MAP_KV, "reduce": "_count"},
                "distinct": {
                    "map": "function (doc) { emit(doc.k.length, null); emit(doc.k, null); }",
                    "reduce": "_approx_count_distinct",
                },
            }
        },
    )
    res = await view(client, db, "red", "sum", {"group": True})
    assert res["rows"] == [
        {"key": "a", "value": 3},
        {"key": "b", "value": {"error": "builtin_reduce_error", "reason": SUM_ERROR, "caused_by": "bad"}},
        {"key": "c", "value": [1, 2]},
    ]
    res = await view(client, db, "red", "count", {"group": True})
    assert res["rows"] == [{"key": "a", "value": 2}, {"key": "b", "value": 1}, {"key": "c", "value": 1}]
    res = await view(client, db, "red", "distinct")
    assert res["rows"] == [{"key": None, "value": 4}]  # keys 1, "a", "b", "c"
    res = await view(client, db, "red", "distinct", {"group": True})
    assert res["rows"] == [
        {"key": 1, "value": 1},
        {"key": "a", "value": 1},
        {"key": "b", "value": 1},
        {"key": "c", "value": 1},
    ]


def approx(value: Any, n: int) -> bool:
    """A HyperLogLog estimate (CouchDB ``couch_hyper:new(11)``): an integer close to ``n``."""
    return isinstance(value, int) and abs(value - n) <= max(2, n * 0.03)


async def test_approx_count_distinct_many_keys(client: TestClient, db: str) -> None:
    """REF ``_approx_count_distinct`` estimates distinct *keys*: 300 keys; 300 rows over 60 keys."""
    rows = await reduce_rows(client, db, "_approx_count_distinct", [0] * 300)
    assert len(rows) == 1 and rows[0]["key"] is None and approx(rows[0]["value"], 300), rows
    await bulk(client, db, [{"_id": f"z{i:04d}", "k2": i % 60} for i in range(300)])
    await put_ddoc(
        client,
        db,
        "d2",
        {
            "views": {
                "v": {
                    "map": "function (doc) { if ('k2' in doc) emit(doc.k2, 1); }",
                    "reduce": "_approx_count_distinct",
                }
            }
        },
    )
    [row] = (await view(client, db, "d2", "v"))["rows"]
    assert approx(row["value"], 60), row
    [row] = (await view(client, db, "d2", "v", {"startkey": 10, "endkey": 19}))["rows"]
    assert approx(row["value"], 10), row


STATS_ERRORS: list[tuple[list[Any], str, str]] = [
    (
        [1, "abc"],
        "The _stats function requires that map values be numbers or arrays of numbers, not '<<\"abc\">>'",
        "REF/QS stat_values",
    ),
    (["abc"], "non-numeric _stats input: <<97,98,99>>", "QS build_initial_accumulator (~w)"),
    ([{"sum": 1}], 'user _stats input missing required field count ([{<<"sum">>,1}])', "QS unpack_stats"),
]


@pytest.mark.parametrize(("values", "reason", "source"), STATS_ERRORS, ids=[str(c[0]) for c in STATS_ERRORS])
async def test_stats_errors_fail_the_query(
    client: TestClient, db: str, values: list[Any], reason: str, source: str
) -> None:
    """REF: ``_stats`` on non-numeric values fails the query (``throw({invalid_value, …})``)."""
    await bulk(client, db, [{"_id": f"r{i}", "k": i, "v": v} for i, v in enumerate(values)])
    await put_ddoc(client, db, "red", {"views": {"v": {"map": MAP_KV, "reduce": "_stats"}}})
    err(await call(client, "GET", f"/{db}/_design/red/_view/v"), 500, "invalid_value", reason)
    # the map rows are still there
    assert len((await view(client, db, "red", "v", {"reduce": False}))["rows"]) == len(values)


async def test_unsupported_builtin_is_refused_at_save(client: TestClient, db: str) -> None:
    """REF §4.4: ``"`_foo` is not a supported reduce function."`` (400 invalid_design_doc)."""
    for name in ["_foo", "_top_0", "_top_101", "_bottom_x"]:
        ex = await call(
            client, "PUT", f"/{db}/_design/bad", json={"views": {"v": {"map": MAP_KV, "reduce": name}}}
        )
        err(ex, 400, "invalid_design_doc", f"`{name}` is not a supported reduce function.")


# -- group_level on array keys -----------------------------------------------------------------

DATES = [
    {"_id": "s1", "k": "x", "v": 1},
    {"_id": "d0", "k": [2023], "v": 2},
    {"_id": "d1", "k": [2023, 1, 5], "v": 3},
    {"_id": "d2", "k": [2023, 1, 20], "v": 4},
    {"_id": "d3", "k": [2023, 2, 1], "v": 5},
    {"_id": "d4", "k": [2024, 1, 1], "v": 6},
    {"_id": "d5", "k": [2024, 3, 3], "v": 7},
    {"_id": "d6", "k": [2024, 3, 4], "v": 8},
    {"_id": "d7", "k": [2024, 3, 4], "v": 9},
]
EXACT = [
    ("x", 1),
    ([2023], 2),
    ([2023, 1, 5], 3),
    ([2023, 1, 20], 4),
    ([2023, 2, 1], 5),
    ([2024, 1, 1], 6),
    ([2024, 3, 3], 7),
    ([2024, 3, 4], 17),
]
JS_SUM = "function (keys, values, rereduce) { return sum(values); }"

GROUP_CASES: list[tuple[dict[str, Any], list[tuple[Any, Any]], str]] = [
    ({}, [(None, 45)], "ungrouped"),
    ({"group_level": 1}, [("x", 1), ([2023], 14), ([2024], 30)], "MRV non-array keys grouped exactly"),
    (
        {"group_level": 2},
        [("x", 1), ([2023], 2), ([2023, 1], 7), ([2023, 2], 5), ([2024, 1], 6), ([2024, 3], 24)],
        "MRV shorter arrays keep their length",
    ),
    ({"group_level": 3}, EXACT, "DOCS"),
    ({"group_level": 9}, EXACT, "MRV lists:sublist beyond the length"),
    ({"group": True}, EXACT, "REF"),
    ({"group": True, "group_level": 1}, [("x", 1), ([2023], 14), ([2024], 30)], "UTIL group_level wins"),
    ({"group_level": 1, "descending": True}, [([2024], 30), ([2023], 14), ("x", 1)], "REF"),
    ({"group_level": 2, "skip": 1, "limit": 2}, [([2023], 2), ([2023, 1], 7)], "REF skip/limit on groups"),
    (
        {"group_level": 2, "startkey": [2023, 1], "endkey": [2024, 1, {}]},
        [([2023, 1], 7), ([2023, 2], 5), ([2024, 1], 6)],
        "DOCS complex key range + group_level",
    ),
    ({"group_level": 1, "startkey": [2023, 2], "endkey": [2024, 3, 3]}, [([2023], 5), ([2024], 13)], "MRV"),
    (
        {"keys": [[2024, 3, 4], "x", [2023]], "group": True},
        [([2024, 3, 4], 17), ("x", 1), ([2023], 2)],
        "REF",
    ),
]


@pytest.mark.parametrize("reducer", ["_sum", JS_SUM], ids=["builtin", "js"])
@pytest.mark.parametrize(("params", "expected", "source"), GROUP_CASES, ids=[str(c[0]) for c in GROUP_CASES])
async def test_group_level_on_array_keys(
    client: TestClient,
    db: str,
    reducer: str,
    params: dict[str, Any],
    expected: list[tuple[Any, Any]],
    source: str,
) -> None:
    await bulk(client, db, [dict(d) for d in DATES])
    await put_ddoc(client, db, "g", {"views": {"v": {"map": MAP_KV, "reduce": reducer}}})
    res = await view(client, db, "g", "v", params)
    assert res == {"rows": [{"key": k, "value": v} for k, v in expected]}, source


async def test_group_level_with_count_and_stats(client: TestClient, db: str) -> None:
    await bulk(client, db, [dict(d) for d in DATES])
    await put_ddoc(
        client,
        db,
        "g",
        {
            "views": {
                "count": {"map": MAP_KV, "reduce": "_count"},
                "stats": {"map": MAP_KV, "reduce": "_stats"},
            }
        },
    )
    res = await view(client, db, "g", "count", {"group_level": 1})
    assert res["rows"] == [{"key": "x", "value": 1}, {"key": [2023], "value": 4}, {"key": [2024], "value": 4}]
    res = await view(client, db, "g", "stats", {"group_level": 1})
    assert res["rows"] == [
        {"key": "x", "value": stats(1, 1, 1, 1, 1)},
        {"key": [2023], "value": stats(14, 4, 2, 5, 54)},
        {"key": [2024], "value": stats(30, 4, 6, 9, 230)},
    ]


# -- JavaScript reduce and rereduce ------------------------------------------------------------

# Only correct if the server follows the reduce/rereduce contract (DOCS): on reduce, ``keys`` is
# [[key, docid], …] parallel to ``values`` (the map values); on rereduce, ``keys`` is null and
# ``values`` are outputs of earlier calls. A server that skipped rereduce, fed map values to a
# rereduce, or passed partial results as map values would get the counts, sums or ``bad`` wrong.
CONTRACT_REDUCE = """function (keys, values, rereduce) {
  var out = {rows: 0, total: 0, reduces: 0, rereduces: 0, bad: 0};
  if (rereduce) {
    if (keys !== null) out.bad++;
    for (var i = 0; i < values.length; i++) {
      var p = values[i];
      if (typeof p !== 'object' || !('rows' in p)) { out.bad++; continue; }
      out.rows += p.rows; out.total += p.total; out.reduces += p.reduces;
      out.rereduces += p.rereduces; out.bad += p.bad;
    }
    out.rereduces++;
    return out;
  }
  if (keys === null || keys.length !== values.length) out.bad++;
  for (var j = 0; j < values.length; j++) {
    if (typeof values[j] !== 'number') { out.bad++; continue; }
    if (!Array.isArray(keys[j]) || keys[j][1] !== 'doc' + values[j]) out.bad++;
    out.rows++; out.total += values[j];
  }
  out.reduces = 1;
  return out;
}"""
CONTRACT_MAP = "function (doc) { if (typeof doc.n === 'number') emit([doc.n % 3, doc.n], doc.n); }"


@pytest.fixture
async def contract_db(client: TestClient, db: str) -> str:
    # ids 'doc<n>': the reduce checks keys[j][1] (the doc id) against the value
    await bulk(client, db, [{"_id": f"doc{n}", "n": n} for n in range(450)])
    await put_ddoc(client, db, "js", {"views": {"v": {"map": CONTRACT_MAP, "reduce": CONTRACT_REDUCE}}})
    return db


async def test_js_reduce_and_rereduce_over_many_rows(client: TestClient, contract_db: str) -> None:
    """DOCS: 450 rows are reduced in chunks, then re-reduced; the result adds up exactly."""
    res = await view(client, contract_db, "js", "v")
    [row] = res["rows"]
    value = row["value"]
    assert row["key"] is None
    assert value["bad"] == 0, value
    assert (value["rows"], value["total"]) == (450, sum(range(450)))
    assert value["reduces"] >= 2 and value["rereduces"] >= 1, value  # really chunked


async def test_js_reduce_grouped_and_ranged(client: TestClient, contract_db: str) -> None:
    res = await view(client, contract_db, "js", "v", {"group_level": 1})
    assert [r["key"] for r in res["rows"]] == [[0], [1], [2]]
    for r in res["rows"]:
        m = r["key"][0]
        ns = [n for n in range(450) if n % 3 == m]
        assert r["value"]["bad"] == 0 and (r["value"]["rows"], r["value"]["total"]) == (len(ns), sum(ns))
    res = await view(client, contract_db, "js", "v", {"startkey": [1, 100], "endkey": [1, 399]})
    [row] = res["rows"]
    ns = [n for n in range(100, 400) if n % 3 == 1]
    assert row["value"]["bad"] == 0 and (row["value"]["rows"], row["value"]["total"]) == (len(ns), sum(ns))
    res = await view(client, contract_db, "js", "v", {"group": True, "limit": 2})
    assert [(r["key"], r["value"]["rows"], r["value"]["total"], r["value"]["bad"]) for r in res["rows"]] == [
        ([0, 0], 1, 0, 0),
        ([0, 3], 1, 3, 0),
    ]
    res = await view(client, contract_db, "js", "v", {"reduce": False, "limit": 1})
    assert res["rows"] == [{"id": "doc0", "key": [0, 0], "value": 0}] and res["total_rows"] == 450
