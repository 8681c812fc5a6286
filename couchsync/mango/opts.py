"""``_find`` / ``_explain`` request bodies, validated as CouchDB does. Pure.

Sources: CouchDB ``mango_opts.erl`` (``validate_find``), ``mango_error.erl``; reference §6.1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from ..errors import CouchError
from .selector import Selector, erlang_term, normalize
from .sort import Sort, parse_sort

DEFAULT_LIMIT = 25


@dataclass
class FindRequest:
    """A validated ``_find`` body. ``fields`` is ``None`` for whole documents."""

    selector: Selector
    limit: int = DEFAULT_LIMIT
    skip: int = 0
    sort: Sort = field(default_factory=Sort)
    fields: list[str] | None = None
    use_index: list[str] = field(default_factory=list)
    bookmark: str | None = None
    conflicts: bool = False
    r: int = 1
    update: bool = True
    stable: bool = False
    stale: str | bool = False
    execution_stats: bool = False
    allow_fallback: bool = True
    partition: str | None = None

    def opts_json(self) -> dict[str, Any]:
        """The ``opts`` member of ``_explain`` (every option with its effective value)."""
        return {
            "use_index": self.use_index, "bookmark": self.bookmark or "nil", "limit": self.limit,
            "skip": self.skip, "sort": self.sort.to_json(), "fields": self.fields or [],
            "partition": self.partition or "", "r": self.r, "conflicts": self.conflicts,
            "stale": self.stale, "update": self.update, "stable": self.stable,
            "execution_stats": self.execution_stats, "allow_fallback": self.allow_fallback,
        }


def _err(error: str, reason: str) -> CouchError:
    return CouchError(reason, status=400, error=error)


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _err("invalid_boolean", f"Invalid boolean value: {erlang_term(value)}")
    return value


def _non_neg_int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise _err("invalid_non_neg_integer", f"{erlang_term(value)} is not an integer greater than or equal to zero")
    return value


def _pos_int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise _err("invalid_pos_integer", f"{erlang_term(value)} is not an integer greater than zero")
    return value


def _use_index(value: Any) -> list[str]:
    """``"ddoc"``, ``"_design/ddoc"``, ``"ddoc/name"``, ``"_design/ddoc/name"`` or ``[ddoc, name?]``
    (mango_opts ``validate_use_index``)."""
    if isinstance(value, str):
        parts = value.split("/") if value else []
        if parts[:1] == ["_design"]:
            parts = parts[1:]
        if len(parts) <= 2 and all(parts):
            return parts
        raise _err("invalid_index_name", f"Invalid index name: {erlang_term(value)}")
    if isinstance(value, list) and len(value) in (0, 1, 2) and all(isinstance(v, str) and v for v in value):
        return list(value)
    raise _err("invalid_index_name", f"Invalid index name: {erlang_term(value)}")


def _fields(value: Any) -> list[str] | None:
    if not isinstance(value, list):
        raise _err("invalid_fields", f"Fields must be an array of strings, not: {erlang_term(value)}")
    for item in value:
        if not isinstance(item, str):
            raise _err("invalid_field", f"Invalid JSON for field spec: {erlang_term(item)}")
    return value or None


def _bookmark(value: Any) -> str | None:
    if value is None or value == "nil":
        return None
    if not isinstance(value, str):
        raise CouchError(f"Invalid bookmark value: {_json(value)}", status=400, error="invalid_bookmark")
    return value


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _partition(value: Any) -> str | None:
    if not isinstance(value, str):
        raise _err("invalid_string", f"Invalid string: {erlang_term(value)}")
    return value or None


def _stale(value: Any) -> str | bool:
    if value == "ok" or value is False:
        return value
    raise _err("invalid_value", f"Invalid value for stale: {erlang_term(value)}")


_PARSERS: dict[str, Any] = {
    "limit": _non_neg_int, "skip": _non_neg_int, "sort": parse_sort, "fields": _fields,
    "use_index": _use_index, "bookmark": _bookmark, "conflicts": _bool, "r": _pos_int,
    "update": _bool, "stable": _bool, "stale": _stale, "execution_stats": _bool,
    "allow_fallback": _bool, "partition": _partition,
}


def parse_find(body: Any, partition: str | None = None) -> FindRequest:
    """Validates a ``_find`` body; ``partition`` is the ``/_partition/{p}/`` of the URL.

    Raises 400: ``invalid_key`` "Invalid key x for this request.", ``missing_required_key``
    "Missing required key: selector", ``invalid_selector_json`` and the selector's own errors,
    ``invalid_non_neg_integer`` (limit, skip), ``invalid_pos_integer`` (r), ``invalid_boolean``,
    ``invalid_sort_json``/``invalid_sort_dir``/``invalid_sort_field``/``unsupported_mixed_sort``,
    ``invalid_fields``/``invalid_field``, ``invalid_index_name`` (use_index), ``invalid_bookmark``."""
    if not isinstance(body, dict):
        raise _err("invalid_object", f"{erlang_term(body)} is not a JSON object")
    for key in body:
        if key != "selector" and key not in _PARSERS:
            raise _err("invalid_key", f"Invalid key {key} for this request.")
    if "selector" not in body:
        raise _err("missing_required_key", "Missing required key: selector")
    req = FindRequest(normalize(body["selector"]))
    for key, value in body.items():
        if key != "selector":
            setattr(req, key, _PARSERS[key](value))
    if req.stale == "ok":
        req.update, req.stable = False, True
    if partition is not None:
        if req.partition is not None and req.partition != partition:
            raise _err("bad_request", "Conflicting value for `partition` in query string")
        req.partition = partition
    return req
