"""Tenants, hospitals and users: the administration behind ``/_tenants`` and the CLI.

A **tenant** (organisation) owns one partitioned database (:mod:`.naming`); its metadata lives in
that database's ``meta`` table under ``tenant``: ``{"name", "hospitals": [...], "created"}``. A
**hospital** is a partition of it. **Users** are ``_users`` documents carrying ``tenant``,
``tenant_role`` and ``hospitals``; their CouchDB ``roles`` are derived from those:

* tenant admin → ``["<db>:admin"]``;
* staff → ``["<db>:staff", "<db>:hospital:<H>", …]``.

The tenant database's ``_security`` names ``<db>:admin`` as admins and ``<db>:staff`` as members, so
CouchDB's own security rules do the coarse check and :mod:`couchsync.auth.access` narrows staff to
their hospitals' partitions.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import orjson

from ..auth.users import USER_PREFIX, USERS_DB, hash_on_write, public_view, validate_user_doc
from ..core.documents import parse_doc, validate_partition
from ..errors import BadRequest, Conflict, CouchError, FileExists, Forbidden, NotFound
from ..storage.database import Database
from ..storage.reader import Found, ReadOptions, open_docs
from ..storage.registry import Registry
from ..storage.updater import update_docs
from .naming import tenant_db_name, tenant_slug

ROLES = ("admin", "staff")


def name_key(name: str) -> str:
    """What makes two organisation names the same tenant: case and runs of whitespace ignored."""
    return " ".join(name.split()).casefold()


def admin_role(db: str) -> str:
    return f"{db}:admin"


def staff_role(db: str) -> str:
    return f"{db}:staff"


def hospital_role(db: str, hospital: str) -> str:
    return f"{db}:hospital:{hospital}"


def tenant_security(db: str) -> dict[str, Any]:
    """The ``_security`` object of a tenant database."""
    return {"admins": {"names": [], "roles": [admin_role(db)]},
            "members": {"names": [], "roles": [staff_role(db)]}}


def derive_roles(db: str, role: str, hospitals: list[str]) -> list[str]:
    if role == "admin":
        return [admin_role(db)]
    return [staff_role(db)] + [hospital_role(db, h) for h in hospitals]


class TenantService:
    """Tenant administration over the registry; every method raises ``CouchError`` on bad input."""

    def __init__(self, registry: Registry, bcrypt_rounds: int = 12):
        self.registry = registry
        self.rounds = bcrypt_rounds
        #: ``name_key(name)`` → database of every tenant, built on first use (one scan)
        self._names: dict[str, str] | None = None
        self._create_lock = asyncio.Lock()

    # -- tenants ---------------------------------------------------------------------------------

    async def users_db(self) -> Database:
        if not self.registry.exists(USERS_DB):
            with contextlib.suppress(FileExists):
                await self.registry.create(USERS_DB)
        return await self.registry.get(USERS_DB)

    async def create_tenant(self, name: object) -> dict[str, Any]:
        """Creates the partitioned database; returns ``{"ok", "name", "db"}``. Retries on id clashes.

        400 ``bad_request`` for a bad name (:func:`.naming.tenant_slug`) and for the name of an
        existing tenant (compared by :func:`name_key`); names that merely share a slug get distinct
        databases.
        """
        tenant_slug(name)
        assert isinstance(name, str)
        async with self._create_lock:
            names = await self._tenant_names()
            existing = names.get(name_key(name))
            if existing is not None and await self._is_tenant(existing):
                raise BadRequest(f"Tenant {name!r} already exists (database {existing}).")
            for _ in range(5):
                db_name = tenant_db_name(name)
                try:
                    await self.registry.create(db_name, {"partitioned": True}, {
                        "security": tenant_security(db_name),
                        "tenant": {"name": name, "hospitals": [], "created": int(time.time())}})
                except FileExists:
                    continue
                names[name_key(name)] = db_name
                return {"ok": True, "name": name, "db": db_name}
        raise CouchError("Could not allocate a unique tenant database name", status=500, error="unknown_error")

    async def _tenant_names(self) -> dict[str, str]:
        if self._names is None:
            self._names = {name_key(t["name"]): t["db"] for t in await self.list_tenants()}
        return self._names

    async def _is_tenant(self, db_name: str) -> bool:
        """Whether ``db_name`` is (still) a tenant database: it may have been deleted by ``DELETE /{db}``."""
        try:
            await self.tenant_db(db_name)
        except NotFound:
            return False
        return True

    async def tenant_db(self, db_name: str) -> Database:
        """The tenant's database; 404 ``not_found`` "Tenant does not exist." for anything else."""
        if not self.registry.exists(db_name):
            raise NotFound("Tenant does not exist.")
        db = await self.registry.get(db_name)
        if not isinstance(db.meta.get("tenant"), dict):
            raise NotFound("Tenant does not exist.")
        return db

    async def list_tenants(self) -> list[dict[str, Any]]:
        out = []
        for name in self.registry.all_dbs():
            if name.startswith("_"):
                continue
            meta = await asyncio.to_thread(self.registry.peek_meta, name, "tenant")
            if isinstance(meta, dict):
                out.append({"name": meta["name"], "db": name, "hospitals": meta["hospitals"]})
        return out

    async def get_tenant(self, db_name: str) -> dict[str, Any]:
        db = await self.tenant_db(db_name)
        meta = db.meta["tenant"]
        users = await self._tenant_users(db_name)
        return {"name": meta["name"], "db": db_name, "hospitals": meta["hospitals"],
                "user_count": len(users), "doc_count": int(db.meta["doc_count"])}

    async def delete_tenant(self, db_name: str) -> dict[str, Any]:
        await self.tenant_db(db_name)
        users = await self._tenant_users(db_name)
        if users:
            udb = await self.users_db()
            await update_docs(udb, [parse_doc({"_id": u["_id"], "_rev": u["_rev"], "_deleted": True})
                                    for u in users], new_edits=True)
        await self.registry.delete(db_name)
        if self._names is not None:
            self._names = {k: v for k, v in self._names.items() if v != db_name}
        return {"ok": True, "db": db_name, "users_deleted": len(users)}

    # -- hospitals -------------------------------------------------------------------------------

    async def add_hospital(self, db_name: str, name: object) -> dict[str, Any]:
        """Registers a partition; 400 for an invalid partition name, 409 if it exists."""
        if not isinstance(name, str):
            raise BadRequest("Hospital name must be a string.")
        validate_partition(name)
        if len(name) > 100:
            raise BadRequest("Hospital name must be at most 100 characters.")
        db = await self.tenant_db(db_name)
        meta = dict(db.meta["tenant"])
        if name in meta["hospitals"]:
            raise Conflict(f"Hospital {name} already exists.")
        meta["hospitals"] = [*meta["hospitals"], name]
        await db.set_meta("tenant", meta)
        return {"ok": True, "db": db_name, "name": name}

    async def list_hospitals(self, db_name: str) -> list[dict[str, Any]]:
        db = await self.tenant_db(db_name)
        out = []
        for h in db.meta["tenant"]["hospitals"]:
            rows = await db.read("SELECT count(*) FROM docs WHERE partition = ? AND deleted = 0", (h,))
            out.append({"name": h, "doc_count": int(rows[0][0])})
        return out

    async def delete_hospital(self, db_name: str, name: str) -> dict[str, Any]:
        """Removes an empty hospital; 404 if unknown, 409 while it holds documents."""
        db = await self.tenant_db(db_name)
        meta = dict(db.meta["tenant"])
        if name not in meta["hospitals"]:
            raise NotFound("Hospital does not exist.")
        rows = await db.read("SELECT count(*) FROM docs WHERE partition = ?", (name,))
        if rows[0][0]:
            raise Conflict(f"Hospital {name} still holds {rows[0][0]} documents.")
        meta["hospitals"] = [h for h in meta["hospitals"] if h != name]
        await db.set_meta("tenant", meta)
        for user in await self._tenant_users(db_name):  # nobody keeps a role for a hospital that is gone
            if name in user.get("hospitals", []):
                hospitals = [h for h in user["hospitals"] if h != name]
                role = str(user.get("tenant_role"))
                await self._write_user({**user, "hospitals": hospitals,
                                        "roles": derive_roles(db_name, role, hospitals)}, user)
        return {"ok": True}

    # -- users -----------------------------------------------------------------------------------

    async def _tenant_users(self, db_name: str) -> list[dict[str, Any]]:
        udb = await self.users_db()
        rows = await udb.read(
            "SELECT d.doc_id, d.winning_rev, r.body FROM docs d JOIN revs r ON r.doc_id = d.doc_id "
            "AND r.rev = d.winning_rev WHERE d.deleted = 0 AND json_extract(r.body, '$.tenant') = ? "
            "ORDER BY d.doc_id", (db_name,))
        return [{"_id": d, "_rev": rev, **orjson.loads(body)} for d, rev, body in rows]

    async def _user(self, name: str) -> dict[str, Any] | None:
        udb = await self.users_db()
        found = (await open_docs(udb, [(USER_PREFIX + name, None)], ReadOptions()))[0][0]
        return orjson.loads(found.json) if isinstance(found, Found) else None

    def _check_user_fields(self, db: Database, role: object, hospitals: object) -> list[str]:
        if role not in ROLES:
            raise BadRequest("role must be \"admin\" or \"staff\".")
        if not isinstance(hospitals, list) or not all(isinstance(h, str) for h in hospitals):
            raise BadRequest("hospitals must be an array of hospital names.")
        known = db.meta["tenant"]["hospitals"]
        unknown = [h for h in hospitals if h not in known]
        if unknown:
            raise BadRequest(f"Unknown hospitals: {', '.join(unknown)}")
        if role == "staff" and not hospitals:
            raise BadRequest("Staff must belong to at least one hospital.")
        return list(dict.fromkeys(hospitals))

    async def add_user(self, db_name: str, body: dict[str, Any]) -> dict[str, Any]:
        """Creates a tenant user; 409 if the name is taken (in any tenant), 400 on bad fields."""
        db = await self.tenant_db(db_name)
        name = body.get("name")
        password = body.get("password")
        role = body.get("role", "staff")
        if not isinstance(password, str) or len(password) < 8:
            raise BadRequest("password must be a string of at least 8 characters.")
        hospitals = self._check_user_fields(db, role, body.get("hospitals", []))
        if not isinstance(name, str):
            raise BadRequest("name must be a string.")
        doc = {"_id": USER_PREFIX + name, "name": name, "type": "user", "roles": derive_roles(db_name, str(role), hospitals),
               "tenant": db_name, "tenant_role": role, "hospitals": hospitals, "disabled": False,
               "password": password}
        await self._write_user(doc, None)
        return {"ok": True, "name": name, "tenant": db_name, "role": role, "hospitals": hospitals}

    async def _write_user(self, doc: dict[str, Any], old: dict[str, Any] | None) -> str:
        try:
            validate_user_doc(doc["_id"], doc, old=old)
        except Forbidden as e:
            raise BadRequest(e.reason) from None
        hashed = await asyncio.to_thread(hash_on_write, doc, rounds=self.rounds)
        udb = await self.users_db()
        res = (await update_docs(udb, [parse_doc(hashed)], new_edits=True))[0]
        if "error" in res:
            if res["error"] == "conflict":
                raise Conflict("A user with this name already exists.")
            raise CouchError(res["reason"], status=400, error=res["error"])
        return str(res["rev"])

    async def list_users(self, db_name: str) -> list[dict[str, Any]]:
        await self.tenant_db(db_name)
        return [self._show(u) for u in await self._tenant_users(db_name)]

    async def get_user(self, db_name: str, name: str) -> dict[str, Any]:
        await self.tenant_db(db_name)
        user = await self._user(name)
        if user is None or user.get("tenant") != db_name:
            raise NotFound("User does not exist.")
        return self._show(user)

    @staticmethod
    def _show(user: dict[str, Any]) -> dict[str, Any]:
        pub = public_view(user)
        return {"name": pub["name"], "role": pub.get("tenant_role"), "hospitals": pub.get("hospitals", []),
                "disabled": bool(pub.get("disabled")), "roles": pub.get("roles", [])}

    async def update_user(self, db_name: str, name: str, patch: dict[str, Any]) -> dict[str, Any]:
        """``PATCH``: ``hospitals``, ``role``, ``password`` (reset), ``disabled``; 404 if not this tenant's."""
        db = await self.tenant_db(db_name)
        user = await self._user(name)
        if user is None or user.get("tenant") != db_name:
            raise NotFound("User does not exist.")
        unknown = set(patch) - {"hospitals", "role", "password", "disabled"}
        if unknown:
            raise BadRequest(f"Unknown fields: {', '.join(sorted(unknown))}")
        role = patch.get("role", user.get("tenant_role"))
        hospitals = self._check_user_fields(db, role, patch.get("hospitals", user.get("hospitals", [])))
        doc = dict(user)
        doc.update({"tenant_role": role, "hospitals": hospitals, "roles": derive_roles(db_name, str(role), hospitals)})
        if "disabled" in patch:
            if not isinstance(patch["disabled"], bool):
                raise BadRequest("disabled must be a boolean.")
            doc["disabled"] = patch["disabled"]
        if "password" in patch:
            if not isinstance(patch["password"], str) or len(patch["password"]) < 8:
                raise BadRequest("password must be a string of at least 8 characters.")
            doc["password"] = patch["password"]
        await self._write_user(doc, user)
        return {"ok": True, **self._show({**doc, "password": None})}

    async def delete_user(self, db_name: str, name: str) -> dict[str, Any]:
        await self.tenant_db(db_name)
        user = await self._user(name)
        if user is None or user.get("tenant") != db_name:
            raise NotFound("User does not exist.")
        udb = await self.users_db()
        await update_docs(udb, [parse_doc({"_id": user["_id"], "_rev": user["_rev"], "_deleted": True})],
                          new_edits=True)
        return {"ok": True}

    async def lookup(self, name: str) -> dict[str, Any] | None:
        """The stored user doc for authentication (``None`` if absent)."""
        if not self.registry.exists(USERS_DB):
            return None
        return await self._user(name)
