"""Design documents: structure validation, partitioning, and the view index signature.

The signature covers exactly what determines a view's rows — language, every view's map and reduce,
``views.lib``, and the options that change indexing (``partitioned``, ``collation``,
``include_design``, ``local_seq``) — so editing a show function or ``validate_doc_update`` does not
rebuild the index, while any change to a view does. Pure: no I/O.

Sources: CouchDB ``couch_mrview.erl`` (``validate``, ``validate_ddoc_fields``),
``couch_mrview_util.erl`` (``ddoc_to_mrst`` signature); reference §4.4, §5.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import orjson

from ..errors import CouchError
from .reduce import validate_reduce_name


def invalid(reason: str) -> CouchError:
    return CouchError(reason, status=400, error="invalid_design_doc")


@dataclass(frozen=True)
class DesignDoc:
    """A parsed ``_design/x`` document; ``views`` maps name → ``{"map": src, "reduce"?: src|builtin}``."""

    id: str
    body: dict[str, Any]
    language: str = "javascript"
    views: dict[str, dict[str, Any]] = field(default_factory=dict)
    partitioned: bool = False

    @property
    def name(self) -> str:
        return self.id.removeprefix("_design/")

    @property
    def is_query(self) -> bool:
        """A Mango index (``"language": "query"``), not run by the JavaScript view engine."""
        return self.language == "query"

    @property
    def signature(self) -> str:
        """Hex md5 of what determines the view rows (see module doc)."""
        options = self.body.get("options") or {}
        relevant = {
            "language": self.language,
            "views": {
                n: {k: v for k, v in view.items() if k in ("map", "reduce", "options")}
                for n, view in sorted(self.views.items())
            },
            "lib": (self.body.get("views") or {}).get("lib"),
            "options": {
                k: options.get(k) for k in ("partitioned", "collation", "include_design", "local_seq")
            },
            "partitioned": self.partitioned,
        }
        return hashlib.md5(orjson.dumps(relevant, option=orjson.OPT_SORT_KEYS)).hexdigest()


def parse_design(doc_id: str, body: dict[str, Any], *, db_partitioned: bool) -> DesignDoc:
    """Validates the structure of a design document and returns it parsed.

    Raises ``CouchError`` 400 ``invalid_design_doc`` with CouchDB's reasons, e.g. "`views.v.map`
    field must have string type", "View `v` must contain map function", "`_foo` is not a supported
    reduce function.", "partitioned option cannot be true in a non-partitioned database.".
    """
    language = body.get("language", "javascript")
    if not isinstance(language, str):
        raise invalid("`language` field must have string type")
    views_raw = body.get("views", {})
    if views_raw is None:
        views_raw = {}
    if not isinstance(views_raw, dict):
        raise invalid("`views` field must have object type")
    options = body.get("options", {})
    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise invalid("`options` field must have object type")
    partitioned_opt = options.get("partitioned")
    if partitioned_opt is not None and not isinstance(partitioned_opt, bool):
        raise invalid("`options.partitioned` field must have boolean type")
    if partitioned_opt and not db_partitioned:
        raise invalid("partitioned option cannot be true in a non-partitioned database.")
    partitioned = db_partitioned if partitioned_opt is None else partitioned_opt
    views: dict[str, dict[str, Any]] = {}
    for name, view in views_raw.items():
        if name == "lib":
            continue
        if not isinstance(view, dict):
            raise invalid(f"View `{name}` must be an object")
        if "map" not in view:
            raise invalid(f"View `{name}` must contain map function")
        if language != "query" and not isinstance(view["map"], str):
            raise invalid(f"`views.{name}.map` field must have string type")
        reduce = view.get("reduce")
        if reduce is not None:
            if not isinstance(reduce, str):
                raise invalid(f"`views.{name}.reduce` field must have string type")
            if reduce.startswith("_") and language != "query":
                validate_reduce_name(reduce.strip())  # 400 "`_foo` is not a supported reduce function."
        views[name] = view
    for member in ("filters", "shows", "updates", "lists"):
        value = body.get(member)
        if value is not None and not (
            isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
        ):
            raise invalid(f"`{member}` field must be an object of strings")
    vdu = body.get("validate_doc_update")
    if vdu is not None and not isinstance(vdu, str):
        raise invalid("`validate_doc_update` field must have string type")
    return DesignDoc(doc_id, body, language, views, partitioned)
