"""CouchDB's builtin reduce functions, ported rule for rule from ``couch_query_servers.erl``.

Source: CouchDB ``src/couch/src/couch_query_servers.erl`` (3.5: ``builtin_reduce/4``,
``builtin_sum_rows/2``, ``sum_values/2``, ``sum_arrays/2``, ``sum_objects/2``,
``check_sum_overflow/3``, ``builtin_stats/2``, ``stat_values/2``, ``build_initial_accumulator/1``,
``unpack_stats/1``, ``pack_stats/1``, ``approx_count_distinct/2``, ``builtin_rank_n/4``,
``builtin_first_last/3``, ``finalize/2``), ``couch_mrview.erl`` ``validate/2`` (reduce names) and
DOCS ``ddocs/ddocs.rst`` "Built-in Reduce Functions".

Names (``is_builtin`` / ``validate_reduce_name``), matched by prefix exactly like CouchDB's binary
patterns (``"_sum_of_costs"`` *is* ``_sum``)::

    _count  _sum  _stats  _approx_count_distinct  _first  _last  _top_N  _bottom_N (N = 1..100)

Anything else starting with ``_`` → ``CouchError 400 invalid_design_doc
"`_foo` is not a supported reduce function."``.

Two ways to use them:

* ``reduce(name, kvs, ids=None) -> value`` and ``rereduce(name, values) -> value`` work on final
  (wire) values: what a view row's ``value`` holds. ``rereduce`` over values that ``reduce``
  returned is exact for ``_count``, ``_sum``, ``_stats`` (CouchDB's ``_stats`` accepts its own
  packed objects), ``_top_N``/``_bottom_N``, and for ``_first``/``_last`` when ``values`` are in
  index order. ``_approx_count_distinct`` cannot be re-reduced from final integers (``ValueError``);
  use the state API.
* ``reduce_state`` / ``rereduce_state`` / ``finalize``: CouchDB's own three steps, with its internal
  states (the HyperLogLog registers for ``_approx_count_distinct``, ``(key, docid, value)`` for
  ``_first``/``_last``, 5-tuples for ``_stats``). Use these to store partial reductions.

Result shapes (all exact, see the tests for the table):

* ``_count``: ``int``; re-reduce sums.
* ``_sum``: numbers add; arrays add element-wise (shorter padded, a number counts as ``[n]``);
  objects add per key, recursively, keys sorted in the result when two objects meet. A value it
  cannot add makes the *result* the error object (HTTP 200, the row value)::

      {"error": "builtin_reduce_error",
       "reason": "The _sum function requires that map values be numbers, arrays of numbers, or
                  objects. Objects cannot be mixed with other data structures. Objects can be
                  arbitrarily nested, provided that the values for all fields are themselves
                  numbers, arrays of numbers, or objects.",
       "caused_by": <the offending value, as CouchDB picks it>}

  An error object among the values (a re-reduce of an error) is passed through. With
  ``reduce_limit`` (CouchDB default ``true``) a result whose size exceeds 4906 bytes and twice the
  input's becomes ``{"error": "builtin_reduce_error", "reason": "Reduce output must shrink more
  rapidly: input size: I output size: O"}`` (CouchDB measures Erlang external term sizes; here
  JSON byte lengths, so the threshold trips at slightly different sizes).
* ``_stats``: ``{"sum", "count", "min", "max", "sumsqr"}`` (that key order); an array of numbers
  gives an array of such objects; pre-aggregated objects with those five numeric keys are
  accepted (other keys ignored). Non-numeric input *fails the query*: ``CouchError 500
  invalid_value`` with CouchDB's reason, e.g. ``"The _stats function requires that map values be
  numbers or arrays of numbers, not '<<\\"abc\\">>'"`` (Erlang ``~p`` term syntax), ``"non-numeric
  _stats input: <<97,98,99>>"`` (``~w``) for the first value, ``"user _stats input missing required
  field count ([{<<\\"sum\\">>,1}])"``. Empty input gives all zeros.
* ``_approx_count_distinct``: ``int`` count of distinct keys. Keys are hashed (64-bit) from
  their JSON text (CouchDB hashes the Erlang term encoding; both treat ``1`` and ``1.0`` as
  different keys and ignore collation). Up to ``HLL_SPARSE_MAX`` (1024) distinct keys the count
  is **exact** (the state is the set of hashes, like HLL++'s sparse mode; CouchDB's plain
  HyperLogLog may be off by a few there); beyond, a HyperLogLog estimate with 2^11 registers
  like CouchDB's ``couch_hyper:new(11)`` (relative error ~2%), which may differ from CouchDB's
  own estimate by that error. State: ``frozenset[int]`` (sparse) or 2048 register ``bytes``.
* ``_top_N`` / ``_bottom_N``: list of at most N values, highest (lowest) first by view collation;
  duplicates (Erlang ``==``: ``1 == 1.0``, ``true != 1``) dropped as ``lists:umerge`` does.
* ``_first`` / ``_last``: the value of the row with the lowest (highest) ``(key, docid)``;
  ``[]`` for no rows. Without ``ids`` ties keep the first (resp. last) row given.

Crashes CouchDB has (``case_clause`` when ``_sum`` meets an object after a non-zero number or an
array, ``function_clause`` when ``_stats`` zips arrays of different lengths) raise ``CouchError``
500 with those error names instead.

Row order: CouchDB hands ``builtin_reduce`` the rows of a b-tree node, in index order for
``reduce``; ``caused_by`` and ties depend on that order. Pass rows in index order to match.
"""

from __future__ import annotations

import bisect
import decimal
import hashlib
import math
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from ..core.collate import compare, sort_key
from ..errors import CouchError

__all__ = [
    "SUM_ERROR",
    "finalize",
    "is_builtin",
    "reduce",
    "reduce_state",
    "rereduce",
    "rereduce_state",
    "validate_reduce_name",
]

SUM_ERROR = (
    "The _sum function requires that map values be numbers, "
    "arrays of numbers, or objects. Objects cannot be mixed with other "
    "data structures. Objects can be arbitrarily nested, provided that the values "
    "for all fields are themselves numbers, arrays of numbers, or objects."
)
"""``?SUMERROR`` of couch_query_servers.erl, verbatim."""

_STAT_ERROR = "The _stats function requires that map values be numbers or arrays of numbers, not '{}'"

REDUCE_LIMIT_THRESHOLD = 4906
"""``query_server_config/reduce_limit_threshold`` default."""
REDUCE_LIMIT_RATIO = 2.0
"""``query_server_config/reduce_limit_ratio`` default."""

HLL_PRECISION = 11
"""``couch_hyper:new(11)``: 2048 registers."""
HLL_SPARSE_MAX = 1024
"""Up to this many distinct keys the count is exact (a set of 64-bit key hashes)."""


# --- names ---------------------------------------------------------------------------------------

_PREFIXES = ("_sum", "_count", "_stats", "_approx_count_distinct", "_first", "_last")


def _canonical(name: str) -> str | None:
    """The builtin behind ``name`` (``"_sum"``, ``"_top_5"``…) or ``None`` if unsupported."""
    for prefix in ("_top_", "_bottom_"):
        if name.startswith(prefix):
            digits = name[len(prefix) :]
            if digits.isascii() and digits.isdigit() and 1 <= int(digits) <= 100:
                return prefix + str(int(digits))
            return None
    for prefix in _PREFIXES:
        if name.startswith(prefix):
            return prefix
    return None


def is_builtin(name: object) -> bool:
    """True if ``name`` is a reduce source CouchDB treats as builtin (starts with ``_``).

    Such a name is never compiled as JavaScript; ``validate_reduce_name`` tells whether it is a
    *supported* one.
    """
    return isinstance(name, str) and name.startswith("_")


def validate_reduce_name(name: str) -> str:
    """Return the canonical builtin for ``name`` or raise CouchDB's ddoc-save error.

    Raises ``CouchError(400, invalid_design_doc, "`_foo` is not a supported reduce function.")``
    (CouchDB ``couch_mrview:validate/2``). ``_top_N``/``_bottom_N`` need ``1 <= N <= 100``.
    """
    canonical = _canonical(name)
    if canonical is None:
        raise CouchError(
            f"`{name}` is not a supported reduce function.", status=400, error="invalid_design_doc"
        )
    return canonical


def _resolve(name: str) -> str:
    canonical = _canonical(name)
    if canonical is None:
        # CouchDB: function_clause in builtin_reduce/4 (a ddoc that bypassed validation)
        raise CouchError(
            f"`{name}` is not a supported reduce function.", status=400, error="invalid_design_doc"
        )
    return canonical


# --- public API ----------------------------------------------------------------------------------


def reduce(
    name: str, kvs: Sequence[Sequence[Any]], ids: Sequence[str] | None = None, *, reduce_limit: bool = True
) -> Any:
    """Reduce one group of map rows with builtin ``name``; returns the final (wire) value.

    ``kvs``: ``[(key, value), ...]`` in index order; ``ids``: the rows' doc ids (parallel to
    ``kvs``; only ``_first``/``_last`` use them, as tie-breakers). Errors: see the module doc.
    """
    return finalize(name, reduce_state(name, kvs, ids, reduce_limit=reduce_limit))


def rereduce(name: str, values: Sequence[Any], *, reduce_limit: bool = True) -> Any:
    """Combine final values previously returned by ``reduce``/``rereduce`` for ``name``.

    Raises ``ValueError`` for ``_approx_count_distinct`` (final integers cannot be merged: use
    ``reduce_state``/``rereduce_state``/``finalize``).
    """
    canonical = _resolve(name)
    if canonical == "_approx_count_distinct":
        raise ValueError("_approx_count_distinct cannot re-reduce final values; use rereduce_state")
    if canonical in ("_first", "_last"):
        if not values:
            return []
        return values[0] if canonical == "_first" else values[-1]
    return finalize(canonical, rereduce_state(canonical, values, reduce_limit=reduce_limit))


def reduce_state(
    name: str, kvs: Sequence[Sequence[Any]], ids: Sequence[str] | None = None, *, reduce_limit: bool = True
) -> Any:
    """CouchDB ``builtin_reduce(reduce, [Name], KVs)``: the internal reduction of map rows."""
    canonical = _resolve(name)
    if canonical == "_count":
        return len(kvs)
    if canonical == "_sum":
        values = [kv[1] for kv in kvs]
        return _checked_sum(values, lambda: _json_size([[[kv[0], None], kv[1]] for kv in kvs]), reduce_limit)
    if canonical == "_stats":
        return _builtin_stats([kv[1] for kv in kvs])
    if canonical == "_approx_count_distinct":
        return _hll_merge([frozenset(_key_hash(kv[0]) for kv in kvs)])
    if canonical in ("_first", "_last"):
        return _first_last(canonical == "_first", kvs, ids)
    top = canonical.startswith("_top_")
    n = int(canonical.rsplit("_", 1)[1])
    return _rank_n_reduce(top, n, [kv[1] for kv in kvs])


def rereduce_state(name: str, states: Sequence[Any], *, reduce_limit: bool = True) -> Any:
    """CouchDB ``builtin_reduce(rereduce, [Name], [[[], State], ...])``: combine internal states."""
    canonical = _resolve(name)
    if canonical == "_count":
        return _sum_rows(states)  # builtin_sum_rows, no overflow check for _count
    if canonical == "_sum":
        return _checked_sum(list(states), lambda: _json_size([[[], s] for s in states]), reduce_limit)
    if canonical == "_stats":
        return _builtin_stats(list(states))
    if canonical == "_approx_count_distinct":
        return _hll_merge(states)
    if canonical in ("_first", "_last"):
        return _first_last_rereduce(canonical == "_first", states)
    top = canonical.startswith("_top_")
    n = int(canonical.rsplit("_", 1)[1])
    if not states:
        return []
    fun = _rank_fun(top)
    acc = list(states[0])
    for state in states[1:]:
        acc = _umerge(fun, acc, list(state))
    return acc[:n]


def finalize(name: str, state: Any) -> Any:
    """CouchDB ``couch_query_servers:finalize/2``: internal state → the row value on the wire."""
    canonical = _resolve(name)
    if canonical == "_approx_count_distinct":
        return _round(_hll_estimate(state))
    if canonical == "_stats":
        return _pack_stats(state)
    if canonical in ("_first", "_last"):
        return state[2] if isinstance(state, tuple) else state
    return state


# --- _sum ----------------------------------------------------------------------------------------


class _InvalidValue(Exception):
    def __init__(self, reason: str, cause: Any = None, has_cause: bool = True):
        super().__init__(reason)
        self.reason, self.cause, self.has_cause = reason, cause, has_cause


class _BuiltinReduceError(Exception):
    def __init__(self, obj: dict[str, Any]):
        super().__init__("builtin_reduce_error")
        self.obj = obj


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _checked_sum(values: list[Any], in_size: Callable[[], int], reduce_limit: bool) -> Any:
    total = _sum_rows(values)
    if reduce_limit and isinstance(total, list | dict) and not _is_error_object(total):
        out = _json_size(total)
        if out > REDUCE_LIMIT_THRESHOLD:
            size_in = in_size()
            if out * REDUCE_LIMIT_RATIO > size_in:
                # CouchDB: check_sum_overflow/3 (also logs an error)
                return {
                    "error": "builtin_reduce_error",
                    "reason": f"Reduce output must shrink more rapidly: input size: {size_in} output size: {out}",
                }
    return total


def _is_error_object(value: Any) -> bool:
    return isinstance(value, dict) and value.get("error") == "builtin_reduce_error"


def _json_size(value: Any) -> int:
    return len(orjson.dumps(value))


def _sum_rows(values: Sequence[Any]) -> Any:
    """``builtin_sum_rows(KVs, 0)``."""
    acc: Any = 0
    for value in values:
        try:
            acc = _sum_values(value, acc)
        except _BuiltinReduceError as exc:
            return exc.obj
        except _InvalidValue as exc:
            return {"error": "builtin_reduce_error", "reason": exc.reason, "caused_by": exc.cause}
    return acc


def _sum_values(value: Any, acc: Any) -> Any:
    """``sum_values(Value, Acc)``, clause by clause."""
    if _is_number(value) and _is_number(acc):
        return acc + value
    if isinstance(value, list) and isinstance(acc, list):
        return _sum_arrays(acc, value)
    if _is_number(value) and isinstance(acc, list):
        return _sum_arrays(acc, [value])
    if isinstance(value, list) and _is_number(acc):
        return _sum_arrays([acc], value)
    if isinstance(value, dict):
        if value.get("error") == "builtin_reduce_error":
            raise _BuiltinReduceError(value)
        if type(acc) is int and acc == 0:  # Erlang pattern `0` matches the integer 0 only
            return value
        if isinstance(acc, dict):
            return _sum_objects(value, acc)
        raise CouchError(_erl(acc, pretty=True), status=500, error="case_clause")
    raise _InvalidValue(SUM_ERROR, value)


def _sum_arrays(xs: list[Any], ys: list[Any]) -> list[Any]:
    """``sum_arrays(Xs, Ys)``: element-wise, the longer tail kept; errors name the ``Xs`` tail."""
    out: list[Any] = []
    i = 0
    while True:
        if i == len(xs):
            return out + ys[i:]
        if i == len(ys):
            return out + xs[i:]
        x, y = xs[i], ys[i]
        if not (_is_number(x) and _is_number(y)):
            raise _InvalidValue(SUM_ERROR, xs[i:])
        out.append(x + y)
        i += 1


def _sum_objects(value: dict[str, Any], acc: dict[str, Any]) -> dict[str, Any]:
    """``sum_objects(lists:sort(Props), lists:sort(AccProps))``: merge by key, sum common keys."""
    out: dict[str, Any] = {}
    for key in sorted(value.keys() | acc.keys()):  # code point order = Erlang binary order
        if key in value and key in acc:
            out[key] = _sum_values(value[key], acc[key])
        else:
            out[key] = value[key] if key in value else acc[key]
    return out


# --- _stats --------------------------------------------------------------------------------------

_Stats = tuple[Any, Any, Any, Any, Any]
_STAT_FIELDS = ("sum", "count", "min", "max", "sumsqr")


def _builtin_stats(values: list[Any]) -> Any:
    """``builtin_stats(_, KVs)`` over the values."""
    if not values:
        return (0, 0, 0, 0, 0)
    acc = _initial_accumulator(values[0])
    for value in values[1:]:
        acc = _stat_values(value, acc)
    return acc


def _initial_accumulator(value: Any) -> Any:
    if isinstance(value, list):
        return [_initial_accumulator(x) for x in value]
    if _is_number(value):
        return (value, 1, value, value, value * value)
    if isinstance(value, dict):
        return _unpack_stats(value)
    raise CouchError(f"non-numeric _stats input: {_erl(value)}", status=500, error="invalid_value")


def _stat_values(value: Any, acc: Any) -> Any:
    """``stat_values(Value, Acc)``, clause by clause."""
    if isinstance(value, list) and isinstance(acc, list):
        if len(value) != len(acc):  # lists:zipwith/3 → function_clause
            raise CouchError(_erl([value, acc], pretty=True), status=500, error="function_clause")
        return [_stat_values(v, a) for v, a in zip(value, acc, strict=True)]
    if isinstance(value, dict):
        return _stat_values(_unpack_stats(value), acc)
    if _is_number(value):
        return _stat_values((value, 1, value, value, value * value), acc)
    if _is_number(acc):
        return _stat_values(value, (acc, 1, acc, acc, acc * acc))
    if isinstance(value, tuple) and isinstance(acc, tuple):
        sum0, cnt0, min0, max0, sqr0 = value
        sum1, cnt1, min1, max1, sqr1 = acc
        return (
            sum0 + sum1,
            cnt0 + cnt1,
            min0 if min0 <= min1 else min1,  # erlang:min/2 returns the first of equal terms
            max0 if max0 >= max1 else max1,
            sqr0 + sqr1,
        )
    raise CouchError(_STAT_ERROR.format(_erl(value, pretty=True)), status=500, error="invalid_value")


def _unpack_stats(props: dict[str, Any]) -> _Stats:
    got = []
    for field in _STAT_FIELDS:
        if field not in props:
            reason = f"user _stats input missing required field {field} ({_erl_proplist(props)})"
            raise CouchError(reason, status=500, error="invalid_value")
        number = props[field]
        if not _is_number(number):
            reason = f"non-numeric _stats input received for {field}: {_erl(number)}"
            raise CouchError(reason, status=500, error="invalid_value")
        got.append(number)
    return (got[0], got[1], got[2], got[3], got[4])


def _pack_stats(state: Any) -> Any:
    if isinstance(state, tuple):
        return dict(zip(_STAT_FIELDS, state, strict=True))
    if isinstance(state, list):
        return [_pack_stats(s) for s in state]
    return state  # legacy already-packed object


# --- _approx_count_distinct ----------------------------------------------------------------------


def _key_hash(key: Any) -> int:
    """64-bit hash of the key's JSON text (CouchDB hashes ``term_to_binary(Key)``)."""
    return int.from_bytes(hashlib.blake2b(orjson.dumps(key), digest_size=8).digest(), "big")


def _hll_insert(registers: bytearray, h: int) -> None:
    p = HLL_PRECISION
    index = h >> (64 - p)
    rest = h & ((1 << (64 - p)) - 1)
    rank = (64 - p) - rest.bit_length() + 1
    if rank > registers[index]:
        registers[index] = rank


def _hll_merge(states: Sequence[Any]) -> frozenset[int] | bytes:
    """Union of states: exact hash sets while small (sparse mode), HLL registers beyond."""
    exact: set[int] = set()
    registers: bytearray | None = None
    for state in states:
        if isinstance(state, frozenset | set):
            exact.update(state)
        elif isinstance(state, bytes | bytearray) and len(state) == 1 << HLL_PRECISION:
            if registers is None:
                registers = bytearray(state)
            else:
                for i, rank in enumerate(state):
                    if rank > registers[i]:
                        registers[i] = rank
        else:
            raise ValueError("_approx_count_distinct states must be what reduce_state returned")
        if registers is None and len(exact) > HLL_SPARSE_MAX:
            registers = bytearray(1 << HLL_PRECISION)
    if registers is None:
        return frozenset(exact)
    for h in exact:
        _hll_insert(registers, h)
    return bytes(registers)


def _hll_estimate(state: Any) -> float:
    if isinstance(state, frozenset | set):
        return float(len(state))
    if not isinstance(state, bytes | bytearray):
        raise ValueError("_approx_count_distinct state must be what reduce_state returned")
    registers = state
    m = len(registers)
    alpha = 0.7213 / (1 + 1.079 / m)
    raw = alpha * m * m / sum(2.0**-r for r in registers)
    zeros = registers.count(0)
    if raw <= 2.5 * m and zeros:
        return m * math.log(m / zeros)  # linear counting for small cardinalities
    return raw


def _round(x: float) -> int:
    """Erlang ``round/1`` (half away from zero)."""
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


# --- _top_N / _bottom_N --------------------------------------------------------------------------


def _rank_fun(top: bool) -> Callable[[Any, Any], bool]:
    if top:
        return lambda a, b: compare(a, b) >= 0  # rank_fun_top
    return lambda a, b: compare(a, b) <= 0  # rank_fun_bottom


def _umerge(fun: Callable[[Any, Any], bool], l1: list[Any], l2: list[Any]) -> list[Any]:
    """Erlang ``lists:umerge/3``: merge two ``fun``-sorted lists; an element of ``l2`` equal
    (``==``) to the ``l1`` element emitted just before it is dropped."""
    out: list[Any] = []
    i = j = 0
    last_from_l1: Any = _NOTHING
    while i < len(l1) and j < len(l2):
        if fun(l1[i], l2[j]):
            last_from_l1 = l1[i]
            out.append(l1[i])
            i += 1
        else:
            if last_from_l1 is _NOTHING or not _erl_eq(last_from_l1, l2[j]):
                out.append(l2[j])
            last_from_l1 = _NOTHING
            j += 1
    if i == len(l1):
        if j < len(l2) and last_from_l1 is not _NOTHING and _erl_eq(last_from_l1, l2[j]):
            j += 1
        out.extend(l2[j:])
    else:
        out.extend(l1[i:])
    return out


_NOTHING = object()


def _rank_n_reduce(top: bool, n: int, values: list[Any]) -> list[Any]:
    """``builtin_rank_n(reduce, ...)``: fold ``umerge(Acc, [V])``, keep the first N.

    Same result as the Erlang fold (truncating to N after each step cannot change the first N),
    in O(len · log N) with collation sort keys.
    """
    keys: list[bytes] = []  # ascending sort keys
    vals: list[Any] = []
    for value in values:
        k = sort_key(value)
        if top:
            # final order is descending: elements >= value come first; value goes after its ties
            pos = bisect.bisect_left(keys, k)
            before = pos if pos < len(keys) else None  # smallest element >= value
            if before is not None and _erl_eq(vals[before], value):
                continue
            keys.insert(pos, k)
            vals.insert(pos, value)
            if len(keys) > n:
                del keys[0], vals[0]
        else:
            pos = bisect.bisect_right(keys, k)
            if pos > 0 and _erl_eq(vals[pos - 1], value):
                continue
            keys.insert(pos, k)
            vals.insert(pos, value)
            if len(keys) > n:
                keys.pop()
                vals.pop()
    return vals[::-1] if top else vals


# --- _first / _last ------------------------------------------------------------------------------


def _less_json_ids(a: tuple[Any, str], b: tuple[Any, str]) -> bool:
    """``couch_ejson_compare:less_json_ids/2``: by key collation, then doc id raw."""
    result = compare(a[0], b[0])
    if result == 0:
        return a[1] < b[1]
    return result < 0


def _first_last(first: bool, kvs: Sequence[Sequence[Any]], ids: Sequence[str] | None) -> Any:
    if not kvs:
        return []
    if ids is not None and len(ids) != len(kvs):
        raise ValueError("ids must be parallel to kvs")
    doc_ids = ids if ids is not None else [""] * len(kvs)
    acc = (kvs[0][0], doc_ids[0], kvs[0][1])
    for kv, doc_id in zip(kvs[1:], doc_ids[1:], strict=True):
        cand = (kv[0], doc_id, kv[1])
        less = _less_json_ids((cand[0], cand[1]), (acc[0], acc[1]))
        if less if first else not less:
            acc = cand
    return acc


def _first_last_rereduce(first: bool, states: Sequence[Any]) -> Any:
    states = [s for s in states if isinstance(s, tuple)]  # [] is the state of an empty reduce
    if not states:
        return []
    acc = states[0]
    for cand in states[1:]:
        less = _less_json_ids((cand[0], cand[1]), (acc[0], acc[1]))
        if less if first else not less:
            acc = cand
    return acc


# --- Erlang term equality and formatting ---------------------------------------------------------


def _erl_eq(a: Any, b: Any) -> bool:
    """Erlang ``==`` on EJSON: numbers by value (``1 == 1.0``), atoms/binaries exact, objects as
    ordered proplists."""
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        return a is b
    if _is_number(a) and _is_number(b):
        return bool(a == b)
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_erl_eq(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        ia, ib = list(a.items()), list(b.items())
        return len(ia) == len(ib) and all(
            ka == kb and _erl_eq(va, vb) for (ka, va), (kb, vb) in zip(ia, ib, strict=True)
        )
    return False


def _erl(value: Any, pretty: bool = False) -> str:
    """The EJSON term as Erlang prints it: ``~p`` when ``pretty`` (on one line), else ``~w``."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _erl_float(value)
    if isinstance(value, str):
        return _erl_binary(value, pretty)
    if isinstance(value, tuple):
        return "{" + ",".join(_erl(v, pretty) for v in value) + "}"
    if isinstance(value, list):
        if (
            pretty
            and value
            and all(type(v) is int and (32 <= v <= 126 or v in (8, 9, 10, 11, 12, 13, 27)) for v in value)
        ):
            return '"' + _escape("".join(map(chr, value))) + '"'  # io_lib:printable_list/1
        return "[" + ",".join(_erl(v, pretty) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + _erl_proplist(value, pretty) + "}"
    return repr(value)


def _erl_proplist(props: dict[str, Any], pretty: bool = True) -> str:
    return (
        "["
        + ",".join("{" + _erl_binary(k, pretty) + "," + _erl(v, pretty) + "}" for k, v in props.items())
        + "]"
    )


def _escape(text: str) -> str:
    table = {
        '"': '\\"',
        "\\": "\\\\",
        "\n": "\\n",
        "\t": "\\t",
        "\r": "\\r",
        "\b": "\\b",
        "\f": "\\f",
        "\x1b": "\\e",
        "\x0b": "\\v",
    }
    return "".join(table.get(c, c) for c in text)


def _erl_binary(text: str, pretty: bool) -> str:
    data = text.encode("utf-8", "surrogatepass")
    if pretty:
        if all(32 <= b <= 126 or b in (8, 9, 10, 11, 12, 13, 27) for b in data):
            return '<<"' + _escape(text) + '">>'
        if text.isprintable():
            return '<<"' + _escape(text) + '"/utf8>>'
    return "<<" + ",".join(str(b) for b in data) + ">>"


def _erl_float(x: float) -> str:
    """``io_lib_format:fwrite_g/1``: shortest round-trip digits, Erlang's choice of notation."""
    if not math.isfinite(x):
        return repr(x)
    if x == 0:
        return "-0.0" if math.copysign(1.0, x) < 0 else "0.0"
    sign, digits_t, exponent = decimal.Decimal(repr(abs(x))).as_tuple()
    digits = "".join(map(str, digits_t)).rstrip("0") or "0"
    assert isinstance(exponent, int)
    place = len(digits_t) + exponent  # digits before the decimal point
    length = len(digits)
    prefix = "-" if x < 0 else ""
    if 0 < place < length:
        return prefix + digits[:place] + "." + digits[place:]
    if place == 0:
        return prefix + "0." + digits
    exp_l = str(place - 1)
    exp_cost = len(exp_l) + 1 + (2 if length == 1 else 1)
    if place < 0:
        if 2 - place <= exp_cost:
            return prefix + "0." + "0" * (-place) + digits
    elif place - length + 2 <= exp_cost:
        return prefix + digits + "0" * (place - length) + ".0"
    if length == 1:
        return prefix + digits + ".0e" + exp_l
    return prefix + digits[0] + "." + digits[1:] + "e" + exp_l
