"""Operator-by-operator table tests of ``POST /{db}/_find`` over HTTP, with CouchDB's semantics.

Every case is (doc set, selector, expected ids, source) and runs twice: on a database without
indexes (answered from ``_all_docs``) and on a copy of it with json indexes on the fields the cases
use (CouchDB's Python suite runs its operator tests the same two ways: ``OperatorJSONTests`` and
``OperatorAllDocsTests``). Results are compared as sets of ids; ordering is tested in
``test_mango_api.py`` and ``test_find_differential.py``. Each table is also checked against the
independent reference evaluator (:mod:`tests.mango.reference`) without a server, so the expected
ids, the reference and the server have to agree three ways.

Case sources (CDB = github.com/apache/couchdb):
  OPS   CDB src/mango/test/03-operator-test.py (and its port test/elixir/test/mango/03_operator_test.exs)
  BASIC CDB src/mango/test/02-basic-find-test.py
  EMPTY CDB src/mango/test/21-empty-selector-tests.py / test/elixir/test/mango/21_empty_selector_test.exs
  MULTI CDB test/elixir/test/mango/17_multi_type_value_test.exs
  SEL   CDB src/mango/src/mango_selector.erl (match/3, norm_negations, the $in/$all/$mod clauses)
  CUR   CDB src/mango/src/mango_cursor.erl maybe_noop_range/2 (empty $or/$and/$in/$all alone)
  ERR   CDB src/mango/src/mango_error.erl, mango_opts.erl (error statuses, names, reasons)
  REF   /work/shared/reference/couchdb-protocol.md §6.1-6.2
  OWN   our own case for a documented rule (the rule's source is named)
The documents are our own small fixtures (CouchDB's user_docs.py is not copied); where a case is a
port, the expected ids were worked out for these documents from the same rule the CouchDB test checks.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from tests.mango import reference
from tests.mango.conftest import LiveServer, SyncClient

# --------------------------------------------------------------------------------------------------
# doc sets

USERS: list[dict[str, Any]] = [
    {"_id": "u00", "user_id": 0, "name": {"first": "Stephanie", "last": "Kirkland"}, "age": 48,
     "location": {"state": "Nevada", "city": "Ronco"}, "company": "Dreamia", "manager": False,
     "twitter": "@stephaniekirkland", "favorites": ["Ruby", "C", "Python"]},
    {"_id": "u01", "user_id": 1, "name": {"first": "Abbott", "last": "Watson"}, "age": 31,
     "location": {"state": "Connecticut", "city": "Gerber"}, "company": "Talkola", "manager": True,
     "twitter": "@abbottwatson", "favorites": ["Ruby", "Python", "C", {"Versions": {"Alpha": "Beta"}}]},
    {"_id": "u02", "user_id": 2, "name": {"first": "Shelly", "last": "Ewing"}, "age": 42,
     "location": {"state": "New Mexico", "city": "Thornport"}, "company": "Zialactic", "manager": True,
     "favorites": ["Lisp", "Python", "Erlang"]},
    {"_id": "u03", "user_id": 3, "name": {"first": "Madelyn", "last": "Soto"}, "age": 79,
     "location": {"state": "Utah", "city": "Albany"}, "company": "Tasmania", "manager": True,
     "favorites": "Ruby"},
    {"_id": "u04", "user_id": 4, "name": {"first": "Nona", "last": "Horton"}, "age": 61,
     "location": {"state": "Georgia", "city": "Corinne"}, "company": "Signidyne", "manager": False,
     "twitter": "@nonahorton", "favorites": ["Lisp", "C", "Ruby"]},
    {"_id": "u05", "user_id": 5, "name": {"first": "Sheri", "last": "Perkins"}, "age": 73,
     "location": {"state": "Michigan", "city": "Nutrioso"}, "company": "Myopium",
     "favorites": ["Lisp", "Lisp"]},
    {"_id": "u06", "user_id": 6, "name": {"first": "Tasha", "last": "Rodriquez"}, "age": 23,
     "location": {"state": "Kansas", "city": "Chelsea"}, "company": "Pharmex",
     "favorites": ["Erlang", "Python", "Ruby", "C"]},
    {"_id": "u07", "user_id": 7, "name": {"first": "Edwards", "last": "Maldonado"}, "age": 19,
     "location": {"state": "Arizona", "city": "Longbranch"}, "company": "Comveyer", "manager": True,
     "favorites": ["Erlang", "Python", "Lisp"]},
    {"_id": "u08", "user_id": 8, "name": {"first": "Clarke", "last": "Sosa"}, "age": 77,
     "location": {"state": "Massachusetts", "city": "Hall"}, "company": "Medifax", "manager": False,
     "favorites": ["C", "Lisp"]},
    {"_id": "u09", "user_id": 9, "name": {"first": "Mathis", "last": "Hernandez"}, "age": 22,
     "location": {"state": "New York", "city": "Ola"}, "company": "Gorganic", "manager": True,
     "twitter": None, "favorites": ["Lisp", "Python", "Ruby"]},
    {"_id": "u10", "user_id": 10, "name": {"first": "Whitley", "last": "Patrick"}, "age": 77,
     "location": {"state": "New Hampshire", "city": "Elliott"}, "company": "Talendula", "manager": False,
     "favorites": ["Erlang", "C"]},
    # OPS test_elem_match / test_all_match / test_empty_all_match / keymap match / beginsWith docs
    {"_id": "ua", "user_id": "a", "bang": [{"foo": 1, "bar": 2}]},
    {"_id": "ub", "user_id": "b", "bang": [{"foo": 2, "bam": True}]},
    {"_id": "uc", "user_id": "c", "bang": [{"foo": 1, "bar": 2}, {"foo": 3, "bar": 4}]},
    {"_id": "ud", "user_id": "d", "bang": [{"foo": 1, "bar": 2}, {"foo": 4, "bar": 4}]},
    {"_id": "ue", "user_id": "e", "emptybang": []},
    {"_id": "uf", "user_id": "f", "foo": {"aa": "bar", "bb": "bang"}},
    {"_id": "ug", "user_id": "g", "foo": {"cc": "bar", "bb": "bang"}},
    {"_id": "u99", "user_id": 99, "location": {"state": ":Bar"}},
]
USER_INDEXES = [
    ["user_id"], ["age"], ["twitter"], ["manager"], ["favorites"], ["favorites.3"],
    ["location.state", "location.city"], ["company", "manager"], ["name.last", "name.first"],
]

# one document per JSON type / value, plus one without the field (CouchDB collation:
# null < false < true < numbers < strings < arrays < objects)
TYPES: list[dict[str, Any]] = [
    {"_id": "t_null", "v": None},
    {"_id": "t_false", "v": False},
    {"_id": "t_true", "v": True},
    {"_id": "t_neg", "v": -3},
    {"_id": "t_zero", "v": 0},
    {"_id": "t_int", "v": 7},
    {"_id": "t_float", "v": 7.5},
    {"_id": "t_f8", "v": 8.0},
    {"_id": "t_s_empty", "v": ""},
    {"_id": "t_s_apple", "v": "apple"},
    {"_id": "t_s_Banana", "v": "Banana"},
    {"_id": "t_s_cherry", "v": "cherry"},
    {"_id": "t_s_7", "v": "7"},
    {"_id": "t_a_empty", "v": []},
    {"_id": "t_a_fruit", "v": ["apple", "pear"]},
    {"_id": "t_a_nums", "v": [1, 7]},
    {"_id": "t_a_nested", "v": [["apple"], "x"]},
    {"_id": "t_o_empty", "v": {}},
    {"_id": "t_o_fruit", "v": {"apple": 1, "pear": 2}},
    {"_id": "t_missing", "w": 1},
]
TYPE_INDEXES = [["v"]]
T_PRESENT = [d["_id"] for d in TYPES if "v" in d]
T_NUMBERS = ["t_neg", "t_zero", "t_int", "t_float", "t_f8"]
T_STRINGS = ["t_s_empty", "t_s_apple", "t_s_Banana", "t_s_cherry", "t_s_7"]
T_ARRAYS = ["t_a_empty", "t_a_fruit", "t_a_nums", "t_a_nested"]
T_OBJECTS = ["t_o_empty", "t_o_fruit"]

PATHS: list[dict[str, Any]] = [
    {"_id": "p1", "a": {"b": {"c": 1}}},
    {"_id": "p2", "a.b": {"c": 2}},  # a member whose name contains a dot
    {"_id": "p3", "a": {"b.c": 3}},
    {"_id": "p4", "a": [{"b": {"c": 4}}, {"b": {"c": 5}}]},
    {"_id": "p5", "a": 5},
    {"_id": "p6", "a": {"b": [10, 20, 30]}},
]
PATH_INDEXES = [["a.b.c"], ["a\\.b.c"], ["a.b\\.c"]]

EMPTY: list[dict[str, Any]] = [
    {"_id": "e1", "age": 22, "company": "Acme", "favorites": ["x"]},
    {"_id": "e2", "age": 30, "company": "Beta"},
    {"_id": "e3", "age": 40},
]
EMPTY_INDEXES = [["age"], ["company"]]

MULTI: list[dict[str, Any]] = [  # MULTI 17_multi_type_value_test.exs docs
    {"_id": "1", "name": "Jimi", "age": 10},
    {"_id": "2", "name": {"forename": "Eddie"}, "age": 20},
    {"_id": "3", "name": None, "age": 30},
    {"_id": "4", "name": 1, "age": 40},
    {"_id": "5", "forename": "Sam", "age": 50},
]
MULTI_INDEXES = [["name"], ["age", "name"]]

# ids compared raw (code point order) vs view collation of the same strings in a field
IDS: list[dict[str, Any]] = [{"_id": s, "s": s} for s in ["A", "B", "a", "b", "c", "1", "10", "9"]]
IDS_INDEXES = [["s"]]

DOCSETS: dict[str, tuple[list[dict[str, Any]], list[list[str]]]] = {
    "users": (USERS, USER_INDEXES),
    "types": (TYPES, TYPE_INDEXES),
    "paths": (PATHS, PATH_INDEXES),
    "empty": (EMPTY, EMPTY_INDEXES),
    "multi": (MULTI, MULTI_INDEXES),
    "ids": (IDS, IDS_INDEXES),
}


def uids(*user_ids: Any) -> list[str]:
    """Doc ids of USERS by their user_id."""
    by_uid = {d["user_id"]: d["_id"] for d in USERS}
    return [by_uid[u] for u in user_ids]


def but(ids: list[str], *drop: str) -> list[str]:
    return [i for i in ids if i not in drop]


# --------------------------------------------------------------------------------------------------
# the table: (docset, selector, expected ids, source)

Case = tuple[str, dict[str, Any], list[str], str]

CASES: list[Case] = [
    # ---- ported from OPS (03-operator-test.py) ------------------------------------------------
    ("users", {"manager": True, "favorites": {"$all": ["Lisp", "Python"]}}, uids(2, 7, 9), "OPS test_all"),
    ("users", {"manager": True, "location": {"$all": ["Ohai"]}}, [], "OPS test_all_non_array"),
    ("users", {"_id": {"$gt": None}, "bang": {"$elemMatch": {"foo": {"$gte": 1}, "bam": True}}}, uids("b"),
     "OPS test_elem_match"),
    ("users", {"bang": {"$allMatch": {"foo": {"$mod": [2, 1]}, "bar": {"$mod": [2, 0]}}}}, uids("a", "c"),
     "OPS test_all_match"),
    ("users", {"emptybang": {"$allMatch": {"foo": {"$eq": 2}}}}, [], "OPS test_empty_all_match"),
    ("users", {"manager": True, "favorites": {"$in": ["Ruby", "Python"]}}, uids(1, 2, 3, 7, 9),
     "OPS test_in_operator_array (u03's favorites is the string 'Ruby')"),
    ("users", {"manager": True, "favorites": {"$nin": ["Erlang", "Python"]}}, uids(3),
     "OPS test_nin_operator_array"),
    ("users", {"age": {"$gt": 40}, "location.state": {"$regex": "(?i)new.*"}}, uids(2, 10), "OPS test_regex"),
    ("users", {"age": {"$gt": 0}, "twitter": {"$exists": False}}, uids(2, 3, 5, 6, 7, 8, 10),
     "OPS test_exists_false"),
    ("users", {"age": {"$gt": 0}, "twitter": None}, uids(9), "OPS test_eq_null_does_not_include_missing"),
    ("users", {"twitter": {"$ne": "notamatch"}}, uids(0, 1, 4, 9), "OPS test_ne_includes_null_but_not_missing"),
    ("users", {"twitter": {"$lt": 1}}, uids(9), "OPS test_lt_includes_null_but_not_missing"),
    ("users", {"twitter": {"$lte": 1}}, uids(9), "OPS test_lte_includes_null_but_not_missing"),
    ("users", {"twitter": {"$lte": None}}, uids(9), "OPS test_lte_null_includes_null_but_not_missing"),
    ("users", {"twitter": {"$and": [{"$lte": "@z"}, {"$ne": None}]}}, uids(0, 1, 4),
     "OPS test_lte_at_z_except_null_excludes_null_and_missing"),
    ("users", {"twitter": {"$gte": None}}, uids(0, 1, 4, 9), "OPS test_range_gte_null_includes_null_but_not_missing"),
    ("users", {"twitter": {"$exists": False}}, uids(2, 3, 5, 6, 7, 8, 10, "a", "b", "c", "d", "e", "f", "g", 99),
     "OPS test_exists_false_returns_missing_but_not_null"),
    ("users", {"foo": {"$keyMapMatch": {"$eq": "aa"}}}, uids("f"), "OPS keymap match (03_operator_test.exs)"),
    ("users", {"location.state": {"$beginsWith": "New"}}, uids(2, 9, 10), "OPS beginsWith"),
    ("users", {"location.state": {"$beginsWith": "New "}}, uids(2, 9, 10), "OPS beginsWith (escaping)"),
    ("users", {"location.state": {"$beginsWith": ":"}}, uids(99), "OPS beginsWith"),
    ("users", {"location.state": {"$beginsWith": "Foo"}}, [], "OPS beginsWith"),
    ("users", {"location.state": {"$beginsWith": '"Foo'}}, [], "OPS beginsWith"),
    ("users", {"location.state": {"$beginsWith": " New"}}, [], "OPS beginsWith"),
    # ---- ported from BASIC (02-basic-find-test.py) ---------------------------------------------
    ("users", {"age": {"$lt": 35}}, uids(1, 6, 7, 9), "BASIC test_simple_find"),
    ("users", {"manager": True, "location.city": "Longbranch"}, uids(7), "BASIC test_multi_cond_and"),
    ("users", {"$and": [{"age": {"$gte": 75}}, {"$or": [{"name.first": "Mathis"}, {"name.first": "Whitley"}]}]},
     uids(10), "BASIC test_multi_cond_or"),
    ("users", {"location.state": {"$and": [{"$gt": "Hawaii"}, {"$lt": "Maine"}]},
               "location.city": {"$lt": "Longbranch"}}, uids(6), "BASIC test_multi_col_idx"),
    ("users", {"favorites.3": "C"}, uids(6), "BASIC test_missing_not_indexed"),
    ("users", {"favorites.3": None}, [], "BASIC test_missing_not_indexed"),
    ("users", {"twitter": {"$gt": None}}, uids(0, 1, 4), "BASIC test_missing_not_indexed"),
    ("users", {"_id": {"$gt": None}, "location": {}}, [], "BASIC test_empty_subsel"),
    ("users", {"$and": [{"age": {"$gt": 0}}, {"age": {"$lt": 0}}]}, [], "BASIC test_unsatisfiable_range"),
    ("users", {"age": {"$gt": 0, "$exists": True}}, uids(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10),
     "BASIC test_sort_exists_true (selector)"),
    # ---- ported from MULTI (17_multi_type_value_test.exs) ---------------------------------------
    ("multi", {"name": {"$exists": True}}, ["1", "2", "3", "4"], "MULTI can query with name"),
    ("multi", {"name.forename": {"$exists": True}}, ["2"], "MULTI can query with name subfield"),
    ("multi", {"name": {"$gte": 0}}, ["1", "2", "4"], "MULTI can query with name range"),
    ("multi", {"age": {"$gte": 0, "$lt": 40}, "name": {"$gte": 0}}, ["1", "2"],
     "MULTI can query with age and name range"),
    # ---- ported from EMPTY (21-empty-selector) and CUR -----------------------------------------
    ("empty", {"$or": []}, [], "EMPTY empty array or / CUR"),
    ("empty", {"age": 22, "$or": []}, ["e1"], "EMPTY empty array or with age"),
    ("empty", {"age": 22, "company": {"$in": []}}, [], "EMPTY empty array in with age"),
    ("empty", {"age": 22, "$and": []}, ["e1"], "EMPTY empty array and with age"),
    ("empty", {"age": 22, "company": {"$all": []}}, [], "EMPTY empty array all age"),
    ("empty", {"age": 22, "$and": [{"company": {"$all": []}}]}, [], "EMPTY empty array nested all with age"),
    ("empty", {"$or": [], "a": {"$in": []}}, [], "EMPTY empty arrays complex"),
    ("empty", {"favorites": {"$nin": []}}, ["e1"], "EMPTY empty nin (only docs having the field)"),
    ("empty", {"$and": []}, [], "CUR maybe_noop_range: {\"$and\": []} alone"),
    ("empty", {"company": {"$in": []}}, [], "SEL $in [] matches nothing"),
    ("empty", {}, ["e1", "e2", "e3"], "BASIC test_empty: {} matches every document"),
    # ---- type ordering across types (view collation) --------------------------------------------
    ("types", {"v": {"$gt": 7}}, ["t_float", "t_f8", *T_STRINGS, *T_ARRAYS, *T_OBJECTS],
     "REF §6.2 ($gt 7 also matches strings, arrays, objects)"),
    ("types", {"v": {"$lt": 0}}, ["t_null", "t_false", "t_true", "t_neg"], "REF §6.2 collation"),
    ("types", {"v": {"$lte": None}}, ["t_null"], "REF §6.2 collation"),
    ("types", {"v": {"$gte": None}}, T_PRESENT, "REF §6.2 collation (missing excluded)"),
    ("types", {"v": {"$lt": ""}}, ["t_null", "t_false", "t_true", *T_NUMBERS], "REF §6.2 collation"),
    ("types", {"v": {"$gte": []}}, [*T_ARRAYS, *T_OBJECTS], "REF §6.2 collation"),
    ("types", {"v": {"$gt": {}}}, ["t_o_fruit"], "REF §6.2 collation"),
    ("types", {"v": {"$gt": False, "$lt": 0}}, ["t_true", "t_neg"], "REF §6.2 collation"),
    ("types", {"v": {"$gte": "a", "$lt": "b"}}, ["t_s_apple"], "REF §6.2 ICU: apple < Banana < b"),
    ("types", {"v": {"$lt": "b"}}, ["t_null", "t_false", "t_true", *T_NUMBERS, "t_s_empty", "t_s_apple", "t_s_7"],
     "REF §6.2 ICU: digits < letters, 'Banana' > 'b'"),
    ("types", {"v": 8}, ["t_f8"], "SEL $eq compares numbers by value: 8 == 8.0"),
    ("types", {"v": {"$eq": 7}}, ["t_int"], "SEL $eq"),
    ("types", {"v": {"$eq": [1, 7]}}, ["t_a_nums"], "REF §6.2 $eq on an array compares the whole array"),
    ("types", {"v": [1, 7]}, ["t_a_nums"], "REF §6.2 implicit $eq with an array value"),
    ("types", {"v": {"$eq": {"apple": 1, "pear": 2}}}, ["t_o_fruit"], "SEL $eq on an object"),
    ("types", {"v": {"pear": 2, "apple": 1}}, ["t_o_fruit"], "REF §6.2 nested object = sub-fields"),
    ("types", {"v": {}}, ["t_o_empty"], "BASIC test_empty_subsel_match: {} is $eq {}"),
    ("types", {"v": {"$ne": 7}}, but(T_PRESENT, "t_int"), "REF §6.2 $ne fails on a missing field"),
    ("types", {"v": {"$ne": None}}, but(T_PRESENT, "t_null"), "REF §6.2 $ne fails on a missing field"),
    ("types", {"$not": {"v": 7}}, but(T_PRESENT, "t_int"), "SEL norm_negations: $not {v: 7} = v $ne 7"),
    # ---- $exists / $type ------------------------------------------------------------------------
    ("types", {"v": {"$exists": True}}, T_PRESENT, "SEL $exists"),
    ("types", {"v": {"$exists": False}}, ["t_missing"], "SEL $exists"),
    ("types", {"$not": {"v": {"$exists": True}}}, ["t_missing"], "SEL negate($exists) = $exists: not"),
    ("types", {"$not": {"v": {"$exists": False}}}, T_PRESENT, "SEL negate($exists)"),
    ("types", {"v": {"$type": "null"}}, ["t_null"], "SEL $type"),
    ("types", {"v": {"$type": "boolean"}}, ["t_false", "t_true"], "SEL $type"),
    ("types", {"v": {"$type": "number"}}, T_NUMBERS, "SEL $type"),
    ("types", {"v": {"$type": "string"}}, T_STRINGS, "SEL $type"),
    ("types", {"v": {"$type": "array"}}, T_ARRAYS, "SEL $type"),
    ("types", {"v": {"$type": "object"}}, T_OBJECTS, "SEL $type"),
    # ---- $size: arrays only ---------------------------------------------------------------------
    ("types", {"v": {"$size": 0}}, ["t_a_empty"], "SEL $size"),
    ("types", {"v": {"$size": 2}}, ["t_a_fruit", "t_a_nums", "t_a_nested"],
     "SEL $size only matches arrays (not the 2-member object, not strings)"),
    ("types", {"v": {"$size": 1}}, [], "SEL $size (the string '7' has length 1)"),
    ("types", {"v": {"$not": {"$size": 2}}}, but(T_PRESENT, "t_a_fruit", "t_a_nums", "t_a_nested"),
     "SEL negated $size keeps $not at the leaf: still fails on a missing field"),
    # ---- $mod: integers only, Erlang rem ------------------------------------------------------------
    ("types", {"v": {"$mod": [7, 0]}}, ["t_zero", "t_int"], "SEL $mod"),
    ("types", {"v": {"$mod": [2, 0]}}, ["t_zero"], "SEL $mod integers only (8.0 is a float)"),
    ("types", {"v": {"$mod": [2, 1]}}, ["t_int"], "SEL $mod"),
    ("types", {"v": {"$mod": [2, -1]}}, ["t_neg"], "SEL $mod: Erlang rem keeps the dividend's sign"),
    # ---- $regex / $beginsWith: strings only -----------------------------------------------------
    ("types", {"v": {"$regex": "^7"}}, ["t_s_7"], "SEL $regex only matches strings (not the number 7)"),
    ("types", {"v": {"$regex": "an"}}, ["t_s_Banana"], "SEL $regex (search, not only the start)"),
    ("types", {"v": {"$regex": "(?i)^b"}}, ["t_s_Banana"], "SEL $regex (?i)"),
    ("types", {"v": {"$regex": "apple"}}, ["t_s_apple"], "SEL $regex ignores arrays of strings"),
    ("types", {"v": {"$beginsWith": "ch"}}, ["t_s_cherry"], "OPS beginsWith"),
    ("types", {"v": {"$beginsWith": "b"}}, [], "OPS beginsWith is case-sensitive"),
    # ---- $in / $nin / $all ------------------------------------------------------------------------
    ("types", {"v": {"$in": ["apple", 7]}}, ["t_s_apple", "t_int", "t_a_fruit", "t_a_nums"],
     "SEL $in: a scalar equal to an argument, or an array with an element equal to one"),
    ("types", {"v": {"$in": [["apple"]]}}, ["t_a_nested"], "SEL $in tests array elements"),
    ("types", {"v": {"$in": [["apple", "pear"]]}}, [], "SEL $in never compares the whole array"),
    ("types", {"v": {"$in": [None, False]}}, ["t_null", "t_false"], "SEL $in"),
    ("types", {"v": {"$in": [8]}}, ["t_f8"], "SEL $in compares with collation (8 == 8.0)"),
    ("types", {"v": {"$nin": ["apple", 7]}}, but(T_PRESENT, "t_s_apple", "t_int", "t_a_fruit", "t_a_nums"),
     "SEL $nin (missing field excluded)"),
    ("types", {"v": {"$nin": []}}, T_PRESENT, "REF §6.2 empty $nin matches every present value"),
    ("types", {"v": {"$all": ["apple"]}}, ["t_a_fruit"], "SEL $all needs an array value"),
    ("types", {"v": {"$all": ["pear", "apple"]}}, ["t_a_fruit"], "SEL $all"),
    ("types", {"v": {"$all": [["apple", "pear"]]}}, ["t_a_fruit"], "SEL $all [[X, Y]] matches [X, Y]"),
    ("types", {"v": {"$all": [7]}}, ["t_a_nums"], "SEL $all"),
    ("types", {"v": {"$all": [7.0]}}, [], "SEL $all uses exact Erlang equality (7.0 =/= 7)"),
    # ---- $elemMatch / $allMatch / $keyMapMatch on empty and non-arrays ----------------------------
    ("types", {"v": {"$elemMatch": {"$eq": "pear"}}}, ["t_a_fruit"], "SEL $elemMatch"),
    ("types", {"v": {"$elemMatch": {"$gt": 5}}}, ["t_a_fruit", "t_a_nums", "t_a_nested"],
     "SEL $elemMatch with collation (strings and arrays > 5)"),
    ("types", {"v": {"$elemMatch": {"$exists": True}}}, ["t_a_fruit", "t_a_nums", "t_a_nested"],
     "SEL $elemMatch never matches an empty array"),
    ("types", {"v": {"$allMatch": {"$type": "string"}}}, ["t_a_fruit"], "SEL $allMatch"),
    ("types", {"v": {"$allMatch": {"$gt": 0}}}, ["t_a_fruit", "t_a_nums", "t_a_nested"],
     "SEL $allMatch: non-empty arrays only"),
    ("types", {"v": {"$keyMapMatch": {"$eq": "pear"}}}, ["t_o_fruit"], "SEL $keyMapMatch"),
    ("types", {"v": {"$keyMapMatch": {"$regex": "^a"}}}, ["t_o_fruit"], "SEL $keyMapMatch"),
    ("types", {"v": {"$keyMapMatch": {"$exists": True}}}, ["t_o_fruit"], "SEL $keyMapMatch: not on {}"),
    # ---- combinations and negation ----------------------------------------------------------------
    ("types", {"$not": {"v": {"$gt": 7}}}, ["t_null", "t_false", "t_true", "t_neg", "t_zero", "t_int"],
     "SEL norm_negations: $not $gt = $lte (missing excluded)"),
    ("types", {"$nor": [{"v": {"$type": "string"}}, {"v": {"$type": "array"}}]},
     but(T_PRESENT, *T_STRINGS, *T_ARRAYS), "SEL $nor"),
    ("types", {"$or": [{"v": {"$type": "boolean"}}, {"v": {"$in": [0]}}]}, ["t_false", "t_true", "t_zero"],
     "SEL $or (false is not 0)"),
    ("types", {"v": {"$or": [{"$lt": False}, {"$gt": {}}]}}, ["t_null", "t_o_fruit"], "SEL $or inside a field"),
    ("types", {"v": {"$not": {"$in": ["apple", 7]}}},
     but(T_PRESENT, "t_s_apple", "t_int", "t_a_fruit", "t_a_nums"), "SEL negate($in) = $nin"),
    ("types", {"$and": [{"v": {"$type": "number"}}, {"$not": {"v": {"$mod": [7, 0]}}}]},
     ["t_neg", "t_float", "t_f8"], "SEL $not $mod (non-integers do not match $mod, so $not matches)"),
    # ---- dotted paths, escapes, array indexes ------------------------------------------------------
    ("paths", {"a.b.c": 1}, ["p1"], "REF §6.2 dotted path"),
    ("paths", {"a": {"b": {"c": 1}}}, ["p1"], "REF §6.2 nested objects are sub-fields"),
    ("paths", {"a\\.b.c": 2}, ["p2"], "REF §6.2 \\\\. escapes a literal dot"),
    ("paths", {"a.b\\.c": 3}, ["p3"], "REF §6.2 \\\\. escapes a literal dot"),
    ("paths", {"a.b\\.c": {"$gt": 0}}, ["p3"], "REF §6.2 escaped path with a range"),
    ("paths", {"a.0.b.c": 4}, ["p4"], "CDB mango_doc:get_field (array index segment)"),
    ("paths", {"a.1.b.c": 5}, ["p4"], "CDB mango_doc:get_field (array index segment)"),
    ("paths", {"a.b.c": 4}, [], "CDB mango_doc:get_field: a name segment into an array is a bad path"),
    ("paths", {"a.b.1": 20}, ["p6"], "CDB mango_doc:get_field (array index segment)"),
    ("paths", {"a.b.c": {"$exists": False}}, ["p2", "p3"],
     "SEL match/3: not_found matches $exists:false, bad_path never does (p4, p5, p6)"),
    ("paths", {"a.b": {"$exists": True}}, ["p1", "p6"], "SEL $exists on a nested path"),
    ("paths", {"a": {"$type": "object"}}, ["p1", "p3", "p6"], "SEL $type"),
    # ---- _id compares raw (code points, Erlang term order), other fields with ICU -------------------
    ("ids", {"_id": {"$gt": "B"}}, ["a", "b", "c"], "SEL _id uses mango_json:cmp_raw ('a' > 'B')"),
    ("ids", {"s": {"$gt": "B"}}, ["c"], "REF §6.2 view collation (a < A < b < B < c)"),
    ("ids", {"_id": {"$lt": "A"}}, ["1", "10", "9"], "SEL _id raw: digits < uppercase"),
    ("ids", {"_id": {"$gt": None}}, ["A", "B", "a", "b", "c", "1", "10", "9"], "SEL _id raw: strings > null"),
    ("ids", {"_id": {"$lt": 5}}, [], "SEL _id raw: numbers < strings"),
    ("ids", {"_id": {"$gt": "1", "$lt": "9"}}, ["10"], "SEL _id raw"),
    ("ids", {"_id": {"$in": ["a", "Z"]}}, ["a"], "SEL _id $in"),
]


# --------------------------------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="module")
def world(live_server: LiveServer) -> Iterator[SyncClient]:
    c = live_server.client()
    for name, (docs, indexes) in DOCSETS.items():
        for variant in ("noidx", "idx"):
            dbname = f"ops-{name}-{variant}"
            c.create_db(dbname)
            c.bulk(dbname, [dict(d) for d in docs])
            if variant == "idx":
                for fields in indexes:
                    c.create_index(dbname, fields)
    yield c
    c.close()


def _ids(body: Any) -> list[str]:
    return sorted(d["_id"] for d in body["docs"])


def _case_id(case: Case) -> str:
    return f"{case[0]}:{case[3]}:{case[1]}"[:160]


# --------------------------------------------------------------------------------------------------
# tests


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_table_agrees_with_reference(case: Case) -> None:
    """The expected ids of the table equal the independent reference evaluation (no server)."""
    docset, selector, expected, _source = case
    docs = DOCSETS[docset][0]
    got = sorted(d["_id"] for d in reference.find(docs, selector, limit=10_000))
    assert got == sorted(expected)


@pytest.mark.parametrize("variant", ["noidx", "idx"])
@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_find_operator(world: SyncClient, case: Case, variant: str) -> None:
    docset, selector, expected, source = case
    r = world.find(f"/ops-{docset}-{variant}/_find", {"selector": selector, "limit": 1000})
    assert r.status == 200, f"{source}: {selector} -> {r}"
    assert _ids(r.body) == sorted(expected), f"{source} ({variant}): {selector}"


def test_all_docs_use_full_documents(world: SyncClient) -> None:
    """Matched documents come back whole (with ``_id`` and ``_rev``), exactly as stored."""
    r = world.find("/ops-types-noidx/_find", {"selector": {"v": {"$type": "object"}}})
    assert r.status == 200, str(r)
    by_id = {d["_id"]: d for d in r.body["docs"]}
    assert set(by_id) == {"t_o_empty", "t_o_fruit"}
    for doc_id, doc in by_id.items():
        assert doc["_rev"].startswith("1-")
        stored = next(d for d in TYPES if d["_id"] == doc_id)
        assert {k: v for k, v in doc.items() if k != "_rev"} == stored


# --------------------------------------------------------------------------------------------------
# errors: bad selectors and bad operator arguments (ERR / SEL normalize)

SELECTOR_ERRORS: list[tuple[Any, int, str, str | None, str]] = [
    ({"foo": {"$not_an_op": 2}}, 400, "invalid_operator", "Invalid operator: $not_an_op", "BASIC test_bad_selector"),
    ({"$gt": 2}, 400, "invalid_selector", "One or more conditions is missing a field name.", "BASIC test_bad_selector"),
    (None, 400, "invalid_selector_json", "Selector must be a JSON object, not: null", "BASIC test_bad_selector"),
    (True, 400, "invalid_selector_json", "Selector must be a JSON object, not: true", "BASIC test_bad_selector"),
    (False, 400, "invalid_selector_json", None, "BASIC test_bad_selector"),
    (1.0, 400, "invalid_selector_json", None, "BASIC test_bad_selector"),
    ("foobarbaz", 400, "invalid_selector_json", None, "BASIC test_bad_selector"),
    ([None, "bing"], 400, "invalid_selector_json", None, "BASIC test_bad_selector"),
    ({"a": {"$in": 5}}, 400, "bad_arg", "Bad argument for operator $in: 5", "SEL norm_ops $in"),
    ({"a": {"$nin": {"x": 1}}}, 400, "bad_arg", None, "SEL norm_ops $nin"),
    ({"a": {"$all": "x"}}, 400, "bad_arg", "Bad argument for operator $all: <<120>>", "SEL norm_ops $all"),
    ({"a": {"$size": "x"}}, 400, "bad_arg", "Bad argument for operator $size: <<120>>", "SEL norm_ops $size"),
    ({"a": {"$size": -1}}, 400, "bad_arg", "Bad argument for operator $size: -1", "SEL norm_ops $size"),
    ({"a": {"$size": 1.5}}, 400, "bad_arg", None, "SEL norm_ops $size"),
    ({"a": {"$mod": [2]}}, 400, "bad_arg", "Bad argument for operator $mod: [2]", "SEL norm_ops $mod"),
    ({"a": {"$mod": [2.5, 1]}}, 400, "bad_arg", None, "SEL norm_ops $mod (integers only)"),
    ({"a": {"$mod": "x"}}, 400, "bad_arg", None, "SEL norm_ops $mod"),
    ({"a": {"$exists": "yes"}}, 400, "bad_arg", "Bad argument for operator $exists: <<121,101,115>>",
     "SEL norm_ops $exists"),
    ({"a": {"$type": 5}}, 400, "bad_arg", "Bad argument for operator $type: 5", "SEL norm_ops $type"),
    ({"a": {"$elemMatch": 5}}, 400, "bad_arg", "Bad argument for operator $elemMatch: 5", "SEL norm_ops"),
    ({"a": {"$allMatch": [1]}}, 400, "bad_arg", None, "SEL norm_ops"),
    ({"a": {"$keyMapMatch": "x"}}, 400, "bad_arg", None, "SEL norm_ops"),
    ({"$and": {"a": 1}}, 400, "bad_arg", "Bad argument for operator $and: {[{<<97>>,1}]}", "SEL norm_ops $and"),
    ({"$or": 5}, 400, "bad_arg", "Bad argument for operator $or: 5", "SEL norm_ops $or"),
    ({"$nor": "x"}, 400, "bad_arg", None, "SEL norm_ops $nor"),
    ({"$not": [1]}, 400, "bad_arg", None, "SEL norm_ops $not"),
    ({"a": {"$regex": "("}}, 400, "bad_arg", "Bad argument for operator $regex: <<40>>", "SEL norm_ops $regex"),
    ({"a": {"$regex": 5}}, 400, "invalid_operator", "Invalid operator: $regex",
     "SEL norm_ops: $regex with a non-string falls through to the invalid operator clause"),
    ({"a": {"$beginsWith": 123}}, 400, "invalid_operator", None, "OPS beginsWith invalid prefix"),
    ({"a": {"$beginsWith": True}}, 400, "invalid_operator", None, "OPS beginsWith invalid prefix"),
    ({"a": {"$beginsWith": []}}, 400, "invalid_operator", None, "OPS beginsWith invalid prefix"),
    ({"a": {"$beginsWith": {}}}, 400, "invalid_operator", None, "OPS beginsWith invalid prefix"),
    ({"a": {"$where": "1"}}, 400, "not_supported", "Unsupported operator: $where", "SEL norm_ops $where"),
    ({"a": {"$near": [1, 2]}}, 400, "not_supported", None, "SEL norm_ops $near"),
    ({"a": {"$gt": 1, "$foo": 2}}, 400, "invalid_operator", "Invalid operator: $foo", "SEL norm_ops"),
    ({"a": {"$elemMatch": {"b": {"$foo": 1}}}}, 400, "invalid_operator", None, "SEL norm_ops (nested)"),
]


@pytest.mark.parametrize(
    "selector,status,error,reason,source", SELECTOR_ERRORS, ids=[f"{e[4]}:{e[0]!r}"[:120] for e in SELECTOR_ERRORS]
)
def test_selector_errors(
    world: SyncClient, selector: Any, status: int, error: str, reason: str | None, source: str
) -> None:
    for path in ("/ops-users-noidx/_find", "/ops-users-idx/_find", "/ops-users-idx/_explain"):
        r = world.find(path, {"selector": selector})
        assert (r.status, r.body.get("error")) == (status, error), f"{source}: POST {path} {selector!r} -> {r}"
        if reason is not None:
            assert r.body["reason"] == reason, f"{source}: {selector!r} -> {r}"


def test_counts() -> None:
    """Keep the case inventory visible (the report quotes these numbers)."""
    assert len(CASES) >= 120
    assert len(SELECTOR_ERRORS) >= 30
    assert len({c[0] for c in CASES}) == len(DOCSETS)
    assert not [k for k, g in itertools.groupby(sorted(map(_case_id, CASES))) if len(list(g)) > 1]
