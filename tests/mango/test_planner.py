"""The Mango planner (pure): ranges, usability, index choice, start/end keys.

Cases follow CouchDB's ``mango_idx_view.erl`` (``range/5`` comment table, ``is_usable``,
``can_use_sort``), ``mango_selector.erl`` (``has_required_fields`` eunit tests) and
``src/mango/test/05-index-selection-test.py`` (choice between indexes).
"""

from __future__ import annotations

from typing import Any

import pytest

from couchsync.errors import CouchError
from couchsync.mango import planner
from couchsync.mango.indexes import SPECIAL, Index
from couchsync.mango.planner import EMPTY, MAX, MIN, Range
from couchsync.mango.selector import normalize
from couchsync.mango.sort import Sort, parse_sort


def tree(sel: dict[str, Any]) -> dict[str, Any]:
    return normalize(sel).tree


def idx(name: str, *fields: str, ddoc: str | None = None, partitioned: bool = False,
        partial: dict[str, Any] | None = None) -> Index:
    return Index(ddoc or f"_design/{name}", name, "json", tuple((f, "asc") for f in fields), partitioned,
                 normalize(partial) if partial else None, partial)


RANGES = [
    ({"a": {"$gt": 1}}, Range("$gt", 1, "$lt", MAX)),
    ({"a": {"$gte": 1, "$lt": 5}}, Range("$gte", 1, "$lt", 5)),
    ({"a": {"$gt": 1, "$gte": 3}}, Range("$gte", 3, "$lt", MAX)),
    ({"a": {"$gte": 3, "$gt": 1}}, Range("$gte", 3, "$lt", MAX)),
    ({"a": {"$lt": 5, "$lte": 5}}, Range("$gt", MIN, "$lt", 5)),
    ({"a": {"$lte": 5, "$lt": 5}}, Range("$gt", MIN, "$lt", 5)),
    ({"a": {"$gte": 5, "$lte": 5}}, Range("$eq", 5, "$eq", 5)),
    ({"a": 5}, Range("$eq", 5, "$eq", 5)),
    ({"a": {"$gt": 5, "$lt": 5}}, EMPTY),
    ({"a": {"$gt": 5, "$eq": 5}}, EMPTY),
    ({"a": {"$eq": 5, "$lt": 3}}, EMPTY),
    ({"a": {"$gt": 5, "$lte": 5}}, EMPTY),
    # across types, view collation: numbers < strings
    ({"a": {"$gt": 5, "$lt": "a"}}, Range("$gt", 5, "$lt", "a")),
    ({"a": {"$gt": "a", "$lt": 5}}, EMPTY),
    # operators that narrow nothing
    ({"a": {"$gt": 1, "$ne": 3}}, Range("$gt", 1, "$lt", MAX)),
    ({"a": {"$gt": 1}, "$or": [{"a": 10}, {"a": 20}]}, Range("$gt", 1, "$lt", MAX)),
]


@pytest.mark.parametrize(("selector", "expected"), RANGES)
def test_field_range(selector: dict[str, Any], expected: Range | None) -> None:
    assert planner.field_range(tree(selector), "a") == expected


REQUIRED = [
    # (selector, required fields, covered?) — mango_selector has_required_fields tests
    ({"a": 1}, ["a"], True),
    ({"a": 1}, ["a", "b"], False),
    ({"a": {"$exists": False}}, ["a"], False),
    ({"a": {"$exists": True}}, ["a"], True),
    ({"a": {"$ne": 1}}, ["a"], True),
    ({"$or": [{"a": 1}, {"a": 2}]}, ["a"], True),
    ({"$or": [{"a": 1}, {"b": 2}]}, ["a"], False),
    ({"$and": [{"a": 1}, {"$or": [{"b": 1}, {"b": 2}]}]}, ["a", "b"], True),
    # normalised to {"a": {"$not": ...}}: a condition on a, which fails on a missing field
    ({"$not": {"a": {"$regex": "x"}}}, ["a"], True),
    ({"$nor": [{"a": 1}]}, ["a"], True),
    ({}, ["a"], False),
]


@pytest.mark.parametrize(("selector", "required", "covered"), REQUIRED)
def test_has_required_fields(selector: dict[str, Any], required: list[str], covered: bool) -> None:
    assert planner.has_required_fields(tree(selector), required) is covered


USABLE = [
    # (index columns, selector, sort fields, reason or None)
    (["a"], {"a": {"$gt": 1}}, [], None),
    (["a", "b"], {"a": 1}, [], "field_mismatch"),
    (["a", "b"], {"a": 1, "b": {"$exists": True}}, [], None),
    (["a"], {}, ["a"], None),  # sort fields need not be in the selector
    (["a", "b"], {"a": 1}, ["b"], None),  # a constant prefix column before the sort
    (["a", "b"], {"a": {"$gt": 1}}, ["b"], "sort_order_mismatch"),
    (["a", "b"], {"a": 1, "b": 1}, ["a", "b"], None),
    (["a", "b"], {"a": 1, "b": 1}, ["b", "a"], "sort_order_mismatch"),
    (["_id", "a"], {"a": 1}, [], None),  # _id is in every document
]


@pytest.mark.parametrize(("columns", "selector", "sort", "reason"), USABLE)
def test_usability(columns: list[str], selector: dict[str, Any], sort: list[str], reason: str | None) -> None:
    assert planner.usability(idx("i", *columns), tree(selector), sort) == reason


def _plan(selector: dict[str, Any], indexes: list[Index], sort: list[Any] | None = None,
          **kw: Any) -> planner.Plan:
    opts: dict[str, Any] = {"use_index": [], "partition": None, "db_partitioned": False, **kw}
    return planner.plan(tree(selector), parse_sort(sort or []), indexes, **opts)


def test_choice_prefers_the_index_covering_more_selector_fields() -> None:
    a, ab = idx("a", "a"), idx("ab", "a", "b")
    assert _plan({"a": 1, "b": 2}, [a, ab]).index is ab
    assert _plan({"a": 1}, [a, ab, idx("abc", "a", "b", "c")]).index is a  # fewest columns then


def test_choice_breaks_ties_by_ddoc_then_name() -> None:
    x, y = idx("y", "a", ddoc="_design/x"), idx("x", "a", ddoc="_design/y")
    assert _plan({"a": 1}, [y, x]).index is x


def test_all_docs_when_no_json_index_is_usable_and_sort_errors() -> None:
    assert _plan({"b": 1}, [idx("a", "a")]).index is SPECIAL
    assert _plan({"b": 1}, [], sort=["_id"]).index is SPECIAL
    p = _plan({"b": 1}, [], sort=["b"])
    assert p.index is None and p.error is not None
    assert (p.error.status, p.error.error) == (400, "no_usable_index")
    assert "No index exists for this sort" in p.error.reason
    error = _plan({"b": 1}, [], sort=["b"], partition="p", db_partitioned=True).error
    assert error is not None and error.reason.startswith("No partitioned index exists")
    error = _plan({"b": 1}, [], sort=["b"], db_partitioned=True).error
    assert error is not None and error.reason.startswith("No global index exists")


def test_scope_partial_and_use_index() -> None:
    glob, part = idx("g", "a"), idx("p", "a", partitioned=True)
    partial = idx("pf", "a", partial={"t": "x"})
    assert _plan({"a": 1}, [glob, part, partial]).index is glob
    assert _plan({"a": 1}, [glob, part], partition="h1", db_partitioned=True).index is part
    assert _plan({"a": 1}, [glob, partial], use_index=["pf"]).index is partial
    p = _plan({"a": 1}, [glob], use_index=["_design/nope", "x"])
    assert p.index is glob
    assert p.warnings == ["_design/nope, x was not used because it is not a valid index for this query."]
    with pytest.raises(CouchError) as e:
        _plan({"a": 1}, [glob], use_index=["nope"], allow_fallback=False)
    assert e.value.error == "no_usable_index"


def test_start_and_end_keys_and_empty_plans() -> None:
    p = _plan({"a": 1, "b": {"$gt": 5, "$lte": 9}}, [idx("ab", "a", "b")])
    assert p.start_key() == [1, 5]
    assert p.end_key() == [1, 9, MAX]
    p = _plan({"a": {"$lt": 3}}, [idx("a", "a")])
    assert (p.start_key(), p.end_key()) == ([], [3, MAX])
    assert _plan({"a": {"$gt": 3, "$lt": 2}}, [idx("a", "a")]).empty
    assert _plan({"$or": []}, []).empty
    assert not _plan({"a": 1, "$or": []}, [idx("a", "a")]).empty
    assert _plan({"a": 1}, [idx("a", "a")], sort=[{"a": "desc"}]).descending


def test_sort_validation() -> None:
    assert parse_sort(["a", {"b": "asc"}]) == Sort((("a", "asc"), ("b", "asc")))
    for bad, error in [("a", "invalid_sort_json"), ([{"a": "up"}], "invalid_sort_dir"),
                       ([1], "invalid_sort_field"), ([{"a": "asc"}, {"b": "desc"}], "unsupported_mixed_sort")]:
        with pytest.raises(CouchError) as e:
            parse_sort(bad)
        assert e.value.error == error
