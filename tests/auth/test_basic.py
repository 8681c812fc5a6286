"""Basic header parsing. Source: CouchDB ``couch_httpd_auth:basic_name_pw/1``."""

import base64

import pytest

from couchsync.auth.basic import make_basic, parse_basic
from couchsync.errors import BadRequest, Unauthorized


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Basic " + b64(b"alice:secret"), ("alice", "secret")),
        ("basic " + b64(b"alice:secret"), ("alice", "secret")),  # scheme is case-insensitive
        ("BASIC " + b64(b"alice:secret"), ("alice", "secret")),
        ("Basic " + b64(b"alice:se:cr:et"), ("alice", "se:cr:et")),  # split at the first ':'
        ("Basic " + b64(b"alice:"), ("alice", "")),
        ("Basic " + b64(b":pw"), ("", "pw")),
        ("Basic " + b64("jösé:pässwörd".encode()), ("jösé", "pässwörd")),  # UTF-8
        ("Basic " + b64(b"bob:pw").rstrip("="), ("bob", "pw")),  # padding optional
        ("  Basic   " + b64(b"bob:pw") + "  ", ("bob", "pw")),
        ("Basic " + b64(b"noColonHere"), None),  # CouchDB: no credentials
        ("Basic " + b64(b"_:_"), None),  # CouchDB's special logout pair
        ("Basic " + b64(b"_:x"), ("_", "x")),
    ],
)
def test_parse_basic(header, expected):
    assert parse_basic(header) == expected


@pytest.mark.parametrize("header", ["Basic !!!!", "Basic abc$", "Basic YWxpY2U6c2VjcmV0=x", "Basic a"])
def test_bad_base64(header):
    with pytest.raises(BadRequest) as err:
        parse_basic(header)
    assert err.value.reason == "Authorization header has invalid base64 value"
    assert err.value.status == 400


@pytest.mark.parametrize("header", ["Bearer abc.def.ghi", "Digest x", "Basic", "Basic ", ""])
def test_not_basic(header):
    with pytest.raises(BadRequest) as err:
        parse_basic(header)
    assert err.value.reason == "Authorization header is invalid"


def test_non_utf8_is_a_failed_login():
    with pytest.raises(Unauthorized) as err:
        parse_basic("Basic " + b64(b"\xff\xfe:pw"))
    assert err.value.reason == "Name or password is incorrect."


def test_make_basic_round_trip():
    assert parse_basic(make_basic("ü:x", "p:w")) == ("ü", "x:p:w")  # a ':' in a name cannot survive
    assert parse_basic(make_basic("bob", "p:w")) == ("bob", "p:w")
