"""Password schemes. Sources: CouchDB ``couch_passwords.erl``, ``couch_httpd_auth:authenticate/2``,
DOCS ``intro/security.rst`` (the ``jan``/``apple`` pbkdf2 example)."""

import hashlib
import re

import pytest

from couchsync.auth.passwords import hash_password, needs_rehash, verify_password
from couchsync.errors import BadRequest

ROUNDS = 4  # bcrypt's minimum cost keeps the suite fast


def test_bcrypt_round_trip():
    stored = hash_password("s3cret", rounds=ROUNDS)
    assert stored["password_scheme"] == "bcrypt"
    assert stored["derived_key"].startswith("$2b$04$")
    assert re.fullmatch(r"[0-9a-f]{32}", stored["salt"])
    assert verify_password("s3cret", stored)
    assert not verify_password("s3cret ", stored)
    assert not verify_password("", stored)


def test_bcrypt_salts_differ():
    a, b = hash_password("x", rounds=ROUNDS), hash_password("x", rounds=ROUNDS)
    assert a["salt"] != b["salt"]
    assert a["derived_key"] != b["derived_key"]


def test_bcrypt_unicode_and_colon():
    stored = hash_password("pä:ss wörd", rounds=ROUNDS)
    assert verify_password("pä:ss wörd", stored)
    assert not verify_password("pa:ss word", stored)


@pytest.mark.parametrize("password", ["x" * 73, "é" * 37, "a\x00b"])
def test_bcrypt_refuses_what_it_would_truncate(password):
    with pytest.raises(BadRequest):
        hash_password(password, rounds=ROUNDS)


def test_bcrypt_72_bytes_is_fine():
    stored = hash_password("x" * 72, rounds=ROUNDS)
    assert verify_password("x" * 72, stored)
    assert not verify_password("x" * 73, stored)  # never matches, rather than truncating


def _pbkdf2_doc(password, salt, iterations, prf=None):
    name = {"sha": "sha1", None: "sha1"}.get(prf, prf)
    doc = {
        "password_scheme": "pbkdf2",
        "salt": salt,
        "iterations": iterations,
        "derived_key": hashlib.pbkdf2_hmac(name, password.encode(), salt.encode(), iterations).hex(),
    }
    if prf is not None:
        doc["pbkdf2_prf"] = prf
    return doc


@pytest.mark.parametrize(
    ("prf", "iterations"),
    [(None, 10), ("sha", 10), ("sha1", 3), ("sha224", 5), ("sha256", 600), ("sha384", 2), ("sha512", 7)],
)
def test_pbkdf2_prfs(prf, iterations):
    doc = _pbkdf2_doc("hunter2", "a1b2c3d4e5f60718293a4b5c6d7e8f90", iterations, prf)
    assert verify_password("hunter2", doc)
    assert not verify_password("hunter3", doc)


def test_pbkdf2_couchdb_docs_example():
    # DOCS intro/security.rst: user "jan", password "apple".
    doc = {
        "derived_key": "e579375db0e0c6a6fc79cd9e36a36859f71575c3",
        "iterations": 10,
        "name": "jan",
        "password_scheme": "pbkdf2",
        "roles": [],
        "salt": "1112283cf988a34f124200a050d308a1",
        "type": "user",
    }
    assert verify_password("apple", doc)
    assert not verify_password("Apple", doc)
    assert not verify_password("apple", {**doc, "pbkdf2_prf": "sha256"})


def test_pbkdf2_default_iterations_is_10000():
    doc = _pbkdf2_doc("pw", "salt", 10000)
    del doc["iterations"]
    assert verify_password("pw", doc)


def test_pbkdf2_uppercase_hex_accepted():
    doc = _pbkdf2_doc("pw", "salt", 2, "sha256")
    doc["derived_key"] = doc["derived_key"].upper()
    assert verify_password("pw", doc)


def _simple_doc(password, salt):
    return {"salt": salt, "password_sha": hashlib.sha1((password + salt).encode()).hexdigest()}


def test_simple_scheme_explicit_and_default():
    doc = _simple_doc("pw", "abc123")
    assert verify_password("pw", doc)  # no password_scheme -> "simple", as in CouchDB
    assert verify_password("pw", {**doc, "password_scheme": "simple"})
    assert not verify_password("pw2", doc)


@pytest.mark.parametrize(
    "stored",
    [
        {},
        {"password_scheme": "rot13", "derived_key": "x"},
        {"password_scheme": "bcrypt"},
        {"password_scheme": "bcrypt", "derived_key": "not-a-bcrypt-hash"},
        {"password_scheme": "bcrypt", "derived_key": 12},
        {"password_scheme": "pbkdf2", "salt": "s", "iterations": 1},
        {"password_scheme": "pbkdf2", "salt": "s", "iterations": 0, "derived_key": "00"},
        {"password_scheme": "pbkdf2", "salt": "s", "iterations": "10", "derived_key": "00"},
        {"password_scheme": "pbkdf2", "salt": "s", "iterations": True, "derived_key": "00"},
        {"password_scheme": "pbkdf2", "salt": "s", "iterations": 1, "derived_key": "00", "pbkdf2_prf": "md5"},
        {"password_scheme": "pbkdf2", "salt": None, "iterations": 1, "derived_key": "00"},
        {"password_scheme": "simple", "salt": "s"},
        {"password_scheme": "simple", "salt": 3, "password_sha": "00"},
    ],
)
def test_malformed_stored_credentials_never_match(stored):
    assert verify_password("pw", stored) is False


@pytest.mark.parametrize(
    ("stored", "rounds", "expected"),
    [
        ({"password_scheme": "bcrypt", "derived_key": "$2b$12$" + "a" * 53}, 12, False),
        ({"password_scheme": "bcrypt", "derived_key": "$2b$10$" + "a" * 53}, 12, True),
        ({"password_scheme": "bcrypt", "derived_key": "$2b$04$" + "a" * 53}, 4, False),
        ({"password_scheme": "bcrypt", "derived_key": "garbage"}, 4, True),
        ({"password_scheme": "pbkdf2", "derived_key": "00"}, 4, True),
        ({"password_sha": "00"}, 4, True),
    ],
)
def test_needs_rehash(stored, rounds, expected):
    assert needs_rehash(stored, rounds=rounds) is expected
