"""``_all_docs``, ``_design_docs``, ``_local_docs`` and their ``/queries`` forms.

Every range case runs as ``GET`` (URL-encoded JSON params) and as ``POST`` (params in the JSON
body); they must agree.

Sources: protocol reference §4.2, §4.5 (params), §0 (booleans), §7 items 27 and 29; CouchDB
``chttpd_db.erl`` (``db_req`` ``?IS_ALL_DOCS``, ``multi_all_docs_view``), ``couch_mrview_http.erl``
(``parse_param``, ``parse_boolean``, ``parse_pos_int``), ``couch_mrview_util.erl``
(``validate_args``, ``all_docs_key_opts``), ``fabric_view_all_docs.erl`` (keys rows, ``offset``);
DOCS ``api/database/bulk-api.rst``.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp.test_utils import TestClient

# Raw UTF-8 byte order: uppercase < "_" < lowercase < "~" < non-ASCII (not ICU order).
LIVE = ["A", "B", "_design/dd", "a", "b", "c", "d", "~", "é"]
DELETED = "bb"
JSON_PARAMS = {"key", "keys", "startkey", "start_key", "endkey", "end_key"}


def _qs(params: dict[str, Any]) -> str:
    """GET query string: JSON-valued params JSON-encoded, booleans as ``true``/``false``."""
    out = {}
    for k, v in params.items():
        if k in JSON_PARAMS:
            out[k] = json.dumps(v)
        elif isinstance(v, bool):
            out[k] = "true" if v else "false"
        else:
            out[k] = str(v)
    return "?" + urlencode(out) if out else ""


@pytest.fixture
async def seeded(client: TestClient, db: str) -> str:
    """``LIVE`` docs (value ``{"n": i}``) and one deleted doc ``bb``."""
    docs = [{"_id": i, "n": n} for n, i in enumerate(LIVE)] + [{"_id": DELETED}]
    r = await client.post(f"/{db}/_bulk_docs", json={"docs": docs})
    assert r.status == 201
    rev = next(row["rev"] for row in await r.json() if row["id"] == DELETED)
    assert (await client.delete(f"/{db}/{DELETED}?rev={rev}")).status == 200
    return db


async def _both(client: TestClient, path: str, params: dict[str, Any]) -> dict[str, Any]:
    """Runs the query as GET and as POST, asserts they agree, returns the body."""
    r = await client.get(path + _qs(params))
    assert r.status == 200, (params, await r.text())
    got = await r.json()
    r = await client.post(path, json=params)
    assert r.status == 200, (params, await r.text())
    assert await r.json() == got, params
    return dict(got)


# -- ranges --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "ids", "offset"),
    [
        ({}, LIVE, 0),
        ({"startkey": "a"}, ["a", "b", "c", "d", "~", "é"], 3),
        ({"start_key": "a"}, ["a", "b", "c", "d", "~", "é"], 3),
        ({"endkey": "b"}, ["A", "B", "_design/dd", "a", "b"], 0),
        ({"end_key": "b"}, ["A", "B", "_design/dd", "a", "b"], 0),
        ({"endkey": "b", "inclusive_end": False}, ["A", "B", "_design/dd", "a"], 0),
        ({"startkey": "a", "endkey": "c"}, ["a", "b", "c"], 3),
        ({"startkey": "a", "endkey": "c", "inclusive_end": False}, ["a", "b"], 3),
        ({"startkey": "b", "endkey": "b"}, ["b"], 4),
        ({"startkey": "ba", "endkey": "bz"}, [], 5),  # the deleted "bb" never shows in a range
        ({"key": "c"}, ["c"], 5),
        ({"key": "bb"}, [], 5),
        ({"key": "nope"}, [], 7),
        ({"key": "c", "inclusive_end": False}, [], 5),
        ({"descending": True}, LIVE[::-1], 0),
        ({"descending": True, "startkey": "c"}, ["c", "b", "a", "_design/dd", "B", "A"], 3),
        ({"descending": True, "startkey": "c", "endkey": "a"}, ["c", "b", "a"], 3),
        ({"descending": True, "startkey": "c", "endkey": "a", "inclusive_end": False}, ["c", "b"], 3),
        ({"descending": True, "endkey": "d"}, ["é", "~", "d"], 0),
        ({"descending": True, "skip": 1, "limit": 2}, ["~", "d"], 1),
        ({"limit": 2}, ["A", "B"], 0),
        ({"limit": 0}, [], 0),
        ({"skip": 2}, LIVE[2:], 2),
        ({"skip": 2, "limit": 2}, ["_design/dd", "a"], 2),
        ({"startkey": "a", "skip": 1, "limit": 2}, ["b", "c"], 4),
        ({"skip": 100}, [], 9),  # offset is capped at total_rows (fabric_view_all_docs)
        ({"startkey": "zzz"}, ["~", "é"], 7),
        ({"startkey_docid": "c"}, ["c", "d", "~", "é"], 5),  # used when startkey is absent
        ({"start_key_doc_id": "c", "end_key_doc_id": "d"}, ["c", "d"], 5),
        ({"endkey_docid": "a"}, ["A", "B", "_design/dd", "a"], 0),
        ({"startkey": "a", "startkey_docid": "c"}, ["a", "b", "c", "d", "~", "é"], 3),
        ({"descending": "TRUE", "limit": 1}, ["é"], 0),  # view booleans are case-insensitive
        ({"inclusive_end": "False", "endkey": "B"}, ["A"], 0),
        ({"stale": "ok", "update": "lazy", "stable": True, "sorted": True}, LIVE, 0),
        ({"nonsense_param": "x"}, LIVE, 0),  # unknown params are ignored
    ],
)
async def test_range(
    client: TestClient, seeded: str, params: dict[str, Any], ids: list[str], offset: int
) -> None:
    """Rows ``{"id","key":<id>,"value":{"rev"}}`` in raw byte order; ``total_rows`` = live docs;
    ``offset`` = rows before the first one returned, ``skip`` included (reference §4.2)."""
    body = await _both(client, f"/{seeded}/_all_docs", params)
    assert [row["id"] for row in body["rows"]] == ids
    assert body["total_rows"] == len(LIVE)
    assert body["offset"] == offset
    assert "update_seq" not in body
    for row in body["rows"]:
        assert set(row) == {"id", "key", "value"}
        assert row["key"] == row["id"]
        assert set(row["value"]) == {"rev"} and row["value"]["rev"].startswith("1-")


async def test_raw_byte_order(client: TestClient, db: str) -> None:
    """``_all_docs`` ids sort by raw UTF-8 bytes, not ICU: ``A,B,a,b`` (reference §7 item 29)."""
    for doc_id in ["b", "A", "a", "B", "10", "9", "ä", "Z"]:
        assert (await client.put(f"/{db}/{doc_id}", json={})).status == 201
    body = await (await client.get(f"/{db}/_all_docs")).json()
    assert [row["id"] for row in body["rows"]] == ["10", "9", "A", "B", "Z", "a", "b", "ä"]


async def test_include_docs(client: TestClient, seeded: str) -> None:
    body = await _both(client, f"/{seeded}/_all_docs", {"include_docs": True, "startkey": "c", "limit": 2})
    assert [(row["doc"]["_id"], row["doc"]["n"]) for row in body["rows"]] == [("c", 5), ("d", 6)]
    for row in body["rows"]:
        assert row["doc"]["_rev"] == row["value"]["rev"]


async def test_update_seq(client: TestClient, seeded: str) -> None:
    """``update_seq=true`` adds the db's current ``update_seq`` (an opaque string)."""
    info = await (await client.get(f"/{seeded}")).json()
    body = await _both(client, f"/{seeded}/_all_docs", {"update_seq": True, "limit": 1})
    assert body["update_seq"] == info["update_seq"]


async def test_conflicts(client: TestClient, db: str) -> None:
    """``conflicts=true`` with ``include_docs`` adds ``_conflicts`` to conflicted docs."""
    r = await client.post(
        f"/{db}/_bulk_docs",
        json={
            "new_edits": False,
            "docs": [
                {"_id": "c", "_rev": "1-" + "a" * 32, "v": "a"},
                {"_id": "c", "_rev": "1-" + "b" * 32, "v": "b"},
                {"_id": "plain", "_rev": "1-" + "c" * 32},
            ],
        },
    )
    assert r.status == 201
    body = await _both(client, f"/{db}/_all_docs", {"include_docs": True, "conflicts": True})
    docs = {row["id"]: row["doc"] for row in body["rows"]}
    assert docs["c"]["_rev"] == "1-" + "b" * 32
    assert docs["c"]["_conflicts"] == ["1-" + "a" * 32]
    assert "_conflicts" not in docs["plain"]
    body = await _both(client, f"/{db}/_all_docs", {"include_docs": True})
    assert all("_conflicts" not in row["doc"] for row in body["rows"])


async def test_attachments(client: TestClient, db: str) -> None:
    """``attachments=true`` with ``include_docs`` inlines attachment data; otherwise stubs."""
    data = base64.b64encode(b"hello").decode()
    doc = {"_attachments": {"h.txt": {"content_type": "text/plain", "data": data}}}
    assert (await client.put(f"/{db}/withatt", json=doc)).status == 201
    body = await _both(client, f"/{db}/_all_docs", {"include_docs": True})
    att = body["rows"][0]["doc"]["_attachments"]["h.txt"]
    assert att["stub"] is True and att["length"] == 5 and "data" not in att
    for params in (
        {"include_docs": True, "attachments": True},
        {"include_docs": True, "attachments": True, "keys": ["withatt"]},
    ):
        body = await _both(client, f"/{db}/_all_docs", params)
        att = body["rows"][0]["doc"]["_attachments"]["h.txt"]
        assert att["data"] == data and "stub" not in att
        assert att["content_type"] == "text/plain" and att["revpos"] == 1


# -- keys ----------------------------------------------------------------------------------------


async def test_keys(client: TestClient, seeded: str) -> None:
    """``keys``: one row per key in request order, duplicates repeated; missing →
    ``{"key","error":"not_found"}``; deleted → ``value.deleted`` (reference §4.2, §7 item 27);
    ``offset`` is null (fabric_view_all_docs keys path)."""
    keys = ["b", "nope", DELETED, "a", "b", "_design/dd"]
    body = await _both(client, f"/{seeded}/_all_docs", {"keys": keys})
    rows = body["rows"]
    assert body["total_rows"] == len(LIVE)
    assert body["offset"] is None
    assert [row["key"] for row in rows] == keys
    assert rows[1] == {"key": "nope", "error": "not_found"}
    assert rows[2]["id"] == DELETED and rows[2]["value"]["deleted"] is True
    assert rows[2]["value"]["rev"].startswith("2-")
    assert "doc" not in rows[2]
    assert rows[0] == rows[4] and rows[0]["id"] == "b" and set(rows[0]["value"]) == {"rev"}


async def test_keys_include_docs(client: TestClient, seeded: str) -> None:
    body = await _both(client, f"/{seeded}/_all_docs", {"keys": ["a", "nope", DELETED], "include_docs": True})
    a, missing, deleted = body["rows"]
    assert a["doc"]["_id"] == "a" and a["doc"]["n"] == 3
    assert missing == {"key": "nope", "error": "not_found"}
    assert deleted["doc"] is None
    assert deleted["value"] == {"rev": deleted["value"]["rev"], "deleted": True}


@pytest.mark.parametrize(
    ("params", "keys"),
    [
        ({"keys": ["a", "b", "c"], "descending": True}, ["c", "b", "a"]),
        ({"keys": ["a", "b", "c"], "limit": 2}, ["a", "b"]),
        ({"keys": ["a", "b", "c"], "skip": 1}, ["b", "c"]),
        ({"keys": ["a", "b", "c"], "skip": 1, "limit": 1, "descending": True}, ["b"]),
        ({"keys": []}, []),
        ({"keys": [], "startkey": "a"}, []),  # an empty keys list is compatible with ranges
    ],
)
async def test_keys_with_paging(
    client: TestClient, seeded: str, params: dict[str, Any], keys: list[str]
) -> None:
    body = await _both(client, f"/{seeded}/_all_docs", params)
    assert [row["key"] for row in body["rows"]] == keys


async def test_keys_update_seq_is_null(client: TestClient, seeded: str) -> None:
    """fabric_view_all_docs keys path: ``update_seq`` (when asked for) is null."""
    body = await _both(client, f"/{seeded}/_all_docs", {"keys": ["a"], "update_seq": True})
    assert body["update_seq"] is None


async def test_query_string_overrides_body(client: TestClient, seeded: str) -> None:
    """POST: body params first, then query-string params override (parse_body_and_query)."""
    r = await client.post(f"/{seeded}/_all_docs?limit=1", json={"limit": 5, "startkey": "b"})
    assert [row["id"] for row in (await r.json())["rows"]] == ["b"]
    r = await client.post(f'/{seeded}/_all_docs?keys=["c"]', json={"keys": ["a", "b"]})
    assert [row["id"] for row in (await r.json())["rows"]] == ["c"]


# -- errors --------------------------------------------------------------------------------------

KEYS_CONFLICT = "`keys` is incompatible with `key`, `start_key` and `end_key`"


@pytest.mark.parametrize(
    ("params", "error", "reason"),
    [
        ({"keys": ["a"], "key": "a"}, "query_parse_error", KEYS_CONFLICT),
        ({"keys": ["a"], "startkey": "a"}, "query_parse_error", KEYS_CONFLICT),
        ({"keys": ["a"], "start_key": "a"}, "query_parse_error", KEYS_CONFLICT),
        ({"keys": ["a"], "endkey": "z"}, "query_parse_error", KEYS_CONFLICT),
        ({"keys": ["a"], "end_key": "z"}, "query_parse_error", KEYS_CONFLICT),
        ({"limit": "abc"}, "query_parse_error", 'Invalid value for integer: "abc"'),
        ({"limit": "1.5"}, "query_parse_error", 'Invalid value for integer: "1.5"'),
        ({"limit": "-1"}, "query_parse_error", 'Invalid value for positive integer: "-1"'),
        ({"skip": "-1"}, "query_parse_error", 'Invalid value for positive integer: "-1"'),
        ({"skip": "x"}, "query_parse_error", 'Invalid value for integer: "x"'),
        ({"stale": "bogus"}, "query_parse_error", "Invalid value for `stale`."),
        ({"stable": "maybe"}, "query_parse_error", "Invalid value for `stable`."),
        ({"update": "maybe"}, "query_parse_error", "Invalid value for `update`."),
    ],
)
async def test_bad_params(
    client: TestClient, db: str, params: dict[str, Any], error: str, reason: str
) -> None:
    """Parameter errors are 400s with couch_mrview's reasons (reference §4.5)."""
    r = await client.get(f"/{db}/_all_docs" + _qs(params))
    assert r.status == 400
    assert await r.json() == {"error": error, "reason": reason}


@pytest.mark.parametrize(
    "param",
    ["descending", "include_docs", "inclusive_end", "conflicts", "update_seq", "attachments", "sorted"],
)
async def test_bad_boolean(client: TestClient, db: str, param: str) -> None:
    """View booleans other than true/false (any case) → 400 ``query_parse_error`` "Invalid boolean
    parameter: …" (couch_mrview_http ``parse_boolean``; reference §0)."""
    for value in ("yes", "1", "", "tru"):
        r = await client.get(f"/{db}/_all_docs?{param}={value}")
        assert r.status == 400, value
        body = await r.json()
        assert body["error"] == "query_parse_error"
        assert body["reason"].startswith("Invalid boolean parameter: ")


async def test_bad_boolean_exact_reason(client: TestClient, db: str) -> None:
    r = await client.get(f"/{db}/_all_docs?descending=yes")
    assert await r.json() == {"error": "query_parse_error", "reason": 'Invalid boolean parameter: "yes"'}


@pytest.mark.parametrize("param", ["key", "startkey", "endkey", "keys", "start_key"])
async def test_invalid_json_param(client: TestClient, db: str, param: str) -> None:
    """JSON-valued params must be URL-encoded JSON: a bare word is a 400."""
    r = await client.get(f"/{db}/_all_docs?{param}=abc")
    assert r.status == 400
    assert (await r.json())["error"] in ("bad_request", "query_parse_error")


async def test_keys_not_an_array(client: TestClient, db: str) -> None:
    """chttpd_db: GET → "`keys` parameter must be an array."; POST → "`keys` body member must be
    an array."."""
    r = await client.get(f'/{db}/_all_docs?keys="a"')
    assert r.status == 400
    assert await r.json() == {"error": "bad_request", "reason": "`keys` parameter must be an array."}
    r = await client.post(f"/{db}/_all_docs", json={"keys": "a"})
    assert r.status == 400
    assert await r.json() == {"error": "bad_request", "reason": "`keys` body member must be an array."}


# -- /queries ------------------------------------------------------------------------------------


async def test_queries(client: TestClient, seeded: str) -> None:
    """``POST …/queries`` ``{"queries":[params…]}`` → ``{"results":[response…]}`` in order."""
    r = await client.post(
        f"/{seeded}/_all_docs/queries",
        json={
            "queries": [
                {"keys": ["a", "nope"]},
                {"startkey": "b", "limit": 2},
                {},
                {"descending": True, "limit": 1},
            ]
        },
    )
    assert r.status == 200
    results = (await r.json())["results"]
    assert len(results) == 4
    assert [row["key"] for row in results[0]["rows"]] == ["a", "nope"]
    assert [row["id"] for row in results[1]["rows"]] == ["b", "c"]
    assert results[1]["offset"] == 4
    assert [row["id"] for row in results[2]["rows"]] == LIVE
    assert [row["id"] for row in results[3]["rows"]] == ["é"]
    assert all(res["total_rows"] == len(LIVE) for res in results)


async def test_queries_override_query_string(client: TestClient, seeded: str) -> None:
    """multi_all_docs_view: the query string is the base, each query's params override it."""
    r = await client.post(f"/{seeded}/_all_docs/queries?limit=1", json={"queries": [{}, {"limit": 3}]})
    results = (await r.json())["results"]
    assert [len(res["rows"]) for res in results] == [1, 3]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({}, "POST body must include `queries` parameter."),
        ({"queries": {"a": 1}}, "`queries` member must be an array."),
        ({"queries": "x"}, "`queries` member must be an array."),
    ],
)
async def test_queries_errors(client: TestClient, db: str, body: dict[str, Any], reason: str) -> None:
    r = await client.post(f"/{db}/_all_docs/queries", json=body)
    assert r.status == 400
    assert await r.json() == {"error": "bad_request", "reason": reason}


async def test_queries_param_error(client: TestClient, db: str) -> None:
    r = await client.post(f"/{db}/_all_docs/queries", json={"queries": [{"keys": ["a"], "key": "a"}]})
    assert r.status == 400
    assert await r.json() == {"error": "query_parse_error", "reason": KEYS_CONFLICT}


# -- _design_docs, _local_docs -------------------------------------------------------------------


async def test_design_docs(client: TestClient, seeded: str) -> None:
    """``_design_docs``: the ``_all_docs`` view restricted to ``_design/`` ids; ``total_rows`` is
    the number of design docs (DOCS api/database/bulk-api.rst ``/{db}/_design_docs``)."""
    for name in ("zz", "aa"):
        assert (await client.put(f"/{seeded}/_design/{name}", json={"n": name})).status == 201
    body = await _both(client, f"/{seeded}/_design_docs", {})
    assert [row["id"] for row in body["rows"]] == ["_design/aa", "_design/dd", "_design/zz"]
    assert body["total_rows"] == 3
    body = await _both(
        client, f"/{seeded}/_design_docs", {"descending": True, "limit": 2, "include_docs": True}
    )
    assert [row["doc"]["_id"] for row in body["rows"]] == ["_design/zz", "_design/dd"]
    body = await _both(client, f"/{seeded}/_design_docs", {"startkey": "_design/b"})
    assert [row["id"] for row in body["rows"]] == ["_design/dd", "_design/zz"]
    r = await client.post(
        f"/{seeded}/_design_docs/queries", json={"queries": [{"limit": 1}, {"key": "_design/zz"}]}
    )
    results = (await r.json())["results"]
    assert [[row["id"] for row in res["rows"]] for res in results] == [["_design/aa"], ["_design/zz"]]


async def test_local_docs(client: TestClient, seeded: str) -> None:
    """``_local_docs``: only ``_local/`` docs, ``value.rev`` ``0-N``; ``total_rows`` and ``offset``
    are null (CouchDB PR #526, ``fabric_view_all_docs`` ``_local`` namespace)."""
    for name in ("b", "a", "c"):
        assert (await client.put(f"/{seeded}/_local/{name}", json={"n": name})).status == 201
    # a _local rev is the given _rev + 1 (couch_db_updater increment_local_doc_revs)
    assert (await client.put(f"/{seeded}/_local/a", json={"_rev": "0-1", "n": "a2"})).status == 201
    body = await _both(client, f"/{seeded}/_local_docs", {})
    assert body["total_rows"] is None and body["offset"] is None
    assert [(row["id"], row["key"], row["value"]) for row in body["rows"]] == [
        ("_local/a", "_local/a", {"rev": "0-2"}),
        ("_local/b", "_local/b", {"rev": "0-1"}),
        ("_local/c", "_local/c", {"rev": "0-1"}),
    ]
    body = await _both(client, f"/{seeded}/_local_docs", {"include_docs": True, "limit": 1})
    assert body["rows"][0]["doc"] == {"_id": "_local/a", "_rev": "0-2", "n": "a2"}
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({"descending": True}, ["_local/c", "_local/b", "_local/a"]),
        ({"startkey": "_local/b"}, ["_local/b", "_local/c"]),
        ({"endkey": "_local/b", "inclusive_end": False}, ["_local/a"]),
        ({"descending": True, "endkey": "_local/b", "inclusive_end": False}, ["_local/c"]),
        ({"skip": 1, "limit": 1}, ["_local/b"]),
        ({"keys": ["_local/c", "_local/x"]}, ["_local/c", "_local/x"]),
    ]
    for params, ids in cases:
        body = await _both(client, f"/{seeded}/_local_docs", params)
        assert [row["key"] for row in body["rows"]] == ids, params
    body = await _both(client, f"/{seeded}/_local_docs", {"keys": ["_local/x"]})
    assert body["rows"] == [{"key": "_local/x", "error": "not_found"}]
    body = await _both(client, f"/{seeded}/_local_docs", {"update_seq": True})
    assert body["update_seq"] is None
    # _local docs never appear in _all_docs
    body = await (await client.get(f"/{seeded}/_all_docs")).json()
    assert not [row for row in body["rows"] if row["id"].startswith("_local/")]


async def test_all_docs_missing_db(client: TestClient) -> None:
    r = await client.get("/nosuchdb/_all_docs")
    assert r.status == 404
    assert await r.json() == {"error": "not_found", "reason": "Database does not exist."}
