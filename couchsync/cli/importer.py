"""Import FHIR R4 bundles over HTTP, one document per resource, idempotently.

Ids are ``ResourceType-id``, or with ``--hospital-from Organization`` ``<hospital>:ResourceType-id``
where the hospital (partition) is derived from Organization resources: an Organization is its own
hospital; every resource of a patient bundle goes to the Organization that the bundle's Encounters
name most often as ``serviceProvider``; other resources (e.g. Practitioners) go to ``DIRECTORY``.
A hospital key is the Organization's name, upper-cased and slugified (``MOUNT-AUBURN-HOSPITAL``).
Re-running adds nothing: documents that exist are left as they are (their ``_bulk_docs`` result is
a conflict, counted as already present).
"""

from __future__ import annotations

import glob
import os
from collections import Counter
from typing import Any

import aiohttp
import orjson
from rich.progress import Progress
from slugify import slugify

DIRECTORY = "DIRECTORY"


def read_bundle(path: str) -> list[dict[str, Any]]:
    with open(path, "rb") as f:
        bundle = orjson.loads(f.read())
    return [e["resource"] for e in bundle.get("entry", []) if isinstance(e.get("resource"), dict)
            and "resourceType" in e["resource"] and "id" in e["resource"]]


def bundle_docs(path: str) -> list[dict[str, Any]]:
    """The resources of one bundle file as documents (``_id`` = ``ResourceType-id``)."""
    return [{"_id": f"{r['resourceType']}-{r['id']}", **r} for r in read_bundle(path)]


def hospital_key(org: dict[str, Any]) -> str:
    name = org.get("name") or org["id"]
    return slugify(str(name)).upper() or org["id"]


def _org_ref(ref: Any) -> str | None:
    if isinstance(ref, dict) and isinstance(ref.get("reference"), str):
        return ref["reference"].removeprefix("urn:uuid:").rsplit("|", 1)[-1]
    return None


def partitioned_docs(files: list[str]) -> tuple[list[tuple[str, list[dict[str, Any]]]], set[str]]:
    """``([(file, docs)], hospitals)`` with ids ``<hospital>:ResourceType-id``."""
    bundles = [(f, read_bundle(f)) for f in files]
    orgs: dict[str, str] = {}
    for _, resources in bundles:
        for r in resources:
            if r["resourceType"] == "Organization":
                key = hospital_key(r)
                orgs[r["id"]] = key
                for ident in r.get("identifier", []):
                    if isinstance(ident, dict) and isinstance(ident.get("value"), str):
                        orgs[ident["value"]] = key
    out = []
    hospitals: set[str] = set()
    for f, resources in bundles:
        refs = Counter(_org_ref(r.get("serviceProvider")) for r in resources if r["resourceType"] == "Encounter")
        main = next((orgs[ref] for ref, _ in refs.most_common() if ref in orgs), None)
        docs = []
        for r in resources:
            part = orgs[r["id"]] if r["resourceType"] == "Organization" else main or DIRECTORY
            hospitals.add(part)
            docs.append({"_id": f"{part}:{r['resourceType']}-{r['id']}", **r})
        out.append((f, docs))
    return out, hospitals


async def import_bundles(paths: list[str], url: str, db: str, user: str | None,
                         hospital_from: str | None = None, batch: int = 500) -> tuple[int, int]:
    """Writes the documents; returns ``(written, already present)``. Creates ``db`` if missing
    (partitioned with ``hospital_from``) and registers hospitals when ``db`` is a tenant."""
    files: list[str] = []
    for p in paths:
        files += sorted(glob.glob(os.path.join(p, "*.json"))) if os.path.isdir(p) else [p]
    if hospital_from:
        groups, hospitals = partitioned_docs(files)
    else:
        groups, hospitals = [(f, bundle_docs(f)) for f in files], set()
    headers = {}
    if user:
        name, _, password = user.partition(":")
        headers["Authorization"] = aiohttp.encode_basic_auth(name, password)
    written = present = 0
    async with aiohttp.ClientSession(headers=headers) as session:
        await _ensure_db(session, url, db, bool(hospital_from), hospitals)
        total = sum(len(d) for _, d in groups)
        with Progress(transient=True) as progress:
            task = progress.add_task(f"importing into {db}", total=total)
            for _, docs in groups:
                for i in range(0, len(docs), batch):
                    chunk = docs[i:i + batch]
                    async with session.post(f"{url}/{db}/_bulk_docs", json={"docs": chunk}) as r:
                        if r.status != 201:
                            raise SystemExit(f"import failed: {r.status} {await r.text()}")
                        for res in await r.json():
                            if res.get("ok"):
                                written += 1
                            elif res.get("error") == "conflict":
                                present += 1
                            else:
                                raise SystemExit(f"import of {res.get('id')} failed: {res}")
                    progress.advance(task, len(chunk))
    return written, present


async def _ensure_db(session: aiohttp.ClientSession, url: str, db: str, partitioned: bool,
                     hospitals: set[str]) -> None:
    async with session.get(f"{url}/_tenants/{db}") as r:
        is_tenant = r.status == 200
    if is_tenant:
        for h in sorted(hospitals):
            async with session.post(f"{url}/_tenants/{db}/hospitals", json={"name": h}) as r:
                if r.status not in (201, 409):
                    raise SystemExit(f"cannot add hospital {h}: {r.status} {await r.text()}")
        return
    suffix = "?partitioned=true" if partitioned else ""
    async with session.put(f"{url}/{db}{suffix}") as r:
        if r.status not in (201, 412):
            raise SystemExit(f"cannot create {db}: {r.status} {await r.text()}")
