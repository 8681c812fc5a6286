"""The tenant admin API, ``/_tenants`` (online only; JSON; CouchDB error shapes).

| request | who | answer |
|---|---|---|
| ``POST /_tenants`` ``{"name"}`` | server admin | 201 ``{"ok","name","db"}`` |
| ``GET /_tenants`` | server admin | ``[{"name","db","hospitals"}]`` |
| ``GET /_tenants/{db}`` | tenant admin | ``{"name","db","hospitals","user_count","doc_count"}`` |
| ``DELETE /_tenants/{db}`` | server admin | ``{"ok"}``: database and users removed |
| ``POST|GET /_tenants/{db}/hospitals``, ``DELETE …/hospitals/{name}`` | tenant admin | 201 / list / 409 if not empty |
| ``POST|GET /_tenants/{db}/users``, ``GET|PATCH|DELETE …/users/{name}`` | tenant admin | user records, never hashes |

A tenant admin of one tenant gets 403 on every other tenant (401 when anonymous).
"""

from __future__ import annotations

from aiohttp import web

from ..errors import Conflict, Forbidden, NotFound, Unauthorized
from ..tenants.service import TenantService, admin_role
from .context import Ctx
from .http import json_response


def service(ctx: Ctx) -> TenantService:
    return ctx.state.tenants


def _require_tenant_admin(ctx: Ctx, db: str) -> None:
    if ctx.user.is_server_admin or admin_role(db) in ctx.user.roles:
        return
    if ctx.user.is_anonymous:
        raise Unauthorized("You are not authorized to access this tenant.")
    raise Forbidden("You are not an admin of this tenant.")


async def tenants(ctx: Ctx) -> web.StreamResponse:
    ctx.require_server_admin()
    if ctx.method == "POST":
        body = await ctx.json_object()
        return json_response(await service(ctx).create_tenant(body.get("name")), 201)
    return json_response(await service(ctx).list_tenants())


async def tenant(ctx: Ctx) -> web.StreamResponse:
    db = ctx.params["tenant"]
    if ctx.method == "DELETE":
        ctx.require_server_admin()
        return json_response(await service(ctx).delete_tenant(db))
    _require_tenant_admin(ctx, db)
    return json_response(await service(ctx).get_tenant(db))


async def hospitals(ctx: Ctx) -> web.StreamResponse:
    db = ctx.params["tenant"]
    _require_tenant_admin(ctx, db)
    if ctx.method == "POST":
        body = await ctx.json_object()
        return json_response(await service(ctx).add_hospital(db, body.get("name")), 201)
    return json_response(await service(ctx).list_hospitals(db))


async def hospital(ctx: Ctx) -> web.StreamResponse:
    db = ctx.params["tenant"]
    _require_tenant_admin(ctx, db)
    return json_response(await service(ctx).delete_hospital(db, ctx.params["name"]))


async def users(ctx: Ctx) -> web.StreamResponse:
    db = ctx.params["tenant"]
    _require_tenant_admin(ctx, db)
    if ctx.method == "POST":
        body = await ctx.json_object()
        name = body.get("name")
        if isinstance(name, str) and name in ctx.state.auth.admins:  # a server admin's name is taken
            raise Conflict("A user with this name already exists.")
        return json_response(await service(ctx).add_user(db, body), 201)
    return json_response(await service(ctx).list_users(db))


async def user(ctx: Ctx) -> web.StreamResponse:
    db = ctx.params["tenant"]
    _require_tenant_admin(ctx, db)
    name = ctx.params["name"]
    if ctx.method in ("GET", "HEAD"):
        return json_response(await service(ctx).get_user(db, name))
    if ctx.method == "PATCH":
        return json_response(await service(ctx).update_user(db, name, await ctx.json_object()))
    if ctx.method == "DELETE":
        return json_response(await service(ctx).delete_user(db, name))
    raise NotFound("missing")
