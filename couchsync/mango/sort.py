"""Mango ``sort`` specs (and index ``fields``): ``["a", {"b": "desc"}]``. Pure.

Sources: CouchDB ``mango_sort.erl`` (``new``, ``fields``, ``directions``), ``mango_error.erl``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import CouchError
from .selector import erlang_term


@dataclass(frozen=True)
class Sort:
    """``specs``: ``[(field, "asc"|"desc")]``; every direction is the same (CouchDB's rule)."""

    specs: tuple[tuple[str, str], ...] = ()

    @property
    def fields(self) -> list[str]:
        return [f for f, _ in self.specs]

    @property
    def descending(self) -> bool:
        return bool(self.specs) and self.specs[0][1] == "desc"

    def to_json(self) -> dict[str, str]:
        """As CouchDB shows it in ``_explain`` ``opts.sort``: ``{"field": "asc", …}``."""
        return dict(self.specs)


def parse_sort(raw: Any) -> Sort:
    """``raw`` (a JSON array of ``"field"`` or ``{"field": "asc"|"desc"}``) → :class:`Sort`.

    Raises 400 ``invalid_sort_json`` (not an array), ``invalid_sort_field`` (not a string or a
    one-member object), ``invalid_sort_dir`` (direction other than asc/desc),
    ``unsupported_mixed_sort`` (directions differ)."""
    if not isinstance(raw, list):
        raise CouchError(f"Sort must be an array of sort specs, not: {erlang_term(raw)}", status=400,
                         error="invalid_sort_json")
    specs: list[tuple[str, str]] = []
    for item in raw:
        if isinstance(item, str) and item:
            specs.append((item, "asc"))
        elif isinstance(item, dict) and len(item) == 1 and next(iter(item)):
            ((name, direction),) = item.items()
            if direction not in ("asc", "desc"):
                raise CouchError(f"Invalid sort direction: {erlang_term(direction)}", status=400,
                                 error="invalid_sort_dir")
            specs.append((name, direction))
        else:
            raise CouchError(f"Invalid sort field: {erlang_term(item)}", status=400, error="invalid_sort_field")
    if len({d for _, d in specs}) > 1:
        raise CouchError("Sorts currently only support a single direction for all fields.", status=400,
                         error="unsupported_mixed_sort")
    return Sort(tuple(specs))
