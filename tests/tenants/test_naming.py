"""Tenant database names (``couchsync/tenants/naming.py``) and their allocation by ``create_tenant``.

The issue: "Creating one creates its database, named ``slugify(name)`` + ``-`` + a 7-character short
random id (python-slugify + shortuuid; e.g. "Cure" → ``cure-PPBqWA9``), created partitioned. Names that
slugify to nothing, duplicates and over-long names get clear 400 errors." Tests: unicode names,
collisions (retry on shortid clash), names that slugify to nothing.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
import shortuuid
from aiohttp.test_utils import TestClient

from couchsync.errors import BadRequest, CouchError
from couchsync.storage.registry import Registry
from couchsync.tenants.naming import (
    ID_ALPHABET,
    MAX_NAME_LENGTH,
    MAX_SLUG_LENGTH,
    tenant_db_name,
    tenant_slug,
)
from couchsync.tenants.service import TenantService
from tests.tenants.world import call, ok

DB_NAME = re.compile(r"^[a-z][a-z0-9_$()+/-]*$")
TENANT_DB = re.compile(rf"^(?P<slug>[a-z][a-z0-9-]*)-(?P<id>[{ID_ALPHABET}]{{7}})$")


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Cure", "cure"),
        ("AIC Cure Hospital", "aic-cure-hospital"),
        ("Clínica São José", "clinica-sao-jose"),
        ("Hôpital Saint-Éloi", "hopital-saint-eloi"),
        ("Ärzte & Söhne GmbH", "arzte-sohne-gmbh"),
        ("Zürich Spital", "zurich-spital"),
        ("Ωmega Care", "omega-care"),
        ("  padded   name  ", "padded-name"),
        ("St. Mary's", "st-mary-s"),
        ("123 Clinic", "org-123-clinic"),
        ("42", "org-42"),
        ("a", "a"),
    ],
)
def test_slug(name: str, slug: str) -> None:
    assert tenant_slug(name) == slug
    assert DB_NAME.match(tenant_slug(name))


@pytest.mark.parametrize("name", ["北京协和医院", "東京病院", "مستشفى", "병원", "Больница №1"])
def test_non_latin_scripts_transliterate_to_a_valid_name(name: str) -> None:
    slug = tenant_slug(name)
    assert slug and DB_NAME.match(slug), slug


@pytest.mark.parametrize("name", ["!!!", "", " ", "\t\n", "---", "...", "🏥", "🏥 🚑", "()", "_", "・"])
def test_names_that_slugify_to_nothing(name: str) -> None:
    with pytest.raises(BadRequest) as e:
        tenant_slug(name)
    assert e.value.status == 400 and e.value.error == "bad_request" and e.value.reason


@pytest.mark.parametrize("name", [None, 42, 4.2, True, ["Cure"], {"name": "Cure"}, b"Cure"])
def test_non_string_names(name: Any) -> None:
    with pytest.raises(BadRequest):
        tenant_slug(name)
    with pytest.raises(BadRequest):
        tenant_db_name(name)


def test_over_long_names() -> None:
    ok_name = "x" * MAX_NAME_LENGTH
    assert len(tenant_slug(ok_name)) <= MAX_SLUG_LENGTH
    with pytest.raises(BadRequest) as e:
        tenant_slug("x" * (MAX_NAME_LENGTH + 1))
    assert str(MAX_NAME_LENGTH) in e.value.reason


def test_long_slugs_are_cut_at_a_word_boundary() -> None:
    slug = tenant_slug("Hospital " * 20)
    assert len(slug) <= MAX_SLUG_LENGTH and not slug.endswith("-")
    assert all(part == "hospital" for part in slug.split("-"))


def test_db_name_shape() -> None:
    names = {tenant_db_name("Cure") for _ in range(200)}
    assert len(names) == 200  # random ids
    for n in names:
        m = TENANT_DB.match(n)
        assert m and m["slug"] == "cure" and DB_NAME.match(n), n
    assert len(tenant_db_name("x" * MAX_NAME_LENGTH)) <= MAX_SLUG_LENGTH + 8


def test_db_name_alphabet_keeps_names_valid_couchdb_names() -> None:
    assert ID_ALPHABET.lower() == ID_ALPHABET and ID_ALPHABET.isascii() and ID_ALPHABET.isalnum()


# -- create_tenant: collisions and duplicates ------------------------------------------------------


@pytest.fixture
async def service(data_dir: str) -> AsyncIterator[TenantService]:
    registry = Registry(data_dir)
    yield TenantService(registry, bcrypt_rounds=4)
    await registry.close_all()


@pytest.fixture
def ids(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Scripted random ids: ``ids.extend([...])`` sets what ``ShortUUID.random`` returns next (then
    real random ids again)."""
    script: list[str] = []
    real = shortuuid.ShortUUID.random

    def fake(self: shortuuid.ShortUUID, length: int | None = None) -> str:
        return script.pop(0) if script else real(self, length)

    monkeypatch.setattr(shortuuid.ShortUUID, "random", fake)
    return script


async def test_create_tenant_retries_on_id_clash(service: TenantService, ids: list[str]) -> None:
    ids.extend(["aaaaaaa", "aaaaaaa", "bbbbbbb"])
    first = await service.create_tenant("Cure")
    assert first == {"ok": True, "name": "Cure", "db": "cure-aaaaaaa"}
    second = await service.create_tenant("Cure!")  # same slug, another organisation: clash, retry
    assert second["db"] == "cure-bbbbbbb"
    assert not ids
    dbs = {t["db"]: t["name"] for t in await service.list_tenants()}
    assert dbs == {"cure-aaaaaaa": "Cure", "cure-bbbbbbb": "Cure!"}
    db = await service.tenant_db("cure-bbbbbbb")
    assert db.partitioned and db.meta["tenant"]["name"] == "Cure!"


async def test_create_tenant_gives_up_after_repeated_clashes(service: TenantService, ids: list[str]) -> None:
    ids.extend(["ccccccc"] * 10)
    await service.create_tenant("Cure")
    with pytest.raises(CouchError) as e:
        await service.create_tenant("Cure!")  # same slug: every draw clashes
    assert e.value.status == 500
    assert [t["db"] for t in await service.list_tenants()] == ["cure-ccccccc"]
    ids.clear()
    assert (await service.create_tenant("Cure!"))["db"].startswith("cure-")


async def test_retry_over_http(client: TestClient, ids: list[str]) -> None:
    ids.extend(["ddddddd", "ddddddd", "eeeeeee"])
    a = await ok(client, "POST", "/_tenants", 201, json={"name": "Cure"})
    b = await ok(client, "POST", "/_tenants", 201, json={"name": "CURE!"})
    assert (a["db"], b["db"]) == ("cure-ddddddd", "cure-eeeeeee")


async def test_id_clash_with_a_plain_database(client: TestClient, ids: list[str]) -> None:
    """A non-tenant database that happens to carry the name is never taken over."""
    await ok(client, "PUT", "/cure-fffffff", 201)
    await ok(client, "PUT", "/cure-fffffff/doc", 201, json={"mine": True})
    ids.extend(["fffffff", "ggggggg"])
    t = await ok(client, "POST", "/_tenants", 201, json={"name": "Cure"})
    assert t["db"] == "cure-ggggggg"
    assert (await ok(client, "GET", "/cure-fffffff", 200))["props"] == {}
    assert (await ok(client, "GET", "/cure-fffffff/doc", 200))["mine"] is True


async def test_duplicate_names(service: TenantService) -> None:
    await service.create_tenant("Cure")
    for again in ("Cure", "cure", "  CURE ", "Cure"):
        with pytest.raises(BadRequest):
            await service.create_tenant(again)
    await service.create_tenant("Cure Clinic")
    await service.create_tenant("Curé")
    assert len(await service.list_tenants()) == 3


async def test_duplicate_names_seen_across_service_instances(data_dir: str) -> None:
    """A tenant made by another process (the demo loader) is a duplicate too."""
    r1 = Registry(data_dir)
    await TenantService(r1).create_tenant("Demo Clinic")
    await r1.close_all()
    r2 = Registry(data_dir)
    try:
        with pytest.raises(BadRequest):
            await TenantService(r2).create_tenant("Demo Clinic")
    finally:
        await r2.close_all()


async def test_concurrent_duplicates(service: TenantService) -> None:
    results = await asyncio.gather(*(service.create_tenant("Cure") for _ in range(5)), return_exceptions=True)
    assert sum(isinstance(r, dict) for r in results) == 1
    assert all(isinstance(r, BadRequest) for r in results if not isinstance(r, dict))
    assert len(await service.list_tenants()) == 1


async def test_name_free_after_database_deleted_directly(client: TestClient) -> None:
    a = await ok(client, "POST", "/_tenants", 201, json={"name": "Cure"})
    await ok(client, "DELETE", f"/{a['db']}", 200)  # not through /_tenants
    b = await ok(client, "POST", "/_tenants", 201, json={"name": "Cure"})
    assert b["db"] != a["db"]


async def test_bad_name_over_http_creates_nothing(client: TestClient, data_dir: str) -> None:
    for name in ("!!!", "", "x" * 201, 7):
        ex = await call(client, "POST", "/_tenants", json={"name": name})
        assert ex.status == 400 and ex.json()["error"] == "bad_request", str(ex)
    assert await ok(client, "GET", "/_all_dbs", 200) == ["_users"]
