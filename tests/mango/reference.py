"""An independent reference evaluation of Mango queries, for the black-box ``_find`` tests.

Written from the documented semantics (reference §6.2; CouchDB docs ``api/database/find.rst``,
``ddocs/mango.rst``; the behaviour CouchDB's own tests pin down in ``src/mango/test/*.py`` and
``test/elixir/test/mango/*.exs``), deliberately *not* from ``couchsync/mango/selector.py``. The only
code shared with the server is the ICU string comparison (``couchsync.core.collate.compare_strings``,
as allowed for this reference): everything else — field paths, the selector language, negation,
view and raw collation of non-strings, sorting, projection, paging — is re-implemented here.

Selector semantics implemented (each line is a documented rule):

* top level and every object: implicit ``$and`` of its members; a non-object value is an implicit
  ``$eq``; an object whose members are not operators names sub-fields (``{"a": {"b": 1}}`` is
  ``a.b == 1``); the empty object ``{}`` is ``$eq {}``;
* dotted paths; ``\\.`` in a field name is a literal dot; a path segment that is a decimal integer
  indexes into an array (``"name.0.family"``); a path that runs through a scalar, or indexes an
  array out of range / with a non-number, is a *bad path*;
* a condition on a missing field fails — ``$ne``, ``$nin`` and ``$not`` included — except exactly
  ``$exists: false`` (CDB ``mango_selector:match/3``); a bad path fails every condition;
* ``$not``/``$nor`` are pushed down to the leaves before matching (CDB
  ``mango_selector:norm_negations``): ``$not {a: {$gt: 1}}`` is ``a: {$lte: 1}`` (so it still needs
  ``a`` to exist), ``$not $exists:true`` is ``$exists:false``; operators without a dual keep a
  ``$not`` at the leaf, which again fails on a missing field;
* ``$eq $ne $lt $lte $gt $gte`` compare with CouchDB view collation
  (null < false < true < numbers < strings (ICU) < arrays < objects); below the ``_id`` field
  the raw Erlang term order is used instead (numbers < false < null < true < objects < arrays <
  strings, strings by code point);
* ``$in``: a non-array value equals one of the arguments; an array value has an element equal to
  one (the whole array is not compared); ``$nin`` is its negation (for present values);
* ``$all``: the value is an array containing every argument (exact Erlang equality: ``1 != 1.0``),
  or the single argument is an array equal to the value; ``$all: []`` matches nothing;
* ``$size``: arrays of that length only; ``$type``: null|boolean|number|string|array|object;
  ``$mod [d, r]``: integers only, Erlang ``rem`` (sign of the dividend); ``$regex``: strings only,
  ``search`` semantics; ``$beginsWith``: strings only, case-sensitive prefix;
* ``$elemMatch``: some element of an array matches; ``$allMatch``: a non-empty array whose
  elements all match; ``$keyMapMatch``: an object with some key matching;
* ``$and: []`` matches; ``$or: []`` matches as a *matcher* (``$or: []`` next to other conditions is
  ignored). The planner rule that a selector consisting only of an empty ``$or``/``$and``/``$in``/
  ``$all`` returns no documents (CDB ``mango_cursor:maybe_noop_range/2``) is in :func:`find`.

Sorting (:func:`sort_docs`): docs lacking a sort field are not in the index serving the sort, so
they are never returned (CDB ``mango_idx_view:is_usable/3``: "sort fields are required to exist in
the results"); rows come in view order of the index key, ties broken by ``_id`` in raw order, the
whole order reversed for ``desc``. Projection (:func:`project`): only the listed fields, nested
fields rebuilt as nested objects, ``_id``/``_rev`` only if listed.

Strings of the generated test data are compared with the ICU root collator exactly as CouchDB does
(CDB ``couch_ejson_compare``); regular expressions in the generated selectors stay within ASCII,
where Python ``re`` and PCRE agree.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from functools import cmp_to_key
from typing import Any

from couchsync.core.collate import compare_strings

__all__ = [
    "MISSING",
    "BAD_PATH",
    "find",
    "get_path",
    "json_type",
    "matches",
    "parse_path",
    "project",
    "raw_cmp",
    "sort_docs",
    "view_cmp",
]


class _Marker:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


MISSING: Any = _Marker("MISSING")
BAD_PATH: Any = _Marker("BAD_PATH")

# ----------------------------------------------------------------------------------------------
# collation


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if value is True or value is False:
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    raise TypeError(f"not JSON: {value!r}")


def _view_rank(value: Any) -> int:
    if value is None:
        return 0
    if value is False:
        return 1
    if value is True:
        return 2
    return {"number": 3, "string": 4, "array": 5, "object": 6}[json_type(value)]


def _num_cmp(a: float, b: float) -> int:
    return -1 if a < b else (1 if a > b else 0)


def view_cmp(a: Any, b: Any) -> int:
    """CouchDB view collation: -1, 0, 1."""
    ra, rb = _view_rank(a), _view_rank(b)
    if ra != rb:
        return -1 if ra < rb else 1
    if ra == 3:
        return _num_cmp(a, b)
    if ra == 4:
        c = compare_strings(a, b)
        return (c > 0) - (c < 0)
    if ra == 5:
        for x, y in zip(a, b, strict=False):
            c = view_cmp(x, y)
            if c:
                return c
        return _num_cmp(len(a), len(b))
    if ra == 6:
        for (ka, va), (kb, vb) in zip(a.items(), b.items(), strict=False):
            c = view_cmp(ka, kb) or view_cmp(va, vb)
            if c:
                return c
        return _num_cmp(len(a), len(b))
    return 0


def _raw_rank(value: Any) -> int:
    # Erlang term order of EJSON: number < atom (false < null < true) < tuple ({Props}) < list < binary
    if value is None:
        return 2
    if value is False:
        return 1
    if value is True:
        return 3
    return {"number": 0, "object": 4, "array": 5, "string": 6}[json_type(value)]


def raw_cmp(a: Any, b: Any) -> int:
    """Erlang term order of two JSON values (used for ``_id`` conditions and ``_all_docs`` order)."""
    ra, rb = _raw_rank(a), _raw_rank(b)
    if ra != rb:
        return -1 if ra < rb else 1
    if ra == 0:
        return _num_cmp(a, b)
    if ra == 6:
        ea, eb = a.encode("utf-8"), b.encode("utf-8")
        return -1 if ea < eb else (1 if ea > eb else 0)
    if ra == 5:
        for x, y in zip(a, b, strict=False):
            c = raw_cmp(x, y)
            if c:
                return c
        return _num_cmp(len(a), len(b))
    if ra == 4:
        for (ka, va), (kb, vb) in zip(a.items(), b.items(), strict=False):
            c = raw_cmp(ka, kb) or raw_cmp(va, vb)
            if c:
                return c
        return _num_cmp(len(a), len(b))
    return 0


def _erlang_eq(a: Any, b: Any) -> bool:
    """Erlang ``=:=`` on EJSON (``lists:member``): types must agree, ``1`` differs from ``1.0``."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(_erlang_eq(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a.keys()) == list(b.keys()) and all(_erlang_eq(a[k], b[k]) for k in a)
    return bool(a == b)


# ----------------------------------------------------------------------------------------------
# field paths


_SPLIT = re.compile(r"(?<!\\)\.")


def parse_path(field: str) -> tuple[str, ...]:
    """``"a.b\\\\.c"`` -> ``("a", "b.c")``: split on dots not preceded by a backslash, then drop the
    escaping backslashes."""
    return tuple(part.replace("\\", "") for part in _SPLIT.split(field))


def get_path(doc: Any, path: Sequence[str]) -> Any:
    """The value at ``path``, or :data:`MISSING` (an object lacks the member) / :data:`BAD_PATH`."""
    value = doc
    for seg in path:
        if isinstance(value, dict):
            if seg not in value:
                return MISSING
            value = value[seg]
        elif isinstance(value, list):
            if not re.fullmatch(r"[+-]?\d+", seg):
                return BAD_PATH
            i = int(seg)
            if i < 0 or i >= len(value):
                return BAD_PATH
            value = value[i]
        else:
            return BAD_PATH
    return value


# ----------------------------------------------------------------------------------------------
# selectors -> a small tree of nodes, then matching with a negation flag

# node kinds: ("and", [nodes]) ("or", [nodes]) ("nor", [nodes]) ("not", node)
#             ("leaf", path | None, op, arg)   path None = the value itself (inside $elemMatch & co)

_COMBINATORS = {"$and", "$or", "$nor"}
_SUBSELECTOR = {"$elemMatch", "$allMatch", "$keyMapMatch"}


def _to_node(selector: Any, path: tuple[str, ...] | None) -> tuple[Any, ...]:
    if not isinstance(selector, dict) or not selector:
        return ("leaf", path, "$eq", selector)
    parts: list[tuple[Any, ...]] = []
    for key, arg in selector.items():
        if key in _COMBINATORS:
            parts.append((key[1:], [_to_node(item, path) for item in arg]))
        elif key == "$not":
            parts.append(("not", _to_node(arg, path)))
        elif key.startswith("$"):
            parts.append(("leaf", path, key, arg))
        else:
            sub = parse_path(key)
            parts.append(_to_node(arg, sub if path is None else path + sub))
    return parts[0] if len(parts) == 1 else ("and", parts)


def _leaf(op: str, arg: Any, value: Any, cmp: Callable[[Any, Any], int]) -> bool:
    """An operator applied to a present value."""
    if op == "$eq":
        return cmp(value, arg) == 0
    if op == "$ne":
        return cmp(value, arg) != 0
    if op == "$lt":
        return cmp(value, arg) < 0
    if op == "$lte":
        return cmp(value, arg) <= 0
    if op == "$gt":
        return cmp(value, arg) > 0
    if op == "$gte":
        return cmp(value, arg) >= 0
    if op == "$exists":
        return bool(arg)
    if op == "$type":
        return json_type(value) == arg
    if op in ("$in", "$nin"):
        items = value if isinstance(value, list) else [value]
        found = any(cmp(item, a) == 0 for a in arg for item in items)
        return found if op == "$in" else not found
    if op == "$size":
        return isinstance(value, list) and len(value) == arg
    if op == "$mod":
        if not isinstance(value, int) or isinstance(value, bool):
            return False
        divisor, remainder = arg
        rem = abs(value) % abs(divisor)
        return (-rem if value < 0 else rem) == remainder
    if op == "$regex":
        return isinstance(value, str) and re.search(arg, value) is not None
    if op == "$beginsWith":
        return isinstance(value, str) and value.startswith(arg)
    if op == "$all":
        if not arg or not isinstance(value, list):
            return False
        if len(arg) == 1 and isinstance(arg[0], list) and _erlang_eq(arg[0], value):
            return True
        return all(any(_erlang_eq(a, item) for item in value) for a in arg)
    if op == "$elemMatch":
        return isinstance(value, list) and any(_match(_to_node(arg, None), item, False, cmp) for item in value)
    if op == "$allMatch":
        return (
            isinstance(value, list)
            and len(value) > 0
            and all(_match(_to_node(arg, None), item, False, cmp) for item in value)
        )
    if op == "$keyMapMatch":
        return isinstance(value, dict) and any(_match(_to_node(arg, None), key, False, cmp) for key in value)
    raise ValueError(f"reference: unsupported operator {op}")


def _match(node: tuple[Any, ...], doc: Any, negated: bool, cmp: Callable[[Any, Any], int]) -> bool:
    kind = node[0]
    if kind == "and":
        children = node[1]
        if negated:  # De Morgan: not(a and b) = not a or not b; not($and: []) = $or: [] = match
            return not children or any(_match(c, doc, True, cmp) for c in children)
        return all(_match(c, doc, False, cmp) for c in children)
    if kind == "or":
        children = node[1]
        if negated:
            return all(_match(c, doc, True, cmp) for c in children)
        return not children or any(_match(c, doc, False, cmp) for c in children)
    if kind == "nor":  # $nor = $and of negations
        return _match(("and", [("not", c) for c in node[1]]), doc, negated, cmp)
    if kind == "not":
        return _match(node[1], doc, not negated, cmp)
    _, path, op, arg = node
    if path is None:
        value = doc
    else:
        value = get_path(doc, path)
        if path[0] == "_id":
            cmp = raw_cmp
    if value is MISSING:
        # only exactly $exists:false (after pushing negations down) matches a missing field
        return op == "$exists" and bool(arg) == negated
    if value is BAD_PATH:
        return False
    return _leaf(op, arg, value, cmp) != negated


def matches(selector: dict[str, Any], doc: dict[str, Any]) -> bool:
    """Whether ``doc`` satisfies ``selector`` (a raw Mango selector object)."""
    if not selector:
        return True
    return _match(_to_node(selector, None), doc, False, view_cmp)


# ----------------------------------------------------------------------------------------------
# sort, projection, a whole _find


def sort_spec(sort: Iterable[Any]) -> tuple[list[str], bool]:
    """``["a", {"b": "desc"}]`` -> (["a", "b"], descending). Directions must agree."""
    fields: list[str] = []
    dirs: set[str] = set()
    for item in sort:
        if isinstance(item, str):
            fields.append(item)
            dirs.add("asc")
        else:
            ((field, direction),) = item.items()
            fields.append(field)
            dirs.add(direction)
    assert len(dirs) <= 1, "mixed sort directions"
    return fields, dirs == {"desc"}


def _has_all(doc: dict[str, Any], fields: Iterable[str]) -> bool:
    return all(get_path(doc, parse_path(f)) not in (MISSING, BAD_PATH) for f in fields)


def sort_docs(docs: Iterable[dict[str, Any]], key_fields: Sequence[str], descending: bool = False) -> list[dict[str, Any]]:
    """Docs having every key field, in view order of ``[field values...]`` then raw ``_id``."""

    def cmp(a: dict[str, Any], b: dict[str, Any]) -> int:
        ka = [get_path(a, parse_path(f)) for f in key_fields]
        kb = [get_path(b, parse_path(f)) for f in key_fields]
        return view_cmp(ka, kb) or raw_cmp(a["_id"], b["_id"])

    out = sorted((d for d in docs if _has_all(d, key_fields)), key=cmp_to_key(cmp))
    return out[::-1] if descending else out


def by_id(docs: Iterable[dict[str, Any]], descending: bool = False) -> list[dict[str, Any]]:
    """``_all_docs`` order: raw order of ``_id``."""
    out = sorted(docs, key=cmp_to_key(lambda a, b: raw_cmp(a["_id"], b["_id"])))
    return out[::-1] if descending else out


def _set_path(target: dict[str, Any], path: Sequence[str], value: Any) -> None:
    for seg in path[:-1]:
        nxt = target.get(seg)
        if not isinstance(nxt, dict):
            nxt = {}
            target[seg] = nxt
        target = nxt
    target[path[-1]] = value


def project(doc: dict[str, Any], fields: Sequence[str] | None) -> dict[str, Any]:
    """Mango ``fields``: ``None``/``[]`` keep the whole doc; otherwise only the listed fields."""
    if not fields:
        return doc
    out: dict[str, Any] = {}
    for field in fields:
        path = parse_path(field)
        value = get_path(doc, path)
        if value is not MISSING and value is not BAD_PATH:
            _set_path(out, path, value)
    return out


_NOOP_OPS = ("$or", "$and", "$in", "$all")


def is_noop(selector: dict[str, Any]) -> bool:
    """A selector made of just one empty ``$or``/``$and``/``$in``/``$all`` returns nothing
    (CDB ``mango_cursor:maybe_noop_range/2``: "we don't want this query to execute: {"$or": []}")."""
    return len(selector) == 1 and next(iter(selector)) in _NOOP_OPS and next(iter(selector.values())) == []


def find(
    docs: Iterable[dict[str, Any]],
    selector: dict[str, Any],
    *,
    sort: Sequence[Any] | None = None,
    order_fields: Sequence[str] | None = None,
    limit: int = 25,
    skip: int = 0,
    fields: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """A whole ``_find`` over ``docs`` (non-deleted, non-design documents).

    Rows are in the order of the index that serves the query: ``order_fields`` (a json index's
    fields; ``[]`` for ``_all_docs``; ``None``: the sort fields, or ``_all_docs`` without a sort),
    ascending, ties by ``_id``; reversed when ``sort`` is descending. Docs lacking a sort field or an ``order_fields`` field are left out (they are not
    in that index).
    """
    if is_noop(selector):
        return []
    hits = [d for d in docs if matches(selector, d)]
    needed: list[str] = []
    descending = False
    if sort:
        needed, descending = sort_spec(sort)
    if order_fields is None:
        order_fields = [] if not needed or needed == ["_id"] else needed
    if order_fields:
        ordered = [d for d in sort_docs(hits, list(order_fields), descending) if _has_all(d, needed)]
    else:
        ordered = by_id(hits, descending)
    return [project(d, fields) for d in ordered[skip : skip + limit]]
