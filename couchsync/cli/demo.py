"""First-start demo data (``couchsync serve --demo-data FOLDER``).

Creates, once:

* database ``demo`` — the FHIR bundles as plain documents (``ResourceType-id``);
* tenant **Demo Clinic** — a partitioned database with one hospital per Organization (the bundles
  partitioned as by ``couchsync import --hospital-from Organization``), a tenant admin
  ``demo-admin`` and a staff user ``demo-nurse`` of the two largest hospitals (passwords printed
  once, like the generated server admin).
"""

from __future__ import annotations

import glob
import os
import secrets

from ..core.documents import parse_doc
from ..storage.registry import Registry
from ..storage.updater import update_docs
from ..tenants.service import TenantService
from .importer import bundle_docs, partitioned_docs


async def load_demo(data_dir: str, source: str, bcrypt_rounds: int = 12) -> list[str]:
    """Loads what is missing; returns lines to print (empty when everything existed)."""
    registry = Registry(data_dir)
    lines: list[str] = []
    files = sorted(glob.glob(os.path.join(source, "*.json")))
    try:
        if not registry.exists("demo"):
            db = await registry.create("demo")
            count = 0
            for path in files:
                results = await update_docs(db, [parse_doc(d) for d in bundle_docs(path)], new_edits=True)
                count += sum(1 for r in results if r.get("ok"))
            lines.append(f"Loaded {count} documents into database 'demo'")
        service = TenantService(registry, bcrypt_rounds)
        if not any(t["name"] == "Demo Clinic" for t in await service.list_tenants()):
            lines += await _demo_tenant(service, registry, files)
    finally:
        await registry.close_all()
    return lines


async def _demo_tenant(service: TenantService, registry: Registry, files: list[str]) -> list[str]:
    tenant = await service.create_tenant("Demo Clinic")
    db_name = tenant["db"]
    groups, hospitals = partitioned_docs(files)
    for h in sorted(hospitals):
        await service.add_hospital(db_name, h)
    db = await registry.get(db_name)
    sizes: dict[str, int] = {}
    for _, docs in groups:
        for d in docs:
            part = d["_id"].split(":", 1)[0]
            sizes[part] = sizes.get(part, 0) + 1
        await update_docs(db, [parse_doc(d) for d in docs], new_edits=True)
    biggest = sorted(sizes, key=lambda h: -sizes[h])[:2]
    admin_pw, nurse_pw = secrets.token_urlsafe(9), secrets.token_urlsafe(9)
    await service.add_user(db_name, {"name": "demo-admin", "password": admin_pw, "role": "admin"})
    await service.add_user(db_name, {"name": "demo-nurse", "password": nurse_pw, "role": "staff",
                                     "hospitals": biggest})
    return [f"Created tenant 'Demo Clinic': database {db_name}, {len(hospitals)} hospitals",
            f"  tenant admin  demo-admin:{admin_pw}",
            f"  staff         demo-nurse:{nurse_pw} (hospitals {', '.join(biggest)})"]
