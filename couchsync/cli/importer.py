"""Import FHIR R4 bundles over HTTP: one document per resource, ``_id`` = ``ResourceType-id``."""

from __future__ import annotations

import glob
import os
from typing import Any

import aiohttp
import orjson


def bundle_docs(path: str) -> list[dict[str, Any]]:
    """The resources of one bundle file as documents (``_id`` = ``ResourceType-id``)."""
    with open(path, "rb") as f:
        bundle = orjson.loads(f.read())
    docs = []
    for entry in bundle.get("entry", []):
        res = entry.get("resource") or {}
        if "resourceType" in res and "id" in res:
            docs.append({"_id": f"{res['resourceType']}-{res['id']}", **res})
    return docs


async def import_bundles(paths: list[str], url: str, db: str, user: str | None) -> int:
    """Creates ``db`` if missing and posts the documents with ``_bulk_docs``; returns the count
    written (documents that already exist are left as they are)."""
    files: list[str] = []
    for p in paths:
        files += sorted(glob.glob(os.path.join(p, "*.json"))) if os.path.isdir(p) else [p]
    auth = aiohttp.BasicAuth(*user.split(":", 1)) if user else None
    count = 0
    async with aiohttp.ClientSession(auth=auth) as session:
        async with session.put(f"{url}/{db}") as r:
            if r.status not in (201, 412):
                raise SystemExit(f"cannot create {db}: {r.status} {await r.text()}")
        for f in files:
            docs = bundle_docs(f)
            async with session.post(f"{url}/{db}/_bulk_docs", json={"docs": docs}) as r:
                if r.status != 201:
                    raise SystemExit(f"import of {f} failed: {r.status} {await r.text()}")
                count += sum(1 for x in await r.json() if x.get("ok"))
    return count
