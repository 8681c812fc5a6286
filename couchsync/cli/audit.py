"""``couchsync audit DB [--doc ID]`` and ``couchsync audit verify DB``, against a running server.

``audit DB`` prints the trail newest first as a table (``--doc`` one document's, ``--limit`` rows,
following the ``_audit`` pages); ``audit verify DB`` walks the hash chain and exits 1 when a link is
broken. Credentials: ``--user name:password`` or ``COUCHSYNC_ADMIN``; server: ``--url``.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

import click

from .admin import console, request, table, url_option, user_option

COLUMNS = ["seq", "time", "user", "address", "op", "id", "rev", "parent"]


@click.command()
@click.argument("args", nargs=-1, required=True, metavar="[verify] DB")
@click.option("--doc", "doc_id", default=None, help="Only the entries of this document.")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True, help="Entries to print.")
@url_option
@user_option
def audit(args: tuple[str, ...], doc_id: str | None, limit: int, url: str, user: str | None) -> None:
    """Print a database's audit trail (newest first), or verify its hash chain:

    \b
      couchsync audit DB [--doc ID] [--limit N]
      couchsync audit verify DB
    """
    if len(args) == 2 and args[0] == "verify":
        _verify(url, user, args[1])
    elif len(args) == 1:
        _trail(url, user, args[0], doc_id, limit)
    else:
        raise click.UsageError("expected DB or verify DB")


def _trail(url: str, user: str | None, db: str, doc_id: str | None, limit: int) -> None:
    rows: list[dict[str, object]] = []
    before = None
    while len(rows) < limit:
        params: dict[str, object] = {"limit": min(1000, limit - len(rows))}
        if doc_id is not None:
            params["doc_id"] = doc_id
        if before is not None:
            params["before"] = before
        page = request("GET", f"{url}/{quote(db, safe='')}/_audit?{urlencode(params)}", user)
        rows += page["entries"]
        before = page["next"]
        if before is None:
            break
    for r in rows:
        if r.get("erased"):
            r["op"] = f"{r['op']} (erased)"
    table(rows, COLUMNS)


def _verify(url: str, user: str | None, db: str) -> None:
    body = request("GET", f"{url}/{quote(db, safe='')}/_audit/_verify", user)
    head = body["head"]
    if body["ok"]:
        console.print(f"[green]ok[/green]: {body['entries']} entries, head {head['seq']} {head['hash']}, "
                      f"{body['bodies_checked']} bodies match their digests")
        return
    broken = body["broken"]
    console.print(f"[red]broken[/red] at entry {broken['seq']}: {broken['reason']} — {broken['detail']}")
    raise SystemExit(1)
