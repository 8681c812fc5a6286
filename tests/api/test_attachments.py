"""Attachments: inline (``_attachments`` in the doc JSON), stubs, standalone
``GET|HEAD|PUT|DELETE /{db}/{docid}/{name}``, ranges, and attachments in replicated writes.

Sources: protocol reference §1.9, §4.3, §7.16–18 ("ref §x"); CouchDB ``chttpd_db.erl``
(``db_attachment_req``, ``validate_attachment_name``, ``send_doc_efficiently``, ``parse_ranges``),
``couch_att.erl`` (``from_json``, ``to_json``), ``couch_doc.erl`` (``merge_stubs``).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from couchsync.settings import Settings

from .helpers import err, ok, rid

JSON = {"Accept": "application/json"}
HELLO = b"hello world"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def digest(data: bytes) -> str:
    """ref §1.9: ``"md5-" + base64(md5(bytes))``."""
    return "md5-" + b64(hashlib.md5(data).digest())


async def put_doc(client: TestClient, db: str, doc_id: str, body: dict[str, Any], status: int = 201) -> str:
    return (await ok(await client.put(f"/{db}/{doc_id}", json=body), status))["rev"]


async def put_att(
    client: TestClient, db: str, path: str, data: bytes, ctype: str = "text/plain", rev: str | None = None
) -> str:
    url = f"/{db}/{path}" + (f"?rev={rev}" if rev else "")
    return (await ok(await client.put(url, data=data, headers={"Content-Type": ctype}), 201))["rev"]


async def stubs(client: TestClient, db: str, doc_id: str, query: str = "") -> dict[str, Any]:
    body = await ok(await client.get(f"/{db}/{doc_id}{query}", headers=JSON))
    return body.get("_attachments", {})


def stub(data: bytes, revpos: int, ctype: str = "text/plain") -> dict[str, Any]:
    """ref §1.9: the stub shape CouchDB emits."""
    return {
        "content_type": ctype,
        "revpos": revpos,
        "digest": digest(data),
        "length": len(data),
        "stub": True,
    }


# -- inline attachments and stubs ------------------------------------------------------------------


async def test_inline_base64_becomes_stub(client: TestClient, db: str) -> None:
    """ref §1.9: ``data`` (base64) is decoded; GET shows a stub with ``revpos`` = the rev's pos,
    ``digest`` ``md5-<base64>`` and ``length``; an absent content type is application/octet-stream."""
    await put_doc(
        client,
        db,
        "d",
        {
            "_attachments": {
                "a.txt": {"content_type": "text/plain", "data": b64(HELLO)},
                "b.bin": {"data": b64(b"\x00\x01")},
            }
        },
    )
    assert await stubs(client, db, "d") == {
        "a.txt": stub(HELLO, 1),
        "b.bin": stub(b"\x00\x01", 1, "application/octet-stream"),
    }
    r = await client.get(f"/{db}/d/b.bin")
    assert (await r.read(), r.headers["Content-Type"]) == (b"\x00\x01", "application/octet-stream")


async def test_stubs_kept_across_edits(client: TestClient, db: str) -> None:
    """ref §1.9, §7.18: a stub keeps the previous revision's attachment and its ``revpos``; new data
    in the same edit gets the new pos; an edit without ``_attachments`` drops them (couch_doc merge_stubs)."""
    r1 = await put_doc(
        client, db, "d", {"_attachments": {"a.txt": {"content_type": "text/plain", "data": b64(HELLO)}}}
    )
    r2 = await put_doc(
        client,
        db,
        "d",
        {
            "_rev": r1,
            "v": 2,
            "_attachments": {
                "a.txt": {"stub": True, "revpos": 1},
                "n.txt": {"content_type": "text/plain", "data": b64(b"new")},
            },
        },
    )
    assert await stubs(client, db, "d") == {"a.txt": stub(HELLO, 1), "n.txt": stub(b"new", 2)}
    assert await (await client.get(f"/{db}/d/a.txt?rev={r2}")).read() == HELLO
    r3 = await put_doc(client, db, "d", {"_rev": r2, "_attachments": {"a.txt": {"stub": True}}})
    assert await stubs(client, db, "d") == {"a.txt": stub(HELLO, 1)}
    await put_doc(client, db, "d", {"_rev": r3, "v": 4})
    assert await stubs(client, db, "d") == {}
    assert await (await client.get(f"/{db}/d/a.txt?rev={r3}")).read() == HELLO


async def test_replace_attachment_data(client: TestClient, db: str) -> None:
    """ref §1.9: "Interactive writes set revpos = new rev position for every attachment with new data"."""
    r1 = await put_doc(
        client, db, "d", {"_attachments": {"a.txt": {"content_type": "text/plain", "data": b64(b"v1")}}}
    )
    await put_doc(
        client,
        db,
        "d",
        {"_rev": r1, "_attachments": {"a.txt": {"content_type": "text/x", "data": b64(b"v2")}}},
    )
    assert await stubs(client, db, "d") == {"a.txt": stub(b"v2", 2, "text/x")}


@pytest.mark.parametrize(
    ("doc_id", "att"),
    [
        pytest.param("d", {"other.txt": {"stub": True}}, id="unknown-name"),  # couch_doc merge_stubs
        pytest.param("d", {"a.txt": {"stub": True, "revpos": 7}}, id="wrong-revpos"),  # couch_att merge_stubs
        pytest.param("new", {"a.txt": {"stub": True}}, id="stub-on-new-doc"),
    ],
)
async def test_missing_stub(client: TestClient, db: str, doc_id: str, att: dict[str, Any]) -> None:
    """ref §1.9, §3.5, §7.18: a stub without a matching attachment in the parent → 412 missing_stub."""
    r1 = await put_doc(
        client, db, "d", {"_attachments": {"a.txt": {"content_type": "text/plain", "data": b64(HELLO)}}}
    )
    body = {"_rev": r1} if doc_id == "d" else {}
    r = await client.put(f"/{db}/{doc_id}", json={**body, "_attachments": att})
    await err(r, 412, "missing_stub")


@pytest.mark.parametrize(
    ("atts", "reason"),
    [
        pytest.param(
            {"a.txt": {"data": "not base64!"}}, "Invalid attachment data for a.txt", id="bad-base64"
        ),
        pytest.param({"a.txt": {"data": 12}}, "Invalid attachment data for a.txt", id="data-not-string"),
        pytest.param(
            {"_x": {"data": b64(HELLO)}},
            "Attachment name '_x' starts with prohibited character '_'",
            id="underscore-name",
        ),  # chttpd_db validate_attachment_name
    ],
)
async def test_inline_attachment_errors(
    client: TestClient, db: str, atts: dict[str, Any], reason: str
) -> None:
    """couch_att inline_from_json / chttpd_db validate_attachment_names → 400 bad_request (ref §1.9)."""
    await err(await client.put(f"/{db}/d", json={"_attachments": atts}), 400, "bad_request", reason)
    r = await client.post(f"/{db}/_bulk_docs", json={"docs": [{"_id": "e", "_attachments": atts}]})
    await err(r, 400, "bad_request", reason)


async def test_attachments_true_inline(client: TestClient, db: str) -> None:
    """ref §1.9: with ``attachments=true`` (JSON Accept) each attachment is
    ``{"content_type","revpos","digest","data"}`` (no ``length``, couch_att to_json)."""
    await put_doc(
        client, db, "d", {"_attachments": {"a.txt": {"content_type": "text/plain", "data": b64(HELLO)}}}
    )
    atts = await stubs(client, db, "d", "?attachments=true")
    assert atts == {
        "a.txt": {"content_type": "text/plain", "revpos": 1, "digest": digest(HELLO), "data": b64(HELLO)}
    }


async def test_atts_since(client: TestClient, db: str) -> None:
    """chttpd_db db_doc_req GET: ``atts_since`` implies ``attachments``; attachments whose revpos is ≤
    the newest known ancestor's pos stay stubs (ref §1.8)."""
    r1 = await put_doc(
        client, db, "d", {"_attachments": {"old.txt": {"content_type": "text/plain", "data": b64(b"o")}}}
    )
    r2 = await put_doc(
        client,
        db,
        "d",
        {
            "_rev": r1,
            "_attachments": {
                "old.txt": {"stub": True},
                "new.txt": {"content_type": "text/plain", "data": b64(b"n")},
            },
        },
    )
    atts = await stubs(client, db, "d", f'?atts_since=["{r1}"]')
    assert atts["old.txt"] == stub(b"o", 1)
    assert atts["new.txt"]["data"] == b64(b"n")
    atts = await stubs(client, db, "d", f'?atts_since=["{r2}","3-{rid("f")}"]')
    assert all(a.get("stub") for a in atts.values())
    await err(await client.get(f"/{db}/d?atts_since=x"), 400, "bad_request")
    await err(await client.get(f'/{db}/d?atts_since="{r1}"'), 400, "bad_request", "Invalid list of revisions")


async def read_parts(reader: aiohttp.MultipartReader) -> list[tuple[dict[str, str], Any]]:
    """Parts as ``(headers, bytes)``, or ``(headers, [nested parts])`` for a nested multipart."""
    out: list[tuple[dict[str, str], Any]] = []
    while (part := await reader.next()) is not None:
        headers = {k.lower(): v for k, v in part.headers.items()}
        if isinstance(part, aiohttp.MultipartReader):
            out.append((headers, await read_parts(part)))
        else:
            out.append((headers, bytes(await part.read(decode=False))))
    return out


async def test_attachments_true_without_accept_is_multipart(client: TestClient, db: str) -> None:
    """ref §4.3 / chttpd_db send_doc_efficiently: with no Accept header the client accepts
    ``multipart/related``: the doc JSON (attachments ``follows:true`` with ``length``), then each body."""
    rev = await put_doc(
        client,
        db,
        "d",
        {
            "x": 1,
            "_attachments": {
                "a.txt": {"content_type": "text/plain", "data": b64(HELLO)},
                "b.bin": {"data": b64(b"\x00")},
            },
        },
    )
    r = await client.get(f"/{db}/d?attachments=true", skip_auto_headers=["Accept"])
    assert r.status == 200 and r.headers["Content-Type"].startswith("multipart/related")
    parts = await read_parts(aiohttp.MultipartReader.from_response(r))
    assert [h["content-type"] for h, _ in parts] == [
        "application/json",
        "text/plain",
        "application/octet-stream",
    ]
    doc = json.loads(parts[0][1])
    assert doc["_rev"] == rev and doc["x"] == 1
    assert doc["_attachments"]["a.txt"] == {
        "content_type": "text/plain",
        "revpos": 1,
        "digest": digest(HELLO),
        "length": len(HELLO),
        "follows": True,
    }
    assert [body for _, body in parts[1:]] == [HELLO, b"\x00"]
    assert 'filename="a.txt"' in parts[1][0]["content-disposition"]


async def test_attachments_true_multipart_without_attachments_is_json(client: TestClient, db: str) -> None:
    """couch_doc len_doc_to_multi_part_stream: nothing to follow → plain JSON."""
    await put_doc(client, db, "d", {"x": 1})
    r = await client.get(f"/{db}/d?attachments=true", skip_auto_headers=["Accept"])
    assert r.headers["Content-Type"].startswith("application/json")
    assert (await r.json())["x"] == 1


# -- standalone attachment requests -------------------------------------------------------------------


async def test_standalone_put_get(client: TestClient, db: str) -> None:
    """ref §4.3, §1.9: PUT raw bytes (no rev on a missing doc creates it) → 201 ``{"ok","id","rev"}``;
    GET returns the bytes with Content-Type, ``ETag: "<b64 md5>"``, Accept-Ranges, CSP sandbox."""
    r = await client.put(f"/{db}/d/a.png", data=HELLO, headers={"Content-Type": "image/png"})
    body = await ok(r, 201)
    assert body == {"ok": True, "id": "d", "rev": body["rev"]} and body["rev"].startswith("1-")
    r = await client.get(f"/{db}/d/a.png")
    assert r.status == 200 and await r.read() == HELLO
    assert r.headers["Content-Type"] == "image/png"
    assert r.headers["Content-Length"] == str(len(HELLO))
    assert r.headers["ETag"] == f'"{digest(HELLO)[4:]}"'
    assert r.headers["Accept-Ranges"] == "bytes"
    assert r.headers["Cache-Control"] == "must-revalidate"
    assert r.headers["Content-Security-Policy"] == "sandbox"
    assert await stubs(client, db, "d") == {"a.png": stub(HELLO, 1, "image/png")}
    r = await client.get(f"/{db}/d/a.png", headers={"If-None-Match": r.headers["ETag"]})
    assert r.status == 304 and await r.read() == b""
    r = await client.head(f"/{db}/d/a.png")
    assert r.status == 200 and r.headers["Content-Length"] == str(len(HELLO)) and await r.read() == b""


async def test_standalone_put_keeps_doc_and_other_attachments(client: TestClient, db: str) -> None:
    """chttpd_db db_attachment_req PUT: the named rev's body and other attachments are kept; the new
    attachment gets the new pos. ``If-Match`` names the rev too."""
    r1 = await put_doc(
        client,
        db,
        "d",
        {"x": 1, "_attachments": {"a.txt": {"content_type": "text/plain", "data": b64(b"a")}}},
    )
    r2 = await put_att(client, db, "d/b.txt", b"b", rev=r1)
    body = await ok(await client.get(f"/{db}/d", headers=JSON))
    assert body["_rev"] == r2 and body["x"] == 1
    assert body["_attachments"] == {"a.txt": stub(b"a", 1), "b.txt": stub(b"b", 2)}
    r = await client.put(
        f"/{db}/d/b.txt", data=b"bb", headers={"Content-Type": "text/plain", "If-Match": f'"{r2}"'}
    )
    assert (await ok(r, 201))["rev"].startswith("3-")
    assert (await stubs(client, db, "d"))["b.txt"] == stub(b"bb", 3)


async def test_standalone_put_on_deleted_doc_recreates(client: TestClient, db: str) -> None:
    """chttpd_db db_attachment_req: no rev → a new ``#doc{id}``; on a deleted doc that recreates it."""
    r1 = await put_doc(client, db, "d", {})
    await ok(await client.delete(f"/{db}/d?rev={r1}"))
    rev = await put_att(client, db, "d/a.txt", HELLO)
    assert rev.startswith("3-")
    assert await (await client.get(f"/{db}/d/a.txt")).read() == HELLO


@pytest.mark.parametrize(
    ("url", "status", "error", "reason"),
    [
        pytest.param("d/a.txt", 409, "conflict", "Document update conflict.", id="no-rev-on-existing-doc"),
        pytest.param("d/a.txt?rev={old}", 409, "conflict", "Document update conflict.", id="stale-rev"),
        pytest.param(
            "e/a.txt?rev=1-" + rid("a"), 409, "conflict", "Document update conflict.", id="rev-on-missing-doc"
        ),
        pytest.param("d/a.txt?rev=bad", 400, "bad_request", "Invalid rev format", id="bad-rev"),
        pytest.param(
            "d/_x?rev={cur}",
            400,
            "bad_request",
            "Attachment name '_x' starts with prohibited character '_'",
            id="underscore-name",
        ),
        pytest.param(
            "_bad/a.txt",
            400,
            "illegal_docid",
            "Only reserved document ids may start with underscore.",
            id="illegal-docid",
        ),
    ],
)
async def test_standalone_put_errors(
    client: TestClient, db: str, url: str, status: int, error: str, reason: str
) -> None:
    """ref §4.3: "missing/wrong rev on existing doc → 409"; chttpd_db validate_attachment_name."""
    old = await put_doc(client, db, "d", {})
    cur = await put_doc(client, db, "d", {"_rev": old})
    r = await client.put(
        f"/{db}/{url.format(old=old, cur=cur)}", data=b"x", headers={"Content-Type": "text/plain"}
    )
    await err(r, status, error, reason)


async def test_standalone_delete(client: TestClient, db: str) -> None:
    """ref §4.3: ``DELETE …/{name}?rev=`` → 200 ``{"ok","id","rev"}``; the others are kept."""
    r1 = await put_doc(
        client,
        db,
        "d",
        {
            "x": 1,
            "_attachments": {
                "a.txt": {"content_type": "text/plain", "data": b64(b"a")},
                "b.txt": {"content_type": "text/plain", "data": b64(b"b")},
            },
        },
    )
    r = await client.delete(f"/{db}/d/a.txt?rev={r1}")
    body = await ok(r, 200)
    assert body == {"ok": True, "id": "d", "rev": body["rev"]} and body["rev"].startswith("2-")
    doc = await ok(await client.get(f"/{db}/d", headers=JSON))
    assert doc["x"] == 1 and doc["_attachments"] == {"b.txt": stub(b"b", 1)}
    await err(await client.get(f"/{db}/d/a.txt"), 404, "not_found", "Document is missing attachment")
    assert await (await client.get(f"/{db}/d/a.txt?rev={r1}")).read() == b"a"


@pytest.mark.parametrize(
    ("url", "status", "error", "reason"),
    [
        pytest.param(
            "d/zz.txt?rev={cur}", 404, "not_found", "Document is missing attachment", id="missing-att"
        ),
        pytest.param("nope/a.txt", 404, "not_found", "missing", id="missing-doc"),
        pytest.param("d/a.txt", 409, "conflict", "Document update conflict.", id="no-rev"),
        pytest.param("d/a.txt?rev={old}", 409, "conflict", "Document update conflict.", id="stale-rev"),
    ],
)
async def test_standalone_delete_errors(
    client: TestClient, db: str, url: str, status: int, error: str, reason: str
) -> None:
    """chttpd_db db_attachment_req DELETE (get_existing_attachment, couch_doc_open)."""
    old = await put_att(client, db, "d/a.txt", b"a")
    cur = await put_att(client, db, "d/b.txt", b"b", rev=old)
    await err(await client.delete(f"/{db}/{url.format(old=old, cur=cur)}"), status, error, reason)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        pytest.param(
            "d/zz.txt", "Document is missing attachment", id="missing-att"
        ),  # get_existing_attachment
        pytest.param("nope/a.txt", "missing", id="missing-doc"),
        pytest.param("gone/a.txt", "deleted", id="deleted-doc"),  # couch_doc_open(nil) of a deleted doc
        pytest.param("d/a.txt?rev=9-" + rid("f"), "missing", id="unknown-rev"),
    ],
)
async def test_get_errors(client: TestClient, db: str, url: str, reason: str) -> None:
    """ref §1.9: 404 not_found; ``{"error":"not_found","reason":"Document is missing attachment"}``."""
    await put_att(client, db, "d/a.txt", b"a")
    g1 = await put_att(client, db, "gone/a.txt", b"a")
    await ok(await client.delete(f"/{db}/gone?rev={g1}"))
    await err(await client.get(f"/{db}/{url}"), 404, "not_found", reason)


async def test_get_without_rev_serves_winner(client: TestClient, db: str) -> None:
    """ref §1.9, §7.17: PouchDB fetches changed attachments without ``rev``: the winner's copy, with
    its Content-Type; ``?rev=`` serves that revision's copy."""
    r1 = await put_att(client, db, "d/a.txt", b"v1")
    await put_att(client, db, "d/a.txt", b"v2", ctype="text/markdown", rev=r1)
    r = await client.get(f"/{db}/d/a.txt")
    assert (await r.read(), r.headers["Content-Type"]) == (b"v2", "text/markdown")
    r = await client.get(f"/{db}/d/a.txt?rev={r1}")
    assert (await r.read(), r.headers["Content-Type"]) == (b"v1", "text/plain")


async def test_get_serves_winner_of_conflict(client: TestClient, db: str) -> None:
    """ref §2.3 + §1.9: with two live leaves the winner's attachment is served."""
    docs = [
        {
            "_id": "d",
            "_rev": f"1-{c}",
            "_attachments": {"a.txt": {"content_type": "text/plain", "data": b64(c.encode())}},
        }
        for c in (rid("a"), rid("b"))
    ]
    assert (
        await ok(await client.post(f"/{db}/_bulk_docs", json={"docs": docs, "new_edits": False}), 201) == []
    )
    assert await (await client.get(f"/{db}/d/a.txt")).read() == rid("b").encode()


@pytest.mark.parametrize(
    ("path", "name"),
    [
        pytest.param("d/dir/a.txt", "dir/a.txt", id="raw-slash"),  # chttpd_db: FileNameParts joined by "/"
        pytest.param("d/dir%2Fa.txt", "dir/a.txt", id="encoded-slash"),
        pytest.param("d/a%20b%3F.txt", "a b?.txt", id="encoded-chars"),
        pytest.param("_design/x/dir/a.txt", "dir/a.txt", id="design-doc"),
    ],
)
async def test_names(client: TestClient, db: str, path: str, name: str) -> None:
    """ref §4.3: the name may contain ``/``; segments are URL-decoded individually (ref §0)."""
    await put_att(client, db, path, HELLO)
    doc_id = "_design/x" if path.startswith("_design") else "d"
    assert list(await stubs(client, db, doc_id.replace("/", "%2F"))) == [name]
    for url in {path, path.replace("%2F", "/")}:
        assert await (await client.get(f"/{db}/{url}")).read() == HELLO


# -- ranges -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rng", "body", "content_range"),
    [
        pytest.param("bytes=0-4", b"hello", "bytes 0-4/11", id="head"),
        pytest.param("bytes=6-", b"world", "bytes 6-10/11", id="open-end"),
        pytest.param("bytes=-5", b"world", "bytes 6-10/11", id="suffix"),
        pytest.param("bytes=3-100", b"lo world", "bytes 3-10/11", id="end-clipped"),  # parse_ranges To >= Len
        pytest.param("bytes=4-4", b"o", "bytes 4-4/11", id="one-byte"),
    ],
)
async def test_range(client: TestClient, db: str, rng: str, body: bytes, content_range: str) -> None:
    """ref §1.9 / chttpd_db parse_ranges: a single range → 206 with ``Content-Range``."""
    await put_att(client, db, "d/a.txt", HELLO)
    r = await client.get(f"/{db}/d/a.txt", headers={"Range": rng})
    assert r.status == 206
    assert (await r.read(), r.headers["Content-Range"]) == (body, content_range)


async def test_range_not_satisfiable(client: TestClient, db: str) -> None:
    """chttpd_db parse_ranges: ``To < From`` → 416 requested_range_not_satisfiable (ref §3.5)."""
    await put_att(client, db, "d/a.txt", HELLO)
    await err(
        await client.get(f"/{db}/d/a.txt", headers={"Range": "bytes=5-2"}),
        416,
        "requested_range_not_satisfiable",
    )


# -- replicated writes --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sent_digest",
    [
        pytest.param(digest(HELLO), id="pouchdb-digest"),  # PouchDB's md5 of the raw bytes: kept as is
        pytest.param("md5-bogus", id="wrong-digest"),  # "an inline digest is ignored by CouchDB"
    ],
)
async def test_bulk_docs_new_edits_false_keeps_revpos(client: TestClient, db: str, sent_digest: str) -> None:
    """ref §1.9, §7.16: PouchDB pushes every attachment inline with ``digest``/``revpos`` (no ``stub``/
    ``length``); the bytes are decoded, the digest recomputed, the supplied ``revpos`` kept."""
    doc = {
        "_id": "d",
        "_rev": f"3-{rid('c')}",
        "_revisions": {"start": 3, "ids": [rid("c"), rid("b"), rid("a")]},
        "_attachments": {
            "a.txt": {"content_type": "text/plain", "revpos": 2, "digest": sent_digest, "data": b64(HELLO)}
        },
    }
    r = await client.post(f"/{db}/_bulk_docs", json={"docs": [doc], "new_edits": False})
    assert await ok(r, 201) == []
    assert await stubs(client, db, "d") == {"a.txt": stub(HELLO, 2)}
    r = await client.get(f"/{db}/d/a.txt")
    assert (await r.read(), r.headers["Content-Type"]) == (HELLO, "text/plain")


async def test_bulk_docs_new_edits_false_stub_from_ancestor(client: TestClient, db: str) -> None:
    """ref §1.9: a replicated rev may carry a stub for an attachment of its stored ancestor (the
    CouchDB replicator sends stubs for revpos ≤ the target's ancestor); unknown stubs → 412."""
    base = {
        "_id": "d",
        "_rev": f"1-{rid('a')}",
        "_attachments": {"a.txt": {"content_type": "text/plain", "revpos": 1, "data": b64(HELLO)}},
    }
    await ok(await client.post(f"/{db}/_bulk_docs", json={"docs": [base], "new_edits": False}), 201)
    child = {
        "_id": "d",
        "_rev": f"2-{rid('b')}",
        "_revisions": {"start": 2, "ids": [rid("b"), rid("a")]},
        "_attachments": {
            "a.txt": {
                "content_type": "text/plain",
                "revpos": 1,
                "digest": digest(HELLO),
                "length": len(HELLO),
                "stub": True,
            }
        },
    }
    assert (
        await ok(await client.post(f"/{db}/_bulk_docs", json={"docs": [child], "new_edits": False}), 201)
        == []
    )
    assert await stubs(client, db, "d") == {"a.txt": stub(HELLO, 1)}
    orphan = {**child, "_id": "e"}
    r = await client.post(f"/{db}/_bulk_docs", json={"docs": [orphan], "new_edits": False})
    await err(r, 412, "missing_stub")


class TestAttachmentTooLarge:
    """ref §3.5 / couch_att validate_attachment_size: > ``max_attachment_size`` → 413
    ``attachment_too_large`` (chttpd error_info ``{request_entity_too_large, {attachment, Name}}``)."""

    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return dataclasses.replace(settings, max_attachment_size=100)

    async def test_standalone_put(self, client: TestClient, db: str) -> None:
        r = await client.put(f"/{db}/d/big.bin", data=b"x" * 101, headers={"Content-Type": "application/x"})
        await err(r, 413, "attachment_too_large", "big.bin")
        await put_att(client, db, "d/small.bin", b"x" * 100)
