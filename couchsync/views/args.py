"""View query parameters (``#mrargs``): parsing and CouchDB's validation rules.

Sources: CouchDB ``couch_mrview_http.erl`` (``parse_param``), ``couch_mrview_util.erl``
(``validate_args``); reference §4.5.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import QueryParseError

_MISSING: Any = object()

JSON_PARAMS = frozenset({"key", "keys", "startkey", "start_key", "endkey", "end_key"})


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
    group_level: int | None = None  # None: no grouping; -1: exact (group=true)
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


def _bool(params: dict[str, Any], name: str, default: bool) -> bool:
    v = params.get(name)
    if v is None:
        return default
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.lower() in ("true", "false"):
        return v.lower() == "true"
    raise QueryParseError(f'Invalid boolean parameter: "{v}"')


def _int(params: dict[str, Any], name: str, *, positive: bool = False) -> int | None:
    v = params.get(name)
    if v is None:
        return None
    try:
        n = v if isinstance(v, int) and not isinstance(v, bool) else int(str(v))
    except ValueError:
        raise QueryParseError(f'Invalid value for integer: "{v}"') from None
    if n < 0 or (positive and n <= 0 and name != "limit"):
        raise QueryParseError(f'Invalid value for positive integer: "{v}"')
    return n


def parse(params: dict[str, Any], *, is_reduce_view: bool) -> ViewArgs:
    """``params`` with JSON-valued members already decoded → :class:`ViewArgs`.

    Raises ``QueryParseError`` (400 ``query_parse_error``) with CouchDB's reasons.
    """
    a = ViewArgs()
    a.descending = _bool(params, "descending", False)
    a.inclusive_end = _bool(params, "inclusive_end", True)
    a.include_docs = _bool(params, "include_docs", False)
    a.conflicts = _bool(params, "conflicts", False)
    a.attachments = _bool(params, "attachments", False)
    a.update_seq = _bool(params, "update_seq", False)
    a.sorted = _bool(params, "sorted", True)
    a.stable = _bool(params, "stable", False)
    limit = _int(params, "limit")
    a.limit = limit
    a.skip = _int(params, "skip") or 0
    update = params.get("update", "true")
    if isinstance(update, bool):
        update = "true" if update else "false"
    if update not in ("true", "false", "lazy"):
        raise QueryParseError(f'Invalid value for `update`: "{update}"')
    a.update = str(update)
    stale = params.get("stale")
    if stale is not None:
        if stale == "ok":
            a.stable, a.update = True, "false"
        elif stale == "update_after":
            a.stable, a.update = True, "lazy"
        else:
            raise QueryParseError("Invalid value for `stale`.")
    for name in ("startkey_docid", "start_key_doc_id"):
        if isinstance(params.get(name), str):
            a.start_docid = params[name]
    for name in ("endkey_docid", "end_key_doc_id"):
        if isinstance(params.get(name), str):
            a.end_docid = params[name]
    key = params.get("key", _MISSING)
    keys = params.get("keys", _MISSING)
    start = params.get("startkey", params.get("start_key", _MISSING))
    end = params.get("endkey", params.get("end_key", _MISSING))
    if keys is not _MISSING:
        if not isinstance(keys, list):
            raise QueryParseError("`keys` member must be an array.")
        if key is not _MISSING or start is not _MISSING or end is not _MISSING:
            raise QueryParseError("`keys` is incompatible with `key`, `start_key` and `end_key`")
        if len(keys) == 1:  # CouchDB 3.3.1+: a single key is a key query
            key = keys[0]
        else:
            a.keys = keys
    if key is not _MISSING:
        start = end = key
    a.start, a.end = start, end
    _grouping(a, params, is_reduce_view)
    if isinstance(params.get("partition"), str):
        a.partition = params["partition"]
    return a


def _grouping(a: ViewArgs, params: dict[str, Any], is_reduce_view: bool) -> None:
    reduce_param = params.get("reduce")
    a.reduce = None if reduce_param is None else _bool(params, "reduce", True)
    group = params.get("group")
    group_level = _int(params, "group_level")
    grouped = group is not None and _bool(params, "group", False)
    if group is not None and not _bool(params, "group", False) and group_level:
        raise QueryParseError("Can't specify group=false and group_level>0 at the same time")
    if a.reduce and not is_reduce_view:
        raise QueryParseError("Reduce is invalid for map-only views.")
    reducing = is_reduce_view and a.reduce is not False
    if (grouped or group_level is not None) and not reducing:
        raise QueryParseError("Invalid use of grouping on a map view.")
    if reducing:
        if a.include_docs:
            raise QueryParseError("`include_docs` is invalid for reduce")
        if a.conflicts:
            raise QueryParseError("`conflicts` is invalid for reduce views.")
        if a.keys is not None and not grouped and group_level is None:
            raise QueryParseError("Multi-key fetches for reduce views must use `group=true`")
        a.group_level = -1 if grouped else group_level
        a.reduce = True
    else:
        a.reduce = False
