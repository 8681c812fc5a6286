"""``create_app(settings)`` → the aiohttp application; lifecycle through ``cleanup_ctx``."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from ..auth.authenticator import Authenticator
from ..auth.jwt_auth import JwtKeys
from ..settings import Settings
from ..storage.registry import Registry
from ..storage.server_config import ServerConfig, load_server_config
from ..tenants.service import TenantService
from ..views.engine import ViewEngine
from .context import STATE, ServerState
from .middlewares import add_cors_headers, auth_middleware, cors_middleware, error_middleware
from .routes import dispatch


def _jwt_keys(settings: Settings) -> JwtKeys | None:
    if not settings.jwt_keys:
        return None
    section = dict(entry.split("=", 1) for entry in settings.jwt_keys)
    return JwtKeys.from_config(section)


def create_app(settings: Settings, config: ServerConfig | None = None) -> web.Application:
    """Builds the application. ``config`` defaults to ``<data_dir>/server.json`` (created if needed)."""
    if config is None:
        config, _ = load_server_config(settings.data_dir, settings.admin, settings.bcrypt_rounds)
    registry = Registry(settings.data_dir, settings.max_open_dbs)
    tenants = TenantService(registry, settings.bcrypt_rounds)
    auth = Authenticator(config.admins, config.secret, session_timeout=settings.session_timeout,
                         lookup=tenants.lookup)
    state = ServerState(settings, config, registry, auth, tenants, ViewEngine(), _jwt_keys(settings))
    app = web.Application(middlewares=[error_middleware, cors_middleware, auth_middleware],
                          client_max_size=settings.max_http_request_size)
    app[STATE] = state

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        await tenants.users_db()  # the _users database exists from the first start, admin-only
        yield
        await registry.close_all()

    app.cleanup_ctx.append(lifecycle)
    app.on_response_prepare.append(add_cors_headers)
    app.router.add_route("*", "/{tail:.*}", dispatch)
    return app
