"""UserCtx shape (CouchDB ``couch_util:json_user_ctx/1``)."""

import dataclasses

import pytest

from couchsync.auth.userctx import ANONYMOUS, UserCtx


def test_anonymous():
    assert ANONYMOUS.name is None
    assert ANONYMOUS.roles == ()
    assert ANONYMOUS.authenticated is None
    assert ANONYMOUS.is_anonymous
    assert not ANONYMOUS.is_server_admin
    assert ANONYMOUS.to_json() == {"name": None, "roles": []}


@pytest.mark.parametrize(
    ("roles", "admin"),
    [((), False), (("dev",), False), (("_admin",), True), (("dev", "_admin"), True)],
)
def test_is_server_admin(roles, admin):
    assert UserCtx("u", roles, "default").is_server_admin is admin


def test_to_json_with_db_puts_db_first():
    ctx = UserCtx("alice", ("dev", "ops"), "cookie")
    assert ctx.to_json() == {"name": "alice", "roles": ["dev", "ops"]}
    out = ctx.to_json("mydb")
    assert out == {"db": "mydb", "name": "alice", "roles": ["dev", "ops"]}
    assert list(out) == ["db", "name", "roles"]


def test_frozen():
    ctx = UserCtx("alice", (), "cookie")
    with pytest.raises(dataclasses.FrozenInstanceError):
        ctx.name = "bob"  # type: ignore[misc]
