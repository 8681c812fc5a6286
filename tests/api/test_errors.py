"""Errors that cut across endpoints: unknown paths, wrong methods, request bodies.

Every error is JSON ``{"error","reason"}`` with ``Content-Type: application/json`` — PouchDB calls
``response.json()`` on every response (reference §0, §3.5, §7 item 20).

Sources: CouchDB ``chttpd.erl`` (``error_info/1``, ``send_method_not_allowed/2``,
``validate_ctype/2``, ``json_body_obj/1``), ``chttpd_db.erl`` (per-endpoint ctype checks and
``send_method_not_allowed`` lists), ``couch_httpd.erl`` ``validate_ctype/2``.
"""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from couchsync.api.app import create_app
from couchsync.settings import Settings

JSON = {"Content-Type": "application/json"}


async def _error(resp: Any, status: int, error: str, reason: str | None = None) -> dict[str, Any]:
    """Asserts a CouchDB error response and returns its body."""
    text = await resp.text()
    assert resp.status == status, text
    assert resp.headers["Content-Type"].startswith("application/json"), resp.headers
    body = await resp.json()
    assert set(body) == {"error", "reason"}, body
    assert body["error"] == error, body
    if reason is not None:
        assert body["reason"] == reason, body
    return dict(body)


# -- unknown paths -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/_all_dbs/extra", "missing"),
        ("/_uuids/extra", "missing"),
        ("/_session/extra", "missing"),
        ("/{db}/missing-doc", "missing"),
        ("/{db}/_design", "missing"),
        ("/{db}/_design/nope", "missing"),
        ("/nosuchdb", "Database does not exist."),
        ("/nosuchdb/doc", "Database does not exist."),
        ("/nosuchdb/_all_docs", "Database does not exist."),
        ("/nosuchdb/_changes", "Database does not exist."),
    ],
)
async def test_unknown_paths_are_json_404(client: TestClient, db: str, path: str, reason: str) -> None:
    """CDB chttpd ``error_info(not_found)`` → 404 ``not_found`` "missing";
    ``database_does_not_exist`` → "Database does not exist."."""
    r = await client.get(path.format(db=db))
    await _error(r, 404, "not_found", reason)


@pytest.mark.parametrize("path", ["/_nope", "/_utilsx", "/Upper", "/_nope/doc"])
async def test_unknown_underscore_path_is_a_database_name(client: TestClient, path: str) -> None:
    """An unknown first segment is a database name (chttpd hands it to chttpd_db); an illegal one
    is 400 ``illegal_database_name`` as documented for ``GET /{db}`` (DOCS api/database/common.rst
    "400 Bad Request – Invalid database name"; CouchDB 2.x/3.x itself answers 404 "Database does
    not exist." there, apache/couchdb#1485, #2246)."""
    r = await client.get(path)
    name = path.split("/")[1]
    body = await _error(r, 400, "illegal_database_name")
    assert body["reason"].startswith(f"Name: '{name}'. Only lowercase characters (a-z)")


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/{db}/_local", "Invalid _local document id."),
        ("/{db}/_local/", "Invalid _local document id."),
        ("/{db}/_local/x/att", "_local documents do not accept attachments."),
    ],
)
async def test_local_path_errors(client: TestClient, db: str, path: str, reason: str) -> None:
    """CDB chttpd_db db_req ``[_, <<"_local">>]`` clauses (reference §0)."""
    r = await client.get(path.format(db=db))
    await _error(r, 400, "bad_request", reason)


# -- 405 + Allow ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("POST", "/", {"GET", "HEAD"}),  # chttpd_misc handle_welcome_req "GET,HEAD"
        ("PUT", "/_up", {"GET", "HEAD"}),
        ("POST", "/_uuids", {"GET", "HEAD"}),
        ("DELETE", "/_all_dbs", {"GET", "HEAD"}),  # handle_all_dbs_req "GET,HEAD"
        ("PUT", "/_active_tasks", {"GET", "HEAD"}),
        ("PUT", "/_session", {"GET", "HEAD", "POST", "DELETE"}),
        ("PATCH", "/{db}", {"GET", "HEAD", "PUT", "DELETE", "POST"}),  # db_req "DELETE,GET,HEAD,POST"
        ("PUT", "/{db}/_all_docs", {"GET", "HEAD", "POST"}),  # ?IS_ALL_DOCS "GET,HEAD,POST"
        ("DELETE", "/{db}/_design_docs", {"GET", "HEAD", "POST"}),
        ("GET", "/{db}/_all_docs/queries", {"POST"}),  # ".../queries" "POST"
        ("PUT", "/{db}/_changes", {"GET", "HEAD", "POST"}),  # handle_changes_req "GET,POST,HEAD"
        ("GET", "/{db}/_bulk_docs", {"POST"}),
        ("GET", "/{db}/_bulk_get", {"POST"}),
        ("GET", "/{db}/_revs_diff", {"POST"}),
        ("GET", "/{db}/_compact", {"POST"}),  # handle_compact_req "POST"
        ("GET", "/{db}/_ensure_full_commit", {"POST"}),
        ("GET", "/{db}/_purge", {"POST"}),
        ("DELETE", "/{db}/_security", {"GET", "HEAD", "PUT"}),  # "PUT,GET"
        ("POST", "/{db}/_revs_limit", {"GET", "HEAD", "PUT"}),  # "PUT,GET"
        ("POST", "/{db}/_purged_infos_limit", {"GET", "HEAD", "PUT"}),
        ("PUT", "/{db}/_purged_infos", {"GET", "HEAD"}),
    ],
)
async def test_method_not_allowed(
    client: TestClient, db: str, method: str, path: str, allowed: set[str]
) -> None:
    """Wrong method → 405 ``method_not_allowed`` "Only <list> allowed" plus an ``Allow`` header
    naming the same list (CDB chttpd ``send_method_not_allowed/2``; reference §0). ``HEAD`` is
    listed wherever ``GET`` is (reference §0)."""
    r = await client.request(method, path.format(db=db), headers=JSON, data="{}")
    body = await _error(r, 405, "method_not_allowed")
    allow = r.headers["Allow"]
    assert set(allow.split(",")) == allowed
    assert body["reason"] == f"Only {allow} allowed"


# -- request bodies ------------------------------------------------------------------------------

# POST endpoints that call chttpd:validate_ctype(Req, "application/json") (CDB chttpd_db.erl,
# chttpd_misc.erl; reference §0 list).
CTYPE_ENDPOINTS = [
    "/{db}",
    "/{db}/_bulk_docs",
    "/{db}/_bulk_get",
    "/{db}/_revs_diff",
    "/{db}/_missing_revs",
    "/{db}/_all_docs",
    "/{db}/_design_docs",
    "/{db}/_local_docs",
    "/{db}/_changes",
    "/{db}/_compact",
    "/{db}/_ensure_full_commit",
    "/{db}/_purge",
    "/_dbs_info",
]


@pytest.mark.parametrize("path", CTYPE_ENDPOINTS)
async def test_wrong_content_type_415(client: TestClient, db: str, path: str) -> None:
    """415 ``bad_content_type`` "Content-Type must be application/json" for another or a missing
    content type (couch_httpd validate_ctype: an absent header fails too)."""
    url = path.format(db=db)
    for headers in (
        {"Content-Type": "text/plain"},
        {"Content-Type": "application/x-www-form-urlencoded"},
        {"Content-Type": "multipart/form-data; boundary=x"},
    ):
        r = await client.post(url, data="{}", headers=headers)
        await _error(r, 415, "bad_content_type", "Content-Type must be application/json")
    r = await client.post(url, data=b"{}", skip_auto_headers=["Content-Type"])
    await _error(r, 415, "bad_content_type", "Content-Type must be application/json")


@pytest.mark.parametrize("path", ["/{db}/_all_docs", "/{db}/_changes", "/{db}/_bulk_docs", "/{db}/_compact"])
async def test_json_content_type_with_parameters_accepted(client: TestClient, db: str, path: str) -> None:
    """validate_ctype splits the header on ``;``: ``application/json; charset=utf-8`` is JSON."""
    body = '{"docs":[]}' if path.endswith("_bulk_docs") else "{}"
    r = await client.post(
        path.format(db=db), data=body, headers={"Content-Type": "application/json; charset=utf-8"}
    )
    assert r.status in (200, 201, 202), await r.text()


# Endpoints that parse the body (_compact and _ensure_full_commit only check the content type).
BODY_ENDPOINTS = [p for p in CTYPE_ENDPOINTS if not p.endswith(("_compact", "_ensure_full_commit"))] + [
    "/{db}/_all_docs/queries",
]


@pytest.mark.parametrize("path", BODY_ENDPOINTS)
async def test_invalid_json_400(client: TestClient, db: str, path: str) -> None:
    """Unparseable or non-UTF-8 JSON → 400 ``bad_request`` "invalid UTF-8 JSON" (reference §0, §3.5)."""
    url = path.format(db=db)
    for raw in (b'{"a":', b"{'a': 1}", b'{"a":"\xff\xfe"}', b"nul"):
        r = await client.post(url, data=raw, headers=JSON)
        await _error(r, 400, "bad_request", "invalid UTF-8 JSON")


OBJECT_ENDPOINTS = [p for p in BODY_ENDPOINTS if p != "/{db}"]


@pytest.mark.parametrize("path", OBJECT_ENDPOINTS)
async def test_non_object_body_400(client: TestClient, db: str, path: str) -> None:
    """A JSON body that must be an object but is not → 400 ``bad_request`` "Request body must be a
    JSON object" (CDB chttpd ``json_body_obj/1``; reference §0)."""
    url = path.format(db=db)
    for raw in ("[]", "1", '"text"', "null", "true"):
        r = await client.post(url, data=raw, headers=JSON)
        await _error(r, 400, "bad_request", "Request body must be a JSON object")


async def test_post_db_non_object_document(client: TestClient, db: str) -> None:
    """``POST /{db}`` with a non-object → 400 "Document must be a JSON object" (CDB couch_doc
    ``from_json_obj_validate``)."""
    for raw in ("[]", "1", '"text"'):
        r = await client.post(f"/{db}", data=raw, headers=JSON)
        await _error(r, 400, "bad_request", "Document must be a JSON object")


async def test_request_too_large_413(tmp_path: Any) -> None:
    """Past ``max_http_request_size`` → 413 ``too_large`` "the request entity is too large"
    (CDB chttpd ``error_info(request_entity_too_large)``)."""
    settings = Settings(
        data_dir=str(tmp_path / "d"), admin="admin:secret", bcrypt_rounds=4, max_http_request_size=2000
    )
    import aiohttp

    client = TestClient(
        TestServer(create_app(settings)),
        headers={"Authorization": aiohttp.encode_basic_auth("admin", "secret")},
    )
    await client.start_server()
    try:
        assert (await client.put("/big")).status == 201
        docs = {"docs": [{"_id": f"d{i}", "pad": "x" * 100} for i in range(100)]}
        r = await client.post("/big/_bulk_docs", json=docs)
        await _error(r, 413, "too_large", "the request entity is too large")
    finally:
        await client.close()
