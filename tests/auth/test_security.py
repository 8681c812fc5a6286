"""_security objects. Source: CouchDB ``couch_db.erl`` (``is_admin/1``, ``is_member/1``,
``is_public_db/1``, ``is_authorized/2``, ``check_is_admin/1``, ``check_is_member/1``,
``validate_security_object/1``), ``couch_db_updater.erl`` (``default_security_object``),
protocol reference §3.4."""

import pytest

from couchsync.auth.security import (
    DEFAULT_SECURITY,
    check_db_admin,
    check_reader,
    check_server_admin,
    default_security,
    is_admin,
    is_member,
    is_public,
    validate_security,
)
from couchsync.auth.userctx import ANONYMOUS, UserCtx
from couchsync.errors import BadRequest, Forbidden, Unauthorized

SERVER_ADMIN = UserCtx("root", ("_admin",), "default")
ALICE = UserCtx("alice", ("dev",), "cookie")
BOB = UserCtx("bob", (), "cookie")
CAROL = UserCtx("carol", ("ops", "dev"), "jwt")

SECS = {
    "default": DEFAULT_SECURITY,
    "empty": {},
    "public_explicit": {"admins": {"names": [], "roles": []}, "members": {"names": [], "roles": []}},
    "members_alice": {"members": {"names": ["alice"]}},
    "members_dev": {"members": {"roles": ["dev"]}},
    "admins_bob": {"admins": {"names": ["bob"]}, "members": {"names": ["nobody"]}},
    "admins_ops": {"admins": {"roles": ["ops"]}, "members": {"roles": ["_admin"]}},
    "readers_legacy": {"readers": {"names": ["bob"]}},
    "members_beat_readers": {"members": {"names": ["alice"]}, "readers": {"names": ["bob"]}},
}

# (sec, user, member?, admin?)
MATRIX = [
    ("default", ANONYMOUS, False, False),
    ("default", SERVER_ADMIN, True, True),
    ("default", ALICE, False, False),
    ("default", BOB, False, False),
    ("empty", ANONYMOUS, True, False),  # public db: everyone reads
    ("empty", BOB, True, False),
    ("empty", SERVER_ADMIN, True, True),  # _admin is always a db admin
    ("public_explicit", ANONYMOUS, True, False),
    ("members_alice", ALICE, True, False),
    ("members_alice", BOB, False, False),
    ("members_alice", ANONYMOUS, False, False),
    ("members_alice", SERVER_ADMIN, True, True),
    ("members_dev", ALICE, True, False),
    ("members_dev", CAROL, True, False),
    ("members_dev", BOB, False, False),
    ("admins_bob", BOB, True, True),  # a db admin is a member
    ("admins_bob", ALICE, False, False),
    ("admins_ops", CAROL, True, True),
    ("admins_ops", ALICE, False, False),
    ("admins_ops", SERVER_ADMIN, True, True),
    ("readers_legacy", BOB, True, False),
    ("readers_legacy", ALICE, False, False),
    ("members_beat_readers", ALICE, True, False),
    ("members_beat_readers", BOB, False, False),
]


@pytest.mark.parametrize(("sec", "user", "member", "admin"), MATRIX)
def test_member_admin_matrix(sec, user, member, admin):
    obj = SECS[sec]
    assert is_member(user, obj) is member
    assert is_admin(user, obj) is admin
    if member:
        check_reader(user, obj)
    if admin:
        check_db_admin(user, obj)


def test_anonymous_name_never_matches_names():
    # check_security(names, null, _) -> false, even with a null in the list
    assert not is_member(ANONYMOUS, {"members": {"names": [None, "x"]}})


@pytest.mark.parametrize(
    ("user", "error", "status", "code"),
    [(ANONYMOUS, Unauthorized, 401, "unauthorized"), (BOB, Forbidden, 403, "forbidden")],
)
def test_check_reader_errors(user, error, status, code):
    with pytest.raises(error) as err:
        check_reader(user, DEFAULT_SECURITY)
    assert (err.value.status, err.value.error) == (status, code)
    expected = {
        401: "You are not authorized to access this db.",
        403: "You are not allowed to access this db.",
    }[status]
    assert err.value.reason == expected


@pytest.mark.parametrize(
    ("user", "error", "status"),
    [(ANONYMOUS, Unauthorized, 401), (ALICE, Forbidden, 403)],
)
def test_check_db_admin_errors(user, error, status):
    # A public db: readable, but only admins may change design docs or _security.
    with pytest.raises(error) as err:
        check_db_admin(user, {})
    assert err.value.status == status
    assert err.value.reason == "You are not a db or server admin."


@pytest.mark.parametrize("user", [ANONYMOUS, ALICE, UserCtx("bob", ("admin",), "cookie")])
def test_check_server_admin(user):
    with pytest.raises(Unauthorized) as err:
        check_server_admin(user)
    assert err.value.reason == "You are not a server admin."
    check_server_admin(SERVER_ADMIN)


def test_default_security_is_admin_only_and_copyable():
    assert DEFAULT_SECURITY == {"members": {"roles": ["_admin"]}, "admins": {"roles": ["_admin"]}}
    assert not is_public(DEFAULT_SECURITY)
    fresh = default_security()
    fresh["members"]["roles"].append("dev")
    assert DEFAULT_SECURITY["members"]["roles"] == ["_admin"]


@pytest.mark.parametrize(
    ("sec", "public"),
    [
        ({}, True),
        ({"members": {}}, True),
        ({"members": {"names": [], "roles": []}}, True),
        ({"members": {"roles": ["x"]}}, False),
        ({"readers": {"names": ["x"]}}, False),
        ({"members": "garbage"}, False),  # malformed stored data keeps the db closed
        ({"members": {"names": "x"}}, False),
    ],
)
def test_is_public(sec, public):
    assert is_public(sec) is public


@pytest.mark.parametrize(
    "obj",
    [
        {},
        DEFAULT_SECURITY,
        {"admins": {"names": ["a"], "roles": ["r"]}, "members": {"names": [], "roles": ["x"]}},
        {"readers": {"names": ["legacy"]}},
        {"members": {}, "readers": "ignored when members is present"},
        {"admins": {}, "members": {}, "couchdb_extra": {"anything": 1}},
    ],
)
def test_validate_security_accepts(obj):
    assert validate_security(obj) == obj


@pytest.mark.parametrize(
    ("obj", "reason"),
    [
        ({"admins": {"names": "bob"}}, "names must be a JSON list of strings"),
        ({"admins": {"names": ["bob", 1]}}, "names must be a JSON list of strings"),
        ({"members": {"names": None}}, "names must be a JSON list of strings"),
        ({"members": {"roles": "dev"}}, "roles must be a JSON list of strings"),
        ({"members": {"roles": [["dev"]]}}, "roles must be a JSON list of strings"),
        ({"readers": {"roles": [1]}}, "roles must be a JSON list of strings"),
        ({"admins": ["bob"]}, "admins or members must be a JSON list of strings"),
        ({"members": None}, "admins or members must be a JSON list of strings"),
        ([], "Security object must be a JSON object"),
        ("x", "Security object must be a JSON object"),
    ],
)
def test_validate_security_rejects(obj, reason):
    with pytest.raises(BadRequest) as err:
        validate_security(obj)
    assert (err.value.status, err.value.error, err.value.reason) == (400, "bad_request", reason)
