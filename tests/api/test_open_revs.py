"""``GET /{db}/{docid}?open_revs=…``: PouchDB's ``_bulk_get`` fallback (JSON) and the CouchDB
replicator's fetch (``multipart/mixed``).

Sources: protocol reference §1.7 (fallback), §1.8, §7.26 ("ref §x"); CouchDB ``chttpd_db.erl``
(``db_doc_req`` GET, ``send_docs_multipart``, ``parse_doc_query``), ``couch_doc.erl``
(``parse_revs``, ``doc_to_multi_part_stream``), mochiweb ``accepts_content_type``.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from .helpers import err, ok, rdoc, rev, rid

JSON = {"Accept": "application/json"}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture
async def tree(client: TestClient, db: str) -> str:
    """Doc ``a``: 1-a → 2-b → 3-c (winner), 1-a → 2-d (deleted); doc ``att``: 1-a with ``one.txt``
    (revpos 1) → 2-b adding ``two.txt`` (revpos 2)."""
    att1 = {"content_type": "text/plain", "revpos": 1, "data": b64(b"one")}
    att2 = {"content_type": "text/plain", "revpos": 2, "data": b64(b"two")}
    r = await client.post(
        f"/{db}/_bulk_docs",
        json={
            "new_edits": False,
            "docs": [
                rdoc("a", 1, "a", v="a"),
                rdoc("a", 3, "c", "b", "a", v="c"),
                rdoc("a", 2, "d", "a", _deleted=True),
                rdoc("att", 1, "a", _attachments={"one.txt": att1}),
                rdoc("att", 2, "b", "a", _attachments={"one.txt": att1, "two.txt": att2}),
            ],
        },
    )
    assert await ok(r, 201) == []
    return db


def revs_param(*revs: str) -> str:
    return json.dumps(list(revs))


# -- JSON -----------------------------------------------------------------------------------------------


async def test_json_in_request_order(client: TestClient, tree: str) -> None:
    """ref §1.8: with ``Accept: application/json`` → ``[{"ok":doc} | {"missing":rev}]`` in request order."""
    q = revs_param(rev(2, "d"), rev(9, "f"), rev(3, "c"))
    r = await client.get(f"/{tree}/a?open_revs={q}", headers=JSON)
    assert r.headers["Content-Type"].startswith("application/json")
    assert await ok(r) == [
        {"ok": {"_id": "a", "_rev": rev(2, "d"), "_deleted": True}},
        {"missing": rev(9, "f")},
        {"ok": {"_id": "a", "_rev": rev(3, "c"), "v": "c"}},
    ]


async def test_json_all(client: TestClient, tree: str) -> None:
    """ref §1.8: ``open_revs=all`` → every leaf, deleted ones included."""
    got = await ok(await client.get(f"/{tree}/a?open_revs=all", headers=JSON))
    assert sorted(d["ok"]["_rev"] for d in got) == [rev(2, "d"), rev(3, "c")]


async def test_pouchdb_fallback_request(client: TestClient, tree: str) -> None:
    """ref §1.7: PouchDB's fallback ``GET {db}/{id}?revs=true&latest=true&open_revs=[...]``: a superseded
    rev resolves to its leaf, with ``_revisions``; a leaf reached twice is returned once
    (couch_key_tree get_key_leafs removes the leaves found from the keys still to look up)."""
    q = revs_param(rev(2, "b"), rev(3, "c"))
    got = await ok(await client.get(f"/{tree}/a?revs=true&latest=true&open_revs={q}", headers=JSON))
    leaf = {
        "ok": {
            "_id": "a",
            "_rev": rev(3, "c"),
            "v": "c",
            "_revisions": {"start": 3, "ids": [rid("c"), rid("b"), rid("a")]},
        }
    }
    assert got == [leaf]


async def test_latest_from_branch_point(client: TestClient, tree: str) -> None:
    """couch_key_tree get_key_leafs: ``latest`` from 1-a yields both leaves below it."""
    got = await ok(
        await client.get(f"/{tree}/a?latest=true&open_revs={revs_param(rev(1, 'a'))}", headers=JSON)
    )
    assert sorted(d["ok"]["_rev"] for d in got) == [rev(2, "d"), rev(3, "c")]


async def test_old_rev_without_latest(client: TestClient, tree: str) -> None:
    got = await ok(await client.get(f"/{tree}/a?open_revs={revs_param(rev(1, 'a'))}", headers=JSON))
    assert got == [{"ok": {"_id": "a", "_rev": rev(1, "a"), "v": "a"}}]


@pytest.mark.parametrize(
    ("query", "status", "body"),
    [
        pytest.param("open_revs=all", 404, {"error": "not_found", "reason": "missing"}, id="all"),  # ref §1.8
        pytest.param(
            f"open_revs={revs_param(rev(1, 'a'))}", 200, [{"missing": rev(1, "a")}], id="explicit-revs"
        ),
    ],
)
async def test_unknown_doc(client: TestClient, db: str, query: str, status: int, body: Any) -> None:
    """chttpd_db: ``{ok, []} when Revs == all`` → 404 missing; explicit revs → ``missing`` entries."""
    assert await ok(await client.get(f"/{db}/nope?{query}", headers=JSON), status) == body


async def test_json_attachments(client: TestClient, tree: str) -> None:
    """ref §1.8: stubs by default, inline ``data`` with ``attachments=true``."""
    got = await ok(await client.get(f"/{tree}/att?open_revs=all", headers=JSON))
    assert got[0]["ok"]["_attachments"]["two.txt"]["stub"] is True
    got = await ok(await client.get(f"/{tree}/att?open_revs=all&attachments=true", headers=JSON))
    atts = got[0]["ok"]["_attachments"]
    assert {n: base64.b64decode(a["data"]) for n, a in atts.items()} == {"one.txt": b"one", "two.txt": b"two"}


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        pytest.param("{bad", None, id="invalid-json"),
        pytest.param('"1-abc"', "Invalid list of revisions", id="json-string"),  # couch_doc parse_revs
        pytest.param('{"a":1}', "Invalid list of revisions", id="json-object"),
        pytest.param('["nope"]', "Invalid rev format", id="bad-rev"),
        pytest.param(f'["1-{"z" * 32}"]', "Invalid rev format", id="non-hex-rev"),
    ],
)
async def test_bad_open_revs(client: TestClient, tree: str, value: str, reason: str | None) -> None:
    """chttpd_db parse_doc_query ``open_revs`` → 400 bad_request."""
    await err(
        await client.get(f"/{tree}/a", params={"open_revs": value}, headers=JSON), 400, "bad_request", reason
    )


# -- multipart/mixed ----------------------------------------------------------------------------------------


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


async def get_mixed(client: TestClient, url: str, accept: str | None) -> list[tuple[dict[str, str], Any]]:
    if accept is None:
        r = await client.get(url, skip_auto_headers=["Accept"])
    else:
        r = await client.get(url, headers={"Accept": accept})
    assert r.status == 200, await r.text()
    assert r.headers["Content-Type"].startswith("multipart/mixed; boundary=")
    return await read_parts(aiohttp.MultipartReader.from_response(r))


@pytest.mark.parametrize(
    "accept",
    [
        pytest.param(None, id="no-accept"),  # a missing Accept header accepts everything (ref §1.8)
        pytest.param("*/*", id="any"),
        pytest.param("multipart/mixed", id="multipart-mixed"),
        pytest.param("multipart/*", id="multipart-any"),
        pytest.param("application/json, multipart/mixed", id="both"),  # mochiweb accepts_content_type
    ],
)
async def test_multipart_negotiation(client: TestClient, tree: str, accept: str | None) -> None:
    """ref §1.8, §7.26: unless the Accept header rules ``multipart/mixed`` out, the answer is
    ``multipart/mixed``: one ``application/json`` part per doc, ``error="true"`` parts for missing revs."""
    q = revs_param(rev(3, "c"), rev(9, "f"))
    parts = await get_mixed(client, f"/{tree}/a?open_revs={q}", accept)
    assert [h["content-type"] for h, _ in parts] == ["application/json", 'application/json; error="true"']
    assert json.loads(parts[0][1]) == {"_id": "a", "_rev": rev(3, "c"), "v": "c"}
    assert json.loads(parts[1][1]) == {"missing": rev(9, "f")}


async def test_multipart_attachments_follow(client: TestClient, tree: str) -> None:
    """ref §1.8 / chttpd_db send_docs_multipart (options ``attachments, follows``): a doc with
    attachments is a nested ``multipart/related`` part — JSON with ``follows:true`` + ``length``, then
    one part per attachment with ``Content-Disposition: attachment; filename=…``."""
    parts = await get_mixed(client, f"/{tree}/att?open_revs={revs_param(rev(2, 'b'))}&revs=true", None)
    assert len(parts) == 1
    headers, nested = parts[0]
    assert headers["content-type"].startswith("multipart/related")
    doc = json.loads(nested[0][1])
    assert nested[0][0]["content-type"] == "application/json"
    assert doc["_rev"] == rev(2, "b") and doc["_revisions"]["start"] == 2
    assert doc["_attachments"]["one.txt"] == {
        "content_type": "text/plain",
        "revpos": 1,
        "digest": "md5-" + b64(hashlib.md5(b"one").digest()),
        "length": 3,
        "follows": True,
    }
    assert [(h["content-type"], body) for h, body in nested[1:]] == [
        ("text/plain", b"one"),
        ("text/plain", b"two"),
    ]
    assert [h["content-disposition"] for h, _ in nested[1:]] == [
        'attachment; filename="one.txt"',
        'attachment; filename="two.txt"',
    ]


async def test_multipart_atts_since(client: TestClient, tree: str) -> None:
    """ref §1.8: attachments whose revpos is ≤ the newest ``atts_since`` ancestor are stubs; only the
    newer ones follow."""
    url = f"/{tree}/att?open_revs={revs_param(rev(2, 'b'))}&atts_since={revs_param(rev(1, 'a'))}"
    headers, nested = (await get_mixed(client, url, "multipart/mixed"))[0]
    doc = json.loads(nested[0][1])
    assert doc["_attachments"]["one.txt"]["stub"] is True
    assert doc["_attachments"]["two.txt"]["follows"] is True
    assert [body for _, body in nested[1:]] == [b"two"]


async def test_multipart_doc_without_attachments_is_plain_json(client: TestClient, tree: str) -> None:
    """chttpd_db send_docs_multipart: nothing to follow → a plain ``application/json`` part; a
    deleted leaf is a doc like any other."""
    parts = await get_mixed(client, f"/{tree}/a?open_revs=all", "multipart/mixed")
    assert all(h["content-type"] == "application/json" for h, _ in parts)
    assert sorted(json.loads(body)["_rev"] for _, body in parts) == [rev(2, "d"), rev(3, "c")]
