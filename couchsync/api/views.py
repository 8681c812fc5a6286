"""Design-document endpoints: views, ``_info``, ``_view_cleanup``, shows and updates.

``GET|POST /{db}/_design/{ddoc}/_view/{view}`` (and under ``/{db}/_partition/{p}/``),
``POST …/_view/{view}/queries``, ``GET /{db}/_design/{ddoc}/_info``,
``/{db}/_design/{ddoc}/_show/{fn}[/{docid}]``, ``/{db}/_design/{ddoc}/_update/{fn}[/{docid}]``.
Sources: CouchDB ``couch_mrview_http.erl``, ``chttpd_show.erl``; reference §4.4, §4.5, §5.
"""

from __future__ import annotations

import base64
from typing import Any

import orjson
from aiohttp import web

from ..core.documents import parse_doc, validate_docid
from ..errors import BadRequest, CouchError, NotFound, QueryParseError
from ..storage import views as view_store
from ..storage.reader import Found, ReadOptions, open_docs
from ..views import args as view_args
from ..views.engine import ViewEngine
from .context import Ctx
from .databases import write_docs
from .http import json_response


def engine(ctx: Ctx) -> ViewEngine:
    return ctx.state.views


def _params(ctx: Ctx) -> dict[str, Any]:
    """The query string in request order; a repeated parameter counts where it last appears (as
    CouchDB folds them). JSON-valued parameters decoded."""
    out: dict[str, Any] = {}
    for k, v in ctx.request.query.items():
        out.pop(k, None)
        if k in view_args.JSON_PARAMS:
            try:
                out[k] = orjson.loads(v)
            except orjson.JSONDecodeError:
                raise CouchError(f"Invalid JSON for parameter {k}", status=400, error="query_parse_error") from None
        else:
            out[k] = v
    return out


def _then(first: dict[str, Any], last: dict[str, Any]) -> dict[str, Any]:
    """``first`` then ``last`` applied in order (CouchDB ``parse_body_and_query``: body, then query
    string): members of ``last`` override and come after the others."""
    return {**{k: v for k, v in first.items() if k not in last}, **last}


async def view(ctx: Ctx) -> web.StreamResponse:
    """A map or reduce view query; partition rules of reference §5 apply."""
    db = await ctx.db(ctx.params["db"])
    ddoc, rev = await engine(ctx).design_doc(db, ctx.params["ddoc"])
    name = ctx.params["view"]
    if name not in ddoc.views:
        raise NotFound("missing_named_view")
    is_reduce = ddoc.views[name].get("reduce") is not None
    params = _params(ctx)
    queries: list[dict[str, Any]] | None = None
    if ctx.method == "POST":
        body = await ctx.json_object()
        if ctx.params.get("queries"):
            if not isinstance(body.get("queries"), list):
                raise BadRequest("`queries` member must be an array.")
            queries = [_then(params, q) for q in body["queries"] if isinstance(q, dict)]
        else:
            if "keys" in body and not isinstance(body["keys"], list):
                raise BadRequest("`keys` member must be an array.")
            params = _then(body, params)
    partition = ctx.params.get("partition")
    results = []
    for p in queries if queries is not None else [params]:
        a = view_args.parse(p, is_reduce_view=is_reduce)
        _check_partition(db.partitioned, ddoc.partitioned, partition, a)
        if partition:
            a.partition = partition
        staff = ctx.access.partitions
        if staff is not None and a.partition is not None and a.partition not in staff:
            raise CouchError("You are not allowed to access this partition.", status=403, error="forbidden")
        results.append(await engine(ctx).query(db, ddoc, rev, name, a, None if a.partition else staff))
    if queries is not None:
        return json_response({"results": results})
    return json_response(results[0])


def _check_partition(db_partitioned: bool, ddoc_partitioned: bool, partition: str | None,
                     a: view_args.ViewArgs) -> None:
    """CouchDB ``couch_mrview_util:validate_args/2``: a ddoc is partitioned only in a partitioned
    db (so a view of a non-partitioned db is "not supported in this design doc" too); both errors
    are ``query_parse_error``. ``/_partition/{p}/`` itself was checked by ``partitions.scoped``."""
    if a.partition is not None and partition is not None and a.partition != partition:
        raise BadRequest("Conflicting value for `partition` in query string")
    wanted = partition or a.partition
    if wanted is not None and not (db_partitioned and ddoc_partitioned):
        raise QueryParseError("`partition` parameter is not supported in this design doc")
    if wanted is None and ddoc_partitioned:
        raise QueryParseError("`partition` parameter is mandatory for queries to this view.")


async def info(ctx: Ctx) -> web.StreamResponse:
    """``GET /{db}/_design/{ddoc}/_info`` → ``{"name","view_index":{…}}``."""
    db = await ctx.db(ctx.params["db"])
    ddoc, _ = await engine(ctx).design_doc(db, ctx.params["ddoc"])
    seq = await view_store.index_seq(db, ddoc.signature)
    return json_response({"name": ddoc.name, "view_index": {
        "signature": ddoc.signature, "language": ddoc.language, "sizes": {"file": 0, "external": 0, "active": 0},
        "update_seq": seq or 0, "purge_seq": 0, "updater_running": False, "compact_running": False,
        "waiting_clients": 0, "waiting_commit": False}})


async def view_cleanup(ctx: Ctx) -> web.StreamResponse:
    """``POST /{db}/_view_cleanup`` (db admin) → 202; drops indexes no design doc uses any more."""
    db = await ctx.db(ctx.params["db"], admin=True)
    keep = {ddoc.signature for ddoc, _ in await engine(ctx).design_docs(db)}
    await view_store.drop_indexes(db, keep)
    engine(ctx).indexer.forget(db)
    return json_response({"ok": True}, 202)


def request_object(ctx: Ctx, db_name: str, body: bytes | None, doc_id: str | None) -> dict[str, Any]:
    """CouchDB's request object for show/update/filter functions (reference §4.4, json-structure)."""
    return {
        "info": {"db_name": db_name}, "id": doc_id, "uuid": None, "method": ctx.method,
        "requested_path": [s for s in ctx.segs], "path": [s for s in ctx.segs],
        "raw_path": ctx.request.raw_path, "query": dict(ctx.request.query),
        "headers": dict(ctx.request.headers), "body": body.decode("utf-8", "replace") if body else "undefined",
        "peer": ctx.request.remote, "form": {}, "cookie": dict(ctx.request.cookies),
        "userCtx": ctx.user.to_json(db_name), "secObj": {},
    }


def _respond(resp: dict[str, Any]) -> web.StreamResponse:
    headers = {str(k): str(v) for k, v in (resp.get("headers") or {}).items()}
    code = int(resp.get("code") or 200)
    if "json" in resp:
        headers.setdefault("Content-Type", "application/json")
        return web.Response(body=orjson.dumps(resp["json"]), status=code, headers=headers)
    if "base64" in resp:
        return web.Response(body=base64.b64decode(resp["base64"]), status=code, headers=headers)
    headers.setdefault("Content-Type", "text/html; charset=utf-8")
    return web.Response(body=str(resp.get("body", "")).encode(), status=code, headers=headers)


async def show(ctx: Ctx) -> web.StreamResponse:
    """``/_design/{ddoc}/_show/{fn}[/{docid}]`` (deprecated in CouchDB 3, still served)."""
    db = await ctx.db(ctx.params["db"])
    ddoc, rev = await engine(ctx).design_doc(db, ctx.params["ddoc"])
    fn = ctx.params["fn"]
    if fn not in (ddoc.body.get("shows") or {}):
        raise NotFound("missing show function " + fn)
    doc = None
    doc_id = ctx.params.get("doc")
    if doc_id:
        ctx.check_doc(doc_id)
        found = (await open_docs(db, [(doc_id, None)], ReadOptions()))[0][0]
        doc = orjson.loads(found.json) if isinstance(found, Found) else None
    compiled = await engine(ctx).compiled(db, ddoc, rev)
    req = request_object(ctx, db.name, None, doc_id)
    return _respond(await compiled.ashow(fn, doc, req))


async def update(ctx: Ctx) -> web.StreamResponse:
    """``POST|PUT /_design/{ddoc}/_update/{fn}[/{docid}]``: ``[doc, response]``; the doc is written
    through the normal write path (permissions and validate_doc_update apply)."""
    db = await ctx.db(ctx.params["db"])
    ddoc, rev = await engine(ctx).design_doc(db, ctx.params["ddoc"])
    fn = ctx.params["fn"]
    if fn not in (ddoc.body.get("updates") or {}):
        raise NotFound("missing update function " + fn)
    doc_id = ctx.params.get("doc")
    doc = None
    if doc_id:
        ctx.check_doc(doc_id, write=True)
        found = (await open_docs(db, [(doc_id, None)], ReadOptions()))[0][0]
        doc = orjson.loads(found.json) if isinstance(found, Found) else None
    raw = await ctx.request.read()
    compiled = await engine(ctx).compiled(db, ddoc, rev)
    new_doc, resp = await compiled.aupdate(fn, doc, request_object(ctx, db.name, raw, doc_id))
    headers: dict[str, str] = {}
    if isinstance(new_doc, dict):
        if not isinstance(new_doc.get("_id"), str):
            raise BadRequest("update function returned a document without an _id")
        validate_docid(new_doc["_id"], partitioned=db.partitioned)
        ctx.check_doc(new_doc["_id"], write=True)
        result = (await write_docs(ctx, db, [parse_doc(new_doc)], new_edits=True))[0]
        if "error" in result:
            raise CouchError(result["reason"], status=403 if result["error"] == "forbidden" else 409
                             if result["error"] == "conflict" else 400, error=result["error"])
        headers["X-Couch-Update-NewRev"] = result["rev"]
        headers["X-Couch-Id"] = new_doc["_id"]
        resp = {**resp, "code": resp.get("code") or 201}
    out = _respond(resp)
    out.headers.update(headers)
    return out
