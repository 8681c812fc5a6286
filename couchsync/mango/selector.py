"""Mango selectors: normalisation, matching and ``fields`` projection, in pure Python.

Ported from CouchDB (CDB ``src/mango/src/``): ``mango_selector.erl`` (``normalize/1``, ``match/2``),
``mango_doc.erl`` / ``mango_util.erl`` (``get_field``, ``set_field``, ``parse_field``),
``mango_fields.erl`` (``extract/2``), ``mango_json.erl`` (``cmp``, ``cmp_raw``, ``type``) and
``mango_error.erl`` (error statuses, names and reasons). Reference: couchdb-protocol.md §6.2.

Shapes
    A *selector* is a JSON object. ``normalize`` turns it into a :class:`Selector` whose ``tree`` is
    CouchDB's normalised form: every object has exactly one member; implicit ``$and``/``$eq`` are
    explicit; nested field objects are flattened to dotted paths; ``$not``/``$nor`` are pushed
    down to the leaves where possible (``{"$not": {"a": {"$gt": 1}}}`` becomes
    ``{"a": {"$lte": 1}}``), e.g. ``{"a": {"b": 1}, "c": {"$gt": 2}}`` becomes
    ``{"$and": [{"a.b": {"$eq": 1}}, {"c": {"$gt": 2}}]}``. The empty selector ``{}`` stays ``{}``
    and matches everything.

Semantics (``mango_selector:match/3``)
    * values compare with CouchDB view collation (:func:`couchsync.core.collate.compare`), so
      ``{"$gt": 5}`` also matches strings, arrays and objects; conditions on the ``_id`` field (and
      everything below it) use raw order (:func:`couchsync.core.collate.compare_raw`);
    * a condition on a missing field fails (including ``$ne`` and ``$nin``), except exactly
      ``{"$exists": false}``; a path through a non-container (``a.b`` with ``a: 5``) fails always;
    * ``$in``/``$nin`` on an array value test its elements; ``$eq`` on an array compares the whole
      array; ``$all`` needs an array value, and ``{"$all": [[...]]}`` also matches that exact array;
    * empty ``$and``/``$or``/``$nor``/``$nin`` match; empty ``$in``/``$all`` match nothing;
      ``$elemMatch``/``$allMatch``/``$keyMapMatch`` never match an empty array/object;
    * ``$regex`` only matches strings, ``$size`` only arrays, ``$mod`` only integers,
      ``$beginsWith`` only strings (case-sensitive prefix).

    The _find planner's rule that a selector consisting only of ``{"$or": []}`` (or an empty
    ``$in``) returns no documents comes from the index range computation (mango_idx_view), not
    from matching: :func:`matches` says ``True`` for ``{"$or": []}`` as CouchDB's matcher does
    (and as ``_changes?filter=_selector`` therefore does).

Errors (all :class:`couchsync.errors.CouchError`, from ``mango_error:info/2``)
    * 400 ``invalid_operator`` "Invalid operator: $x" — unknown operator, or ``$regex`` /
      ``$beginsWith`` with a non-string argument;
    * 400 ``bad_arg`` "Bad argument for operator $in: 5" — wrong argument type (the argument is
      printed like Erlang's ``~w``: strings as ``<<97,98>>``, objects as ``{[{<<97>>,1}]}``);
    * 400 ``not_supported`` "Unsupported operator: $where" (also ``$geoWithin``,
      ``$geoIntersects``, ``$near``, ``$nearSphere``);
    * 400 ``invalid_selector`` "One or more conditions is missing a field name." — e.g. ``{"$gt": 1}``;
    * 400 ``bad_field`` "Invalid field normalization on selector: ..." — misplaced ``$default``;
    * 400 ``invalid_selector_json`` (mango_opts) — the selector is not an object;
    * 500 ``unknown_error`` "Unknown Error: mango_util :: {invalid_field_name,<<...>>}" — a field
      path with an empty segment (``a..b``), raised at match time like CouchDB's fallback error;
    * projection: 400 ``invalid_fields`` / ``invalid_field`` (mango_fields).

Known deviations from CouchDB
    * ``$regex`` uses Python ``re`` (``search`` semantics, like ``re:run``) instead of PCRE. PCRE's
      ``(?<name>...)`` is translated to ``(?P<name>...)``; other PCRE-only syntax (mid-pattern
      ``(?i)``, ``\\z``, ``\\x{...}``) is rejected as ``bad_arg``. Python matches on code points,
      Erlang's ``re`` (without ``unicode``) on UTF-8 bytes: ``.`` matches one non-ASCII character
      here, one byte there.
    * ``{"$mod": [0, r]}`` is rejected with ``bad_arg``; CouchDB accepts it and crashes (500) when
      matching an integer.
    * ``$text`` is accepted and normalised to ``{"$default": {"$text": ...}}``, which matches every
      document (CouchDB trusts its text index there); text search itself is not implemented.
    * Erlang ``~w`` float formatting in error reasons is approximated from Python's ``repr``.
    * ``fields`` entries that are objects (accepted but unusable in CouchDB) are rejected as
      ``invalid_field``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from couchsync.core.collate import compare, compare_raw
from couchsync.errors import CouchError

__all__ = [
    "BAD_PATH",
    "NOT_FOUND",
    "Selector",
    "erlang_term",
    "get_field",
    "get_path",
    "is_array_index",
    "matches",
    "normalize",
    "parse_field",
    "project",
    "set_path",
]

Cmp = Callable[[Any, Any], int]


class _Sentinel:
    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


NOT_FOUND: Any = _Sentinel("NOT_FOUND")
"""``get_field`` result: an object on the path lacks the member (``mango_doc`` ``not_found``)."""
BAD_PATH: Any = _Sentinel("BAD_PATH")
"""``get_field`` result: the path runs through a scalar or a bad array index (``bad_path``)."""


# --- errors (mango_error.erl, info(mango_selector, ...)) -----------------------------------------


def erlang_term(value: Any) -> str:
    """Render a JSON value the way Erlang's ``io_lib:format("~w", [EJSON])`` prints it.

    ``None``/bools as atoms, strings as ``<<bytes>>``, arrays as ``[...]``, objects as
    ``{[{Key,Value},...]}``. Floats are approximated (``1.0e16`` style exponents).
    """
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _erlang_float(value)
    if isinstance(value, str):
        return "<<" + ",".join(str(b) for b in value.encode("utf-8", "surrogatepass")) + ">>"
    if isinstance(value, list | tuple):
        return "[" + ",".join(erlang_term(v) for v in value) + "]"
    if isinstance(value, dict):
        members = ",".join("{" + erlang_term(k) + "," + erlang_term(v) + "}" for k, v in value.items())
        return "{[" + members + "]}"
    return repr(value)


def _erlang_float(number: float) -> str:
    text = repr(number)
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    if "." not in mantissa:
        mantissa += ".0"
    return f"{mantissa}e{int(exponent)}"


def _bad_arg(op: str, arg: Any) -> CouchError:
    return CouchError(f"Bad argument for operator {op}: {erlang_term(arg)}", status=400, error="bad_arg")


def _invalid_operator(op: str) -> CouchError:
    return CouchError(f"Invalid operator: {op}", status=400, error="invalid_operator")


def _not_supported(op: str) -> CouchError:
    return CouchError(f"Unsupported operator: {op}", status=400, error="not_supported")


def _bad_field(selector: Any) -> CouchError:
    reason = f"Invalid field normalization on selector: {erlang_term(selector)}"
    return CouchError(reason, status=400, error="bad_field")


def _invalid_field_name(field: str) -> CouchError:
    # No mango_error clause exists for this one: CouchDB answers with its catch-all.
    reason = f"Unknown Error: mango_util :: {{invalid_field_name,{erlang_term(field)}}}"
    return CouchError(reason, status=500, error="unknown_error")


# --- field paths (mango_util:parse_field/1, mango_doc:get_field/2) --------------------------------

_UNESCAPED_DOT = re.compile(r"(?<!\\)\.")
_ARRAY_INDEX = re.compile(r"[+-]?[0-9]+")


@functools.lru_cache(maxsize=4096)
def parse_field(field: str) -> tuple[str, ...]:
    """Split a dotted field name into path segments: ``"a.b\\\\.c"`` -> ``("a", "b.c")``.

    Dots preceded by a backslash do not split; every backslash is then dropped (so ``\\\\$x``
    names a field ``$x``). An empty segment (``"a..b"``, ``""``) raises the 500 ``unknown_error``
    CouchDB reports for ``invalid_field_name``.
    """
    if "\\" in field:
        parts = [part.replace("\\", "") if part else part for part in _UNESCAPED_DOT.split(field)]
    else:
        parts = field.split(".")
    if "" in parts:
        raise _invalid_field_name(field)
    return tuple(parts)


def _array_index(segment: str) -> int | None:
    """``list_to_integer`` of a path segment, or ``None`` when it is not an integer literal."""
    return int(segment) if _ARRAY_INDEX.fullmatch(segment) else None


def _get_path(value: Any, path: Iterable[str]) -> Any:
    for segment in path:
        if isinstance(value, dict):
            if segment not in value:
                return NOT_FOUND
            value = value[segment]
        elif isinstance(value, list):
            index = _array_index(segment)
            if index is None or not 0 <= index < len(value):
                return BAD_PATH
            value = value[index]
        else:
            return BAD_PATH
    return value


def is_array_index(segment: str) -> bool:
    """A path segment that ``get_field`` would also read as an array index (``0``, ``-1``)."""
    return _ARRAY_INDEX.fullmatch(segment) is not None


def get_path(value: Any, path: Iterable[str]) -> Any:
    """The value at a parsed field ``path`` (:func:`parse_field`), or ``NOT_FOUND``/``BAD_PATH``."""
    return _get_path(value, path)


def get_field(value: Any, field: str) -> Any:
    """The value at dotted path ``field`` in ``value``, or ``NOT_FOUND`` / ``BAD_PATH``.

    Object members are looked up by name, array elements by a decimal index segment
    (``"tags.0"``), following ``mango_doc:get_field/2``.
    """
    return _get_path(value, parse_field(field))


# --- normalisation (mango_selector:normalize/1) ----------------------------------------------------

_COMBINATORS = frozenset({"$and", "$or", "$nor"})
_SUBSELECTOR_OPS = frozenset({"$not", "$elemMatch", "$allMatch", "$keyMapMatch"})
_ELEMENT_OPS = frozenset({"$elemMatch", "$allMatch", "$keyMapMatch"})
_ANY_ARG_OPS = frozenset({"$lt", "$lte", "$eq", "$ne", "$gte", "$gt"})
_UNSUPPORTED_OPS = frozenset({"$where", "$geoWithin", "$geoIntersects", "$near", "$nearSphere"})
_NEGATED = {
    "$lt": "$gte",
    "$lte": "$gt",
    "$eq": "$ne",
    "$ne": "$eq",
    "$gte": "$lt",
    "$gt": "$lte",
    "$in": "$nin",
    "$nin": "$in",
}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_mod_arg(arg: Any) -> bool:
    return isinstance(arg, list) and len(arg) == 2 and all(map(_is_int, arg)) and arg[0] != 0


_ARG_CHECKS: dict[str, Callable[[Any], bool]] = {
    "$in": lambda arg: isinstance(arg, list),
    "$nin": lambda arg: isinstance(arg, list),
    "$all": lambda arg: isinstance(arg, list),
    "$exists": lambda arg: isinstance(arg, bool),
    "$type": lambda arg: isinstance(arg, str),
    "$size": lambda arg: _is_int(arg) and arg >= 0,
    "$mod": _is_mod_arg,
}


@dataclass(frozen=True, slots=True)
class Selector:
    """A normalised Mango selector; ``tree`` is CouchDB's normalised JSON form (see module doc)."""

    tree: dict[str, Any]

    def matches(self, doc: Any) -> bool:
        """True when ``doc`` (a JSON object, normally a document body) satisfies the selector."""
        if not self.tree:
            return True
        return _match(self.tree, doc, compare)

    def to_json(self) -> dict[str, Any]:
        """The normalised selector as JSON (what CouchDB shows in ``_explain``)."""
        return self.tree


def normalize(selector: Any) -> Selector:
    """Validate and normalise a Mango selector (``mango_selector:normalize/1``).

    ``selector`` is a decoded JSON object. Raises :class:`CouchError` (see module doc) for a
    non-object selector, unknown or unsupported operators, wrongly typed operator arguments and
    conditions without a field name. Normalising a normalised tree returns the same tree.
    """
    if not isinstance(selector, dict):
        reason = f"Selector must be a JSON object, not: {erlang_term(selector)}"
        raise CouchError(reason, status=400, error="invalid_selector_json")
    if not selector:
        return Selector({})
    tree = _norm_negations(_norm_fields(_norm_ops(selector), ""))
    if "" in tree:
        raise CouchError(
            "One or more conditions is missing a field name.", status=400, error="invalid_selector"
        )
    return Selector(tree)


def _single(selector: Any) -> tuple[str, Any]:
    """The one (key, value) member of a normalised selector node."""
    if not isinstance(selector, dict) or len(selector) != 1:
        raise _bad_field(selector)
    ((key, value),) = selector.items()
    return key, value


def _norm_ops(selector: Any) -> dict[str, Any]:
    """Step 1: validate operators, make implicit ``$and`` and ``$eq`` explicit."""
    if not isinstance(selector, dict) or not selector:
        return {"$eq": selector}
    if len(selector) > 1:
        return {"$and": [_norm_ops({key: value}) for key, value in selector.items()]}
    key, arg = _single(selector)
    if key.startswith("$"):
        return _norm_operator(key, arg)
    return {key: _norm_ops(arg)}


def _norm_operator(op: str, arg: Any) -> dict[str, Any]:
    if op in _COMBINATORS:
        if not isinstance(arg, list):
            raise _bad_arg(op, arg)
        return {op: [_norm_ops(item) for item in arg]}
    if op in _SUBSELECTOR_OPS:
        if not isinstance(arg, dict):
            raise _bad_arg(op, arg)
        return {op: _norm_ops(arg)}
    if op in _ARG_CHECKS:
        if not _ARG_CHECKS[op](arg):
            raise _bad_arg(op, arg)
        return {op: arg}
    if op in _ANY_ARG_OPS or op == "$default":
        return {op: arg}
    if op == "$regex" and isinstance(arg, str):
        _compile_regex_or_raise(arg)
        return {op: arg}
    if op == "$beginsWith" and isinstance(arg, str):
        return {op: _valid_utf8_or_raise(op, arg)}
    if op == "$text":
        if arg is None or isinstance(arg, dict | list):
            raise _bad_arg(op, arg)
        return {"$default": {"$text": arg}}
    if op in _UNSUPPORTED_OPS:
        raise _not_supported(op)
    raise _invalid_operator(op)


def _valid_utf8_or_raise(op: str, arg: str) -> str:
    try:
        arg.encode("utf-8")
    except UnicodeEncodeError:
        raise _bad_arg(op, arg) from None
    return arg


def _norm_fields(selector: dict[str, Any], path: str) -> dict[str, Any]:
    """Step 2: push field names down to the operator leaves as dotted paths."""
    key, arg = _single(selector)
    if key in _COMBINATORS:
        return {key: [_norm_fields(item, path) for item in arg]}
    if key == "$not":
        return {key: _norm_fields(arg, path)}
    if key in _ELEMENT_OPS:
        return {path: {key: _norm_fields(arg, "")}}
    if key == "$default":
        if path == "" and isinstance(arg, dict) and list(arg) == ["$text"]:
            return selector
        raise _bad_field(selector)
    if key.startswith("$"):
        return {path: selector}
    return _norm_fields(arg, f"{path}.{key}" if path else key)


def _norm_negations(selector: dict[str, Any]) -> dict[str, Any]:
    """Step 3: remove ``$not``/``$nor`` by De Morgan and operator inversion where possible."""
    key, arg = _single(selector)
    if key == "$not":
        return _negate(arg)
    if key == "$nor":
        return {"$and": [_negate(item) for item in arg]}
    if key in ("$and", "$or"):
        return {key: [_norm_negations(item) for item in arg]}
    if key in _ELEMENT_OPS:
        return {key: _norm_negations(arg)}
    return selector


def _negate(selector: dict[str, Any]) -> dict[str, Any]:
    key, arg = _single(selector)
    if key == "$not":
        return _norm_negations(arg)
    if key == "$nor":
        return {"$or": [_norm_negations(item) for item in arg]}
    if key in ("$and", "$or"):
        return {"$or" if key == "$and" else "$and": [_negate(item) for item in arg]}
    if key == "$default":
        raise _bad_arg("$not", selector)
    if key in _NEGATED:
        return {_NEGATED[key]: arg}
    if key == "$exists":
        return {key: not arg}
    if key.startswith("$"):
        return {"$not": selector}
    return {key: _negate(arg)}


# --- matching (mango_selector:match/3) -------------------------------------------------------------


def matches(selector: Selector | dict[str, Any], doc: Any) -> bool:
    """True when ``doc`` satisfies ``selector``.

    ``selector`` is a :class:`Selector` or a raw selector object (normalised on every call, so
    normalise once when matching many documents). Raises :class:`CouchError` for invalid raw
    selectors and for field paths with empty segments.
    """
    if not isinstance(selector, Selector):
        selector = normalize(selector)
    return selector.matches(doc)


def _match(selector: dict[str, Any], value: Any, cmp: Cmp) -> bool:
    key, arg = _single(selector)
    matcher = _MATCHERS.get(key)
    if matcher is not None:
        return matcher(arg, value, cmp)
    if key.startswith("$"):
        raise _invalid_operator(key)
    if key == "":  # condition on the value itself (inside $elemMatch & co.)
        return _match(arg, value, cmp)
    return _match_field(key, arg, value, cmp)


def _match_field(field: str, cond: dict[str, Any], value: Any, cmp: Cmp) -> bool:
    found = get_field(value, field)
    if found is NOT_FOUND:  # only exactly {"$exists": false} matches a missing field
        return len(cond) == 1 and cond.get("$exists") is False
    if found is BAD_PATH:
        return False
    return _match(cond, found, compare_raw if field == "_id" else cmp)


def _match_and(args: list[Any], value: Any, cmp: Cmp) -> bool:
    return all(_match(arg, value, cmp) for arg in args)


def _match_or(args: list[Any], value: Any, cmp: Cmp) -> bool:
    return not args or any(_match(arg, value, cmp) for arg in args)


def _match_not(arg: dict[str, Any], value: Any, cmp: Cmp) -> bool:
    return not _match(arg, value, cmp)


def _match_all(args: list[Any], value: Any, _cmp: Cmp) -> bool:
    if not args or not isinstance(value, list):
        return False
    if len(args) == 1 and isinstance(args[0], list) and _erlang_equal(args[0], value, exact=False):
        return True
    return all(any(_erlang_equal(arg, item, exact=True) for item in value) for arg in args)


def _match_elem_match(arg: dict[str, Any], value: Any, cmp: Cmp) -> bool:
    return isinstance(value, list) and any(_match(arg, item, cmp) for item in value)


def _match_all_match(arg: dict[str, Any], value: Any, cmp: Cmp) -> bool:
    return isinstance(value, list) and bool(value) and all(_match(arg, item, cmp) for item in value)


def _match_key_map_match(arg: dict[str, Any], value: Any, cmp: Cmp) -> bool:
    return isinstance(value, dict) and any(_match(arg, key, cmp) for key in value)


def _match_in(args: list[Any], value: Any, cmp: Cmp) -> bool:
    candidates = value if isinstance(value, list) else [value]
    return any(cmp(item, arg) == 0 for arg in args for item in candidates)


def _match_nin(args: list[Any], value: Any, cmp: Cmp) -> bool:
    return not _match_in(args, value, cmp)


def _match_exists(should_exist: bool, _value: Any, _cmp: Cmp) -> bool:
    return should_exist  # reached only for a present value; missing fields are decided above


def _match_type(type_name: str, value: Any, _cmp: Cmp) -> bool:
    return type_name == _json_type(value)


def _match_mod(arg: list[int], value: Any, _cmp: Cmp) -> bool:
    divisor, remainder = arg
    return _is_int(value) and _erlang_rem(value, divisor) == remainder


def _match_regex(pattern: str, value: Any, _cmp: Cmp) -> bool:
    return isinstance(value, str) and _compile_regex(pattern).search(value) is not None


def _match_begins_with(prefix: str, value: Any, _cmp: Cmp) -> bool:
    return isinstance(value, str) and value.startswith(prefix)


def _match_size(size: int, value: Any, _cmp: Cmp) -> bool:
    return isinstance(value, list) and len(value) == size


def _match_default(_arg: Any, _value: Any, _cmp: Cmp) -> bool:
    return True  # $text: CouchDB trusts the text index here


_MATCHERS: dict[str, Callable[[Any, Any, Cmp], bool]] = {
    "$and": _match_and,
    "$or": _match_or,
    "$not": _match_not,
    "$all": _match_all,
    "$elemMatch": _match_elem_match,
    "$allMatch": _match_all_match,
    "$keyMapMatch": _match_key_map_match,
    "$lt": lambda arg, value, cmp: cmp(value, arg) < 0,
    "$lte": lambda arg, value, cmp: cmp(value, arg) <= 0,
    "$eq": lambda arg, value, cmp: cmp(value, arg) == 0,
    "$ne": lambda arg, value, cmp: cmp(value, arg) != 0,
    "$gte": lambda arg, value, cmp: cmp(value, arg) >= 0,
    "$gt": lambda arg, value, cmp: cmp(value, arg) > 0,
    "$in": _match_in,
    "$nin": _match_nin,
    "$exists": _match_exists,
    "$type": _match_type,
    "$mod": _match_mod,
    "$regex": _match_regex,
    "$beginsWith": _match_begins_with,
    "$size": _match_size,
    "$default": _match_default,
}


def _json_type(value: Any) -> str:
    """``mango_json:type/1``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    return "array"


def _erlang_rem(dividend: int, divisor: int) -> int:
    """Erlang ``rem``: truncated division, the result takes the dividend's sign."""
    result = abs(dividend) % abs(divisor)
    return -result if dividend < 0 else result


def _erlang_equal(a: Any, b: Any, *, exact: bool) -> bool:
    """Erlang ``=:=`` (``exact``) or ``==`` on EJSON: ``1 == 1.0`` but not ``1 =:= 1.0``.

    Objects are equal only with the same members in the same order.
    """
    if a is None or b is None or isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b and (not exact or type(a) is type(b))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_erlang_equal(x, y, exact=exact) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return len(a) == len(b) and all(
            ka == kb and _erlang_equal(va, vb, exact=exact)
            for (ka, va), (kb, vb) in zip(a.items(), b.items(), strict=True)
        )
    return isinstance(a, str) and isinstance(b, str) and a == b


_PCRE_NAMED_GROUP = re.compile(r"\(\?<(?=[A-Za-z_])")


@functools.lru_cache(maxsize=1024)
def _compile_regex(pattern: str) -> re.Pattern[str]:
    return re.compile(_PCRE_NAMED_GROUP.sub("(?P<", pattern))


def _compile_regex_or_raise(pattern: str) -> None:
    try:
        _compile_regex(pattern)
    except (re.error, OverflowError, RecursionError):
        raise _bad_arg("$regex", pattern) from None


# --- projection (mango_fields:extract/2) -----------------------------------------------------------


def project(doc: dict[str, Any], fields: list[str] | None) -> dict[str, Any]:
    """Mango ``fields`` projection: a new object with only the listed (dotted) fields of ``doc``.

    ``None`` or ``[]`` returns ``doc`` unchanged. Fields are copied in list order; missing fields
    and bad paths are skipped; ``_id``/``_rev`` are only included when listed. A nested field
    builds nested objects (``"a.b"`` -> ``{"a": {"b": ...}}``), also when the source was an array
    (``"tags.0"`` -> ``{"tags": {"0": ...}}``), as CouchDB does. ``doc`` is not modified.
    Raises 400 ``invalid_fields`` when ``fields`` is not an array and 400 ``invalid_field`` for a
    non-string entry.
    """
    if fields is None:
        return doc
    if not isinstance(fields, list):
        reason = f"Fields must be an array of strings, not: {erlang_term(fields)}"
        raise CouchError(reason, status=400, error="invalid_fields")
    if not fields:
        return doc
    result: dict[str, Any] = {}
    for field in fields:
        if not isinstance(field, str):
            reason = f"Invalid JSON for field spec: {erlang_term(field)}"
            raise CouchError(reason, status=400, error="invalid_field")
        path = parse_field(field)
        value = _get_path(doc, path)
        if value is not NOT_FOUND and value is not BAD_PATH:
            result = set_path(result, path, value)
    return result


def set_path(target: Any, path: tuple[str, ...], value: Any) -> Any:
    """``mango_doc:set_field/3`` without mutating ``target``: returns the updated copy."""
    head, rest = path[0], path[1:]
    if isinstance(target, dict):
        updated = dict(target)
        if not rest:
            updated[head] = value
        elif head in target:
            updated[head] = set_path(target[head], rest, value)
        else:
            updated[head] = _nested(rest, value)
        return updated
    if isinstance(target, list):
        index = _array_index(head)
        if index is None or not 0 <= index < len(target):
            return target
        updated_list = list(target)
        updated_list[index] = set_path(target[index], rest, value) if rest else value
        return updated_list
    return target


def _nested(path: tuple[str, ...], value: Any) -> Any:
    for segment in reversed(path):
        value = {segment: value}
    return value
