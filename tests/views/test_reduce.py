"""Builtin reducers (couchsync.views.reduce) against CouchDB's exact shapes and errors.

Case sources (cited per row):
  QS    CouchDB src/couch/src/couch_query_servers.erl (the code, and its eunit tests at the end of the
        module: builtin_sum_rows_negative_test, sum_values_test, sum_values_negative_test,
        stat_values_test, reduce_stats_test)
  DOCS  CouchDB src/docs/src/ddocs/ddocs.rst "Built-in Reduce Functions" (the _sum example)
  MRV   CouchDB couch_mrview.erl validate/2 (reduce names)
  REF   /work/shared/reference/couchdb-protocol.md §4.4 and §7 item 30
  ERL   Erlang/OTP semantics the port relies on (lists:umerge/3, erlang:min/2, io_lib ~p/~w)
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from couchsync.errors import CouchError
from couchsync.views import reduce as r
from couchsync.views.reduce import SUM_ERROR


def kvs(*values: Any) -> list[tuple[Any, Any]]:
    return [(None, v) for v in values]


def sum_error(cause: Any) -> dict[str, Any]:
    return {"error": "builtin_reduce_error", "reason": SUM_ERROR, "caused_by": cause}


X = {"a": 1, "b": [1, 2], "c": {"d": 3}, "g": 1}
Y = {"a": 2, "b": 3, "c": {"e": 5}, "f": 1, "g": 1}
Z = {"a": 3, "b": [4, 2], "c": {"d": 3, "e": 5}, "f": 1, "g": 2}
ERR_KV = {"error": "builtin_reduce_error", "reason": SUM_ERROR, "caused_by": "some cause"}

# --------------------------------------------------------------------------------------- _count

COUNT_CASES = [
    # (kvs, expected, source)
    ([], 0, "QS length(KVs)"),
    (kvs(1, "a", None, {"x": 1}), 4, "QS: values are ignored"),
]


@pytest.mark.parametrize(("rows", "expected", "source"), COUNT_CASES)
def test_count(rows: list[Any], expected: int, source: str) -> None:
    assert r.reduce("_count", rows) == expected


def test_count_rereduce_sums() -> None:
    # QS builtin_reduce(rereduce, [<<"_count">>]) = builtin_sum_rows
    assert r.rereduce("_count", [3, 4, 0]) == 7
    assert r.rereduce("_count", []) == 0


# ----------------------------------------------------------------------------------------- _sum

SUM_CASES = [
    # (values, expected, source)
    ([1, 2, 3], 6, "QS sum_values number+number"),
    ([1, 2.5], 3.5, "QS: Erlang int + float is a float"),
    ([], 0, "QS builtin_sum_rows(KVs, 0)"),
    ([2, [3, 5, 7], [0, 0, 0, 42], 1, 3], [9, 5, 7, 42], "DOCS _sum example, ungrouped"),
    ([2, [3, 5, 7]], [5, 5, 7], "DOCS _sum example, group abc"),
    ([1, 3], 4, "DOCS _sum example, group ghi"),
    ([[3, 2, 4], [0, 3, 3]], [3, 5, 7], "QS sum_values_test [3,2,4]+[0,3,3]"),
    ([[1, 4, 6], 1], [2, 4, 6], "QS sum_values_test 1 + [1,4,6]"),
    ([X, Y], Z, "QS sum_values_test sum_values(Y, X)"),
    ([Y, X], Z, "QS sum_values_test sum_values(X, Y)"),
    ([{"b": 1, "a": 1}], {"b": 1, "a": 1}, "QS: a lone object is returned as is (Acc = 0)"),
    ([{"b": 1}, {"a": 1}], {"a": 1, "b": 1}, "QS sum_objects: merged keys sorted"),
    ([[1, "a"]], [1, "a"], "QS builtin_sum_rows_negative_test: one value is not checked"),
    ([1, -1, {"a": 1}], {"a": 1}, "QS: Acc 0 reached by summing still takes the object"),
    ([1, "a"], sum_error("a"), "QS throw_sum_error(Else): caused_by the value"),
    ([[1, 2], [1, "a"]], sum_error([2]), "QS sum_arrays(Else, _): caused_by the accumulator tail"),
    ([[1, "a"], [1, 2]], sum_error(["a"]), "QS sum_arrays: the accumulator tail at the bad position"),
    ([True], sum_error(True), "QS: true is not a number"),
    ([None, 1], sum_error(None), "QS: null is not a number"),
    ([{"a": 1}, 5], sum_error(5), "QS sum_values(Number, {Props}) falls to the error clause"),
    ([{"a": "x"}, {"a": 1}], sum_error(1), 'QS sum_values(1, <<"x">>): caused_by the value'),
    ([{"a": 1}, {"a": [1, 2]}, {"a": 3}], {"a": [5, 2]}, "QS nested number/array sums"),
    ([ERR_KV, 1], ERR_KV, "QS sum_values_negative_test: an error object passes through"),
    ([1, ERR_KV], ERR_KV, "QS builtin_sum_rows: {builtin_reduce_error, Obj} -> Obj"),
    ([0.1, 0.2], 0.1 + 0.2, "QS float addition"),
]


@pytest.mark.parametrize(("values", "expected", "source"), SUM_CASES)
def test_sum(values: list[Any], expected: Any, source: str) -> None:
    got = r.reduce("_sum", kvs(*values))
    assert got == expected
    assert type(got) is type(expected)


@pytest.mark.parametrize(
    ("acc_first", "then"),
    [(5, {"a": 1}), ([1, 2], {"a": 1})],
    ids=["number-then-object", "array-then-object"],
)
def test_sum_object_after_non_zero_is_case_clause(acc_first: Any, then: Any) -> None:
    # QS sum_values({Props}, Acc): `case Acc of 0 -> ...; {AccProps} -> ... end` has no other clause
    with pytest.raises(CouchError) as info:
        r.reduce("_sum", kvs(acc_first, then))
    assert (info.value.status, info.value.error) == (500, "case_clause")


def test_sum_rereduce_and_error_passthrough() -> None:
    assert r.rereduce("_sum", [[1, 2], [3], 4]) == [8, 2]
    error = r.reduce("_sum", kvs("x"))
    assert r.rereduce("_sum", [1, error, 2]) == error  # QS: rereduce of an error value


def test_sum_reduce_limit() -> None:
    # QS check_sum_overflow/3: output > 4906 bytes and output*2 > input -> error object
    wide = {f"field_{i:04d}": i for i in range(600)}
    got = r.reduce("_sum", kvs(wide))
    assert got["error"] == "builtin_reduce_error"
    assert got["reason"].startswith("Reduce output must shrink more rapidly: input size: ")
    assert "caused_by" not in got
    assert r.reduce("_sum", kvs(wide), reduce_limit=False) == wide
    # many inputs shrinking into one object of the same keys is fine
    assert r.reduce("_sum", kvs(*[wide] * 10))["field_0599"] == 5990


# ---------------------------------------------------------------------------------------- _stats


def stats(s: Any, c: Any, mn: Any, mx: Any, sq: Any) -> dict[str, Any]:
    return {"sum": s, "count": c, "min": mn, "max": mx, "sumsqr": sq}


STATS_CASES = [
    ([1, 2], stats(3, 2, 1, 2, 5), "REF §7 item 30"),
    ([2], stats(2, 1, 2, 2, 4), "QS reduce_stats_test [[null,key],2]"),
    ([], stats(0, 0, 0, 0, 0), "QS builtin_stats(_, [])"),
    ([[1, 2]], [stats(1, 1, 1, 1, 1), stats(2, 1, 2, 2, 4)], "QS reduce_stats_test [1,2]"),
    (
        [[2, 3, 5], [7, 11, 13]],
        [stats(9, 2, 2, 7, 53), stats(14, 2, 3, 11, 130), stats(18, 2, 5, 13, 194)],
        "QS stat_values_test",
    ),
    ([1, 10], stats(11, 2, 1, 10, 101), "QS stat_values_test (1, 10)"),
    ([-3, -1, 2], stats(-2, 3, -3, 2, 14), "negative values"),
    ([1.5, 2], stats(3.5, 2, 1.5, 2, 6.25), "floats"),
    ([stats(10, 4, 1, 4, 30), 5], stats(15, 5, 1, 5, 55), "DOCS pre-aggregated object mixed with numbers"),
    ([5, {**stats(10, 4, 1, 4, 30), "other": "ignored"}], stats(15, 5, 1, 5, 55), "DOCS other keys ignored"),
    (
        [[1, stats(2, 1, 2, 2, 4)]],
        [stats(1, 1, 1, 1, 1), stats(2, 1, 2, 2, 4)],
        "DOCS arrays of pre-aggregated",
    ),
    ([[[1, 2]]], [[stats(1, 1, 1, 1, 1), stats(2, 1, 2, 2, 4)]], "QS build_initial_accumulator recurses"),
]


@pytest.mark.parametrize(("values", "expected", "source"), STATS_CASES)
def test_stats(values: list[Any], expected: Any, source: str) -> None:
    got = r.reduce("_stats", kvs(*values))
    assert got == expected
    if isinstance(got, dict):
        assert list(got) == ["sum", "count", "min", "max", "sumsqr"]  # QS pack_stats order


def test_stats_rereduce_packed() -> None:
    a = r.reduce("_stats", kvs(1, 2))
    b = r.reduce("_stats", kvs(10))
    assert r.rereduce("_stats", [a, b]) == stats(13, 3, 1, 10, 105)
    arr = r.reduce("_stats", kvs([1, 2], [3, 4]))
    assert r.rereduce("_stats", [arr, arr]) == [stats(8, 4, 1, 3, 20), stats(12, 4, 2, 4, 40)]


def test_stats_min_keeps_first_of_equal_terms() -> None:
    # ERL erlang:min/2 returns the first argument when equal (1 == 1.0); Value comes first
    assert r.reduce("_stats", kvs(1.0, 1))["min"] == 1
    assert type(r.reduce("_stats", kvs(1.0, 1))["min"]) is int


STATS_ERRORS = [
    # (values, reason, error, source)
    (["abc"], "non-numeric _stats input: <<97,98,99>>", "invalid_value", "QS build_initial_accumulator ~w"),
    ([None], "non-numeric _stats input: null", "invalid_value", "QS build_initial_accumulator"),
    (
        [1, "abc"],
        "The _stats function requires that map values be numbers or arrays of numbers, not '<<\"abc\">>'",
        "invalid_value",
        "QS STATERROR ~p",
    ),
    (
        [1, None],
        "The _stats function requires that map values be numbers or arrays of numbers, not 'null'",
        "invalid_value",
        "QS STATERROR",
    ),
    (
        [1, True],
        "The _stats function requires that map values be numbers or arrays of numbers, not 'true'",
        "invalid_value",
        "QS STATERROR",
    ),
    (
        [1, [1, 2]],
        "The _stats function requires that map values be numbers or arrays of numbers, not '[1,2]'",
        "invalid_value",
        "QS stat_values(list, tuple) -> error on the list",
    ),
    (
        [[1, 2], 5],
        "The _stats function requires that map values be numbers or arrays of numbers, not '{5,1,5,5,25}'",
        "invalid_value",
        "QS stat_values(number, list) -> tuple vs list -> error on the tuple",
    ),
    (
        [1, "héllo"],
        "The _stats function requires that map values be numbers or arrays of numbers, not '<<\"héllo\"/utf8>>'",
        "invalid_value",
        "ERL ~p prints printable UTF-8 binaries with /utf8",
    ),
    (
        [{"sum": 1}],
        'user _stats input missing required field count ([{<<"sum">>,1}])',
        "invalid_value",
        "QS get_number/2 undefined",
    ),
    (
        [1, {"sum": 1, "count": "x", "min": 1, "max": 1, "sumsqr": 1}],
        "non-numeric _stats input received for count: <<120>>",
        "invalid_value",
        "QS get_number/2 non-number (~w)",
    ),
    ([[1, 2], [1, 2, 3]], None, "function_clause", "QS lists:zipwith/3 on different lengths"),
]


@pytest.mark.parametrize(("values", "reason", "error", "source"), STATS_ERRORS)
def test_stats_errors(values: list[Any], reason: str | None, error: str, source: str) -> None:
    with pytest.raises(CouchError) as info:
        r.reduce("_stats", kvs(*values))
    assert info.value.status == 500
    assert info.value.error == error
    if reason is not None:
        assert info.value.reason == reason


# ------------------------------------------------------------------------ _approx_count_distinct


def test_approx_count_distinct_small_is_exact() -> None:
    rows = [(k, None) for k in ["a", "b", "a", ["x", 1], {"o": 1}, None, 1, 1.0, True]]
    # 1 and 1.0 are different terms for CouchDB too (term_to_binary); values are ignored
    assert r.reduce("_approx_count_distinct", rows) == 8
    assert r.reduce("_approx_count_distinct", []) == 0
    for n in (1, 10, 100, 500):
        assert r.reduce("_approx_count_distinct", [(i, "v") for i in range(n)]) == n


def test_approx_count_distinct_large_within_hll_error() -> None:
    n = 50_000
    got = r.reduce("_approx_count_distinct", [(f"key-{i}", None) for i in range(n)])
    assert isinstance(got, int)
    assert abs(got - n) / n < 0.05  # DOCS: relative error ~2% (precision 11)


def test_approx_count_distinct_states_merge() -> None:
    a = r.reduce_state("_approx_count_distinct", [(i, None) for i in range(0, 300)])
    b = r.reduce_state("_approx_count_distinct", [(i, None) for i in range(200, 400)])
    merged = r.rereduce_state("_approx_count_distinct", [a, b])
    assert r.finalize("_approx_count_distinct", merged) == 400  # union, not sum
    with pytest.raises(ValueError):
        r.rereduce("_approx_count_distinct", [300, 200])


# ----------------------------------------------------------------------- _top_N / _bottom_N

RANK_CASES = [
    # (name, values, expected, source)
    ("_top_3", [1, 5, 3, 2, 9], [9, 5, 3], "QS builtin_rank_n top"),
    ("_bottom_3", [4, 1, 5, 3], [1, 3, 4], "QS builtin_rank_n bottom"),
    ("_top_3", [5, 5.0, 5, 1], [5, 1], "ERL lists:umerge drops == duplicates (5 == 5.0)"),
    ("_bottom_2", [True, 1, 1], [True, 1], "ERL true /= 1; view collation true < numbers"),
    ("_top_5", ["b", "A", "a", None, [1], {"k": 1}, 2], [{"k": 1}, [1], "b", "A", "a"], "collation order"),
    ("_top_100", [], [], "empty"),
    ("_top_2", [[1, 2], [1, 2], [1, 3]], [[1, 3], [1, 2]], "array values, duplicates dropped"),
]


@pytest.mark.parametrize(("name", "values", "expected", "source"), RANK_CASES)
def test_rank_n(name: str, values: list[Any], expected: list[Any], source: str) -> None:
    assert r.reduce(name, kvs(*values)) == expected


def test_rank_n_matches_plain_umerge_fold() -> None:
    # the bisect implementation equals the literal Erlang fold (lists:umerge then sublist)
    import random

    rnd = random.Random(7)
    pool: list[Any] = [0, 1, 1.0, 2, 2.5, "a", "A", "b", None, True, False, [1], [1, 2], {"x": 1}]
    for _ in range(300):
        values = [rnd.choice(pool) for _ in range(rnd.randint(0, 25))]
        for top in (True, False):
            fun = r._rank_fun(top)
            acc: list[Any] = []
            for v in values:
                acc = r._umerge(fun, acc, [v])
            for n in (1, 3, 10):
                name = f"_top_{n}" if top else f"_bottom_{n}"
                assert r.reduce(name, kvs(*values)) == acc[:n], (name, values)


def test_rank_n_rereduce() -> None:
    a = r.reduce("_top_3", kvs(9, 7, 1))
    b = r.reduce("_top_3", kvs(8, 7, 2))
    assert r.rereduce("_top_3", [a, b]) == [9, 8, 7]
    assert r.rereduce("_bottom_2", [[1, 3], [2, 3]]) == [1, 2]


# ------------------------------------------------------------------------------- _first / _last


def test_first_last() -> None:
    rows = [("b", 1), ("a", 2), ("a", 3), ("c", 4)]
    ids = ["d1", "d9", "d2", "d3"]
    assert r.reduce("_first", rows, ids) == 3  # lowest (key, id): ("a", "d2")
    assert r.reduce("_last", rows, ids) == 4
    assert r.reduce("_first", rows) == 2  # without ids: the first of equal keys
    assert r.reduce("_last", [("a", 1), ("a", 2)]) == 2
    assert r.reduce("_first", []) == []  # QS builtin_first_last(reduce, _, []) -> []
    s1 = r.reduce_state("_first", rows[:2], ids[:2])
    s2 = r.reduce_state("_first", rows[2:], ids[2:])
    assert r.finalize("_first", r.rereduce_state("_first", [s1, s2])) == 3
    assert r.rereduce("_last", [1, 2, 3]) == 3


# -------------------------------------------------------------------------------------- names

NAME_CASES = [
    # (name, canonical or None, source)
    ("_sum", "_sum", "MRV"),
    ("_count", "_count", "MRV"),
    ("_stats", "_stats", "MRV"),
    ("_approx_count_distinct", "_approx_count_distinct", "MRV"),
    ("_sum_of_things", "_sum", 'MRV <<"_sum", _/binary>> prefix match'),
    ("_first", "_first", "QS 3.5"),
    ("_last", "_last", "QS 3.5"),
    ("_top_1", "_top_1", "DOCS N in 1..100"),
    ("_top_100", "_top_100", "DOCS"),
    ("_bottom_10", "_bottom_10", "DOCS"),
    ("_top_0", None, "DOCS N >= 1"),
    ("_top_101", None, "DOCS N <= 100"),
    ("_top_x", None, "not a number"),
    ("_foo", None, "MRV"),
    ("_", None, "MRV"),
]


@pytest.mark.parametrize(("name", "canonical", "source"), NAME_CASES)
def test_validate_reduce_name(name: str, canonical: str | None, source: str) -> None:
    assert r.is_builtin(name)
    if canonical is None:
        with pytest.raises(CouchError) as info:
            r.validate_reduce_name(name)
        assert (info.value.status, info.value.error) == (400, "invalid_design_doc")
        assert info.value.reason == f"`{name}` is not a supported reduce function."
    else:
        assert r.validate_reduce_name(name) == canonical


def test_is_builtin() -> None:
    assert not r.is_builtin("function(k, v) { return sum(v); }")
    assert not r.is_builtin(None)


# ----------------------------------------------------------------------- Erlang term printing

ERL_CASES = [
    # (value, pretty (~p), plain (~w))
    (1, "1", "1"),
    (-5, "-5", "-5"),
    (1.5, "1.5", "1.5"),
    (100.0, "100.0", "100.0"),
    (1000.0, "1.0e3", "1.0e3"),
    (0.1, "0.1", "0.1"),
    (0.001, "0.001", "0.001"),
    (1e-05, "1.0e-5", "1.0e-5"),
    (1e21, "1.0e21", "1.0e21"),
    (123.456, "123.456", "123.456"),
    (None, "null", "null"),
    (True, "true", "true"),
    ("abc", '<<"abc">>', "<<97,98,99>>"),
    ('a"b', '<<"a\\"b">>', "<<97,34,98>>"),
    ([1, 2], "[1,2]", "[1,2]"),
    ([104, 105], '"hi"', "[104,105]"),
    ({"a": 1}, '{[{<<"a">>,1}]}', "{[{<<97>>,1}]}"),
    ({}, "{[]}", "{[]}"),
]


@pytest.mark.parametrize(("value", "pretty", "plain"), ERL_CASES)
def test_erlang_term_format(value: Any, pretty: str, plain: str) -> None:
    assert r._erl(value, pretty=True) == pretty
    assert r._erl(value) == plain


def test_erl_float_round_trips() -> None:
    for x in (1.0, 2.5e-7, 3.14159, 6.02e23, 1234567.0, 0.5):
        text = r._erl_float(x)
        assert math.isclose(float(text), x)


def test_approx_count_distinct_sparse_and_dense_states_merge() -> None:
    dense = r.reduce_state("_approx_count_distinct", [(i, None) for i in range(3000)])
    sparse = r.reduce_state("_approx_count_distinct", [(i, None) for i in range(2500, 3500)])
    assert isinstance(dense, bytes) and isinstance(sparse, frozenset)
    got = r.finalize("_approx_count_distinct", r.rereduce_state("_approx_count_distinct", [sparse, dense]))
    assert abs(got - 3500) / 3500 < 0.05
