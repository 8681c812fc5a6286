"""``couchsync ddoc``: compile Python design documents to CouchDB JSON and push them.

Wire it with ``main.add_command(ddoc)`` in ``couchsync/cli/main.py``.
"""

from __future__ import annotations

import click


@click.group()
def ddoc() -> None:
    """Design documents written in Python (designdocs/): compile to JavaScript, push."""


def _compile(source: str) -> list[dict]:
    from ..ddoc.compiler import CompileErrors, compile_path
    from ..ddoc.translate import CompileError

    try:
        return compile_path(source)
    except CompileErrors as e:
        for err in e.errors:
            click.echo(f"error: {err}", err=True)
        raise SystemExit(1) from None
    except CompileError as e:
        click.echo(f"error: {e}", err=True)
        raise SystemExit(1) from None


@ddoc.command("compile")
@click.argument("source", default="designdocs", type=click.Path(exists=True))
@click.option(
    "--out",
    "out_dir",
    default="build/ddocs",
    show_default=True,
    help="Directory for the JSON files (one <name>.json per design document).",
)
def compile_cmd(source: str, out_dir: str) -> None:
    """Compile the design modules in SOURCE (a directory or a .py file) to JSON files.
    Exits 1, printing every `file:line: reason`, when something cannot be compiled faithfully."""
    from ..ddoc.compiler import write_designs

    docs = _compile(source)
    for path, changed in write_designs(docs, out_dir):
        click.echo(f"{'wrote' if changed else 'unchanged'} {path}")
    if not docs:
        click.echo(f"no design documents found in {source}", err=True)


@ddoc.command("push")
@click.argument("source", default="designdocs", type=click.Path(exists=True))
@click.option("--url", default="http://127.0.0.1:5984", show_default=True, envvar="COUCHSYNC_URL")
@click.option("--db", required=True, help="Target database.")
@click.option("--user", envvar="COUCHSYNC_ADMIN", help="name:password of a database admin [COUCHSYNC_ADMIN].")
@click.option("--dry-run", is_flag=True, help="Only report what would change.")
def push_cmd(source: str, url: str, db: str, user: str | None, dry_run: bool) -> None:
    """Compile SOURCE and upload the design documents whose content changed (keeps their _rev)."""
    import aiohttp

    from ..ddoc.push import PushError, push

    docs = _compile(source)
    try:
        results = push(docs, url, db, user, dry_run)
    except PushError as e:
        click.echo(f"error: {e}", err=True)
        raise SystemExit(1) from None
    except (OSError, aiohttp.ClientError) as e:
        click.echo(f"error: cannot reach {url}: {e}", err=True)
        raise SystemExit(1) from None
    for r in results:
        click.echo(f"{r.action:<12} {r.doc_id}" + (f" ({r.rev})" if r.rev else ""))
