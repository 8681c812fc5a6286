"""Shared helpers of the API tests: response assertions and replicated-revision builders."""

from __future__ import annotations

from typing import Any

import aiohttp


def rid(c: str) -> str:
    """A 32-character revid made of one repeated character (``"a"`` → ``"aaa…a"``)."""
    return c * 32


def rev(pos: int, c: str) -> str:
    return f"{pos}-{rid(c)}"


def rdoc(doc_id: str, start: int, *ids: str, **body: Any) -> dict[str, Any]:
    """A ``new_edits=false`` document whose ``_revisions`` are ``ids`` (newest first) ending at ``start``."""
    return {
        "_id": doc_id,
        "_rev": rev(start, ids[0]),
        "_revisions": {"start": start, "ids": [rid(c) for c in ids]},
        **body,
    }


async def ok(r: aiohttp.ClientResponse, status: int = 200) -> Any:
    """The JSON body, asserting ``status``."""
    body = await r.json()
    assert r.status == status, body
    return body


async def err(
    r: aiohttp.ClientResponse, status: int, error: str, reason: str | None = None
) -> dict[str, Any]:
    """The JSON error body, asserting ``status``, ``error`` and (if given) ``reason``."""
    body = await r.json()
    assert (r.status, body.get("error")) == (status, error), body
    if reason is not None:
        assert body["reason"] == reason, body
    return body
