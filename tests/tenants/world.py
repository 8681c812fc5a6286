"""A seeded two-tenant world for the tenant tests, and the helpers to talk to it.

Tenant ``Cure`` (``world.db``) has hospitals ``HOSP-A``, ``HOSP-B``, ``HOSP-C`` (partitions), a tenant
admin, a staff member of A and one of A and B. Tenant ``Other Org`` (``world.other_db``) has its own
admin and staff. ``world.db`` holds one seed document per target — ``A``, ``B``, ``C`` (one per
partition), ``design`` (``_design/app``) and ``local`` (``_local/ck``) — each carrying unique marker
strings in its body and attachment, so a test can grep any response for the bytes of a document the
caller must not see (:func:`assert_no_leak`).
"""

from __future__ import annotations

import base64
import itertools
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
from aiohttp.test_utils import TestClient, TestServer

ADMIN = ("admin", "secret")
PW = "pass-word-1"
HOSPITALS = {"A": "HOSP-A", "B": "HOSP-B", "C": "HOSP-C"}
PARTITION_TARGETS = ("A", "B", "C")
TARGETS = ("A", "B", "C", "design", "local")

#: principal → (user name, tenant: "T" (Cure) / "O" (Other Org) / None, role, hospitals)
USERS: dict[str, tuple[str, str, str, list[str]]] = {
    "tenant_admin": ("t-admin", "T", "admin", []),
    "staff_a": ("staff-a", "T", "staff", ["A"]),
    "staff_ab": ("staff-ab", "T", "staff", ["A", "B"]),
    "other_admin": ("o-admin", "O", "admin", []),
    "other_staff": ("o-staff", "O", "staff", ["X"]),
}
PRINCIPALS = (
    "anonymous",
    "other_staff",
    "other_admin",
    "staff_a",
    "staff_ab",
    "tenant_admin",
    "server_admin",
)
STAFF_PARTS = {"staff_a": frozenset({"A"}), "staff_ab": frozenset({"A", "B"})}
ADMINS = ("tenant_admin", "server_admin")
OUTSIDERS = ("other_staff", "other_admin")

_counter = itertools.count()


def unique(prefix: str = "n") -> str:
    return f"{prefix}{next(_counter)}-{uuid.uuid4().hex[:8]}"


@dataclass
class Exchange:
    """One request and its answer, the bodies as bytes."""

    method: str
    path: str
    request: bytes
    status: int
    body: bytes
    headers: Any = None

    def json(self) -> Any:
        return orjson.loads(self.body)

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.request[:300]!r} -> {self.status} {self.body[:600]!r}"


async def call(
    c: TestClient,
    method: str,
    path: str,
    *,
    json: Any = None,
    data: bytes | str | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
) -> Exchange:
    """Sends a request and reads the whole answer."""
    hdrs = dict(headers or {})
    body: bytes = b""
    if json is not None:
        body = orjson.dumps(json)
        hdrs.setdefault("Content-Type", "application/json")
    elif data is not None:
        body = data.encode() if isinstance(data, str) else data
    resp = await c.request(
        method,
        path,
        data=body if (json is not None or data is not None) else None,
        headers=hdrs,
        timeout=aiohttp.ClientTimeout(total=timeout),
    )
    raw = await resp.read()
    return Exchange(
        method, path, method.encode() + b" " + path.encode() + b" " + body, resp.status, raw, resp.headers
    )


async def ok(
    c: TestClient, method: str, path: str, status: int | tuple[int, ...] = (200, 201), **kw: Any
) -> Any:
    """Sends a request that must succeed with ``status``; returns the decoded JSON body."""
    ex = await call(c, method, path, **kw)
    wanted = (status,) if isinstance(status, int) else status
    assert ex.status in wanted, str(ex)
    return ex.json() if ex.body else None


async def new_client(
    server: TestServer,
    name: str | None = None,
    password: str | None = None,
    headers: dict[str, str] | None = None,
) -> TestClient:
    """A client authenticated by Basic auth (or anonymous), without a cookie jar."""
    hdrs = dict(headers or {})
    if name is not None:
        hdrs["Authorization"] = aiohttp.encode_basic_auth(name, password or PW)
    c = TestClient(server, headers=hdrs, cookie_jar=aiohttp.DummyCookieJar())
    await c.start_server()
    return c


async def close_client(c: TestClient) -> None:
    """Closes the client's session only: ``TestClient.close()`` would stop the shared server too."""
    await c.session.close()


async def create_tenant(admin: TestClient, name: str) -> str:
    return str((await ok(admin, "POST", "/_tenants", 201, json={"name": name}))["db"])


async def add_hospital(c: TestClient, db: str, name: str) -> None:
    await ok(c, "POST", f"/_tenants/{db}/hospitals", 201, json={"name": name})


async def add_user(
    c: TestClient, db: str, name: str, role: str, hospitals: list[str], password: str = PW
) -> dict[str, Any]:
    return dict(
        await ok(
            c,
            "POST",
            f"/_tenants/{db}/users",
            201,
            json={"name": name, "password": password, "role": role, "hospitals": hospitals},
        )
    )


@dataclass
class Seed:
    """A seeded document: its id, rev and the tokens that must never reach a forbidden caller."""

    id: str
    rev: str
    marker: str
    att_marker: str | None = None
    att_digest: str | None = None

    def tokens(self) -> list[bytes]:
        out = [self.marker.encode(), self.rev.encode()]
        if self.att_marker is not None:
            out += [self.att_marker.encode(), base64.b64encode(self.att_marker.encode())]
        if self.att_digest is not None:
            out.append(self.att_digest.encode())
        return out


@dataclass
class World:
    server: TestServer
    db: str
    other_db: str
    clients: dict[str, TestClient]
    seeds: dict[str, Seed] = field(default_factory=dict)
    extra: list[TestClient] = field(default_factory=list)

    @property
    def admin(self) -> TestClient:
        return self.clients["server_admin"]

    def c(self, principal: str) -> TestClient:
        return self.clients[principal]

    async def client(
        self, name: str | None = None, password: str | None = None, headers: dict[str, str] | None = None
    ) -> TestClient:
        c = await new_client(self.server, name, password, headers)
        self.extra.append(c)
        return c

    async def close(self) -> None:
        for c in [*self.clients.values(), *self.extra]:
            await close_client(c)

    # -- who may see what -------------------------------------------------------------------------

    @staticmethod
    def is_member(principal: str) -> bool:
        return principal in ADMINS or principal in STAFF_PARTS

    @staticmethod
    def visible(principal: str, target: str) -> bool:
        if principal in ADMINS:
            return True
        if principal in STAFF_PARTS:
            return target in ("design", "local") or target in STAFF_PARTS[principal]
        return False

    @staticmethod
    def writable(principal: str, target: str) -> bool:
        if principal in ADMINS:
            return True
        if principal in STAFF_PARTS:
            return target == "local" or target in STAFF_PARTS[principal]
        return False

    @staticmethod
    def id_visible(principal: str, doc_id: str) -> bool:
        """Whether ``principal`` may read the document ``doc_id`` of ``world.db``."""
        if doc_id.startswith("_design/"):
            return World.visible(principal, "design")
        if doc_id.startswith("_local/"):
            return World.visible(principal, "local")
        for t, h in HOSPITALS.items():
            if doc_id.startswith(h + ":"):
                return World.visible(principal, t)
        return principal in ADMINS

    def new_id(self, target: str, prefix: str = "new") -> str:
        name = unique(prefix)
        if target == "design":
            return f"_design/{name}"
        if target == "local":
            return f"_local/{name}"
        return f"{HOSPITALS[target]}:{name}"

    async def fresh(self, target: str, prefix: str = "fresh") -> tuple[str, str]:
        """A new document in ``target`` written by the server admin: ``(id, rev)``."""
        doc_id = self.new_id(target, prefix)
        body = {"kind": "fresh", "v": 1}
        res = await ok(self.admin, "PUT", f"/{self.db}/{doc_id}", 201, json=body)
        return doc_id, str(res["rev"])


def assert_no_leak(w: World, principal: str, ex: Exchange, context: str = "") -> None:
    """No token (marker, attachment bytes/base64/digest, rev) of a document ``principal`` must not
    read may appear in the answer, unless the request itself carried it (a rev echoed back)."""
    for target, seed in w.seeds.items():
        if w.visible(principal, target):
            continue
        for tok in seed.tokens():
            if tok in ex.request:
                continue
            assert tok not in ex.body, f"{context} {principal}: {target} token {tok!r} leaked in {ex}"


async def build_world(server: TestServer) -> World:
    admin = await new_client(server, *ADMIN)
    db = await create_tenant(admin, "Cure")
    other = await create_tenant(admin, "Other Org")
    for h in HOSPITALS.values():
        await add_hospital(admin, db, h)
    await add_hospital(admin, other, "HOSP-X")
    clients: dict[str, TestClient] = {"server_admin": admin, "anonymous": await new_client(server)}
    for principal, (name, tenant, role, hospitals) in USERS.items():
        tdb = db if tenant == "T" else other
        hosp = [HOSPITALS.get(h, "HOSP-X") for h in hospitals]
        await add_user(admin, tdb, name, role, hosp)
        clients[principal] = await new_client(server, name)
    w = World(server, db, other, clients)
    for target in TARGETS:
        marker = f"MARKBODY{target}{uuid.uuid4().hex}"
        if target == "local":
            res = await ok(admin, "PUT", f"/{db}/_local/ck", 201, json={"marker": marker})
            w.seeds[target] = Seed("_local/ck", str(res["rev"]), marker)
            continue
        doc_id = "_design/app" if target == "design" else f"{HOSPITALS[target]}:seed"
        att_marker = f"MARKATT{target}{uuid.uuid4().hex}"
        body: dict[str, Any] = {
            "kind": "seed",
            "marker": marker,
            "_attachments": {
                "note.txt": {
                    "content_type": "text/plain",
                    "data": base64.b64encode(att_marker.encode()).decode(),
                }
            },
        }
        if target == "design":
            body["language"] = "javascript"
        res = await ok(admin, "PUT", f"/{db}/{doc_id}", 201, json=body)
        got = await ok(admin, "GET", f"/{db}/{doc_id}", 200)
        digest = got["_attachments"]["note.txt"]["digest"]
        w.seeds[target] = Seed(doc_id, str(res["rev"]), marker, att_marker, digest)
    # the other tenant holds a document too, so its principals are real members somewhere
    await ok(admin, "PUT", f"/{other}/HOSP-X:doc", 201, json={"kind": "other"})
    return w
