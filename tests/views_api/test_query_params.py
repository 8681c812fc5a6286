"""Every view query parameter of reference §4.5, table-driven, through GET (query string) and POST
(JSON body), plus every ``query_parse_error`` of §4.5 and the missing view/ddoc answers.

Case sources (cited per row):
  REF   /work/shared/reference/couchdb-protocol.md §4.5 and §7 item 28
  DOCS  CouchDB docs src/docs/src/api/ddoc/views.rst (parameters, "Sorting Returned Rows",
        "Using Limits and Skipping Rows", key/keys/start_key/end_key section added by PR #4494)
  HTTP  CouchDB src/couch_mrview/src/couch_mrview_http.erl ``parse_param``/``parse_boolean``/
        ``parse_int``/``parse_pos_int`` (params applied in request order; error texts)
  UTIL  CouchDB src/couch_mrview/src/couch_mrview_util.erl ``validate_args``,
        ``determine_group_level``, ``check_range``, ``key_opts``/``ekey_opts`` (inclusive_end with
        docids), ``maybe_load_doc``/``docid_rev`` (include_docs redirect)
  MRV   CouchDB src/couch_mrview/src/couch_mrview.erl ``map_fold`` (offset = position of the first
        row returned, skip included; per-key folds for ``keys``)
  CVT   CouchDB src/chttpd/test/eunit/chttpd_view_test.erl (3.3.1+: single-element ``keys`` is
        ``key``; ``key=a&startkey=b`` vs ``startkey=b&key=a``; "Multi-key fetches" reason)
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from .conftest import bulk, call, err, ok, put_ddoc, qs, view

# View order (key collation, then doc id): a1 a2 b1 c1 c2 c3 d1 e1
DOCS = [
    {"_id": "c2", "key": "c", "value": 5},
    {"_id": "a1", "key": "a", "value": 1},
    {"_id": "e1", "key": "e", "value": 8},
    {"_id": "b1", "key": "b", "value": 3},
    {"_id": "c1", "key": "c", "value": 4},
    {"_id": "a2", "key": "a", "value": 2},
    {"_id": "d1", "key": "d", "value": 7},
    {"_id": "c3", "key": "c", "value": 6},
]
ALL = ["a1", "a2", "b1", "c1", "c2", "c3", "d1", "e1"]
MAP = "function (doc) { if (doc.key) { emit(doc.key, doc.value); } }"
DDOC = {
    "views": {
        "map": {"map": MAP},
        "sum": {"map": MAP, "reduce": "_sum"},
        "count": {"map": MAP, "reduce": "_count"},
    }
}


@pytest.fixture
async def qdb(client: TestClient, db: str) -> str:
    await bulk(client, db, [dict(d) for d in DOCS])
    await put_ddoc(client, db, "q", DDOC)
    return db


async def both(c: TestClient, db: str, view_name: str, params: dict[str, Any]) -> Any:
    """Runs the query by GET and by POST (JSON body); both must give the same answer."""
    got = await view(c, db, "q", view_name, params)
    posted = await ok(c, "POST", f"/{db}/_design/q/_view/{view_name}", 200, json=params)
    assert posted == got, (params, got, posted)
    return got


def ids(res: dict[str, Any]) -> list[str]:
    return [r["id"] for r in res["rows"]]


# (params, expected ids in order, expected offset or None = not checked, source)
MAP_CASES: list[tuple[dict[str, Any], list[str], int | None, str]] = [
    ({}, ALL, 0, "REF"),
    ({"key": "c"}, ["c1", "c2", "c3"], 3, "REF key"),
    ({"key": "zz"}, [], 8, "CVT key not matching: offset = rows before it"),
    ({"keys": ["c", "a"]}, ["c1", "c2", "c3", "a1", "a2"], None, "REF keys: request order"),
    ({"keys": ["x", "b", "x"]}, ["b1"], None, "REF absent keys give no row"),
    ({"keys": ["b", "b"]}, ["b1", "b1"], None, "MRV one fold per key"),
    ({"keys": []}, [], None, "UTIL keys=[] folds nothing"),
    ({"keys": ["a"]}, ["a1", "a2"], 0, "REF/CVT single key = key"),
    ({"keys": ["zz"]}, [], 8, "CVT single key not matching"),
    ({"startkey": "b"}, ["b1", "c1", "c2", "c3", "d1", "e1"], 2, "REF startkey"),
    ({"start_key": "b"}, ["b1", "c1", "c2", "c3", "d1", "e1"], 2, "REF alias"),
    ({"endkey": "c"}, ["a1", "a2", "b1", "c1", "c2", "c3"], 0, "REF endkey"),
    ({"end_key": "c"}, ["a1", "a2", "b1", "c1", "c2", "c3"], 0, "REF alias"),
    ({"startkey": "b", "endkey": "c"}, ["b1", "c1", "c2", "c3"], 2, "REF range"),
    ({"start_key": "b", "end_key": "c"}, ["b1", "c1", "c2", "c3"], 2, "REF aliases"),
    ({"startkey": "b", "endkey": "c", "inclusive_end": False}, ["b1"], 2, "REF inclusive_end"),
    ({"startkey": "bb", "endkey": "cc"}, ["c1", "c2", "c3"], 3, "DOCS keys between rows"),
    ({"startkey": "c", "startkey_docid": "c2"}, ["c2", "c3", "d1", "e1"], 4, "REF _docid"),
    ({"start_key": "c", "start_key_doc_id": "c2"}, ["c2", "c3", "d1", "e1"], 4, "REF alias"),
    ({"startkey": "c", "startkey_docid": "c25"}, ["c3", "d1", "e1"], 5, "UTIL docid between ids"),
    ({"startkey_docid": "c2"}, ALL, 0, "UTIL skey_opts: docid alone ignored"),
    ({"endkey": "c", "endkey_docid": "c2"}, ["a1", "a2", "b1", "c1", "c2"], 0, "REF _docid"),
    ({"end_key": "c", "end_key_doc_id": "c2"}, ["a1", "a2", "b1", "c1", "c2"], 0, "REF alias"),
    (
        {"endkey": "c", "endkey_docid": "c2", "inclusive_end": False},
        ["a1", "a2", "b1", "c1"],
        0,
        "UTIL ekey_opts end_key_gt {EK, EKD}",
    ),
    (
        {"startkey": "c", "startkey_docid": "c2", "endkey": "c", "endkey_docid": "c2"},
        ["c2"],
        4,
        "UTIL both docids",
    ),
    ({"key": "c", "inclusive_end": False}, [], None, "UTIL key is start=end: exclusive end is empty"),
    (
        {"startkey": "c", "startkey_docid": "c2", "endkey": "c", "endkey_docid": "c1"},
        [],
        None,
        "UTIL check_range skips start_key =:= end_key, whatever the docids",
    ),
    ({"descending": True}, ALL[::-1], 0, "REF descending"),
    ({"descending": True, "startkey": "c"}, ["c3", "c2", "c1", "b1", "a2", "a1"], 2, "REF high end"),
    ({"descending": True, "startkey": "d", "endkey": "b"}, ["d1", "c3", "c2", "c1", "b1"], 1, "REF"),
    (
        {"descending": True, "startkey": "d", "endkey": "b", "inclusive_end": False},
        ["d1", "c3", "c2", "c1"],
        1,
        "UTIL",
    ),
    (
        {"descending": True, "startkey": "c", "startkey_docid": "c2"},
        ["c2", "c1", "b1", "a2", "a1"],
        3,
        "UTIL rev docid",
    ),
    ({"descending": True, "endkey": "c", "endkey_docid": "c2"}, ["e1", "d1", "c3", "c2"], 0, "UTIL"),
    (
        {"descending": True, "endkey": "c", "endkey_docid": "c2", "inclusive_end": False},
        ["e1", "d1", "c3"],
        0,
        "UTIL",
    ),
    ({"descending": True, "key": "c"}, ["c3", "c2", "c1"], 2, "UTIL"),
    ({"descending": True, "keys": ["c", "a"]}, ["c3", "c2", "c1", "a2", "a1"], None, "UTIL per-key rev"),
    ({"limit": 3}, ["a1", "a2", "b1"], 0, "REF limit"),
    ({"limit": 0}, [], None, "REF limit=0"),
    ({"skip": 2, "limit": 2}, ["b1", "c1"], 2, "MRV offset counts skipped rows"),
    ({"skip": 100}, [], None, "DOCS skip past the end"),
    ({"descending": True, "limit": 2}, ["e1", "d1"], 0, "REF"),
    ({"descending": True, "skip": 1, "limit": 2}, ["d1", "c3"], 1, "REF"),
    ({"key": "c", "skip": 1, "limit": 1}, ["c2"], 4, "MRV"),
    ({"startkey": "b", "skip": 1}, ["c1", "c2", "c3", "d1", "e1"], 3, "MRV"),
    ({"keys": ["c", "a"], "skip": 1, "limit": 2}, ["c2", "c3"], None, "MRV skip/limit across keys"),
    ({"keys": ["c", "a"], "skip": 3}, ["a1", "a2"], None, "MRV"),
    ({"conflicts": True}, ALL, 0, "UTIL conflicts is allowed on a map view"),
    ({"stable": True}, ALL, 0, "REF stable"),
    ({"update": "true"}, ALL, 0, "REF update"),
    ({"sorted": True}, ALL, 0, "REF sorted"),
    ({"descending": "TRUE"}, ALL[::-1], 0, "HTTP parse_boolean lowercases"),
]


@pytest.mark.parametrize(
    ("params", "expected", "offset", "source"), MAP_CASES, ids=[str(c[0]) for c in MAP_CASES]
)
async def test_map_query(
    client: TestClient, qdb: str, params: dict[str, Any], expected: list[str], offset: int | None, source: str
) -> None:
    res = await both(client, qdb, "map", params)
    assert ids(res) == expected, source
    assert res["total_rows"] == 8, source
    if offset is not None:
        assert res["offset"] == offset, source
    by_id = {d["_id"]: d for d in DOCS}
    for row in res["rows"]:
        assert set(row) == {"id", "key", "value"}
        assert (row["key"], row["value"]) == (by_id[row["id"]]["key"], by_id[row["id"]]["value"])
    assert "update_seq" not in res


async def test_map_query_answer_shape(client: TestClient, qdb: str) -> None:
    """REF §4.5: ``{"total_rows","offset","rows":[{"id","key","value"}]}``."""
    res = await view(client, qdb, "q", "map", {"limit": 1})
    assert res == {"total_rows": 8, "offset": 0, "rows": [{"id": "a1", "key": "a", "value": 1}]}


# (params, expected rows, source)
REDUCE_CASES: list[tuple[str, dict[str, Any], list[dict[str, Any]], str]] = [
    ("sum", {}, [{"key": None, "value": 36}], "REF reduce default true"),
    ("sum", {"reduce": True}, [{"key": None, "value": 36}], "REF"),
    ("sum", {"group": False}, [{"key": None, "value": 36}], "UTIL"),
    ("sum", {"group_level": 0}, [{"key": None, "value": 36}], "UTIL group_level 0 = ungrouped"),
    ("sum", {"group": False, "group_level": 0}, [{"key": None, "value": 36}], "UTIL"),
    (
        "sum",
        {"group": True},
        [
            {"key": "a", "value": 3},
            {"key": "b", "value": 3},
            {"key": "c", "value": 15},
            {"key": "d", "value": 7},
            {"key": "e", "value": 8},
        ],
        "REF group",
    ),
    (
        "sum",
        {"group_level": 1},
        [
            {"key": "a", "value": 3},
            {"key": "b", "value": 3},
            {"key": "c", "value": 15},
            {"key": "d", "value": 7},
            {"key": "e", "value": 8},
        ],
        "REF group_level: non-array keys grouped exactly",
    ),
    (
        "sum",
        {"group": True, "skip": 1, "limit": 2},
        [{"key": "b", "value": 3}, {"key": "c", "value": 15}],
        "REF",
    ),
    (
        "sum",
        {"group": True, "descending": True, "limit": 2},
        [{"key": "e", "value": 8}, {"key": "d", "value": 7}],
        "REF",
    ),
    ("sum", {"key": "c"}, [{"key": None, "value": 15}], "CVT key on reduce"),
    ("sum", {"keys": ["c"]}, [{"key": None, "value": 15}], "CVT single keys = key, no group needed"),
    ("sum", {"keys": ["c"], "group": True}, [{"key": "c", "value": 15}], "CVT"),
    (
        "sum",
        {"keys": ["c", "a", "zz"], "group": True},
        [{"key": "c", "value": 15}, {"key": "a", "value": 3}],
        "CVT keys+group: request order",
    ),
    ("sum", {"startkey": "b", "endkey": "c"}, [{"key": None, "value": 18}], "REF range"),
    ("sum", {"startkey": "c", "startkey_docid": "c2"}, [{"key": None, "value": 26}], "UTIL docid on reduce"),
    ("sum", {"startkey": "zz"}, [], "MRV empty range gives no row"),
    ("sum", {"limit": 0}, [], "REF"),
    ("count", {}, [{"key": None, "value": 8}], "REF _count"),
    (
        "count",
        {"group": True},
        [
            {"key": "a", "value": 2},
            {"key": "b", "value": 1},
            {"key": "c", "value": 3},
            {"key": "d", "value": 1},
            {"key": "e", "value": 1},
        ],
        "REF",
    ),
    ("count", {"stale": "ok"}, [{"key": None, "value": 8}], "REF stale=ok"),
    ("count", {"stale": "update_after"}, [{"key": None, "value": 8}], "REF stale=update_after"),
]


@pytest.mark.parametrize(
    ("name", "params", "expected", "source"), REDUCE_CASES, ids=[f"{c[0]}-{c[1]}" for c in REDUCE_CASES]
)
async def test_reduce_query(
    client: TestClient,
    qdb: str,
    name: str,
    params: dict[str, Any],
    expected: list[dict[str, Any]],
    source: str,
) -> None:
    await view(client, qdb, "q", name)  # built (stale=ok answers from the index as it is)
    res = await both(client, qdb, name, params)
    assert res == {"rows": expected}, source


async def test_reduce_false_gives_the_map_rows(client: TestClient, qdb: str) -> None:
    """REF §4.5 ``reduce=false`` on a reduce view: map rows, include_docs/conflicts allowed."""
    res = await both(client, qdb, "sum", {"reduce": False})
    assert ids(res) == ALL and res["total_rows"] == 8 and res["offset"] == 0
    res = await both(
        client, qdb, "sum", {"reduce": False, "include_docs": True, "conflicts": True, "key": "b"}
    )
    assert [r["doc"]["_id"] for r in res["rows"]] == ["b1"]
    res = await both(client, qdb, "sum", {"reduce": False, "keys": ["c", "a"]})
    assert ids(res) == ["c1", "c2", "c3", "a1", "a2"]


# -- parameter order (HTTP parse_param applies params in request order) -----------------------


ORDER_CASES: list[tuple[list[tuple[str, Any]], list[str] | str, str]] = [
    ([("startkey", "b"), ("key", "a")], ["a1", "a2"], "CVT t_view_with_key_and_start_key"),
    ([("endkey", "b"), ("key", "a")], ["a1", "a2"], "CVT t_view_with_key_and_end_key"),
    ([("key", "a"), ("endkey", "b")], ["a1", "a2", "b1"], "CVT"),
    ([("key", "a"), ("startkey", "b")], "descending=true", "CVT: start b > end a"),
    ([("keys", ["a"]), ("startkey", "b")], "descending=true", "CVT t_view_with_single_keys_and_start_key"),
    ([("startkey", "b"), ("keys", ["a"])], ["a1", "a2"], "HTTP: single keys sets start=end=a"),
]


@pytest.mark.parametrize(("params", "expected", "source"), ORDER_CASES, ids=[str(c[0]) for c in ORDER_CASES])
async def test_parameters_apply_in_request_order(
    client: TestClient, qdb: str, params: list[tuple[str, Any]], expected: list[str] | str, source: str
) -> None:
    ex = await call(client, "GET", f"/{qdb}/_design/q/_view/map{qs(params)}")
    if isinstance(expected, str):
        err(
            ex,
            400,
            "query_parse_error",
            "No rows can match your key range, reverse your start_key and end_key or set " + expected,
        )
    else:
        assert ex.status == 200, str(ex)
        assert ids(ex.json()) == expected, source


async def test_query_string_overrides_post_body(client: TestClient, qdb: str) -> None:
    """HTTP ``parse_body_and_query``: the body is parsed first, then the query string."""
    res = await ok(
        client, "POST", f"/{qdb}/_design/q/_view/map?limit=1", 200, json={"limit": 3, "startkey": "b"}
    )
    assert ids(res) == ["b1"]
    res = await ok(client, "POST", f"/{qdb}/_design/q/_view/map?key=%22d%22", 200, json={"startkey": "b"})
    assert ids(res) == ["d1"]


# -- errors ------------------------------------------------------------------------------------

KEY_RANGE = "No rows can match your key range, reverse your start_key and end_key or set "
INCOMPATIBLE = "`keys` is incompatible with `key`, `start_key` and `end_key`"
MULTI_KEY = "Multi-key fetches for reduce views must use `group=true`"

# (view, params as query-string pairs, reason, source)
ERROR_CASES: list[tuple[str, list[tuple[str, Any]], str, str]] = [
    ("map", [("reduce", True)], "Reduce is invalid for map-only views.", "REF/UTIL"),
    ("map", [("reduce", "true")], "Reduce is invalid for map-only views.", "REF/UTIL"),
    ("sum", [("keys", ["a", "b"])], MULTI_KEY, "REF/CVT t_view_map_reduce_with_keys"),
    ("sum", [("keys", ["a", "b"]), ("group", False)], MULTI_KEY, "UTIL"),
    ("sum", [("keys", ["a", "b"]), ("group_level", 1)], MULTI_KEY, "UTIL: only exact grouping"),
    (
        "sum",
        [("keys", ["a", "b"]), ("group", True), ("group_level", 1)],
        MULTI_KEY,
        "UTIL determine_group_level",
    ),
    ("map", [("keys", ["a", "b"]), ("startkey", "a")], INCOMPATIBLE, "REF §7.28"),
    ("map", [("keys", ["a", "b"]), ("start_key", "a")], INCOMPATIBLE, "CVT t_view_with_keys_and_start_key"),
    ("map", [("keys", ["a", "b"]), ("endkey", "b")], INCOMPATIBLE, "UTIL"),
    ("map", [("keys", ["a", "b"]), ("key", "a")], INCOMPATIBLE, "UTIL"),
    ("map", [("key", "a"), ("keys", ["a", "b"])], INCOMPATIBLE, "UTIL"),
    ("sum", [("keys", ["a", "b"]), ("group", True), ("startkey", "a")], INCOMPATIBLE, "UTIL"),
    ("map", [("keys", "a")], "`keys` must be an array of strings.", "UTIL keys not a list"),
    ("map", [("group", True)], "Invalid use of grouping on a map view.", "REF"),
    ("map", [("group_level", 1)], "Invalid use of grouping on a map view.", "REF"),
    ("sum", [("reduce", False), ("group", True)], "Invalid use of grouping on a map view.", "UTIL"),
    ("sum", [("reduce", False), ("group_level", 2)], "Invalid use of grouping on a map view.", "UTIL"),
    ("sum", [("include_docs", True)], "`include_docs` is invalid for reduce", "REF"),
    ("sum", [("conflicts", True)], "`conflicts` is invalid for reduce views.", "REF"),
    ("sum", [("conflicts", False)], "`conflicts` is invalid for reduce views.", "UTIL: any explicit value"),
    (
        "sum",
        [("group", False), ("group_level", 1)],
        "Can't specify group=false and group_level>0 at the same time",
        "REF",
    ),
    ("map", [("limit", "abc")], 'Invalid value for integer: "abc"', "REF/HTTP parse_int"),
    ("map", [("limit", "1.5")], 'Invalid value for integer: "1.5"', "HTTP list_to_integer"),
    ("map", [("limit", "1_0")], 'Invalid value for integer: "1_0"', "HTTP list_to_integer"),
    ("map", [("limit", " 1")], 'Invalid value for integer: " 1"', "HTTP list_to_integer"),
    ("map", [("limit", "-1")], 'Invalid value for positive integer: "-1"', "REF/HTTP parse_pos_int"),
    ("map", [("skip", "-2")], 'Invalid value for positive integer: "-2"', "REF/HTTP parse_pos_int"),
    ("map", [("skip", "x")], 'Invalid value for integer: "x"', "HTTP"),
    ("sum", [("group_level", "-1")], 'Invalid value for positive integer: "-1"', "HTTP"),
    ("sum", [("group_level", "one")], 'Invalid value for integer: "one"', "HTTP"),
    ("map", [("descending", "yes")], 'Invalid boolean parameter: "yes"', "HTTP parse_boolean"),
    ("map", [("inclusive_end", "1")], 'Invalid boolean parameter: "1"', "HTTP parse_boolean"),
    ("map", [("include_docs", "no")], 'Invalid boolean parameter: "no"', "HTTP parse_boolean"),
    ("sum", [("reduce", "maybe")], 'Invalid boolean parameter: "maybe"', "HTTP parse_boolean"),
    ("sum", [("group", "0")], 'Invalid boolean parameter: "0"', "HTTP parse_boolean"),
    ("map", [("update_seq", "y")], 'Invalid boolean parameter: "y"', "HTTP parse_boolean"),
    ("map", [("update", "maybe")], "Invalid value for `update`.", "HTTP"),
    ("map", [("update", "TRUE")], "Invalid value for `update`.", "HTTP: exact match"),
    ("map", [("stale", "maybe")], "Invalid value for `stale`.", "HTTP"),
    ("map", [("stable", "maybe")], "Invalid value for `stable`.", "HTTP"),
    ("map", [("startkey", "c"), ("endkey", "a")], KEY_RANGE + "descending=true", "UTIL check_range"),
    (
        "map",
        [("descending", True), ("startkey", "a"), ("endkey", "c")],
        KEY_RANGE + "descending=false",
        "UTIL",
    ),
    ("sum", [("startkey", "c"), ("endkey", "a")], KEY_RANGE + "descending=true", "UTIL (reduce views too)"),
]


@pytest.mark.parametrize(
    ("name", "params", "reason", "source"), ERROR_CASES, ids=[f"{c[0]}-{c[1]}" for c in ERROR_CASES]
)
async def test_query_parse_errors(
    client: TestClient, qdb: str, name: str, params: list[tuple[str, Any]], reason: str, source: str
) -> None:
    ex = await call(client, "GET", f"/{qdb}/_design/q/_view/{name}{qs(params)}")
    err(ex, 400, "query_parse_error", reason)


POST_ERROR_CASES: list[tuple[str, dict[str, Any], str, str]] = [
    ("sum", {"keys": ["a", "b"]}, MULTI_KEY, "CVT POST"),
    ("map", {"keys": ["a", "b"], "startkey": "a"}, INCOMPATIBLE, "REF"),
    ("map", {"limit": -1}, "Invalid value for positive integer: -1", "HTTP ~p of an integer"),
    ("map", {"descending": "yes"}, 'Invalid boolean parameter: "yes"', "HTTP"),
    ("map", {"reduce": True}, "Reduce is invalid for map-only views.", "REF"),
    ("sum", {"include_docs": True}, "`include_docs` is invalid for reduce", "REF"),
]


@pytest.mark.parametrize(
    ("name", "body", "reason", "source"), POST_ERROR_CASES, ids=[f"{c[0]}-{c[1]}" for c in POST_ERROR_CASES]
)
async def test_post_query_parse_errors(
    client: TestClient, qdb: str, name: str, body: dict[str, Any], reason: str, source: str
) -> None:
    ex = await call(client, "POST", f"/{qdb}/_design/q/_view/{name}", json=body)
    err(ex, 400, "query_parse_error", reason)


async def test_post_keys_must_be_a_list(client: TestClient, qdb: str) -> None:
    """UTIL ``get_view_keys``: a non-list ``keys`` member of a POST body → 400 bad_request."""
    ex = await call(client, "POST", f"/{qdb}/_design/q/_view/map", json={"keys": "a"})
    err(ex, 400, "bad_request", "`keys` member must be an array.")


async def test_missing_view_and_missing_ddoc(client: TestClient, qdb: str) -> None:
    """REF §4.5: missing view → 404 ``missing_named_view``; missing ddoc → 404 ``missing``."""
    err(await call(client, "GET", f"/{qdb}/_design/q/_view/nope"), 404, "not_found", "missing_named_view")
    err(
        await call(client, "POST", f"/{qdb}/_design/q/_view/nope", json={}),
        404,
        "not_found",
        "missing_named_view",
    )
    err(await call(client, "GET", f"/{qdb}/_design/nope/_view/map"), 404, "not_found", "missing")
    err(await call(client, "GET", "/no_such_db/_design/q/_view/map"), 404, "not_found")
    # a deleted design document is gone for queries too
    rev = (await ok(client, "GET", f"/{qdb}/_design/q"))["_rev"]
    await ok(client, "DELETE", f"/{qdb}/_design/q?rev={rev}", 200)
    err(await call(client, "GET", f"/{qdb}/_design/q/_view/map"), 404, "not_found")


# -- include_docs / conflicts ------------------------------------------------------------------


async def test_include_docs_and_redirects(client: TestClient, db: str) -> None:
    """REF §4.5 / UTIL ``docid_rev``: ``doc`` is the emitting doc, or the doc named by an emitted
    ``{"_id"}`` value, at the emitted ``_rev`` when given; a missing or deleted target → null."""
    first = await ok(client, "PUT", f"/{db}/target", 201, json={"n": 1})
    second = await ok(client, "PUT", f"/{db}/target", 201, json={"_rev": first["rev"], "n": 2})
    gone = await ok(client, "PUT", f"/{db}/gone", 201, json={"n": 0})
    await ok(client, "DELETE", f"/{db}/gone?rev={gone['rev']}", 200)
    await bulk(
        client,
        db,
        [
            {"_id": "r1", "emit": "self"},
            {"_id": "r2", "emit": {"_id": "target"}},
            {"_id": "r3", "emit": {"_id": "target", "_rev": first["rev"]}},
            {"_id": "r4", "emit": {"_id": "missing"}},
            {"_id": "r5", "emit": {"_id": "gone"}},
            {"_id": "r6", "emit": {"other": 1}},
        ],
    )
    await put_ddoc(
        client,
        db,
        "inc",
        {
            "views": {
                "v": {
                    "map": "function (doc) { if (doc.emit) emit(doc._id, doc.emit === 'self' ? 1 : doc.emit); }"
                }
            }
        },
    )
    res = await view(client, db, "inc", "v", {"include_docs": True})
    docs = {r["id"]: r["doc"] for r in res["rows"]}
    assert [r["id"] for r in res["rows"]] == ["r1", "r2", "r3", "r4", "r5", "r6"]
    assert docs["r1"]["_id"] == "r1" and docs["r1"]["emit"] == "self" and docs["r1"]["_rev"].startswith("1-")
    assert docs["r2"] == {"_id": "target", "_rev": second["rev"], "n": 2}
    assert docs["r3"] == {"_id": "target", "_rev": first["rev"], "n": 1}
    assert docs["r4"] is None
    assert docs["r5"] is None
    assert docs["r6"]["_id"] == "r6"
    # the emitted value itself is unchanged
    assert {r["id"]: r["value"] for r in res["rows"]}["r2"] == {"_id": "target"}
    # without include_docs: no doc member
    res = await view(client, db, "inc", "v")
    assert all("doc" not in r for r in res["rows"])


async def test_include_docs_with_conflicts(client: TestClient, db: str) -> None:
    """REF §4.5 ``conflicts``: with include_docs, each doc carries ``_conflicts``."""
    await bulk(
        client,
        db,
        [
            {"_id": "x", "_rev": "1-aaaa", "k": 1},
            {"_id": "x", "_rev": "1-bbbb", "k": 1},
            {"_id": "y", "_rev": "1-cccc", "k": 2},
        ],
        new_edits=False,
    )
    await put_ddoc(client, db, "c", {"views": {"v": {"map": "function (doc) { emit(doc.k, null); }"}}})
    res = await view(client, db, "c", "v", {"include_docs": True, "conflicts": True})
    docs = {r["id"]: r["doc"] for r in res["rows"]}
    assert docs["x"]["_rev"] == "1-bbbb" and docs["x"]["_conflicts"] == ["1-aaaa"]
    assert "_conflicts" not in docs["y"]
    res = await view(client, db, "c", "v", {"include_docs": True})
    assert all("_conflicts" not in r["doc"] for r in res["rows"])


# -- update / stable / stale / update_seq ------------------------------------------------------


async def db_seq(c: TestClient, db: str) -> Any:
    return (await ok(c, "GET", f"/{db}"))["update_seq"]


async def test_update_seq(client: TestClient, qdb: str) -> None:
    """REF §4.5 ``update_seq=true`` adds the index's seq (the db's after an update)."""
    res = await view(client, qdb, "q", "map", {"update_seq": True, "limit": 1})
    assert res["update_seq"] == await db_seq(client, qdb)
    res = await view(client, qdb, "q", "sum", {"update_seq": True})
    assert res["update_seq"] == await db_seq(client, qdb) and res["rows"] == [{"key": None, "value": 36}]
    res = await view(client, qdb, "q", "map", {"update_seq": False, "limit": 1})
    assert "update_seq" not in res


@pytest.mark.parametrize("params", [{"update": "false"}, {"stale": "ok"}, {"update": False, "stable": True}])
async def test_update_false_answers_from_the_current_index(
    client: TestClient, qdb: str, params: dict[str, Any]
) -> None:
    """REF §4.5 ``update=false`` / ``stale=ok``: the index is not brought up to date."""
    await view(client, qdb, "q", "map")  # index built
    built = await db_seq(client, qdb)
    await ok(client, "PUT", f"/{qdb}/f1", 201, json={"key": "f", "value": 9})
    res = await view(client, qdb, "q", "map", {**params, "update_seq": True})
    assert "f1" not in ids(res) and res["total_rows"] == 8
    assert res["update_seq"] == built
    res = await view(client, qdb, "q", "map", {"update_seq": True})
    assert ids(res)[-1] == "f1" and res["total_rows"] == 9
    assert res["update_seq"] == await db_seq(client, qdb)


@pytest.mark.parametrize("params", [{"update": "lazy"}, {"stale": "update_after"}])
async def test_update_lazy_answers_now_and_updates_after(
    client: TestClient, qdb: str, params: dict[str, Any]
) -> None:
    """REF §4.5 ``update=lazy`` (= ``stale=update_after``): answer from the current index, then
    update it in the background."""
    await view(client, qdb, "q", "map")
    await ok(client, "PUT", f"/{qdb}/f1", 201, json={"key": "f", "value": 9})
    res = await view(client, qdb, "q", "map", params)
    assert "f1" not in ids(res)
    for _ in range(100):
        res = await view(client, qdb, "q", "map", {"update": "false"})
        if "f1" in ids(res):
            break
        await asyncio.sleep(0.05)
    assert "f1" in ids(res), "the lazy update never happened"


# -- multiple queries --------------------------------------------------------------------------


async def test_queries_endpoint(client: TestClient, qdb: str) -> None:
    """REF §4.5 ``POST …/_view/{v}/queries``: one result per query (CVT t_view_with_queries_*)."""
    res = await ok(
        client,
        "POST",
        f"/{qdb}/_design/q/_view/map/queries",
        200,
        json={"queries": [{"keys": ["a", "c"]}, {"limit": 1, "skip": 1}, {"startkey": "d"}]},
    )
    results = res["results"]
    assert len(results) == 3
    assert ids(results[0]) == ["a1", "a2", "c1", "c2", "c3"]
    assert ids(results[1]) == ["a2"] and results[1]["offset"] == 1 and results[1]["total_rows"] == 8
    assert ids(results[2]) == ["d1", "e1"]
    res = await ok(
        client,
        "POST",
        f"/{qdb}/_design/q/_view/sum/queries",
        200,
        json={"queries": [{}, {"group": True, "limit": 1}]},
    )
    assert res["results"] == [{"rows": [{"key": None, "value": 36}]}, {"rows": [{"key": "a", "value": 3}]}]
    ex = await call(
        client, "POST", f"/{qdb}/_design/q/_view/sum/queries", json={"queries": [{"keys": ["a", "b"]}]}
    )
    err(ex, 400, "query_parse_error", MULTI_KEY)
