"""``_changes`` with JavaScript filters (``filter=ddoc/fname``, ``filter=_view``), show and update
functions.

Case sources:
  REF   /work/shared/reference/couchdb-protocol.md §1.5 (filters), §4.4 (filters, shows, updates
        ``[doc, response]``, deprecated but served in 3.x)
  DOCS  CouchDB docs src/docs/src/api/database/changes.rst "Filtering" (``filter=ddoc/fname`` with
        extra query parameters reaching ``req.query``; ``filter=_view&view=ddoc/view``),
        src/docs/src/ddocs/ddocs.rst "Show Functions", "Update Functions", src/docs/src/json-structure.rst
        "Request Object"
  CHG   CouchDB couch_changes.erl ``configure_filter`` ("`filter` must be of the form
        `designname/filtername`", "`view` filter parameter is not provided.")
  SHOW  CouchDB chttpd_show.erl ``send_doc_update_response`` (code 201 + ``X-Couch-Update-NewRev``
        and ``X-Couch-Id`` when a doc is saved, 200 otherwise, the function's own code wins);
        share/server/render.js (a show that throws on a missing doc → 404 "document not found")
"""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from .conftest import bulk, call, err, ok, put_ddoc

FILTERS = {
    "by_type": "function (doc, req) { return doc.type === req.query.type; }",
    "deleted": "function (doc, req) { return !!doc._deleted; }",
    "who": "function (doc, req) { return req.userCtx.name === 'admin' && req.info.db_name === req.query.db; }",
    "throws": "function (doc, req) { return doc.nope.deeper; }",
}
VIEWS = {"typed_a": {"map": "function (doc) { if (doc.type === 'a') emit(doc._id, null); }"}}


@pytest.fixture
async def cdb(client: TestClient, db: str) -> str:
    await bulk(
        client,
        db,
        [
            {"_id": "a1", "type": "a"},
            {"_id": "b1", "type": "b"},
            {"_id": "a2", "type": "a"},
            {"_id": "c1", "type": "c"},
        ],
    )
    await put_ddoc(client, db, "f", {"filters": FILTERS, "views": VIEWS})
    return db


def changed(res: dict[str, Any]) -> list[str]:
    return [r["id"] for r in res["results"]]


async def test_filter_function_sees_query_params(client: TestClient, cdb: str) -> None:
    """DOCS: extra query parameters reach the filter as ``req.query``."""
    assert changed(await ok(client, "GET", f"/{cdb}/_changes?filter=f/by_type&type=a")) == ["a1", "a2"]
    assert changed(await ok(client, "GET", f"/{cdb}/_changes?filter=f/by_type&type=c")) == ["c1"]
    assert changed(await ok(client, "GET", f"/{cdb}/_changes?filter=f/by_type&type=zz")) == []
    assert changed(await ok(client, "GET", f"/{cdb}/_changes?filter=f/who&db={cdb}")) == [
        "a1",
        "b1",
        "a2",
        "c1",
        "_design/f",
    ]
    # include_docs, limit and since still apply
    res = await ok(client, "GET", f"/{cdb}/_changes?filter=f/by_type&type=a&include_docs=true&limit=1")
    assert changed(res) == ["a1"] and res["results"][0]["doc"]["type"] == "a"
    res2 = await ok(client, "GET", f"/{cdb}/_changes?filter=f/by_type&type=a&since={res['last_seq']}")
    assert changed(res2) == ["a2"]
    # POST _changes with the filter in the query string works the same
    res = await ok(client, "POST", f"/{cdb}/_changes?filter=f/by_type&type=b", 200, json={})
    assert changed(res) == ["b1"]


async def test_filter_sees_deletions_and_edits(client: TestClient, cdb: str) -> None:
    a1 = await ok(client, "GET", f"/{cdb}/a1")
    await ok(client, "DELETE", f"/{cdb}/a1?rev={a1['_rev']}", 200)
    b1 = await ok(client, "GET", f"/{cdb}/b1")
    await ok(client, "PUT", f"/{cdb}/b1", 201, json={**b1, "type": "a"})
    assert changed(await ok(client, "GET", f"/{cdb}/_changes?filter=f/deleted")) == ["a1"]
    assert changed(await ok(client, "GET", f"/{cdb}/_changes?filter=f/by_type&type=a")) == ["a2", "b1"]


async def test_view_filter(client: TestClient, cdb: str) -> None:
    """DOCS ``filter=_view``: a change passes when the view's map emits for the doc."""
    assert changed(await ok(client, "GET", f"/{cdb}/_changes?filter=_view&view=f/typed_a")) == ["a1", "a2"]
    await ok(client, "PUT", f"/{cdb}/a3", 201, json={"type": "a"})
    res = await ok(client, "GET", f"/{cdb}/_changes?filter=_view&view=f/typed_a&include_docs=true")
    assert changed(res) == ["a1", "a2", "a3"] and res["results"][2]["doc"]["type"] == "a"
    err(
        await call(client, "GET", f"/{cdb}/_changes?filter=_view"),
        400,
        "bad_request",
        "`view` filter parameter is not provided.",
    )
    assert (await call(client, "GET", f"/{cdb}/_changes?filter=_view&view=f/nope")).status == 404
    assert (await call(client, "GET", f"/{cdb}/_changes?filter=_view&view=nope/typed_a")).status == 404


async def test_filter_errors(client: TestClient, cdb: str) -> None:
    err(await call(client, "GET", f"/{cdb}/_changes?filter=f/nope"), 404, "not_found")
    err(await call(client, "GET", f"/{cdb}/_changes?filter=nope/by_type"), 404, "not_found", "missing")
    ex = await call(client, "GET", f"/{cdb}/_changes?filter=f/throws")
    assert ex.status >= 400, str(ex)  # the query server error fails the request


async def test_filter_must_name_ddoc_and_function(client: TestClient, cdb: str) -> None:
    """CHG ``configure_filter``: a filter name without ``/`` → 400."""
    err(
        await call(client, "GET", f"/{cdb}/_changes?filter=f"),
        400,
        "bad_request",
        "`filter` must be of the form `designname/filtername`",
    )


# -- show functions ----------------------------------------------------------------------------

SHOWS = {
    "plain": "function (doc, req) { return doc ? 'Hello ' + doc.name : 'no doc'; }",
    "req": (
        "function (doc, req) { return {json: {id: req.id, query: req.query, method: req.method, path: req.path,"
        " user: req.userCtx.name, db: req.info.db_name, doc: doc}}; }"
    ),
    "custom": (
        "function (doc, req) { return {code: 202, headers: {'Content-Type': 'text/plain', 'X-Mine': 'yes'},"
        " body: 'custom ' + (doc ? doc._id : '-')}; }"
    ),
    "unsafe": "function (doc, req) { return 'title: ' + doc.title; }",
    "fmt": (
        "function (doc, req) { provides('json', function () { return {json: {name: doc.name}}; });"
        " provides('html', function () { return '<b>' + doc.name + '</b>'; }); }"
    ),
}


@pytest.fixture
async def sdb(client: TestClient, db: str) -> str:
    await ok(client, "PUT", f"/{db}/ann", 201, json={"name": "Ann", "title": "Dr"})
    await put_ddoc(client, db, "s", {"shows": SHOWS})
    return db


async def test_show_functions(client: TestClient, sdb: str) -> None:
    ex = await call(client, "GET", f"/{sdb}/_design/s/_show/plain/ann")
    assert (ex.status, ex.body) == (200, b"Hello Ann"), str(ex)
    assert ex.headers["Content-Type"].startswith("text/html")
    ex = await call(client, "GET", f"/{sdb}/_design/s/_show/plain")
    assert (ex.status, ex.body) == (200, b"no doc"), str(ex)
    ex = await call(client, "GET", f"/{sdb}/_design/s/_show/plain/missing")
    assert (ex.status, ex.body) == (200, b"no doc"), str(ex)

    body = await ok(client, "GET", f"/{sdb}/_design/s/_show/req/ann?x=1&y=two")
    assert body["id"] == "ann" and body["query"] == {"x": "1", "y": "two"} and body["method"] == "GET"
    assert body["path"] == [sdb, "_design", "s", "_show", "req", "ann"]
    assert body["user"] == "admin" and body["db"] == sdb
    assert (
        body["doc"]["_id"] == "ann" and body["doc"]["name"] == "Ann" and body["doc"]["_rev"].startswith("1-")
    )

    ex = await call(client, "GET", f"/{sdb}/_design/s/_show/custom/ann")
    assert (ex.status, ex.body) == (202, b"custom ann"), str(ex)
    assert ex.headers["X-Mine"] == "yes" and ex.headers["Content-Type"].startswith("text/plain")

    ex = await call(client, "GET", f"/{sdb}/_design/s/_show/fmt/ann?format=json")
    assert ex.status == 200 and ex.json() == {"name": "Ann"}, str(ex)
    ex = await call(client, "GET", f"/{sdb}/_design/s/_show/fmt/ann?format=html")
    assert (ex.status, ex.body) == (200, b"<b>Ann</b>"), str(ex)


async def test_show_errors(client: TestClient, sdb: str) -> None:
    """SHOW render.js: a show that throws on a missing doc → 404 "document not found"."""
    err(
        await call(client, "GET", f"/{sdb}/_design/s/_show/unsafe/missing"),
        404,
        "not_found",
        "document not found",
    )
    ex = await call(client, "GET", f"/{sdb}/_design/s/_show/unsafe")
    err(ex, 500, "render_error")
    err(await call(client, "GET", f"/{sdb}/_design/s/_show/nope/ann"), 404, "not_found")
    err(await call(client, "GET", f"/{sdb}/_design/nope/_show/plain/ann"), 404, "not_found", "missing")


# -- update functions --------------------------------------------------------------------------

UPDATES = {
    "create": (
        "function (doc, req) { var body = JSON.parse(req.body);"
        " return [{_id: body.id, made: true, n: body.n}, 'created ' + body.id]; }"
    ),
    "bump": (
        "function (doc, req) { if (!doc) { return [{_id: req.id, n: 1}, 'new']; }"
        " doc.n = (doc.n || 0) + 1; return [doc, {json: {n: doc.n}}]; }"
    ),
    "noop": "function (doc, req) { return [null, {code: 200, json: {seen: doc ? doc._id : null, q: req.query}}]; }",
    "coded": "function (doc, req) { return [{_id: 'coded', x: 1}, {code: 202, body: 'accepted'}]; }",
    "stale": "function (doc, req) { return [{_id: req.id, _rev: '1-00000000000000000000000000000000'}, 'x']; }",
}


@pytest.fixture
async def udb(client: TestClient, db: str) -> str:
    await put_ddoc(client, db, "u", {"updates": UPDATES})
    return db


async def test_update_creating_a_doc(client: TestClient, udb: str) -> None:
    """SHOW: a saved doc → 201 with ``X-Couch-Update-NewRev`` and ``X-Couch-Id``."""
    ex = await call(client, "POST", f"/{udb}/_design/u/_update/create", data='{"id": "made1", "n": 5}')
    assert (ex.status, ex.body) == (201, b"created made1"), str(ex)
    rev = ex.headers["X-Couch-Update-NewRev"]
    assert ex.headers["X-Couch-Id"] == "made1"
    doc = await ok(client, "GET", f"/{udb}/made1")
    assert doc == {"_id": "made1", "_rev": rev, "made": True, "n": 5}


async def test_update_existing_and_missing_docs(client: TestClient, udb: str) -> None:
    ex = await call(client, "PUT", f"/{udb}/_design/u/_update/bump/counter")
    assert (ex.status, ex.body) == (201, b"new"), str(ex)
    rev1 = ex.headers["X-Couch-Update-NewRev"]
    assert rev1.startswith("1-")
    ex = await call(client, "POST", f"/{udb}/_design/u/_update/bump/counter")
    assert ex.status == 201 and ex.json() == {"n": 2}, str(ex)
    rev2 = ex.headers["X-Couch-Update-NewRev"]
    assert rev2.startswith("2-")
    assert await ok(client, "GET", f"/{udb}/counter") == {"_id": "counter", "_rev": rev2, "n": 2}


async def test_update_without_a_doc_to_save(client: TestClient, udb: str) -> None:
    await ok(client, "PUT", f"/{udb}/seen", 201, json={"a": 1})
    ex = await call(client, "POST", f"/{udb}/_design/u/_update/noop/seen?k=v")
    assert ex.status == 200 and ex.json() == {"seen": "seen", "q": {"k": "v"}}, str(ex)
    assert "X-Couch-Update-NewRev" not in ex.headers
    assert (await ok(client, "GET", f"/{udb}/seen"))["_rev"].startswith("1-")


async def test_update_function_code_wins_and_conflicts(client: TestClient, udb: str) -> None:
    ex = await call(client, "POST", f"/{udb}/_design/u/_update/coded")
    assert (ex.status, ex.body) == (202, b"accepted"), str(ex)
    assert "X-Couch-Update-NewRev" in ex.headers
    await ok(client, "PUT", f"/{udb}/taken", 201, json={})
    err(await call(client, "POST", f"/{udb}/_design/u/_update/stale/taken"), 409, "conflict")


async def test_update_errors(client: TestClient, udb: str) -> None:
    err(await call(client, "GET", f"/{udb}/_design/u/_update/bump/x"), 405, "method_not_allowed")
    err(await call(client, "POST", f"/{udb}/_design/u/_update/nope"), 404, "not_found")
    err(await call(client, "POST", f"/{udb}/_design/nope/_update/bump"), 404, "not_found", "missing")
