"""Partitioned databases: ``GET /{db}/_partition/{p}`` and the partition-scoped endpoints.

``/{db}/_partition/{p}/_all_docs`` (and, with their issues, views, ``_find`` and ``_explain``) are the
global handlers with a forced partition: routes.py rewrites them onto the same handlers with
``ctx.params["partition"]`` set. Sources: CouchDB ``chttpd_db:handle_partition_req``,
``couch_partition.erl``; reference §5.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from ..core.documents import validate_partition
from ..errors import BadRequest, Forbidden
from ..storage.database import Database
from .context import Ctx
from .http import json_response


async def partition_db(ctx: Ctx) -> tuple[Database, str]:
    """The database and the validated partition; 400 for a non-partitioned db or a bad partition,
    a conflicting ``?partition=``; 403 for staff outside their hospitals."""
    db = await ctx.db(ctx.params["db"])
    partition = validate_partition(ctx.params["partition"])  # CouchDB validates it first
    if not db.partitioned:
        raise BadRequest("database is not partitioned")
    q = ctx.q("partition")
    if q is not None and q != partition:
        raise BadRequest("Conflicting value for `partition` in query string")
    if not ctx.access.can_read(partition + ":x"):
        raise Forbidden("You are not allowed to access this partition.")
    return db, partition


async def partition_info(ctx: Ctx) -> web.StreamResponse:
    """``{"db_name","partition","doc_count","doc_del_count","sizes":{"active","external"}}``."""
    db, partition = await partition_db(ctx)
    rows = await db.read(
        "SELECT coalesce(sum(d.deleted = 0), 0), coalesce(sum(d.deleted), 0), coalesce(sum(length(r.body)), 0) "
        "FROM docs d LEFT JOIN revs r ON r.doc_id = d.doc_id AND r.rev = d.winning_rev WHERE d.partition = ?",
        (partition,))
    count, deleted, size = rows[0]
    return json_response({"db_name": db.name, "sizes": {"active": size, "external": size},
                          "partition": partition, "doc_count": count, "doc_del_count": deleted})


Handler = Callable[[Ctx], Awaitable[web.StreamResponse]]


def scoped(handler: Handler) -> Handler:
    """A global handler (``_all_docs``, later views and ``_find``) served under
    ``/{db}/_partition/{p}/…``: runs :func:`partition_db`'s checks (partitioned db, valid partition,
    no conflicting ``?partition=``, staff in their hospitals) before it, as CouchDB's
    ``handle_partition_req`` does. For routes.py's ``PARTITION_SCOPED`` table."""

    async def run(ctx: Ctx) -> web.StreamResponse:
        await partition_db(ctx)
        return await handler(ctx)

    return run
