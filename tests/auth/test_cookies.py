"""AuthSession cookie. Source: CouchDB ``couch_httpd_auth.erl`` (``cookie_auth_cookie/3``,
``cookie_authentication_handler/2``, ``cookie_auth_header/2``, ``make_cookie_time/0``) and
``test/eunit/chttpd_auth_hash_algorithms_tests.erl`` (``make_auth_session_string/4``)."""

import base64
import hashlib
import hmac

import pytest

from couchsync.auth.cookies import (
    MALFORMED_REASON,
    Verdict,
    clear_cookie_header,
    make_cookie,
    parse_cookie,
    set_cookie_header,
    verify_cookie,
)
from couchsync.errors import BadRequest

SECRET = b"4f7f1b3a9e2c4d5f8a6b7c8d9e0f1a2b"
SALT = "1112283cf988a34f124200a050d308a1"
T0 = 1_700_000_000  # 0x6553F100


def couchdb_cookie(user: str, ts: int, alg=hashlib.sha256, secret=SECRET, salt=SALT, hex_time=None) -> str:
    """Independent re-statement of ``make_auth_session_string/4`` from CouchDB's eunit test."""
    session = f"{user}:{hex_time or format(ts, 'X')}".encode()
    mac = hmac.new(secret + salt.encode(), session, alg).digest()
    return base64.urlsafe_b64encode(session + b":" + mac).decode().rstrip("=")


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_make_cookie_matches_couchdb_format():
    value = make_cookie("jan", SECRET, SALT, T0)
    assert value == couchdb_cookie("jan", T0)
    assert "=" not in value and "+" not in value and "/" not in value
    raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    assert raw.startswith(b"jan:6553F100:")  # upper-case hex time
    assert len(raw) == len(b"jan:6553F100:") + 32  # raw SHA-256 digest, not hex


def test_round_trip():
    value = make_cookie("jan", SECRET, SALT, T0)
    parts = parse_cookie(value)
    assert parts.name == "jan"
    assert parts.timestamp == T0
    assert parts.mac == hmac.new(SECRET + SALT.encode(), b"jan:6553F100", hashlib.sha256).digest()
    name, ts, mac = parts  # unpacks as a plain 3-tuple
    assert (name, ts, mac) == tuple(parts)
    assert verify_cookie(value, SECRET, SALT, T0, 600) is Verdict.VALID


def test_unicode_name_round_trip():
    value = make_cookie("jösé", SECRET, SALT, T0)
    assert parse_cookie(value).name == "jösé"
    assert verify_cookie(value, SECRET, SALT, T0 + 1) is Verdict.VALID


def test_mac_containing_colon_still_splits():
    # The decoded value is split at the first two ':' only; find a time whose MAC has one.
    ts = next(
        t for t in range(T0, T0 + 10_000) if b":" in parse_cookie(make_cookie("u", SECRET, SALT, t)).mac
    )
    value = make_cookie("u", SECRET, SALT, ts)
    assert verify_cookie(value, SECRET, SALT, ts) is Verdict.VALID


@pytest.mark.parametrize(
    ("age", "timeout", "verdict"),
    [
        (0, 600, Verdict.VALID),
        (60, 600, Verdict.VALID),  # time_left 540 == 0.9 * 600: not yet
        (61, 600, Verdict.NEEDS_REFRESH),  # time_left 539 < 540
        (599, 600, Verdict.NEEDS_REFRESH),
        (600, 600, Verdict.EXPIRED),  # CurrentTime < TimeStamp + Timeout is required
        (601, 600, Verdict.EXPIRED),
        (10**6, 600, Verdict.EXPIRED),
        (9, 100, Verdict.VALID),
        (11, 100, Verdict.NEEDS_REFRESH),
        (-30, 600, Verdict.VALID),  # minted in the future (clock skew): accepted, as in CouchDB
    ],
)
def test_expiry_and_refresh_window(age, timeout, verdict):
    value = make_cookie("jan", SECRET, SALT, T0)
    result = verify_cookie(value, SECRET, SALT, T0 + age, timeout)
    assert result is verdict
    assert result.authenticated is (verdict in (Verdict.VALID, Verdict.NEEDS_REFRESH))


def test_tamper_detection():
    good = make_cookie("jan", SECRET, SALT, T0)
    name, _, mac = parse_cookie(good)
    forged = {
        "other name": b64url(b"admin:6553F100:" + mac),
        "later time": b64url(b"jan:6553F1FF:" + mac),
        "flipped mac bit": b64url(b"jan:6553F100:" + bytes([mac[0] ^ 1]) + mac[1:]),
        "short mac": b64url(b"jan:6553F100:" + mac[:-1]),
        "empty mac": b64url(b"jan:6553F100:"),
    }
    for label, value in forged.items():
        assert verify_cookie(value, SECRET, SALT, T0) is Verdict.INVALID, label


def test_wrong_secret_or_salt_is_invalid():
    value = make_cookie("jan", SECRET, SALT, T0)
    assert verify_cookie(value, SECRET + b"x", SALT, T0) is Verdict.INVALID
    # A new password brings a new salt, which invalidates the user's cookies.
    assert verify_cookie(value, SECRET, "0" * 32, T0) is Verdict.INVALID


def test_hash_algorithms():
    # CouchDB 3.3+ default ``hash_algorithms = sha256, sha``: the first signs, all verify.
    legacy = couchdb_cookie("jan", T0, hashlib.sha1)
    assert verify_cookie(legacy, SECRET, SALT, T0) is Verdict.VALID
    assert verify_cookie(legacy, SECRET, SALT, T0, hash_names=("sha256",)) is Verdict.INVALID
    sha512 = make_cookie("jan", SECRET, SALT, T0, hash_name="sha512")
    assert sha512 == couchdb_cookie("jan", T0, hashlib.sha512)
    assert verify_cookie(sha512, SECRET, SALT, T0) is Verdict.INVALID
    assert verify_cookie(sha512, SECRET, SALT, T0, hash_names=("sha256", "sha512")) is Verdict.VALID


def test_lowercase_hex_time_from_another_minter():
    value = couchdb_cookie("jan", T0, hex_time=format(T0, "x"))
    assert parse_cookie(value).timestamp == T0
    assert verify_cookie(value, SECRET, SALT, T0) is Verdict.VALID


def test_non_hex_time_is_ignored_not_an_error():
    value = couchdb_cookie("jan", T0, hex_time="zzz")
    assert parse_cookie(value) == ("jan", None, parse_cookie(value).mac)
    assert verify_cookie(value, SECRET, SALT, T0) is Verdict.INVALID


@pytest.mark.parametrize(
    "value",
    [
        "",  # decodes to no fields (the caller should treat an empty cookie as absent)
        "!!!notbase64!!!",
        "abc+def/ghi",  # standard, not url-safe, alphabet
        "a",  # impossible base64 length
        b64url(b"justaname"),
        b64url(b"name:6553F100"),  # only two fields
    ],
)
def test_malformed(value):
    for call in (lambda: parse_cookie(value), lambda: verify_cookie(value, SECRET, SALT, T0)):
        with pytest.raises(BadRequest) as err:
            call()
        assert err.value.status == 400
        assert (
            err.value.reason == MALFORMED_REASON == "Malformed AuthSession cookie. Please clear your cookies."
        )


def test_non_utf8_name():
    # couchsync addition: parse_cookie refuses a name that is not UTF-8 (no user could match it);
    # verify_cookie never decodes the name, and the MAC cannot match.
    value = b64url(b"\xff\xfe:6553F100:mac")
    with pytest.raises(BadRequest):
        parse_cookie(value)
    assert verify_cookie(value, SECRET, SALT, T0) is Verdict.INVALID


def test_name_with_colon_refused():
    with pytest.raises(ValueError):
        make_cookie("a:b", SECRET, SALT, T0)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        (
            {"max_age": 600, "secure": False, "same_site": None},
            "AuthSession=V; Version=1; Path=/; Max-Age=600; HttpOnly",
        ),
        (
            {"max_age": 600, "secure": True, "same_site": "lax"},
            "AuthSession=V; Version=1; Path=/; Max-Age=600; HttpOnly; Secure; SameSite=Lax",
        ),
        (
            {"max_age": None, "secure": False, "same_site": "STRICT"},
            "AuthSession=V; Version=1; Path=/; HttpOnly; SameSite=Strict",
        ),
        (
            {"max_age": 60, "secure": True, "same_site": "None", "domain": "example.org"},
            "AuthSession=V; Version=1; Path=/; Max-Age=60; Domain=example.org; HttpOnly; Secure; SameSite=None",
        ),
        (
            {"max_age": -5, "secure": False, "same_site": "", "http_only": False},
            "AuthSession=V; Version=1; Path=/; Max-Age=0",
        ),
    ],
)
def test_set_cookie_header(kwargs, expected):
    assert set_cookie_header("V", **kwargs) == expected


def test_set_cookie_header_rejects_bad_same_site():
    with pytest.raises(ValueError):
        set_cookie_header("V", max_age=600, secure=False, same_site="sometimes")


def test_clear_cookie_header():
    assert clear_cookie_header(secure=False, same_site=None) == (
        "AuthSession=; Version=1; Path=/; Max-Age=0; HttpOnly"
    )
    assert clear_cookie_header(secure=True, same_site="lax") == (
        "AuthSession=; Version=1; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax"
    )
