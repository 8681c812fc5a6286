"""Authoring API: declare a design document in Python and run its functions natively.

A module declares one :class:`Design` and registers functions with its decorators::

    from couchsync.ddoc import Design, Forbidden, emit

    ddoc = Design("patient", partitioned=True)

    @ddoc.view(reduce="_count")
    def by_birth_date(doc):
        if doc.get("resourceType") == "Patient":
            emit(doc["birthDate"], None)

    @ddoc.validate_doc_update
    def validate(new_doc, old_doc, user_ctx, sec_obj):
        if "resourceType" not in new_doc:
            raise Forbidden("resourceType is required")

The decorators return the function unchanged, so the module stays plain, importable Python. The
``run_*`` methods execute a function natively the way CouchDB would call its compiled JavaScript
(input documents normalised to the JavaScript number model, ``emit``/``log``/``provides``
collected, ``Forbidden``/``Unauthorized`` turned into CouchDB's ``{forbidden: ...}`` outcomes).
"""

from __future__ import annotations

import contextvars
import logging
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

MAX_SAFE_INT = 2**53
"""Integers up to this magnitude are exact in JavaScript; integral floats beyond it stay floats."""

BUILTIN_REDUCERS = ("_approx_count_distinct", "_count", "_stats", "_sum")
"""Reduce names CouchDB implements natively (``reduce="_count"``)."""

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_FUNC_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

F = TypeVar("F", bound=Callable[..., Any])

log_ = logging.getLogger("couchsync.ddoc")


class Forbidden(Exception):
    """``raise Forbidden(reason)`` compiles to ``throw({forbidden: reason})`` (HTTP 403)."""

    def __init__(self, reason: Any) -> None:
        super().__init__(reason)
        self.reason = reason


class Unauthorized(Exception):
    """``raise Unauthorized(reason)`` compiles to ``throw({unauthorized: reason})`` (HTTP 401)."""

    def __init__(self, reason: Any) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class _Run:
    rows: list[tuple[Any, Any]] = field(default_factory=list)
    logs: list[Any] = field(default_factory=list)
    providers: list[tuple[str, Callable[[], Any]]] = field(default_factory=list)


_current: contextvars.ContextVar[_Run | None] = contextvars.ContextVar("couchsync_ddoc_run", default=None)


def _need_run(what: str) -> _Run:
    run = _current.get()
    if run is None:
        raise RuntimeError(f"{what}() called outside a design function run (use Design.run_map/run_show/...)")
    return run


def emit(key: Any, value: Any = None) -> None:
    """Emit a view row from a map function. Key and value are copied as JSON at the call
    (``normalize``), so later mutation does not change the row. Raises ``RuntimeError`` outside
    :meth:`Design.run_map` and ``TypeError`` for values that are not JSON."""
    _need_run("emit").rows.append((normalize(key), normalize(value)))


def log(message: Any) -> None:
    """CouchDB's ``log()``: collected into :attr:`Design.last_logs` during a ``run_*`` call, sent to
    the ``couchsync.ddoc`` logger otherwise."""
    run = _current.get()
    if run is None:
        log_.info("%s", message)
    else:
        run.logs.append(normalize(message))


def provides(mime_key: str, fn: Callable[[], Any]) -> None:
    """CouchDB's ``provides(type, fun)`` in show functions: register a responder for a format
    (``"json"``, ``"html"``, ...). :meth:`Design.run_show` answers with the responder named by
    ``req["query"]["format"]``, or else the first registered one."""
    _need_run("provides").providers.append((mime_key, fn))


def normalize(value: Any) -> Any:
    """A deep JSON copy of ``value`` in the JavaScript number model: integral floats up to 2**53
    become ints (JSON ``80.0`` is ``80`` in JavaScript), infinities and NaN become ``None`` (as
    ``JSON.stringify`` writes them), tuples become lists. Raises ``TypeError`` for values
    JSON cannot hold (sets, objects, non-string dict keys)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            return None  # as JSON.stringify: Infinity and NaN become null
        if value.is_integer() and abs(value) <= MAX_SAFE_INT:
            return int(value)
        return value
    if isinstance(value, (list, tuple)):
        return [normalize(v) for v in value]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"dict keys must be str in JSON, not {type(k).__name__}")
            out[k] = normalize(v)
        return out
    raise TypeError(f"{type(value).__name__} is not a JSON value")


@dataclass(frozen=True)
class View:
    """A view: its map function and an optional reduce (builtin name or Python function)."""

    name: str
    map: Callable[..., Any]
    reduce: str | Callable[..., Any] | None = None


class Design:
    """One design document ``_design/<name>``.

    ``partitioned``: ``True``/``False`` is written to ``options.partitioned``; ``None`` (default)
    leaves the option out (the database's default applies). Raises ``ValueError`` for a name that is
    not ``[A-Za-z0-9][A-Za-z0-9_.-]*`` (it also names the compiled file).
    """

    def __init__(self, name: str, *, partitioned: bool | None = None) -> None:
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValueError(f"invalid design document name {name!r}")
        self.name = name
        self.partitioned = partitioned
        self.views: dict[str, View] = {}
        self.filters: dict[str, Callable[..., Any]] = {}
        self.shows: dict[str, Callable[..., Any]] = {}
        self.updates: dict[str, Callable[..., Any]] = {}
        self.helpers: dict[str, Callable[..., Any]] = {}
        self.validate: Callable[..., Any] | None = None
        self.last_logs: list[Any] = []

    @property
    def id(self) -> str:
        """``_design/<name>``."""
        return f"_design/{self.name}"

    def __repr__(self) -> str:
        return f"Design({self.name!r})"

    # -- registration -----------------------------------------------------------------------------

    def _register(self, table: dict[str, Any], kind: str, fn: Any, name: str | None) -> str:
        if not callable(fn):
            raise TypeError(f"@{kind} decorates a function, got {fn!r}")
        key = name or fn.__name__
        if not _FUNC_NAME.match(key):
            raise ValueError(f"invalid {kind} name {key!r}")
        if key in table:
            raise ValueError(f"{self.id}: duplicate {kind} {key!r}")
        return key

    def view(
        self, fn: F | None = None, *, name: str | None = None, reduce: str | Callable[..., Any] | None = None
    ) -> Any:
        """Register a map function ``map(doc)`` as view ``name`` (default: the function's name),
        with ``reduce`` a builtin name (:data:`BUILTIN_REDUCERS`) or a Python
        ``reduce(keys, values, rereduce)``. Usable as ``@ddoc.view`` or ``@ddoc.view(reduce=...)``."""
        if isinstance(reduce, str) and reduce not in BUILTIN_REDUCERS:
            raise ValueError(
                f"`{reduce}` is not a supported reduce function (one of {', '.join(BUILTIN_REDUCERS)})"
            )
        if reduce is not None and not isinstance(reduce, str) and not callable(reduce):
            raise TypeError("reduce must be a builtin reducer name or a function")

        def deco(f: F) -> F:
            key = self._register(self.views, "view", f, name)
            self.views[key] = View(key, f, reduce)
            return f

        return deco(fn) if fn is not None else deco

    def _simple(self, table: dict[str, Callable[..., Any]], kind: str, fn: F | None, name: str | None) -> Any:
        def deco(f: F) -> F:
            table[self._register(table, kind, f, name)] = f
            return f

        return deco(fn) if fn is not None else deco

    def filter(self, fn: F | None = None, *, name: str | None = None) -> Any:
        """Register a ``_changes`` filter ``filter(doc, req) -> bool``."""
        return self._simple(self.filters, "filter", fn, name)

    def show(self, fn: F | None = None, *, name: str | None = None) -> Any:
        """Register a show function ``show(doc, req) -> str | response dict`` (``doc`` may be None)."""
        return self._simple(self.shows, "show", fn, name)

    def update(self, fn: F | None = None, *, name: str | None = None) -> Any:
        """Register an update function ``update(doc, req) -> [doc_or_None, response]``."""
        return self._simple(self.updates, "update", fn, name)

    def helper(self, fn: F) -> F:
        """Register a module-level helper that other functions of this design document may call;
        the compiler inlines it (as a nested function) into each function that uses it."""
        self.helpers[self._register(self.helpers, "helper", fn, None)] = fn
        return fn

    def validate_doc_update(self, fn: F) -> F:
        """Register ``validate(new_doc, old_doc, user_ctx, sec_obj)``; raise :class:`Forbidden` or
        :class:`Unauthorized` to reject a write. Only one per design document."""
        if self.validate is not None:
            raise ValueError(f"{self.id}: validate_doc_update is already registered")
        if not callable(fn):
            raise TypeError("@validate_doc_update decorates a function")
        self.validate = fn
        return fn

    def functions(self) -> list[tuple[str, str, Callable[..., Any]]]:
        """Every registered function as ``(kind, path, fn)``, e.g. ``("map", "views.by_status.map", f)``."""
        out: list[tuple[str, str, Callable[..., Any]]] = []
        for v in self.views.values():
            out.append(("map", f"views.{v.name}.map", v.map))
            if callable(v.reduce):
                out.append(("reduce", f"views.{v.name}.reduce", v.reduce))
        if self.validate is not None:
            out.append(("validate", "validate_doc_update", self.validate))
        for kind, table in (("filter", self.filters), ("show", self.shows), ("update", self.updates)):
            out.extend((kind, f"{kind}s.{n}", f) for n, f in table.items())
        return out

    # -- native runners ---------------------------------------------------------------------------

    def _run(self, fn: Callable[..., Any], *args: Any, run: _Run | None = None) -> tuple[Any, _Run]:
        run = run if run is not None else _Run()
        token = _current.set(run)
        try:
            result = fn(*args)
        finally:
            _current.reset(token)
            self.last_logs = run.logs
        return result, run

    def run_map(self, view: str, doc: Mapping[str, Any]) -> list[tuple[Any, Any]]:
        """Run view ``view``'s map over a normalised copy of ``doc``; the emitted ``[(key, value)]``.
        Exceptions raised by the map propagate (CouchDB would skip the document)."""
        _, run = self._run(self.views[view].map, normalize(doc))
        return run.rows

    def run_reduce(self, view: str, keys: list[Any] | None, values: list[Any], rereduce: bool = False) -> Any:
        """Run view ``view``'s reduce: a Python reduce is called as ``reduce(keys, values, rereduce)``
        (``keys`` is ``[[key, docid], ...]``, ``None`` when rereducing); builtins are computed here
        (``_approx_count_distinct`` exactly). Raises ``ValueError`` when the view has no reduce."""
        red = self.views[view].reduce
        if red is None:
            raise ValueError(f"view {view!r} has no reduce")
        if callable(red):
            result, _ = self._run(red, normalize(keys), normalize(values), rereduce)
            return normalize(result)
        return _builtin_reduce(red, keys, values, rereduce)

    def run_validate(
        self,
        new_doc: Mapping[str, Any],
        old_doc: Mapping[str, Any] | None = None,
        user_ctx: Mapping[str, Any] | None = None,
        sec_obj: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Run ``validate_doc_update``: ``{"ok": True}``, ``{"forbidden": reason}`` or
        ``{"unauthorized": reason}``. Any other exception propagates (CouchDB: 500). Defaults:
        ``user_ctx = {"db": None, "name": None, "roles": []}``, ``sec_obj = {}``."""
        if self.validate is None:
            return {"ok": True}
        ctx = user_ctx if user_ctx is not None else {"db": None, "name": None, "roles": []}
        try:
            self._run(
                self.validate,
                normalize(new_doc),
                normalize(old_doc),
                normalize(ctx),
                normalize(sec_obj or {}),
            )
        except Forbidden as e:
            return {"forbidden": normalize(e.reason)}
        except Unauthorized as e:
            return {"unauthorized": normalize(e.reason)}
        return {"ok": True}

    def run_filter(self, name: str, doc: Mapping[str, Any], req: Mapping[str, Any] | None = None) -> bool:
        """Run filter ``name``; the document passes when the result is truthy (Python truthiness,
        which the compiled JavaScript reproduces). ``req`` defaults to ``{"query": {}}``."""
        result, _ = self._run(self.filters[name], normalize(doc), normalize(req or {"query": {}}))
        return bool(result)

    def run_show(self, name: str, doc: Mapping[str, Any] | None, req: Mapping[str, Any] | None = None) -> Any:
        """Run show ``name``: its return value (a string or a response dict such as
        ``{"code": 200, "json": {...}}``), or, when it called :func:`provides`, the chosen
        responder's return value."""
        req = normalize(req or {"query": {}})
        result, run = self._run(self.shows[name], normalize(doc), req)
        if run.providers:
            wanted = (req.get("query") or {}).get("format")
            chosen = next((f for k, f in run.providers if k == wanted), run.providers[0][1])
            result, _ = self._run(chosen, run=_Run(logs=run.logs))
        return normalize(result)

    def run_update(
        self, name: str, doc: Mapping[str, Any] | None, req: Mapping[str, Any] | None = None
    ) -> list[Any]:
        """Run update ``name``: ``[new_doc_or_None, response]``. Raises ``TypeError`` when the
        function does not return a two-item list/tuple."""
        result, _ = self._run(self.updates[name], normalize(doc), normalize(req or {"query": {}}))
        if not isinstance(result, (list, tuple)) or len(result) != 2:
            raise TypeError(f"update function {name!r} must return [doc, response], got {result!r}")
        return normalize(list(result))


def _builtin_reduce(name: str, keys: list[Any] | None, values: list[Any], rereduce: bool) -> Any:
    if name == "_count":
        return sum(values) if rereduce else len(values)
    if name == "_sum":
        total: Any = 0
        for v in values:
            total = _sum2(total, v)
        return total
    if name == "_stats":
        if rereduce:
            return {
                "sum": sum(v["sum"] for v in values),
                "count": sum(v["count"] for v in values),
                "min": min(v["min"] for v in values),
                "max": max(v["max"] for v in values),
                "sumsqr": sum(v["sumsqr"] for v in values),
            }
        nums = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if len(nums) != len(values):
            raise ValueError("The _stats function requires that map values be numbers")
        return {
            "sum": sum(nums),
            "count": len(nums),
            "min": min(nums),
            "max": max(nums),
            "sumsqr": sum(n * n for n in nums),
        }
    if name == "_approx_count_distinct":
        import json

        if rereduce:
            raise ValueError("_approx_count_distinct rereduce is not supported natively")
        return len({json.dumps(k[0], sort_keys=True) for k in keys or []})
    raise ValueError(f"unknown builtin reduce {name!r}")


def _sum2(a: Any, b: Any) -> Any:
    if isinstance(a, list) or isinstance(b, list):
        a = a if isinstance(a, list) else [a]
        b = b if isinstance(b, list) else [b]
        n = max(len(a), len(b))
        return [_sum2(a[i] if i < len(a) else 0, b[i] if i < len(b) else 0) for i in range(n)]
    if isinstance(a, dict) or isinstance(b, dict):
        a = a if isinstance(a, dict) else {}
        b = b if isinstance(b, dict) else {}
        return {k: _sum2(a.get(k, 0), b.get(k, 0)) for k in {**a, **b}}
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a + b
    raise ValueError("The _sum function requires that map values be numbers, arrays of numbers, or objects")
