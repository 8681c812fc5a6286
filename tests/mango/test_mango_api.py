"""Endpoint shapes of ``_index``, ``_find`` and ``_explain``, global and per partition, over HTTP.

Expected answers are CouchDB 3's. Sources (CDB = github.com/apache/couchdb):
  DOCS   CDB src/docs/src/api/database/find.rst (request/response examples, index selection)
  CRUD   CDB test/elixir/test/mango/01_index_crud_test.exs (= src/mango/test/01-index-crud-test.py)
  BASIC  CDB src/mango/test/02-basic-find-test.py
  SEL5   CDB test/elixir/test/mango/05_index_selection_test.exs
  IDX12  CDB test/elixir/test/mango/12_use_correct_index_test.exs
  PAGE   CDB test/elixir/test/mango/14_json_pagination_test.exs
  STATS  CDB test/elixir/test/mango/15_execution_stats_test.exs
  PFS    CDB test/elixir/test/mango/16_index_selectors_test.exs (partial_filter_selector)
  SORT   CDB test/elixir/test/mango/18_json_sort.exs
  CONF   CDB test/elixir/test/mango/19_find_conflicts_test.exs
  EXPL   CDB test/elixir/test/mango/23_explain_indexes_test.exs
  PART   CDB test/elixir/test/partition_mango_test.exs
  CUR    CDB src/mango/src/mango_cursor.erl (warning texts: no_index_warning, invalid_index_warning,
         index_scan_warning; explain/1 keys)
  OPTS   CDB src/mango/src/mango_opts.erl + mango_error.erl (body validation, error names/reasons)
  HTTPD  CDB src/mango/src/mango_httpd.erl (index list/create/delete)
  PR1970 apache/couchdb#1970 (three no_usable_index sort messages: plain db, global and partitioned
         query on a partitioned db)
  REF    /work/shared/reference/couchdb-protocol.md §5 (Mango bullet), §6
"""

from __future__ import annotations

import re
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer

from tests.api.helpers import rdoc
from tests.api.test_security import make_user
from tests.mango import reference
from tests.mango.conftest import enc
from tests.tenants.world import HOSPITALS, build_world

NO_INDEX = "No matching index found, create an index to optimize query time."
TOO_MANY = (
    "The number of documents examined is high in proportion to the number of results returned. "
    "Consider adding a more specific index to improve this."
)
SORT_NO_INDEX = "No index exists for this sort, try indexing by the sort fields."
SORT_NO_GLOBAL = "No global index exists for this sort, try indexing by the sort fields."
SORT_NO_PARTITIONED = "No partitioned index exists for this sort, try indexing by the sort fields."
SPECIAL = {"ddoc": None, "name": "_all_docs", "type": "special", "def": {"fields": [{"_id": "asc"}]}}
HEX40 = re.compile(r"[0-9a-f]{40}")


# --------------------------------------------------------------------------------------------------
# helpers


async def req(c: TestClient, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    r = await c.request(method, path, json=body) if body is not None else await c.request(method, path)
    text = await r.text()
    try:
        return r.status, orjson.loads(text) if text else None
    except orjson.JSONDecodeError:
        return r.status, text


async def ok(c: TestClient, method: str, path: str, body: Any = None, status: int = 200) -> Any:
    st, js = await req(c, method, path, body)
    assert st == status, f"{method} {path} {body!r} -> {st} {js!r}"
    return js


async def err(
    c: TestClient, method: str, path: str, body: Any, status: int, error: str | None, reason: str | None = None
) -> dict[str, Any]:
    st, js = await req(c, method, path, body)
    assert st == status, f"{method} {path} {body!r} -> {st} {js!r}"
    assert isinstance(js, dict), js
    if error is not None:
        assert js.get("error") == error, f"{method} {path} {body!r} -> {st} {js!r}"
    if reason is not None:
        assert js.get("reason") == reason, f"{method} {path} {body!r} -> {st} {js!r}"
    return js


async def find(c: TestClient, db: str, body: dict[str, Any], status: int = 200) -> Any:
    return await ok(c, "POST", f"/{db}/_find", body, status)


async def explain(c: TestClient, db: str, body: dict[str, Any], status: int = 200) -> Any:
    return await ok(c, "POST", f"/{db}/_explain", body, status)


async def index(c: TestClient, db: str, fields: list[Any], **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"index": {"fields": fields}, **extra}
    if "partial_filter_selector" in extra:
        body["index"]["partial_filter_selector"] = body.pop("partial_filter_selector")
    return dict(await ok(c, "POST", f"/{db}/_index", body))


async def bulk(c: TestClient, db: str, docs: list[dict[str, Any]], **extra: Any) -> list[dict[str, Any]]:
    res = await ok(c, "POST", f"/{db}/_bulk_docs", {"docs": docs, **extra}, 201)
    if extra.get("new_edits") is not False:
        assert all("error" not in r for r in res), res
    return list(res)


def ids(body: Any) -> list[str]:
    return [d["_id"] for d in body["docs"]]


async def new_db(c: TestClient, name: str, partitioned: bool = False) -> str:
    await ok(c, "PUT", f"/{name}" + ("?partitioned=true" if partitioned else ""), status=201)
    return name


PAGE_DOCS = [  # PAGE docs
    {"_id": "100", "name": "Jimi", "location": "AUS", "user_id": 1, "same": "value"},
    {"_id": "200", "name": "Eddie", "location": "BRA", "user_id": 2, "same": "value"},
    {"_id": "300", "name": "Harry", "location": "CAN", "user_id": 3, "same": "value"},
    {"_id": "400", "name": "Eddie", "location": "DEN", "user_id": 4, "same": "value"},
    {"_id": "500", "name": "Jones", "location": "ETH", "user_id": 5, "same": "value"},
    {"_id": "600", "name": "Winnifried", "location": "FRA", "user_id": 6, "same": "value"},
    {"_id": "700", "name": "Marilyn", "location": "GHA", "user_id": 7, "same": "value"},
    {"_id": "800", "name": "Sandra", "location": "ZAR", "user_id": 8, "same": "value"},
]

CHOOSE_DOCS = [  # IDX12 docs
    {"_id": "_design/my-design-doc"},
    {"_id": "54af50626de419f5109c962f", "user_id": 0, "age": 10, "name": "Jimi", "location": "UK", "number": 4},
    {"_id": "54af50622071121b25402dc3", "user_id": 1, "age": 12, "name": "Eddie", "location": "ZAR", "number": 2},
    {"_id": "54af50622071121b25402dc6", "user_id": 1, "age": 6, "name": "Harry", "location": "US", "number": 8},
    {"_id": "54af50622071121b25402dc9", "name": "Eddie", "occupation": "engineer", "number": 7},
]

SORT_DOCS = [  # SORT docs
    {"_id": "1", "name": "Jimi", "age": 10, "cars": 1},
    {"_id": "2", "name": "Eddie", "age": 20, "cars": 1},
    {"_id": "3", "name": "Jane", "age": 30, "cars": 2},
    {"_id": "4", "name": "Mary", "age": 40, "cars": 2},
    {"_id": "5", "name": "Sam", "age": 50, "cars": 3},
]


# ==================================================================================================
# _index: create


async def test_create_index_result_and_exists(client: TestClient, db: str) -> None:
    """DOCS: ``{"result":"created","id":"_design/<sha1>","name":"foo-index"}``; the same definition
    again answers ``"exists"`` with the same id and name (CRUD "create idx 01 exists")."""
    body = {"index": {"fields": ["foo"]}, "name": "foo-index", "type": "json"}
    first = await ok(client, "POST", f"/{db}/_index", body)
    assert first["result"] == "created" and first["name"] == "foo-index", first
    assert first["id"].startswith("_design/") and HEX40.fullmatch(first["id"][8:]), first
    assert set(first) == {"result", "id", "name"}
    again = await ok(client, "POST", f"/{db}/_index", body)
    assert again == {"result": "exists", "id": first["id"], "name": "foo-index"}


async def test_default_name_and_ddoc(client: TestClient, db: str) -> None:
    """HTTPD/mango_idx gen_name: without ``name``/``ddoc`` both are the same sha1 hex of the definition
    (DOCS _explain example: ``"ddoc":"_design/0d61…","name":"0d61…"``)."""
    a = await index(client, db, ["a", "b"])
    assert a["result"] == "created" and HEX40.fullmatch(a["name"]), a
    assert a["id"] == "_design/" + a["name"], a
    assert await index(client, db, ["a", "b"]) == {**a, "result": "exists"}
    b = await index(client, db, ["b", "a"])
    assert b["name"] != a["name"] and b["id"] != a["id"]


@pytest.mark.parametrize("ddoc,expected", [("x", "_design/x"), ("_design/y", "_design/y")])
async def test_explicit_ddoc_with_or_without_prefix(client: TestClient, db: str, ddoc: str, expected: str) -> None:
    res = await index(client, db, ["a"], ddoc=ddoc, name="n")
    assert res == {"result": "created", "id": expected, "name": "n"}


async def test_stored_ddoc_shape(client: TestClient, db: str) -> None:
    """REF §6.3: indexes are design docs ``"language":"query"`` with CouchDB's view shape, so they
    replicate and list like CouchDB's (and pouchdb-find reads them: ``views[n].options.def``)."""
    await index(client, db, ["a", "b.c"], ddoc="x", name="y")
    ddoc = await ok(client, "GET", f"/{db}/_design/x")
    assert ddoc["language"] == "query", ddoc
    view = ddoc["views"]["y"]
    assert view["map"]["fields"] == {"a": "asc", "b.c": "asc"}, ddoc
    assert view["map"].get("partial_filter_selector", {}) == {}, ddoc
    assert view["reduce"] == "_count", ddoc
    assert view["options"]["def"] == {"fields": ["a", "b.c"]}, ddoc


async def test_partial_filter_selector_is_stored_and_listed(client: TestClient, db: str) -> None:
    """PFS "saves partial filter selector in index" / "partial filter only in return if not default"."""
    sel = {"location": {"$gte": "FRA"}}
    await index(client, db, ["location"], ddoc="p", name="p", partial_filter_selector=sel)
    await index(client, db, ["location"], ddoc="q", name="q")
    listed = (await ok(client, "GET", f"/{db}/_index"))["indexes"]
    by_name = {i["name"]: i for i in listed}
    assert by_name["p"]["def"]["partial_filter_selector"] == sel, listed
    assert "partial_filter_selector" not in by_name["q"]["def"], listed
    ddoc = await ok(client, "GET", f"/{db}/_design/p")
    assert ddoc["views"]["p"]["map"]["partial_filter_selector"] == sel, ddoc


async def test_two_indexes_in_one_ddoc(client: TestClient, db: str) -> None:
    await index(client, db, ["a"], ddoc="shared", name="n1")
    await index(client, db, ["b"], ddoc="shared", name="n2")
    ddoc = await ok(client, "GET", f"/{db}/_design/shared")
    assert set(ddoc["views"]) == {"n1", "n2"}, ddoc
    listed = (await ok(client, "GET", f"/{db}/_index"))["indexes"]
    assert [(i["ddoc"], i["name"]) for i in listed] == [
        (None, "_all_docs"), ("_design/shared", "n1"), ("_design/shared", "n2")
    ]


BAD_INDEX_BODIES: list[tuple[Any, str | None, str]] = [
    # CRUD "bad fields"
    *[({"index": {"fields": f}}, None, f"CRUD bad fields {f!r}") for f in
      [None, True, False, "bing", 2.0, {"foo": "bar"}, [{"foo": 2}], [{"foo": "asc", "bar": "desc"}],
       [{"foo": "asc"}, {"bar": "desc"}]]],
    # CRUD "bad types"
    *[({"index": {"fields": ["foo"]}, "name": "bad field", "type": t}, None, f"CRUD bad types {t!r}") for t in
      [None, True, False, 1.5, "foo", "geo", {"foo": "bar"}, ["baz", 3.0]]],
    # CRUD "bad names"
    *[({"index": {"fields": ["foo"]}, "name": n}, None, f"CRUD bad names {n!r}") for n in
      ["", True, False, 1.5, {"foo": "bar"}, [None, False]]],
    # CRUD "bad ddocs"
    *[({"index": {"fields": ["foo"]}, "ddoc": d}, None, f"CRUD bad ddocs {d!r}") for d in
      ["", "_design/", True, False, 1.5, {"foo": "bar"}, [None, False]]],
    ({"index": {"fields": ["location"], "selector": {"location": {"$gte": "FRA"}}}}, None,
     "PFS saves selector in index throws"),
    ({"index": {"fields": [""]}}, "invalid_sort_field", "CRUD bad fields [''] (mango_sort:sort_field)"),
    ({}, "missing_required_key", "OPTS validate_idx_create: index is required"),
    ({"index": {"fields": ["a"]}, "foo": 1}, "invalid_key", "OPTS validate/2: unknown key"),
    ({"index": ["a"]}, None, "mango_idx_view: JSON indexes must be an object"),
    ({"index": {}}, None, "no fields"),
    ({"index": {"fields": ["a"]}, "partitioned": "yes"}, None, "OPTS validate_partitioned"),
    ({"index": {"fields": ["a"], "partial_filter_selector": {"a": {"$bad": 1}}}}, None,
     "partial_filter_selector is a selector"),
]


@pytest.mark.parametrize("body,error,source", BAD_INDEX_BODIES, ids=[b[2] for b in BAD_INDEX_BODIES])
async def test_invalid_index_bodies(client: TestClient, db: str, body: Any, error: str | None, source: str) -> None:
    js = await err(client, "POST", f"/{db}/_index", body, 400, error)
    assert isinstance(js.get("reason"), str), js
    assert (await ok(client, "GET", f"/{db}/_index"))["total_rows"] == 1, source


async def test_invalid_index_body_reasons(client: TestClient, db: str) -> None:
    """OPTS: the exact reasons of the body validation errors (mango_error.erl)."""
    await err(client, "POST", f"/{db}/_index", {}, 400, "missing_required_key", "Missing required key: index")
    await err(client, "POST", f"/{db}/_index", {"index": {"fields": ["a"]}, "foo": 1}, 400, "invalid_key",
              "Invalid key foo for this request.")


async def test_index_requires_json_content_type(client: TestClient, db: str) -> None:
    """chttpd:validate_ctype(Req, "application/json") in mango_httpd: 415 otherwise."""
    r = await client.post(f"/{db}/_index", data=b'{"index":{"fields":["a"]}}', headers={"Content-Type": "text/plain"})
    assert r.status == 415, await r.text()
    assert (await r.json())["error"] == "bad_content_type"


async def test_partitioned_true_on_plain_db_is_rejected(client: TestClient, db: str) -> None:
    """DOCS _index: "If you specify true for the partitioned field on an unpartitioned database, an
    error occurs" (REF §5: 400)."""
    await err(client, "POST", f"/{db}/_index", {"index": {"fields": ["a"]}, "partitioned": True}, 400, None)


async def test_non_admin_cannot_create_index(server: TestServer, client: TestClient, db: str) -> None:
    """REF §6.3 / mango_httpd + mango_crud: the ddoc write fails for a member. CouchDB answers
    ``500 error_saving_ddoc``; couchsync answers ``403 forbidden`` (a documented deviation: an
    authorisation failure is not a server error); no ddoc is made."""
    await make_user(client, "bob", "bobpass")
    await ok(client, "PUT", f"/{db}/_security", {"members": {"names": ["bob"]}})
    bob = TestClient(server, headers={"Authorization": aiohttp.encode_basic_auth("bob", "bobpass")})
    await bob.start_server()
    try:
        await err(bob, "POST", f"/{db}/_index", {"index": {"fields": ["a"]}, "ddoc": "x"}, 403, "forbidden")
        await bulk(client, db, [{"_id": "d1", "a": 1}])
        assert ids(await find(bob, db, {"selector": {"a": 1}})) == ["d1"]  # members may query
    finally:
        await bob.session.close()
    assert (await client.get(f"/{db}/_design/x")).status == 404
    assert (await ok(client, "GET", f"/{db}/_index"))["total_rows"] == 1


async def test_anonymous_is_refused(anon: TestClient, db: str) -> None:
    for method, path, body in [
        ("GET", f"/{db}/_index", None),
        ("POST", f"/{db}/_index", {"index": {"fields": ["a"]}}),
        ("POST", f"/{db}/_find", {"selector": {}}),
        ("POST", f"/{db}/_explain", {"selector": {}}),
    ]:
        st, js = await req(anon, method, path, body)
        assert st == 401 and js["error"] == "unauthorized", (method, path, st, js)


# ==================================================================================================
# _index: list


async def test_list_indexes_empty_db(client: TestClient, db: str) -> None:
    """DOCS GET /{db}/_index: the special ``_all_docs`` index is always listed."""
    assert await ok(client, "GET", f"/{db}/_index") == {"total_rows": 1, "indexes": [SPECIAL]}


async def test_list_indexes_shape_and_order(client: TestClient, db: str) -> None:
    """DOCS list shape; HTTPD ``lists:sort(mango_idx:list(Db))``: ``_all_docs`` first, then by ddoc and
    name. A javascript design doc is not an index."""
    await ok(client, "PUT", f"/{db}/_design/js", {"views": {"v": {"map": "function(d){emit(d._id)}"}}}, 201)
    await index(client, db, ["foo"], ddoc="b", name="foo-index")
    await index(client, db, [{"x": "asc"}, {"y": "asc"}], ddoc="a", name="xy")
    got = await ok(client, "GET", f"/{db}/_index")
    assert got == {
        "total_rows": 3,
        "indexes": [
            SPECIAL,
            {"ddoc": "_design/a", "name": "xy", "type": "json", "partitioned": False,
             "def": {"fields": [{"x": "asc"}, {"y": "asc"}]}},
            {"ddoc": "_design/b", "name": "foo-index", "type": "json", "partitioned": False,
             "def": {"fields": [{"foo": "asc"}]}},
        ],
    }


async def test_list_indexes_limit_skip(client: TestClient, db: str) -> None:
    """CRUD "limit skip index". CouchDB answers bad ranges with ``500 invalid_list_index_params``;
    couchsync with 400 and the same error and reason (documented deviation: bad input is a 400)."""
    for i in range(1, 6):
        await index(client, db, [f"field{i}"], name=f"idx_0{i}")

    async def listing(qs: str) -> list[Any]:
        body = await ok(client, "GET", f"/{db}/_index?{qs}")
        assert body["total_rows"] == 6, body
        return list(body["indexes"])

    assert len(await listing("limit=2")) == 2
    assert len(await listing("limit=5&skip=4")) == 2
    assert len(await listing("skip=5")) == 1
    assert await listing("skip=6") == []
    assert await listing("skip=100") == []
    assert len(await listing("limit=10000000")) == 6
    for qs in ("skip=-1", "limit=0"):
        await err(client, "GET", f"/{db}/_index?{qs}", None, 400, "invalid_list_index_params",
                  "Index parameter ranges: limit > 1, skip > 0")


async def test_list_indexes_partitioned_flag(client: TestClient) -> None:
    """REF §5: on a partitioned db an index is partitioned by default; ``"partitioned": false`` makes
    it global; the flag is listed and stored as ``options.partitioned`` of the design doc."""
    pdb = await new_db(client, "pdb", partitioned=True)
    await index(client, pdb, ["a"], ddoc="part", name="part")
    await index(client, pdb, ["a"], ddoc="glob", name="glob", partitioned=False)
    listed = {i["name"]: i for i in (await ok(client, "GET", f"/{pdb}/_index"))["indexes"]}
    assert listed["part"]["partitioned"] is True
    assert listed["glob"]["partitioned"] is False
    assert (await ok(client, "GET", f"/{pdb}/_design/glob")).get("options", {}).get("partitioned") is False


# ==================================================================================================
# _index: delete


@pytest.mark.parametrize(
    "path",
    ["dd/json/idx_01", "_design/dd/json/idx_01", "_design%2Fdd/json/idx_01"],
    ids=["no-prefix", "prefixed", "escaped"],
)
async def test_delete_index(client: TestClient, db: str, path: str) -> None:
    """CRUD "delete idx escaped/unescaped/no design"; mango_idx:delete: a ddoc left with only
    ``language`` is deleted."""
    pre = await ok(client, "GET", f"/{db}/_index")
    await index(client, db, ["foo", "bar"], ddoc="dd", name="idx_01")
    assert await ok(client, "DELETE", f"/{db}/_index/{path}") == {"ok": True}
    assert await ok(client, "GET", f"/{db}/_index") == pre
    assert (await client.get(f"/{db}/_design/dd")).status == 404


async def test_delete_one_of_two_keeps_the_ddoc(client: TestClient, db: str) -> None:
    await index(client, db, ["a"], ddoc="shared", name="n1")
    await index(client, db, ["b"], ddoc="shared", name="n2")
    assert await ok(client, "DELETE", f"/{db}/_index/shared/json/n1") == {"ok": True}
    ddoc = await ok(client, "GET", f"/{db}/_design/shared")
    assert set(ddoc["views"]) == {"n2"} and ddoc["language"] == "query", ddoc
    names = [i["name"] for i in (await ok(client, "GET", f"/{db}/_index"))["indexes"]]
    assert names == ["_all_docs", "n2"]


async def test_recreate_index_after_delete(client: TestClient, db: str) -> None:
    """CRUD "recreate index": create/delete five times, the listing comes back to where it was."""
    pre = await ok(client, "GET", f"/{db}/_index")
    for _ in range(5):
        res = await index(client, db, ["bing"], name="idx_recreate")
        assert res["result"] == "created", res
        assert await ok(client, "DELETE", f"/{db}/_index/{enc(res['id'])}/json/idx_recreate") == {"ok": True}
        assert await ok(client, "GET", f"/{db}/_index") == pre


async def test_delete_missing_index(client: TestClient, db: str) -> None:
    """CRUD "delete missing": missing ddoc, missing name, wrong type -> 404 ``not_found``."""
    await err(client, "DELETE", f"/{db}/_index/this_is_not_a_design_doc_id/json/foo", None, 404, "not_found",
              "missing")
    await index(client, db, ["fields"], ddoc="dd", name="idx_01")
    await err(client, "DELETE", f"/{db}/_index/dd/json/this_is_not_an_index_name", None, 404, "not_found")
    await err(client, "DELETE", f"/{db}/_index/dd/not_a_real_type/idx_01", None, 404, None)
    await err(client, "DELETE", f"/{db}/_index/_design/dd/text/idx_01", None, 404, None)
    assert (await ok(client, "GET", f"/{db}/_index"))["total_rows"] == 2


async def test_index_urls_and_methods(client: TestClient, db: str) -> None:
    """CRUD "bad urls": other methods on ``_index`` paths are 405 (GET,POST and DELETE only), unknown
    sub-paths 404."""
    await index(client, db, ["foo", "bar"], ddoc="dd", name="idx_01")
    for path in ("dd/json/idx_01", "_design/dd/json/idx_01"):
        for method in ("GET", "PUT", "POST"):
            st, js = await req(client, method, f"/{db}/_index/{path}")
            assert st == 405, (method, path, st, js)
    st, js = await req(client, "PUT", f"/{db}/_index")
    assert st == 405, (st, js)
    for sub in ("a", "a/b", "a/b/c/d/e"):
        st, js = await req(client, "GET", f"/{db}/_index/{sub}")
        assert st in (404, 405), (sub, st, js)


# ==================================================================================================
# _find: options and defaults


async def test_find_default_limit_bookmark_and_warning(client: TestClient, db: str) -> None:
    """DOCS: ``limit`` defaults to 25; every answer has a ``bookmark``; CUR no_index_warning text."""
    await bulk(client, db, [{"_id": f"d{i:02d}", "n": i} for i in range(30)])
    body = await find(client, db, {"selector": {}})
    assert ids(body) == [f"d{i:02d}" for i in range(25)]
    assert isinstance(body["bookmark"], str) and body["bookmark"], body
    assert body["warning"] == NO_INDEX
    assert "execution_stats" not in body
    assert len((await find(client, db, {"selector": {}, "limit": 30}))["docs"]) == 30
    assert (await find(client, db, {"selector": {}, "limit": 0}))["docs"] == []


async def test_find_skip_and_limit(client: TestClient, db: str) -> None:
    """BASIC test_limit / test_skip."""
    await bulk(client, db, [{"_id": f"d{i:02d}", "age": i + 1} for i in range(15)])
    for lim in (0, 1, 5, 14):
        assert len((await find(client, db, {"selector": {"age": {"$gt": 0}}, "limit": lim}))["docs"]) == lim
    for sk in (0, 1, 5, 14):
        assert len((await find(client, db, {"selector": {"age": {"$gt": 0}}, "skip": sk}))["docs"]) == 15 - sk
    body = await find(client, db, {"selector": {"age": {"$gt": 0}}, "skip": 3, "limit": 4})
    assert ids(body) == ["d03", "d04", "d05", "d06"]
    assert (await find(client, db, {"selector": {}, "skip": 100}))["docs"] == []


async def test_find_fields_projection(client: TestClient, db: str) -> None:
    """BASIC test_fields; DOCS "Filtering Fields": only the listed fields, nested ones rebuilt,
    ``_id``/``_rev`` only when listed; ``[]`` (or no ``fields``) returns whole documents."""
    docs = [
        {"_id": "a", "user_id": 1, "location": {"address": "x 1", "city": "Y"}, "tags": ["p", "q"], "k.d": 5},
        {"_id": "b", "user_id": 2, "location": {"city": "Z"}},
        {"_id": "c", "user_id": 3},
    ]
    await bulk(client, db, [dict(d) for d in docs])
    sel = {"user_id": {"$gt": 0}}
    got = (await find(client, db, {"selector": sel, "fields": ["user_id", "location.address"]}))["docs"]
    assert got == [{"user_id": 1, "location": {"address": "x 1"}}, {"user_id": 2}, {"user_id": 3}]
    got = (await find(client, db, {"selector": sel, "fields": ["_id", "tags.1", "k\\.d"]}))["docs"]
    assert got == [{"_id": "a", "tags": {"1": "q"}, "k.d": 5}, {"_id": "b"}, {"_id": "c"}]
    got = (await find(client, db, {"selector": {"_id": "a"}, "fields": ["_rev"]}))["docs"]
    assert list(got[0]) == ["_rev"] and got[0]["_rev"].startswith("1-"), got
    for fields_opt in ({"fields": []}, {}):
        whole = (await find(client, db, {"selector": {"_id": "a"}, **fields_opt}))["docs"][0]
        assert {k: v for k, v in whole.items() if k != "_rev"} == docs[0] and "_rev" in whole


async def test_find_r_stable_update_stale_accepted(client: TestClient, db: str) -> None:
    """BASIC test_r; OPTS ``r``, ``stable``, ``update``, ``stale`` are valid options."""
    await bulk(client, db, [{"_id": "a", "age": 1}, {"_id": "b", "age": 2}])
    await index(client, db, ["age"])
    for extra in ({"r": 1}, {"r": 2}, {"r": 3}, {"stable": True}, {"update": True}, {"stale": "ok"},
                  {"stale": False}, {"execution_stats": False}, {"conflicts": False}, {"allow_fallback": True}):
        body = await find(client, db, {"selector": {"age": {"$gt": 0}}, **extra})
        assert sorted(ids(body)) == ["a", "b"], extra


BAD_FIND_BODIES: list[tuple[dict[str, Any], str | None, str]] = [
    ({}, "missing_required_key", "OPTS selector is required"),
    ({"selector": {}, "foo": 1}, "invalid_key", "OPTS validate/2: unknown key"),
    *[({"selector": {"int": {"$gt": 2}}, "limit": v}, None, f"BASIC test_bad_limit {v!r}")
      for v in [None, True, False, -1, 1.2, "no limit!", {"foo": "bar"}, [2]]],
    *[({"selector": {"int": {"$gt": 2}}, "skip": v}, None, f"BASIC test_bad_skip {v!r}")
      for v in [None, True, False, -3, 1.2, "no limit!", {"foo": "bar"}, [2]]],
    *[({"selector": {"int": {"$gt": 2}}, "sort": v}, None, f"BASIC test_bad_sort {v!r}")
      for v in [None, True, False, 1.2, "no limit!", {"foo": "bar"}, [2], [{"foo": "asc", "bar": "asc"}],
                [{"foo": "asc"}, {"bar": "desc"}], [{"foo": "up"}]]],
    *[({"selector": {"int": {"$gt": 2}}, "fields": v}, None, f"BASIC test_bad_fields {v!r}")
      for v in [None, True, False, 1.2, "no limit!", {"foo": "bar"}, [2], [[]], ["foo", 2.0]]],
    *[({"selector": {"int": {"$gt": 2}}, "r": v}, None, f"BASIC test_bad_r {v!r}")
      for v in [None, True, False, 1.2, "no limit!", {"foo": "bar"}, [2], 0]],
    *[({"selector": {"int": {"$gt": 2}}, "conflicts": v}, None, f"BASIC test_bad_conflicts {v!r}")
      for v in [None, 1.2, "no limit!", {"foo": "bar"}, [2]]],
    *[({"selector": {"manager": True}, "use_index": v}, None, f"SEL5 use index with invalid name {v!r}")
      for v in ["foo/bar/baz", ["foo", "bar", "baz"], 5, [1]]],
    ({"selector": {}, "sort": [""]}, "invalid_sort_field", "mango_sort:sort_field(<<\"\">>)"),
    ({"selector": {}, "bookmark": 5}, None, "OPTS validate_bookmark"),
    ({"selector": {}, "execution_stats": "yes"}, None, "OPTS is_boolean"),
    ({"selector": {}, "update": "yes"}, None, "OPTS is_boolean"),
    ({"selector": {}, "stable": 1}, None, "OPTS is_boolean"),
    ({"selector": {}, "stale": "later"}, None, "OPTS is_ok_or_false"),
    ({"selector": {}, "allow_fallback": "no"}, None, "OPTS is_boolean"),
]


@pytest.mark.parametrize("body,error,source", BAD_FIND_BODIES, ids=[b[2] for b in BAD_FIND_BODIES])
async def test_invalid_find_bodies(client: TestClient, db: str, body: Any, error: str | None, source: str) -> None:
    for endpoint in ("_find", "_explain"):
        js = await err(client, "POST", f"/{db}/{endpoint}", body, 400, error)
        assert isinstance(js.get("reason"), str), (source, js)


async def test_find_body_error_reasons(client: TestClient, db: str) -> None:
    """OPTS/mango_error.erl exact names and reasons of the body validation errors."""
    p = f"/{db}/_find"
    await err(client, "POST", p, {}, 400, "missing_required_key", "Missing required key: selector")
    await err(client, "POST", p, {"selector": {}, "foo": 1}, 400, "invalid_key", "Invalid key foo for this request.")
    await err(client, "POST", p, {"selector": {}, "limit": -1}, 400, "invalid_non_neg_integer",
              "-1 is not an integer greater than or equal to zero")
    await err(client, "POST", p, {"selector": {}, "skip": -3}, 400, "invalid_non_neg_integer",
              "-3 is not an integer greater than or equal to zero")
    await err(client, "POST", p, {"selector": {}, "r": 0}, 400, "invalid_pos_integer",
              "0 is not an integer greater than zero")
    await err(client, "POST", p, {"selector": {}, "conflicts": 1.2}, 400, "invalid_boolean",
              "Invalid boolean value: 1.2")
    await err(client, "POST", p, {"selector": {}, "sort": [{"a": "asc"}, {"b": "desc"}]}, 400,
              "unsupported_mixed_sort", "Sorts currently only support a single direction for all fields.")
    await err(client, "POST", p, {"selector": {}, "fields": "x"}, 400, "invalid_fields",
              "Fields must be an array of strings, not: <<120>>")
    await err(client, "POST", p, {"selector": {}, "fields": [2]}, 400, "invalid_field",
              "Invalid JSON for field spec: 2")
    await err(client, "POST", p, {"selector": {}, "use_index": ["foo", "bar", "baz"]}, 400, "invalid_index_name",
              "Invalid index name: [<<102,111,111>>,<<98,97,114>>,<<98,97,122>>]")


async def test_find_requires_post_and_json(client: TestClient, db: str) -> None:
    """mango_httpd: ``_find``/``_explain`` are POST only (405), JSON only (415)."""
    for endpoint in ("_find", "_explain"):
        st, js = await req(client, "GET", f"/{db}/{endpoint}")
        assert st == 405 and js["error"] == "method_not_allowed", (endpoint, st, js)
        r = await client.post(f"/{db}/{endpoint}", data=b'{"selector":{}}', headers={"Content-Type": "text/plain"})
        assert r.status == 415, (endpoint, await r.text())
    await err(client, "POST", "/no_such_db/_find", {"selector": {}}, 404, "not_found")


async def test_deleted_and_design_docs_never_returned(client: TestClient, db: str) -> None:
    """REF §6.1: only non-deleted, non-design documents (winning revisions) are matched — with
    ``_all_docs`` and with an index (CDB 11-ignore-design-docs-test.py)."""
    await bulk(client, db, [{"_id": f"d{i}", "a": 1} for i in range(4)])
    await ok(client, "PUT", f"/{db}/_design/x", {"a": 1, "views": {}}, 201)
    rev = (await ok(client, "GET", f"/{db}/d2"))["_rev"]
    await ok(client, "DELETE", f"/{db}/d2?rev={rev}")
    # a deleted winner over a live conflict branch: the live branch wins
    await bulk(client, db, [rdoc("d9", 1, "a", a=1)], new_edits=False)
    await bulk(client, db, [rdoc("d9", 2, "c", "b", a=1, _deleted=True)], new_edits=False)
    for selector in ({}, {"a": 1}, {"_id": {"$gt": None}}, {"a": {"$exists": True}}):
        assert sorted(ids(await find(client, db, {"selector": selector}))) == ["d0", "d1", "d3", "d9"], selector
    await index(client, db, ["a"])
    assert sorted(ids(await find(client, db, {"selector": {"a": 1}}))) == ["d0", "d1", "d3", "d9"]


async def test_conflicts_option(client: TestClient, db: str) -> None:
    """CONF "retrieve conflicts": with ``conflicts: true`` docs carry ``_conflicts``; REF §6.1."""
    await bulk(client, db, [rdoc("doc", 1, "b", a=2), rdoc("doc", 1, "a", a=1)], new_edits=False)
    await bulk(client, db, [{"_id": "plain", "a": 2}])
    body = await find(client, db, {"selector": {"a": 2}, "conflicts": True})
    by_id = {d["_id"]: d for d in body["docs"]}
    assert by_id["doc"]["_rev"] == "1-" + "b" * 32
    assert by_id["doc"]["_conflicts"] == ["1-" + "a" * 32]
    assert "_conflicts" not in by_id["plain"]
    body = await find(client, db, {"selector": {"a": 2}})
    assert all("_conflicts" not in d for d in body["docs"]), body
    await index(client, db, ["_conflicts"])
    got = (await find(client, db, {"selector": {"_conflicts": {"$exists": True}}, "conflicts": True}))["docs"]
    assert [(d["_id"], d["_rev"], d["_conflicts"]) for d in got] == [("doc", "1-" + "b" * 32, ["1-" + "a" * 32])]


async def test_update_false_does_not_return_deleted_docs(client: TestClient, db: str) -> None:
    """CRUD "out of sync": with ``update: false`` a stale index still never yields a deleted doc."""
    await bulk(client, db, [{"_id": "1", "name": "Jimi", "age": 10}, {"_id": "2", "name": "kate", "age": 8}])
    res = await index(client, db, ["age"], name="age")
    sel = {"age": {"$gt": 0}}
    assert len((await find(client, db, {"selector": sel, "use_index": res["id"]}))["docs"]) == 2
    rev = (await ok(client, "GET", f"/{db}/1"))["_rev"]
    await ok(client, "DELETE", f"/{db}/1?rev={rev}")
    body = await find(client, db, {"selector": sel, "update": False, "use_index": res["id"]})
    assert ids(body) == ["2"]
    body = await find(client, db, {"selector": sel, "use_index": res["id"]})
    assert ids(body) == ["2"]


# ==================================================================================================
# bookmarks (PAGE)


async def _page_all(c: TestClient, db: str, body: dict[str, Any], path: str = "_find") -> tuple[list[str], str]:
    seen: list[str] = []
    bookmark = None
    for _ in range(100):
        page = await ok(c, "POST", f"/{db}/{path}", {**body, **({"bookmark": bookmark} if bookmark else {})})
        if not page["docs"]:
            return seen, page["bookmark"]
        seen += ids(page)
        bookmark = page["bookmark"]
    raise AssertionError("bookmark paging did not end")


async def test_page_all_docs_to_end(client: TestClient, db: str) -> None:
    """PAGE "all docs paginate to end" and "return previous bookmark for empty"."""
    await bulk(client, db, [dict(d) for d in PAGE_DOCS])
    sel = {"_id": {"$gt": 0}}
    p1 = await find(client, db, {"selector": sel, "fields": ["_id"], "limit": 5})
    assert ids(p1) == ["100", "200", "300", "400", "500"]
    p2 = await find(client, db, {"selector": sel, "fields": ["_id"], "limit": 5, "bookmark": p1["bookmark"]})
    assert ids(p2) == ["600", "700", "800"]
    p3 = await find(client, db, {"selector": sel, "limit": 5, "bookmark": p2["bookmark"]})
    assert p3["docs"] == []
    p4 = await find(client, db, {"selector": sel, "limit": 5, "bookmark": p3["bookmark"]})
    assert p4["docs"] == [] and p4["bookmark"] == p3["bookmark"]


async def test_page_with_skip(client: TestClient, db: str) -> None:
    """PAGE "all docs with skip": the skip applies to the first page only."""
    await bulk(client, db, [dict(d) for d in PAGE_DOCS])
    sel = {"_id": {"$gt": 0}}
    p1 = await find(client, db, {"selector": sel, "fields": ["_id"], "skip": 2, "limit": 5})
    assert ids(p1) == ["300", "400", "500", "600", "700"]
    p2 = await find(client, db, {"selector": sel, "fields": ["_id"], "limit": 5, "bookmark": p1["bookmark"]})
    assert ids(p2) == ["800"]
    assert (await find(client, db, {"selector": sel, "limit": 5, "bookmark": p2["bookmark"]}))["docs"] == []


async def test_page_reverse_by_id(client: TestClient, db: str) -> None:
    """PAGE "all docs reverse"."""
    await bulk(client, db, [dict(d) for d in PAGE_DOCS])
    body = {"selector": {"_id": {"$gt": 0}}, "fields": ["_id"], "sort": [{"_id": "desc"}], "limit": 5}
    p1 = await find(client, db, body)
    assert ids(p1) == ["800", "700", "600", "500", "400"]
    p2 = await find(client, db, {**body, "bookmark": p1["bookmark"]})
    assert ids(p2) == ["300", "200", "100"]
    assert (await find(client, db, {**body, "bookmark": p2["bookmark"]}))["docs"] == []


@pytest.mark.parametrize(
    "fields,selector,sort,first,second",
    [
        (["location"], {"location": {"$gt": "A"}}, None, "100", "600"),
        (["location", "user_id"], {"location": {"$gt": "A"}, "user_id": {"$gte": 1}}, None, "100", "600"),
        (["location", "user_id"], {"location": {"$gt": "A"}, "user_id": {"$gte": 1}},
         [{"location": "desc"}, {"user_id": "desc"}], "800", "300"),
        (["same"], {"same": {"$gt": ""}}, None, "100", "600"),
    ],
    ids=["index pagination", "two keys", "reverse", "same emitted key"],
)
async def test_page_with_index(
    client: TestClient, db: str, fields: list[str], selector: Any, sort: Any, first: str, second: str
) -> None:
    """PAGE "index pagination", "... two keys", "... reverse", "... same emitted key"."""
    await bulk(client, db, [dict(d) for d in PAGE_DOCS])
    await index(client, db, fields)
    body: dict[str, Any] = {"selector": selector, "fields": ["_id"], "limit": 5, **({"sort": sort} if sort else {})}
    p1 = await find(client, db, body)
    assert len(p1["docs"]) == 5 and ids(p1)[0] == first, p1
    p2 = await find(client, db, {**body, "bookmark": p1["bookmark"]})
    assert len(p2["docs"]) == 3 and ids(p2)[0] == second, p2
    assert (await find(client, db, {**body, "bookmark": p2["bookmark"]}))["docs"] == []


@pytest.mark.parametrize("variant", ["all_docs", "index", "index-sort-desc", "index-ties"])
async def test_bookmark_round_trip(client: TestClient, db: str, variant: str) -> None:
    """Paging 54 matches 7 at a time with bookmarks yields each match exactly once, in the order of
    one big query (DOCS "Pagination")."""
    docs = [{"_id": f"d{i:03d}", "n": (i * 37) % 50, "g": i % 4, "odd": i % 2} for i in range(60)]
    await bulk(client, db, [dict(d) for d in docs])
    body: dict[str, Any] = {"selector": {"n": {"$gte": 5}, "odd": {"$in": [0, 1]}}}
    if variant != "all_docs":
        await index(client, db, ["g" if variant == "index-ties" else "n"])
    if variant == "index-sort-desc":
        body["sort"] = [{"n": "desc"}]
    if variant == "index-ties":
        body["selector"]["g"] = {"$gte": 0}
        body["sort"] = ["g"]
    full = ids(await find(client, db, {**body, "limit": 1000}))
    assert len(full) == sum(1 for d in docs if d["n"] >= 5) == 54
    paged, _ = await _page_all(client, db, {**body, "limit": 7})
    assert paged == full


async def test_bad_bookmark(client: TestClient, db: str) -> None:
    """PAGE "bad bookmark" and "throws error on text bookmark"."""
    await err(client, "POST", f"/{db}/_find", {"selector": {"_id": {"$gt": 0}}, "bookmark": "bad-bookmark"},
              400, "invalid_bookmark", 'Invalid bookmark value: "bad-bookmark"')
    text_bm = "g2wAAAABaANkABFub2RlMUBjb3VjaGRiLm5ldGwAAAACYQBiP____2poAkY_8AAAAAAAAGEHag"
    await err(client, "POST", f"/{db}/_find", {"selector": {"_id": {"$gt": 0}}, "bookmark": text_bm},
              400, "invalid_bookmark")


# ==================================================================================================
# warnings (CUR) and use_index / allow_fallback (SEL5)


async def _choose_db(client: TestClient, db: str) -> None:
    await bulk(client, db, [dict(d) for d in CHOOSE_DOCS])


async def test_warning_only_without_index(client: TestClient, db: str) -> None:
    """IDX12 "warn on full db scan"; with a usable index there is no warning at all."""
    await _choose_db(client, db)
    body = await find(client, db, {"selector": {"not_indexed": "foo"}})
    assert body["warning"] == NO_INDEX and body["docs"] == []
    assert (await explain(client, db, {"selector": {"not_indexed": "foo"}}))["index"]["type"] == "special"
    await index(client, db, ["name"], ddoc="zzz")
    body = await find(client, db, {"selector": {"name": "Eddie"}})
    assert "warning" not in body and len(body["docs"]) == 2


async def test_warning_documents_examined_ratio(client: TestClient, db: str) -> None:
    """CUR index_scan_warning: more than 10 docs examined per result adds the second warning line
    (also on a full scan, after the no-index line); a selective query has none."""
    await bulk(client, db, [{"_id": f"d{i:02d}", "a": i, "b": "rare" if i == 7 else "common"} for i in range(40)])
    body = await find(client, db, {"selector": {"b": "rare"}})
    assert ids(body) == ["d07"] and body["warning"] == f"{NO_INDEX}\n{TOO_MANY}", body
    await index(client, db, ["a"])
    body = await find(client, db, {"selector": {"a": {"$gte": 0}, "b": "rare"}})
    assert ids(body) == ["d07"] and body["warning"] == TOO_MANY, body
    body = await find(client, db, {"selector": {"a": {"$gte": 30}}})
    assert len(body["docs"]) == 10 and "warning" not in body, body


async def test_use_index_valid(client: TestClient, db: str) -> None:
    """SEL5 "use most columns" / "prefer use index over optimal index": a usable ``use_index`` wins,
    with no warning; ``["ddoc", "name"]`` and the ``_design/`` prefix are both accepted."""
    await _choose_db(client, db)
    await index(client, db, ["name"], ddoc="preferred", name="p")
    await index(client, db, ["name", "age"], ddoc="better", name="b")
    sel = {"name": "Eddie", "age": {"$gt": 0}}
    assert (await explain(client, db, {"selector": sel}))["index"]["ddoc"] == "_design/better"
    for use in ("preferred", "_design/preferred", ["preferred", "p"], ["_design/preferred", "p"]):
        ex = await explain(client, db, {"selector": sel, "use_index": use})
        assert ex["index"]["ddoc"] == "_design/preferred", use
        body = await find(client, db, {"selector": sel, "use_index": use})
        assert "warning" not in body and ids(body) == ["54af50622071121b25402dc3"], (use, body)


async def test_use_index_invalid_falls_back_with_warning(client: TestClient, db: str) -> None:
    """SEL5 "invalid use index", "reject use index invalid fields", "reject use index ddoc and name
    invalid fields": the hint is ignored with CUR invalid_index_warning, results stay right."""
    await bulk(client, db, [{"_id": "c1", "company": "Pharmex"}, {"_id": "c2", "company": "Pharmex", "manager": True},
                            {"_id": "c3", "company": "Other", "manager": False}])
    await index(client, db, ["company", "manager"], ddoc="company_and_manager", name="company_and_manager")
    await index(client, db, ["age"], ddoc="age", name="age")
    body = await find(client, db, {"selector": {}, "use_index": "_design/age"})
    lines = body["warning"].split("\n")
    assert lines[0] == "_design/age was not used because it does not contain a valid index for this query."
    assert NO_INDEX in lines, body
    body = await find(client, db, {"selector": {"company": "Pharmex"}, "use_index": "company_and_manager"})
    assert body["warning"].split("\n")[0] == (
        "_design/company_and_manager was not used because it does not contain a valid index for this query."
    )
    assert sorted(ids(body)) == ["c1", "c2"]
    body = await find(client, db, {"selector": {"company": "Pharmex"},
                                   "use_index": ["_design/company_and_manager", "company_and_manager"]})
    assert body["warning"].split("\n")[0] == (
        "_design/company_and_manager, company_and_manager was not used because it is not a valid index for "
        "this query."
    )
    assert sorted(ids(body)) == ["c1", "c2"]
    body = await find(client, db, {"selector": {"company": "Pharmex"}, "use_index": "nope"})
    assert body["warning"].split("\n")[0] == "_design/nope was not used because it does not contain a valid index " \
                                             "for this query."


async def test_use_index_fallback_to_valid_sort_index(client: TestClient, db: str) -> None:
    """SEL5 "use index fallback if valid sort"."""
    await index(client, db, ["foo"], ddoc="fallbackfoobar")
    await index(client, db, ["foo", "bar"], ddoc="fallbackfoo")
    body = {"selector": {"foo": {"$gt": None}}, "sort": ["foo", "bar"], "use_index": "fallbackfoobar"}
    assert (await explain(client, db, body))["index"]["ddoc"] == "_design/fallbackfoo"
    res = await find(client, db, body)
    assert res["warning"].split("\n")[0] == (
        "_design/fallbackfoobar was not used because it does not contain a valid index for this query."
    )
    assert res["docs"] == []


async def test_use_index_sort_order_rejected(client: TestClient, db: str) -> None:
    """SEL5 "reject use index sort order": no index can serve the sort -> 400."""
    await index(client, db, ["company", "manager"], ddoc="company_and_manager")
    await err(client, "POST", f"/{db}/_find", {"selector": {"company": {"$gt": None}},
              "use_index": "company_and_manager", "sort": [{"company": "desc"}]}, 400, "no_usable_index")


async def test_allow_fallback_false(client: TestClient, db: str) -> None:
    """SEL5 "use index without fallback ..." / "index without fallback" / "no index without fallback";
    DOCS allow_fallback; REF §6.1 (``400 no_usable_index``)."""
    await bulk(client, db, [{"_id": "m1", "manager": True, "company": "x"}, {"_id": "m2", "manager": False}])
    await index(client, db, ["manager"], ddoc="manager", name="manager")
    assert ids(await find(client, db, {"selector": {"manager": True}, "use_index": "manager",
                                       "allow_fallback": False})) == ["m1"]
    await err(client, "POST", f"/{db}/_find", {"selector": {"manager": True}, "use_index": "invalid",
                                               "allow_fallback": False}, 400, "no_usable_index")
    assert ids(await find(client, db, {"selector": {"manager": True}, "use_index": [],
                                       "allow_fallback": False})) == ["m1"]
    await err(client, "POST", f"/{db}/_find", {"selector": {"company": "foobar"}, "use_index": [],
                                               "allow_fallback": False}, 400, "no_usable_index")
    await err(client, "POST", f"/{db}/_find", {"selector": {"company": "foobar"}, "use_index": "invalid",
                                               "allow_fallback": False}, 400, "no_usable_index")
    assert ids(await find(client, db, {"selector": {"manager": True}, "allow_fallback": False})) == ["m1"]
    await err(client, "POST", f"/{db}/_find", {"selector": {"company": "foobar"}, "allow_fallback": False},
              400, "no_usable_index")


async def test_partial_index_only_when_named(client: TestClient, db: str) -> None:
    """PFS: a partial index is used only when named in ``use_index`` (then only its documents can
    match); otherwise another index or ``_all_docs`` serves the query."""
    await bulk(client, db, [dict(d) for d in PAGE_DOCS])
    sel = {"location": {"$gte": "FRA"}}
    await index(client, db, ["location"], ddoc="Selected", name="Selected", partial_filter_selector=sel)
    assert (await explain(client, db, {"selector": sel}))["index"]["name"] == "_all_docs"
    assert (await explain(client, db, {"selector": sel, "use_index": "Selected"}))["index"]["name"] == "Selected"
    assert sorted(ids(await find(client, db, {"selector": sel, "use_index": "Selected"}))) == ["600", "700", "800"]
    sel2 = {"location": {"$gte": "A"}}
    assert sorted(ids(await find(client, db, {"selector": sel2, "use_index": "Selected"}))) == ["600", "700", "800"]
    sel3 = {"location": {"$exists": True}}
    assert sorted(ids(await find(client, db, {"selector": sel3, "use_index": "Selected"}))) == ["600", "700", "800"]
    await index(client, db, ["location"], name="NotSelected")
    assert (await explain(client, db, {"selector": sel}))["index"]["name"] == "NotSelected"


# ==================================================================================================
# sort


async def test_sort_without_index_messages(client: TestClient, db: str) -> None:
    """PR1970 / REF §5: the three ``no_usable_index`` sort messages. ``_id`` sorts need no index."""
    await bulk(client, db, [{"_id": "a", "x": 2}, {"_id": "b", "x": 1}])
    await err(client, "POST", f"/{db}/_find", {"selector": {"x": {"$gt": 0}}, "sort": ["x"]}, 400,
              "no_usable_index", SORT_NO_INDEX)
    assert ids(await find(client, db, {"selector": {"x": {"$gt": 0}}, "sort": [{"_id": "desc"}]})) == ["b", "a"]
    pdb = await new_db(client, "pdb", partitioned=True)
    await bulk(client, pdb, [{"_id": "p:a", "x": 2}, {"_id": "p:b", "x": 1}])
    await err(client, "POST", f"/{pdb}/_find", {"selector": {"x": {"$gt": 0}}, "sort": ["x"]}, 400,
              "no_usable_index", SORT_NO_GLOBAL)
    await err(client, "POST", f"/{pdb}/_partition/p/_find", {"selector": {"x": {"$gt": 0}}, "sort": ["x"]}, 400,
              "no_usable_index", SORT_NO_PARTITIONED)
    # a partitioned index serves partition queries only, a global one global queries only
    await index(client, pdb, ["x"], ddoc="px", name="px")
    await err(client, "POST", f"/{pdb}/_find", {"selector": {"x": {"$gt": 0}}, "sort": ["x"]}, 400,
              "no_usable_index", SORT_NO_GLOBAL)
    assert ids(await ok(client, "POST", f"/{pdb}/_partition/p/_find",
                        {"selector": {"x": {"$gt": 0}}, "sort": ["x"]})) == ["p:b", "p:a"]
    await index(client, pdb, ["x"], ddoc="gx", name="gx", partitioned=False)
    assert ids(await find(client, pdb, {"selector": {"x": {"$gt": 0}}, "sort": [{"x": "desc"}]})) == ["p:a", "p:b"]


async def test_sort_order_and_ties(client: TestClient, db: str) -> None:
    """BASIC test_sort / test_sort_desc_complex; equal keys come in ``_id`` order (view row order),
    reversed for ``desc``; documents without the sort field are not returned (they are not in the
    index): REF §6.3."""
    docs = [{"_id": f"d{i}", "age": a} for i, a in enumerate([30, 10, 20, 10, 30, 20, 10])] + [{"_id": "nope"}]
    await bulk(client, db, docs)
    await index(client, db, ["age"])
    asc = await find(client, db, {"selector": {"_id": {"$gt": None}}, "sort": ["age"]})
    assert ids(asc) == ["d1", "d3", "d6", "d2", "d5", "d0", "d4"]
    desc = await find(client, db, {"selector": {"age": {"$gt": 0}}, "sort": [{"age": "desc"}]})
    assert ids(desc) == ["d4", "d0", "d5", "d2", "d6", "d3", "d1"]
    assert ids(await find(client, db, {"selector": {"age": {"$gt": 0}}, "sort": [{"age": "asc"}], "skip": 2,
                                       "limit": 3})) == ["d6", "d2", "d5"]


async def test_sort_mixed_types_collation(client: TestClient, db: str) -> None:
    """A sort over mixed types follows view collation (null < false < true < numbers < strings <
    arrays < objects, strings by ICU: a < A < b)."""
    values = [{"k": 1}, [1], "b", "A", "a", 2.5, 1, True, False, None]
    await bulk(client, db, [{"_id": f"v{i}", "v": v} for i, v in enumerate(values)])
    await index(client, db, ["v"])
    got = [d["v"] for d in (await find(client, db, {"selector": {"v": {"$gte": None}}, "sort": ["v"]}))["docs"]]
    assert got == [None, False, True, 1, 2.5, "a", "A", "b", [1], {"k": 1}]


SORT_EXPLAIN_CASES = [
    # (index fields, selector, sort, expected index name or None for no_usable_index, direction)
    (["cars", "age"], {"cars": "2", "age": {"$gt": 10}}, ["age"], "cars-age", "fwd", "test_works_for_basic_case"),
    (["cars", "age"], {"cars": "2", "age": {"$gt": 10}}, ["cars", "age"], "cars-age", None,
     "test_works_for_all_fields_specified"),
    (["cars", "age"], {"cars": {"$gt": 10}, "age": {"$gt": 10}}, None, "cars-age", None,
     "test_works_for_no_sort_fields_specified"),
    (["cars", "age"], {"cars": "2", "age": {"$gt": 10}}, [{"age": "desc"}], "cars-age", "rev",
     "test_works_for_opp_dir_sort"),
    (["cars", "age"], {"cars": {"$gt": 10}, "age": {"$gt": 10}}, ["age"], None, None,
     "test_not_work_for_non_constant_field"),
    (["cars", "age", "name"], {"cars": "2", "age": 10, "name": {"$gt": "AA"}}, ["name"], "cars-age-name", None,
     "test_three_index_one"),
    (["cars", "age", "name"], {"cars": "2", "name": "Eddie", "age": {"$gt": 10}}, ["age"], "cars-age-name", None,
     "test_three_index_two"),
    (["cars", "age", "name"], {"name": "Eddie", "age": {"$gt": 1}, "cars": {"$gt": "1"}}, ["name"], None, None,
     "test_three_index_fails"),
    (["cars", "age", "name"], {"name": {"$gt": "Eddie"}, "age": 10, "cars": {"$gt": "1"}}, None, "cars-age-name",
     None, "test_empty_sort"),
    (["cars", "age", "name"], {"name": "Eddie", "age": 10, "cars": {"$gt": "1"}}, ["cars", "name"], None, None,
     "test_in_between"),
    (["cars", "age", "name"], {"age": {"$gt": 10}, "cars": 2, "name": {"$gt": "A"}}, ["age"], "cars-age-name", None,
     "test_ignore_after_set_sort_value"),
    (["cars", "age"], {"age": 10, "cars": {"$gt": "1"}}, ["cars", "name"], None, None,
     "test_not_use_index_if_other_fields_in_sort"),
]


@pytest.mark.parametrize("fields,selector,sort,name,direction,source", SORT_EXPLAIN_CASES,
                         ids=[c[-1] for c in SORT_EXPLAIN_CASES])
async def test_sort_index_choice(
    client: TestClient, db: str, fields: list[str], selector: Any, sort: Any, name: str | None,
    direction: str | None, source: str
) -> None:
    """SORT (18_json_sort.exs): which sorts an index serves when its leading fields are fixed by
    ``$eq`` in the selector."""
    await bulk(client, db, [dict(d) for d in SORT_DOCS])
    await index(client, db, fields, name="-".join(fields))
    body: dict[str, Any] = {"selector": selector, **({"sort": sort} if sort else {})}
    if name is None:
        await err(client, "POST", f"/{db}/_find", body, 400, "no_usable_index")
        return
    ex = await explain(client, db, body)
    assert ex["index"]["name"] == name, ex
    if direction is not None:
        assert ex["mrargs"]["direction"] == direction, ex
    got = ids(await find(client, db, body))
    expected = [d["_id"] for d in reference.find([dict(d) for d in SORT_DOCS], selector, sort=sort,
                                                 order_fields=fields)]
    assert got == expected


# ==================================================================================================
# index choice (IDX12)

CHOOSE_CASES = [
    ([(["name", "age", "user_id"], "aaa"), (["name"], "zzz")], {"name": "Eddie"}, "_design/zzz",
     "choose index with one field in index"),
    ([(["name", "age", "user_id"], "aaa"), (["name", "age"], "bbb"), (["name"], "zzz")],
     {"name": "Eddie", "age": {"$gte": 12}}, "_design/bbb", "choose index with two"),
    ([(["name"], "aaa"), (["name"], "bbb"), (["name"], "zzz")], {"name": "Eddie", "age": {"$gte": 12}},
     "_design/aaa", "choose index alphabetically"),
    ([(["name", "location", "user_id"], "aaa"), (["name", "age", "user_id"], "bbb"), (["name"], "zzz")],
     {"name": "Eddie", "number": {"$lte": 12}}, "_design/zzz", "choose index most accurate in memory selector"),
    ([(["name", "_id"], "aaa")], {"name": "Eddie"}, "_design/aaa", "choose index with id"),
    ([(["name", "_rev"], "aaa")], {"name": "Eddie"}, "_design/aaa", "choose index with rev"),
]


@pytest.mark.parametrize("indexes,selector,ddoc,source", CHOOSE_CASES, ids=[c[-1] for c in CHOOSE_CASES])
async def test_index_choice(client: TestClient, db: str, indexes: Any, selector: Any, ddoc: str, source: str) -> None:
    await _choose_db(client, db)
    for fields, dd in indexes:
        await index(client, db, fields, ddoc=dd)
    assert (await explain(client, db, {"selector": selector}))["index"]["ddoc"] == ddoc
    got = sorted(ids(await find(client, db, {"selector": selector})))
    expected = sorted(d["_id"] for d in reference.find([dict(d) for d in CHOOSE_DOCS[1:]], selector))
    assert got == expected


async def test_index_choice_chooses_idx_a_and_secondary_range(client: TestClient, db: str) -> None:
    """IDX12 "chooses idxA" and "can query with range on secondary column"."""
    await _choose_db(client, db)
    await bulk(client, db, [{"a": 1, "b": 1, "c": 1}, {"a": 1000, "d": 1000, "e": 1000}])
    await index(client, db, ["a", "b", "c"])
    await index(client, db, ["a", "d", "e"])
    ex = await explain(client, db, {"selector": {"a": {"$gt": 0}, "b": {"$gt": 0}, "c": {"$gt": 0}}})
    assert ex["index"]["def"]["fields"] == [{"a": "asc"}, {"b": "asc"}, {"c": "asc"}]
    await index(client, db, ["age", "name"], ddoc="bbb")
    sel = {"age": 10, "name": {"$gte": 0}}
    assert len((await find(client, db, {"selector": sel}))["docs"]) == 1
    ex = await explain(client, db, {"selector": sel})
    assert ex["index"]["ddoc"] == "_design/bbb"
    assert ex["mrargs"]["end_key"] == [10, "<MAX>"]


async def test_uses_all_docs_when_fields_do_not_match(client: TestClient, db: str) -> None:
    """SEL5 "uses all docs when fields do not match selector" / "... doesnt require fields to exist":
    an index on [company, manager] would miss docs without ``manager``."""
    await bulk(client, db, [{"_id": "x", "company": "Pharmex"}, {"_id": "y", "company": "Other", "manager": True}])
    await index(client, db, ["company", "manager"], ddoc="company_and_manager")
    for sel in ({"company": "Pharmex"}, {"company": "Pharmex", "manager": {"$exists": False}}):
        assert ids(await find(client, db, {"selector": sel})) == ["x"]
        assert (await explain(client, db, {"selector": sel}))["index"]["type"] == "special"
    await index(client, db, ["manager"], ddoc="manager")
    sel = {"manager": {"$exists": True}}
    assert ids(await find(client, db, {"selector": sel})) == ["y"]
    assert (await explain(client, db, {"selector": sel}))["index"]["type"] == "json"


# ==================================================================================================
# execution_stats (STATS)


async def _stats_db(client: TestClient, db: str) -> None:
    ages = [48, 31, 42, 79, 61, 73, 23, 19, 77, 22, 77, 55, 66, 44, 38]
    await bulk(client, db, [{"_id": f"u{i:02d}", "age": a, "favorites": ["Erlang"] if i % 3 == 0 else ["C"]}
                            for i, a in enumerate(ages)])
    await index(client, db, ["age"])


async def test_execution_stats_simple_json_index(client: TestClient, db: str) -> None:
    """STATS "simple json index" / "no execution stats" / "results returned limit"."""
    await _stats_db(client, db)
    body = await find(client, db, {"selector": {"age": {"$lt": 35}}, "execution_stats": True})
    assert len(body["docs"]) == 4
    st = body["execution_stats"]
    assert set(st) == {"total_keys_examined", "total_docs_examined", "total_quorum_docs_examined",
                       "results_returned", "execution_time_ms"}, st
    assert st["total_keys_examined"] == 4 and st["total_docs_examined"] == 4, st
    assert st["total_quorum_docs_examined"] == 0 and st["results_returned"] == 4, st
    assert isinstance(st["execution_time_ms"], int | float) and st["execution_time_ms"] >= 0, st
    assert "execution_stats" not in await find(client, db, {"selector": {"age": {"$lt": 35}}})
    body = await find(client, db, {"selector": {"age": {"$lt": 35}}, "limit": 2, "execution_stats": True})
    assert body["execution_stats"]["results_returned"] == len(body["docs"]) == 2


async def test_execution_stats_in_memory_filter_and_full_scan(client: TestClient, db: str) -> None:
    """STATS "no matches index scan" and "no matches, using _all_docs"."""
    await _stats_db(client, db)
    body = await find(client, db, {"selector": {"age": {"$lt": 35}, "nomatch": "me"}, "execution_stats": True})
    assert body["execution_stats"]["total_docs_examined"] == 4 and body["execution_stats"]["results_returned"] == 0
    body = await find(client, db, {"selector": {"foo": "bar"}, "execution_stats": True, "limit": 200})
    st = body["execution_stats"]
    assert st["results_returned"] == 0 and st["total_docs_examined"] >= 15, st


async def test_explain_covering_index(client: TestClient, db: str) -> None:
    """STATS "covering json index" (CouchDB 3.4+): ``fields`` within the index's fields and ``_id``
    are answered from the index alone: ``covering: true`` and no document read."""
    await _stats_db(client, db)
    body = {"selector": {"age": {"$lt": 35}}, "fields": ["_id", "age"]}
    assert (await explain(client, db, body))["covering"] is True
    assert (await explain(client, db, {"selector": {"age": {"$lt": 35}}}))["covering"] is False
    res = await find(client, db, {**body, "execution_stats": True})
    assert sorted(d["_id"] for d in res["docs"]) == ["u01", "u06", "u07", "u09"]
    assert all(set(d) == {"_id", "age"} for d in res["docs"]), res
    assert res["execution_stats"]["total_keys_examined"] == 4
    assert res["execution_stats"]["total_docs_examined"] == 0


# ==================================================================================================
# _explain (DOCS, EXPL, BASIC test_explain_view_args, OPS range id eq)

EXPLAIN_KEYS = {"dbname", "index", "partitioned", "selector", "opts", "limit", "skip", "fields", "mrargs",
                "covering", "index_candidates", "selector_hints"}


async def test_explain_json_index_shape(client: TestClient, db: str) -> None:
    await bulk(client, db, [{"_id": f"d{i}", "age": i, "user_id": i, "twitter": "t"} for i in range(5)])
    age = await index(client, db, ["age"], ddoc="age", name="age")
    await index(client, db, ["user_id"], ddoc="user_id", name="user_id")
    await index(client, db, ["twitter"], ddoc="twitter", name="twitter")
    ex = await explain(client, db, {"selector": {"age": {"$gt": 0}}, "fields": ["manager"]})
    assert set(ex) >= EXPLAIN_KEYS, set(ex) ^ EXPLAIN_KEYS
    assert ex["dbname"] == db and ex["partitioned"] is False
    assert ex["index"] == {"ddoc": age["id"], "name": "age", "type": "json", "partitioned": False,
                           "def": {"fields": [{"age": "asc"}]}}
    assert ex["selector"] == {"age": {"$gt": 0}}
    assert ex["limit"] == 25 and ex["skip"] == 0 and ex["fields"] == ["manager"]
    assert ex["covering"] is False
    mr = ex["mrargs"]
    assert mr["start_key"] == [0] and mr["end_key"] == ["<MAX>"], mr
    assert mr["include_docs"] is True and mr["view_type"] == "map" and mr["reduce"] is False, mr
    assert mr["partition"] is None and mr["direction"] == "fwd", mr
    assert mr["stable"] is False and mr["update"] is True, mr
    opts = ex["opts"]
    for key, value in {"use_index": [], "bookmark": "nil", "limit": 25, "skip": 0, "sort": {}, "fields": ["manager"],
                       "partition": "", "r": 1, "conflicts": False, "stale": False, "update": True, "stable": False,
                       "execution_stats": False, "allow_fallback": True}.items():
        assert opts.get(key) == value, (key, opts)
    cands = sorted(ex["index_candidates"], key=lambda c: str(c["index"]["name"]))
    assert cands == [
        {"index": SPECIAL, "analysis": {"usable": True, "reasons": [{"name": "unfavored_type"}], "ranking": 1,
                                        "covering": None}},
        {"index": {"ddoc": "_design/twitter", "name": "twitter", "type": "json", "partitioned": False,
                   "def": {"fields": [{"twitter": "asc"}]}},
         "analysis": {"usable": False, "reasons": [{"name": "field_mismatch"}], "ranking": 2, "covering": False}},
        {"index": {"ddoc": "_design/user_id", "name": "user_id", "type": "json", "partitioned": False,
                   "def": {"fields": [{"user_id": "asc"}]}},
         "analysis": {"usable": False, "reasons": [{"name": "field_mismatch"}], "ranking": 2, "covering": False}},
    ], cands
    assert ex["selector_hints"] == [{"type": "json", "indexable_fields": ["age"], "unindexable_fields": []}]


async def test_explain_options_echo(client: TestClient, db: str) -> None:
    await index(client, db, ["age"])
    body = {"selector": {"age": {"$gt": 5}}, "limit": 2, "skip": 1, "sort": [{"age": "desc"}],
            "fields": ["_id", "age"], "conflicts": True, "update": False, "stable": True, "execution_stats": True,
            "r": 2}
    ex = await explain(client, db, body)
    assert ex["limit"] == 2 and ex["skip"] == 1 and ex["fields"] == ["_id", "age"]
    assert ex["mrargs"]["direction"] == "rev" and ex["mrargs"]["update"] is False and ex["mrargs"]["stable"] is True
    assert ex["opts"]["r"] == 2 and ex["opts"]["conflicts"] is True and ex["opts"]["execution_stats"] is True
    assert ex["opts"]["sort"] == {"age": "desc"}


async def test_explain_all_docs(client: TestClient, db: str) -> None:
    """EXPL "basic" (no indexes) and OPS "range id eq": ``_all_docs`` scan bounds for ``_id``."""
    await bulk(client, db, [{"_id": "8e1c90c0-ac18-4832-8081-40d14325bde0", "age": 23}])
    ex = await explain(client, db, {"selector": {"age": 23}})
    assert ex["index"] == SPECIAL and ex["index_candidates"] == [] and ex["partitioned"] is False
    assert EXPLAIN_KEYS - {"covering"} <= set(ex), set(ex)
    doc_id = "8e1c90c0-ac18-4832-8081-40d14325bde0"
    ex = await explain(client, db, {"selector": {"_id": doc_id}})
    assert ex["mrargs"]["start_key"] == doc_id and ex["mrargs"]["end_key"] == doc_id, ex["mrargs"]


async def test_explain_no_usable_index_for_sort(client: TestClient, db: str) -> None:
    """EXPL "no usable index": ``_explain`` still answers, with ``index: null`` and the reason."""
    ex = await explain(client, db, {"selector": {"age": 23}, "sort": ["company"]})
    assert ex["index"] is None and ex["partitioned"] is False
    assert ex["index_candidates"] == [{"index": SPECIAL, "analysis": {
        "usable": False, "reasons": [{"name": "field_mismatch"}], "ranking": 1, "covering": None}}]


async def test_explain_empty_selector_uses_all_docs(client: TestClient, db: str) -> None:
    """EMPTY "empty": ``{}`` is answered from ``_all_docs`` even with json indexes."""
    await index(client, db, ["age"])
    assert (await explain(client, db, {"selector": {}}))["index"]["type"] == "special"
    ex = await explain(client, db, {"selector": {"age": 22, "$or": []}})
    assert ex["index"]["type"] == "json"


# ==================================================================================================
# partitioned databases (PART)


async def _part_db(client: TestClient) -> str:
    pdb = await new_db(client, "pdb", partitioned=True)
    docs = []
    for part in ("foo", "bar"):
        for i in range(30):
            docs.append({"_id": f"{part}:{i:03d}", "some": "field", "value": i, "part": part})
    await bulk(client, pdb, docs)
    return pdb


async def test_partition_find_returns_only_that_partition(client: TestClient) -> None:
    """PART "query using _id and partition works", "... _all_docs with $eq", "... _all_docs and range
    scan", "query with partitioned:true using index and $eq", "partitioned query using index and
    range scan"."""
    pdb = await _part_db(client)
    body = await ok(client, "POST", f"/{pdb}/_partition/foo/_find", {"selector": {"_id": {"$gt": "foo:"}}, "limit": 20})
    assert len(body["docs"]) == 20 and all(i.startswith("foo:") for i in ids(body))
    body = await find(client, pdb, {"selector": {"_id": {"$lt": "foo:"}}, "limit": 20})
    assert len(body["docs"]) == 20 and all(i.startswith("bar:") for i in ids(body))
    body = await find(client, pdb, {"selector": {"_id": {"$gt": 0}}, "limit": 20})
    assert all(i.startswith("bar:") for i in ids(body))
    for with_index in (False, True):
        if with_index:
            await index(client, pdb, ["some"])
            await index(client, pdb, ["value"])
        for part in ("foo", "bar"):
            got = await ok(client, "POST", f"/{pdb}/_partition/{part}/_find", {"selector": {"some": "field"},
                                                                               "limit": 20})
            assert len(got["docs"]) == 20 and all(i.startswith(f"{part}:") for i in ids(got)), got
            got = await ok(client, "POST", f"/{pdb}/_partition/{part}/_find",
                           {"selector": {"value": {"$gte": 6, "$lt": 16}}})
            assert sorted(ids(got)) == [f"{part}:{i:03d}" for i in range(6, 16)], got


async def test_partition_explain(client: TestClient) -> None:
    """PART "explain works with partitions" / "explain works with non partitioned db"."""
    pdb = await _part_db(client)
    await index(client, pdb, ["some"])
    ex = await ok(client, "POST", f"/{pdb}/_partition/foo/_explain", {"selector": {"value": {"$gte": 6, "$lt": 16}}})
    assert ex["index"]["name"] == "_all_docs" and ex["mrargs"]["partition"] == "foo" and ex["partitioned"] is True
    ex = await ok(client, "POST", f"/{pdb}/_partition/bar/_explain", {"selector": {"some": "field"}})
    assert ex["index"]["def"] == {"fields": [{"some": "asc"}]} and ex["mrargs"]["partition"] == "bar"
    assert ex["index"]["partitioned"] is True
    plain = await new_db(client, "plain")
    await index(client, plain, ["some"])
    ex = await explain(client, plain, {"selector": {"value": {"$gte": 6, "$lt": 16}}})
    assert ex["index"]["name"] == "_all_docs" and ex["mrargs"]["partition"] is None
    ex = await explain(client, plain, {"selector": {"some": "field"}})
    assert ex["index"]["def"] == {"fields": [{"some": "asc"}]} and ex["mrargs"]["partition"] is None


async def test_partition_scopes_of_indexes(client: TestClient) -> None:
    """PART "global query uses global index", "global query does not use partition index",
    "partitioned query does not use global index"."""
    pdb = await _part_db(client)
    await index(client, pdb, ["some"], ddoc="glob", partitioned=False)
    ex = await explain(client, pdb, {"selector": {"some": "field"}, "limit": 100})
    assert ex["index"]["ddoc"] == "_design/glob"
    assert len((await find(client, pdb, {"selector": {"some": "field"}, "limit": 100}))["docs"]) == 60
    ex = await ok(client, "POST", f"/{pdb}/_partition/foo/_explain", {"selector": {"some": "field"}, "limit": 50})
    assert ex["index"]["name"] == "_all_docs"
    got = await ok(client, "POST", f"/{pdb}/_partition/foo/_find", {"selector": {"some": "field"}, "limit": 50})
    assert len(got["docs"]) == 30 and all(i.startswith("foo:") for i in ids(got))
    await index(client, pdb, ["some"], ddoc="part")
    ex = await ok(client, "POST", f"/{pdb}/_partition/foo/_explain", {"selector": {"some": "field"}})
    assert ex["index"]["ddoc"] == "_design/part"
    ex = await explain(client, pdb, {"selector": {"some": "field"}})
    assert ex["index"]["ddoc"] == "_design/glob"


async def test_partition_bookmarks(client: TestClient) -> None:
    """PART "partitioned query using bookmarks"."""
    pdb = await _part_db(client)
    await index(client, pdb, ["value"])
    path = f"/{pdb}/_partition/foo/_find"
    body = {"selector": {"value": {"$gte": 6, "$lt": 11}}, "limit": 3}
    p1 = await ok(client, "POST", path, body)
    assert ids(p1) == ["foo:006", "foo:007", "foo:008"]
    p2 = await ok(client, "POST", path, {**body, "bookmark": p1["bookmark"]})
    assert ids(p2) == ["foo:009", "foo:010"]


async def test_partition_path_errors(client: TestClient, db: str) -> None:
    """PART "partitioned _find and _explain with missing partition returns 400"; REF §5: the partition
    endpoints need a partitioned db."""
    pdb = await _part_db(client)
    for endpoint in ("_find", "_explain"):
        js = await err(client, "POST", f"/{pdb}/_partition/_x/{endpoint}", {"selector": {}}, 400, None)
        assert "Partition must not start" in js["reason"], js
        await err(client, "POST", f"/{db}/_partition/foo/{endpoint}", {"selector": {}}, 400, None)


async def test_partitioned_index_on_plain_query_and_sort(client: TestClient) -> None:
    """A partition query sorts with a partitioned index; its order is the index order within the
    partition."""
    pdb = await _part_db(client)
    await index(client, pdb, ["value"])
    got = await ok(client, "POST", f"/{pdb}/_partition/bar/_find",
                   {"selector": {"value": {"$gt": 25}}, "sort": [{"value": "desc"}]})
    assert ids(got) == ["bar:029", "bar:028", "bar:027", "bar:026"]


# ==================================================================================================
# staff (tenants): only their hospitals' documents


async def test_staff_find_sees_only_their_hospitals(server: TestServer) -> None:
    """README (tenants): staff read only their hospitals' partitions, on every path — ``_find`` and
    ``_explain`` included, with and without indexes; they may not create indexes (design docs)."""
    w = await build_world(server)
    try:
        admin = w.c("tenant_admin")
        docs = [{"_id": f"{h}:p{i}", "kind": "patient", "n": i, "hosp": h} for h in HOSPITALS.values()
                for i in range(5)]
        await bulk(w.admin, w.db, docs)
        staff_a, staff_ab = w.c("staff_a"), w.c("staff_ab")
        for with_index in (False, True):
            if with_index:
                await index(admin, w.db, ["kind"], ddoc="gkind", partitioned=False)
                await index(admin, w.db, ["n"], ddoc="pn")
            body = await find(staff_a, w.db, {"selector": {"kind": "patient"}, "limit": 100})
            assert sorted(ids(body)) == [f"HOSP-A:p{i}" for i in range(5)], body
            body = await find(staff_ab, w.db, {"selector": {"n": {"$gte": 0}}, "limit": 100})
            assert sorted(ids(body)) == sorted([f"HOSP-A:p{i}" for i in range(5)] + [f"HOSP-B:p{i}" for i in range(5)])
            body = await find(staff_a, w.db, {"selector": {}, "limit": 100})
            assert all(i.startswith("HOSP-A:") for i in ids(body)), body
            assert b"MARKBODYB" not in repr(body).encode() and b"MARKBODYC" not in repr(body).encode()
            got = await ok(staff_a, "POST", f"/{w.db}/_partition/HOSP-A/_find", {"selector": {"n": {"$gt": 2}}})
            assert sorted(ids(got)) == ["HOSP-A:p3", "HOSP-A:p4"]
            st, js = await req(staff_a, "POST", f"/{w.db}/_partition/HOSP-C/_find", {"selector": {}})
            assert st == 403 or (st == 200 and js["docs"] == []), (st, js)
            body = await find(admin, w.db, {"selector": {"kind": "patient"}, "limit": 100})
            assert len(body["docs"]) == 15
        # refused (CouchDB's exact answer for a non-admin is test_non_admin_cannot_create_index's)
        st, js = await req(staff_a, "POST", f"/{w.db}/_index", {"index": {"fields": ["x"]}, "ddoc": "staffidx"})
        assert st in (403, 500), (st, js)
        assert (await w.admin.get(f"/{w.db}/_design/staffidx")).status == 404
        outsider = w.c("other_staff")
        st, _ = await req(outsider, "POST", f"/{w.db}/_find", {"selector": {}})
        assert st == 403
    finally:
        await w.close()


# ==================================================================================================
# incremental index maintenance


async def test_index_follows_writes_and_deletes(client: TestClient, db: str) -> None:
    """An index built once is updated incrementally: later inserts, updates (moving a doc in the
    index, or out of it by dropping the field), deletes and recreations are all reflected, for
    indexed range scans and sorts alike (compared with the reference over the live documents)."""
    live: dict[str, dict[str, Any]] = {}
    revs: dict[str, str] = {}

    async def write(docs: list[dict[str, Any]]) -> None:
        payload = [{**d, **({"_rev": revs[d["_id"]]} if d["_id"] in revs else {})} for d in docs]
        for d, r in zip(docs, await bulk(client, db, payload), strict=True):
            revs[d["_id"]] = r["rev"]
            if d.get("_deleted"):
                live.pop(d["_id"], None)
            else:
                live[d["_id"]] = {k: v for k, v in d.items() if k != "_rev"}

    async def check() -> None:
        queries = [
            {"selector": {"score": {"$gte": 10, "$lt": 60}}, "sort": ["score"], "limit": 1000},
            {"selector": {"score": {"$gt": None}}, "sort": [{"score": "desc"}], "limit": 1000},
            {"selector": {"kind": "a", "score": {"$lte": 50}}, "limit": 1000},
        ]
        for q in queries:
            got = await find(client, db, q)
            exp = reference.find(list(live.values()), q["selector"], sort=q.get("sort"), limit=1000,
                                 order_fields=["score"] if "sort" in q else None)
            if "sort" in q:
                assert ids(got) == [d["_id"] for d in exp], q
            else:
                assert sorted(ids(got)) == sorted(d["_id"] for d in exp), q

    await write([{"_id": f"d{i:02d}", "score": (i * 7) % 100, "kind": "a" if i % 2 else "b"} for i in range(40)])
    await index(client, db, ["score"])
    await check()
    await write([{"_id": f"n{i:02d}", "score": i * 3, "kind": "a"} for i in range(10)])  # inserts
    await check()
    await write([{"_id": f"d{i:02d}", "score": 55, "kind": "a"} for i in range(0, 40, 5)])  # moves
    await write([{"_id": f"d{i:02d}", "kind": "a"} for i in range(1, 40, 6)])  # drops the field
    await check()
    await write([{"_id": f"d{i:02d}", "_deleted": True} for i in range(2, 40, 4)])  # deletes
    await check()
    for doc_id in [f"d{i:02d}" for i in range(2, 12, 4)]:  # recreate deleted docs
        revs.pop(doc_id, None)
        r = await ok(client, "PUT", f"/{db}/{doc_id}", {"score": 42, "kind": "a"}, 201)
        revs[doc_id] = r["rev"]
        live[doc_id] = {"_id": doc_id, "score": 42, "kind": "a"}
    await check()


async def test_bad_field_names_never_poison_the_database(client: TestClient, db: str) -> None:
    """A field with an empty segment is refused at ``_index`` (400), and a query design document
    written directly with one is skipped: ``_find`` and ``GET _index`` keep answering."""
    await err(client, "POST", f"/{db}/_index", {"index": {"fields": ["a..b"]}}, 400, "invalid_index")
    await ok(client, "PUT", f"/{db}/_design/bad", {"language": "query", "views": {"v": {
        "map": {"fields": {"a..b": "asc"}}, "reduce": "_count", "options": {"def": {"fields": ["a..b"]}}}}}, 201)
    await bulk(client, db, [{"_id": "d1", "a": {"b": 1}}])
    assert ids(await find(client, db, {"selector": {"a.b": 1}})) == ["d1"]
    assert (await ok(client, "GET", f"/{db}/_index"))["total_rows"] == 1
