"""Upload compiled design documents, touching only those whose content changed.

For each design document: ``GET /{db}/_design/{name}``; 404 → ``PUT`` (``created``); otherwise the
stored document without ``_rev`` is compared with the compiled one: equal → ``unchanged`` (no
write, the revision stays), different → ``PUT`` with the current ``_rev`` (``updated``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp


class PushError(Exception):
    """An unexpected HTTP answer: ``status`` and the response ``body`` text."""

    def __init__(self, doc_id: str, method: str, status: int, body: str) -> None:
        super().__init__(f"{method} {doc_id}: HTTP {status}: {body.strip()}")
        self.status = status
        self.body = body


@dataclass(frozen=True)
class PushResult:
    """``action``: ``created``, ``updated``, ``unchanged`` (or ``would create``/``would update``
    with ``dry_run``); ``rev``: the revision after the push (None for a dry run of a new doc)."""

    doc_id: str
    action: str
    rev: str | None


def _auth_headers(user: str | None) -> dict[str, str]:
    if not user:
        return {}
    name, _, password = user.partition(":")
    return {"Authorization": aiohttp.encode_basic_auth(name, password)}


def _content(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v for k, v in doc.items() if k not in ("_rev", "_revisions", "_conflicts", "_deleted_conflicts")
    }


async def push_async(
    docs: list[dict[str, Any]],
    url: str,
    db: str,
    user: str | None = None,
    dry_run: bool = False,
    session: aiohttp.ClientSession | None = None,
) -> list[PushResult]:
    """Push ``docs`` (compiled design documents) to ``{url}/{db}``; see the module docstring.
    Raises :class:`PushError` on any other HTTP status (e.g. 401/403 without admin rights)."""
    own = session is None
    s = session or aiohttp.ClientSession()
    headers = _auth_headers(user)
    base = url.rstrip("/") + "/" + quote(db, safe="")
    out: list[PushResult] = []
    try:
        for doc in docs:
            doc_id = doc["_id"]
            path = base + "/_design/" + quote(doc_id.removeprefix("_design/"), safe="")
            async with s.get(path, headers=headers) as r:
                if r.status == 404:
                    current = None
                elif r.status == 200:
                    current = await r.json()
                else:
                    raise PushError(doc_id, "GET", r.status, await r.text())
            if current is not None and _content(current) == _content(doc):
                out.append(PushResult(doc_id, "unchanged", current.get("_rev")))
                continue
            body = dict(doc)
            if current is not None:
                body["_rev"] = current["_rev"]
            action = "created" if current is None else "updated"
            if dry_run:
                out.append(PushResult(doc_id, "would " + action.removesuffix("d"), body.get("_rev")))
                continue
            async with s.put(path, json=body, headers=headers) as r:
                if r.status not in (200, 201, 202):
                    raise PushError(doc_id, "PUT", r.status, await r.text())
                out.append(PushResult(doc_id, action, (await r.json()).get("rev")))
    finally:
        if own:
            await s.close()
    return out


def push(
    docs: list[dict[str, Any]], url: str, db: str, user: str | None = None, dry_run: bool = False
) -> list[PushResult]:
    """Synchronous :func:`push_async`."""
    return asyncio.run(push_async(docs, url, db, user, dry_run))
