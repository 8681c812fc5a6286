"""Document endpoints: ``GET|HEAD|PUT|DELETE|COPY /{db}/{docid}`` and ``POST /{db}``.

Cases come from the protocol reference (/work/shared/reference/couchdb-protocol.md, cited as
"ref §x") and CouchDB's ``chttpd_db.erl`` (``db_doc_req``, ``couch_doc_from_req``,
``extract_header_rev``), ``couch_doc.erl`` (``validate_docid``, ``transfer_fields``, ``parse_rev``),
``couch_db.erl`` (``doc_meta_info``) and ``couch_db_updater.erl`` (``merge_rev_tree``).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from couchsync.settings import Settings

from .helpers import err, ok

JSON = {"Accept": "application/json"}


def rid(c: str) -> str:
    """A 32-hex-char revid made of one repeated character."""
    return c * 32


async def create(client: TestClient, db: str, doc_id: str, body: dict[str, Any]) -> str:
    return (await ok(await client.put(f"/{db}/{doc_id}", json=body), 201))["rev"]


async def bulk_replicated(client: TestClient, db: str, docs: list[dict[str, Any]]) -> None:
    """``_bulk_docs`` with ``new_edits:false`` (the replicator's write), expecting ``[]``."""
    r = await client.post(f"/{db}/_bulk_docs", json={"docs": docs, "new_edits": False})
    assert await ok(r, 201) == []


def path(start: int, *ids: str) -> dict[str, Any]:
    return {"start": start, "ids": [rid(c) for c in ids]}


# -- reading -------------------------------------------------------------------------------------


async def test_get_returns_winner_with_etag(client: TestClient, db: str) -> None:
    """ref §0, §2.7: ``{"_id","_rev",…}``, ``ETag: "<rev>"``, JSON content type, must-revalidate."""
    rev = await create(client, db, "a", {"x": 1, "y": "é"})
    r = await client.get(f"/{db}/a")
    assert await ok(r) == {"_id": "a", "_rev": rev, "x": 1, "y": "é"}
    assert r.headers["ETag"] == f'"{rev}"'
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.headers["Cache-Control"] == "must-revalidate"


@pytest.mark.parametrize(
    ("doc_id", "query", "reason"),
    [
        pytest.param("nope", "", "missing", id="unknown-doc"),  # chttpd_db couch_doc_open
        pytest.param("gone", "", "deleted", id="deleted-doc"),  # ref §2.3
        pytest.param("a", f"?rev=1-{rid('f')}", "missing", id="unknown-rev"),  # ref §2.7
        pytest.param("nope", f"?rev=1-{rid('f')}", "missing", id="unknown-doc-with-rev"),
    ],
)
async def test_get_not_found(client: TestClient, db: str, doc_id: str, query: str, reason: str) -> None:
    await create(client, db, "a", {})
    rev = await create(client, db, "gone", {})
    await ok(await client.delete(f"/{db}/gone?rev={rev}"))
    await err(await client.get(f"/{db}/{doc_id}{query}"), 404, "not_found", reason)


async def test_get_missing_db(client: TestClient) -> None:
    """ref §4.1: doc read in a missing db → 404 "Database does not exist."."""
    await err(await client.get("/nosuchdb/a"), 404, "not_found", "Database does not exist.")


async def test_get_old_rev_and_deleted_leaf(client: TestClient, db: str) -> None:
    """ref §2.7: ``?rev=<old>`` returns the old body; ``?rev=<deleted leaf>`` → 200 ``_deleted:true``."""
    r1 = await create(client, db, "a", {"v": 1})
    r2 = await create(client, db, "a", {"_rev": r1, "v": 2})
    assert await ok(await client.get(f"/{db}/a?rev={r1}")) == {"_id": "a", "_rev": r1, "v": 1}
    r3 = (await ok(await client.delete(f"/{db}/a?rev={r2}")))["rev"]
    assert await ok(await client.get(f"/{db}/a?rev={r3}")) == {"_id": "a", "_rev": r3, "_deleted": True}


async def test_get_revs_and_revs_info(client: TestClient, db: str) -> None:
    """ref §2.7: ``_revisions`` = full path of the returned rev; ``_revs_info`` newest first with
    ``available``/``missing``/``deleted`` (ancestors known only by id are missing, couch_db doc_meta_info)."""
    await bulk_replicated(
        client, db, [{"_id": "a", "_rev": f"3-{rid('c')}", "_revisions": path(3, "c", "b", "a")}]
    )
    body = await ok(await client.get(f"/{db}/a?revs=true&revs_info=true"))
    assert body["_revisions"] == path(3, "c", "b", "a")
    assert body["_revs_info"] == [
        {"rev": f"3-{rid('c')}", "status": "available"},
        {"rev": f"2-{rid('b')}", "status": "missing"},
        {"rev": f"1-{rid('a')}", "status": "missing"},
    ]


async def test_revs_info_reports_deleted_ancestor(client: TestClient, db: str) -> None:
    """ref §2.7: a deleted node on the winner's path has status ``deleted`` (recreated doc)."""
    r1 = await create(client, db, "a", {})
    r2 = (await ok(await client.delete(f"/{db}/a?rev={r1}")))["rev"]
    r3 = await create(client, db, "a", {"again": True})
    body = await ok(await client.get(f"/{db}/a?revs_info=true"))
    assert body["_revs_info"] == [
        {"rev": r3, "status": "available"},
        {"rev": r2, "status": "deleted"},
        {"rev": r1, "status": "available"},
    ]


async def conflicted(client: TestClient, db: str) -> None:
    """1-a → 2-b (live), 2-c (live), 2-d → 3-e (deleted): winner 2-c; conflicts [2-b]; deleted [3-e]."""
    await bulk_replicated(
        client,
        db,
        [
            {"_id": "a", "_rev": f"2-{rid('b')}", "_revisions": path(2, "b", "a"), "v": "b"},
            {"_id": "a", "_rev": f"2-{rid('c')}", "_revisions": path(2, "c", "a"), "v": "c"},
            {"_id": "a", "_rev": f"3-{rid('e')}", "_revisions": path(3, "e", "d", "a"), "_deleted": True},
        ],
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param("conflicts=true", {"_conflicts": [f"2-{rid('b')}"]}, id="conflicts"),
        pytest.param(
            "deleted_conflicts=true", {"_deleted_conflicts": [f"3-{rid('e')}"]}, id="deleted_conflicts"
        ),
        pytest.param(
            "meta=true",
            {
                "_revs_info": [
                    {"rev": f"2-{rid('c')}", "status": "available"},
                    {"rev": f"1-{rid('a')}", "status": "missing"},
                ],
                "_conflicts": [f"2-{rid('b')}"],
                "_deleted_conflicts": [f"3-{rid('e')}"],
            },
            id="meta",
        ),
        pytest.param("conflicts=yes", {}, id="non-literal-true-ignored"),  # ref §0: only "true"
    ],
)
async def test_conflict_meta(client: TestClient, db: str, query: str, expected: dict[str, Any]) -> None:
    """ref §2.3: winner = non-deleted, then pos, then revid — 2-c beats 2-b and the longer deleted 3-e;
    couch_db doc_meta_info: ``meta`` = revs_info + conflicts + deleted_conflicts."""
    await conflicted(client, db)
    body = await ok(await client.get(f"/{db}/a?{query}"))
    assert body == {"_id": "a", "_rev": f"2-{rid('c')}", "v": "c", **expected}


async def test_local_seq(client: TestClient, db: str) -> None:
    """ref §2.7: ``_local_seq`` is the doc's update seq (an integer on one node)."""
    await create(client, db, "a", {})
    rev = await create(client, db, "b", {})
    body = await ok(await client.get(f"/{db}/b?local_seq=true"))
    assert body == {"_id": "b", "_rev": rev, "_local_seq": 2}


async def test_special_member_order(client: TestClient, db: str) -> None:
    """ref §2.7 / couch_doc to_json_obj: ``_id, _rev, body, _revisions, _revs_info, _conflicts,
    _deleted_conflicts, _local_seq, _attachments``."""
    await conflicted(client, db)
    r = await client.put(
        f"/{db}/a/att.txt?rev=2-{rid('c')}", data=b"hi", headers={"Content-Type": "text/plain"}
    )
    await ok(r, 201)
    body = await ok(await client.get(f"/{db}/a?revs=true&meta=true&local_seq=true"))
    assert list(body) == [
        "_id",
        "_rev",
        "v",
        "_revisions",
        "_revs_info",
        "_conflicts",
        "_deleted_conflicts",
        "_local_seq",
        "_attachments",
    ]


async def test_latest_with_rev_returns_winner(client: TestClient, db: str) -> None:
    """chttpd_db db_doc_req GET: with ``latest=true`` ``couch_doc_open`` opens the winner whatever
    ``rev`` names (ref §2.7) — here an internal rev and a losing leaf."""
    await conflicted(client, db)
    for rev in (f"1-{rid('a')}", f"2-{rid('b')}"):
        body = await ok(await client.get(f"/{db}/a?rev={rev}&latest=true"))
        assert body["_rev"] == f"2-{rid('c')}"


async def test_all_leaves_deleted_is_deleted(client: TestClient, db: str) -> None:
    """ref §2.3: when every leaf is deleted the doc is deleted (GET → 404 deleted)."""
    await bulk_replicated(
        client,
        db,
        [
            {"_id": "a", "_rev": f"2-{rid('b')}", "_revisions": path(2, "b", "a"), "_deleted": True},
            {"_id": "a", "_rev": f"2-{rid('c')}", "_revisions": path(2, "c", "a"), "_deleted": True},
        ],
    )
    await err(await client.get(f"/{db}/a"), 404, "not_found", "deleted")


# -- ETag / conditional GET ---------------------------------------------------------------------------


async def test_if_none_match_304(client: TestClient, db: str) -> None:
    """ref §0: ``If-None-Match`` equal to the doc ETag → 304 with empty body (couch_httpd etag_respond)."""
    rev = await create(client, db, "a", {"x": 1})
    r = await client.get(f"/{db}/a", headers={"If-None-Match": f'"{rev}"'})
    assert r.status == 304
    assert await r.read() == b""
    r = await client.get(f"/{db}/a", headers={"If-None-Match": '"1-other"'})
    assert r.status == 200


async def test_etag_follows_new_rev(client: TestClient, db: str) -> None:
    """A stale ETag after an update gets the new doc (200), never 304."""
    r1 = await create(client, db, "a", {"x": 1})
    r2 = await create(client, db, "a", {"_rev": r1, "x": 2})
    r = await client.get(f"/{db}/a", headers={"If-None-Match": f'"{r1}"'})
    assert (await ok(r))["_rev"] == r2
    assert r.headers["ETag"] == f'"{r2}"'


@pytest.mark.parametrize("query", ["revs_info=true", "conflicts=true", "meta=true", "local_seq=true"])
async def test_no_etag_with_meta(client: TestClient, db: str, query: str) -> None:
    """chttpd_db send_doc: the ETag is sent only when the doc has no meta (revs_info, conflicts,
    deleted_conflicts, local_seq), otherwise a conflict arriving below an unchanged winner would be
    answered 304 with stale ``_conflicts``."""
    await conflicted(client, db)
    r = await client.get(f"/{db}/a?{query}", headers={"If-None-Match": f'"2-{rid("c")}"'})
    assert r.status == 200
    assert "ETag" not in r.headers


async def test_head(client: TestClient, db: str) -> None:
    """ref §0: HEAD is accepted wherever GET is: same status/headers, no body."""
    rev = await create(client, db, "a", {"x": 1})
    r = await client.head(f"/{db}/a")
    assert r.status == 200 and r.headers["ETag"] == f'"{rev}"'
    assert await r.read() == b""
    r = await client.head(f"/{db}/nope")
    assert r.status == 404


# -- rev parsing -----------------------------------------------------------------------------------


BAD_REVS = [
    pytest.param("abc", id="no-dash"),
    pytest.param("x-" + rid("a"), id="non-integer-pos"),
    pytest.param("1-" + "z" * 32, id="32-char-non-hex"),  # ref §2.1, couch_doc parse_revid
]


@pytest.mark.parametrize("bad", BAD_REVS)
@pytest.mark.parametrize("where", ["body", "query", "if-match", "get"])
async def test_invalid_rev_format(client: TestClient, db: str, where: str, bad: str) -> None:
    """couch_doc parse_rev: → 400 bad_request "Invalid rev format" from any rev source."""
    await create(client, db, "a", {})
    if where == "body":
        r = await client.put(f"/{db}/a", json={"_rev": bad})
    elif where == "query":
        r = await client.put(f"/{db}/a?rev={bad}", json={})
    elif where == "if-match":
        r = await client.put(f"/{db}/a", json={}, headers={"If-Match": f'"{bad}"'})
    else:
        r = await client.get(f"/{db}/a?rev={bad}")
    await err(r, 400, "bad_request", "Invalid rev format")


async def test_non_string_rev(client: TestClient, db: str) -> None:
    """couch_doc parse_rev(_BadRev) → "Invalid rev format"."""
    await err(await client.put(f"/{db}/a", json={"_rev": 1}), 400, "bad_request", "Invalid rev format")


async def test_uppercase_rev_normalised(client: TestClient, db: str) -> None:
    """ref §2.1, §7.31: uppercase hex revids are accepted and re-emitted lowercase."""
    r1 = await create(client, db, "a", {"v": 1})
    upper = r1.upper()
    assert (await ok(await client.get(f"/{db}/a?rev={upper}")))["_rev"] == r1
    r2 = await create(client, db, "a", {"_rev": upper, "v": 2})
    assert r2.startswith("2-")
    rev = f"1-{rid('A')}"
    r = await client.put(f"/{db}/b?new_edits=false", json={"_rev": rev})
    assert (await ok(r, 201))["rev"] == rev.lower()
    assert (await ok(await client.get(f"/{db}/b")))["_rev"] == rev.lower()


# -- PUT / POST --------------------------------------------------------------------------------------


async def test_put_create_and_update(client: TestClient, db: str) -> None:
    """ref §4.3: 201 ``{"ok","id","rev"}`` + ``ETag`` + ``Location``; the update chains to it."""
    r = await client.put(f"/{db}/a", json={"x": 1})
    body = await ok(r, 201)
    assert body == {"ok": True, "id": "a", "rev": body["rev"]}
    assert re.fullmatch(r"1-[0-9a-f]{32}", body["rev"])
    assert r.headers["ETag"] == f'"{body["rev"]}"'
    assert r.headers["Location"].endswith(f"/{db}/a")
    r2 = await create(client, db, "a", {"_rev": body["rev"], "x": 2})
    assert r2.startswith("2-")
    revs = (await ok(await client.get(f"/{db}/a?revs=true")))["_revisions"]
    assert revs == {"start": 2, "ids": [r2[2:], body["rev"][2:]]}


@pytest.mark.parametrize("how", ["body", "query", "if-match", "all-agree"])
async def test_rev_sources(client: TestClient, db: str, how: str) -> None:
    """chttpd_db couch_doc_from_req / extract_header_rev: ``_rev``, ``?rev=`` and ``If-Match`` all name
    the parent."""
    r1 = await create(client, db, "a", {})
    body: dict[str, Any] = {"v": 2}
    url, headers = f"/{db}/a", {}
    if how in ("body", "all-agree"):
        body["_rev"] = r1
    if how in ("query", "all-agree"):
        url += f"?rev={r1}"
    if how in ("if-match", "all-agree"):
        headers["If-Match"] = f'"{r1}"'
    assert (await ok(await client.put(url, json=body, headers=headers), 201))["rev"].startswith("2-")


@pytest.mark.parametrize(
    ("body_rev", "query_rev", "if_match", "reason"),
    [
        pytest.param(
            "1-a",
            "1-b",
            None,
            "Document rev from request body and query string have different values",
            id="body-vs-query",
        ),
        pytest.param(
            "1-a", None, "1-b", "Document rev and etag have different values", id="body-vs-if-match"
        ),
        pytest.param(
            None, "1-a", "1-b", "Document rev and etag have different values", id="query-vs-if-match"
        ),
    ],
)
async def test_rev_disagreement(
    client: TestClient,
    db: str,
    body_rev: str | None,
    query_rev: str | None,
    if_match: str | None,
    reason: str,
) -> None:
    """chttpd_db couch_doc_from_req / extract_header_rev → 400 bad_request (ref §2.4)."""
    body = {"_rev": body_rev} if body_rev else {}
    url = f"/{db}/a" + (f"?rev={query_rev}" if query_rev else "")
    headers = {"If-Match": f'"{if_match}"'} if if_match else {}
    await err(await client.put(url, json=body, headers=headers), 400, "bad_request", reason)


@pytest.mark.parametrize(
    "case",
    [
        pytest.param("no-rev-on-live-doc", id="no-rev-on-live-doc"),  # ref §2.4
        pytest.param("stale-rev", id="stale-rev"),  # _rev must be a leaf
        pytest.param("unknown-rev", id="unknown-rev"),
        pytest.param("rev-on-unknown-doc", id="rev-on-unknown-doc"),
    ],
)
async def test_put_conflicts(client: TestClient, db: str, case: str) -> None:
    """ref §2.4: interactive writes → 409 conflict "Document update conflict."."""
    r1 = await create(client, db, "a", {"v": 1})
    await create(client, db, "a", {"_rev": r1, "v": 2})
    doc_id, body = {
        "no-rev-on-live-doc": ("a", {"v": 3}),
        "stale-rev": ("a", {"_rev": r1, "v": 3}),
        "unknown-rev": ("a", {"_rev": f"2-{rid('f')}"}),
        "rev-on-unknown-doc": ("b", {"_rev": f"1-{rid('f')}"}),
    }[case]
    await err(await client.put(f"/{db}/{doc_id}", json=body), 409, "conflict", "Document update conflict.")


async def test_put_deleted_true_returns_200(client: TestClient, db: str) -> None:
    """ref §0 / chttpd_db update_doc: a PUT with ``_deleted:true`` answers 200, not 201."""
    r1 = await create(client, db, "a", {})
    r = await client.put(f"/{db}/a", json={"_rev": r1, "_deleted": True})
    body = await ok(r, 200)
    assert body["ok"] is True and body["rev"].startswith("2-")
    await err(await client.get(f"/{db}/a"), 404, "not_found", "deleted")


async def test_url_id_wins_over_body_id(client: TestClient, db: str) -> None:
    """chttpd_db couch_doc_from_req: ``Doc#doc{id = DocId}`` — the URL id is used."""
    await create(client, db, "a", {"_id": "b", "x": 1})
    assert (await ok(await client.get(f"/{db}/a")))["x"] == 1
    await err(await client.get(f"/{db}/b"), 404, "not_found", "missing")


async def test_put_batch_ok(client: TestClient, db: str) -> None:
    """chttpd_db db_doc_req PUT ``batch=ok`` → 202 ``{"ok":true,"id"}`` (no rev: the write is async)."""
    r = await client.put(f"/{db}/a?batch=ok", json={"x": 1})
    assert await ok(r, 202) == {"ok": True, "id": "a"}
    assert (await ok(await client.get(f"/{db}/a")))["x"] == 1


async def test_post_creates_with_uuid(client: TestClient, db: str) -> None:
    """ref §4.1: ``POST /{db}`` without ``_id`` → server UUID; with ``_id`` → that id; batch → 202."""
    body = await ok(await client.post(f"/{db}", json={"x": 1}), 201)
    assert re.fullmatch(r"[0-9a-f]{32}", body["id"]) and body["rev"].startswith("1-")
    body = await ok(await client.post(f"/{db}", json={"_id": "named"}), 201)
    assert body["id"] == "named"
    body = await ok(await client.post(f"/{db}?batch=ok", json={"_id": "b"}), 202)
    assert body == {"ok": True, "id": "b"}
    await err(
        await client.post(f"/{db}", json={"_id": "named"}), 409, "conflict", "Document update conflict."
    )


async def test_post_requires_json_content_type(client: TestClient, db: str) -> None:
    """chttpd_db db_req POST: ``validate_ctype(Req, "application/json")`` → 415."""
    r = await client.post(f"/{db}", data=b'{"x":1}', headers={"Content-Type": "text/html"})
    await err(r, 415, "bad_content_type", "Content-Type must be application/json")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        pytest.param(b"[1,2]", "Document must be a JSON object", id="array"),  # couch_doc from_json_obj
        pytest.param(b'"x"', "Document must be a JSON object", id="string"),
        pytest.param(b"{bad json", "invalid UTF-8 JSON", id="invalid-json"),  # ref §0
        pytest.param(b'{"a":"\xff"}', "invalid UTF-8 JSON", id="invalid-utf8"),
    ],
)
async def test_put_bad_body(client: TestClient, db: str, raw: bytes, reason: str) -> None:
    r = await client.put(f"/{db}/a", data=raw, headers={"Content-Type": "application/json"})
    await err(r, 400, "bad_request", reason)


# -- new_edits=false and multipart PUT -------------------------------------------------------------------


async def test_put_new_edits_false(client: TestClient, db: str) -> None:
    """ref §1.9, §2.5: ``PUT ?new_edits=false`` merges the given path, answers 201 with that rev,
    and creates a conflict instead of failing."""
    r1 = await create(client, db, "a", {"v": 1})
    r2 = await create(client, db, "a", {"_rev": r1, "v": 2})
    rev = f"2-{rid('f')}"
    r = await client.put(
        f"/{db}/a?new_edits=false",
        json={"_rev": rev, "_revisions": {"start": 2, "ids": [rid("f"), r1[2:]]}, "v": "f"},
    )
    assert await ok(r, 201) == {"ok": True, "id": "a", "rev": rev}
    body = await ok(await client.get(f"/{db}/a?conflicts=true"))
    assert (body["_rev"], body["_conflicts"]) == (rev, [r2])  # "ffff…" sorts after any other revid


async def test_put_new_edits_false_requires_rev(client: TestClient, db: str) -> None:
    """chttpd_db validate_revs → 400."""
    r = await client.put(f"/{db}/a?new_edits=false", json={"x": 1})
    await err(
        r, 400, "bad_request", "When `new_edits: false`, the document needs `_rev` or `_revisions` specified"
    )


def related(doc: dict[str, Any], *atts: tuple[str, bytes]) -> aiohttp.MultipartWriter:
    mp = aiohttp.MultipartWriter("related")
    mp.append_json(doc)
    for ctype, data in atts:
        mp.append(data, {"Content-Type": ctype})
    return mp


async def test_put_multipart_related(client: TestClient, db: str) -> None:
    """ref §1.9: ``multipart/related`` PUT — JSON first with ``follows:true`` attachments, then their
    bodies in order; 201 like a JSON PUT; ``revpos`` = the new rev's pos."""
    doc = {
        "x": 1,
        "_attachments": {
            "a.txt": {"content_type": "text/plain", "length": 5, "follows": True},
            "b.bin": {"content_type": "application/octet-stream", "length": 3, "follows": True},
        },
    }
    r = await client.put(
        f"/{db}/d", data=related(doc, ("text/plain", b"hello"), ("application/octet-stream", b"\0\1\2"))
    )
    rev = (await ok(r, 201))["rev"]
    body = await ok(await client.get(f"/{db}/d"))
    assert body["_rev"] == rev and body["x"] == 1
    assert body["_attachments"]["a.txt"] == {
        "content_type": "text/plain",
        "revpos": 1,
        "digest": "md5-XUFAKrxLKna5cZ2REBfFkg==",
        "length": 5,
        "stub": True,
    }
    r = await client.get(f"/{db}/d/b.bin")
    assert await r.read() == b"\0\1\2"


async def test_put_multipart_related_new_edits_false(client: TestClient, db: str) -> None:
    """ref §1.9, §1.13: the CouchDB replicator's ``PUT ?new_edits=false`` multipart keeps the given rev
    and the attachment's ``revpos``."""
    rev = f"3-{rid('c')}"
    doc = {
        "_id": "d",
        "_rev": rev,
        "_revisions": path(3, "c", "b", "a"),
        "_attachments": {
            "a.txt": {
                "content_type": "text/plain",
                "revpos": 2,
                "digest": "md5-x",
                "length": 5,
                "follows": True,
            }
        },
    }
    r = await client.put(f"/{db}/d?new_edits=false", data=related(doc, ("text/plain", b"hello")))
    assert await ok(r, 201) == {"ok": True, "id": "d", "rev": rev}
    att = (await ok(await client.get(f"/{db}/d")))["_attachments"]["a.txt"]
    assert att["revpos"] == 2 and att["digest"] == "md5-XUFAKrxLKna5cZ2REBfFkg=="
    assert await (await client.get(f"/{db}/d/a.txt")).read() == b"hello"


# -- ids and special members ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url", "body", "reason"),
    [
        pytest.param(
            "PUT", "_foo", {}, "Only reserved document ids may start with underscore.", id="put-underscore"
        ),
        pytest.param("PUT", "_design/", {}, "Illegal document id `_design/`", id="put-design-slash"),
        pytest.param("PUT", "_design%2F", {}, "Illegal document id `_design/`", id="put-design-encoded"),
        pytest.param(
            "POST",
            "",
            {"_id": "_foo"},
            "Only reserved document ids may start with underscore.",
            id="post-underscore",
        ),
        pytest.param("POST", "", {"_id": ""}, "Document id must not be empty", id="post-empty"),
        pytest.param("POST", "", {"_id": 5}, "Document id must be a string", id="post-non-string"),
        pytest.param(
            "POST", "", {"_id": "_design/"}, "Illegal document id `_design/`", id="post-design-slash"
        ),
        pytest.param("POST", "", {"_id": "_local/"}, "Illegal document id `_local/`", id="post-local-slash"),
        pytest.param(
            "PUT",
            "_design",
            {},
            "Only reserved document ids may start with underscore.",
            id="put-design-bare",
        ),
    ],
)
async def test_illegal_docid(
    client: TestClient, db: str, method: str, url: str, body: Any, reason: str
) -> None:
    """couch_doc validate_docid (ref §3.5, §4.3): → 400 illegal_docid."""
    r = await client.request(method, f"/{db}/{url}" if url else f"/{db}", json=body)
    await err(r, 400, "illegal_docid", reason)


async def test_design_and_reserved_prefixes_accepted(client: TestClient, db: str) -> None:
    """``_design/x`` is a valid id, addressed with a raw or an encoded ``/`` (ref §0)."""
    rev = await create(client, db, "_design/x", {"views": {}})
    assert (await ok(await client.get(f"/{db}/_design%2Fx")))["_rev"] == rev
    body = await ok(await client.post(f"/{db}", json={"_id": "_design/y"}), 201)
    assert body["id"] == "_design/y"


@pytest.mark.parametrize(
    ("member", "value", "reason"),
    [
        pytest.param(
            "_foo", 1, "Bad special document member: _foo", id="unknown"
        ),  # couch_doc transfer_fields
        pytest.param("_deleted", "yes", "Bad special document member: _deleted", id="deleted-not-bool"),
        pytest.param(
            "_attachments", [], "Bad special document member: _attachments", id="attachments-not-object"
        ),
        pytest.param("_revisions", "x", "Bad special document member: _revisions", id="revisions-not-object"),
        pytest.param(
            "_revisions", {"start": "1", "ids": []}, "_revisions.start isn't an integer.", id="start"
        ),
        pytest.param("_revisions", {"start": 1, "ids": "a"}, "_revisions.ids isn't a array.", id="ids"),
        pytest.param("_revisions", {"start": 1, "ids": [1]}, "RevId isn't a string", id="revid-type"),
        pytest.param(
            "_revisions", {"start": 1, "ids": ["z" * 32]}, "RevId isn't a valid hexadecimal", id="revid-hex"
        ),
    ],
)
async def test_bad_special_members(client: TestClient, db: str, member: str, value: Any, reason: str) -> None:
    """ref §2.7, §2.1 / couch_doc transfer_fields: → 400 doc_validation."""
    await err(await client.put(f"/{db}/a", json={member: value}), 400, "doc_validation", reason)


async def test_ignored_special_members(client: TestClient, db: str) -> None:
    """ref §2.7: ``_revs_info``, ``_conflicts``, ``_deleted_conflicts``, ``_local_seq`` are accepted
    on write and dropped; ``_replication_state`` is kept (couch_doc transfer_fields)."""
    rev = await create(
        client,
        db,
        "a",
        {
            "x": 1,
            "_revs_info": [],
            "_conflicts": ["1-a"],
            "_deleted_conflicts": [],
            "_local_seq": 4,
            "_replication_state": "triggered",
        },
    )
    body = await ok(await client.get(f"/{db}/a"))
    assert body == {"_id": "a", "_rev": rev, "x": 1, "_replication_state": "triggered"}


# -- DELETE --------------------------------------------------------------------------------------------


async def test_delete(client: TestClient, db: str) -> None:
    """ref §2.4, §4.3: ``DELETE ?rev=`` → 200 ``{"ok","id","rev"}``; the tombstone has an empty body."""
    r1 = await create(client, db, "a", {"x": 1})
    r = await client.delete(f"/{db}/a?rev={r1}")
    body = await ok(r, 200)
    assert body == {"ok": True, "id": "a", "rev": body["rev"]} and body["rev"].startswith("2-")
    assert r.headers["ETag"] == f'"{body["rev"]}"'
    assert await ok(await client.get(f"/{db}/a?rev={body['rev']}")) == {
        "_id": "a",
        "_rev": body["rev"],
        "_deleted": True,
    }
    info = await ok(await client.get(f"/{db}"))
    assert (info["doc_count"], info["doc_del_count"]) == (0, 1)


async def test_delete_with_if_match(client: TestClient, db: str) -> None:
    """chttpd_db extract_header_rev: ``If-Match`` names the rev to delete."""
    r1 = await create(client, db, "a", {})
    await ok(await client.delete(f"/{db}/a", headers={"If-Match": f'"{r1}"'}))


@pytest.mark.parametrize(
    ("doc_id", "query", "status", "error", "reason"),
    [
        pytest.param("nope", "", 404, "not_found", "missing", id="missing-doc"),  # ref §2.4
        pytest.param("nope", f"?rev=1-{rid('a')}", 404, "not_found", "missing", id="missing-doc-with-rev"),
        pytest.param("gone", "", 404, "not_found", "deleted", id="deleted-doc"),  # ref §2.4
        pytest.param("gone", "?rev={tomb}", 404, "not_found", "deleted", id="deleted-doc-with-rev"),
        pytest.param("live", "", 409, "conflict", "Document update conflict.", id="no-rev"),  # ref §2.4
        pytest.param("live", "?rev={old}", 409, "conflict", "Document update conflict.", id="stale-rev"),
        pytest.param("live", "?rev=bad", 400, "bad_request", "Invalid rev format", id="bad-rev"),
    ],
)
async def test_delete_errors(
    client: TestClient, db: str, doc_id: str, query: str, status: int, error: str, reason: str
) -> None:
    """chttpd_db db_doc_req DELETE: ``couch_doc_open(Db, DocId, nil, …)`` first, so a missing doc is
    404 missing and a deleted one 404 deleted whatever rev is given."""
    g1 = await create(client, db, "gone", {})
    tomb = (await ok(await client.delete(f"/{db}/gone?rev={g1}")))["rev"]
    old = await create(client, db, "live", {})
    await create(client, db, "live", {"_rev": old, "v": 2})
    await err(await client.delete(f"/{db}/{doc_id}{query.format(tomb=tomb, old=old)}"), status, error, reason)


# -- recreate after delete -----------------------------------------------------------------------------


async def test_recreate_after_delete(client: TestClient, db: str) -> None:
    """ref §2.4, §7.8 / couch_db_updater merge_rev_tree (deleted OldInfo): a PUT without ``_rev`` on a
    deleted doc is a child of the tombstone (pos+1); naming the tombstone rev → 409."""
    r1 = await create(client, db, "a", {"v": 1})
    r2 = await create(client, db, "a", {"_rev": r1, "v": 2})
    tomb = (await ok(await client.delete(f"/{db}/a?rev={r2}")))["rev"]
    await err(
        await client.put(f"/{db}/a", json={"_rev": tomb, "v": 3}),
        409,
        "conflict",
        "Document update conflict.",
    )
    r4 = await create(client, db, "a", {"v": 4})
    assert r4.startswith("4-")
    body = await ok(await client.get(f"/{db}/a?revs=true"))
    assert body["_revisions"] == {"start": 4, "ids": [r[2:] for r in (r4, tomb, r2, r1)]}
    info = await ok(await client.get(f"/{db}"))
    assert (info["doc_count"], info["doc_del_count"]) == (1, 0)


async def test_recreate_as_deleted_conflicts(client: TestClient, db: str) -> None:
    """couch_db_updater merge_rev_tree: recreating with ``_deleted:true`` is a conflict."""
    r1 = await create(client, db, "a", {})
    await ok(await client.delete(f"/{db}/a?rev={r1}"))
    await err(await client.put(f"/{db}/a", json={"_deleted": True}), 409, "conflict")


async def test_delete_conflict_branch_resolves(client: TestClient, db: str) -> None:
    """ref §2.4: deleting one conflicting leaf resolves the conflict; the doc stays live."""
    await conflicted(client, db)
    r = await client.delete(f"/{db}/a?rev=2-{rid('b')}")
    await ok(r)
    body = await ok(await client.get(f"/{db}/a?conflicts=true&deleted_conflicts=true"))
    assert body["_rev"] == f"2-{rid('c')}" and "_conflicts" not in body
    assert len(body["_deleted_conflicts"]) == 2


# -- COPY ----------------------------------------------------------------------------------------------


async def test_copy(client: TestClient, db: str) -> None:
    """ref §4.3 / chttpd_db db_doc_req COPY: 201 ``{"ok","id","rev"}`` + ETag; body and attachments copied."""
    r1 = await create(client, db, "src", {"x": 1})
    r = await client.put(f"/{db}/src/a.txt?rev={r1}", data=b"hi", headers={"Content-Type": "text/plain"})
    await ok(r, 201)
    r = await client.request("COPY", f"/{db}/src", headers={"Destination": "dst"})
    body = await ok(r, 201)
    assert body == {"ok": True, "id": "dst", "rev": body["rev"]} and body["rev"].startswith("1-")
    assert r.headers["ETag"] == f'"{body["rev"]}"'
    dst = await ok(await client.get(f"/{db}/dst"))
    assert dst["x"] == 1 and dst["_attachments"]["a.txt"]["length"] == 2
    assert await (await client.get(f"/{db}/dst/a.txt")).read() == b"hi"


async def test_copy_over_existing_and_old_rev(client: TestClient, db: str) -> None:
    """chttpd_util parse_copy_destination_header: ``Destination: id?rev=R`` overwrites; the source
    ``?rev=`` copies that revision."""
    s1 = await create(client, db, "src", {"v": 1})
    await create(client, db, "src", {"_rev": s1, "v": 2})
    d1 = await create(client, db, "dst", {"v": "old"})
    r = await client.request("COPY", f"/{db}/src?rev={s1}", headers={"Destination": f"dst?rev={d1}"})
    assert (await ok(r, 201))["rev"].startswith("2-")
    assert (await ok(await client.get(f"/{db}/dst")))["v"] == 1


async def test_copy_destination_is_url_decoded(client: TestClient, db: str) -> None:
    """chttpd_db COPY: ``TargetDocId = chttpd:unquote(TargetDocId0)``."""
    await create(client, db, "src", {"v": 1})
    r = await client.request("COPY", f"/{db}/src", headers={"Destination": "a%2Fb%20c"})
    assert (await ok(r, 201))["id"] == "a/b c"
    assert (await ok(await client.get(f"/{db}/a%2Fb%20c")))["v"] == 1


@pytest.mark.parametrize(
    ("src", "headers", "status", "error", "reason"),
    [
        pytest.param(
            "src", {}, 400, "bad_request", "Destination header is mandatory for COPY.", id="no-dest"
        ),
        pytest.param(
            "src",
            {"Destination": "dst"},
            409,
            "conflict",
            "Document update conflict.",
            id="existing-dest-no-rev",
        ),
        pytest.param("nope", {"Destination": "x"}, 404, "not_found", "missing", id="missing-source"),
        pytest.param(
            "src",
            {"Destination": "_bad"},
            400,
            "illegal_docid",
            "Only reserved document ids may start with underscore.",
            id="illegal-dest",
        ),
        pytest.param(
            "src",
            {"Destination": "http://x/db/dst"},
            400,
            "bad_request",
            "Destination URL must be relative.",
            id="absolute-dest",
        ),
    ],
)
async def test_copy_errors(
    client: TestClient, db: str, src: str, headers: dict[str, str], status: int, error: str, reason: str
) -> None:
    """chttpd_db COPY / chttpd_util parse_copy_destination_header."""
    await create(client, db, "src", {})
    await create(client, db, "dst", {})
    await err(await client.request("COPY", f"/{db}/{src}", headers=headers), status, error, reason)


# -- methods, permissions, limits ------------------------------------------------------------------------


async def test_method_not_allowed(client: TestClient, db: str) -> None:
    """ref §0: wrong method → 405 method_not_allowed + ``Allow``."""
    r = await client.patch(f"/{db}/a", json={})
    await err(r, 405, "method_not_allowed")
    assert "GET" in r.headers["Allow"]


async def make_public(client: TestClient, db: str) -> None:
    r = await client.put(
        f"/{db}/_security", json={"admins": {"names": [], "roles": []}, "members": {"names": [], "roles": []}}
    )
    await ok(r)


async def test_anonymous_on_admin_only_db(anon: TestClient, db: str) -> None:
    """ref §3.4 (CouchDB 3 default admin-only security): anonymous → 401 unauthorized."""
    await err(await anon.get(f"/{db}/a"), 401, "unauthorized")
    await err(await anon.put(f"/{db}/a", json={}), 401, "unauthorized")


async def test_design_doc_write_by_anonymous(client: TestClient, anon: TestClient, db: str) -> None:
    """ref §1.10, §4.4 / couch_db validate_doc_update → check_is_admin: on a public db an anonymous
    client may write normal docs but a design doc is 401 unauthorized "You are not a db or server admin."."""
    await make_public(client, db)
    await ok(await anon.put(f"/{db}/plain", json={}), 201)
    await err(
        await anon.put(f"/{db}/_design/x", json={}), 401, "unauthorized", "You are not a db or server admin."
    )
    await err(await anon.post(f"/{db}", json={"_id": "_design/y"}), 401, "unauthorized")
    await ok(await client.put(f"/{db}/_design/x", json={}), 201)


class TestDocumentTooLarge:
    """ref §3.5, §4.3 / couch_doc from_json_obj_validate: body > ``max_document_size`` → 413
    ``document_too_large`` with the doc id as reason."""

    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return dataclasses.replace(settings, max_document_size=1000)

    async def test_put(self, client: TestClient, db: str) -> None:
        await err(await client.put(f"/{db}/big", json={"x": "a" * 2000}), 413, "document_too_large", "big")
        await ok(await client.put(f"/{db}/small", json={"x": "a" * 500}), 201)

    async def test_post(self, client: TestClient, db: str) -> None:
        await err(
            await client.post(f"/{db}", json={"_id": "big", "x": "a" * 2000}),
            413,
            "document_too_large",
            "big",
        )

    async def test_attachments_do_not_count(self, client: TestClient, db: str) -> None:
        """Only the JSON body counts (ref §4.3: "JSON body (without attachments)")."""
        r = await client.put(f"/{db}/a", json={"_attachments": {"a.bin": {"data": "QUJD" * 1000}}})
        await ok(r, 201)
