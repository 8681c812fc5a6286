"""THE route table, in CouchDB path order; nothing else registers routes.

Paths are split on raw ``/`` and each segment URL-decoded on its own, as CouchDB does, so
``/db/_design%2Ffoo`` and ``/db/_design/foo`` both address ``_design/foo`` and ``/db/_local/a%2Fb``
addresses ``_local/a/b`` (reference §0). :func:`resolve` maps the segments to a method table and
path parameters; ``dispatch`` is the single aiohttp handler.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import unquote

from aiohttp import web

from ..errors import BadRequest, MethodNotAllowed, NotFound
from . import (
    admin,
    all_docs,
    attachments,
    audit,
    changes,
    databases,
    documents,
    local,
    mango,
    partitions,
    replication,
    server,
    views,
    webapp,
)
from .context import STATE, USER, Ctx

H = Callable[[Ctx], Awaitable[web.StreamResponse]]
Methods = dict[str, H]


def _all_docs(kind: str) -> H:
    async def handler(ctx: Ctx) -> web.StreamResponse:
        return await all_docs.handle(ctx, await ctx.db(ctx.params["db"]), kind)
    return handler


SERVER: dict[str, Methods] = {
    "_up": {"GET": server.up},
    "_uuids": {"GET": server.uuids},
    "_all_dbs": {"GET": server.all_dbs},
    "_dbs_info": {"GET": server.dbs_info, "POST": server.dbs_info},
    "_active_tasks": {"GET": server.active_tasks},
    "_session": {"GET": server.session_get, "POST": server.session_post, "DELETE": server.session_delete},
}

DB: Methods = {"GET": databases.get_db, "PUT": databases.put_db, "DELETE": databases.delete_db,
               "POST": databases.bulk_docs}

DB_SPECIAL: dict[str, Methods] = {
    "_all_docs": {"GET": _all_docs("_all_docs"), "POST": _all_docs("_all_docs")},
    "_design_docs": {"GET": _all_docs("_design_docs"), "POST": _all_docs("_design_docs")},
    "_local_docs": {"GET": _all_docs("_local_docs"), "POST": _all_docs("_local_docs")},
    "_bulk_docs": {"POST": databases.bulk_docs},
    "_bulk_get": {"POST": replication.bulk_get},
    "_revs_diff": {"POST": replication.revs_diff},
    "_missing_revs": {"POST": replication.missing_revs},
    "_changes": {"GET": changes.handle, "POST": changes.handle},
    "_ensure_full_commit": {"POST": databases.ensure_full_commit},
    "_revs_limit": {"GET": databases.revs_limit, "PUT": databases.revs_limit},
    "_security": {"GET": databases.security_obj, "PUT": databases.security_obj},
    "_compact": {"POST": databases.compact},
    "_view_cleanup": {"POST": views.view_cleanup},
    "_purge": {"POST": databases.purge},
    "_purged_infos": {"GET": databases.purged_infos},
    "_purged_infos_limit": {"GET": databases.purged_infos_limit, "PUT": databases.purged_infos_limit},
    "_temp_view": {"POST": databases.temp_view},
    # Mango (issue 5)
    "_index": {"GET": mango.index, "POST": mango.index},
    "_find": {"POST": mango.find},
    "_explain": {"POST": mango.explain},
    # audit trail (issue 7)
    "_audit": {"GET": audit.audit_log},
    "_erase": {"POST": audit.erase},
}

DOC: Methods = {"GET": documents.get_doc, "PUT": documents.put_doc, "DELETE": documents.delete_doc,
                "COPY": documents.copy_doc}
LOCAL: Methods = {"GET": local.get_local, "PUT": local.put_local, "DELETE": local.delete_local}
ATTACHMENT: Methods = {"GET": attachments.get_attachment, "PUT": attachments.put_attachment,
                       "DELETE": attachments.delete_attachment}


async def _create_doc(ctx: Ctx) -> web.StreamResponse:
    """``POST /{db}`` → create a document (server UUID when no ``_id``)."""
    db = await ctx.db(ctx.params["db"])
    raw = await ctx.json()
    doc = databases.prepare_doc(ctx, db, raw, None, new_edits=True)
    return await documents._write_one(ctx, db, doc, status=202 if ctx.q("batch") == "ok" else 201)


DB = {**DB, "POST": _create_doc}


def resolve(segs: list[str]) -> tuple[Methods, dict[str, str]]:
    """Path segments → ``(method table, params)``; raises ``NotFound``/``BadRequest``."""
    if not segs:
        return {"GET": server.root}, {}
    first = segs[0]
    if first == "_tenants":
        return _tenant_route(segs[1:])
    if first == "_app":
        return {"GET": webapp.serve}, {"path": "/".join(segs[1:])}
    if first in SERVER:
        if len(segs) == 1:
            return SERVER[first], {}
        raise NotFound("missing")
    # any other first segment is a database name, validated where it matters (PUT → 400
    # illegal_database_name for `_x`), as CouchDB hands it to chttpd_db
    params = {"db": first}
    rest = segs[1:]
    if not rest:
        return DB, params
    head = rest[0]
    if head == "_all_docs" and rest[1:] == ["queries"] or head in ("_design_docs", "_local_docs") and \
            rest[1:] == ["queries"]:
        return {"POST": DB_SPECIAL[head]["POST"]}, params
    if head in DB_SPECIAL and len(rest) == 1:
        return DB_SPECIAL[head], params
    if head == "_index" and len(rest) == 4 and rest[2] == "json":
        return {"DELETE": mango.delete_index}, {**params, "ddoc": rest[1], "name": rest[3]}
    if head == "_index" and len(rest) == 5 and rest[1] == "_design" and rest[3] == "json":
        return {"DELETE": mango.delete_index}, {**params, "ddoc": rest[2], "name": rest[4]}
    if head == "_audit" and rest[1:] == ["_verify"]:
        return {"GET": audit.audit_verify}, params
    if head == "_audit" and rest[1:] == ["_retention"]:
        return {"GET": audit.retention, "PUT": audit.retention}, params
    if head == "_partition":
        return _partition_route(rest[1:], params)
    if head == "_local":
        if len(rest) == 1 or not rest[1]:
            raise BadRequest("Invalid _local document id.")
        if len(rest) > 2:
            raise BadRequest("_local documents do not accept attachments.")
        return LOCAL, {**params, "doc": "_local/" + rest[1]}
    if head.startswith("_local/"):
        if head == "_local/":
            raise BadRequest("Invalid _local document id.")
        if len(rest) > 1:
            raise BadRequest("_local documents do not accept attachments.")
        return LOCAL, {**params, "doc": head}
    if head == "_design" and len(rest) > 2 and rest[2] in DDOC_HANDLERS:
        return _ddoc_route(rest[1], rest[2:], params)
    if head == "_design" and len(rest) > 1:
        doc_id, atts = "_design/" + rest[1], rest[2:]
    else:
        doc_id, atts = head, rest[1:]
    if not atts:
        return DOC, {**params, "doc": doc_id}
    if atts == ["_history"]:
        return {"GET": audit.history}, {**params, "doc": doc_id}
    return ATTACHMENT, {**params, "doc": doc_id, "att": "/".join(atts)}


DDOC_HANDLERS = ("_view", "_info", "_show", "_update")


def _ddoc_route(ddoc: str, rest: list[str], params: dict[str, str]) -> tuple[Methods, dict[str, str]]:
    """``/{db}/_design/{ddoc}/_view/{v}[/queries]``, ``/_info``, ``/_show/{fn}[/{doc}]``,
    ``/_update/{fn}[/{doc}]``."""
    params = {**params, "ddoc": ddoc}
    kind = rest[0]
    if kind == "_view" and len(rest) == 2:
        return {"GET": views.view, "POST": views.view}, {**params, "view": rest[1]}
    if kind == "_view" and len(rest) == 3 and rest[2] == "queries":
        return {"POST": views.view}, {**params, "view": rest[1], "queries": "1"}
    if kind == "_info" and len(rest) == 1:
        return {"GET": views.info}, params
    if kind == "_show" and len(rest) in (2, 3):
        return {"GET": views.show, "POST": views.show}, {**params, "fn": rest[1], **_doc_param(rest[2:])}
    if kind == "_update" and len(rest) in (2, 3):
        return {"POST": views.update, "PUT": views.update}, {**params, "fn": rest[1], **_doc_param(rest[2:])}
    raise NotFound("missing")


def _doc_param(rest: list[str]) -> dict[str, str]:
    return {"doc": "/".join(rest)} if rest and rest[0] else {}


PARTITION_SCOPED: dict[str, Methods] = {
    "_all_docs": {m: partitions.scoped(h) for m, h in DB_SPECIAL["_all_docs"].items()},
    "_find": {"POST": partitions.scoped(mango.find)},
    "_explain": {"POST": partitions.scoped(mango.explain)},
}


def _partition_route(rest: list[str], params: dict[str, str]) -> tuple[Methods, dict[str, str]]:
    """``/{db}/_partition/{p}[/_all_docs]`` — scoped handlers are the global ones with a partition."""
    if not rest or not rest[0]:
        raise BadRequest("Partition name must be specified")
    params = {**params, "partition": rest[0]}
    if len(rest) == 1:
        return {"GET": partitions.partition_info}, params
    if len(rest) == 2 and rest[1] in PARTITION_SCOPED:
        return PARTITION_SCOPED[rest[1]], params
    if len(rest) > 3 and rest[1] == "_design" and rest[3] in DDOC_HANDLERS:
        methods, ddoc_params = _ddoc_route(rest[2], rest[3:], params)
        return {m: partitions.scoped(h) for m, h in methods.items()}, ddoc_params
    raise NotFound("missing")


def _tenant_route(rest: list[str]) -> tuple[Methods, dict[str, str]]:
    """``/_tenants[/{db}[/hospitals|users[/{name}]]]``."""
    if not rest or rest == [""]:
        return {"GET": admin.tenants, "POST": admin.tenants}, {}
    params = {"tenant": rest[0]}
    if len(rest) == 1:
        return {"GET": admin.tenant, "DELETE": admin.tenant}, params
    if rest[1] == "hospitals" and len(rest) == 2:
        return {"GET": admin.hospitals, "POST": admin.hospitals}, params
    if rest[1] == "hospitals" and len(rest) == 3:
        return {"DELETE": admin.hospital}, {**params, "name": rest[2]}
    if rest[1] == "users" and len(rest) == 2:
        return {"GET": admin.users, "POST": admin.users}, params
    if rest[1] == "users" and len(rest) == 3:
        return {"GET": admin.user, "PATCH": admin.user, "DELETE": admin.user}, {**params, "name": rest[2]}
    raise NotFound("missing")


def split_path(raw_path: str) -> list[str]:
    path = raw_path.split("?", 1)[0]
    segs = path.split("/")[1:]
    if segs and segs[-1] == "" and len(segs) <= 2:
        segs = segs[:-1]
    return [unquote(s) for s in segs]


async def dispatch(request: web.Request) -> web.StreamResponse:
    segs = split_path(request.raw_path)
    methods, params = resolve(segs)
    method = "GET" if request.method == "HEAD" else request.method
    handler = methods.get(method)
    if handler is None:
        allowed = list(methods)
        if "GET" in allowed:
            allowed.insert(allowed.index("GET") + 1, "HEAD")
        raise MethodNotAllowed(allowed)
    ctx = Ctx(request, request.app[STATE], segs, request[USER], params)
    return await handler(ctx)
