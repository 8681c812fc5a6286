"""Compile Python design-document modules into CouchDB design documents (JSON).

``load_designs(path)`` imports every design module under ``path`` (a ``.py`` file, or a directory:
its top-level ``*.py`` files except ``_*.py``, ``test_*.py``, ``*_test.py`` and ``conftest.py``) and
returns the :class:`~couchsync.ddoc.Design` objects they declare. ``compile_design`` turns one into
the design document dict; ``dumps`` serialises it deterministically (sorted keys, two-space indent,
UTF-8, trailing newline), so the same input always gives the same bytes.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import api
from .api import Design
from .translate import (
    API_NAMES,
    BUILTINS,
    TYPE_NAMES,
    CompileError,
    Translation,
    assemble,
    translate_function,
)


class CompileErrors(Exception):
    """Every problem found in one compile run; ``str()`` is one ``file:line: reason`` per line."""

    def __init__(self, errors: list[CompileError]) -> None:
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors


def design_files(path: str | os.PathLike[str]) -> list[Path]:
    """The design module files under ``path`` in sorted order (see module docstring)."""
    p = Path(path)
    if p.is_file():
        return [p]
    if not p.is_dir():
        raise FileNotFoundError(f"no such design document file or directory: {p}")
    out = []
    for f in sorted(p.glob("*.py")):
        n = f.name
        if n.startswith("_") or n.startswith("test_") or n.endswith("_test.py") or n == "conftest.py":
            continue
        out.append(f)
    return out


def load_module_designs(file: Path) -> list[Design]:
    """Import ``file`` (under a private module name) and return its module-level designs.
    Import errors propagate as :class:`CompileError` at the failing line when known."""
    name = "_couchsync_designdoc_" + "".join(c if c.isalnum() else "_" for c in str(file.resolve()))
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise CompileError(str(file), 0, "cannot import")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as e:
        raise CompileError(str(file), e.lineno or 0, f"syntax error: {e.msg}") from None
    except Exception as e:
        tb = e.__traceback__
        line = 0
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == str(file):
                line = tb.tb_lineno
            tb = tb.tb_next
        raise CompileError(str(file), line, f"importing the module failed: {type(e).__name__}: {e}") from None
    return [v for v in vars(module).values() if isinstance(v, Design)]


def load_designs(path: str | os.PathLike[str]) -> list[Design]:
    """All designs declared under ``path``, in file order. Raises :class:`CompileErrors` for import
    failures and for two designs with the same name."""
    errors: list[CompileError] = []
    designs: list[Design] = []
    seen: dict[str, str] = {}
    for f in design_files(path):
        try:
            found = load_module_designs(f)
        except CompileError as e:
            errors.append(e)
            continue
        for d in found:
            if d.name in seen:
                errors.append(
                    CompileError(str(f), 0, f"design document {d.id} is also declared in {seen[d.name]}")
                )
            seen[d.name] = str(f)
            designs.append(d)
    if errors:
        raise CompileErrors(errors)
    return designs


_ast_cache: dict[str, ast.Module] = {}


def _function_node(fn: Callable[..., Any]) -> tuple[str, ast.FunctionDef]:
    code = getattr(fn, "__code__", None)
    if code is None:
        raise CompileError("<unknown>", 0, f"{fn!r} is not a Python function")
    filename = code.co_filename
    if fn.__name__ == "<lambda>":
        raise CompileError(
            filename, code.co_firstlineno, "design functions must be `def` statements, not lambdas"
        )
    if "<locals>" in fn.__qualname__:
        raise CompileError(filename, code.co_firstlineno, f"`{fn.__name__}` must be defined at module level")
    tree = _ast_cache.get(filename)
    if tree is None:
        try:
            source = Path(filename).read_text(encoding="utf-8")
        except OSError as e:
            raise CompileError(filename, code.co_firstlineno, f"cannot read the source: {e}") from None
        tree = _ast_cache[filename] = ast.parse(source, filename)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == fn.__name__:
            first = node.decorator_list[0].lineno if node.decorator_list else node.lineno
            if code.co_firstlineno in (first, node.lineno):
                return filename, node
    raise CompileError(filename, code.co_firstlineno, f"cannot find the source of `{fn.__name__}`")


def _check_globals(fn: Callable[..., Any], t: Translation, filename: str, line: int) -> None:
    """The names the compiler gives a fixed meaning must not be redefined in the module."""
    import builtins

    g = getattr(fn, "__globals__", {})
    for name in sorted(t.globals_used):
        if name not in g:
            continue
        value = g[name]
        if name in API_NAMES and value is getattr(api, name):
            continue
        if (name in BUILTINS or name in TYPE_NAMES) and value is getattr(builtins, name, None):
            continue
        raise CompileError(
            filename,
            line,
            f"module-level `{name}` shadows the "
            f"{'couchsync.ddoc' if name in API_NAMES else 'builtin'} name the compiler translates",
        )


def _translate(design: Design, fn: Callable[..., Any], kind: str) -> tuple[Translation, str, int]:
    filename, node = _function_node(fn)
    t = translate_function(node, filename, kind, set(design.helpers))
    _check_globals(fn, t, filename, node.lineno)
    for h in t.ddoc_helpers:
        if fn.__globals__.get(h) is not design.helpers[h]:
            raise CompileError(
                filename, node.lineno, f"`{h}` does not refer to the design helper of that name"
            )
    return t, filename, node.lineno


def compile_design(design: Design) -> dict[str, Any]:
    """The design document for ``design``: ``_id``, ``language``, ``views`` (``{map, reduce?}``),
    ``validate_doc_update``, ``filters``, ``shows``, ``updates`` (non-empty sections only) and
    ``options.partitioned`` (when set). Raises :class:`CompileErrors` listing every problem."""
    errors: list[CompileError] = []
    helpers: dict[str, Translation] = {}
    for name, fn in sorted(design.helpers.items()):
        try:
            helpers[name] = _translate(design, fn, "helper")[0]
        except CompileError as e:
            errors.append(e)

    def js(fn: Callable[..., Any], kind: str) -> str:
        try:
            t, filename, line = _translate(design, fn, kind)
            if set(t.ddoc_helpers) - set(helpers):
                return ""  # the helper's own error is already reported
            return assemble(t, helpers, filename, line)
        except CompileError as e:
            errors.append(e)
            return ""

    doc: dict[str, Any] = {"_id": design.id, "language": "javascript"}
    views: dict[str, Any] = {}
    for name, view in sorted(design.views.items()):
        v: dict[str, Any] = {"map": js(view.map, "map")}
        if isinstance(view.reduce, str):
            v["reduce"] = view.reduce
        elif view.reduce is not None:
            v["reduce"] = js(view.reduce, "reduce")
        views[name] = v
    doc["views"] = views
    if design.validate is not None:
        doc["validate_doc_update"] = js(design.validate, "validate")
    for key, kind, table in (
        ("filters", "filter", design.filters),
        ("shows", "show", design.shows),
        ("updates", "update", design.updates),
    ):
        if table:
            doc[key] = {name: js(fn, kind) for name, fn in sorted(table.items())}
    if design.partitioned is not None:
        doc["options"] = {"partitioned": bool(design.partitioned)}
    if errors:
        raise CompileErrors(errors)
    return doc


def dumps(doc: dict[str, Any]) -> bytes:
    """Deterministic JSON bytes of a design document."""
    return (json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def compile_path(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Load and compile every design under ``path``; raises :class:`CompileErrors` with all problems."""
    errors: list[CompileError] = []
    out = []
    for design in load_designs(path):
        try:
            out.append(compile_design(design))
        except CompileErrors as e:
            errors.extend(e.errors)
    if errors:
        raise CompileErrors(errors)
    return out


def write_designs(docs: list[dict[str, Any]], out_dir: str | os.PathLike[str]) -> list[tuple[Path, bool]]:
    """Write ``<name>.json`` per design document into ``out_dir`` (created); returns
    ``[(file, changed)]`` where ``changed`` is False when the file already had these bytes."""
    d = Path(out_dir)
    d.mkdir(parents=True, exist_ok=True)
    result = []
    for doc in docs:
        f = d / (doc["_id"].removeprefix("_design/") + ".json")
        data = dumps(doc)
        changed = not f.exists() or f.read_bytes() != data
        if changed:
            f.write_bytes(data)
        result.append((f, changed))
    return result
