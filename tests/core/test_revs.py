"""Rev strings and ``_revisions`` (couchsync.core.revs), protocol reference §2.1, §2.2 and §7 item 31.

Sources: CouchDB ``couch_doc:parse_rev/1``, ``parse_revid/1``, ``transfer_fields/3`` (``_revisions``
validation messages), ``couch_db:new_revid/1``.
"""

from __future__ import annotations

import re

import pytest

from couchsync.core.revs import format_rev, new_revid, normalize_rev, parse_rev, parse_revisions
from couchsync.errors import DocValidation, InvalidRev

HEX = "0123456789abcdef" * 2  # 32 chars
UPPER = HEX.upper()

PARSE_OK = [
    # (name, input, (pos, revid))
    ("32 lowercase hex", f"1-{HEX}", (1, HEX)),
    ("32 uppercase hex is normalised to lowercase (§7 item 31)", f"1-{UPPER}", (1, HEX)),
    ("32 mixed-case hex", f"12-{HEX[:16]}{UPPER[16:]}", (12, HEX)),
    ("short revid kept verbatim", "3-abc", (3, "abc")),
    ("short uppercase revid kept verbatim", "3-ABC", (3, "ABC")),
    ("33-char revid kept verbatim (not hex-decoded)", f"2-{UPPER}Z", (2, f"{UPPER}Z")),
    ("31-char non-hex revid kept verbatim", "2-" + "x" * 31, (2, "x" * 31)),
    ("split at the first dash", "4-abc-def", (4, "abc-def")),
    ("pos 0 (_local docs)", "0-1", (0, "1")),
    ("large pos", "1000000-a", (1000000, "a")),
    ("leading zeros in pos", "007-a", (7, "a")),
]


@pytest.mark.parametrize(("name", "rev", "expected"), PARSE_OK, ids=[c[0] for c in PARSE_OK])
def test_parse_rev(name, rev, expected):
    assert parse_rev(rev) == expected
    assert normalize_rev(rev) == format_rev(*expected)


PARSE_BAD = [
    ("32-char non-hex revid (§7 item 31)", "1-" + "xyz" * 10 + "zz"),
    ("32-char revid with one non-hex char", "1-" + HEX[:31] + "g"),
    ("no dash", "abc"),
    ("empty", ""),
    ("empty pos", "-abc"),
    ("empty revid", "1-"),
    ("non-integer pos", "a-abc"),
    ("fractional pos", "1.5-abc"),
    ("negative pos", "-1-abc"),
    ("space in pos", " 1-abc"),
    ("non-ASCII digits in pos", "\u0661-abc"),
    ("not a string: int", 1),
    ("not a string: None", None),
    ("not a string: list", ["1-a"]),
]


@pytest.mark.parametrize(("name", "rev"), PARSE_BAD, ids=[c[0] for c in PARSE_BAD])
def test_parse_rev_rejects(name, rev):
    with pytest.raises(InvalidRev) as exc:
        parse_rev(rev)
    assert exc.value.status == 400
    assert exc.value.to_json() == {"error": "bad_request", "reason": "Invalid rev format"}
    with pytest.raises(InvalidRev):
        normalize_rev(rev)


def test_format_rev():
    assert format_rev(3, "abc") == "3-abc"


REVISIONS_OK = [
    # (name, _revisions, (start, ids))
    ("typical", {"start": 3, "ids": ["c", "b", "a"]}, (3, ["c", "b", "a"])),
    ("stemmed history (start > len(ids))", {"start": 1000, "ids": ["z"]}, (1000, ["z"])),
    ("32-char ids lowercased", {"start": 2, "ids": [UPPER, HEX]}, (2, [HEX, HEX])),
    ("other lengths verbatim", {"start": 2, "ids": ["ABC", "x" * 33]}, (2, ["ABC", "x" * 33])),
    ("extra members ignored", {"start": 1, "ids": ["a"], "other": 1}, (1, ["a"])),
    ("empty ids", {"start": 0, "ids": []}, (0, [])),
]


@pytest.mark.parametrize(("name", "revisions", "expected"), REVISIONS_OK, ids=[c[0] for c in REVISIONS_OK])
def test_parse_revisions(name, revisions, expected):
    assert parse_revisions(revisions) == expected


REVISIONS_BAD = [
    # (name, _revisions, CouchDB reason)
    ("start missing", {"ids": ["a"]}, "_revisions.start isn't an integer."),
    ("start a string", {"start": "1", "ids": ["a"]}, "_revisions.start isn't an integer."),
    ("start a float", {"start": 1.5, "ids": ["a"]}, "_revisions.start isn't an integer."),
    ("start a boolean", {"start": True, "ids": ["a"]}, "_revisions.start isn't an integer."),
    ("start null", {"start": None, "ids": ["a"]}, "_revisions.start isn't an integer."),
    ("ids missing", {"start": 1}, "_revisions.ids isn't a array."),
    ("ids an object", {"start": 1, "ids": {"a": 1}}, "_revisions.ids isn't a array."),
    ("ids a string", {"start": 1, "ids": "a"}, "_revisions.ids isn't a array."),
    ("start checked before ids", {"start": "x", "ids": "y"}, "_revisions.start isn't an integer."),
    ("id a number", {"start": 2, "ids": ["a", 1]}, "RevId isn't a string"),
    ("id null", {"start": 1, "ids": [None]}, "RevId isn't a string"),
    ("32-char id not hex", {"start": 1, "ids": ["g" * 32]}, "RevId isn't a valid hexadecimal"),
]


@pytest.mark.parametrize(("name", "revisions", "reason"), REVISIONS_BAD, ids=[c[0] for c in REVISIONS_BAD])
def test_parse_revisions_rejects(name, revisions, reason):
    with pytest.raises(DocValidation) as exc:
        parse_revisions(revisions)
    assert exc.value.status == 400
    assert exc.value.to_json() == {"error": "doc_validation", "reason": reason}


@pytest.mark.parametrize(
    "revisions",
    [["a"], "x", None, {"start": 1, "ids": ["b", "a"]}, {"start": -1, "ids": []}],
    ids=["a list", "a string", "null", "start below len(ids)", "negative start"],
)
def test_parse_revisions_rejects_other_shapes(revisions):
    """Shapes CouchDB would crash on or store inconsistently: rejected with a 400 doc_validation."""
    with pytest.raises(DocValidation) as exc:
        parse_revisions(revisions)
    assert exc.value.status == 400


# -- new_revid (§2.2) --------------------------------------------------------------------------------

BASE: tuple[bool, str | None, dict, list[tuple[str, str, str]]] = (False, "1-abc", {"a": 1, "b": [1, 2]}, [])


def test_new_revid_is_32_lowercase_hex_and_deterministic():
    rid = new_revid(*BASE)
    assert re.fullmatch(r"[0-9a-f]{32}", rid)
    assert new_revid(*BASE) == rid
    assert new_revid(False, "1-abc", {"b": [1, 2], "a": 1}, []) == rid  # member order is irrelevant


@pytest.mark.parametrize(
    "other",
    [
        (True, "1-abc", {"a": 1, "b": [1, 2]}, []),
        (False, "2-abc", {"a": 1, "b": [1, 2]}, []),
        (False, None, {"a": 1, "b": [1, 2]}, []),
        (False, "1-abc", {"a": 1, "b": [2, 1]}, []),
        (False, "1-abc", {"a": 1, "b": [1, 2]}, [("f.txt", "text/plain", "md5-xyz")]),
    ],
    ids=["deleted", "parent", "no parent", "body", "attachments"],
)
def test_new_revid_depends_on_every_input(other):
    assert new_revid(*other) != new_revid(*BASE)


def test_new_revid_attachment_order_is_irrelevant():
    a = ("a.txt", "text/plain", "md5-1")
    b = ("b.txt", "text/plain", "md5-2")
    assert new_revid(False, None, {}, [a, b]) == new_revid(False, None, {}, [b, a])
