"""JWT bearer auth. Sources: CouchDB ``src/jwtf/src/jwtf.erl`` (+ ``test/jwtf_tests.erl`` vectors),
``src/jwtf/src/jwtf_keystore.erl``, ``couch_httpd_auth:jwt_authentication_handler/1`` and
``get_roles_claim/1``, ``test/elixir/test/jwtauth_test.exs``, ``test/elixir/test/jwt_roles_claim_test.exs``."""

import base64
import hashlib
import hmac
import json

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from couchsync.auth.jwt_auth import JwtKeys, decode_jwt, parse_required_claims, split_claim_path
from couchsync.auth.userctx import UserCtx
from couchsync.errors import BadRequest, CouchError, NotFound, Unauthorized

# pyjwt warns when *encoding* with the short keys CouchDB's own tests use; decoding here never does.
pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

NOW = 1_700_000_000
SECRET = b"zxczxc12zxczxc12"  # jwtauth_test.exs
CURVES = {"ES256": ec.SECP256R1(), "ES384": ec.SECP384R1(), "ES512": ec.SECP521R1()}


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_keys():
    return {alg: ec.generate_private_key(curve) for alg, curve in CURVES.items()}


def claims(**extra):
    base = {"sub": "couch@apache.org", "exp": NOW + 60, "nbf": NOW - 60, "_couchdb.roles": ["testing"]}
    base.update(extra)
    return {k: v for k, v in base.items() if v is not None}


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def forge(header, payload, secret: bytes | None = None, hash_fn=hashlib.sha256, signature: bytes = b"bad"):
    """Builds a token by hand (pyjwt refuses to encode some of these shapes)."""
    h = b64url(json.dumps(header).encode()) if not isinstance(header, str) else header
    p = b64url(json.dumps(payload).encode()) if not isinstance(payload, str) else payload
    if secret is not None:
        signature = hmac.new(secret, f"{h}.{p}".encode(), hash_fn).digest()
    return f"{h}.{p}.{b64url(signature)}"


def hmac_keys():
    return JwtKeys({"hmac:_default": SECRET})


# --- valid tokens, every algorithm (jwtauth_test.exs: HMAC, RSA and EC secrets) -----------------


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
def test_hmac_algorithms(alg):
    token = jwt.encode(claims(), SECRET, algorithm=alg)
    assert decode_jwt(token, hmac_keys(), now=NOW) == UserCtx("couch@apache.org", ("testing",), "jwt")


@pytest.mark.parametrize("alg", ["RS256", "RS384", "RS512"])
def test_rsa_algorithms(alg, rsa_key):
    keys = JwtKeys({"rsa:_default": rsa_key.public_key()})
    token = jwt.encode(claims(), rsa_key, algorithm=alg)
    assert decode_jwt(token, keys, now=NOW).name == "couch@apache.org"


@pytest.mark.parametrize("alg", ["ES256", "ES384", "ES512"])
def test_ec_algorithms(alg, ec_keys):
    keys = JwtKeys({"ec:_default": ec_keys[alg].public_key()})
    token = jwt.encode(claims(), ec_keys[alg], algorithm=alg)
    assert decode_jwt(token, keys, now=NOW).roles == ("testing",)


# --- CouchDB's own vectors (jwtf_tests.erl) ------------------------------------------------------

JWT_IO_PUBKEY = (
    "-----BEGIN PUBLIC KEY-----\\n"
    "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDdlatRjRjogo3WojgGH"
    "FHYLugdUWAY9iR3fy4arWNA1KoS8kVw33cJibXr8bvwUAUparCwlvdbH6"
    "dvEOfou0/gCFQsHUfQrSDv+MuSUMAe8jzKE4qW+jK+xQU9a03GUnKHkkl"
    "e+Q0pX/g6jXZ7r1/xAK5Do2kQ+X5xK9cipRgEKwIDAQAB\\n"
    "-----END PUBLIC KEY-----\\n"
)


def test_jwtf_rs256_vector():
    token = (
        "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiYWRtaW4iOnRydWV9."
        "EkN-DOsnsuRjRO6BxXemmJDm3HbxrbRzXglbN2S4sOkopdU4IsDxTI8jO19W_A4K8ZPJijNLis4EZsHeY559a4DFOd50_OqgHGuERTqYZyu"
        "htF39yxJPAjUESwxk2J5k_4zM3O-vtd1Ghyo4IbqKKSy6J9mTniYJPenn5-HIirE"
    )
    keys = JwtKeys.from_config({"rsa:_default": JWT_IO_PUBKEY})
    assert decode_jwt(token, keys, required_claims=(), now=NOW) == UserCtx("1234567890", (), "jwt")
    with pytest.raises(BadRequest, match="^400 bad_request: Missing exp claim$"):
        decode_jwt(token, keys, now=NOW)


@pytest.mark.parametrize(
    ("token", "kid_key"),
    [
        (  # jwt.io HS256 with kid "123456", iss https://foo.com, iat 0, exp 10000000000000
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6IjEyMzQ1NiJ9.eyJpc3MiOiJodHRwczovL2Zvby5jb20iLCJpYXQiOjAsI"
            "mV4cCI6MTAwMDAwMDAwMDAwMDAsImtpZCI6ImJhciJ9.iS8AH11QHHlczkBnHl9X119BYLOZyZPllOVhSBZ4RZs",
            "hmac:123456",
        ),
        (  # pyjwt HS384 {"foo": "bar"}
            "eyJhbGciOiJIUzM4NCIsInR5cCI6IkpXVCJ9.eyJmb28iOiJiYXIifQ."
            "2quwghs6I56GM3j7ZQbn-ASZ53xdBqzPzTDHm_CtVec32LUy-EzyL3JjIe7WjL93",
            "hmac:_default",
        ),
        (  # pyjwt HS512 {"foo": "bar"}
            "eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9.eyJmb28iOiJiYXIifQ."
            "WePl7achkd0oGNB8XRF_LJwxlyiPZqpdNgdKpDboAjSTsWq-aOGNynTp8TOv8KjonFym8vwFwppXOLoLXbkIaQ",
            "hmac:_default",
        ),
    ],
)
def test_jwtf_hmac_vectors_verify_then_lack_sub(token, kid_key):
    keys = JwtKeys({kid_key: b"secret"})
    checks = ("iat", "exp", ("iss", "https://foo.com")) if kid_key == "hmac:123456" else ()
    # The signature checks out; the token simply names no user.
    with pytest.raises(Unauthorized) as err:
        decode_jwt(token, keys, required_claims=checks, now=NOW)
    assert err.value.reason == "Token missing sub claim."
    with pytest.raises(BadRequest, match="Bad HMAC"):
        decode_jwt(token, JwtKeys({kid_key: b"wrong"}), required_claims=(), now=NOW)


# --- roles (jwt_roles_claim_test.exs; its tokens carry iat 1655295810) ---------------------------

ROLES_KEYS = {
    "hmac:myjwttestkey": "NTNv7j0TuYARvmNMmWXo6fKvM4o6nv/aUi9ryX38ZH+L1bkrnD1ObOQ8JAUmHCBq7Iy7otZcyAagBLHVKvvYaIpmMu"
    "xmARQ97jUVG16Jkpkp1wXOPsrF9zwew6TpczyHkHgX5EuLg2MeBuiT/qJACs1J0apruOOJCg/gOtkjB4c=",
    "hmac:myjwttestkey2": "VW5kb3VidGVkbHktRW5nYWdpbmctUm9hZHdheS0wMjk=",
}
ROLES_NOW = 1655295810 + 60
ROLES_ARRAY_TOKEN = (
    "eyJ0eXAiOiJKV1QiLCJraWQiOiJteWp3dHRlc3RrZXkiLCJhbGciOiJIUzI1NiJ9."
    "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiYWRtaW4iOnRydWUsImlhdCI6MTY1NTI5NTgxMCwiZXhwIjoxNzU1Mjk5ND"
    "EwLCJteSI6eyJuZXN0ZWQiOnsiX2NvdWNoZGIucm9sZXMiOlsibXlfbmVzdGVkX2NvdWNoZGIucm9sZXNfMSIsIm15X25lc3RlZF9jb3VjaGRi"
    "LnJvbGVzXzEiXX19LCJfY291Y2hkYi5yb2xlcyI6WyJfY291Y2hkYi5yb2xlc18xIiwiX2NvdWNoZGIucm9sZXNfMiJdLCJteS5fY291Y2hkYi"
    "5yb2xlcyI6WyJteS5fY291Y2hkYi5yb2xlc18xIiwibXkuX2NvdWNoZGIucm9sZXNfMiJdLCJmb28iOnsiYmFyLnpvbmsiOnsiYmF6LmJ1dSI6"
    "eyJiYWEiOnsiYmFhLmJlZSI6eyJyb2xlcyI6WyJteV9uZXN0ZWRfcm9sZV8xIiwibXlfbmVzdGVkX3JvbGVfMiJdfX19fX19."
    "F6kQK-FK0z1kP01bTyw-moXfy2klWfubgF7x7Xitd-0"
)
ROLES_STRING_TOKEN = (
    "eyJ0eXAiOiJKV1QiLCJraWQiOiJteWp3dHRlc3RrZXkyIiwiYWxnIjoiSFMyNTYifQ."
    "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiYWRtaW4iOnRydWUsImlhdCI6MTY1NTI5NTgxMCwiZXhwIjoxNzU1Mjk5ND"
    "EwLCJteSI6eyJuZXN0ZWQiOnsiX2NvdWNoZGIucm9sZXMiOiJteV9uZXN0ZWRfY291Y2hkYl9zdHJpbmcucm9sZXNfMSwgbXlfbmVzdGVkX2Nv"
    "dWNoZGJfc3RyaW5nLnJvbGVzXzEifX0sIl9jb3VjaGRiLnJvbGVzIjoiX2NvdWNoZGJfc3RyaW5nLnJvbGVzXzEsX2NvdWNoZGJfc3RyaW5nLn"
    "JvbGVzXzIiLCJteS5fY291Y2hkYi5yb2xlcyI6Im15Ll9jb3VjaGRiX3N0cmluZy5yb2xlc18xLCBteS5fY291Y2hkYl9zdHJpbmcucm9sZXNf"
    "MiIsImZvbyI6eyJiYXIuem9uayI6eyJiYXouYnV1Ijp7ImJhYSI6eyJiYWEuYmVlIjp7InJvbGVzIjoibXlfbmVzdGVkX3N0cmluZ19yb2xlXz"
    "EsIG15X25lc3RlZF9zdHJpbmdfcm9sZV8yIn19fX19fQ.rzaLmcA20R291XuGYNNTM9ypGL3UD_GlVp3DmBtWrZI"
)
NESTED_PATH = "foo.bar\\.zonk.baz\\.buu.baa.baa\\.bee.roles"


@pytest.mark.parametrize(
    ("name", "path", "array_roles", "string_roles"),
    [
        (
            None,
            None,
            ["_couchdb.roles_1", "_couchdb.roles_2"],
            ["_couchdb_string.roles_1", "_couchdb_string.roles_2"],
        ),
        (
            "my._couchdb.roles",
            None,
            ["my._couchdb.roles_1", "my._couchdb.roles_2"],
            ["my._couchdb_string.roles_1", "my._couchdb_string.roles_2"],
        ),
        (
            None,
            NESTED_PATH,
            ["my_nested_role_1", "my_nested_role_2"],
            ["my_nested_string_role_1", "my_nested_string_role_2"],
        ),
        (  # roles_claim_path wins over roles_claim_name
            "my._couchdb.roles",
            NESTED_PATH,
            ["my_nested_role_1", "my_nested_role_2"],
            ["my_nested_string_role_1", "my_nested_string_role_2"],
        ),
    ],
)
def test_couchdb_roles_claim_cases(name, path, array_roles, string_roles):
    keys = JwtKeys.from_config(ROLES_KEYS)
    kwargs = {"roles_claim_path": path, "now": ROLES_NOW}
    if name is not None:
        kwargs["roles_claim_name"] = name
    for token, roles in ((ROLES_ARRAY_TOKEN, array_roles), (ROLES_STRING_TOKEN, string_roles)):
        ctx = decode_jwt(token, keys, **kwargs)
        assert ctx == UserCtx("1234567890", tuple(roles), "jwt")


@pytest.mark.parametrize("path", ["<<" + NESTED_PATH, NESTED_PATH + ">>", "123456"])
def test_couchdb_roles_claim_path_bad_input_is_404(path):
    keys = JwtKeys.from_config(ROLES_KEYS)
    with pytest.raises(NotFound) as err:
        decode_jwt(ROLES_ARRAY_TOKEN, keys, roles_claim_path=path, now=ROLES_NOW)
    assert err.value.status == 404
    assert err.value.reason.startswith("missing json key: ")


@pytest.mark.parametrize(
    ("roles_value", "expected"),
    [
        (["a", "b"], ("a", "b")),
        ([], ()),
        ("a,b", ("a", "b")),
        ("a , b ,c", ("a", "b", "c")),
        ("a,", ("a",)),  # re:split(..., [trim]) drops trailing empties
        ("", ()),
        ("solo", ("solo",)),
        (None, ()),  # claim absent
    ],
)
def test_roles_shapes(roles_value, expected):
    token = jwt.encode(claims(**{"_couchdb.roles": roles_value}), SECRET, algorithm="HS256")
    assert decode_jwt(token, hmac_keys(), now=NOW).roles == expected


@pytest.mark.parametrize("roles_value", [["a", 1], 7, {"a": 1}, True])
def test_roles_malformed(roles_value):
    token = jwt.encode(claims(**{"_couchdb.roles": roles_value}), SECRET, algorithm="HS256")
    with pytest.raises(BadRequest, match="Malformed token"):
        decode_jwt(token, hmac_keys(), now=NOW)


def test_roles_claim_path_through_non_object():
    token = jwt.encode(claims(realm={"access": ["x"]}), SECRET, algorithm="HS256")
    assert decode_jwt(token, hmac_keys(), roles_claim_path="realm.access", now=NOW).roles == ("x",)
    with pytest.raises(NotFound, match="json_mismatch"):
        decode_jwt(token, hmac_keys(), roles_claim_path="realm.access.deeper", now=NOW)


@pytest.mark.parametrize(
    ("path", "segments"),
    [
        ("roles", ["roles"]),
        ("a.b.c", ["a", "b", "c"]),
        ("a\\.b.c", ["a.b", "c"]),
        (NESTED_PATH, ["foo", "bar.zonk", "baz.buu", "baa", "baa.bee", "roles"]),
    ],
)
def test_split_claim_path(path, segments):
    assert split_claim_path(path) == segments


# --- claims ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "required", "error", "reason"),
    [
        (claims(exp=NOW - 1), ("exp",), Unauthorized, "exp not in future"),
        (claims(exp=NOW), ("exp",), Unauthorized, "exp not in future"),  # strictly in the future
        (claims(exp=NOW - 1), (), Unauthorized, "exp not in future"),  # checked whenever present
        (claims(exp=None), ("exp",), BadRequest, "Missing exp claim"),
        (claims(exp="tomorrow"), ("exp",), BadRequest, "Invalid exp claim"),
        (claims(nbf=NOW + 1), (), Unauthorized, "nbf not in past"),
        (claims(nbf=NOW), (), Unauthorized, "nbf not in past"),
        (claims(nbf=None), ("exp", "nbf"), BadRequest, "Missing nbf claim"),
        (claims(nbf=False), (), BadRequest, "Invalid nbf claim"),
        (claims(), ("iat",), BadRequest, "Missing iat claim"),
        (claims(iat="hello"), (), BadRequest, "Invalid iat claim"),
        (claims(iat=1.5), (), BadRequest, "Invalid iat claim"),  # Erlang is_integer
        (claims(), (("iss", "hello"),), BadRequest, "Missing iss claim"),
        (claims(iss="goodbye"), (("iss", "hello"),), BadRequest, "Invalid iss claim"),
        (claims(), ("iss",), BadRequest, "Missing iss claim"),
        (claims(sub=None), ("exp",), Unauthorized, "Token missing sub claim."),
        (claims(sub=42), ("exp",), BadRequest, "Malformed token"),
    ],
)
def test_claim_errors(payload, required, error, reason):
    token = jwt.encode(payload, SECRET, algorithm="HS256")
    with pytest.raises(error) as err:
        decode_jwt(token, hmac_keys(), required_claims=required, now=NOW)
    assert type(err.value) is error
    assert err.value.reason == reason


@pytest.mark.parametrize(
    ("payload", "required"),
    [
        (claims(exp=None), ()),
        (claims(iss="hello"), (("iss", "hello"),)),
        (claims(iss="anything"), ()),  # not required: not compared
        (claims(iss="x"), ("iss",)),
        (claims(iat=NOW), ("iat", "exp", "nbf")),
        (claims(exp=NOW + 0.5), ("exp",)),
    ],
)
def test_claims_accepted(payload, required):
    token = jwt.encode(payload, SECRET, algorithm="HS256")
    assert decode_jwt(token, hmac_keys(), required_claims=required, now=NOW).name == "couch@apache.org"


def test_default_now_is_the_clock():
    token = jwt.encode(claims(exp=2**40, nbf=0), SECRET, algorithm="HS256")
    assert decode_jwt(token, hmac_keys()).name == "couch@apache.org"
    expired = jwt.encode(claims(exp=1, nbf=0), SECRET, algorithm="HS256")
    with pytest.raises(Unauthorized, match="exp not in future"):
        decode_jwt(expired, hmac_keys())


def test_unknown_required_check_is_a_programming_error():
    token = jwt.encode(claims(), SECRET, algorithm="HS256")
    with pytest.raises(ValueError):
        decode_jwt(token, hmac_keys(), required_claims=("aud",), now=NOW)


# --- header, algorithm, signature -----------------------------------------------------------------


def test_alg_none_rejected():
    token = forge({"alg": "none", "typ": "JWT"}, claims(), signature=b"")
    with pytest.raises(BadRequest, match="^400 bad_request: Invalid alg header parameter$"):
        decode_jwt(token, hmac_keys(), now=NOW)
    token = jwt.encode(claims(), "", algorithm="none")
    with pytest.raises(BadRequest, match="Invalid alg header parameter"):
        decode_jwt(token, hmac_keys(), now=NOW)


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ({"typ": "JWT"}, "Missing alg header parameter"),
        ({"alg": "HS999"}, "Invalid alg header parameter"),
        ({"alg": "PS256"}, "Invalid alg header parameter"),  # pyjwt knows it, CouchDB does not
        ({"alg": "hs256"}, "Invalid alg header parameter"),
        ({"alg": 256}, "Invalid alg header parameter"),
        ({"alg": "HS256", "kid": 5}, "Unknown kid"),
    ],
)
def test_bad_headers(header, reason):
    token = forge(header, claims(), SECRET)
    with pytest.raises(BadRequest) as err:
        decode_jwt(token, hmac_keys(), now=NOW)
    assert err.value.reason == reason


def test_allowed_algorithms_narrow():
    token = jwt.encode(claims(), SECRET, algorithm="HS384")
    with pytest.raises(BadRequest, match="Invalid alg header parameter"):
        decode_jwt(token, hmac_keys(), algorithms=("HS256",), now=NOW)


def test_typ_only_checked_when_required():
    token = forge({"alg": "HS256", "typ": "at+jwt"}, claims(), SECRET)
    assert decode_jwt(token, hmac_keys(), now=NOW).name == "couch@apache.org"
    with pytest.raises(BadRequest, match="Invalid typ header parameter"):
        decode_jwt(token, hmac_keys(), required_claims=("exp", "typ"), now=NOW)
    untyped = forge({"alg": "HS256"}, claims(), SECRET)
    with pytest.raises(BadRequest, match="Missing typ header parameter"):
        decode_jwt(untyped, hmac_keys(), required_claims=("typ",), now=NOW)


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("", "Malformed token"),
        ("a.b", "Malformed token"),
        ("a.b.c.d", "Malformed token"),  # jwtf_tests malformed_token_test
        ("0.0.0", "Malformed token"),  # jwtf_tests b64_badarg_test
        (" aGVsbG8. aGVsbG8. aGVsbG8", "Malformed token"),  # b64_bad_block_test
        ("fQ.fQ.fQ", "Malformed token"),  # invalid_json_test
        ("ew.ew.ew", "Malformed token"),  # truncated_json_test
        (forge([1, 2], claims(), SECRET), "Not an object"),
        (forge({"alg": "HS256"}, "not-json!", SECRET), "Malformed token"),
        (forge({"alg": "HS256"}, [1], SECRET), "Not an object"),
    ],
)
def test_malformed_tokens(token, reason):
    with pytest.raises(BadRequest) as err:
        decode_jwt(token, hmac_keys(), now=NOW)
    assert err.value.reason == reason


def test_bad_signatures(rsa_key, ec_keys):
    # HMAC -> "Bad HMAC", public key -> "Bad signature" (jwtf_tests bad_hs256_sig_test / bad_rs256_sig_test)
    token = jwt.encode(claims(), b"another secret", algorithm="HS256")
    with pytest.raises(BadRequest, match="^400 bad_request: Bad HMAC$"):
        decode_jwt(token, hmac_keys(), now=NOW)
    other_rsa = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    token = jwt.encode(claims(), other_rsa, algorithm="RS256")
    with pytest.raises(BadRequest, match="^400 bad_request: Bad signature$"):
        decode_jwt(token, JwtKeys({"rsa:_default": rsa_key.public_key()}), now=NOW)
    token = jwt.encode(claims(), ec.generate_private_key(ec.SECP256R1()), algorithm="ES256")
    with pytest.raises(BadRequest, match="^400 bad_request: Bad signature$"):
        decode_jwt(token, JwtKeys({"ec:_default": ec_keys["ES256"].public_key()}), now=NOW)
    garbage = forge({"alg": "ES256"}, claims(), signature=b"\x00" * 3)
    with pytest.raises(BadRequest, match="Bad signature"):
        decode_jwt(garbage, JwtKeys({"ec:_default": ec_keys["ES256"].public_key()}), now=NOW)


def test_tampered_payload_fails_signature():
    token = jwt.encode(claims(), SECRET, algorithm="HS256")
    header, _, sig = token.split(".")
    evil = b64url(json.dumps(claims(**{"_couchdb.roles": ["_admin"]})).encode())
    with pytest.raises(BadRequest, match="Bad HMAC"):
        decode_jwt(f"{header}.{evil}.{sig}", hmac_keys(), now=NOW)


# --- kid selection (jwtf_keystore.erl) ------------------------------------------------------------


def test_kid_selects_key(rsa_key):
    keys = JwtKeys({"hmac:a": b"secret-a", "hmac:b": b"secret-b", "rsa:a": rsa_key.public_key()})
    token_b = jwt.encode(claims(sub="bob"), b"secret-b", algorithm="HS256", headers={"kid": "b"})
    assert decode_jwt(token_b, keys, now=NOW).name == "bob"
    # kid "b" but signed with a's secret
    wrong = jwt.encode(claims(), b"secret-a", algorithm="HS256", headers={"kid": "b"})
    with pytest.raises(BadRequest, match="Bad HMAC"):
        decode_jwt(wrong, keys, now=NOW)
    # same kid, different key type: RS256 uses rsa:a
    token_rsa = jwt.encode(claims(sub="ross"), rsa_key, algorithm="RS256", headers={"kid": "a"})
    assert decode_jwt(token_rsa, keys, now=NOW).name == "ross"
    # no kid -> _default, which this store lacks
    no_kid = jwt.encode(claims(), b"secret-a", algorithm="HS256")
    with pytest.raises(BadRequest, match="^400 bad_request: Unknown kid$"):
        decode_jwt(no_kid, keys, now=NOW)
    unknown = jwt.encode(claims(), b"secret-a", algorithm="HS256", headers={"kid": "zzz"})
    with pytest.raises(BadRequest, match="Unknown kid"):
        decode_jwt(unknown, keys, now=NOW)
    with pytest.raises(BadRequest, match="Missing kid claim"):
        decode_jwt(no_kid, keys, required_claims=("kid",), now=NOW)


def test_alg_confusion_rsa_public_key_as_hmac_secret(rsa_key):
    # Classic attack: sign HS256 with the server's RSA public key. Key types are separate
    # (hmac:/rsa:), so the HMAC lookup finds nothing.
    pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    token = forge({"alg": "HS256", "typ": "JWT"}, claims(), pem)
    with pytest.raises(BadRequest, match="Unknown kid"):
        decode_jwt(token, JwtKeys({"rsa:_default": rsa_key.public_key()}), now=NOW)


# --- key store and config parsing -----------------------------------------------------------------


def _pem(public_key, escaped=True) -> str:
    text = public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    return text.replace("\n", "\\n") if escaped else text


def test_from_config(rsa_key, ec_keys):
    keys = JwtKeys.from_config(
        {
            "hmac:_default": base64.b64encode(SECRET).decode(),
            "rsa:r1": _pem(rsa_key.public_key()),
            "ec:e1": _pem(ec_keys["ES384"].public_key(), escaped=False),
        }
    )
    assert len(keys) == 3
    assert keys.get("HS512", None) == SECRET
    token = jwt.encode(claims(), rsa_key, algorithm="RS384", headers={"kid": "r1"})
    assert decode_jwt(token, keys, now=NOW).name == "couch@apache.org"
    token = jwt.encode(claims(), ec_keys["ES384"], algorithm="ES384", headers={"kid": "e1"})
    assert decode_jwt(token, keys, now=NOW).name == "couch@apache.org"


@pytest.mark.parametrize(
    "section_factory",
    [
        lambda r, e: {"hmac:x": "not base64!"},
        lambda r, e: {"rsa:x": "-----BEGIN PUBLIC KEY-----\\ngarbage\\n-----END PUBLIC KEY-----"},
        lambda r, e: {"rsa:x": _pem(e)},  # EC key under rsa:
        lambda r, e: {"ec:x": _pem(r)},  # RSA key under ec:
        lambda r, e: {"oct:x": "AAAA"},
        lambda r, e: {"hmac": "AAAA"},
    ],
)
def test_from_config_errors(section_factory, rsa_key, ec_keys):
    with pytest.raises(ValueError):
        JwtKeys.from_config(section_factory(rsa_key.public_key(), ec_keys["ES256"].public_key()))


@pytest.mark.parametrize(
    "keys",
    [{"hmac:x": "a str, not bytes"}, {"rsa:x": b"bytes"}, {"hmac:": b"k"}, {"rsa_x": b"k"}],
)
def test_constructor_errors(keys):
    with pytest.raises(ValueError):
        JwtKeys(keys)


@pytest.mark.parametrize(
    ("config", "parsed"),
    [
        ("", ()),
        ("exp", ("exp",)),
        ("exp, iat", ("exp", "iat")),
        ('exp, {iss, "hello"}', ("exp", ("iss", "hello"))),
        ('{iss,"https://idp.example/realms/x"}', (("iss", "https://idp.example/realms/x"),)),
    ],
)
def test_parse_required_claims(config, parsed):
    assert parse_required_claims(config) == parsed


@pytest.mark.parametrize("config", ["!!!", "aud", "exp, sub"])
def test_parse_required_claims_misconfigured(config):
    with pytest.raises(CouchError) as err:
        parse_required_claims(config)
    assert (err.value.status, err.value.error, err.value.reason) == (
        500,
        "misconfigured_server",
        "JWT is not configured correctly",
    )
