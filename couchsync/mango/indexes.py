"""Mango indexes: ``json`` indexes stored in ``"language": "query"`` design documents, and the
``_all_docs`` special index. Pure: no I/O.

A json index is one view of a query design document::

    {"_id": "_design/x", "language": "query",
     "views": {"y": {"map": {"fields": {"a": "asc", "b": "asc"}, "partial_filter_selector": {...}},
                     "reduce": "_count", "options": {"def": {"fields": ["a", "b"]}}}}}

Its rows are ``key = [value of each field]``, ``value = null`` for every live, non-design document
that has all the fields (and matches the ``partial_filter_selector``), so a query's index range is
a key range over arrays in view collation.

Sources: CouchDB ``mango_idx.erl`` (``new``, ``add``, ``from_ddoc``, ``special``, ``gen_name``),
``mango_idx_view.erl`` (``make_view``, ``to_json``, ``columns``), ``mango_native_proc.erl``
(``get_index_entries``); reference §6.3.
"""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from ..core.documents import validate_docid
from ..errors import CouchError
from ..views.design import DesignDoc
from . import selector as sel
from .sort import Sort, parse_sort

ALL_DOCS = "_all_docs"


def _invalid_index(reason: str) -> CouchError:
    return CouchError(reason, status=400, error="invalid_index")


@dataclass(frozen=True)
class Index:
    """One Mango index. ``ddoc`` is ``None`` for the ``_all_docs`` special index.

    ``fields``: ``[(field, "asc"|"desc")]`` in index order; ``partitioned``: the design doc's
    partitioned flag; ``partial`` the normalised ``partial_filter_selector`` (``None`` when absent);
    ``signature`` the design doc's index signature (``view_rows.sig``)."""

    ddoc: str | None
    name: str
    type: str
    fields: tuple[tuple[str, str], ...]
    partitioned: bool = False
    partial: sel.Selector | None = None
    partial_json: dict[str, Any] | None = None
    signature: str = ""
    paths: tuple[tuple[str, ...], ...] = field(default=(), compare=False)

    @property
    def special(self) -> bool:
        return self.type == "special"

    @property
    def columns(self) -> list[str]:
        return [f for f, _ in self.fields]

    def to_json(self) -> dict[str, Any]:
        """``{"ddoc","name","type","partitioned","def":{"fields":[{f: dir}],…}}`` as ``GET _index``
        lists it (``_all_docs``: ``{"ddoc": null, …, "def": {"fields": [{"_id": "asc"}]}}``)."""
        definition: dict[str, Any] = {"fields": [{f: d} for f, d in self.fields]}
        if self.partial_json:
            definition["partial_filter_selector"] = self.partial_json
        if self.special:
            return {"ddoc": None, "name": self.name, "type": "special", "def": definition}
        return {"ddoc": self.ddoc, "name": self.name, "type": self.type, "partitioned": self.partitioned,
                "def": definition}


SPECIAL = Index(None, ALL_DOCS, "special", (("_id", "asc"),))


def from_ddoc(ddoc: DesignDoc) -> list[Index]:
    """The json indexes of a query design document (views whose ``map`` is not a valid index
    definition are skipped, as ``mango_idx_view:from_ddoc`` logs and skips them)."""
    if not ddoc.is_query:
        return []
    out = []
    for name, view in ddoc.views.items():
        definition = view.get("map")
        if not isinstance(definition, dict):
            continue
        try:
            fields = _def_fields(definition.get("fields"))
            partial_raw = definition.get("partial_filter_selector") or None
            partial = sel.normalize(partial_raw) if partial_raw else None
            paths = tuple(sel.parse_field(f) for f, _ in fields)
        except CouchError:  # e.g. a field with an empty segment, in a ddoc written directly
            continue
        if not fields:
            continue
        out.append(Index(ddoc.id, name, "json", fields, ddoc.partitioned, partial, partial_raw,
                         ddoc.signature, paths))
    return out


def _def_fields(raw: Any) -> tuple[tuple[str, str], ...]:
    """Stored ``map.fields`` (``{"a": "asc"}``, or a list as in the request) → ``((f, dir), …)``."""
    if isinstance(raw, dict):
        if not all(isinstance(d, str) and d in ("asc", "desc") for d in raw.values()):
            raise _invalid_index("Invalid sort direction")
        return tuple(raw.items())
    sort = parse_sort(raw)
    return tuple(sort.specs)


@dataclass(frozen=True)
class NewIndex:
    """A validated ``POST /{db}/_index`` request."""

    ddoc_id: str
    name: str
    fields: Sort
    partial_filter_selector: dict[str, Any] | None
    partitioned: bool | None  # None: the database's default

    def view(self) -> dict[str, Any]:
        """The design doc view (``mango_idx_view:make_view``)."""
        definition: dict[str, Any] = {"fields": dict(self.fields.specs)}
        if self.partial_filter_selector:
            definition["partial_filter_selector"] = self.partial_filter_selector
        return {"map": definition, "reduce": "_count",
                "options": {"def": {"fields": [{f: d} if d == "desc" else f for f, d in self.fields.specs],
                                    **({"partial_filter_selector": self.partial_filter_selector}
                                       if self.partial_filter_selector else {})}}}


_INDEX_KEYS = frozenset({"index", "type", "name", "ddoc", "partitioned", "w"})


def parse_new_index(body: Any) -> NewIndex:
    """Validates a ``POST /{db}/_index`` body ``{"index": {"fields": [...],
    "partial_filter_selector"?}, "ddoc"?, "name"?, "type"?: "json", "partitioned"?}``.

    Raises 400 ``invalid_key`` (unknown member), ``missing_required_key`` (no ``index``/``fields``),
    ``invalid_index`` (not an object; a type other than ``json``; no fields), ``invalid_sort_json``,
    ``invalid_index_name``, ``invalid_boolean``. Default ``name`` and ``ddoc`` are the sha1 hex of
    the definition (CouchDB hashes the Erlang term; ours hashes canonical JSON, so generated names
    differ from CouchDB's). CouchDB: mango_httpd ``handle_index_req``, mango_opts ``validate_idx_create``.
    """
    if not isinstance(body, dict):
        raise CouchError(f"{sel.erlang_term(body)} is not a JSON object", status=400, error="invalid_object")
    for key in body:
        if key not in _INDEX_KEYS:
            raise CouchError(f"Invalid key {key} for this request.", status=400, error="invalid_key")
    if "index" not in body:
        raise CouchError("Missing required key: index", status=400, error="missing_required_key")
    index = body["index"]
    if not isinstance(index, dict):
        raise _invalid_index(f"JSON indexes must be an object, not: {sel.erlang_term(index)}")
    itype = body.get("type", "json")
    if itype != "json":
        if itype == "text":
            raise CouchError("text", status=503, error="required index service unavailable")
        raise _invalid_index(f"Invalid type for index: {itype}")
    for key in index:
        if key not in ("fields", "partial_filter_selector"):
            raise CouchError(f"Invalid key {key} for this request.", status=400, error="invalid_key")
    if "fields" not in index:
        raise CouchError("Missing required key: fields", status=400, error="missing_required_key")
    fields = parse_sort(index["fields"])
    if not fields.specs:
        raise _invalid_index("Index fields must not be empty.")
    for name, _ in fields.specs:
        try:
            sel.parse_field(name)
        except CouchError:
            raise _invalid_index(f"Invalid field name: {name}") from None
    partial = index.get("partial_filter_selector")
    if partial is not None:
        sel.normalize(partial)  # validates; stored as given
        if not partial:
            partial = None
    for key in ("name", "ddoc"):
        if key in body and not (isinstance(body[key], str) and body[key]):
            raise CouchError(f"Invalid index name: {sel.erlang_term(body[key])}", status=400,
                             error="invalid_index_name")
    partitioned = body.get("partitioned")
    if partitioned is not None and not isinstance(partitioned, bool):
        raise CouchError(f"Invalid boolean value: {sel.erlang_term(partitioned)}", status=400,
                         error="invalid_boolean")
    digest = hashlib.sha1(orjson.dumps(
        {"fields": [[f, d] for f, d in fields.specs], "partial": partial, "partitioned": partitioned},
        option=orjson.OPT_SORT_KEYS)).hexdigest()
    name = body.get("name") or digest
    ddoc = body.get("ddoc") or digest
    ddoc_id = validate_docid(ddoc if ddoc.startswith("_design/") else "_design/" + ddoc)
    return NewIndex(ddoc_id, name, fields, partial, partitioned)


def index_rows(indexes: Iterable[Index], doc: dict[str, Any]) -> list[list[tuple[Any, None]]]:
    """Per index: ``[(key, None)]`` for ``doc`` — one row whose key is the list of the index's field
    values, or no row when a field is missing or the partial filter does not match
    (``mango_native_proc:get_index_entries``)."""
    out: list[list[tuple[Any, None]]] = []
    for index in indexes:
        if index.partial is not None and not index.partial.matches(doc):
            out.append([])
            continue
        key = []
        for path in index.paths:
            value = sel.get_path(doc, path)
            if value is sel.NOT_FOUND or value is sel.BAD_PATH:
                break
            key.append(value)
        else:
            out.append([(key, None)])
            continue
        out.append([])
    return out


def _map_docs(indexes: Sequence[Index], docs: list[bytes]) -> list[list[Any]]:
    return [index_rows(indexes, orjson.loads(doc)) for doc in docs]


def mapper(indexes: Sequence[Index]) -> Callable[[list[bytes]], Awaitable[list[list[Any]]]]:
    """The view indexer's map function for ``indexes`` (one design doc's): JSON documents →
    per document, per index, its rows. Runs in a worker thread, off the event loop."""

    async def run(docs: list[bytes]) -> list[list[Any]]:
        return await asyncio.to_thread(_map_docs, indexes, docs)

    return run


def sql_paths(indexes: Sequence[Index]) -> list[list[str | None]] | None:
    """Per index, SQLite JSON paths of its fields (``None`` for ``_id``), when every field is a plain
    member path (no array index, no other ``_`` member, no quote) and no index has a partial filter
    or reads ``_conflicts``; else ``None`` (the indexer then decodes whole documents)."""
    if sqlite3.sqlite_version_info < (3, 38):  # the JSON `->` operator
        return None
    out: list[list[str | None]] = []
    for index in indexes:
        if index.partial is not None:
            return None
        paths: list[str | None] = []
        for path in index.paths:
            if path == ("_id",):
                paths.append(None)
                continue
            if path[0].startswith("_") or any('"' in seg or sel.is_array_index(seg) for seg in path):
                return None
            paths.append("$" + "".join(f'."{seg}"' for seg in path))
        out.append(paths)
    return out
