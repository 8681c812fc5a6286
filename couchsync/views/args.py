"""View query parameters (``#mrargs``): parsing and CouchDB's validation rules.

Parameters are applied in request order, as CouchDB folds them (``key=a&startkey=b`` is the
range ``b..a``, ``startkey=b&key=a`` is the key ``a``); a single-element ``keys`` is a ``key``
(CouchDB 3.3.1+), applied where it appears. Then ``validate_args`` and ``check_range`` run.

Sources: CouchDB ``couch_mrview_http.erl`` (``parse_param``, ``parse_boolean``, ``parse_int``,
``parse_pos_int``), ``couch_mrview_util.erl`` (``validate_args``, ``determine_group_level``,
``check_range``), ``chttpd_view_test.erl``; reference §4.5.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from ..core.collate import compare
from ..errors import QueryParseError

_MISSING: Any = object()

JSON_PARAMS = frozenset({"key", "keys", "startkey", "start_key", "endkey", "end_key"})

_INT = re.compile(r"[+-]?[0-9]+")  # Erlang list_to_integer/1


@dataclass
class ViewArgs:
    """A parsed view query. ``start``/``end`` are keys (``_MISSING`` when absent)."""

    start: Any = _MISSING
    end: Any = _MISSING
    start_docid: str | None = None
    end_docid: str | None = None
    keys: list[Any] | None = None
    inclusive_end: bool = True
    descending: bool = False
    limit: int | None = None
    skip: int = 0
    group_level: int | None = None  # None: no grouping (group_level 0); -1: exact (group=true)
    reduce: bool | None = None
    include_docs: bool = False
    conflicts: bool = False
    attachments: bool = False
    update: str = "true"
    stable: bool = False
    update_seq: bool = False
    sorted: bool = True
    partition: str | None = None

    @property
    def has_start(self) -> bool:
        return self.start is not _MISSING

    @property
    def has_end(self) -> bool:
        return self.end is not _MISSING


def _show(v: Any) -> str:
    """Erlang ``~p`` of the value as it arrived: strings quoted, JSON numbers bare."""
    return f'"{v}"' if isinstance(v, str) else orjson.dumps(v).decode()


def _bool(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.lower() in ("true", "false"):
        return v.lower() == "true"
    raise QueryParseError(f"Invalid boolean parameter: {_show(v)}")


def _int(v: Any) -> int:
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    if isinstance(v, str) and _INT.fullmatch(v):
        return int(v)
    raise QueryParseError(f"Invalid value for integer: {_show(v)}")


def _pos_int(v: Any) -> int:
    n = _int(v)
    if n < 0:
        raise QueryParseError(f"Invalid value for positive integer: {_show(v)}")
    return n


def _word(v: Any, name: str, allowed: tuple[str, ...]) -> str:
    """``stable``/``update``/``stale`` take exact words (JSON booleans allowed in POST bodies)."""
    if isinstance(v, bool):
        v = "true" if v else "false"
    if v not in allowed:
        raise QueryParseError(f"Invalid value for `{name}`.")
    return str(v)


def parse(params: Mapping[str, Any], *, is_reduce_view: bool) -> ViewArgs:
    """``params`` (in request order, JSON-valued members already decoded) → :class:`ViewArgs`.

    Raises ``QueryParseError`` (400 ``query_parse_error``) with CouchDB's reasons.
    """
    a = ViewArgs()
    reduce: bool | None = None
    group: bool | None = None
    group_level: int | None = None
    conflicts: bool | None = None
    keys: Any = _MISSING
    for name, v in params.items():
        if name == "reduce":
            reduce = _bool(v)
        elif name == "key":
            a.start = a.end = v
        elif name == "keys":
            if isinstance(v, list) and len(v) == 1:  # CouchDB 3.3.1+: a single key is a key
                a.start = a.end = v[0]
            else:
                keys = v
        elif name in ("startkey", "start_key"):
            a.start = v
        elif name in ("endkey", "end_key"):
            a.end = v
        elif name in ("startkey_docid", "start_key_doc_id"):
            a.start_docid = v if isinstance(v, str) else orjson.dumps(v).decode()
        elif name in ("endkey_docid", "end_key_doc_id"):
            a.end_docid = v if isinstance(v, str) else orjson.dumps(v).decode()
        elif name == "limit":
            a.limit = _pos_int(v)
        elif name == "skip":
            a.skip = _pos_int(v)
        elif name == "stale":
            stale = _word(v, "stale", ("ok", "update_after"))
            a.stable, a.update = True, ("false" if stale == "ok" else "lazy")
        elif name == "stable":
            a.stable = _word(v, "stable", ("true", "false")) == "true"
        elif name == "update":
            a.update = _word(v, "update", ("true", "false", "lazy"))
        elif name == "descending":
            a.descending = _bool(v)
        elif name == "group":
            group = _bool(v)
        elif name == "group_level":
            group_level = _pos_int(v)
        elif name == "inclusive_end":
            a.inclusive_end = _bool(v)
        elif name == "include_docs":
            a.include_docs = _bool(v)
        elif name == "attachments":
            a.attachments = _bool(v)
        elif name == "att_encoding_info":
            _bool(v)
        elif name == "update_seq":
            a.update_seq = _bool(v)
        elif name == "conflicts":
            conflicts = _bool(v)
        elif name == "sorted":
            a.sorted = _bool(v)
        elif name == "partition":
            a.partition = v if isinstance(v, str) else orjson.dumps(v).decode()
    _validate(a, is_reduce_view, reduce, group, group_level, conflicts, keys)
    _check_range(a)
    return a


def _validate(
    a: ViewArgs,
    is_reduce_view: bool,
    reduce: bool | None,
    group: bool | None,
    group_level: int | None,
    conflicts: bool | None,
    keys: Any,
) -> None:
    """``couch_mrview_util:validate_args/1``, in its order."""
    # determine_group_level: None = 0, -1 = exact
    if group is False and group_level:
        raise QueryParseError("Can't specify group=false and group_level>0 at the same time")
    level: int = (-1 if group else 0) if group_level is None else group_level
    red = is_reduce_view and reduce is not False  # view_type red / map
    if reduce is True and not red:
        raise QueryParseError("Reduce is invalid for map-only views.")
    if red and level != -1 and isinstance(keys, list):
        raise QueryParseError("Multi-key fetches for reduce views must use `group=true`")
    if keys is not _MISSING and not isinstance(keys, list):
        raise QueryParseError("`keys` must be an array of strings.")
    if isinstance(keys, list) and keys and (a.has_start or a.has_end):
        raise QueryParseError("`keys` is incompatible with `key`, `start_key` and `end_key`")
    if not red and level != 0:
        raise QueryParseError("Invalid use of grouping on a map view.")
    if red and a.include_docs:
        raise QueryParseError("`include_docs` is invalid for reduce")
    if red and conflicts is not None:
        raise QueryParseError("`conflicts` is invalid for reduce views.")
    if isinstance(keys, list):
        a.keys = keys
    a.reduce = red
    a.conflicts = bool(conflicts) and not red
    a.group_level = None if not red or level == 0 else level


def _same_term(x: Any, y: Any) -> bool:
    """Erlang term equality of two decoded JSON values (``1`` and ``1.0`` differ, as do objects
    with their members in another order)."""
    try:
        return orjson.dumps(x) == orjson.dumps(y)
    except TypeError:
        return False


def _check_range(a: ViewArgs) -> None:
    """``couch_mrview_util:check_range/2``: a start key after the end key (in the query's
    direction, doc ids breaking ties) can match nothing and is an error — unless both are the
    same term, whatever the doc ids."""
    if not (a.has_start and a.has_end) or _same_term(a.start, a.end):
        return
    low, high = (b"\xff", b"") if a.descending else (b"", b"\xff")
    sd = low if a.start_docid is None else a.start_docid.encode()
    ed = high if a.end_docid is None else a.end_docid.encode()
    c = compare(a.start, a.end)
    less = c < 0 or (c == 0 and sd < ed)
    if not a.descending and not less:
        raise QueryParseError(
            "No rows can match your key range, reverse your start_key and end_key or set descending=true"
        )
    if a.descending and less:
        raise QueryParseError(
            "No rows can match your key range, reverse your start_key and end_key or set descending=false"
        )
