"""Mango endpoints: ``_index``, ``_find``, ``_explain`` (global and ``/_partition/{p}/``).

Indexes are ``"language": "query"`` design documents written through the normal write path, so
they replicate, list in ``_design_docs`` and are validated like any design document; their rows
live in the view index tables (:mod:`couchsync.views.indexer`) under the design doc's signature.

Sources: CouchDB ``mango_httpd.erl``, ``mango_idx.erl``, ``mango_cursor.erl``; reference §5, §6.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from ..core.documents import DocInput, validate_partition
from ..errors import BadRequest, CouchError, Forbidden, NotFound
from ..mango import cursor, planner
from ..mango.indexes import SPECIAL, Index, from_ddoc, parse_new_index
from ..mango.opts import FindRequest, parse_find
from ..storage.database import Database
from ..views.design import DesignDoc
from .context import Ctx
from .databases import write_docs
from .http import json_response
from .views import engine


async def _indexes(ctx: Ctx, db: Database) -> list[tuple[Index, DesignDoc, str]]:
    """Every json index of ``db`` with its design doc and rev, in (ddoc, name) order."""
    out = [(i, ddoc, rev) for ddoc, rev in await engine(ctx).design_docs(db) for i in from_ddoc(ddoc)]
    return sorted(out, key=lambda t: (t[0].ddoc or "", t[0].name))


def _query_int(ctx: Ctx, name: str, default: int | None) -> int | None:
    raw = ctx.q(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < (1 if name == "limit" else 0):
        raise CouchError("Index parameter ranges: limit > 1, skip > 0", status=400,
                         error="invalid_list_index_params")
    return value


async def index(ctx: Ctx) -> web.StreamResponse:
    """``GET /{db}/_index[?limit=&skip=]`` → ``{"total_rows": N, "indexes": [_all_docs, json…]}``;
    ``POST /{db}/_index`` (db admins) → ``{"result": "created"|"exists", "id", "name"}``."""
    if ctx.method == "POST":
        return await _create_index(ctx)
    db = await ctx.db(ctx.params["db"])
    listed = [SPECIAL.to_json(), *(i.to_json() for i, _, _ in await _indexes(ctx, db))]
    skip = _query_int(ctx, "skip", 0) or 0
    limit = _query_int(ctx, "limit", None)
    page = listed[skip:] if limit is None else listed[skip:skip + limit]
    return json_response({"total_rows": len(listed), "indexes": page})


async def _create_index(ctx: Ctx) -> web.StreamResponse:
    db = await ctx.db(ctx.params["db"], admin=True)
    new = parse_new_index(await ctx.json())
    if new.partitioned and not db.partitioned:
        raise CouchError("Partitioned option cannot be true for a non-partitioned database.", status=400,
                         error="invalid_partitioned_option")
    existing, rev = await _load_query_ddoc(ctx, db, new.ddoc_id)
    body: dict[str, Any] = existing if existing is not None else {"language": "query", "views": {}}
    options = body.get("options") if isinstance(body.get("options"), dict) else None
    current = options.get("partitioned") if options else None
    if new.partitioned is not None and new.partitioned != current:
        if existing is not None:
            raise CouchError("Requested partitioned option does not match existing value on design document "
                             + new.ddoc_id, status=400, error="invalid_partitioned_option")
        body["options"] = {"partitioned": new.partitioned}
    views = body.setdefault("views", {})
    view = new.view()
    if isinstance(views, dict) and views.get(new.name, {}).get("map") == view["map"]:
        return json_response({"result": "exists", "id": new.ddoc_id, "name": new.name})
    views[new.name] = view
    await _save(ctx, db, new.ddoc_id, rev, body)
    return json_response({"result": "created", "id": new.ddoc_id, "name": new.name})


async def _load_query_ddoc(ctx: Ctx, db: Database, ddoc_id: str) -> tuple[dict[str, Any] | None, str | None]:
    """The live ``query`` design doc ``ddoc_id`` as ``(body, rev)``, or ``(None, None)``; 400
    ``invalid_ddoc_lang`` when it exists with another language."""
    try:
        ddoc, rev = await engine(ctx).design_doc(db, ddoc_id.removeprefix("_design/"))
    except NotFound:
        return None, None
    if not ddoc.is_query:
        raise CouchError(f"Existing design doc has an invalid language: {orjson.dumps(ddoc.language).decode()}",
                         status=400, error="invalid_ddoc_lang")
    body = {k: v for k, v in ddoc.body.items() if not k.startswith("_")}
    return body, rev


async def _save(ctx: Ctx, db: Database, ddoc_id: str, rev: str | None, body: dict[str, Any] | None) -> None:
    """Writes (or with ``body=None`` deletes) the design doc; 500 ``error_saving_ddoc`` on a
    conflict, as CouchDB's mango_httpd reports it."""
    doc = DocInput(id=ddoc_id, rev=rev, deleted=body is None, body=body or {})
    result = (await write_docs(ctx, db, [doc], new_edits=True))[0]
    if "error" in result:
        if result["error"] == "conflict":
            raise CouchError("Encountered a conflict while saving the design document.", status=500,
                             error="error_saving_ddoc")
        if result["error"] in ("forbidden", "unauthorized"):
            raise Forbidden(result.get("reason") or "You are not a db or server admin.")
        raise CouchError(f"Unknown error while saving the design document: {result['error']}", status=500,
                         error="error_saving_ddoc")


async def delete_index(ctx: Ctx) -> web.StreamResponse:
    """``DELETE /{db}/_index/{ddoc}/json/{name}`` (db admins) → ``{"ok": true}``; 404 ``not_found``
    when no such index. The design doc is deleted with its last index (mango_idx ``delete``)."""
    db = await ctx.db(ctx.params["db"], admin=True)
    ddoc = ctx.params["ddoc"]
    ddoc_id = ddoc if ddoc.startswith("_design/") else "_design/" + ddoc
    body, rev = await _load_query_ddoc(ctx, db, ddoc_id)
    views = body.get("views") if body is not None else None
    if body is None or not isinstance(views, dict) or ctx.params["name"] not in views:
        raise NotFound("missing")
    del views[ctx.params["name"]]
    if not views:
        del body["views"]
    remaining = {k: v for k, v in body.items() if k not in ("language", "options")}
    await _save(ctx, db, ddoc_id, rev, body if remaining else None)
    return json_response({"ok": True})


Prepared = tuple[Database, FindRequest, planner.Plan, frozenset[str] | None, dict[str, tuple[DesignDoc, str]]]


async def _prepare(ctx: Ctx) -> Prepared:
    db = await ctx.db(ctx.params["db"])
    req = parse_find(await ctx.json(), ctx.params.get("partition"))
    if req.partition is not None:
        validate_partition(req.partition)
        if not db.partitioned:
            raise BadRequest("`partition` parameter is not supported on this db")
    access = await ctx.refresh_access(db)
    if req.partition is not None and not access.can_read(req.partition + ":x"):
        raise Forbidden("You are not allowed to access this partition.")
    found = await _indexes(ctx, db)
    plan = planner.plan(req.selector.tree, req.sort, [i for i, _, _ in found], use_index=req.use_index,
                        partition=req.partition, db_partitioned=db.partitioned,
                        allow_fallback=req.allow_fallback)
    return db, req, plan, access.partitions, {d.id: (d, rev) for _, d, rev in found}


async def find(ctx: Ctx) -> web.StreamResponse:
    """``POST /{db}/_find`` → ``{"docs": [...], "bookmark", "execution_stats"?, "warning"?}``
    (see :mod:`couchsync.mango.cursor`). Errors: 400 for a bad body or selector (mango_opts,
    mango_selector errors), 400 ``no_usable_index``, 403 for staff outside the partition."""
    db, req, plan, partitions, ddocs = await _prepare(ctx)
    if plan.index is None:
        raise plan.error or planner.no_usable_index("There is no index available for this selector.")
    update = None
    if not plan.index.special:
        ddoc, rev = ddocs[plan.index.ddoc or ""]

        async def update() -> None:
            await engine(ctx).update_index(db, ddoc, rev)

    return json_response(await cursor.execute(db, plan, req, partitions=partitions, update=update))


async def explain(ctx: Ctx) -> web.StreamResponse:
    """``POST /{db}/_explain`` → ``{"dbname","index","partitioned","selector","opts","limit",
    "skip","fields","index_candidates","selector_hints","mrargs","covering"}`` (mango_cursor
    ``explain``; the contents are diagnostic)."""
    db, req, plan, _, _ = await _prepare(ctx)
    tree = req.selector.tree
    indexable = planner.indexable_fields(tree)
    return json_response({
        "dbname": db.name,
        "index": plan.index.to_json() if plan.index is not None else None,
        "partitioned": db.partitioned,
        "selector": tree,
        "opts": req.opts_json(),
        "limit": req.limit,
        "skip": req.skip,
        "fields": req.fields or [],
        "index_candidates": [
            {"index": c.index.to_json(),
             "analysis": {"usable": c.usable, "reasons": [{"name": c.reason}], "ranking": c.ranking,
                          "covering": None if c.index.special else planner.covers(c.index, req.fields, tree)}}
            for c in plan.candidates],
        "selector_hints": [{"type": "json", "indexable_fields": indexable,
                            "unindexable_fields": sorted(set(planner.selector_fields(tree)) - set(indexable))}],
        "mrargs": _mrargs(plan, req),
        "covering": planner.covers(plan.index, req.fields, tree) and not req.conflicts,
    })


def _mrargs(plan: planner.Plan, req: FindRequest) -> dict[str, Any]:
    def show(key: Any) -> Any:
        return [("<MAX>" if v is planner.MAX else v) for v in key] if isinstance(key, list) else key

    if plan.empty or plan.index is None:
        start: Any = None
        end: Any = None
    elif plan.index.special:
        r = plan.ranges[0] if plan.ranges else planner.Range()
        start = None if r.low is planner.MIN else r.low
        end = "<MAX>" if r.high is planner.MAX else r.high
    else:
        start, end = show(plan.start_key()), show(plan.end_key())
    if plan.descending:
        start, end = end, start
    return {"include_docs": True, "view_type": "map", "reduce": False, "partition": req.partition,
            "start_key": start, "end_key": end, "direction": "rev" if plan.descending else "fwd",
            "stable": req.stable, "update": req.update, "conflicts": req.conflicts or "undefined"}
