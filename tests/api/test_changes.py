"""``GET|POST /{db}/_changes``: the normal, longpoll, continuous and eventsource feeds.

Sources: protocol reference §1.4, §1.5, §7 items 11–15; CouchDB ``chttpd_db.erl``
(``handle_changes_req``, ``parse_changes_query``, ``changes_callback``), ``couch_changes.erl``
(``configure_filter``, ``get_doc_ids``, ``get_selector_and_fields``, ``check_docids``,
``check_selector``, ``get_changes_timeout``), ``fabric_view_changes.erl``; DOCS
``api/database/changes.rst``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

MALFORMED = {"error": "bad_request", "reason": "Malformed sequence supplied in 'since' parameter."}


def _n(seq: str) -> int:
    return int(seq.split("-", 1)[0])


async def _changes(client: TestClient, db: str, query: str = "", **kw: Any) -> dict[str, Any]:
    r = await client.get(f"/{db}/_changes{query}", **kw)
    assert r.status == 200, await r.text()
    return dict(await r.json())


async def _put(client: TestClient, db: str, doc_id: str, body: dict[str, Any] | None = None) -> str:
    r = await client.put(f"/{db}/{doc_id}", json=body or {})
    assert r.status == 201, await r.text()
    return str((await r.json())["rev"])


async def _conflicted(client: TestClient, db: str) -> None:
    """``c``: from ``1-eee…``: ``2-aaa…`` (live), ``2-bbb…`` (live, the winner: higher revid) and
    ``2-ccc…`` → ``3-ddd…`` (deleted)."""
    r = await client.post(
        f"/{db}/_bulk_docs",
        json={
            "new_edits": False,
            "docs": [
                {
                    "_id": "c",
                    "_rev": "2-" + "a" * 32,
                    "_revisions": {"start": 2, "ids": ["a" * 32, "e" * 32]},
                    "v": "a",
                },
                {
                    "_id": "c",
                    "_rev": "3-" + "d" * 32,
                    "_deleted": True,
                    "_revisions": {"start": 3, "ids": ["d" * 32, "c" * 32, "e" * 32]},
                },
                {
                    "_id": "c",
                    "_rev": "2-" + "b" * 32,
                    "_revisions": {"start": 2, "ids": ["b" * 32, "e" * 32]},
                    "v": "b",
                },
            ],
        },
    )
    assert r.status == 201 and await r.json() == []


# -- normal feed ---------------------------------------------------------------------------------


async def test_normal_feed_shape(client: TestClient, db: str) -> None:
    """``{"results":[{"seq","id","changes":[{"rev"}]}],"last_seq","pending"}``; seqs are opaque
    strings ``"N-…"``; ``last_seq`` is the last row's seq (reference §1.5)."""
    body = await _changes(client, db)
    assert body["results"] == [] and _n(body["last_seq"]) == 0 and body["pending"] == 0
    ra = await _put(client, db, "a", {"x": 1})
    rb = await _put(client, db, "b")
    r = await client.get(f"/{db}/_changes")
    assert r.headers["Content-Type"].startswith("application/json")
    body = await r.json()
    assert set(body) == {"results", "last_seq", "pending"}
    assert body["results"] == [
        {"seq": body["results"][0]["seq"], "id": "a", "changes": [{"rev": ra}]},
        {"seq": body["results"][1]["seq"], "id": "b", "changes": [{"rev": rb}]},
    ]
    assert [_n(row["seq"]) for row in body["results"]] == [1, 2]
    assert body["last_seq"] == body["results"][-1]["seq"]
    assert body["pending"] == 0
    info = await (await client.get(f"/{db}")).json()
    assert body["last_seq"] == info["update_seq"]


async def test_each_doc_once_at_latest_seq(client: TestClient, db: str) -> None:
    """A document appears once, at the seq of its latest update (reference §1.4)."""
    ra = await _put(client, db, "a")
    await _put(client, db, "b")
    ra2 = await _put(client, db, "a", {"_rev": ra})
    rows = (await _changes(client, db))["results"]
    assert [(row["id"], _n(row["seq"])) for row in rows] == [("b", 2), ("a", 3)]
    assert rows[1]["changes"] == [{"rev": ra2}]


async def test_deleted_and_local_docs(client: TestClient, db: str) -> None:
    """Deleted winners carry ``"deleted": true``; ``_local`` docs never appear and take no seq."""
    ra = await _put(client, db, "a")
    r = await client.delete(f"/{db}/a?rev={ra}")
    tomb = (await r.json())["rev"]
    assert (await client.put(f"/{db}/_local/x", json={})).status == 201
    body = await _changes(client, db)
    assert body["results"] == [
        {"seq": body["results"][0]["seq"], "id": "a", "changes": [{"rev": tomb}], "deleted": True}
    ]
    assert _n(body["last_seq"]) == 2


async def test_post_changes(client: TestClient, db: str) -> None:
    """``POST`` takes the same query params; the JSON body may be empty (chttpd_db)."""
    await _put(client, db, "a")
    get = await _changes(client, db, "?limit=1")
    for kw in ({"json": {}}, {"data": b"", "headers": {"Content-Type": "application/json"}}):
        r = await client.post(f"/{db}/_changes?limit=1", **kw)
        assert r.status == 200
        assert await r.json() == get


# -- since ---------------------------------------------------------------------------------------


async def test_since_forms(client: TestClient, db: str) -> None:
    """``since`` = ``0``, ``"0"``, ``now``, an integer, ``"<int>-<instance>"`` of this db; an
    instance part of another incarnation restarts from 0 (reference §1.4)."""
    for i in range(4):
        await _put(client, db, f"d{i}")
    full = await _changes(client, db)
    seq2 = full["results"][1]["seq"]
    instance = seq2.split("-", 1)[1]
    cases = [
        ("0", [1, 2, 3, 4]),
        ("now", []),
        ("2", [3, 4]),
        (seq2, [3, 4]),
        (f"3-{instance}", [4]),
        ("4", []),
        ("2-someotherdbinstance", [1, 2, 3, 4]),
        ("2-g1AAAAFTeJzLYWBg4MhgTmHgz8tPSTV0MDQy1zMAQsMcoARTIkOS_P___7MSGbAqyWMBkgwNQOo_SJ", [1, 2, 3, 4]),
    ]
    for since, seqs in cases:
        body = await _changes(client, db, "", params={"since": since})
        assert [_n(row["seq"]) for row in body["results"]] == seqs, since
        assert body["last_seq"] == full["last_seq"], since
    body = await _changes(client, db, "?since=now")
    assert body["pending"] == 0


async def test_since_in_post_body(client: TestClient, db: str) -> None:
    for i in range(3):
        await _put(client, db, f"d{i}")
    for since in (2, "2"):
        r = await client.post(f"/{db}/_changes", json={"since": since})
        assert [_n(row["seq"]) for row in (await r.json())["results"]] == [3], since


@pytest.mark.parametrize("since", ["abc", "-1", "1.5", "x-abc", "[1]", "", "1e3", "٣"])
async def test_since_malformed(client: TestClient, db: str, since: str) -> None:
    """Unparseable ``since`` → 400 "Malformed sequence supplied in 'since' parameter."."""
    r = await client.get(f"/{db}/_changes", params={"since": since})
    assert r.status == 400
    assert await r.json() == MALFORMED


# -- limit, descending, pending ------------------------------------------------------------------


async def test_limit_and_pending(client: TestClient, db: str) -> None:
    """``limit`` caps the rows; ``last_seq`` is the last row's; ``pending`` counts what is left."""
    for i in range(5):
        await _put(client, db, f"d{i}")
    body = await _changes(client, db, "?limit=2")
    assert [row["id"] for row in body["results"]] == ["d0", "d1"]
    assert body["last_seq"] == body["results"][-1]["seq"]
    assert body["pending"] == 3
    body = await _changes(client, db, "?limit=0")
    assert body["results"] == []
    body = await _changes(client, db, "?limit=100")
    assert len(body["results"]) == 5 and body["pending"] == 0


@pytest.mark.parametrize("query", ["?limit=abc", "?limit=-1", "?timeout=x", "?feed=longpoll&timeout=-5"])
async def test_bad_integer_params(client: TestClient, db: str, query: str) -> None:
    """Non-integer ``limit``/``timeout``: 400 ``bad_request`` (CouchDB crashes with a 500 in
    ``list_to_integer``; a 400 is what a client can act on)."""
    r = await client.get(f"/{db}/_changes{query}")
    assert r.status == 400
    assert (await r.json())["error"] == "bad_request"


async def test_descending(client: TestClient, db: str) -> None:
    """``descending=true``: newest first, from the current seq; ``since`` is ignored (reference §1.5)."""
    for i in range(3):
        await _put(client, db, f"d{i}")
    body = await _changes(client, db, "?descending=true")
    assert [row["id"] for row in body["results"]] == ["d2", "d1", "d0"]
    body = await _changes(client, db, "?descending=true&limit=1")
    assert [row["id"] for row in body["results"]] == ["d2"]
    assert body["last_seq"] == body["results"][0]["seq"]
    body = await _changes(client, db, "?descending=true&since=2")
    assert [row["id"] for row in body["results"]] == ["d2", "d1", "d0"]


# -- style, include_docs, conflicts, attachments, seq_interval ----------------------------------


async def test_style_all_docs(client: TestClient, db: str) -> None:
    """``style=all_docs`` lists every leaf, deleted ones included, the winner first; the default
    ``main_only`` lists the winner alone (reference §1.5)."""
    await _conflicted(client, db)
    main = (await _changes(client, db))["results"]
    assert main[0]["changes"] == [{"rev": "2-" + "b" * 32}]
    assert "deleted" not in main[0]
    rows = (await _changes(client, db, "?style=all_docs"))["results"]
    assert len(rows) == 1
    revs = [c["rev"] for c in rows[0]["changes"]]
    assert revs[0] == "2-" + "b" * 32
    assert sorted(revs[1:]) == ["2-" + "a" * 32, "3-" + "d" * 32]
    assert "deleted" not in rows[0]


async def test_include_docs_and_conflicts(client: TestClient, db: str) -> None:
    """``include_docs`` adds the winner; ``conflicts=true`` adds ``_conflicts`` (live losers only);
    a deleted winner's doc is ``{"_id","_rev","_deleted":true}``."""
    await _conflicted(client, db)
    ra = await _put(client, db, "gone", {"x": 1})
    tomb = (await (await client.delete(f"/{db}/gone?rev={ra}")).json())["rev"]
    rows = (await _changes(client, db, "?include_docs=true"))["results"]
    assert rows[0]["doc"] == {"_id": "c", "_rev": "2-" + "b" * 32, "v": "b"}
    assert rows[1]["doc"] == {"_id": "gone", "_rev": tomb, "_deleted": True}
    rows = (await _changes(client, db, "?include_docs=true&conflicts=true"))["results"]
    assert rows[0]["doc"]["_conflicts"] == ["2-" + "a" * 32]
    assert "_conflicts" not in rows[1]["doc"]
    rows = (await _changes(client, db, "?conflicts=true"))["results"]
    assert "doc" not in rows[0]


async def test_attachments(client: TestClient, db: str) -> None:
    """Included docs carry attachment stubs; ``attachments=true`` inlines the data."""
    data = base64.b64encode(b"payload").decode()
    await _put(
        client,
        db,
        "a",
        {"_attachments": {"p.bin": {"content_type": "application/octet-stream", "data": data}}},
    )
    att = (await _changes(client, db, "?include_docs=true"))["results"][0]["doc"]["_attachments"]["p.bin"]
    assert att["stub"] is True and att["length"] == 7
    att = (await _changes(client, db, "?include_docs=true&attachments=true"))["results"][0]["doc"][
        "_attachments"
    ]
    assert att["p.bin"]["data"] == data and "stub" not in att["p.bin"]


async def test_seq_interval(client: TestClient, db: str) -> None:
    """``seq_interval=N``: some rows carry ``seq: null``; ``last_seq`` is always real."""
    for i in range(5):
        await _put(client, db, f"d{i}")
    body = await _changes(client, db, "?seq_interval=2")
    seqs = [row["seq"] for row in body["results"]]
    assert len(seqs) == 5
    assert None in seqs and any(s is not None for s in seqs)
    assert _n(body["last_seq"]) == 5


@pytest.mark.parametrize("value", ["0", "-1", "abc"])
async def test_seq_interval_invalid(client: TestClient, db: str, value: str) -> None:
    """chttpd_db parse_changes_query: ``throw({bad_request, invalid_seq_interval})``."""
    r = await client.get(f"/{db}/_changes?seq_interval={value}")
    assert r.status == 400
    assert await r.json() == {"error": "bad_request", "reason": "invalid_seq_interval"}


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("abc", "Invalid heartbeat value. Expecting a positive integer value (in milliseconds)."),
        ("0", "The heartbeat value should be a positive integer (in milliseconds)."),
        ("-5", "The heartbeat value should be a positive integer (in milliseconds)."),
    ],
)
async def test_heartbeat_invalid(client: TestClient, db: str, value: str, reason: str) -> None:
    r = await client.get(f"/{db}/_changes?feed=longpoll&heartbeat={value}")
    assert r.status == 400
    assert await r.json() == {"error": "bad_request", "reason": reason}


async def test_unknown_feed(client: TestClient, db: str) -> None:
    r = await client.get(f"/{db}/_changes?feed=bogus")
    assert r.status == 400
    assert await r.json() == {
        "error": "bad_request",
        "reason": "Supported `feed` types: normal, continuous, live, longpoll, eventsource",
    }


# -- paging --------------------------------------------------------------------------------------


@pytest.mark.parametrize("extra", ["", "&style=all_docs", "&include_docs=true"])
async def test_paging_with_limit_1_equals_full_read(client: TestClient, db: str, extra: str) -> None:
    """Every row has a seq and ``since=<that seq>`` resumes right after it: paging with
    ``limit=1`` yields exactly one full read (reference §7 item 14)."""
    revs = {}
    for i in range(5):
        revs[f"d{i}"] = await _put(client, db, f"d{i}", {"i": i})
    await _put(client, db, "d1", {"_rev": revs["d1"], "i": 10})
    assert (await client.delete(f"/{db}/d3?rev={revs['d3']}")).status == 200
    await _conflicted(client, db)
    full = await _changes(client, db, "?" + extra.lstrip("&"))
    paged: list[dict[str, Any]] = []
    since: Any = 0
    for _ in range(20):
        page = await _changes(client, db, f"?limit=1{extra}", params={"since": str(since)})
        if not page["results"]:
            assert page["last_seq"] == full["last_seq"]
            break
        assert len(page["results"]) == 1
        assert page["last_seq"] == page["results"][0]["seq"]
        paged += page["results"]
        since = page["last_seq"]
    assert paged == full["results"]


# -- filters -------------------------------------------------------------------------------------


async def test_filter_doc_ids(client: TestClient, db: str) -> None:
    """``filter=_doc_ids``: ``doc_ids`` from the query string (GET) or the body (POST)."""
    for i in range(4):
        await _put(client, db, f"d{i}")
    ids = json.dumps(["d2", "d0", "nope"])
    body = await _changes(client, db, "", params={"filter": "_doc_ids", "doc_ids": ids})
    assert [row["id"] for row in body["results"]] == ["d0", "d2"]
    assert _n(body["last_seq"]) == 4
    r = await client.post(f"/{db}/_changes?filter=_doc_ids", json={"doc_ids": ["d3", "d1"]})
    assert r.status == 200
    assert [row["id"] for row in (await r.json())["results"]] == ["d1", "d3"]


@pytest.mark.parametrize(
    ("method", "doc_ids"),
    [
        ("GET", None),
        ("GET", '"d1"'),
        ("GET", "[1]"),
        ("GET", '{"a":1}'),
        ("POST", None),
        ("POST", "d1"),
        ("POST", [1, "d"]),
        ("POST", {"a": 1}),
    ],
)
async def test_filter_doc_ids_invalid(client: TestClient, db: str, method: str, doc_ids: Any) -> None:
    """Missing or not a list of strings → 400 "`doc_ids` filter parameter is not a list of doc
    ids." (couch_changes ``check_docids``)."""
    if method == "GET":
        params = {"filter": "_doc_ids"} if doc_ids is None else {"filter": "_doc_ids", "doc_ids": doc_ids}
        r = await client.get(f"/{db}/_changes", params=params)
    else:
        r = await client.post(
            f"/{db}/_changes?filter=_doc_ids", json={} if doc_ids is None else {"doc_ids": doc_ids}
        )
    assert r.status == 400
    assert await r.json() == {
        "error": "bad_request",
        "reason": "`doc_ids` filter parameter is not a list of doc ids.",
    }


async def test_filter_selector(client: TestClient, db: str) -> None:
    """``filter=_selector`` (POST): only matching docs; ``fields`` projects included docs."""
    await _put(client, db, "p1", {"type": "post", "title": "one", "n": 1})
    await _put(client, db, "c1", {"type": "comment", "n": 2})
    await _put(client, db, "p2", {"type": "post", "title": "two", "n": 3})
    r = await client.post(f"/{db}/_changes?filter=_selector", json={"selector": {"type": "post"}})
    assert r.status == 200
    body = await r.json()
    assert [row["id"] for row in body["results"]] == ["p1", "p2"]
    assert _n(body["last_seq"]) == 3
    r = await client.post(
        f"/{db}/_changes?filter=_selector&include_docs=true",
        json={"selector": {"n": {"$gt": 1}}, "fields": ["_id", "title"]},
    )
    rows = (await r.json())["results"]
    assert [row["doc"] for row in rows] == [{"_id": "c1"}, {"_id": "p2", "title": "two"}]


@pytest.mark.parametrize(
    ("method", "body", "reasons"),
    [
        ("GET", None, {"Selector must be specified in POST payload"}),
        # DOCS changes.rst says "Selector must be specified in POST payload"; couch_changes
        # check_selector(undefined) says "Selector error: expected a JSON object"
        (
            "POST",
            {},
            {"Selector must be specified in POST payload", "Selector error: expected a JSON object"},
        ),
        ("POST", {"selector": 1}, {"Selector error: expected a JSON object"}),
        ("POST", {"selector": ["a"]}, {"Selector error: expected a JSON object"}),
        ("POST", {"selector": {}, "fields": "title"}, {"Selector error: fields must be JSON array"}),
    ],
)
async def test_filter_selector_errors(
    client: TestClient, db: str, method: str, body: Any, reasons: set[str]
) -> None:
    r = await client.request(method, f"/{db}/_changes?filter=_selector", json=body)
    assert r.status == 400
    out = await r.json()
    assert out["error"] == "bad_request" and out["reason"] in reasons


async def test_filter_selector_invalid_operator(client: TestClient, db: str) -> None:
    """Mango errors in the selector come back as ``bad_request`` (couch_changes check_selector)."""
    r = await client.post(f"/{db}/_changes?filter=_selector", json={"selector": {"a": {"$bogus": 1}}})
    assert r.status == 400
    assert (await r.json())["error"] == "bad_request"


async def test_filter_design(client: TestClient, db: str) -> None:
    await _put(client, db, "a")
    await _put(client, db, "_design/x")
    await _put(client, db, "b")
    body = await _changes(client, db, "?filter=_design")
    assert [row["id"] for row in body["results"]] == ["_design/x"]
    assert _n(body["last_seq"]) == 3


@pytest.mark.parametrize(
    ("query", "status", "error", "reason"),
    [
        ("?filter=_bogus", 400, "bad_request", "unknown builtin filter name"),
        ("?filter=_view", 400, "bad_request", "`view` filter parameter is not provided."),
        ("?filter=nodesign/nofilter", 404, "not_found", None),
    ],
)
async def test_filter_errors(
    client: TestClient, db: str, query: str, status: int, error: str, reason: str | None
) -> None:
    r = await client.get(f"/{db}/_changes{query}")
    assert r.status == status
    body = await r.json()
    assert body["error"] == error
    if reason is not None:
        assert body["reason"] == reason


@pytest.mark.parametrize(
    ("method", "query", "body"),
    [
        ("GET", '?filter=_doc_ids&doc_ids=["nope"]', None),
        ("POST", "?filter=_doc_ids", {"doc_ids": []}),
        ("POST", "?filter=_selector", {"selector": {"never": True}}),
        ("GET", "?filter=_design", None),
    ],
)
async def test_empty_filtered_page_advances_last_seq(
    client: TestClient, db: str, method: str, query: str, body: Any
) -> None:
    """A filter that rejects everything still moves ``last_seq`` to the current seq, so a
    filtered replication checkpoints progress (reference §1.5, §7 item 11)."""
    for i in range(6):
        await _put(client, db, f"d{i}")
    r = await client.request(method, f"/{db}/_changes{query}", json=body)
    out = await r.json()
    assert out["results"] == []
    assert _n(out["last_seq"]) == 6
    r = await client.request(method, f"/{db}/_changes{query}&since=3", json=body)
    assert _n((await r.json())["last_seq"]) == 6


async def test_filter_with_limit_stops_at_last_returned(client: TestClient, db: str) -> None:
    """With ``limit`` reached, ``last_seq`` is the last returned row's seq (reference §1.5)."""
    for i in range(6):
        await _put(client, db, f"d{i}")
    body = await _changes(client, db, '?filter=_doc_ids&doc_ids=["d1","d4"]&limit=1')
    assert [row["id"] for row in body["results"]] == ["d1"]
    assert body["last_seq"] == body["results"][0]["seq"]
    body = await _changes(
        client, db, f'?filter=_doc_ids&doc_ids=["d1","d4"]&limit=1&since={body["last_seq"]}'
    )
    assert [row["id"] for row in body["results"]] == ["d4"]


# -- longpoll ------------------------------------------------------------------------------------


async def test_longpoll_returns_at_once_with_pending_changes(client: TestClient, db: str) -> None:
    await _put(client, db, "a")
    start = time.monotonic()
    body = await _changes(client, db, "?feed=longpoll&timeout=5000")
    assert [row["id"] for row in body["results"]] == ["a"]
    assert time.monotonic() - start < 1.0


async def test_longpoll_wakes_on_write(client: TestClient, db: str) -> None:
    """Longpoll returns as soon as a doc is written (reference §1.5, §7 item 12)."""
    await _put(client, db, "before")
    task = asyncio.create_task(client.get(f"/{db}/_changes?feed=longpoll&since=now&timeout=10000"))
    await asyncio.sleep(0.2)
    assert not task.done()
    start = time.monotonic()
    rev = await _put(client, db, "after")
    r = await asyncio.wait_for(task, 5)
    assert time.monotonic() - start < 1.0
    body = await r.json()
    assert body["results"] == [{"seq": body["last_seq"], "id": "after", "changes": [{"rev": rev}]}]
    assert _n(body["last_seq"]) == 2


async def test_longpoll_timeout_on_idle_db(client: TestClient, db: str) -> None:
    """Without heartbeat, longpoll gives up after ``timeout`` ms: ``results: []``, ``last_seq`` =
    current seq (reference §7 item 13)."""
    await _put(client, db, "a")
    start = time.monotonic()
    body = await _changes(client, db, "?feed=longpoll&since=now&timeout=500")
    elapsed = time.monotonic() - start
    assert 0.4 <= elapsed < 2.0
    assert body["results"] == []
    assert _n(body["last_seq"]) == 1


async def test_longpoll_heartbeat(client: TestClient, db: str) -> None:
    """With ``heartbeat`` the response streams newlines while idle; the body still parses as
    JSON once a change arrives (reference §1.5, §7 item 12)."""

    async def fetch() -> bytes:
        r = await client.get(f"/{db}/_changes?feed=longpoll&since=now&heartbeat=100&timeout=200")
        assert r.status == 200
        return await r.read()

    task = asyncio.create_task(fetch())
    await asyncio.sleep(0.55)  # past `timeout`: with heartbeat it does not apply (get_changes_timeout)
    assert not task.done()
    await _put(client, db, "late")
    raw = await asyncio.wait_for(task, 5)
    assert raw.count(b"\n") >= 4  # heartbeats, plus the body's own newlines
    body = json.loads(raw)
    assert [row["id"] for row in body["results"]] == ["late"]


async def test_longpoll_waits_for_a_passing_change(client: TestClient, db: str) -> None:
    """Changes rejected by the filter do not end the longpoll; the first passing one does."""
    task = asyncio.create_task(
        client.get(f'/{db}/_changes?feed=longpoll&since=now&timeout=5000&filter=_doc_ids&doc_ids=["x"]')
    )
    await asyncio.sleep(0.1)
    await _put(client, db, "y")
    await asyncio.sleep(0.2)
    assert not task.done()
    await _put(client, db, "x")
    r = await asyncio.wait_for(task, 5)
    body = await r.json()
    assert [row["id"] for row in body["results"]] == ["x"]
    assert _n(body["last_seq"]) == 2


async def test_longpoll_filtered_timeout_advances_last_seq(client: TestClient, db: str) -> None:
    task = asyncio.create_task(
        client.get(f'/{db}/_changes?feed=longpoll&since=now&timeout=400&filter=_doc_ids&doc_ids=["x"]')
    )
    await asyncio.sleep(0.1)
    await _put(client, db, "y")
    r = await asyncio.wait_for(task, 5)
    body = await r.json()
    assert body["results"] == [] and _n(body["last_seq"]) == 1


# -- continuous, eventsource ---------------------------------------------------------------------


def _lines(raw: bytes) -> list[Any]:
    return [json.loads(line) for line in raw.split(b"\n") if line.strip()]


@pytest.mark.parametrize("feed", ["continuous", "live"])
async def test_continuous_rows_then_last_seq(client: TestClient, db: str, feed: str) -> None:
    """One JSON row per line; on timeout a final ``{"last_seq","pending"}`` line (reference §1.5)."""
    for i in range(3):
        await _put(client, db, f"d{i}")
    start = time.monotonic()
    r = await client.get(f"/{db}/_changes?feed={feed}&timeout=300")
    assert r.status == 200
    lines = _lines(await r.read())
    assert 0.25 <= time.monotonic() - start < 2.0
    assert [line["id"] for line in lines[:-1]] == ["d0", "d1", "d2"]
    assert set(lines[-1]) == {"last_seq", "pending"}
    assert _n(lines[-1]["last_seq"]) == 3 and lines[-1]["pending"] == 0


async def test_continuous_limit(client: TestClient, db: str) -> None:
    """``limit`` reached → the ``last_seq`` line at once, no waiting."""
    for i in range(3):
        await _put(client, db, f"d{i}")
    start = time.monotonic()
    lines = _lines(await (await client.get(f"/{db}/_changes?feed=continuous&limit=2&timeout=5000")).read())
    assert time.monotonic() - start < 1.0
    assert [line.get("id") for line in lines] == ["d0", "d1", None]
    assert lines[-1]["last_seq"] == lines[1]["seq"] and lines[-1]["pending"] == 1


async def test_continuous_streams_new_changes(client: TestClient, db: str) -> None:
    task = asyncio.create_task(client.get(f"/{db}/_changes?feed=continuous&since=now&timeout=600"))
    await asyncio.sleep(0.1)
    await _put(client, db, "a")
    await _put(client, db, "b")
    r = await asyncio.wait_for(task, 5)
    lines = _lines(await r.read())
    assert [line.get("id") for line in lines] == ["a", "b", None]
    assert _n(lines[-1]["last_seq"]) == 2


async def test_continuous_heartbeat(client: TestClient, db: str) -> None:
    """Heartbeats are empty lines; with a heartbeat the feed has no timeout (so use a limit)."""
    task = asyncio.create_task(client.get(f"/{db}/_changes?feed=continuous&since=now&heartbeat=50&limit=1"))
    await asyncio.sleep(0.3)
    await _put(client, db, "a")
    raw = await (await asyncio.wait_for(task, 5)).read()
    assert raw.count(b"\n\n") >= 2 or raw.startswith(b"\n\n")
    assert [line.get("id") for line in _lines(raw)] == ["a", None]


async def test_eventsource(client: TestClient, db: str) -> None:
    """``text/event-stream``: ``data: <row>\\nid: <seq>\\n\\n`` per change (chttpd_db changes_callback)."""
    await _put(client, db, "a")
    await _put(client, db, "b")
    r = await client.get(f"/{db}/_changes?feed=eventsource&timeout=200")
    assert r.headers["Content-Type"].startswith("text/event-stream")
    raw = (await r.read()).decode()
    events = [e for e in raw.split("\n\n") if e.strip()]
    assert len(events) == 2
    for event, doc_id in zip(events, ["a", "b"], strict=True):
        data_line, id_line = event.split("\n")
        assert data_line.startswith("data: ") and id_line.startswith("id: ")
        row = json.loads(data_line[6:])
        assert row["id"] == doc_id
        assert json.loads(id_line[4:]) == row["seq"]


async def test_eventsource_last_event_id_and_heartbeat(client: TestClient, db: str) -> None:
    """``Last-Event-ID`` overrides ``since``; heartbeats are ``event: heartbeat`` events."""
    await _put(client, db, "a")
    first = (await _changes(client, db))["results"][0]["seq"]
    await _put(client, db, "b")
    task = asyncio.create_task(
        client.get(
            f"/{db}/_changes?feed=eventsource&since=0&heartbeat=50&limit=2", headers={"Last-Event-ID": first}
        )
    )
    await asyncio.sleep(0.3)
    await _put(client, db, "c")
    raw = (await (await asyncio.wait_for(task, 5)).read()).decode()
    assert "event: heartbeat\ndata: \n\n" in raw
    data = [json.loads(line[6:]) for line in raw.split("\n") if line.startswith("data: {")]
    assert [row["id"] for row in data] == ["b", "c"]


async def test_changes_missing_db(client: TestClient) -> None:
    r = await client.get("/nosuchdb/_changes")
    assert r.status == 404
    assert await r.json() == {"error": "not_found", "reason": "Database does not exist."}
