"""The Mango query planner: which index answers a ``_find``, and over which key range. Pure.

Given a normalised selector (:mod:`couchsync.mango.selector`), the request's sort, ``use_index`` and
partition, and the database's indexes, :func:`plan` returns the chosen :class:`Index` and the
per-column ranges of its key prefix, following CouchDB:

* an index is *usable* when every column is required by the selector (a condition other than
  ``{"$exists": false}`` on it, seen through ``$and`` and — on every branch — ``$or``), except
  columns that are sort fields and ``_id``/``_rev``, and its columns can produce the sort (the sort
  fields are a prefix of the columns after columns the selector pins with ``$eq``)
  (``mango_idx_view:is_usable``, ``can_use_sort``, ``mango_selector:has_required_fields``);
* partitioned queries use partitioned indexes, global ones global indexes; indexes with a
  ``partial_filter_selector`` are used only when ``use_index`` names them (``mango_idx``);
* among usable json indexes, the best has the fewest indexable selector fields outside its column
  prefix, then the fewest columns, then the smallest (ddoc, name) (``mango_cursor_view:
  choose_best_index``); ``_all_docs`` is used only when no json index is usable, and can sort only
  by ``_id``;
* a column's range is the intersection of the top-level ``$and``'s ``$lt $lte $eq $gte $gt``
  conditions on it (``mango_idx_view:range``); other operators narrow nothing and are matched
  afterwards. An unsatisfiable range, or a selector that is only an empty ``$or``/``$and``/``$in``/
  ``$all``, means no documents (``mango_cursor:maybe_noop_range``).

Errors: 400 ``no_usable_index`` (CouchDB's reasons for a sort no index supports, global and
partitioned, and for ``allow_fallback: false``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..core.collate import compare, compare_raw
from ..errors import CouchError
from .indexes import SPECIAL, Index
from .sort import Sort


class _Extreme:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


MIN: Any = _Extreme("MIN")
MAX: Any = _Extreme("MAX")


def _cmp(a: Any, b: Any, raw: bool = False) -> int:
    if a is b:
        return 0
    if a is MIN or b is MAX:
        return -1
    if a is MAX or b is MIN:
        return 1
    return compare_raw(a, b) if raw else compare(a, b)


@dataclass(frozen=True, slots=True)
class Range:
    """``lcmp low … hcmp high`` (``$gt``/``$gte``/``$eq`` and ``$lt``/``$lte``/``$eq``)."""

    lcmp: str = "$gt"
    low: Any = MIN
    hcmp: str = "$lt"
    high: Any = MAX


EMPTY: Any = None  # an unsatisfiable range


_RANGE_OPS = ("$lt", "$lte", "$eq", "$gt", "$gte")


def indexable_fields(tree: dict[str, Any]) -> list[str]:
    """Fields with a range condition, seen through ``$and`` only (``mango_idx_view:indexable_fields``)."""
    if not tree:
        return []
    ((key, value),) = tree.items()
    if key == "$and":
        return sorted({f for arg in value for f in indexable_fields(arg)})
    if key.startswith("$"):
        return []
    ((op, _),) = value.items()
    return [key] if op in _RANGE_OPS else []


def _narrow(r: Range | None, op: str, arg: Any, raw: bool = False) -> Range | None:
    """``mango_idx_view:range/5``: the range ``r`` and-ed with ``{op: arg}`` (``raw``: ``_id``
    order, as the selector matches ``_id``)."""
    if r is None:
        return EMPTY
    pos = _position(r.low, arg, r.high, raw)
    if op == "$lt":
        if pos in ("min", "low"):
            return EMPTY
        return Range(r.lcmp, r.low, "$lt", arg) if pos in ("mid", "high") else r
    if op == "$lte":
        if pos == "min":
            return EMPTY
        if pos == "low":
            return Range("$eq", arg, "$eq", arg) if r.lcmp in ("$gte", "$eq") else EMPTY
        return Range(r.lcmp, r.low, "$lte", arg) if pos == "mid" else r
    if op == "$eq":
        if pos == "mid":
            return Range("$eq", arg, "$eq", arg)
        if pos == "low" and r.lcmp in ("$gte", "$eq") or pos == "high" and r.hcmp in ("$lte", "$eq"):
            return Range("$eq", arg, "$eq", arg)
        return EMPTY
    if op == "$gte":
        if pos in ("min", "low"):
            return r
        if pos == "mid":
            return Range("$gte", arg, r.hcmp, r.high)
        return Range("$eq", arg, "$eq", arg) if pos == "high" and r.hcmp in ("$lte", "$eq") else EMPTY
    if op == "$gt":
        if pos == "min":
            return r
        if pos in ("low", "mid"):
            return Range("$gt", arg, r.hcmp, r.high)
        return EMPTY
    return r


def _position(low: Any, arg: Any, high: Any, raw: bool) -> str:
    c = _cmp(arg, low, raw)
    if c < 0:
        return "min"
    if c == 0:
        return "low"
    c = _cmp(arg, high, raw)
    return "mid" if c < 0 else "high" if c == 0 else "max"


def field_range(tree: dict[str, Any], name: str, r: Range | None = None) -> Range | None:
    """The range of ``name`` in the selector's top-level ``$and`` (``mango_idx_view:range/2``)."""
    r = Range() if r is None else r
    if not tree or r is EMPTY:
        return r
    ((key, value),) = tree.items()
    if key == "$and":
        for arg in value:
            r = field_range(arg, name, r)
        return r
    if key == name:
        ((op, arg),) = value.items()
        return _narrow(r, op, arg, raw=name == "_id")
    return r


def field_ranges(tree: dict[str, Any]) -> list[tuple[str, Range | None]]:
    """``[(field, range)]`` for the indexable fields; stops at the first empty one."""
    out: list[tuple[str, Range | None]] = []
    for name in indexable_fields(tree):
        r = field_range(tree, name)
        if r is EMPTY:
            return [(name, EMPTY)]
        out.append((name, r))
    return out


def _required_remainder(tree: Any, required: list[str]) -> list[str]:
    """``mango_selector:has_required_fields_int``: the required fields the selector leaves uncovered."""
    if isinstance(tree, dict):
        tree = [tree] if tree else []
    for item in tree:
        ((key, value),) = item.items()
        if key == "$and" and isinstance(value, list):
            required = _required_remainder(value, required)
        elif key == "$or" and isinstance(value, list):
            remainder: set[str] = set()
            for arg in value:
                remainder.update(_required_remainder(arg, required))
            required = sorted(remainder)
        elif key.startswith("$"):
            continue
        elif value != {"$exists": False}:
            required = [f for f in required if f != key]
    return required


def has_required_fields(tree: dict[str, Any], required: list[str]) -> bool:
    return not _required_remainder(tree, list(required))


def is_constant_field(tree: dict[str, Any], name: str) -> bool:
    """The selector pins ``name`` with ``$eq`` in its top-level ``$and``."""
    if not tree:
        return False
    ((key, value),) = tree.items()
    if key == "$and":
        return any(is_constant_field(arg, name) for arg in value)
    return key == name and isinstance(value, dict) and "$eq" in value


def can_use_sort(columns: list[str], sort_fields: list[str], tree: dict[str, Any]) -> bool:
    if not sort_fields:
        return True
    for i, col in enumerate(columns):
        if col == sort_fields[0]:
            return columns[i:i + len(sort_fields)] == sort_fields
        if not is_constant_field(tree, col):
            return False
    return False


def usability(index: Index, tree: dict[str, Any], sort_fields: list[str]) -> str | None:
    """``None`` when ``index`` can answer the query, else CouchDB's reason name
    (``field_mismatch``, ``sort_order_mismatch``)."""
    if index.special:
        return None if not sort_fields or sort_fields == ["_id"] else "sort_order_mismatch"
    columns = index.columns
    required = sorted(set(columns) - set(sort_fields) - {"_id", "_rev"})
    if not has_required_fields(tree, required):
        return "field_mismatch"
    if not can_use_sort(columns, sort_fields, tree):
        return "sort_order_mismatch"
    return None


@dataclass
class Candidate:
    index: Index
    usable: bool
    reason: str
    ranking: int = 0


@dataclass
class Plan:
    """The chosen ``index`` (``None``: none can answer, see ``error``); ``ranges`` per column of its key prefix; ``empty`` when no document can
    match; ``warnings`` (``use_index`` not honoured); ``candidates`` for ``_explain``."""

    index: Index | None
    ranges: list[Range] = field(default_factory=list)
    empty: bool = False
    descending: bool = False
    warnings: list[str] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)
    error: CouchError | None = None

    def start_key(self) -> list[Any]:
        """``mango_idx_view:start_key``: the low values of the prefix up to the first open one
        (a lower bound of every matching key in array collation)."""
        out: list[Any] = []
        for r in self.ranges:
            if r.low is MIN:
                break
            out.append(r.low)
        return out

    def end_key(self) -> list[Any]:
        """``mango_idx_view:end_key``: the high values, then ``MAX`` (a bound above every suffix)."""
        out: list[Any] = []
        for r in self.ranges:
            if r.high is MAX:
                break
            out.append(r.high)
        return [*out, MAX]


_NOOP_OPS = ("$all", "$and", "$or", "$in")


def _use_index_filter(indexes: list[Index], use_index: list[str]) -> list[Index]:
    ddoc = use_index[0] if use_index[0].startswith("_design/") else "_design/" + use_index[0]
    return [i for i in indexes if i.ddoc == ddoc and (len(use_index) == 1 or i.name == use_index[1])]


def use_index_warning(use_index: list[str]) -> str:
    name = use_index[0].removeprefix("_design/")
    if len(use_index) == 1:
        return f"_design/{name} was not used because it does not contain a valid index for this query."
    return f"_design/{name}, {use_index[1]} was not used because it is not a valid index for this query."


def no_usable_index(reason: str) -> CouchError:
    return CouchError(reason, status=400, error="no_usable_index")


def plan(tree: dict[str, Any], sort: Sort, indexes: list[Index], *, use_index: list[str],
         partition: str | None, db_partitioned: bool, allow_fallback: bool = True) -> Plan:
    """Chooses the index and ranges for a ``_find`` (see module doc). ``indexes`` are the json
    indexes of the database (the ``_all_docs`` special index is added here). When no index can
    answer, the plan has ``index=None`` and ``error`` (``_find`` raises it, ``_explain`` shows it).

    ``candidates`` are the indexes not chosen, with CouchDB's reasons and rankings
    (``mango_cursor:extract_candidate_indexes``): partial < out of scope < not usable < excluded
    by ``use_index`` < unfavoured type < usable but ranked lower."""
    sort_fields = sort.fields
    requested = _use_index_filter(indexes, use_index) if use_index else []
    partial, out_of_scope, not_usable = [], [], []
    usable: list[Index] = []
    for index in [*indexes, SPECIAL]:
        if index.partial is not None and index not in requested:
            partial.append(Candidate(index, False, "is_partial"))
        elif not index.special and index.partitioned != (partition is not None):
            out_of_scope.append(Candidate(index, False, "scope_mismatch"))
        else:
            reason = usability(index, tree, sort_fields)
            if reason is None:
                usable.append(index)
            else:
                not_usable.append(Candidate(index, False, "field_mismatch" if index.special else reason))
    warnings: list[str] = []
    error: CouchError | None = None
    pool = usable
    excluded: list[Candidate] = []
    if not usable:
        if db_partitioned and partition is not None:
            error = no_usable_index("No partitioned index exists for this sort, try indexing by the sort fields.")
        elif db_partitioned:
            error = no_usable_index("No global index exists for this sort, try indexing by the sort fields.")
        else:
            error = no_usable_index("No index exists for this sort, try indexing by the sort fields.")
    elif use_index:
        chosen_pool = [i for i in usable if i in requested]
        if chosen_pool:
            excluded = [Candidate(i, True, "excluded_by_user") for i in usable if i not in chosen_pool]
            pool = chosen_pool
        elif not allow_fallback:
            raise no_usable_index('No index matches the index specified with "use_index"')
        else:
            warnings.append(use_index_warning(use_index))
    json_pool = [i for i in pool if not i.special]
    ranges = field_ranges(tree)
    chosen: Index | None = None
    prefix: list[Any] = []
    ranked_out: list[Candidate] = []
    unfavored: list[Candidate] = []
    if json_pool:
        ranked = sorted(
            ((len(ranges) - len(_prefix(i.columns, ranges)), len(i.columns), i.ddoc or "", i.name, i)
             for i in json_pool), key=lambda t: t[:4])
        chosen = ranked[0][4]
        for n, (distance, width, *_rest, index) in enumerate(ranked[1:], start=1):
            reason = ("less_overlap" if distance > ranked[0][0] else
                      "too_many_fields" if width > ranked[0][1] else "alphabetically_comes_after")
            ranked_out.append(Candidate(index, True, reason, n))
        unfavored = [Candidate(i, True, "unfavored_type") for i in pool if i.special]
    elif pool:
        if not allow_fallback and not use_index:
            raise no_usable_index("There is no index available for this selector.")
        chosen = SPECIAL
    if chosen is not None:
        prefix = _prefix(chosen.columns, ranges)
    rank = max(1, len(json_pool))
    for group in (unfavored, excluded, not_usable, out_of_scope, partial):
        for c in group:
            c.ranking = rank
        rank += 1 if group else 0
    candidates = [*ranked_out, *unfavored, *excluded, *not_usable, *out_of_scope, *partial]
    empty = any(r is EMPTY for r in prefix) or any(r is EMPTY for _, r in ranges) or _noop(tree)
    return Plan(chosen, [] if empty else prefix, empty, sort.descending, warnings, candidates, error)


def _prefix(columns: list[str], ranges: list[tuple[str, Range | None]]) -> list[Any]:
    found = dict(ranges)
    out = []
    for col in columns:
        if col not in found:
            break
        out.append(found[col])
    return out


def _noop(tree: dict[str, Any]) -> bool:
    if len(tree) != 1:
        return False
    ((key, value),) = tree.items()
    return key in _NOOP_OPS and value == []


def covers(index: Index | None, fields: list[str] | None, tree: dict[str, Any]) -> bool:
    """The json ``index`` alone can answer: ``fields`` and every field of the selector are among its
    columns and ``_id``, and it has no partial filter (``mango_idx_view:covers``, CouchDB 3.4)."""
    if index is None or index.special or not fields or index.partial is not None:
        return False
    available = {"_id", *index.columns}
    return set(fields) <= available and set(selector_fields(tree)) <= available


def selector_fields(tree: Any) -> list[str]:
    """Every field a normalised selector mentions (``mango_selector:fields``)."""
    if isinstance(tree, list):
        return [f for t in tree for f in selector_fields(t)]
    if not isinstance(tree, dict) or not tree:
        return []
    ((key, value),) = tree.items()
    if key.startswith("$"):
        return selector_fields(value) if isinstance(value, list | dict) else []
    return [key]
