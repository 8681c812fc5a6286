"""The ``couchsync`` command line: ``serve``, ``import``."""

from __future__ import annotations

import asyncio
import gc
import logging

import click
from aiohttp import web

from ..settings import Settings
from ..storage.server_config import load_server_config
from .admin import hospital, tenant, user_group
from .audit import audit
from .ddoc import ddoc


@click.group()
def main() -> None:
    """couchsync: an offline-first sync server speaking CouchDB 3's HTTP API."""


@main.command()
@click.option("--host", default=None, help="Address to listen on [COUCHSYNC_HOST, default 127.0.0.1].")
@click.option("--port", type=int, default=None, help="Port [COUCHSYNC_PORT, default 5984].")
@click.option("--data-dir", default=None, help="Directory for database files [COUCHSYNC_DATA_DIR, default ./data].")
@click.option("--admin", default=None, help="Server admin as name:password [COUCHSYNC_ADMIN]. If none is "
              "configured on first start, one is generated and printed once.")
@click.option("--cors-origins", default=None, help="Comma-separated origins allowed by CORS, or * "
              "[COUCHSYNC_CORS_ORIGINS].")
@click.option("--max-document-size", type=int, default=None,
              help="Largest JSON document body in bytes [COUCHSYNC_MAX_DOCUMENT_SIZE, default 8000000].")
@click.option("--max-open-dbs", type=int, default=None,
              help="Databases kept open at once [COUCHSYNC_MAX_OPEN_DBS, default 200].")
@click.option("--session-timeout", type=int, default=None,
              help="AuthSession cookie lifetime in seconds [COUCHSYNC_SESSION_TIMEOUT, default 600].")
@click.option("--log-level", default=None, help="Logging level [COUCHSYNC_LOG_LEVEL, default INFO].")
@click.option("--app-dir", default=None, help="Built web app served at /_app/ [COUCHSYNC_APP_DIR, default "
              "the repository's web/dist].")
@click.option("--audit/--no-audit", default=None, help="Audit trail and history bodies [COUCHSYNC_AUDIT, default "
              "on]; off only to measure its cost.")
@click.option("--demo-data", default=None, type=click.Path(exists=True, file_okay=False),
              help="Folder of FHIR bundles loaded into the database 'demo' on first start.")
def serve(host: str | None, port: int | None, data_dir: str | None, admin: str | None, cors_origins: str | None,
          max_document_size: int | None, max_open_dbs: int | None, session_timeout: int | None,
          log_level: str | None, app_dir: str | None, audit: bool | None, demo_data: str | None) -> None:
    """Run the server. Every setting also reads COUCHSYNC_<NAME> from the environment
    (e.g. COUCHSYNC_COOKIE_SECURE=true, COUCHSYNC_JWT_KEYS=hmac:_default=<base64>)."""
    from ..api.app import create_app

    origins = tuple(o.strip() for o in cors_origins.split(",")) if cors_origins else None
    settings = Settings.from_env({
        "host": host, "port": port, "data_dir": data_dir, "admin": admin, "cors_origins": origins,
        "max_document_size": max_document_size, "max_open_dbs": max_open_dbs,
        "session_timeout": session_timeout, "log_level": log_level, "app_dir": app_dir,
        "audit": audit})
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config, generated = load_server_config(settings.data_dir, settings.admin, settings.bcrypt_rounds)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--admin") from None
    if generated:
        click.echo(f"Generated server admin (shown once, stored as a bcrypt hash): {generated}", err=True)
    if demo_data:
        from ..audit.actor import CLI, acting
        from .demo import load_demo

        with acting(CLI, audit=settings.audit):  # audited as the command line
            lines = asyncio.run(load_demo(settings.data_dir, demo_data, settings.bcrypt_rounds))
        for line in lines:
            click.echo(line, err=True)
    _raise_fd_limit()
    app = create_app(settings, config)
    # a server allocates many short-lived containers per request (JSON, rev trees, rows): collect
    # young objects less often, and leave what start-up created out of every collection
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    click.echo(f"couchsync listening on http://{settings.host}:{settings.port} (data: {settings.data_dir})",
               err=True)
    web.run_app(app, host=settings.host, port=settings.port, print=None, handler_cancellation=True,
                access_log=None)


def _raise_fd_limit() -> None:
    """Each open database holds about five descriptors (writer and reader, WAL, shm): lift the soft
    RLIMIT_NOFILE towards the hard limit so ``--max-open-dbs`` databases fit."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = 65536 if hard == resource.RLIM_INFINITY else min(hard, 65536)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


@main.command("import")
@click.argument("paths", nargs=-1, required=True)
@click.option("--url", default="http://127.0.0.1:5984", show_default=True, envvar="COUCHSYNC_URL")
@click.option("--db", required=True, help="Target database (created if missing).")
@click.option("--user", envvar="COUCHSYNC_ADMIN", help="name:password [COUCHSYNC_ADMIN].")
@click.option("--hospital-from", type=click.Choice(["Organization"]), default=None,
              help="Partition documents by hospital: ids become <hospital>:ResourceType-id.")
def import_cmd(paths: tuple[str, ...], url: str, db: str, user: str | None, hospital_from: str | None) -> None:
    """Import FHIR bundles (files or folders) into DB, one document per resource; idempotent."""
    from .importer import import_bundles

    written, present = asyncio.run(import_bundles(list(paths), url, db, user, hospital_from))
    click.echo(f"imported {written} documents into {db} ({present} already present)")


main.add_command(tenant)
main.add_command(hospital)
main.add_command(user_group)
main.add_command(ddoc)
main.add_command(audit)


if __name__ == "__main__":
    main()
