"""Tests for couchsync.mango.selector (normalise, match, project).

Case sources (cited per table; CDB = github.com/apache/couchdb):
  EUNIT  CDB src/mango/src/mango_selector.erl eunit section (check_selector/2 tables, match_*_test)
  OPS    CDB src/mango/test/03-operator-test.py
  BASIC  CDB src/mango/test/02-basic-find-test.py
  EMPTY  CDB src/mango/test/21-empty-selector-tests.py
  BEGINS CDB src/mango/test/25-beginswith-test.py
  DOC    CDB src/mango/src/mango_util.erl / mango_doc.erl (parse_field_test, get_field/set_field)
  ERR    CDB src/mango/src/mango_error.erl (statuses, error names and reasons)
  REF    /work/shared/reference/couchdb-protocol.md §6.2
The user documents below are our own small fixture, not CouchDB's user_docs.py; expected results
are worked out from the same semantics the CouchDB tests check.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from couchsync.errors import CouchError
from couchsync.mango.selector import (
    BAD_PATH,
    NOT_FOUND,
    Selector,
    erlang_term,
    get_field,
    matches,
    normalize,
    parse_field,
    project,
)

# --- EUNIT check_selector/2: {"x": Cond} must match {"x": Value} iff expected, and -----------------
# {"x": {"$not": Cond}} must give the opposite answer.

NESTED = {"a": {"b": {"c": 7}}}
IN_ARGS = [42, False, "bar", [["nested"], "list"], {"b": 2}]

CHECK_SELECTOR_CASES: list[tuple[dict[str, Any], list[tuple[bool, Any]]]] = [
    # match_lt_test
    ({"$lt": 5}, [(True, 4), (False, 5), (False, 6)]),
    ({"$lt": "hello"}, [(True, "held"), (False, "hello"), (False, "help")]),
    (
        {"$lt": [1, 2, 3]},
        [(True, [1, 2, 2]), (True, [1, 2]), (False, [1, 2, 3]), (False, [1, 2, 4]), (False, [1, 3])],
    ),
    # match_lte_test
    ({"$lte": 5}, [(True, 4), (True, 5), (False, 6)]),
    ({"$lte": "hello"}, [(True, "held"), (True, "hello"), (False, "help")]),
    (
        {"$lte": [1, 2, 3]},
        [(True, [1, 2, 2]), (True, [1, 2]), (True, [1, 2, 3]), (False, [1, 2, 4]), (False, [1, 3])],
    ),
    # match_gt_test
    ({"$gt": 5}, [(False, 4), (False, 5), (True, 6)]),
    ({"$gt": "hello"}, [(False, "held"), (False, "hello"), (True, "help")]),
    (
        {"$gt": [1, 2, 3]},
        [(False, [1, 2, 2]), (False, [1, 2]), (False, [1, 2, 3]), (True, [1, 2, 4]), (True, [1, 3])],
    ),
    # match_gte_test
    ({"$gte": 5}, [(False, 4), (True, 5), (True, 6)]),
    ({"$gte": "hello"}, [(False, "held"), (True, "hello"), (True, "help")]),
    (
        {"$gte": [1, 2, 3]},
        [(False, [1, 2, 2]), (False, [1, 2]), (True, [1, 2, 3]), (True, [1, 2, 4]), (True, [1, 3])],
    ),
    # match_eq_test
    ({"$eq": 5}, [(True, 5), (False, 6)]),
    ({"$eq": "hello"}, [(True, "hello"), (False, "help")]),
    (
        {"$eq": [1, [2, 3, 4], 5]},
        [
            (True, [1, [2, 3, 4], 5]),
            (False, [1, [2, 3, 4]]),
            (False, [1, [2, 3, 4], 5, 6]),
            (False, [1, [2, 7, 4], 5]),
        ],
    ),
    (
        {"$eq": NESTED},
        [
            (True, {"a": {"b": {"c": 7}}}),
            (False, {"a": {"b": {"c": 8}}}),
            (False, {"a": {"b": {"d": 7}}}),
            (False, {"a": {"d": {"c": 7}}}),
        ],
    ),
    # match_ne_test
    ({"$ne": 5}, [(False, 5), (True, 6)]),
    ({"$ne": "hello"}, [(False, "hello"), (True, "help")]),
    (
        {"$ne": [1, [2, 3, 4], 5]},
        [
            (False, [1, [2, 3, 4], 5]),
            (True, [1, [2, 3, 4]]),
            (True, [1, [2, 3, 4], 5, 6]),
            (True, [1, [2, 7, 4], 5]),
        ],
    ),
    (
        {"$ne": NESTED},
        [
            (False, {"a": {"b": {"c": 7}}}),
            (True, {"a": {"b": {"c": 8}}}),
            (True, {"a": {"b": {"d": 7}}}),
            (True, {"a": {"d": {"c": 7}}}),
        ],
    ),
    # match_in_test
    ({"$in": []}, [(False, 0), (False, True), (False, "foo")]),
    (
        {"$in": IN_ARGS},
        [
            (True, 42),
            (True, False),
            (True, "bar"),
            (True, {"b": 2}),
            (False, 43),
            (False, True),
            (False, "bars"),
            (False, {"b": 2, "c": 3}),
            # an array input matches if any of its items match ...
            (True, [0, 42]),
            (True, [0, False]),
            (True, [0, "bar"]),
            (True, [0, {"b": 2}]),
            # ... so a candidate that is itself an array only matches nested in an array
            (False, [["nested"], "list"]),
            (True, [0, [["nested"], "list"]]),
        ],
    ),
    # match_nin_test
    ({"$nin": []}, [(True, 0), (True, True), (True, "foo")]),
    (
        {"$nin": IN_ARGS},
        [
            (False, 42),
            (False, False),
            (False, "bar"),
            (False, {"b": 2}),
            (True, 43),
            (True, True),
            (True, "bars"),
            (True, {"b": 2, "c": 3}),
            (False, [0, 42]),
            (False, [0, False]),
            (False, [0, "bar"]),
            (False, [0, {"b": 2}]),
            (True, [["nested"], "list"]),
            (False, [0, [["nested"], "list"]]),
        ],
    ),
    # match_all_test
    ({"$all": []}, [(False, []), (False, [42]), (False, {}), (False, "foo")]),
    (
        {"$all": [1, 2, 3, 4]},
        [(True, [3, 2, 4, 1]), (True, [0, 4, 3, 5, 2, 1, 6]), (False, [3, 2, 4]), (False, [])],
    ),
    ({"$not": {"$all": [1, 2, 3, 4]}}, [(True, [2, 4, 1]), (False, [2, 4, 1, 3]), (True, [])]),
    (
        {"$all": [[1, 2, 3, 4]]},
        [
            (True, [1, 2, 3, 4]),
            (False, [4, 3, 2, 1]),
            (False, [1, 3, 4]),
            (False, []),
            (True, [5, [1, 2, 3, 4], 6]),
            (False, [5, [1, 3, 4], 6]),
            (False, [5, [1, 3, 2, 4], 6]),
        ],
    ),
    ({"$all": ["hello"]}, [(False, "hello"), (True, ["hello"]), (True, [0, "hello", 1]), (False, [])]),
    ({"$all": [{"a": 1}]}, [(True, [{"a": 1}]), (False, [{"a": 1, "b": 2}])]),
    # match_type_test
    ({"$type": "null"}, [(True, None), (False, False), (False, {})]),
    ({"$type": "boolean"}, [(True, True), (True, False), (False, 0)]),
    ({"$type": "number"}, [(True, 42), (True, 3.14), (True, 0), (False, True), (False, [1]), (False, "1")]),
    ({"$type": "string"}, [(True, ""), (True, "hello"), (False, [])]),
    ({"$type": "array"}, [(True, []), (True, [1, 2]), (False, {}), (False, "hi")]),
    ({"$type": "object"}, [(True, {}), (True, {"a": 1}), (False, [{"a": 1}]), (False, None)]),
    # match_regex_test
    ({"$regex": "^[0-9a-f]+$"}, [(False, ""), (True, "3a0df5e"), (False, "3a0gf5e"), (False, 42)]),
    # match_beginswith_test
    (
        {"$beginsWith": "foo"},
        [
            (True, "foo"),
            (True, "food"),
            (True, "fool me once"),
            (False, "more food"),
            (False, "fo"),
            (False, 42),
        ],
    ),
    # match_mod_test
    ({"$mod": [28, 1]}, [(True, 1), (True, 29), (True, 57), (False, 58), (False, "57")]),
    # match_size_test
    ({"$size": 3}, [(False, 3), (False, "fun"), (True, [0, 0, 0]), (False, [0, 0]), (False, [0, 0, 0, 0])]),
    # match_allmatch_test: false for empty lists ...
    ({"$allMatch": {"$eq": 0}}, [(False, []), (True, [0]), (False, [1]), (False, [0, 1])]),
    # ... so {"$not": {"$allMatch": S}} is not {"$elemMatch": {"$not": S}}
    ({"$elemMatch": {"$ne": 0}}, [(False, []), (False, [0]), (True, [1]), (True, [0, 1])]),
    # match_elemmatch_test
    ({"$elemMatch": {"$eq": 0}}, [(False, []), (True, [0]), (False, [1]), (True, [0, 1])]),
    # match_keymapmatch_test
    (
        {"$keyMapMatch": {"$regex": "^[a-z]+$"}},
        [
            (True, {"hello": 0}),
            (True, {"a": 1, "b": 2}),
            (True, {"a": 1, "b4": 2}),
            (False, {"b4": 2}),
            (False, {}),
        ],
    ),
    # couchsync additions in the same style
    ({"$mod": [3, -1]}, [(True, -1), (True, -4), (False, 2), (False, 2.0), (False, True)]),
    ({"$mod": [-3, 1]}, [(True, 1), (True, 4), (False, -2)]),
    ({"$regex": "(?i)NEW.*"}, [(True, "new york"), (True, "Renewal"), (False, "old")]),
    ({"$regex": "(?<word>ab)c"}, [(True, "xabc"), (False, "abd")]),
    ({"$beginsWith": ""}, [(True, ""), (True, "x"), (False, None)]),
    ({"$beginsWith": "j"}, [(False, "Jimi"), (True, "jimi")]),
    ({"$size": 0}, [(True, []), (False, {}), (False, "")]),
    ({"$exists": True}, [(True, None), (True, 0), (True, [])]),
    ({"$eq": None}, [(True, None), (False, False), (False, 0), (False, "")]),
    ({"$gt": None}, [(False, None), (True, False), (True, 0), (True, "a"), (True, []), (True, {})]),
    ({"$gt": 5}, [(True, "a"), (True, []), (True, {}), (False, True), (False, None)]),
    ({"$lt": 1}, [(True, None), (True, False), (True, True), (True, 0.5), (False, "0")]),
    ({"$eq": 1}, [(True, 1.0), (False, "1"), (False, True)]),
    ({"$eq": "a"}, [(True, "a"), (False, "A"), (False, "a\u0301")]),
    ({"$eq": "\u00e9"}, [(True, "e\u0301")]),
    ({"$lt": "B"}, [(True, "a"), (True, "A"), (True, "b"), (False, "C"), (False, "c")]),
    ({"$in": [1]}, [(True, 1.0), (True, [3, 1.0]), (False, []), (False, [[1]])]),
    ({"$in": ["a", "b"]}, [(True, "a"), (True, ["x", "b"]), (False, "A"), (False, ["A", "B"])]),
    ({"$nin": ["a"]}, [(True, "b"), (True, []), (False, ["b", "a"])]),
    ({"$all": [1]}, [(True, [1]), (False, [1.0]), (True, [2, 1, 2])]),
    ({"$all": [[1]]}, [(True, [1]), (True, [1.0]), (True, [[1]]), (False, [[1.0]]), (False, 1)]),
    ({"$all": [{"a": 1, "b": 2}]}, [(True, [{"a": 1, "b": 2}]), (False, [{"b": 2, "a": 1}])]),
    ({"$elemMatch": {"$gte": 80, "$lt": 85}}, [(True, [70, 82]), (False, [70, 85]), (False, 82)]),
    ({"$elemMatch": {"a": 1}}, [(True, [{"a": 1}, 2]), (False, [{"a": 2}, 1]), (False, {"a": 1})]),
    (
        {"$allMatch": {"a": {"$gt": 0}}},
        [(True, [{"a": 1}, {"a": 2}]), (False, [{"a": 1}, {}]), (False, {"a": 1})],
    ),
    ({"$keyMapMatch": {"$eq": "k"}}, [(True, {"k": 0}), (False, {"K": 0}), (False, ["k"]), (False, "k")]),
    ({"$type": "nonsense"}, [(False, None), (False, "nonsense")]),
    ({"$size": 2}, [(True, [[], []]), (False, [[1, 2]])]),
]


def _flatten_check_cases() -> list[Any]:
    params = []
    for cond, cases in CHECK_SELECTOR_CASES:
        for expected, value in cases:
            params.append(pytest.param(cond, value, expected, id=f"{cond}-{value!r}"))
    return params


@pytest.mark.parametrize(("cond", "value", "expected"), _flatten_check_cases())
def test_check_selector(cond: dict[str, Any], value: Any, expected: bool) -> None:
    doc = {"x": value}
    assert matches({"x": cond}, doc) is expected
    assert matches({"x": {"$not": cond}}, doc) is (not expected)


# --- EUNIT match_object / match_and / match_or / match_nor / match_exists / match_ne ---------------

DOC1: dict[str, Any] = {}
DOC2 = {"x": {}}
DOC3 = {"x": {"a": 1}}
DOC4 = {"x": {"a": 1, "b": 2}}
DOC5: dict[str, Any] = {"x": []}
OBJECT_DOCS = [DOC1, DOC2, DOC3, DOC4, DOC5]


@pytest.mark.parametrize(
    ("selector", "normalized", "results"),
    [
        # the empty selector matches any document
        ({}, {}, [True, True, True, True, True]),
        # an inner empty object matches only empty objects
        ({"x": {}}, {"x": {"$eq": {}}}, [False, True, False, False, False]),
        # negated: a present value that is not the empty object
        ({"$not": {"x": {}}}, {"x": {"$ne": {}}}, [False, False, True, True, True]),
        # inner object selectors with fields match objects with at least those fields
        ({"x": {"a": 1}}, {"x.a": {"$eq": 1}}, [False, False, True, True, False]),
        (
            {"x": {"a": 1, "b": 2}},
            {"$and": [{"x.a": {"$eq": 1}}, {"x.b": {"$eq": 2}}]},
            [False, False, False, True, False],
        ),
        # shorthand dotted syntax
        ({"x.b": 2}, {"x.b": {"$eq": 2}}, [False, False, False, True, False]),
    ],
)
def test_match_object(selector: dict[str, Any], normalized: dict[str, Any], results: list[bool]) -> None:
    sel = normalize(selector)
    assert sel.tree == normalized
    assert [sel.matches(doc) for doc in OBJECT_DOCS] == results


@pytest.mark.parametrize(
    ("selector", "doc", "expected"),
    [
        # match_and_test
        ({"x": {"$and": []}}, {"x": 0}, True),
        ({"x": {"$and": []}}, {"x": False}, True),
        ({"x": {"$and": []}}, {"x": []}, True),
        ({"x": {"$and": []}}, {}, True),
        ({"x": {"$not": {"$and": []}}}, {"x": 0}, True),
        ({"x": {"$not": {"$and": []}}}, {}, True),
        ({"x": {"$and": [{"$gt": 3}, {"$lt": 7}]}}, {"x": 6}, True),
        ({"x": {"$and": [{"$gt": 3}, {"$lt": 7}]}}, {"x": 2}, False),
        ({"x": {"$and": [{"$gt": 3}, {"$lt": 7}]}}, {"x": 9}, False),
        ({"x": {"$and": [{"$gt": 3}, {"$lt": 7}]}}, {}, False),
        ({"x": {"$not": {"$and": [{"$gt": 3}, {"$lt": 7}]}}}, {"x": 6}, False),
        ({"x": {"$not": {"$and": [{"$gt": 3}, {"$lt": 7}]}}}, {"x": 2}, True),
        ({"x": {"$not": {"$and": [{"$gt": 3}, {"$lt": 7}]}}}, {"x": 9}, True),
        ({"x": {"$not": {"$and": [{"$gt": 3}, {"$lt": 7}]}}}, {}, False),
        # match_or_test
        ({"x": {"$or": []}}, {"x": 0}, True),
        ({"x": {"$or": []}}, {}, True),
        ({"x": {"$not": {"$or": []}}}, {"x": []}, True),
        ({"x": {"$not": {"$or": []}}}, {}, True),
        ({"x": {"$or": [{"$lt": 3}, {"$gt": 7}]}}, {"x": 6}, False),
        ({"x": {"$or": [{"$lt": 3}, {"$gt": 7}]}}, {"x": 2}, True),
        ({"x": {"$or": [{"$lt": 3}, {"$gt": 7}]}}, {"x": 9}, True),
        ({"x": {"$or": [{"$lt": 3}, {"$gt": 7}]}}, {}, False),
        ({"x": {"$not": {"$or": [{"$lt": 3}, {"$gt": 7}]}}}, {"x": 6}, True),
        ({"x": {"$not": {"$or": [{"$lt": 3}, {"$gt": 7}]}}}, {"x": 2}, False),
        ({"x": {"$not": {"$or": [{"$lt": 3}, {"$gt": 7}]}}}, {}, False),
        # match_nor_test
        ({"x": {"$nor": []}}, {"x": 0}, True),
        ({"x": {"$nor": []}}, {}, True),
        ({"x": {"$nor": [{"$lt": 3}, {"$gt": 7}]}}, {"x": 6}, True),
        ({"x": {"$nor": [{"$lt": 3}, {"$gt": 7}]}}, {"x": 2}, False),
        ({"x": {"$nor": [{"$lt": 3}, {"$gt": 7}]}}, {"x": 9}, False),
        ({"x": {"$nor": [{"$lt": 3}, {"$gt": 7}]}}, {}, False),
        ({"$nor": [{"x": 1}, {"y": 1}]}, {"x": 2, "y": 2}, True),
        ({"$nor": [{"x": 1}, {"y": 1}]}, {"x": 2}, False),
        # match_exists_test
        ({"x": {"$exists": True}}, {"x": 0}, True),
        ({"x": {"$exists": True}}, {"y": 0}, False),
        ({"x": {"$exists": False}}, {"x": 0}, False),
        ({"x": {"$exists": False}}, {"y": 0}, True),
        ({"x": {"$exists": False}}, {}, True),
        ({"x": {"$not": {"$eq": 0}}}, {}, False),
        ({"x": 0}, {}, False),
        ({"x": {"$not": {"$exists": True, "$eq": 0}}}, {"x": 1}, True),
        ({"x": {"$not": {"$exists": True, "$eq": 0}}}, {"x": 0}, False),
        ({"x": {"$not": {"$exists": True, "$eq": 0}}}, {}, True),
        ({"x": {"$not": {"$exists": False}}}, {}, False),
        ({"x": {"$not": {"$exists": False}}}, {"x": None}, True),
        # match_ne_test: $ne requires a present value, so does $not + $eq
        ({"x": {"$ne": 5}}, {}, False),
        ({"$not": {"x": 5}}, {}, False),
        # match_demo_test (TEST_DOC = {_id: foo, _rev: bar, user_id: 11})
        ({"user_id": 11}, {"_id": "foo", "_rev": "bar", "user_id": 11}, True),
        ({"_id": "foo"}, {"_id": "foo", "_rev": "bar", "user_id": 11}, True),
        ({"_id": "foo", "_rev": "bar"}, {"_id": "foo", "_rev": "bar", "user_id": 11}, True),
        ({"user_id": 1234}, {"_id": "foo", "_rev": "bar", "user_id": 11}, False),
        ({"user_id": "11"}, {"_id": "foo", "_rev": "bar", "user_id": 11}, False),
        ({"_id": "foo", "_rev": "quux"}, {"_id": "foo", "_rev": "bar", "user_id": 11}, False),
        # match_beginswith_errors_test (matching part)
        ({"_id": {"$beginsWith": "f"}}, {"_id": "foo", "user_id": 11}, True),
        ({"user_id": {"$beginsWith": "f"}}, {"_id": "foo", "user_id": 11}, False),
        # unnegatable operators keep a $not under the field: a missing field still fails
        ({"x": {"$not": {"$size": 3}}}, {}, False),
        ({"x": {"$not": {"$size": 3}}}, {"x": [1]}, True),
        ({"x": {"$not": {"$regex": "^a"}}}, {"x": 5}, True),
        ({"x": {"$not": {"$in": [1, 2]}}}, {}, False),
        ({"x": {"$not": {"$nin": [1, 2]}}}, {"x": 2}, True),
        # $not inside $elemMatch is not pushed down: elements lacking the field match
        ({"a": {"$elemMatch": {"$not": {"b": 1}}}}, {"a": [{"c": 1}]}, True),
        ({"a": {"$elemMatch": {"$not": {"b": 1}}}}, {"a": [{"b": 1}]}, False),
        # $or / $and combinations
        ({"$or": [{"a": 1}, {"b": 1}]}, {"b": 1}, True),
        ({"$or": [{"a": 1}, {"b": 1}]}, {"c": 1}, False),
        ({"$and": [{"a": 1}, {"$or": [{"b": 1}, {"c": 1}]}]}, {"a": 1, "c": 1}, True),
        ({"$and": [{"a": 1}, {"$or": [{"b": 1}, {"c": 1}]}]}, {"a": 1}, False),
        ({"$or": []}, {}, True),
        ({"$and": []}, {"a": 1}, True),
        # implicit $and over many fields and nested sub-objects
        ({"a": 1, "b": {"c": {"d": [1, 2]}}}, {"a": 1, "b": {"c": {"d": [1, 2]}}}, True),
        ({"a": 1, "b": {"c": {"d": [1, 2]}}}, {"a": 1, "b": {"c": {"d": [1, 2, 3]}}}, False),
        ({"a": {"$gt": 1, "$lt": 5}}, {"a": 3}, True),
        ({"a": {"$gt": 1, "$lt": 5}}, {"a": 5}, False),
        ({"a": {"$gt": 1, "b": 2}}, {"a": {"b": 2}}, True),
    ],
)
def test_match_combinations(selector: dict[str, Any], doc: dict[str, Any], expected: bool) -> None:
    assert matches(selector, doc) is expected


# --- OPS / BASIC / EMPTY / BEGINS: whole queries against a small set of user documents ------------

USERS: list[dict[str, Any]] = [
    {
        "_id": "u0",
        "user_id": 0,
        "age": 61,
        "manager": True,
        "name": {"first": "Ada", "last": "Lovelace"},
        "favorites": ["Lisp", "Python", "Erlang"],
        "location": {"state": "New York", "city": "Albany"},
        "twitter": "@zero",
        "ordered": None,
    },
    {
        "_id": "u1",
        "user_id": 1,
        "age": 23,
        "manager": False,
        "name": {"first": "Brendan", "last": "Eich"},
        "favorites": ["Ruby", "C"],
        "location": {"state": "Nevada", "city": "Reno"},
        "twitter": "@one",
        "ordered": False,
    },
    {
        "_id": "u2",
        "user_id": 2,
        "age": 44,
        "manager": True,
        "name": {"first": "Zed", "last": "Shaw"},
        "favorites": ["Python", "Lisp"],
        "location": {"state": "new mexico", "city": "Taos"},
        "ordered": True,
    },
    {
        "_id": "u3",
        "user_id": 3,
        "age": 35,
        "manager": True,
        "favorites": "Ruby",
        "location": {"state": "Ohio", "city": "Akron"},
        "twitter": None,
        "ordered": 42,
    },
    {
        "_id": "u4",
        "user_id": 4,
        "age": 52,
        "manager": True,
        "favorites": ["Erlang", "C", "Lisp", "Python"],
        "location": {"state": "Maine", "city": "Bangor"},
        "twitter": "@four",
        "ordered": "@",
    },
    {
        "_id": "u5",
        "user_id": 5,
        "age": 22,
        "manager": False,
        "favorites": [],
        "location": "Ohai",
        "ordered": "a",
    },
    {
        "_id": "u6",
        "user_id": 6,
        "age": 29,
        "manager": True,
        "favorites": ["C", "Ruby"],
        "location": {"state": "Hawaii", "city": "Hilo"},
        "ordered": "A",
    },
    {"_id": "u7", "user_id": 7, "age": 70, "manager": False, "favorites": ["Python"], "ordered": ["a"]},
    {"_id": "u8", "user_id": 8, "age": 38, "manager": False, "favorites": ["Go"], "ordered": {"a": 1}},
]
ALL_IDS = [user["user_id"] for user in USERS]


def _find(selector: dict[str, Any], docs: list[dict[str, Any]] = USERS) -> list[Any]:
    compiled = normalize(selector)
    return [doc.get("user_id", doc.get("_id")) for doc in docs if compiled.matches(doc)]


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        # OPS test_all / test_all_non_array
        ({"manager": True, "favorites": {"$all": ["Lisp", "Python"]}}, [0, 2, 4]),
        ({"location": {"$all": ["Ohai"]}}, []),
        # OPS test_in_operator_array / test_nin_operator_array ($in on a string value compares it)
        ({"manager": True, "favorites": {"$in": ["Ruby", "Python"]}}, [0, 2, 3, 4, 6]),
        ({"manager": True, "favorites": {"$nin": ["Erlang", "Python"]}}, [3, 6]),
        # OPS test_regex
        ({"age": {"$gt": 40}, "location.state": {"$regex": "(?i)new.*"}}, [0, 2]),
        # OPS test_exists_false / test_eq_null_does_not_include_missing
        ({"age": {"$gt": 0}, "twitter": {"$exists": False}}, [2, 5, 6, 7, 8]),
        ({"age": {"$gt": 0}, "twitter": None}, [3]),
        # OPS test_ne_includes_null_but_not_missing
        ({"twitter": {"$ne": "notamatch"}}, [0, 1, 3, 4]),
        # OPS test_lt/lte_includes_null_but_not_missing, test_lte_null_includes_null_but_not_missing
        ({"twitter": {"$lt": 1}}, [3]),
        ({"twitter": {"$lte": None}}, [3]),
        # OPS test_lte_at_z_except_null_excludes_null_and_missing ("@zero" > "@z")
        ({"twitter": {"$and": [{"$lte": "@z"}, {"$ne": None}]}}, [1, 4]),
        # OPS test_range_gte_null_includes_null_but_not_missing; BASIC test_missing_not_indexed
        ({"twitter": {"$gte": None}}, [0, 1, 3, 4]),
        ({"twitter": {"$gt": None}}, [0, 1, 4]),
        # OPS test_lte/gte_respects_unicode_collation
        ({"ordered": {"$lte": "a"}}, [0, 1, 2, 3, 4, 5]),
        ({"ordered": {"$gte": "a"}}, [5, 6, 7, 8]),
        ({"ordered": {"$gt": "a", "$lt": "b"}}, [6]),
        # BASIC test_missing_not_indexed: array index paths; a short array is a bad path
        ({"favorites.3": "Python"}, [4]),
        ({"favorites.3": None}, []),
        ({"favorites.0": {"$exists": False}}, []),
        # BASIC test_simple_find / test_multi_cond_and / test_multi_cond_or / test_multi_col_idx
        ({"age": {"$lt": 30}}, [1, 5, 6]),
        ({"manager": True, "location.city": "Akron"}, [3]),
        ({"$and": [{"age": {"$gte": 40}}, {"$or": [{"name.first": "Ada"}, {"name.first": "Zed"}]}]}, [0, 2]),
        # ICU collation: "new mexico" sorts between "Nevada" and "New York" (raw order would not)
        ({"location.state": {"$and": [{"$gt": "Hawaii"}, {"$lt": "New York"}]}}, [1, 2, 4]),
        ({"location.state": {"$gt": "Hawaii", "$lt": "New York"}}, [1, 2, 4]),
        # BASIC test_empty / test_empty_subsel / test_unsatisfiable_range
        ({}, ALL_IDS),
        ({"_id": {"$gt": None}, "location": {}}, []),
        ({"$and": [{"age": {"$gt": 0}}, {"age": {"$lt": 0}}]}, []),
        # EMPTY (matching part; the index-planner rules are not the matcher's business)
        ({"age": 22, "$or": []}, [5]),
        ({"age": 22, "company": {"$in": []}}, []),
        ({"age": 22, "$and": []}, [5]),
        ({"age": 22, "favorites": {"$all": []}}, []),
        ({"age": 22, "$and": [{"favorites": {"$all": []}}]}, []),
        ({"$or": [], "a": {"$in": []}}, []),
        ({"favorites": {"$nin": []}}, ALL_IDS),
        ({"company": {"$nin": []}}, []),
        # $not / $nor over whole documents
        ({"$not": {"manager": True}}, [1, 5, 7, 8]),
        ({"$nor": [{"manager": True}, {"age": {"$gt": 60}}]}, [1, 5, 8]),
        ({"location": {"$not": {"$type": "object"}}}, [5]),
        # $elemMatch / $size / $type / $mod over user docs
        ({"favorites": {"$elemMatch": {"$eq": "C"}}}, [1, 4, 6]),
        ({"favorites": {"$size": 2}}, [1, 2, 6]),
        ({"favorites": {"$type": "string"}}, [3]),
        ({"age": {"$mod": [2, 1]}}, [0, 1, 3, 6]),
        ({"location.city": {"$beginsWith": "A"}}, [0, 3]),
    ],
)
def test_find_users(selector: dict[str, Any], expected: list[int]) -> None:
    assert _find(selector) == expected


def test_elem_match_ops_test() -> None:
    # OPS test_elem_match
    docs = [
        {"_id": "a1", "user_id": "a", "bang": [{"foo": 1, "bar": 2}]},
        {"_id": "b1", "user_id": "b", "bang": [{"foo": 2, "bam": True}]},
    ]
    assert _find({"_id": {"$gt": None}, "bang": {"$elemMatch": {"foo": {"$gte": 1}, "bam": True}}}, docs) == [
        "b"
    ]


def test_all_match_ops_test() -> None:
    # OPS test_all_match / test_empty_all_match
    docs = [
        {"user_id": "a", "bang": [{"foo": 1, "bar": 2}, {"foo": 3, "bar": 4}]},
        {"user_id": "b", "bang": [{"foo": 1, "bar": 2}, {"foo": 4, "bar": 4}]},
        {"user_id": "c", "emptybang": []},
    ]
    assert _find({"bang": {"$allMatch": {"foo": {"$mod": [2, 1]}, "bar": {"$mod": [2, 0]}}}}, docs) == ["a"]
    assert _find({"emptybang": {"$allMatch": {"foo": {"$eq": 2}}}}, docs) == []


def test_empty_subsel_match() -> None:
    # BASIC test_empty_subsel_match
    docs = [*USERS, {"_id": "eo", "user_id": "eo", "empty_obj": {}}]
    assert _find({"_id": {"$gt": None}, "empty_obj": {}}, docs) == ["eo"]


BEGINS_DOCS = [
    {"_id": "aaa", "name": "Jimi", "location": "AUS", "age": 27},
    {"_id": "abc", "name": "Eddie", "location": "AND", "age": 65},
    {"_id": "bbb", "name": "Harry", "location": "CAN", "age": 21},
    {"_id": "ccc", "name": "Eddie", "location": "DEN", "age": 37},
    {"_id": "ddd", "name": "Jones", "location": "ETH", "age": 49},
]


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ({"location": {"$beginsWith": "A"}}, ["aaa", "abc"]),
        ({"name": "Eddie", "location": {"$beginsWith": "A"}}, ["abc"]),
        ({"_id": {"$beginsWith": "a"}}, ["aaa", "abc"]),
        ({"age": {"$beginsWith": "a"}}, []),
        ({"name": {"$beginsWith": "Z"}}, []),
        ({"name": {"$beginsWith": "j"}}, []),
        ({"name": {"$beginsWith": "J"}}, ["aaa", "ddd"]),
    ],
)
def test_begins_with(selector: dict[str, Any], expected: list[str]) -> None:
    # BEGINS test_basic, test_compound_key, test_all_docs_range, test_does_not_match_non_string_value,
    # test_no_matches, test_case_sensitivity
    assert _find(selector, BEGINS_DOCS) == expected


# --- _id uses raw (code point) order, everything else ICU ------------------------------------------


@pytest.mark.parametrize(
    ("selector", "doc", "expected"),
    [
        ({"_id": {"$gt": "B"}}, {"_id": "a"}, True),  # raw: "B" < "a"
        ({"name": {"$gt": "B"}}, {"name": "a"}, False),  # ICU: "a" < "B"
        ({"_id": {"$lt": "b"}}, {"_id": "Z"}, True),
        ({"name": {"$lt": "b"}}, {"name": "Z"}, False),
        ({"_id": {"$eq": "\u00e9"}}, {"_id": "e\u0301"}, False),  # raw: different code points
        ({"name": {"$eq": "\u00e9"}}, {"name": "e\u0301"}, True),  # ICU: canonically equivalent
        ({"_id": {"$in": ["A", "b"]}}, {"_id": "b"}, True),
        ({"_id": {"$gt": 0}}, {"_id": "x"}, True),  # raw: numbers < strings
        ({"_id": {"$gt": {}}}, {"_id": "x"}, True),  # raw: objects < strings (ICU: objects last)
        ({"name": {"$gt": {}}}, {"name": "x"}, False),
        ({"sub._id": {"$gt": "B"}}, {"sub": {"_id": "a"}}, False),  # only the top-level "_id" field
    ],
)
def test_id_uses_raw_collation(selector: dict[str, Any], doc: dict[str, Any], expected: bool) -> None:
    assert matches(selector, doc) is expected


# --- field paths --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "parts"),
    [
        # DOC parse_field_test
        ("ab", ("ab",)),
        ("a.b", ("a", "b")),
        ("a\\.b", ("a.b",)),
        ("a.b.c", ("a", "b", "c")),
        ("a.b\\.c", ("a", "b.c")),
        # REF §6.2: "$"-prefixed field names escaped with a backslash
        ("\\$foo", ("$foo",)),
        ("a.\\$b", ("a", "$b")),
        ("0", ("0",)),
    ],
)
def test_parse_field(field: str, parts: tuple[str, ...]) -> None:
    assert parse_field(field) == parts


@pytest.mark.parametrize("field", ["a..b", "", ".a", "a.", "a.\\.."])
def test_parse_field_rejects_empty_segments(field: str) -> None:
    with pytest.raises(CouchError) as info:
        parse_field(field)
    assert info.value.status == 500
    assert info.value.error == "unknown_error"
    assert info.value.reason.startswith("Unknown Error: mango_util :: {invalid_field_name,<<")


@pytest.mark.parametrize(
    ("value", "field", "expected"),
    [
        ({"a": {"b": 1}}, "a.b", 1),
        ({"a": {"b": 1}}, "a.c", NOT_FOUND),
        ({"a": {"b": None}}, "a.b", None),
        ({"a": 5}, "a.b", BAD_PATH),
        ({"a": "str"}, "a.0", BAD_PATH),
        ({"a": [10, 20]}, "a.1", 20),
        ({"a": [10, 20]}, "a.2", BAD_PATH),
        ({"a": [10, 20]}, "a.-1", BAD_PATH),
        ({"a": [10, 20]}, "a.x", BAD_PATH),
        ({"a": [10, 20]}, "a. 1", BAD_PATH),
        ({"a": [{"b": 1}]}, "a.0.b", 1),
        ({"a.b": 2}, "a\\.b", 2),
        ({"a.b": 2}, "a.b", NOT_FOUND),
        ({"$x": 3}, "\\$x", 3),
    ],
)
def test_get_field(value: Any, field: str, expected: Any) -> None:
    assert get_field(value, field) == expected


@pytest.mark.parametrize(
    ("selector", "doc", "expected"),
    [
        ({"a\\.b": 1}, {"a.b": 1}, True),
        ({"a\\.b": 1}, {"a": {"b": 1}}, False),
        ({"a.b": 1}, {"a": {"b": 1}}, True),
        ({"a": {"b\\.c": 1}}, {"a": {"b.c": 1}}, True),
        ({"\\$x": 1}, {"$x": 1}, True),
        ({"tags.1": "b"}, {"tags": ["a", "b"]}, True),
        ({"tags.5": {"$exists": False}}, {"tags": ["a"]}, False),  # bad path, not missing
        ({"a.b": {"$exists": False}}, {"a": 5}, False),
        ({"a.b": {"$exists": False}}, {"a": {}}, True),
        ({"a.b": {"$exists": False}}, {}, True),
    ],
)
def test_dotted_paths(selector: dict[str, Any], doc: dict[str, Any], expected: bool) -> None:
    assert matches(selector, doc) is expected


def test_empty_path_segment_fails_at_match_time() -> None:
    selector = normalize({"a..b": 1})  # CouchDB normalises it and fails on the first document
    with pytest.raises(CouchError) as info:
        selector.matches({"a": 1})
    assert info.value.status == 500


# --- normalisation ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("selector", "normalized"),
    [
        # mango_selector.erl norm_fields/norm_negations comments
        ({"foo": {"$and": [{"$gt": 5}, {"$lt": 10}]}}, {"$and": [{"foo": {"$gt": 5}}, {"foo": {"$lt": 10}}]}),
        ({"foo": {"bar": {"$gt": 10}}}, {"foo.bar": {"$gt": 10}}),
        ({"$not": {"foo": {"$gt": 10}}}, {"foo": {"$lte": 10}}),
        (
            {"$not": {"$and": [{"foo": {"$gt": 10}}, {"foo": {"$lt": 5}}]}},
            {"$or": [{"foo": {"$lte": 10}}, {"foo": {"$gte": 5}}]},
        ),
        # elemMatch normalisation comment in match/3
        (
            {"field_name": {"$elemMatch": {"$gte": 80, "$lt": 85}}},
            {"field_name": {"$elemMatch": {"$and": [{"": {"$gte": 80}}, {"": {"$lt": 85}}]}}},
        ),
        # implicit $and / $eq
        ({"a": 1, "b": "x"}, {"$and": [{"a": {"$eq": 1}}, {"b": {"$eq": "x"}}]}),
        ({"a": [1, 2]}, {"a": {"$eq": [1, 2]}}),
        ({"a": None}, {"a": {"$eq": None}}),
        # negations of every invertible operator
        ({"a": {"$not": {"$lt": 1}}}, {"a": {"$gte": 1}}),
        ({"a": {"$not": {"$lte": 1}}}, {"a": {"$gt": 1}}),
        ({"a": {"$not": {"$eq": 1}}}, {"a": {"$ne": 1}}),
        ({"a": {"$not": {"$ne": 1}}}, {"a": {"$eq": 1}}),
        ({"a": {"$not": {"$gte": 1}}}, {"a": {"$lt": 1}}),
        ({"a": {"$not": {"$gt": 1}}}, {"a": {"$lte": 1}}),
        ({"a": {"$not": {"$in": [1]}}}, {"a": {"$nin": [1]}}),
        ({"a": {"$not": {"$nin": [1]}}}, {"a": {"$in": [1]}}),
        ({"a": {"$not": {"$exists": True}}}, {"a": {"$exists": False}}),
        ({"a": {"$not": {"$not": {"$gt": 1}}}}, {"a": {"$gt": 1}}),
        ({"a": {"$not": {"$size": 1}}}, {"a": {"$not": {"$size": 1}}}),
        ({"a": {"$not": {"$elemMatch": {"b": 1}}}}, {"a": {"$not": {"$elemMatch": {"b": {"$eq": 1}}}}}),
        ({"$nor": [{"a": 1}, {"b": 2}]}, {"$and": [{"a": {"$ne": 1}}, {"b": {"$ne": 2}}]}),
        ({"$not": {"$nor": [{"a": 1}]}}, {"$or": [{"a": {"$eq": 1}}]}),
        ({"$not": {"$or": [{"a": 1}, {"b": 2}]}}, {"$and": [{"a": {"$ne": 1}}, {"b": {"$ne": 2}}]}),
        # the nested path join is textual, escapes survive
        ({"a": {"b\\.c": 1}}, {"a.b\\.c": {"$eq": 1}}),
        # $text becomes $default at the root
        ({"$text": "hello"}, {"$default": {"$text": "hello"}}),
        # empty combinators are kept
        ({"$or": []}, {"$or": []}),
        ({"a": 1, "$and": []}, {"$and": [{"a": {"$eq": 1}}, {"$and": []}]}),
    ],
)
def test_normalize(selector: dict[str, Any], normalized: dict[str, Any]) -> None:
    original = copy.deepcopy(selector)
    result = normalize(selector)
    assert isinstance(result, Selector)
    assert result.tree == normalized
    assert result.to_json() == normalized
    assert selector == original  # input not modified
    assert normalize(result.tree).tree == normalized  # idempotent


@pytest.mark.parametrize(
    ("selector", "error", "reason"),
    [
        # ERR invalid_operator
        ({"foo": {"$not_an_op": 2}}, "invalid_operator", "Invalid operator: $not_an_op"),
        ({"$foo": 1}, "invalid_operator", "Invalid operator: $foo"),
        ({"a": {"$regex": 1}}, "invalid_operator", "Invalid operator: $regex"),
        ({"_id": {"$beginsWith": True}}, "invalid_operator", "Invalid operator: $beginsWith"),
        ({"user_id": {"$beginsWith": 1}}, "invalid_operator", "Invalid operator: $beginsWith"),
        # ERR not_supported
        ({"$where": "function() {}"}, "not_supported", "Unsupported operator: $where"),
        ({"loc": {"$geoWithin": {}}}, "not_supported", "Unsupported operator: $geoWithin"),
        ({"loc": {"$near": [1, 2]}}, "not_supported", "Unsupported operator: $near"),
        # ERR invalid_selector (BASIC test_bad_selector {"$gt": 2})
        ({"$gt": 2}, "invalid_selector", "One or more conditions is missing a field name."),
        ({"$not": {"$gt": 2}}, "invalid_selector", "One or more conditions is missing a field name."),
        # ERR bad_arg (argument printed like Erlang ~w)
        ({"$and": {"a": 1}}, "bad_arg", "Bad argument for operator $and: {[{<<97>>,1}]}"),
        ({"$or": "x"}, "bad_arg", "Bad argument for operator $or: <<120>>"),
        ({"$nor": None}, "bad_arg", "Bad argument for operator $nor: null"),
        ({"a": {"$not": [1]}}, "bad_arg", "Bad argument for operator $not: [1]"),
        ({"a": {"$not": 1}}, "bad_arg", "Bad argument for operator $not: 1"),
        ({"a": {"$in": 5}}, "bad_arg", "Bad argument for operator $in: 5"),
        ({"a": {"$nin": {"x": 1}}}, "bad_arg", "Bad argument for operator $nin: {[{<<120>>,1}]}"),
        ({"a": {"$all": "x"}}, "bad_arg", "Bad argument for operator $all: <<120>>"),
        ({"a": {"$exists": 1}}, "bad_arg", "Bad argument for operator $exists: 1"),
        ({"a": {"$exists": "true"}}, "bad_arg", "Bad argument for operator $exists: <<116,114,117,101>>"),
        ({"a": {"$type": 1}}, "bad_arg", "Bad argument for operator $type: 1"),
        ({"a": {"$mod": [2]}}, "bad_arg", "Bad argument for operator $mod: [2]"),
        ({"a": {"$mod": [2, 1.0]}}, "bad_arg", "Bad argument for operator $mod: [2,1.0]"),
        ({"a": {"$mod": [True, 1]}}, "bad_arg", "Bad argument for operator $mod: [true,1]"),
        ({"a": {"$mod": [0, 1]}}, "bad_arg", "Bad argument for operator $mod: [0,1]"),
        ({"a": {"$regex": "("}}, "bad_arg", "Bad argument for operator $regex: <<40>>"),
        ({"a": {"$regex": "[z-a]"}}, "bad_arg", "Bad argument for operator $regex: <<91,122,45,97,93>>"),
        ({"a": {"$elemMatch": 1}}, "bad_arg", "Bad argument for operator $elemMatch: 1"),
        ({"a": {"$allMatch": []}}, "bad_arg", "Bad argument for operator $allMatch: []"),
        ({"a": {"$keyMapMatch": "k"}}, "bad_arg", "Bad argument for operator $keyMapMatch: <<107>>"),
        ({"a": {"$size": -1}}, "bad_arg", "Bad argument for operator $size: -1"),
        ({"a": {"$size": 1.5}}, "bad_arg", "Bad argument for operator $size: 1.5"),
        ({"a": {"$size": "3"}}, "bad_arg", "Bad argument for operator $size: <<51>>"),
        ({"$text": {"q": 1}}, "bad_arg", "Bad argument for operator $text: {[{<<113>>,1}]}"),
        (
            {"a": {"$beginsWith": "\ud800"}},
            "bad_arg",
            "Bad argument for operator $beginsWith: <<237,160,128>>",
        ),
        (
            {"$not": {"$text": "x"}},
            "bad_arg",
            "Bad argument for operator $not: {[{<<36,100,101,102,97,117,108,116>>,"
            "{[{<<36,116,101,120,116>>,<<120>>}]}}]}",
        ),
        ({"a": {"$in": "é"}}, "bad_arg", "Bad argument for operator $in: <<195,169>>"),
        # ERR bad_field: $text is only valid at the root
        (
            {"a": {"$text": "x"}},
            "bad_field",
            "Invalid field normalization on selector: "
            "{[{<<36,100,101,102,97,117,108,116>>,{[{<<36,116,101,120,116>>,<<120>>}]}}]}",
        ),
        (
            {"$default": 1},
            "bad_field",
            "Invalid field normalization on selector: {[{<<36,100,101,102,97,117,108,116>>,1}]}",
        ),
    ],
)
def test_normalize_errors(selector: dict[str, Any], error: str, reason: str) -> None:
    with pytest.raises(CouchError) as info:
        normalize(selector)
    assert (info.value.status, info.value.error, info.value.reason) == (400, error, reason)


@pytest.mark.parametrize("selector", [None, True, False, 1.0, "foobarbaz", [None, "bing"]])
def test_non_object_selector(selector: Any) -> None:
    # BASIC test_bad_selector (non-object bodies); mango_opts invalid_selector_json
    with pytest.raises(CouchError) as info:
        normalize(selector)
    assert info.value.status == 400
    assert info.value.error == "invalid_selector_json"
    assert info.value.reason.startswith("Selector must be a JSON object, not: ")


def test_text_selector_matches_everything() -> None:
    # mango_selector: $default is trusted to the text index
    assert matches({"$text": "anything"}, {"a": 1})


def test_selector_object_is_reusable() -> None:
    selector = normalize({"age": {"$gt": 30}, "manager": True})
    assert [selector.matches(user) for user in USERS] == [
        True,
        False,
        True,
        True,
        True,
        False,
        False,
        False,
        False,
    ]
    assert matches(selector, USERS[0]) is True


# --- erlang_term (~w) ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "null"),
        (True, "true"),
        (False, "false"),
        (0, "0"),
        (-12, "-12"),
        (1.5, "1.5"),
        (2.0, "2.0"),
        (1e16, "1.0e16"),
        (1.5e-7, "1.5e-7"),
        ("", "<<>>"),
        ("ab", "<<97,98>>"),
        ([], "[]"),
        ([1, [2]], "[1,[2]]"),
        ({}, "{[]}"),
        ({"a": [None]}, "{[{<<97>>,[null]}]}"),
    ],
)
def test_erlang_term(value: Any, text: str) -> None:
    assert erlang_term(value) == text


# --- projection (mango_fields:extract/2) ----------------------------------------------------------------

PROJECT_DOC = {
    "_id": "x",
    "_rev": "1-a",
    "user_id": 7,
    "location": {"address": {"street": "Main"}, "city": "Reno"},
    "tags": ["a", "b", {"c": 1}],
    "a.b": "dotted",
}


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        # BASIC test_fields
        (["user_id", "location.address"], {"user_id": 7, "location": {"address": {"street": "Main"}}}),
        (["_id", "_rev"], {"_id": "x", "_rev": "1-a"}),
        (["user_id"], {"user_id": 7}),
        (["missing", "location.missing", "user_id.x"], {}),
        (
            ["location.city", "location.address.street"],
            {"location": {"city": "Reno", "address": {"street": "Main"}}},
        ),
        (["location", "location.city"], {"location": PROJECT_DOC["location"]}),
        (["tags.1"], {"tags": {"1": "b"}}),
        (["tags.2.c"], {"tags": {"2": {"c": 1}}}),
        (["tags", "tags.1"], {"tags": ["a", "b", {"c": 1}]}),
        (["tags.9"], {}),
        (["a\\.b"], {"a.b": "dotted"}),
        (["user_id", "_id"], {"user_id": 7, "_id": "x"}),
    ],
)
def test_project(fields: list[str], expected: dict[str, Any]) -> None:
    original = copy.deepcopy(PROJECT_DOC)
    result = project(PROJECT_DOC, fields)
    assert result == expected
    assert list(result) == list(expected)
    assert original == PROJECT_DOC


@pytest.mark.parametrize("fields", [None, []])
def test_project_all_fields(fields: list[str] | None) -> None:
    assert project(PROJECT_DOC, fields) is PROJECT_DOC


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        # BASIC test_bad_fields
        (True, "invalid_fields"),
        (1.2, "invalid_fields"),
        ("no limit!", "invalid_fields"),
        ({"foo": "bar"}, "invalid_fields"),
        ([2], "invalid_field"),
        ([[]], "invalid_field"),
        (["foo", 2.0], "invalid_field"),
    ],
)
def test_project_bad_fields(fields: Any, error: str) -> None:
    with pytest.raises(CouchError) as info:
        project(PROJECT_DOC, fields)
    assert (info.value.status, info.value.error) == (400, error)
