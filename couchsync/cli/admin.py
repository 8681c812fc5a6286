"""``couchsync tenant|hospital|user …``: the tenant admin API from the command line.

Each command talks to a running server (``--url``, credentials ``--user name:password`` or
``COUCHSYNC_ADMIN``) and prints the answer as a table; errors print CouchDB's ``error: reason``
and exit 1.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import aiohttp
import click
from rich.console import Console
from rich.table import Table

console = Console()

url_option = click.option("--url", default="http://127.0.0.1:5984", show_default=True, envvar="COUCHSYNC_URL")
user_option = click.option("--user", envvar="COUCHSYNC_ADMIN", help="name:password [COUCHSYNC_ADMIN].")


def request(method: str, url: str, user: str | None, json: Any = None) -> Any:
    async def go() -> tuple[int, Any]:
        headers = {}
        if user:
            name, _, password = user.partition(":")
            headers["Authorization"] = aiohttp.encode_basic_auth(name, password)
        async with aiohttp.ClientSession(headers=headers) as s, s.request(method, url, json=json) as r:
            return r.status, await r.json(content_type=None)
    status, body = asyncio.run(go())
    if status >= 400:
        err = body if isinstance(body, dict) else {}
        raise click.ClickException(f"{status} {err.get('error')}: {err.get('reason')}")
    return body


def table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    t = Table(*columns)
    for r in rows:
        t.add_row(*(", ".join(map(str, v)) if isinstance(v, list) else str(v) for v in (r.get(c, "") for c in columns)))
    console.print(t)


def command(group: click.Group, name: str) -> Callable[[Callable[..., Any]], Any]:
    def deco(fn: Callable[..., Any]) -> Any:
        return group.command(name)(url_option(user_option(fn)))
    return deco


@click.group()
def tenant() -> None:
    """Create, list and delete tenants (server admin)."""


@command(tenant, "create")
@click.argument("name")
def tenant_create(url: str, user: str | None, name: str) -> None:
    body = request("POST", f"{url}/_tenants", user, {"name": name})
    console.print(f"created tenant {body['name']!r}: database [bold]{body['db']}[/bold]")


@command(tenant, "list")
def tenant_list(url: str, user: str | None) -> None:
    table(request("GET", f"{url}/_tenants", user), ["name", "db", "hospitals"])


@command(tenant, "delete")
@click.argument("db")
def tenant_delete(url: str, user: str | None, db: str) -> None:
    body = request("DELETE", f"{url}/_tenants/{quote(db, safe='')}", user)
    console.print(f"deleted {db} and {body.get('users_deleted', 0)} users")


@click.group()
def hospital() -> None:
    """Add and list the hospitals (partitions) of a tenant (tenant admin)."""


@command(hospital, "add")
@click.argument("db")
@click.argument("name")
def hospital_add(url: str, user: str | None, db: str, name: str) -> None:
    request("POST", f"{url}/_tenants/{quote(db, safe='')}/hospitals", user, {"name": name})
    console.print(f"added hospital {name} to {db}")


@command(hospital, "list")
@click.argument("db")
def hospital_list(url: str, user: str | None, db: str) -> None:
    table(request("GET", f"{url}/_tenants/{quote(db, safe='')}/hospitals", user), ["name", "doc_count"])


@click.group("user")
def user_group() -> None:
    """Add, list, update and disable the users of a tenant (tenant admin)."""


@command(user_group, "add")
@click.argument("db")
@click.argument("name")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--role", type=click.Choice(["admin", "staff"]), default="staff", show_default=True)
@click.option("--hospital", "hospitals", multiple=True, help="A hospital of the user (repeat).")
def user_add(url: str, user: str | None, db: str, name: str, password: str, role: str,
             hospitals: tuple[str, ...]) -> None:
    request("POST", f"{url}/_tenants/{quote(db, safe='')}/users", user,
            {"name": name, "password": password, "role": role, "hospitals": list(hospitals)})
    console.print(f"added {role} {name} to {db}")


@command(user_group, "list")
@click.argument("db")
def user_list(url: str, user: str | None, db: str) -> None:
    table(request("GET", f"{url}/_tenants/{quote(db, safe='')}/users", user),
          ["name", "role", "hospitals", "disabled"])


@command(user_group, "update")
@click.argument("db")
@click.argument("name")
@click.option("--role", type=click.Choice(["admin", "staff"]))
@click.option("--hospital", "hospitals", multiple=True, help="Replace the hospitals (repeat).")
@click.option("--password", help="Reset the password.")
@click.option("--enable/--disable", "enabled", default=None)
def user_update(url: str, user: str | None, db: str, name: str, role: str | None, hospitals: tuple[str, ...],
                password: str | None, enabled: bool | None) -> None:
    patch: dict[str, Any] = {}
    if role:
        patch["role"] = role
    if hospitals:
        patch["hospitals"] = list(hospitals)
    if password:
        patch["password"] = password
    if enabled is not None:
        patch["disabled"] = not enabled
    body = request("PATCH", f"{url}/_tenants/{quote(db, safe='')}/users/{quote(name, safe='')}", user, patch)
    table([body], ["name", "role", "hospitals", "disabled"])


@command(user_group, "disable")
@click.argument("db")
@click.argument("name")
def user_disable(url: str, user: str | None, db: str, name: str) -> None:
    request("PATCH", f"{url}/_tenants/{quote(db, safe='')}/users/{quote(name, safe='')}", user, {"disabled": True})
    console.print(f"disabled {name}")
