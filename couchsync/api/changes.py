"""``GET|POST /{db}/_changes``: normal, longpoll, continuous and eventsource feeds.

Rows are ``{"seq","id","changes":[{"rev"}],"deleted"?,"doc"?}``; ``last_seq`` is the seq of the
last change *examined* (a filter that rejects everything still advances it). Longpoll answers at
once when something passes, else waits for the first passing change (``heartbeat`` newlines keep
the connection alive; without heartbeat it gives up after ``min(timeout, 60 s)``).
Sources: CouchDB ``chttpd_db:handle_changes_req``, ``couch_changes.erl``, ``fabric_view_changes``;
reference §1.4, §1.5.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from ..core.render import attachment_json, render_doc
from ..errors import BadContentType, BadRequest, CouchError, InvalidJSON, NotFound
from ..mango.selector import Selector, normalize
from ..mango.selector import project as project_fields
from ..storage.changes import ChangeRow, changes_page, pending_after
from ..storage.database import Database
from .context import Ctx
from .http import JSON_HEADERS, json_response, qbool, qjson, read_body
from .views import request_object

FEEDS = ("normal", "longpoll", "continuous", "eventsource", "live")
PAGE = 1000


def access_tag(partitions: frozenset[str] | None) -> str:
    """The suffix of the seqs a restricted (staff) reader sees: ``.<hash of their partitions>``.

    A checkpointed seq is only meaningful for the set of documents it was read over: when a staff
    member's hospitals change, their old seqs no longer match and the next ``_changes`` starts
    again from 0, so documents of a newly granted hospital written before the checkpoint are
    delivered too (``_revs_diff`` keeps the re-scan cheap for the client).
    """
    if partitions is None:
        return ""
    return "." + hashlib.md5("\0".join(sorted(partitions)).encode()).hexdigest()[:8]


def parse_since(db: Database, raw: Any, tag: str = "") -> int:
    """``0``, ``"now"``, an int, ``"<int>"`` or ``"<int>-<instance>[.<tag>]"`` → int; another
    database incarnation's seq, or one read with other access (a different ``tag``), restarts at 0.
    Raises 400 "Malformed sequence supplied in 'since' parameter."."""
    if raw is None:
        return 0
    if raw == "now":
        return db.update_seq
    if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
        return raw
    if isinstance(raw, str):
        n, sep, rest = raw.partition("-")
        if n.isdigit() and n.isascii():
            instance, dot, since_tag = rest.partition(".")
            if sep and instance != db.instance_id:
                return 0
            if dot and "." + since_tag != tag:
                return 0
            return int(n)
    raise BadRequest("Malformed sequence supplied in 'since' parameter.")


@dataclass
class ChangesArgs:
    feed: str = "normal"
    since: int = 0
    limit: int | None = None
    descending: bool = False
    all_docs: bool = False
    include_docs: bool = False
    conflicts: bool = False
    attachments: bool = False
    heartbeat: float | None = None
    timeout: float | None = None
    doc_ids: list[str] | None = None
    design_only: bool = False
    #: a JavaScript filter (``ddoc/fname`` or ``_view``) over a page of documents: one bool each
    doc_filter: Callable[[list[dict[str, Any]]], list[bool]] | None = None
    #: suffix of every seq this reader sees (:func:`access_tag`); fixed for the whole request
    seq_tag: str = ""
    #: set when a live feed's reader gained or lost partitions: the feed ends, its seqs go stale
    access_changed: bool = False
    #: staff: the partitions they may read (``None``: everything); re-read on every wake-up
    partitions: frozenset[str] | None = None
    selector: Selector | None = None
    fields: list[str] | None = None
    seq_interval: int | None = None


def _ms(raw: str | None, name: str) -> float | None:
    if raw is None:
        return None
    if not raw.isascii() or not raw.isdigit():
        raise BadRequest(f"Invalid {name}: {raw!r}; it must be a non-negative integer")
    return int(raw) / 1000


def _heartbeat(raw: str | None) -> float | None:
    """``heartbeat``: ``true`` (60 s) or a positive number of ms (CDB chttpd_db parse_changes_query)."""
    if raw is None:
        return None
    if raw == "true":
        return 60.0
    try:
        ms = int(raw)
    except ValueError:
        raise BadRequest("Invalid heartbeat value. Expecting a positive integer value (in milliseconds).") from None
    if ms <= 0:
        raise BadRequest("The heartbeat value should be a positive integer (in milliseconds).")
    return ms / 1000


async def parse_args(ctx: Ctx, db: Database) -> ChangesArgs:
    q = ctx.request.query
    a = ChangesArgs()
    body: dict[str, Any] = {}
    if ctx.method == "POST":
        body = await _post_body(ctx)
    a.feed = q.get("feed", "normal")
    if a.feed not in FEEDS:
        raise BadRequest("Supported `feed` types: normal, continuous, live, longpoll, eventsource")
    if a.feed == "live":
        a.feed = "continuous"
    since = q.get("since", body.get("since"))
    if a.feed == "eventsource" and "Last-Event-ID" in ctx.request.headers:
        since = ctx.request.headers["Last-Event-ID"]
    a.descending = qbool(ctx.request, "descending")
    a.partitions = ctx.access.partitions
    a.seq_tag = access_tag(a.partitions)
    a.since = parse_since(db, since, a.seq_tag)
    limit = q.get("limit")
    if limit is not None:
        if not limit.isdigit():
            raise BadRequest(f"Invalid limit: {limit!r}; it must be a non-negative integer")
        a.limit = int(limit)
    a.all_docs = q.get("style") == "all_docs"
    a.include_docs = qbool(ctx.request, "include_docs")
    a.conflicts = qbool(ctx.request, "conflicts")
    a.attachments = qbool(ctx.request, "attachments")
    a.heartbeat = _heartbeat(q.get("heartbeat"))
    a.timeout = _ms(q.get("timeout"), "timeout")
    if q.get("seq_interval") is not None:
        si = q["seq_interval"]
        if not si.isascii() or not si.isdigit() or int(si) < 1:
            raise BadRequest("invalid_seq_interval")  # CouchDB: throw({bad_request, invalid_seq_interval})
        a.seq_interval = int(si)
    await _parse_filter(ctx, db, a, body)
    return a


async def _post_body(ctx: Ctx) -> dict[str, Any]:
    """The POST body: JSON content type required (415); an empty body is ``{}``, anything else
    must be a JSON object — ``null`` included (CDB chttpd_db ``handle_changes_req``: a body of
    non-zero length goes through ``json_body_obj``)."""
    if ctx.request.content_type != "application/json":
        raise BadContentType()
    raw = await read_body(ctx.request, ctx.settings.max_http_request_size)
    if not raw.strip():
        return {}
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidJSON() from None
    if not isinstance(body, dict):
        raise BadRequest("Request body must be a JSON object")
    return body


async def _parse_filter(ctx: Ctx, db: Database, a: ChangesArgs, body: dict[str, Any]) -> None:
    name = ctx.q("filter")
    if name is None:
        return
    if name == "_doc_ids":
        ids = body.get("doc_ids") if "doc_ids" in body else qjson(ctx.request, "doc_ids")
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise BadRequest("`doc_ids` filter parameter is not a list of doc ids.")
        a.doc_ids = ids
    elif name == "_selector":
        if "selector" not in body:
            raise BadRequest("Selector must be specified in POST payload")
        if not isinstance(body["selector"], dict):
            raise BadRequest("Selector error: expected a JSON object")
        try:
            a.selector = normalize(body["selector"])
        except CouchError as e:  # couch_changes check_selector: mango errors become bad_request
            raise BadRequest(e.reason) from None
        fields = body.get("fields")
        if fields is not None and not isinstance(fields, list):
            raise BadRequest("Selector error: fields must be JSON array")
        a.fields = fields
    elif name == "_design":
        a.design_only = True
    elif name == "_view":
        view = ctx.q("view")
        if not view:
            raise BadRequest("`view` filter parameter is not provided.")
        ddoc_name, _, vname = view.partition("/")
        ddoc, rev = await ctx.state.views.design_doc(db, ddoc_name)
        if vname not in ddoc.views:
            raise NotFound("missing_named_view")
        compiled = await ctx.state.views.compiled(db, ddoc, rev)
        # a document passes when the view's map emits at least one row for it
        a.doc_filter = lambda docs: compiled.filter_view(vname, docs)
    elif name.startswith("_"):
        raise BadRequest("unknown builtin filter name")
    else:
        ddoc_name, slash, fname = name.partition("/")
        if not slash or not ddoc_name or not fname:  # PouchDB itself normalises a bare `x` to `x/x`
            raise BadRequest("`filter` must be of the form `designname/filtername`")
        ddoc, rev = await ctx.state.views.design_doc(db, ddoc_name)
        if fname not in (ddoc.body.get("filters") or {}):
            raise NotFound("missing json key: " + fname)
        compiled = await ctx.state.views.compiled(db, ddoc, rev)
        req = request_object(ctx, db.name, None, None)
        a.doc_filter = lambda docs: list(compiled.filter(fname, docs, req))


async def _refresh_access(ctx: Ctx, db: Database, a: ChangesArgs) -> None:
    """Re-reads the user's partitions before each wake-up of a live feed, so a change of a staff
    member's hospitals (or a disabled account) applies to a feed that is already open."""
    a.partitions = (await ctx.refresh_access(db)).partitions
    a.access_changed = access_tag(a.partitions) != a.seq_tag


# -- folding -------------------------------------------------------------------------------------


async def collect(db: Database, a: ChangesArgs, since: int, limit: int | None) -> tuple[list[bytes], int, bool]:
    """Returns ``(rendered rows, last_seq examined, limit_reached)``.

    ``_doc_ids`` and ``_design`` are applied in SQL, so the rows they skip are never seen here;
    when the scan runs to the end without reaching ``limit``, every change up to the seq current
    when it started has been examined, and ``last_seq`` advances to it (reference §1.5: a filter
    that rejects everything still moves ``last_seq`` to the current seq).
    """
    rows: list[bytes] = []
    head = db.update_seq  # read before the scan: the scan sees every commit up to it
    last = since
    need_bodies = a.include_docs or a.selector is not None or a.doc_filter is not None
    count = 0
    while True:
        page_size = PAGE if limit is None or a.selector else min(PAGE, limit - len(rows))
        if page_size <= 0:
            return rows, last, True
        page = await changes_page(db, last, page_size, descending=a.descending, with_bodies=need_bodies,
                                  doc_ids=a.doc_ids, design_only=a.design_only, partitions=a.partitions)
        passes = await _run_filter(a, page)
        for i, ch in enumerate(page):
            last = ch.seq
            if passes is not None and not passes[i]:
                continue
            rendered = render_row(db, ch, a, count)
            if rendered is None:
                continue
            rows.append(rendered)
            count += 1
            if limit is not None and len(rows) >= limit:
                return rows, last, True
        if len(page) < page_size:
            if not a.descending:
                last = max(last, head)
            return rows, last, False


async def _run_filter(a: ChangesArgs, page: list[ChangeRow]) -> list[bool] | None:
    """The JavaScript filter's verdict for each row of a page (winning revisions), in a worker thread."""
    if a.doc_filter is None or not page:
        return None
    docs = [orjson.loads(render_doc(ch.doc_id, ch.winning_rev, ch.deleted, ch.body or b"{}")) for ch in page]
    return await asyncio.to_thread(a.doc_filter, docs)


def render_row(db: Database, ch: ChangeRow, a: ChangesArgs, index: int) -> bytes | None:
    """One changes row as JSON bytes, or ``None`` when the filter rejects it."""
    doc_json: bytes | None = None
    if a.selector is not None:
        doc = orjson.loads(render_doc(ch.doc_id, ch.winning_rev, ch.deleted, ch.body or b"{}"))
        if not a.selector.matches(doc):
            return None
        if a.include_docs and a.fields:
            doc_json = orjson.dumps(project_fields(doc, a.fields))
    leaves = ch.leaves if (a.all_docs or a.conflicts) else None
    changes = [{"rev": r} for r, _ in leaves] if a.all_docs and leaves else [{"rev": ch.winning_rev}]
    seq: Any = db.format_seq(ch.seq) + a.seq_tag
    if a.seq_interval and (index + 1) % a.seq_interval:
        seq = None
    row: dict[str, Any] = {"seq": seq, "id": ch.doc_id, "changes": changes}
    if ch.deleted:
        row["deleted"] = True
    if a.include_docs:
        if doc_json is None:
            extras: list[tuple[str, Any]] = []
            if a.conflicts and leaves:
                c = [r for r, d in leaves[1:] if not d]
                if c:
                    extras.append(("_conflicts", c))
            if ch.atts:
                extras.append(("_attachments", {n: attachment_json(m) for n, m in ch.atts.items()}))
            doc_json = render_doc(ch.doc_id, ch.winning_rev, ch.deleted, ch.body or b"{}", extras)
        row["doc"] = orjson.Fragment(doc_json)
    return orjson.dumps(row)


async def _inline_attachments(db: Database, rows: list[bytes]) -> list[bytes]:
    """``attachments=true``: replace stubs by base64 data in included docs."""
    out = []
    for raw in rows:
        row = orjson.loads(raw)
        atts = (row.get("doc") or {}).get("_attachments")
        if atts:
            blobs = await db.get_attachment_blobs(a["digest"] for a in atts.values())
            for a in atts.values():
                if a["digest"] in blobs:
                    meta = dict(a)
                    a.clear()
                    a.update(attachment_json(meta, blobs[meta["digest"]]))
            raw = orjson.dumps(row)
        out.append(raw)
    return out


# -- feeds ---------------------------------------------------------------------------------------


async def handle(ctx: Ctx) -> web.StreamResponse:
    db = await ctx.db(ctx.params["db"])
    a = await parse_args(ctx, db)
    if a.descending:
        a.since = db.update_seq + 1  # CouchDB ignores `since` when descending
    if a.feed in ("continuous", "eventsource"):
        return await _stream(ctx, db, a)
    if a.limit == 0:
        return json_response({"results": [], "last_seq": db.format_seq(a.since) + a.seq_tag,
                              "pending": await pending_after(db, a.since, a.partitions)})
    rows, last, _ = await collect(db, a, a.since, a.limit)
    if a.descending and not rows:
        last = 0
    if rows or a.feed == "normal" or a.descending:
        return await _normal(db, a, rows, last)
    return await _longpoll(ctx, db, a, last)


async def _finish(db: Database, a: ChangesArgs, rows: list[bytes], last: int) -> bytes:
    if a.attachments and a.include_docs:
        rows = await _inline_attachments(db, rows)
    pending = 0 if a.descending else await pending_after(db, last, a.partitions)
    tail = b'],\n"last_seq":' + orjson.dumps(db.format_seq(last) + a.seq_tag) + b',"pending":' + str(pending).encode() + b"}\n"
    return b"".join([b'{"results":[\n', b",\n".join(rows), b"\n" if rows else b"", tail])


async def _normal(db: Database, a: ChangesArgs, rows: list[bytes], last: int) -> web.StreamResponse:
    body = await _finish(db, a, rows, last)
    return web.Response(body=body, headers=JSON_HEADERS)


async def _longpoll(ctx: Ctx, db: Database, a: ChangesArgs, last: int) -> web.StreamResponse:
    deadline = None if a.heartbeat else time.monotonic() + min(
        a.timeout if a.timeout is not None else 60.0, ctx.settings.changes_timeout_ms / 1000)
    resp: web.StreamResponse | None = None
    if a.heartbeat:
        resp = web.StreamResponse(headers=JSON_HEADERS)
        await resp.prepare(ctx.request)
    rows: list[bytes] = []
    while not rows:
        wait = a.heartbeat or 60.0
        if deadline is not None:
            wait = min(wait, deadline - time.monotonic())
            if wait <= 0:
                break
        changed = await db.notifier.wait(last, wait)
        if not changed:
            if resp is not None:
                await resp.write(b"\n")
            continue
        await _refresh_access(ctx, db, a)
        if a.access_changed:  # answer now: the client's next request restarts under the new access
            break
        rows, last, _ = await collect(db, a, last, a.limit)
    body = await _finish(db, a, rows, last)
    if resp is None:
        return web.Response(body=body, headers=JSON_HEADERS)
    # the headers and any heartbeats went out already; the JSON restarts after the whitespace
    await resp.write(body)
    await resp.write_eof()
    return resp


async def _stream(ctx: Ctx, db: Database, a: ChangesArgs) -> web.StreamResponse:
    """continuous (one JSON row per line) and eventsource (``data:``/``id:`` events)."""
    sse = a.feed == "eventsource"
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream" if sse else "application/json",
                                       "Cache-Control": "no-cache"})
    await resp.prepare(ctx.request)
    emit: Callable[[bytes], bytes] = (
        (lambda row: b"data: " + row + b"\nid: " + orjson.dumps(orjson.loads(row)["seq"]) + b"\n\n") if sse
        else (lambda row: row + b"\n"))
    heartbeat = b"event: heartbeat\ndata: \n\n" if sse else b"\n"
    last = a.since
    sent = 0
    deadline = None if a.heartbeat else time.monotonic() + (a.timeout if a.timeout is not None else 60.0)
    with contextlib.suppress(ConnectionResetError, asyncio.CancelledError):
        while True:
            remaining = None if a.limit is None else a.limit - sent
            await _refresh_access(ctx, db, a)
            if a.access_changed:
                break
            rows, last, _ = await collect(db, a, last, remaining)
            if a.attachments and a.include_docs:
                rows = await _inline_attachments(db, rows)
            for row in rows:
                await resp.write(emit(row))
            sent += len(rows)
            if (a.limit is not None and sent >= a.limit) or a.descending:
                break
            wait = a.heartbeat or 60.0
            if deadline is not None:
                wait = min(wait, deadline - time.monotonic())
                if wait <= 0:
                    break
            if not await db.notifier.wait(last, wait) and a.heartbeat:
                await resp.write(heartbeat)
        if not sse:
            pending = await pending_after(db, last, a.partitions)
            await resp.write(orjson.dumps({"last_seq": db.format_seq(last) + a.seq_tag, "pending": pending}) + b"\n")
        await resp.write_eof()
    return resp
