"""Database endpoints: create/info/delete, ``POST /{db}``, ``_ensure_full_commit``, ``_revs_limit``,
``_temp_view``, partitioned databases, and sequences across delete/recreate.

Sources: protocol reference §4.1, §1.4, §3.5, §5, §7 items 15 and 21; CouchDB ``chttpd_db.erl``
(``handle_request``, ``create_db_req``, ``delete_db_req``, ``db_req``), ``fabric_db_info.erl``,
``couch_db.erl`` ``validate_dbname``, ``chttpd.erl`` ``error_info({error, {illegal_database_name,
Name}})``; DOCS ``api/database/common.rst``, ``api/database/misc.rst``; CouchDB test
``test/elixir/test/basics_test.exs``.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp.test_utils import TestClient

SEQ = re.compile(r"^(\d+)-\S+$")
HEX32 = re.compile(r"^[0-9a-f]{32}$")
REV1 = re.compile(r"^1-[0-9a-f]{32}$")


def _illegal(name: str) -> dict[str, str]:
    return {
        "error": "illegal_database_name",
        "reason": f"Name: '{name}'. Only lowercase characters (a-z), digits (0-9), and any of the characters "
        "_, $, (, ), +, -, and / are allowed. Must begin with a letter.",
    }


def _seq_num(seq: str) -> int:
    m = SEQ.match(seq)
    assert m, seq
    return int(m.group(1))


def _url(name: str) -> str:
    return "/" + quote(name, safe="")


# -- PUT /{db} -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["a", "abc", "a1", "a/b$()+-", "a_b", "z-9", "x/y/z", "_replicator", "_global_changes", "a" * 200],
)
async def test_create_db_legal_names(client: TestClient, name: str) -> None:
    """``^[a-z][a-z0-9_$()+/-]*$`` or a system db → 201 ``{"ok":true}`` with a ``Location``."""
    r = await client.put(_url(name))
    assert r.status == 201, await r.text()
    assert await r.json() == {"ok": True}
    assert r.headers["Location"].endswith(_url(name)) or r.headers["Location"].endswith("/" + name)
    r = await client.get(_url(name))
    assert r.status == 200
    assert (await r.json())["db_name"] == name


@pytest.mark.parametrize(
    "name",
    ["_db", "_foo", "Abc", "aBc", "1abc", "-a", "$a", "a b", "a.b", "a@b", "a:b", "é", "a\u00e9", "(a)"],
)
async def test_create_db_illegal_names(client: TestClient, name: str) -> None:
    """Anything else → 400 ``illegal_database_name`` with CouchDB's reason text."""
    r = await client.put(_url(name))
    assert r.status == 400
    assert await r.json() == _illegal(name)


async def test_create_db_exists_412(client: TestClient, db: str) -> None:
    """PUT of an existing db → 412 ``file_exists`` (PouchDB tolerates it; reference §7 item 21)."""
    r = await client.put(f"/{db}")
    assert r.status == 412
    assert await r.json() == {
        "error": "file_exists",
        "reason": "The database could not be created, the file already exists.",
    }
    r = await client.put("/_users")  # exists from the first start
    assert r.status == 412


async def test_create_db_needs_server_admin(anon: TestClient) -> None:
    r = await anon.put("/newdb")
    assert r.status == 401
    assert await r.json() == {"error": "unauthorized", "reason": "You are not a server admin."}


@pytest.mark.parametrize(
    ("query", "props"),
    [("?partitioned=true", {"partitioned": True}), ("?partitioned=false", {}), ("", {}), ("?q=8&n=3", {})],
)
async def test_create_db_props(client: TestClient, query: str, props: dict[str, Any]) -> None:
    """``?partitioned=true`` → ``props: {"partitioned": true}``; ``q``/``n`` accepted (reference §5)."""
    r = await client.put("/pdb" + query)
    assert r.status == 201
    assert (await (await client.get("/pdb")).json())["props"] == props


async def test_system_db_cannot_be_partitioned(client: TestClient) -> None:
    r = await client.put("/_replicator?partitioned=true")
    assert r.status == 400
    assert await r.json() == {"error": "bad_request", "reason": "Cannot partition a system database"}


# -- GET /{db} -----------------------------------------------------------------------------------


async def test_db_info(client: TestClient, db: str) -> None:
    """``GET /{db}``: CouchDB 3 db info (fabric_db_info); ``doc_count`` counts live docs incl.
    design docs, excl. ``_local``; seqs are opaque strings ``"N-…"`` (reference §4.1, §1.4)."""
    r = await client.get(f"/{db}")
    assert r.status == 200
    info = await r.json()
    assert info["db_name"] == db
    assert _seq_num(info["update_seq"]) == 0
    assert info["doc_count"] == 0 and info["doc_del_count"] == 0
    assert isinstance(info["purge_seq"], str) and _seq_num(info["purge_seq"]) == 0
    assert info["compact_running"] is False
    assert info["props"] == {}
    assert isinstance(info["instance_start_time"], str)
    assert isinstance(info["disk_format_version"], int)
    assert set(info["sizes"]) == {"active", "external", "file"}
    assert all(isinstance(v, int) and v >= 0 for v in info["sizes"].values())
    assert info["cluster"] == {"q": 1, "n": 1, "w": 1, "r": 1}

    rev = (await (await client.put(f"/{db}/a", json={"x": 1})).json())["rev"]
    assert (await client.put(f"/{db}/b", json={})).status == 201
    assert (await client.delete(f"/{db}/a?rev={rev}")).status == 200
    assert (await client.put(f"/{db}/_design/d", json={})).status == 201
    assert (await client.put(f"/{db}/_local/l", json={})).status == 201  # no seq, not counted
    info2 = await (await client.get(f"/{db}")).json()
    assert info2["doc_count"] == 2
    assert info2["doc_del_count"] == 1
    assert _seq_num(info2["update_seq"]) == 4
    assert info2["update_seq"].split("-", 1)[1] == info["update_seq"].split("-", 1)[1]
    assert info2["instance_start_time"] == info["instance_start_time"]


async def test_db_info_partitioned(client: TestClient) -> None:
    assert (await client.put("/parts?partitioned=true")).status == 201
    info = await (await client.get("/parts")).json()
    assert info["props"] == {"partitioned": True}


async def test_db_info_missing(client: TestClient) -> None:
    r = await client.get("/nosuchdb")
    assert r.status == 404
    assert await r.json() == {"error": "not_found", "reason": "Database does not exist."}


# -- DELETE /{db} --------------------------------------------------------------------------------


async def test_delete_db(client: TestClient, db: str) -> None:
    """``DELETE /{db}`` → 200 ``{"ok":true}``; afterwards 404, and a second delete is 404."""
    r = await client.delete(f"/{db}")
    assert r.status == 200
    assert await r.json() == {"ok": True}
    assert (await client.get(f"/{db}")).status == 404
    r = await client.delete(f"/{db}")
    assert r.status == 404
    assert await r.json() == {"error": "not_found", "reason": "Database does not exist."}
    assert db not in await (await client.get("/_all_dbs")).json()


@pytest.mark.parametrize("who", ["client", "anon"])
async def test_delete_db_with_rev_400(client: TestClient, anon: TestClient, db: str, who: str) -> None:
    """``DELETE /{db}?rev=`` is a script bug (an empty doc id): 400, checked before anything else
    (chttpd_db ``handle_request``), and the database survives."""
    c = client if who == "client" else anon
    r = await c.delete(f"/{db}?rev=1-967a00dff5e02add41819138abb3284d")
    assert r.status == 400
    assert await r.json() == {
        "error": "bad_request",
        "reason": "You tried to DELETE a database with a ?=rev parameter. Did you mean to DELETE a document instead?",
    }
    assert (await client.get(f"/{db}")).status == 200


async def test_delete_db_needs_server_admin(anon: TestClient, db: str) -> None:
    r = await anon.delete(f"/{db}")
    assert r.status == 401
    assert await r.json() == {"error": "unauthorized", "reason": "You are not a server admin."}


async def test_recreated_db_is_empty(client: TestClient, db: str) -> None:
    assert (await client.put(f"/{db}/a", json={})).status == 201
    assert (await client.put(f"/{db}/_local/l", json={})).status == 201
    old = await (await client.get(f"/{db}")).json()
    assert (await client.delete(f"/{db}")).status == 200
    assert (await client.put(f"/{db}")).status == 201
    new = await (await client.get(f"/{db}")).json()
    assert new["doc_count"] == 0 and _seq_num(new["update_seq"]) == 0
    assert new["update_seq"] != old["update_seq"]
    assert (await client.get(f"/{db}/a")).status == 404
    assert (await client.get(f"/{db}/_local/l")).status == 404
    assert (await client.get(f"/{db}/_security")).status == 200


async def test_old_since_after_recreate_restarts_from_zero(client: TestClient, db: str) -> None:
    """A ``since`` from the previous incarnation of a db must not skip the new db's changes
    (CouchDB seqs embed shard uuids; reference §1.4, §7 item 15)."""
    for i in range(3):
        assert (await client.put(f"/{db}/old{i}", json={})).status == 201
    old_last = (await (await client.get(f"/{db}/_changes")).json())["last_seq"]
    assert _seq_num(old_last) == 3
    assert (await client.delete(f"/{db}")).status == 200
    assert (await client.put(f"/{db}")).status == 201
    assert (await client.put(f"/{db}/new", json={})).status == 201
    body = await (await client.get(f"/{db}/_changes", params={"since": old_last})).json()
    assert [row["id"] for row in body["results"]] == ["new"]
    assert _seq_num(body["last_seq"]) == 1
    # the new incarnation's own seqs keep working
    body = await (await client.get(f"/{db}/_changes", params={"since": body["last_seq"]})).json()
    assert body["results"] == []


# -- POST /{db} ----------------------------------------------------------------------------------


async def test_post_creates_doc_with_server_uuid(client: TestClient, db: str) -> None:
    """``POST /{db}`` without ``_id`` → 201 ``{"ok","id","rev"}`` with a server uuid and a
    ``Location`` (chttpd_db ``db_req`` POST, ``couch_uuids:new()``)."""
    ids = set()
    for _ in range(3):
        r = await client.post(f"/{db}", json={"x": 1})
        assert r.status == 201
        body = await r.json()
        assert body["ok"] is True and HEX32.match(body["id"]) and REV1.match(body["rev"])
        assert r.headers["Location"].endswith(f"/{db}/{body['id']}")
        ids.add(body["id"])
        doc = await (await client.get(f"/{db}/{body['id']}")).json()
        assert doc == {"_id": body["id"], "_rev": body["rev"], "x": 1}
    assert len(ids) == 3


async def test_post_with_id(client: TestClient, db: str) -> None:
    r = await client.post(f"/{db}", json={"_id": "given", "x": 1})
    assert r.status == 201
    assert (await r.json())["id"] == "given"
    r = await client.post(f"/{db}", json={"_id": "given", "x": 2})
    assert r.status == 409
    assert await r.json() == {"error": "conflict", "reason": "Document update conflict."}


async def test_post_batch_ok(client: TestClient, db: str) -> None:
    """``?batch=ok`` → 202 ``{"ok":true,"id"}`` (reference §4.1)."""
    r = await client.post(f"/{db}?batch=ok", json={"_id": "b"})
    assert r.status == 202
    body = await r.json()
    assert body["ok"] is True and body["id"] == "b"


async def test_post_reserved_id(client: TestClient, db: str) -> None:
    r = await client.post(f"/{db}", json={"_id": "_bad"})
    assert r.status == 400
    assert await r.json() == {
        "error": "illegal_docid",
        "reason": "Only reserved document ids may start with underscore.",
    }


async def test_post_missing_db(client: TestClient) -> None:
    r = await client.post("/nosuchdb", json={})
    assert r.status == 404
    assert await r.json() == {"error": "not_found", "reason": "Database does not exist."}


# -- _ensure_full_commit, _revs_limit, _temp_view ------------------------------------------------


async def test_ensure_full_commit(client: TestClient, db: str) -> None:
    """201 ``{"ok":true,"instance_start_time"}`` (chttpd_db; the CouchDB replicator calls it)."""
    r = await client.post(f"/{db}/_ensure_full_commit", json={})
    assert r.status == 201
    body = await r.json()
    assert body["ok"] is True
    info = await (await client.get(f"/{db}")).json()
    assert body["instance_start_time"] == info["instance_start_time"]
    r = await client.post("/nosuchdb/_ensure_full_commit", json={})
    assert r.status == 404


async def test_revs_limit(client: TestClient, db: str) -> None:
    """``GET`` → bare integer (default 1000); ``PUT`` a positive integer → ``{"ok":true}``."""
    r = await client.get(f"/{db}/_revs_limit")
    assert r.status == 200
    assert await r.json() == 1000
    r = await client.put(f"/{db}/_revs_limit", data="5", headers={"Content-Type": "application/json"})
    assert r.status == 200
    assert await r.json() == {"ok": True}
    assert await (await client.get(f"/{db}/_revs_limit")).json() == 5


@pytest.mark.parametrize("raw", ["0", "-1", '"5"', "1.5", "null", "[]", "true", "{}"])
async def test_revs_limit_bad_values(client: TestClient, db: str, raw: str) -> None:
    """Not a positive integer → 400 ``bad_request`` (CouchDB's fabric ``set_revs_limit`` guard
    ``is_integer(Limit), Limit > 0``); the limit is unchanged."""
    r = await client.put(f"/{db}/_revs_limit", data=raw, headers={"Content-Type": "application/json"})
    assert r.status == 400
    body = await r.json()
    assert body["error"] == "bad_request" and body["reason"]
    assert await (await client.get(f"/{db}/_revs_limit")).json() == 1000


async def test_revs_limit_invalid_json(client: TestClient, db: str) -> None:
    r = await client.put(f"/{db}/_revs_limit", data="five", headers={"Content-Type": "application/json"})
    assert r.status == 400
    assert await r.json() == {"error": "bad_request", "reason": "invalid UTF-8 JSON"}


async def test_temp_view_gone(client: TestClient, db: str) -> None:
    """``_temp_view`` → 410 ``gone`` (CouchDB test/elixir/test/view_errors_test.exs)."""
    r = await client.post(f"/{db}/_temp_view", json={"map": "function(doc){emit(doc._id)}"})
    assert r.status == 410
    assert await r.json() == {"error": "gone", "reason": "Temporary views are not supported in CouchDB"}


async def test_view_cleanup(client: TestClient, db: str) -> None:
    r = await client.post(f"/{db}/_view_cleanup", json={})
    assert r.status == 202
    assert await r.json() == {"ok": True}
