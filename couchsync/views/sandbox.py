"""Design-document JavaScript in embedded QuickJS: map, reduce, validate_doc_update, filters, shows,
updates and lists, with CouchDB's calling conventions and error shapes.

Engine: the PyPI ``quickjs`` package (QuickJS 2021-03-27). The PyPI ``quickjs-ng`` package
installs the same ``quickjs``/``_quickjs`` modules with the same API over quickjs-ng and maps
~1.5-2x faster (``JSON.parse`` dominates; ``tests/views/bench_map.py``); ``tests/views`` passes
with either. The two packages cannot be installed side by side.

Isolation
    One :class:`Sandbox` is one QuickJS *runtime* with one context: its own heap, atoms, globals
    and intrinsics. Nothing is shared between two sandboxes, so code (including ``eval``,
    ``Function``, prototype pollution such as ``Object.prototype.x = 1``) in one cannot see or
    change another. Use one sandbox per (database, design document); never share one between
    databases, even for identical design documents. QuickJS as embedded here has no ``std``/``os``
    modules, no module loader, no timers, no ``print``/``console``, no file system and no network;
    ``require`` only resolves CommonJS modules stored in the design document itself
    (``views.lib`` for map functions, the whole design document for other functions, as in
    CouchDB) and ``require('fs')`` fails with ``invalid_require_path``. ``eval`` and ``Function``
    work (CouchDB allows them) but only ever see the sandbox's own global object.

Limits
    ``time_limit_ms`` (default 5000) bounds every call into JavaScript, enforced by QuickJS's
    interrupt handler, which raises an uncatchable ``InternalError: interrupted``. The binding
    measures *process CPU time* (C ``clock()``), so when other threads of the process are busy
    the wall-clock budget shrinks. Map batches get a per-document budget: a batch that hits the
    limit is resumed where it stopped, and only the (document, view) that used the budget is
    marked failed (at most two interrupts per looping document). ``memory_limit`` (default
    64 MiB) caps the runtime's heap; an allocation beyond it raises ``out of memory`` inside
    JavaScript (a map then fails for that document only); if the runtime is left unusable the
    sandbox is rebuilt and the design document recompiled transparently (``stats.recreated``).
    After a timeout or an out-of-memory error the sandbox stays usable.

Threads
    A QuickJS runtime must never be entered by two threads at once. The ``quickjs`` binding
    documents crashes even for use from different threads at different times (2019, PR #4: the
    stack-overflow check used the creating thread's stack); version 1.19.4 resets the stack top on
    every call, and measured here the recursion limit is the same from any thread, so sequential
    use under a lock would likely work. We still pin each runtime to one thread:

    * a :class:`Sandbox` (and its :class:`CompiledDDoc`) may only be used from the thread that
      created it (checked: ``RuntimeError`` otherwise);
    * :class:`ThreadedSandbox` owns a dedicated worker thread (16 MiB stack) that creates the
      Sandbox and runs every call in FIFO order; its methods are safe from any thread and its
      ``a*`` coroutines (``await compiled.amap_docs(...)``) hand work to the worker directly.

    Why not a lock + ``asyncio.to_thread``: not for speed, the two are comparable. Measured with
    ``tests/views/bench_threads.py`` from an event loop, a small ``validate_doc_update`` costs
    ~12 µs inline, 50-100 µs through the worker (``await avalidate``), 70-130 µs with lock +
    ``to_thread`` (sequential callers; with 8 concurrent callers both ~30-50 µs), and twice that
    for worker-via-``to_thread``; for 500-doc map batches the hop is noise. But a runaway function
    (up to the time limit per call) holds a thread: with the lock it is one of the default
    executor's few threads (min(32, CPUs + 4)), starving every other ``to_thread`` user of the
    server, while a worker only delays its own design document; the worker also keeps calls of
    one design document in FIFO order. The JS call releases the GIL, so the event loop keeps
    running while a worker computes.

Data path
    Every call is one crossing with JSON strings both ways: ``map_docs`` sends the whole batch
    as one JSON array text (non-ASCII escaped, which QuickJS parses faster; documents may be
    given as dicts or as their JSON bytes, skipping a serialisation) and receives one JSON text
    of all emitted rows. Emitted keys and
    values go through ``JSON.stringify``: ``undefined``, functions, ``NaN`` and ``Infinity``
    become ``null`` (CouchDB does the same), lone surrogates come back as U+FFFD (CouchDB's
    ``force_utf8``).

Sources: CouchDB ``share/server/{loop,util,views,validate,filter,render,state}.js`` and
``dispatch-quickjs.js`` (the JS environment), ``src/couch/src/couch_query_servers.erl``
(``validate_doc_update``, ``filter_docs``, ``filter_view``, ``os_reduce``), ``couch_os_process.erl``
(error lines) and ``chttpd.erl`` ``error_info/1`` (status codes), ``couch_mrview.erl``
(``validate/2``, ``try_compile``).
"""

from __future__ import annotations

import asyncio
import codecs
import concurrent.futures
import json
import logging
import queue
import re
import threading
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import orjson
import quickjs

from ..errors import CouchError
from . import reduce as builtin_reduce

__all__ = [
    "CompiledDDoc",
    "MapError",
    "MapResult",
    "Sandbox",
    "SandboxStats",
    "ThreadedSandbox",
]

log = logging.getLogger(__name__)

_RUNTIME_JS = (Path(__file__).parent / "js" / "runtime.js").read_text(encoding="utf-8")

DEFAULT_TIME_LIMIT_MS = 5000
DEFAULT_MEMORY_LIMIT = 64 * 1024 * 1024
DEFAULT_STACK_SIZE = 4 * 1024 * 1024
"""QuickJS stack limit: ~6,700 nested JS calls with ``quickjs`` (~2,400 with quickjs-ng); the
thread running the sandbox needs a larger C stack (Linux default 8 MiB; ThreadedSandbox: 16 MiB)."""
WORKER_STACK_SIZE = 16 * 1024 * 1024

TIMEOUT_ERROR = "os_process_error"
TIMEOUT_REASON = "OS process timed out."


@dataclass(frozen=True, slots=True)
class MapError:
    """A map function failed for one (document, view): it threw, or ran out of time or memory.

    ``error``/``reason`` as CouchDB's query server names them: the JS error's name and message
    (``"TypeError"``, ``"Cannot read property 'x' of undefined"``), ``error``/``reason`` of a
    thrown ``{error, reason}`` object, ``"os_process_error"``/``"OS process timed out."`` for the
    time limit, ``"internal_error"``/``"out of memory"``. CouchDB logs the failure and indexes
    nothing for that document in that view; do the same.
    """

    error: str
    reason: str


MapResult = list[tuple[Any, Any]] | MapError
"""The rows one map function emitted for one document, in emit order, or its failure."""


@dataclass(slots=True)
class SandboxStats:
    """Counters of one sandbox (cumulative, survive a rebuild)."""

    calls: int = 0
    docs_mapped: int = 0
    map_errors: int = 0
    map_timeouts: int = 0
    timeouts: int = 0
    out_of_memory: int = 0
    recreated: int = 0


class _Interrupted(Exception):
    """The time limit stopped a call."""


class _JSFailure(Exception):
    """A call failed outside user code (out of memory, a broken runtime, bad input)."""


_STATUS = {
    "bad_request": 400,
    "query_parse_error": 400,
    "illegal_docid": 400,
    "compilation_error": 400,
    "invalid_require_path": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "not_acceptable": 406,
    "conflict": 409,
    "bad_content_type": 415,
}


def _reason_text(reason: Any) -> str:
    if isinstance(reason, str):
        return reason
    return _dumps(reason).decode()


def js_error(error: str, reason: Any) -> CouchError:
    """A ``CouchError`` for a query-server ``["error", error, reason]`` line, with chttpd's status
    for it (``error_info/1``: forbidden 403, unauthorized 401, not_found 404, not_acceptable 406,
    bad_request/query_parse_error 400, …; anything else 500). Non-string reasons are JSON text."""
    return CouchError(_reason_text(reason), status=_STATUS.get(error, 500), error=error)


def _timeout_error() -> CouchError:
    return CouchError(TIMEOUT_REASON, status=500, error=TIMEOUT_ERROR)


# an escaped backslash (kept), a high-surrogate escape with its low half (kept) or without (U+FFFD),
# or a lone low-surrogate escape (U+FFFD)
_SURROGATE_ESCAPES = re.compile(
    r"\\\\|\\u[dD][89abAB][0-9a-fA-F]{2}(?:\\u[dD][c-fC-F][0-9a-fA-F]{2})?|\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)


def _fix_surrogate(match: re.Match[str]) -> str:
    text = match.group()
    return text if text == "\\\\" or len(text) == 12 else "\\ufffd"


def _loads(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        # JSON.stringify escapes lone surrogates; CouchDB (force_utf8) turns them into U+FFFD
        return orjson.loads(_SURROGATE_ESCAPES.sub(_fix_surrogate, text))


def _dumps(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except TypeError:
        # lone surrogates (a str orjson refuses): json escapes them, JS reads them back
        return json.dumps(value, ensure_ascii=True, separators=(",", ":"), allow_nan=False).encode()


def _json_escape(exc: UnicodeError) -> tuple[str, int]:
    """Codec error handler: non-ASCII characters as JSON ``\\uXXXX`` escapes (UTF-16 pairs)."""
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    out = []
    for ch in exc.object[exc.start : exc.end]:
        code = ord(ch)
        if code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            code -= 0x10000
            out.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}")
    return "".join(out), exc.end


codecs.register_error("couchsync-json-escape", _json_escape)


def _ascii_json(data: bytes) -> bytes:
    """The same JSON text with every non-ASCII character escaped.

    QuickJS keeps an all-ASCII string in 8-bit form and parses it without a UTF-8 round trip:
    ``JSON.parse`` of an escaped batch is ~40% faster with the ``quickjs`` engine. Non-ASCII
    only occurs inside JSON strings, so escaping it there changes no value.
    """
    if data.isascii():
        return data
    return data.decode("utf-8", "surrogatepass").encode("ascii", "couchsync-json-escape")


def _doc_json(doc: dict[str, Any] | bytes | str) -> bytes:
    if isinstance(doc, bytes):
        return doc
    if isinstance(doc, str):
        return doc.encode("utf-8", "surrogatepass")
    return _dumps(doc)


@dataclass(frozen=True, slots=True)
class _DDocInfo:
    ddoc_id: str
    views: tuple[str, ...]
    reduces: dict[str, str | None]
    has_validate: bool
    filters: frozenset[str]
    shows: frozenset[str]
    updates: frozenset[str]
    lists: frozenset[str]
    freeze: bool
    spec: str = field(repr=False)


def _check_string(path: str, value: Any) -> str:
    if not isinstance(value, str):
        raise CouchError(f"`{path}` field must have string type", status=400, error="invalid_design_doc")
    return value


def _parse_ddoc(ddoc: dict[str, Any], seal_docs: Literal["auto", "always", "never"]) -> _DDocInfo:
    """Check the function fields' types (CouchDB ``couch_mrview:validate_ddoc_fields``) and build
    the compile spec for the runtime."""
    if not isinstance(ddoc, dict):
        raise CouchError("Design document must be a JSON object", status=400, error="invalid_design_doc")
    language = ddoc.get("language", "javascript")
    if language != "javascript":
        raise CouchError(_reason_text(language), status=400, error="unknown_query_language")
    views = ddoc.get("views") or {}
    if not isinstance(views, dict):
        raise CouchError("`views` field must have object type", status=400, error="invalid_design_doc")
    maps: list[tuple[list[str], str]] = []
    reduces: list[tuple[list[str], str | None]] = []
    view_names: list[str] = []
    reduce_by_view: dict[str, str | None] = {}
    for name, view in views.items():
        if name == "lib":
            continue
        if not isinstance(view, dict):
            raise CouchError(
                f"`views.{name}` field must have object type", status=400, error="invalid_design_doc"
            )
        if "map" not in view:
            raise CouchError(
                f"View `{name}` must contain map function", status=400, error="invalid_design_doc"
            )
        map_src = _check_string(f"views.{name}.map", view["map"])
        red = view.get("reduce")
        red_js: str | None = None
        if red is not None:
            red = _check_string(f"views.{name}.reduce", red)
            if builtin_reduce.is_builtin(red):
                builtin_reduce.validate_reduce_name(red)
            else:
                red_js = red
        view_names.append(name)
        reduce_by_view[name] = red
        maps.append((["views", name, "map"], map_src))
        reduces.append((["views", name, "reduce"], red_js))
    validate = ddoc.get("validate_doc_update")
    if validate is not None:
        validate = _check_string("validate_doc_update", validate)
    tables: dict[str, dict[str, str]] = {}
    for kind in ("filters", "shows", "updates", "lists"):
        table = ddoc.get(kind) or {}
        if not isinstance(table, dict):
            raise CouchError(f"`{kind}` field must have object type", status=400, error="invalid_design_doc")
        tables[kind] = {fname: _check_string(f"{kind}.{fname}", src) for fname, src in table.items()}
    freeze = seal_docs == "always" or (seal_docs == "auto" and len(maps) > 1)
    spec = _dumps(
        {
            "ddoc": ddoc,
            "maps": maps,
            "reduces": reduces,
            "validate": validate,
            "freeze": freeze,
            **tables,
        }
    ).decode()
    return _DDocInfo(
        ddoc_id=str(ddoc.get("_id", "")),
        views=tuple(view_names),
        reduces=reduce_by_view,
        has_validate=validate is not None,
        filters=frozenset(tables["filters"]),
        shows=frozenset(tables["shows"]),
        updates=frozenset(tables["updates"]),
        lists=frozenset(tables["lists"]),
        freeze=freeze,
        spec=spec,
    )


def _compile_reason(path: list[str], error: str, reason: str) -> str:
    if path[0] == "views":
        # couch_query_servers:try_compile/4
        return f"Compilation of the {path[2]} function in the '{path[1]}' view failed: {reason}"
    return reason


_ENTRY_POINTS = (
    "compile",
    "mapStart",
    "mapResume",
    "mapSkip",
    "mapProgress",
    "validate",
    "filter",
    "filterView",
    "show",
    "update",
    "list",
    "reduce",
    "takeLogs",
    "ping",
)


class Sandbox:
    """One isolated QuickJS runtime for one (database, design document).

    Thread-affine: use it (and its :class:`CompiledDDoc`) only from the thread that created it;
    see :class:`ThreadedSandbox` for use from asyncio or several threads.

    ``seal_docs``: CouchDB freezes every document before mapping it (``Couch.recursivelySeal``)
    so one view's function cannot change what the next one sees. Freezing costs about as much as
    parsing the document, so ``"auto"`` (default) freezes only when the design document has more
    than one view; with one view a map function that mutates ``doc`` sees its own change (as in
    PouchDB). ``"always"``/``"never"`` force the choice.
    """

    def __init__(
        self,
        *,
        time_limit_ms: int = DEFAULT_TIME_LIMIT_MS,
        memory_limit: int = DEFAULT_MEMORY_LIMIT,
        max_stack_size: int = DEFAULT_STACK_SIZE,
        max_batch_bytes: int | None = None,
        seal_docs: Literal["auto", "always", "never"] = "auto",
        label: str = "",
    ):
        self.time_limit_ms = time_limit_ms
        self.memory_limit = memory_limit
        self.max_stack_size = max_stack_size
        self.max_batch_bytes = max_batch_bytes or max(64 * 1024, memory_limit // 16)
        self.seal_docs = seal_docs
        self.label = label
        self.stats = SandboxStats()
        self._owner = threading.get_ident()
        self._any_thread = False  # benchmarks only: skip the thread check
        self._closed = False
        self._info: _DDocInfo | None = None
        self._generation = 0
        self._view_index: dict[str, int] = {}
        self._new_context()

    # ------------------------------------------------------------------ plumbing

    def _new_context(self) -> None:
        ctx = quickjs.Context()
        ctx.set_memory_limit(self.memory_limit)
        ctx.set_max_stack_size(self.max_stack_size)
        ctx.set_time_limit(self.time_limit_ms / 1000.0)
        ctx.eval(_RUNTIME_JS)
        self._ctx = ctx
        self._fn = {name: ctx.eval(f"__couchsync.{name}") for name in _ENTRY_POINTS}

    def _check_thread(self) -> None:
        if self._closed:
            raise RuntimeError("sandbox is closed")
        if not self._any_thread and threading.get_ident() != self._owner:
            raise RuntimeError(
                "a Sandbox may only be used from the thread that created it (use ThreadedSandbox)"
            )

    def _js(self, name: str, *args: str | int) -> str:
        """One call into the runtime; returns its JSON text."""
        self.stats.calls += 1
        try:
            result = self._fn[name](*args)
        except quickjs.JSException as exc:
            message = str(exc)
            if message.startswith("InternalError: interrupted"):
                raise _Interrupted() from None
            if "out of memory" in message or message.startswith("null"):
                self.stats.out_of_memory += 1
            raise _JSFailure(message.split("\n", 1)[0]) from None
        except (UnicodeError, MemoryError) as exc:
            raise _JSFailure(f"{type(exc).__name__}: {exc}") from None
        if not isinstance(result, str):
            raise _JSFailure(f"runtime returned {type(result).__name__}")
        return result

    def _recover(self) -> None:
        """After a failure outside user code: keep the runtime if it still answers, else rebuild
        it and recompile the design document."""
        try:
            self._ctx.gc()
            if self._fn["ping"]() == "pong":
                return
        except Exception:  # noqa: BLE001 - any failure means the runtime is unusable
            pass
        log.warning("sandbox %s: rebuilding the JavaScript runtime", self.label)
        self.stats.recreated += 1
        self._new_context()
        if self._info is not None:
            self._js("compile", self._info.spec)

    def _live(self, generation: int) -> _DDocInfo:
        self._check_thread()
        if self._info is None or generation != self._generation:
            raise RuntimeError("this CompiledDDoc was replaced by a later compile() of its Sandbox")
        return self._info

    def _call_checked(self, name: str, *args: str | int) -> Any:
        """Call an entry point that answers ``{"ok": v}`` / ``{"err": [error, reason]}``."""
        try:
            text = self._js(name, *args)
        except _Interrupted:
            self.stats.timeouts += 1
            self._recover()
            raise _timeout_error() from None
        except _JSFailure as exc:
            self._recover()
            if "out of memory" in str(exc) or str(exc).startswith("null"):
                raise CouchError("out of memory", status=500, error="InternalError") from None
            raise CouchError(str(exc), status=500, error="os_process_error") from None
        out = _loads(text)
        if "err" in out:
            raise js_error(out["err"][0], out["err"][1])
        return out["ok"]

    # ------------------------------------------------------------------ runner protocol

    def call(self, op: str, *args: Any) -> Any:
        """Run ``op`` (a ``_op_*`` method) here, on the owning thread."""
        method = getattr(self, "_op_" + op)
        return method(*args)

    async def acall(self, op: str, *args: Any) -> Any:
        """Same as ``call`` (runs inline and blocks the event loop: use ThreadedSandbox)."""
        return self.call(op, *args)

    # ------------------------------------------------------------------ public API

    def compile(self, ddoc: dict[str, Any]) -> CompiledDDoc:
        """Compile every function of ``ddoc`` once; returns the handle to run them.

        Raises ``CouchError`` 400: ``invalid_design_doc`` for wrong field types, a view without
        ``map`` ("View `v` must contain map function") or an unsupported builtin reduce ("`_foo`
        is not a supported reduce function."); ``compilation_error`` for JavaScript that does not
        compile, e.g. "Compilation of the map function in the 'v' view failed: Expression does not
        eval to a function. (...)" (views, CouchDB's ``try_compile`` wording) or
        "SyntaxError: unexpected token in expression: '}' (...)" (other functions);
        ``unknown_query_language`` for ``language`` other than ``javascript``.
        A second ``compile`` replaces the runtime (a fresh context) and invalidates earlier handles.
        """
        return CompiledDDoc(self, *self._op_compile(ddoc))

    def take_logs(self) -> list[str]:
        """Return and clear the messages ``log()`` and failed map/reduce/show calls produced."""
        return list(self.call("take_logs"))

    def close(self) -> None:
        """Drop the runtime (further calls raise ``RuntimeError``)."""
        self._fn = {}
        self._info = None
        self._closed = True

    # ------------------------------------------------------------------ operations (owning thread)

    def _op_compile(self, ddoc: dict[str, Any]) -> tuple[int, _DDocInfo]:
        self._check_thread()
        info = _parse_ddoc(ddoc, self.seal_docs)
        if self._info is not None:
            self._new_context()
        self._info = None
        self._generation += 1
        try:
            text = self._js("compile", info.spec)
        except _Interrupted:
            self.stats.timeouts += 1
            self._new_context()
            raise CouchError("Compilation timed out", status=400, error="compilation_error") from None
        except _JSFailure as exc:
            self._new_context()
            raise CouchError(str(exc), status=400, error="compilation_error") from None
        errors = _loads(text)["errors"]
        if errors:
            self._new_context()
            path, error, reason = errors[0]
            raise CouchError(_compile_reason(path, error, reason), status=400, error="compilation_error")
        self._info = info
        self._view_index = {name: i for i, name in enumerate(info.views)}
        return self._generation, info

    def _op_take_logs(self) -> list[str]:
        self._check_thread()
        try:
            out = _loads(self._js("takeLogs"))
        except (_Interrupted, _JSFailure):
            self._recover()
            return []
        logs: list[str] = out["logs"]
        if out["dropped"]:
            logs.append(f"... {out['dropped']} more log messages dropped")
        return logs

    def _op_map_docs(
        self, generation: int, view_names: Sequence[str] | None, docs: Sequence[dict[str, Any] | bytes | str]
    ) -> list[list[MapResult]]:
        info = self._live(generation)
        names = info.views if view_names is None else tuple(view_names)
        try:
            selection = [self._view_index[name] for name in names]
        except KeyError:
            raise CouchError("missing_named_view", status=404, error="not_found") from None
        if not docs:
            return []
        sel = orjson.dumps(selection).decode()
        parts = [_ascii_json(_doc_json(doc)) for doc in docs]
        out: list[list[MapResult]] = []
        start = 0
        while start < len(parts):
            end, size = start, 0
            while end < len(parts) and (end == start or size + len(parts[end]) <= self.max_batch_bytes):
                size += len(parts[end]) + 1
                end += 1
            out.extend(self._map_batch(parts[start:end], sel, len(selection)))
            start = end
        self.stats.docs_mapped += len(docs)
        return out

    def _map_batch(self, parts: list[bytes], sel: str, nviews: int) -> list[list[MapResult]]:
        text = (b"[" + b",".join(parts) + b"]").decode("ascii", "replace")
        try:
            result = self._run_map(text, sel, len(parts))
        except _JSFailure as exc:
            self._recover()
            if len(parts) == 1:
                message = str(exc)
                oom = "out of memory" in message or message.startswith("null")
                error = (
                    MapError("internal_error", "out of memory")
                    if oom
                    else MapError("os_process_error", message)
                )
                self.stats.map_errors += nviews
                return [[error] * nviews]
            mid = len(parts) // 2
            return self._map_batch(parts[:mid], sel, nviews) + self._map_batch(parts[mid:], sel, nviews)
        rows = _loads(result)
        converted: list[list[MapResult]] = []
        errors = 0
        for per_doc in rows:
            doc_out: list[MapResult] = []
            for emitted in per_doc:
                if type(emitted) is list:
                    doc_out.append([(kv[0], kv[1]) for kv in emitted])
                else:
                    errors += 1
                    doc_out.append(MapError(str(emitted.get("error")), _reason_text(emitted.get("reason"))))
            converted.append(doc_out)
        if errors:
            self.stats.map_errors += errors
            log.info(
                "sandbox %s: %d map function failures in a batch of %d docs", self.label, errors, len(rows)
            )
        return converted

    def _run_map(self, text: str, sel: str, ndocs: int) -> str:
        """mapStart, then resume after each interrupt, skipping the (doc, view) that used its budget."""
        action: tuple[str, tuple[str, ...]] = ("mapStart", (text, sel))
        while True:
            try:
                result = self._js(action[0], *action[1])
            except _Interrupted:
                progress = _loads(self._js("mapProgress"))
                if not progress["active"]:
                    raise _JSFailure("time limit reached before mapping started") from None
                # the (doc, view) the call started with had the whole budget: certainly the culprit;
                # one that had run most of a budget (wall clock) almost certainly; otherwise
                # resume it with a fresh budget (a second interrupt then makes it `first`)
                culprit = progress["i"] < ndocs and (
                    progress["first"] or progress["elapsed"] >= 0.75 * self.time_limit_ms
                )
                if culprit:
                    self.stats.map_timeouts += 1
                    log.warning(
                        "sandbox %s: a map function hit the %d ms time limit", self.label, self.time_limit_ms
                    )
                    action = ("mapSkip", (TIMEOUT_ERROR, TIMEOUT_REASON))
                else:
                    action = ("mapResume", ())
                continue
            if result.startswith("E"):
                if "out of memory" in result or result == "Enull":
                    self.stats.out_of_memory += 1
                raise _JSFailure(result[1:])
            return result

    def _op_validate(
        self,
        generation: int,
        new_doc: dict[str, Any],
        old_doc: dict[str, Any] | None,
        user_ctx: Any,
        sec_obj: Any,
    ) -> None:
        info = self._live(generation)
        if not info.has_validate:
            return
        args = _dumps([new_doc, old_doc, user_ctx, sec_obj]).decode()
        try:
            text = self._js("validate", args)
        except _Interrupted:
            self.stats.timeouts += 1
            self._recover()
            raise _timeout_error() from None
        except _JSFailure as exc:
            self._recover()
            raise CouchError(str(exc), status=500, error="InternalError") from None
        out = _loads(text)
        if "ok" in out:
            return
        if "err" in out:
            raise js_error(out["err"][0], out["err"][1])
        _raise_vdu(out["thrown"])

    def _op_filter(self, generation: int, name: str, docs: Sequence[dict[str, Any]], req: Any) -> list[bool]:
        info = self._live(generation)
        if name not in info.filters:
            raise _missing("filters", name, info)
        if not docs:
            return []
        args = _dumps([list(docs), req]).decode()
        return [bool(x) for x in self._call_checked("filter", name, args)]

    def _op_filter_view(self, generation: int, view: str, docs: Sequence[dict[str, Any]]) -> list[bool]:
        info = self._live(generation)
        if view not in self._view_index:
            raise _missing("views", view, info)
        if not docs:
            return []
        args = _dumps(list(docs)).decode()
        return [bool(x) for x in self._call_checked("filterView", self._view_index[view], args)]

    def _op_show(self, generation: int, name: str, doc: dict[str, Any] | None, req: Any) -> dict[str, Any]:
        info = self._live(generation)
        if name not in info.shows:
            raise _missing("shows", name, info)
        resp = self._call_checked("show", name, _dumps([doc, req]).decode())
        return _response(resp)

    def _op_update(
        self, generation: int, name: str, doc: dict[str, Any] | None, req: Any
    ) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        info = self._live(generation)
        if name not in info.updates:
            raise _missing("updates", name, info)
        new_doc, resp = self._call_checked("update", name, _dumps([doc, req]).decode())
        return new_doc, _response(resp)

    def _op_list(
        self, generation: int, name: str, head: Any, rows: Sequence[Any], req: Any
    ) -> dict[str, Any]:
        info = self._live(generation)
        if name not in info.lists:
            raise _missing("lists", name, info)
        return _response(self._call_checked("list", name, _dumps([head, req, list(rows)]).decode()))

    def _op_reduce(
        self,
        generation: int,
        view: str,
        keys_and_ids: Sequence[Sequence[Any]] | None,
        values: Sequence[Any],
        rereduce: bool,
        reduce_limit: bool,
    ) -> Any:
        info = self._live(generation)
        if view not in self._view_index:
            raise CouchError("missing_named_view", status=404, error="not_found")
        source = info.reduces[view]
        if source is None:
            raise CouchError("Reduce is invalid for map-only views.", status=400, error="query_parse_error")
        if builtin_reduce.is_builtin(source):
            if rereduce:
                return builtin_reduce.rereduce(source, values, reduce_limit=reduce_limit)
            kis = keys_and_ids or []
            kvs = [(ki[0], v) for ki, v in zip(kis, values, strict=True)]
            return builtin_reduce.reduce(source, kvs, [ki[1] for ki in kis], reduce_limit=reduce_limit)
        if rereduce:
            for value in values:  # couch_query_servers:get_overflow_error/1
                if isinstance(value, dict) and list(value) == ["reduce_overflow_error"]:
                    return value
        args = _dumps(
            [None if rereduce else [list(ki) for ki in keys_and_ids or []], list(values), rereduce]
        ).decode()
        result = self._call_checked("reduce", self._view_index[view], args)
        if reduce_limit:
            line = orjson.dumps([result]).decode()
            # views.js runReduce: the reduce command line is ["reduce", [src], kvs]
            line_length = len(args) + len(source) + 16
            if len(line) > 200 and len(line) * 2 > line_length:
                preview = f"Current output: '{line[:100]}'... (first 100 of {len(line)} bytes)"
                return {"reduce_overflow_error": f"Reduce output must shrink more rapidly: {preview}"}
        return result


def _missing(kind: str, name: str, info: _DDocInfo) -> CouchError:
    # loop.js DDoc.ddoc: "missing <kind> function <name> on design doc <id>"
    return CouchError(
        f"missing {kind} function {name} on design doc {info.ddoc_id}", status=404, error="not_found"
    )


def _response(resp: Any) -> dict[str, Any]:
    if isinstance(resp, str):
        return {"body": resp}
    if not isinstance(resp, dict):
        raise CouchError("undefined response from function", status=500, error="render_error")
    return resp


def _raise_vdu(thrown: Any) -> None:
    """``couch_query_servers:validate_doc_update/6`` on the value the function threw."""
    if thrown is True or (type(thrown) is int and thrown == 1):
        return  # RespCode =:= 1 / true: CouchDB treats it as a pass
    if isinstance(thrown, list) and len(thrown) == 3 and thrown[0] in ("error", "fatal"):
        # the response line ["error", Id, Reason] is read as an error by couch_os_process
        raise js_error(_reason_text(thrown[1]), thrown[2])
    if isinstance(thrown, dict) and len(thrown) == 1:
        ((key, message),) = thrown.items()
        if key == "forbidden":
            raise CouchError(_reason_text(message), status=403, error="forbidden")
        if key == "unauthorized":
            raise CouchError(_reason_text(message), status=401, error="unauthorized")
        raise CouchError(_reason_text(message), status=500, error="unknown_error")
    if isinstance(thrown, str):
        raise CouchError(thrown, status=500, error="unknown_error")
    # CouchDB crashes with case_clause here; report it as the unknown_error it would log
    raise CouchError(_reason_text(thrown), status=500, error="unknown_error")


class CompiledDDoc:
    """The compiled functions of one design document, run in its sandbox.

    Sync methods run on the calling thread for a :class:`Sandbox` (owning thread only) and on the
    worker thread, blocking the caller, for a :class:`ThreadedSandbox`. The ``a*`` coroutines do
    the same without blocking the event loop (ThreadedSandbox).

    Attributes: ``ddoc_id``; ``views`` (names of views with a map function, ddoc order);
    ``reduces`` (view → reduce source: a builtin name, JS source or ``None``);
    ``has_validate``; ``filters``/``shows``/``updates``/``lists`` (names); ``freezes_docs``.
    """

    def __init__(self, runner: Sandbox | ThreadedSandbox, generation: int, info: _DDocInfo):
        self._runner = runner
        self._generation = generation
        self.ddoc_id = info.ddoc_id
        self.views = info.views
        self.reduces = dict(info.reduces)
        self.has_validate = info.has_validate
        self.filters = info.filters
        self.shows = info.shows
        self.updates = info.updates
        self.lists = info.lists
        self.freezes_docs = info.freeze

    def __repr__(self) -> str:
        return f"<CompiledDDoc {self.ddoc_id!r} views={list(self.views)}>"

    # --- views

    def map_docs(
        self, view_names: Sequence[str] | None, docs: Sequence[dict[str, Any] | bytes | str]
    ) -> list[list[MapResult]]:
        """Run the map functions of ``view_names`` (``None``: all, in ``self.views`` order) over
        ``docs`` in one call into JavaScript (internally split to ``max_batch_bytes``).

        ``docs``: JSON objects as dicts, or their JSON text (``bytes``/``str``, e.g. rendered
        straight from storage; must include ``_id``/``_rev`` as CouchDB passes them).
        Returns ``out[d][v]`` = rows emitted by view ``v`` for doc ``d``: ``[(key, value), ...]``
        in emit order, or a :class:`MapError` if that function threw, exceeded the time limit or
        ran out of memory for that document (logged, counted in ``stats``; the other documents
        and views are unaffected; CouchDB indexes nothing for it). Unknown view → ``CouchError
        404 not_found "missing_named_view"``.
        """
        return self._runner.call("map_docs", self._generation, view_names, docs)

    async def amap_docs(
        self, view_names: Sequence[str] | None, docs: Sequence[dict[str, Any] | bytes | str]
    ) -> list[list[MapResult]]:
        """``map_docs`` as a coroutine."""
        return await self._runner.acall("map_docs", self._generation, view_names, docs)

    def reduce(
        self,
        view: str,
        keys_and_ids: Sequence[Sequence[Any]] | None,
        values: Sequence[Any],
        rereduce: bool = False,
        *,
        reduce_limit: bool = True,
    ) -> Any:
        """CouchDB's reduce call for ``view``: ``reduce(keys, values, rereduce)`` in JavaScript,
        with ``keys = [[key, docid], ...]`` (``keys_and_ids``) on reduce and ``null`` on re-reduce.

        A JS reduce that throws yields ``None`` (CouchDB ``runReduce``: logged, value null); time
        limit → ``CouchError 500 os_process_error``. With ``reduce_limit`` (CouchDB's default)
        an output longer than 200 bytes and more than half the input line becomes
        ``{"reduce_overflow_error": "Reduce output must shrink more rapidly: Current output:
        '...'... (first 100 of N bytes)"}`` (CouchDB ``os_reduce``), and such a value among
        re-reduce inputs is returned as is. Builtin reduces (``_sum``…) are delegated to
        :mod:`couchsync.views.reduce` (``keys_and_ids`` gives keys and the ``_first``/``_last``
        tie-breaking ids). Map-only view → ``CouchError 400 query_parse_error``.
        """
        return self._runner.call(
            "reduce", self._generation, view, keys_and_ids, values, rereduce, reduce_limit
        )

    async def areduce(
        self,
        view: str,
        keys_and_ids: Sequence[Sequence[Any]] | None,
        values: Sequence[Any],
        rereduce: bool = False,
        *,
        reduce_limit: bool = True,
    ) -> Any:
        """``reduce`` as a coroutine."""
        return await self._runner.acall(
            "reduce", self._generation, view, keys_and_ids, values, rereduce, reduce_limit
        )

    # --- validate_doc_update

    def validate(
        self, new_doc: dict[str, Any], old_doc: dict[str, Any] | None, user_ctx: Any, sec_obj: Any
    ) -> None:
        """Run ``validate_doc_update(newDoc, oldDoc, userCtx, secObj)`` (``this`` = the ddoc).

        Returns if it passes (no VDU in the ddoc, no throw, or a thrown ``1``/``true``, which
        CouchDB also accepts). Raises ``CouchError``:

        * ``throw({forbidden: msg})`` → 403 ``forbidden`` msg;
        * ``throw({unauthorized: msg})`` → 401 ``unauthorized`` msg;
        * ``throw({other: msg})`` (one key) or ``throw("msg")`` → 500 ``unknown_error`` msg;
          other thrown values → 500 ``unknown_error`` with their JSON as reason (CouchDB crashes
          with ``case_clause`` there);
        * a JS error (``TypeError``…) → 500 with the error's name and message (CouchDB sends
          ``{"error": name, "reason": "{[]}"}``: QuickJS serialises Error objects as ``{}``);
        * time limit → 500 ``os_process_error`` "OS process timed out."; out of memory → 500
          ``InternalError``.

        Non-string messages are JSON text. CouchDB: ``couch_query_servers:validate_doc_update/6``,
        ``validate.js``.
        """
        self._runner.call("validate", self._generation, new_doc, old_doc, user_ctx, sec_obj)

    async def avalidate(
        self, new_doc: dict[str, Any], old_doc: dict[str, Any] | None, user_ctx: Any, sec_obj: Any
    ) -> None:
        """``validate`` as a coroutine."""
        await self._runner.acall("validate", self._generation, new_doc, old_doc, user_ctx, sec_obj)

    # --- _changes filters

    def filter(self, name: str, docs: Sequence[dict[str, Any]], req: Any) -> list[bool]:
        """Run ``filters.<name>(doc, req)`` over ``docs`` in one call; truthiness per doc
        (``filter.js``). A throw fails the whole batch as the query server does: ``CouchError`` with
        chttpd's status for the error (``throw(['error','forbidden','no'])`` → 403; a JS
        ``TypeError`` → 500 ``TypeError``). Unknown filter → 404 ``not_found`` "missing filters
        function <name> on design doc <id>"."""
        return self._runner.call("filter", self._generation, name, docs, req)

    async def afilter(self, name: str, docs: Sequence[dict[str, Any]], req: Any) -> list[bool]:
        """``filter`` as a coroutine."""
        return await self._runner.acall("filter", self._generation, name, docs, req)

    def filter_view(self, view: str, docs: Sequence[dict[str, Any]]) -> list[bool]:
        """``_changes?filter=_view&view=ddoc/view``: true for each doc the view's map emits at
        least one row for (``filter_view`` in ``filter.js``; a throw fails the batch)."""
        return self._runner.call("filter_view", self._generation, view, docs)

    async def afilter_view(self, view: str, docs: Sequence[dict[str, Any]]) -> list[bool]:
        """``filter_view`` as a coroutine."""
        return await self._runner.acall("filter_view", self._generation, view, docs)

    # --- show / update / list (deprecated in CouchDB 3, still served)

    def show(self, name: str, doc: dict[str, Any] | None, req: Any) -> dict[str, Any]:
        """Run ``shows.<name>(doc, req)``; returns the response object as ``render.js`` builds it:
        a string result becomes ``{"body": s}``; keys ``body``/``json``/``base64``/``headers``/
        ``code`` as the function set them; ``start()``/``send()`` output is prepended to ``body``;
        with ``provides()`` the variant chosen by ``req.query.format`` or ``req.headers.Accept``
        is rendered and ``headers["Content-Type"]`` set. For HTTP: ``json`` → JSON body with
        ``Content-Type: application/json``, ``base64`` → decoded bytes, ``code`` default 200.

        Errors (``CouchError``): ``doc is None`` and ``req.path`` longer than 5 segments →
        404 ``not_found`` "document not found"; a JS error → 500 ``render_error`` "function raised
        error: ..."; ``throw(['error', e, r])``/``{error, reason}`` → chttpd's status for ``e``;
        no acceptable ``provides`` type → 406 ``not_acceptable``.
        """
        return self._runner.call("show", self._generation, name, doc, req)

    async def ashow(self, name: str, doc: dict[str, Any] | None, req: Any) -> dict[str, Any]:
        """``show`` as a coroutine."""
        return await self._runner.acall("show", self._generation, name, doc, req)

    def update(
        self, name: str, doc: dict[str, Any] | None, req: Any
    ) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        """Run ``updates.<name>(doc, req)``, which returns ``[doc, response]``; returns
        ``(doc_to_save_or_None, response)`` with the response normalised like ``show``.
        ``req.method == "GET"`` → 405 ``method_not_allowed`` "Update functions do not allow GET";
        a response that is neither object nor string → 500 ``render_error`` "undefined response
        from update function"; other errors as for ``show``."""
        return self._runner.call("update", self._generation, name, doc, req)

    async def aupdate(
        self, name: str, doc: dict[str, Any] | None, req: Any
    ) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        """``update`` as a coroutine."""
        return await self._runner.acall("update", self._generation, name, doc, req)

    def list(self, name: str, head: Any, rows: Sequence[Any], req: Any) -> dict[str, Any]:
        """Run ``lists.<name>(head, req)`` with ``getRow()`` returning ``rows`` one by one, then
        ``null``; returns ``{"headers": {...}, "code"?: n, "body": all send() chunks + the
        return value}`` (``start()`` sets headers/code; ``provides`` as for ``show``)."""
        return self._runner.call("list", self._generation, name, head, rows, req)

    async def alist(self, name: str, head: Any, rows: Sequence[Any], req: Any) -> dict[str, Any]:
        """``list`` as a coroutine."""
        return await self._runner.acall("list", self._generation, name, head, rows, req)


# ----------------------------------------------------------------------------- threaded wrapper


_STACK_SIZE_LOCK = threading.Lock()


def _stop(jobs: queue.SimpleQueue[Any]) -> None:
    jobs.put(None)


class ThreadedSandbox:
    """A :class:`Sandbox` living on its own worker thread; safe to use from any thread or from
    asyncio. Same constructor arguments as ``Sandbox``.

    ``compile`` / ``acompile`` return a :class:`CompiledDDoc` whose calls run on the worker.
    Calls are served one at a time in submission order. ``close()`` (or garbage collection of
    this object) stops the thread after the queued calls.
    """

    def __init__(self, **kwargs: Any):
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._holder: list[Any] = []
        label = kwargs.get("label", "")
        started = threading.Event()
        self._thread = threading.Thread(
            target=_worker,
            args=(self._jobs, self._holder, kwargs, started),
            name=f"couchsync-js{'-' + label if label else ''}",
            daemon=True,
        )
        with _STACK_SIZE_LOCK:  # threading.stack_size is process-wide: set it just for this start
            previous = threading.stack_size(WORKER_STACK_SIZE)
            try:
                self._thread.start()
            finally:
                threading.stack_size(previous)
        started.wait()
        if self._holder[1] is not None:
            raise self._holder[1]
        self._finalizer = weakref.finalize(self, _stop, self._jobs)
        self._lock = threading.Lock()
        self._closed = False

    @property
    def stats(self) -> SandboxStats:
        """The worker sandbox's counters (read without locking; values are plain ints)."""
        sandbox = self._holder[0] if self._holder else None
        return sandbox.stats if sandbox is not None else SandboxStats()

    def submit(self, op: str, *args: Any) -> concurrent.futures.Future[Any]:
        """Queue ``op`` for the worker; returns its future."""
        fut: concurrent.futures.Future[Any] = concurrent.futures.Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("sandbox is closed")
            self._jobs.put((fut, op, args))
        return fut

    def call(self, op: str, *args: Any) -> Any:
        """Run ``op`` on the worker and wait for it (inline if already on the worker)."""
        if threading.current_thread() is self._thread:
            return self._holder[0].call(op, *args)
        return self.submit(op, *args).result()

    async def acall(self, op: str, *args: Any) -> Any:
        """Run ``op`` on the worker without blocking the event loop."""
        return await asyncio.wrap_future(self.submit(op, *args))

    def compile(self, ddoc: dict[str, Any]) -> CompiledDDoc:
        """``Sandbox.compile`` on the worker."""
        generation, info = self.call("compile", ddoc)
        return CompiledDDoc(self, generation, info)

    async def acompile(self, ddoc: dict[str, Any]) -> CompiledDDoc:
        """``compile`` as a coroutine."""
        generation, info = await self.acall("compile", ddoc)
        return CompiledDDoc(self, generation, info)

    def take_logs(self) -> list[str]:
        """``Sandbox.take_logs`` on the worker."""
        return list(self.call("take_logs"))

    def close(self) -> None:
        """Stop the worker after the queued calls; later calls raise ``RuntimeError``."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._finalizer()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=10)


def _worker(
    jobs: queue.SimpleQueue[Any], holder: list[Any], kwargs: dict[str, Any], started: threading.Event
) -> None:
    """Worker loop: creates and owns the Sandbox (``holder[0]``); ``None`` in the queue stops it."""
    try:
        holder.append(Sandbox(**kwargs))
        holder.append(None)
    except BaseException as exc:  # noqa: BLE001 - re-raised by the constructor
        holder.append(None)
        holder.append(exc)
    started.set()
    if holder[0] is None:
        return
    while True:
        job = jobs.get()
        if job is None:
            break
        fut, op, args = job
        if not fut.set_running_or_notify_cancel():
            continue
        try:
            fut.set_result(holder[0].call(op, *args))
        except BaseException as exc:  # noqa: BLE001 - delivered to the caller
            fut.set_exception(exc)
        del fut, job
    holder.clear()  # the runtime is freed on its own thread


def iter_rows(results: Iterable[MapResult]) -> Iterable[tuple[Any, Any]]:
    """All rows of successful results (skips :class:`MapError`)."""
    for result in results:
        if not isinstance(result, MapError):
            yield from result
