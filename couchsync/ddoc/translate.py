"""Python function → one self-contained CouchDB JavaScript ``function (...) {...}`` expression.

Pipeline for one function (see ``couchsync/ddoc/README.md`` for the supported subset):

1. **Check and rewrite** the function's AST (:class:`_Rewriter`): every construct outside the
   supported subset raises :class:`CompileError` with ``file:line`` and the reason; every operation
   whose JavaScript meaning differs from Python's (truthiness, ``==``, ``<``, ``in``, ``+``, ``//``,
   ``%``, subscripts, ``len``, ``str()``, method calls, iteration, unpacking, reading a possibly
   unassigned local) becomes a call of a ``_cs_*`` helper from :mod:`couchsync.ddoc.jsruntime`.
2. **Translate** the rewritten Python with ``pscript`` (operator overloading off, so pscript only
   contributes statements, scoping, loops, comprehensions, literals and calls).
3. **Wrap**: strip pscript's ``var f; f = function flx_f (...)`` into ``function (...) {...}`` and
   inline the used runtime helpers (and design-document helpers) at the top of the body.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import pscript
from pscript.parser1 import reserved_names as _PSCRIPT_RESERVED
from pscript.stdlib import FUNCTIONS as _PSCRIPT_FUNCTIONS

from .jsruntime import HELPERS, helper_closure, helpers_source


class CompileError(Exception):
    """A construct that cannot be compiled faithfully: ``str()`` is ``file:line: reason``."""

    def __init__(self, filename: str, line: int, reason: str) -> None:
        super().__init__(f"{filename}:{line}: {reason}")
        self.filename = filename
        self.line = line
        self.reason = reason


# Number of parameters per function kind (CouchDB's call signatures).
ARITY = {"map": 1, "reduce": 3, "validate": 4, "filter": 2, "show": 2, "update": 2}

API_NAMES = {"emit", "log", "provides", "Forbidden", "Unauthorized"}
BUILTINS = {
    "len",
    "str",
    "int",
    "float",
    "bool",
    "abs",
    "min",
    "max",
    "sum",
    "sorted",
    "range",
    "enumerate",
    "list",
    "any",
    "all",
    "isinstance",
}
TYPE_NAMES = {"str", "int", "float", "bool", "list", "dict"}
METHODS = {
    # name: (min args, max args)
    "get": (1, 2),
    "keys": (0, 0),
    "values": (0, 0),
    "items": (0, 0),
    "append": (1, 1),
    "extend": (1, 1),
    "lower": (0, 0),
    "upper": (0, 0),
    "strip": (0, 1),
    "lstrip": (0, 1),
    "rstrip": (0, 1),
    "startswith": (1, 1),
    "endswith": (1, 1),
    "find": (1, 1),
    "split": (0, 2),
    "join": (1, 1),
    "replace": (2, 3),
}
MAX_SAFE_INT = 2**53

# Names a function may not bind: JS reserved words and globals the runtime relies on, pscript's own
# names, CouchDB query-server globals, Python builtins/API names the compiler gives meaning to.
_JS_GLOBALS = {
    "Object",
    "Array",
    "Math",
    "JSON",
    "String",
    "Number",
    "Boolean",
    "Error",
    "RegExp",
    "Date",
    "undefined",
    "NaN",
    "Infinity",
    "arguments",
    "eval",
    "isNaN",
    "isFinite",
    "parseInt",
    "parseFloat",
    "this",
    "self",
    "window",
    "global",
    "globalThis",
    "require",
    "module",
    "exports",
    "send",
    "start",
    "getRow",
    "toJSON",
    "isArray",
    "registerType",
    "sum",
    "print",
    "console",
    "Function",
    "Symbol",
    "PSCRIPT_OVERLOAD",
}
_RESERVED_PREFIX = re.compile(r"^(_cs_|_py|stub\d|flx_)")
_JS_IDENT = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")

_UNSUPPORTED_STMT = {
    ast.Try: "try/except is not supported: JavaScript errors do not map to Python exceptions",
    ast.With: "`with` is not supported",
    ast.AsyncWith: "`async with` is not supported",
    ast.AsyncFor: "`async for` is not supported",
    ast.AsyncFunctionDef: "async functions are not supported",
    ast.Import: "imports are not supported inside design functions (they must be self-contained)",
    ast.ImportFrom: "imports are not supported inside design functions (they must be self-contained)",
    ast.Global: "`global` is not supported: functions cannot use module state",
    ast.Nonlocal: "`nonlocal` is not supported",
    ast.ClassDef: "classes are not supported",
    ast.Assert: "`assert` is not supported: raise Forbidden(...) instead",
}
if hasattr(ast, "TryStar"):
    _UNSUPPORTED_STMT[ast.TryStar] = _UNSUPPORTED_STMT[ast.Try]
if hasattr(ast, "Match"):
    _UNSUPPORTED_STMT[ast.Match] = "`match` is not supported"

_UNSUPPORTED_EXPR = {
    ast.Set: "sets are not supported (no JSON/JavaScript equivalent)",
    ast.SetComp: "set comprehensions are not supported (no JSON/JavaScript equivalent)",
    ast.DictComp: "dict comprehensions are not supported: build the dict in a for loop",
    ast.NamedExpr: "assignment expressions (:=) are not supported",
    ast.Await: "`await` is not supported",
    ast.Yield: "generators (yield) are not supported",
    ast.YieldFrom: "generators (yield from) are not supported",
    ast.Starred: "star unpacking (*x) is not supported",
    ast.Slice: "slices are only supported as x[a:b]",
}

_BINOPS = {
    ast.Add: "_cs_add",
    ast.Sub: "_cs_sub",
    ast.Mult: "_cs_mul",
    ast.Div: "_cs_div",
    ast.FloorDiv: "_cs_floordiv",
    ast.Mod: "_cs_mod",
    ast.Pow: "_cs_pow",
}
_AUGOPS = {**_BINOPS, ast.Add: "_cs_iadd"}
_CMPOPS = {
    ast.Eq: "_cs_eq",
    ast.NotEq: "_cs_ne",
    ast.Lt: "_cs_lt",
    ast.LtE: "_cs_le",
    ast.Gt: "_cs_gt",
    ast.GtE: "_cs_ge",
    ast.In: "_cs_in",
    ast.NotIn: "_cs_notin",
}
_BITOP_REASON = "bitwise operators are not supported (JavaScript's work on 32-bit integers)"


def _call(name: str, *args: ast.expr) -> ast.Call:
    return ast.Call(func=ast.Name(id=name, ctx=ast.Load()), args=list(args), keywords=[])


def _const(v: Any) -> ast.Constant:
    return ast.Constant(value=v)


@dataclass
class _Scope:
    """A function, lambda or comprehension scope: ``locals`` are the names bound in it,
    ``outer`` maps names of enclosing scopes to "definitely assigned when this scope was made"."""

    locals: set[str]
    outer: dict[str, bool]
    kind: str  # "function" | "lambda" | "comp"
    depth: int
    assigned: set[str] = field(default_factory=set)


@dataclass
class Translation:
    """One translated function: ``js`` (a ``function (...) {...}`` without inlined helpers),
    ``runtime`` (``_cs_*`` helpers used), ``ddoc_helpers`` (design helpers called),
    ``uses_truthy`` (pscript's truthy wrapper appears), ``globals_used`` (API/builtin names)."""

    name: str
    js: str
    runtime: set[str]
    ddoc_helpers: set[str]
    uses_truthy: bool
    globals_used: set[str]
    locals: set[str]


def _bound_names(body: list[ast.stmt], params: list[str]) -> dict[str, ast.AST]:
    """Names bound in a function body (Python's rule: assigned anywhere → local), each with its first
    binding node, not descending into nested functions, lambdas or comprehensions (own scopes)."""
    names: dict[str, ast.AST] = {}

    def target(t: ast.expr, at: ast.AST) -> None:
        if isinstance(t, ast.Name):
            names.setdefault(t.id, at)
        elif isinstance(t, (ast.Tuple, ast.List)):
            for e in t.elts:
                target(e, at)

    def walk(stmts: list[ast.stmt]) -> None:
        for s in stmts:
            if isinstance(s, ast.Assign):
                for t in s.targets:
                    target(t, s)
            elif isinstance(s, (ast.AugAssign, ast.AnnAssign, ast.For)):
                target(s.target, s)
            elif isinstance(s, ast.FunctionDef):
                names.setdefault(s.name, s)
                continue
            for attr in ("body", "orelse"):
                sub = getattr(s, attr, None)
                if isinstance(sub, list):
                    walk(sub)

    walk(body)
    for p in params:
        names.pop(p, None)
    return names


class _Rewriter:
    """Checks one top-level function and rewrites it for pscript. See the module docstring."""

    def __init__(self, filename: str, kind: str, ddoc_helpers: set[str]) -> None:
        self.filename = filename
        self.kind = kind
        self.ddoc_helper_names = ddoc_helpers
        self.used_ddoc_helpers: set[str] = set()
        self.globals_used: set[str] = set()
        self.all_locals: set[str] = set()

    def err(self, node: ast.AST, reason: str) -> CompileError:
        return CompileError(self.filename, getattr(node, "lineno", 0), reason)

    # -- names ------------------------------------------------------------------------------------

    def check_binding(self, node: ast.AST, name: str) -> None:
        if name in _PSCRIPT_RESERVED or name in _JS_GLOBALS or _RESERVED_PREFIX.match(name):
            raise self.err(
                node, f"`{name}` cannot be used as a name (reserved in JavaScript or by the compiler)"
            )
        if name in BUILTINS or name in API_NAMES or name in TYPE_NAMES:
            raise self.err(node, f"`{name}` cannot be rebound: the compiler gives it a fixed meaning")
        if name in self.ddoc_helper_names:
            raise self.err(node, f"`{name}` shadows the design helper of the same name")
        self.all_locals.add(name)

    def resolve(self, node: ast.Name, scope: _Scope) -> ast.expr:
        name = node.id
        if name in scope.locals:
            if name in scope.assigned:
                return ast.Name(id=name, ctx=ast.Load())
            return _call("_cs_bound", ast.Name(id=name, ctx=ast.Load()), _const(name))
        if name in scope.outer:
            if scope.outer[name]:
                return ast.Name(id=name, ctx=ast.Load())
            return _call("_cs_bound", ast.Name(id=name, ctx=ast.Load()), _const(name))
        if name in self.ddoc_helper_names:
            raise self.err(node, f"design helper `{name}` can only be called")
        if name in BUILTINS or name in TYPE_NAMES:
            raise self.err(node, f"builtin `{name}` can only be called, not used as a value")
        if name in API_NAMES:
            raise self.err(node, f"`{name}` can only be called")
        if name in ("print",):
            raise self.err(node, "print() is not supported: use log()")
        raise self.err(
            node,
            f"name `{name}` is not defined in the function: design functions must be "
            "self-contained (no module globals, imports or closures over module state)",
        )

    def child_scope(self, scope: _Scope, locals_: set[str], kind: str) -> _Scope:
        outer = dict(scope.outer)
        for n in scope.locals:
            outer[n] = n in scope.assigned
        for n in locals_:
            outer.pop(n, None)
        return _Scope(locals=set(locals_), outer=outer, kind=kind, depth=scope.depth + 1)

    # -- functions --------------------------------------------------------------------------------

    def check_args(self, node: ast.AST, args: ast.arguments) -> list[str]:
        if args.vararg or args.kwarg or args.kwonlyargs or args.posonlyargs:
            raise self.err(
                node, "only plain positional parameters are supported (no *args, **kwargs, / or *)"
            )
        if args.defaults or args.kw_defaults:
            raise self.err(node, "parameter defaults are not supported")
        names = [a.arg for a in args.args]
        for n in names:
            self.check_binding(node, n)
        return names

    def function(self, node: ast.FunctionDef, scope: _Scope | None) -> ast.FunctionDef:
        if node.decorator_list and scope is not None:
            raise self.err(node.decorator_list[0], "decorators are not supported on nested functions")
        if node.returns is not None or any(a.annotation for a in node.args.args):
            pass  # annotations are dropped
        params = self.check_args(node, node.args)
        body = list(node.body)
        if (
            body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            body = body[1:]
        bindings = _bound_names(body, params)
        for n, at in bindings.items():
            self.check_binding(at, n)
        local_names = set(bindings) | set(params)
        if scope is None:
            inner = _Scope(locals=local_names, outer={}, kind="function", depth=0)
        else:
            inner = self.child_scope(scope, local_names, "function")
        inner.assigned = set(params)
        new_body: list[ast.stmt] = [
            ast.Assign(
                targets=[ast.Name(id="PSCRIPT_OVERLOAD", ctx=ast.Store())],
                value=_const(False),
                lineno=node.lineno,
            )
        ]
        new_body += self.block(body, inner)
        if len(new_body) == 1:
            new_body.append(ast.Pass())
        args = ast.arguments(
            posonlyargs=[],
            args=[ast.arg(arg=p) for p in params],
            vararg=None,
            kwonlyargs=[],
            kw_defaults=[],
            kwarg=None,
            defaults=[],
        )
        fn = ast.FunctionDef(
            name=node.name,
            args=args,
            body=new_body,
            decorator_list=[],
            returns=None,
            type_comment=None,
            lineno=node.lineno,
        )
        if "type_params" in ast.FunctionDef._fields:
            setattr(fn, "type_params", [])  # noqa: B010 (3.12+ field)
        return fn

    # -- statements -------------------------------------------------------------------------------

    def block(self, stmts: list[ast.stmt], scope: _Scope) -> list[ast.stmt]:
        """Rewrite a block; ``scope.assigned`` is updated to what is definitely assigned after it
        (everything, when the block cannot complete normally)."""
        out: list[ast.stmt] = []
        for s in stmts:
            out += self.stmt(s, scope)
            if isinstance(s, (ast.Return, ast.Raise, ast.Break, ast.Continue)):
                scope.assigned = set(scope.locals)  # unreachable below: constrains nothing
                break
        return out

    def branch(self, stmts: list[ast.stmt], scope: _Scope) -> tuple[list[ast.stmt], set[str]]:
        saved = set(scope.assigned)
        out = self.block(stmts, scope)
        after = scope.assigned
        scope.assigned = saved
        return out, after

    def stmt(self, s: ast.stmt, scope: _Scope) -> list[ast.stmt]:
        for cls, reason in _UNSUPPORTED_STMT.items():
            if isinstance(s, cls):
                raise self.err(s, reason)
        method = getattr(self, "stmt_" + type(s).__name__, None)
        if method is None:
            raise self.err(s, f"{type(s).__name__} statements are not supported")
        result: list[ast.stmt] = method(s, scope)
        return result

    def stmt_Pass(self, s: ast.Pass, scope: _Scope) -> list[ast.stmt]:
        return [ast.Pass()]

    def stmt_Break(self, s: ast.Break, scope: _Scope) -> list[ast.stmt]:
        return [ast.Break()]

    def stmt_Continue(self, s: ast.Continue, scope: _Scope) -> list[ast.stmt]:
        return [ast.Continue()]

    def stmt_FunctionDef(self, s: ast.FunctionDef, scope: _Scope) -> list[ast.stmt]:
        fn = self.function(s, scope)
        scope.assigned.add(s.name)
        return [fn]

    def stmt_Return(self, s: ast.Return, scope: _Scope) -> list[ast.stmt]:
        if s.value is None:
            return [ast.Return(value=None)]
        value = self.expr(s.value, scope, tuple_ok=scope.depth == 0)
        if self.kind == "filter" and scope.depth == 0:
            value = _call("_cs_bool", value)
        return [ast.Return(value=value)]

    def stmt_Expr(self, s: ast.Expr, scope: _Scope) -> list[ast.stmt]:
        v = s.value
        if isinstance(v, ast.Constant) and isinstance(v.value, str):
            return []  # a string used as a comment
        if not isinstance(v, ast.Call):
            self.expr(v, scope)  # reports unsupported constructs (yield, ...) first
            raise self.err(s, "expression statement has no effect (only calls may stand alone)")
        if (
            isinstance(v.func, ast.Name)
            and v.func.id in ("emit", "log", "provides")
            and v.func.id not in scope.locals
            and v.func.id not in scope.outer
        ):
            return [ast.Expr(value=self.api_call(v, scope))]
        return [ast.Expr(value=self.expr(v, scope))]

    def api_call(self, c: ast.Call, scope: _Scope) -> ast.expr:
        assert isinstance(c.func, ast.Name)
        name = c.func.id
        self.globals_used.add(name)
        if c.keywords or any(isinstance(a, ast.Starred) for a in c.args):
            raise self.err(c, f"{name}() takes positional arguments only")
        if name == "emit":
            if self.kind not in ("map", "helper"):
                raise self.err(c, "emit() can only be used in map functions")
            if not 1 <= len(c.args) <= 2:
                raise self.err(c, "emit() takes a key and an optional value")
            return _call("emit", *[self.expr(a, scope, tuple_ok=True) for a in c.args])
        if name == "log":
            if len(c.args) != 1:
                raise self.err(c, "log() takes one argument")
            return _call("log", self.expr(c.args[0], scope))
        if self.kind not in ("show", "helper"):
            raise self.err(c, "provides() can only be used in show functions")
        if len(c.args) != 2 or not (isinstance(c.args[0], ast.Constant) and isinstance(c.args[0].value, str)):
            raise self.err(c, 'provides() takes a format name string and a function: provides("json", fn)')
        return _call("provides", c.args[0], self.expr(c.args[1], scope))

    def stmt_Raise(self, s: ast.Raise, scope: _Scope) -> list[ast.stmt]:
        exc = s.exc
        if (
            s.cause is None
            and isinstance(exc, ast.Call)
            and isinstance(exc.func, ast.Name)
            and exc.func.id in ("Forbidden", "Unauthorized")
            and len(exc.args) == 1
            and not exc.keywords
            and exc.func.id not in scope.locals
            and exc.func.id not in scope.outer
        ):
            self.globals_used.add(exc.func.id)
            helper = "_cs_forbidden" if exc.func.id == "Forbidden" else "_cs_unauthorized"
            return [ast.Expr(value=_call(helper, self.expr(exc.args[0], scope)))]
        raise self.err(s, "only `raise Forbidden(reason)` and `raise Unauthorized(reason)` are supported")

    def stmt_AnnAssign(self, s: ast.AnnAssign, scope: _Scope) -> list[ast.stmt]:
        if s.value is None:
            return []
        return self.stmt_Assign(ast.Assign(targets=[s.target], value=s.value, lineno=s.lineno), scope)

    def stmt_Assign(self, s: ast.Assign, scope: _Scope) -> list[ast.stmt]:
        if len(s.targets) != 1:
            raise self.err(s, "chained assignment (a = b = c) is not supported")
        t = s.targets[0]
        if isinstance(t, ast.Name):
            value = self.expr(s.value, scope)
            scope.assigned.add(t.id)
            return [ast.Assign(targets=[ast.Name(id=t.id, ctx=ast.Store())], value=value, lineno=s.lineno)]
        if isinstance(t, (ast.Tuple, ast.List)):
            names = self.flat_names(t)
            value = _call("_cs_unpack", self.expr(s.value, scope), _const(len(names)))
            scope.assigned.update(names)
            return [
                ast.Assign(
                    targets=[
                        ast.Tuple(elts=[ast.Name(id=n, ctx=ast.Store()) for n in names], ctx=ast.Store())
                    ],
                    value=value,
                    lineno=s.lineno,
                )
            ]
        if isinstance(t, ast.Subscript):
            if isinstance(t.slice, ast.Slice):
                raise self.err(s, "slice assignment is not supported")
            return [
                ast.Expr(
                    value=_call(
                        "_cs_setitem",
                        self.expr(t.value, scope),
                        self.expr(t.slice, scope),
                        self.expr(s.value, scope),
                    )
                )
            ]
        if isinstance(t, ast.Attribute):
            raise self.err(s, "attribute assignment is not supported: use doc['field'] = value")
        raise self.err(s, "unsupported assignment target")

    def flat_names(self, t: ast.Tuple | ast.List) -> list[str]:
        names = []
        for e in t.elts:
            if not isinstance(e, ast.Name):
                raise self.err(t, "only flat unpacking into names is supported (a, b = ...)")
            names.append(e.id)
        return names

    def stmt_AugAssign(self, s: ast.AugAssign, scope: _Scope) -> list[ast.stmt]:
        helper = _AUGOPS.get(type(s.op))
        if helper is None:
            raise self.err(s, _BITOP_REASON if not isinstance(s.op, ast.MatMult) else "`@` is not supported")
        t = s.target
        if isinstance(t, ast.Name):
            current = self.resolve(ast.Name(id=t.id, ctx=ast.Load(), lineno=s.lineno), scope)
            value = _call(helper, current, self.expr(s.value, scope))
            scope.assigned.add(t.id)
            return [ast.Assign(targets=[ast.Name(id=t.id, ctx=ast.Store())], value=value, lineno=s.lineno)]
        if isinstance(t, ast.Subscript) and not isinstance(t.slice, ast.Slice):
            if not (self.pure(t.value) and self.pure(t.slice)):
                raise self.err(
                    s,
                    "augmented assignment to a subscript needs a simple container and index "
                    "(names, constants or plain subscripts)",
                )
            obj, key = self.expr(t.value, scope), self.expr(t.slice, scope)
            cur = _call("_cs_getitem", self.expr(t.value, scope), self.expr(t.slice, scope))
            return [
                ast.Expr(value=_call("_cs_setitem", obj, key, _call(helper, cur, self.expr(s.value, scope))))
            ]
        raise self.err(s, "unsupported augmented assignment target")

    def stmt_Delete(self, s: ast.Delete, scope: _Scope) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for t in s.targets:
            if not isinstance(t, ast.Subscript) or isinstance(t.slice, ast.Slice):
                raise self.err(s, "only `del container[key]` is supported")
            out.append(
                ast.Expr(value=_call("_cs_delitem", self.expr(t.value, scope), self.expr(t.slice, scope)))
            )
        return out

    def stmt_If(self, s: ast.If, scope: _Scope) -> list[ast.stmt]:
        test = self.test(s.test, scope)
        body, a1 = self.branch(s.body, scope)
        orelse, a2 = self.branch(s.orelse, scope)
        scope.assigned = a1 & a2
        return [ast.If(test=test, body=body or [ast.Pass()], orelse=orelse)]

    def stmt_While(self, s: ast.While, scope: _Scope) -> list[ast.stmt]:
        if s.orelse:
            raise self.err(s, "while/else is not supported")
        test = self.test(s.test, scope)
        body, _ = self.branch(s.body, scope)
        return [ast.While(test=test, body=body or [ast.Pass()], orelse=[])]

    def stmt_For(self, s: ast.For, scope: _Scope) -> list[ast.stmt]:
        if s.orelse:
            raise self.err(s, "for/else is not supported")
        it, target = self.iteration(s.target, s.iter, scope, s)
        saved = set(scope.assigned)
        scope.assigned |= self.target_names(s.target)
        body = self.block(s.body, scope)
        scope.assigned = saved
        return [ast.For(target=target, iter=it, body=body or [ast.Pass()], orelse=[], lineno=s.lineno)]

    def target_names(self, t: ast.expr) -> set[str]:
        return {t.id} if isinstance(t, ast.Name) else set(self.flat_names(t))  # type: ignore[arg-type]

    def iteration(
        self, target: ast.expr, iter_: ast.expr, scope: _Scope, node: ast.AST
    ) -> tuple[ast.expr, ast.expr]:
        if isinstance(target, ast.Name):
            return _call("_cs_iter", self.expr(iter_, scope)), ast.Name(id=target.id, ctx=ast.Store())
        if isinstance(target, (ast.Tuple, ast.List)):
            names = self.flat_names(target)
            it = _call("_cs_unpack_each", self.expr(iter_, scope), _const(len(names)))
            return it, ast.Tuple(elts=[ast.Name(id=n, ctx=ast.Store()) for n in names], ctx=ast.Store())
        raise self.err(node, "loop targets must be a name or a flat tuple of names")

    # -- expressions ------------------------------------------------------------------------------

    def pure(self, e: ast.expr) -> bool:
        """Side-effect free and cheap to evaluate twice: names, constants, subscripts, ``.get()``,
        and literals, comparisons and boolean operators over those."""
        if isinstance(e, (ast.Name, ast.Constant)):
            return True
        if isinstance(e, ast.Subscript):
            return not isinstance(e.slice, ast.Slice) and self.pure(e.value) and self.pure(e.slice)
        if (
            isinstance(e, ast.Call)
            and isinstance(e.func, ast.Attribute)
            and e.func.attr == "get"
            and not e.keywords
        ):
            return self.pure(e.func.value) and all(self.pure(a) for a in e.args)
        if isinstance(e, (ast.List, ast.Tuple)):
            return all(self.pure(x) for x in e.elts)
        if isinstance(e, ast.Dict):
            return all(k is not None and self.pure(k) for k in e.keys) and all(self.pure(v) for v in e.values)
        if isinstance(e, ast.BoolOp):
            return all(self.pure(v) for v in e.values)
        if isinstance(e, ast.Compare):
            return self.pure(e.left) and all(self.pure(c) for c in e.comparators)
        if isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.Not):
            return self.pure(e.operand)
        if isinstance(e, ast.IfExp):
            return self.pure(e.test) and self.pure(e.body) and self.pure(e.orelse)
        return False

    def test(self, e: ast.expr, scope: _Scope) -> ast.expr:
        """An expression in a condition: the result is a JS boolean with Python truthiness."""
        if isinstance(e, ast.BoolOp):
            return ast.BoolOp(op=e.op, values=[self.test(v, scope) for v in e.values])
        if isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.Not):
            return ast.UnaryOp(op=ast.Not(), operand=self.test(e.operand, scope))
        if isinstance(e, ast.Compare):
            return self.expr(e, scope)
        if isinstance(e, ast.Constant) and isinstance(e.value, bool):
            return _const(e.value)
        return _call("_cs_bool", self.expr(e, scope))

    def expr(self, e: ast.expr, scope: _Scope, tuple_ok: bool = False) -> ast.expr:
        for cls, reason in _UNSUPPORTED_EXPR.items():
            if isinstance(e, cls):
                raise self.err(e, reason)
        method = getattr(self, "expr_" + type(e).__name__, None)
        if method is None:
            raise self.err(e, f"{type(e).__name__} expressions are not supported")
        if isinstance(e, ast.Tuple):
            return self.expr_Tuple(e, scope, tuple_ok)
        result: ast.expr = method(e, scope)
        return result

    def expr_Constant(self, e: ast.Constant, scope: _Scope) -> ast.expr:
        v = e.value
        if v is None or isinstance(v, (bool, str)):
            return _const(v)
        if isinstance(v, int):
            if abs(v) > MAX_SAFE_INT:
                raise self.err(e, f"integer literal {v} is outside JavaScript's exact integer range (2**53)")
            return _const(v)
        if isinstance(v, float):
            return _const(v)
        if v is Ellipsis:
            raise self.err(e, "`...` is not supported")
        raise self.err(e, f"{type(v).__name__} literals are not supported")

    def expr_Name(self, e: ast.Name, scope: _Scope) -> ast.expr:
        return self.resolve(e, scope)

    def expr_List(self, e: ast.List, scope: _Scope) -> ast.expr:
        return ast.List(elts=[self.expr(x, scope) for x in e.elts], ctx=ast.Load())

    def expr_Tuple(self, e: ast.Tuple, scope: _Scope, tuple_ok: bool = False) -> ast.expr:
        if not tuple_ok:
            raise self.err(
                e,
                "tuple literals are only supported as a return value, emit() argument or "
                "isinstance() type list; use a list (tuples become JavaScript arrays, and "
                "(1, 2) == [1, 2] would differ)",
            )
        return ast.List(elts=[self.expr(x, scope) for x in e.elts], ctx=ast.Load())

    def expr_Dict(self, e: ast.Dict, scope: _Scope) -> ast.expr:
        keys: list[ast.expr] = []
        literal = True
        seen: set[str] = set()
        for k in e.keys:
            if k is None:
                raise self.err(e, "dict unpacking (**x) is not supported")
            if isinstance(k, ast.Constant):
                if not isinstance(k.value, str):
                    raise self.err(k, "dict keys must be strings (JSON objects have string keys)")
                if k.value in seen:
                    raise self.err(k, f"duplicate dict key {k.value!r}")
                seen.add(k.value)
                if not _JS_IDENT.match(k.value) or k.value == "__proto__":
                    literal = False
                keys.append(_const(k.value))
            else:
                literal = False
                keys.append(self.expr(k, scope))
        values = [self.expr(v, scope) for v in e.values]
        if literal:
            return ast.Dict(keys=list(keys), values=values)
        flat: list[ast.expr] = []
        for k2, v in zip(keys, values, strict=True):
            flat += [k2, v]
        return _call("_cs_dict", ast.List(elts=flat, ctx=ast.Load()))

    def expr_JoinedStr(self, e: ast.JoinedStr, scope: _Scope) -> ast.expr:
        parts: list[ast.expr] = []
        for v in e.values:
            if isinstance(v, ast.Constant):
                parts.append(_const(v.value))
            elif isinstance(v, ast.FormattedValue):
                if v.format_spec is not None:
                    raise self.err(e, "f-string format specs ({x:...}) are not supported")
                if v.conversion not in (-1, ord("s")):
                    raise self.err(e, "f-string conversions !r/!a are not supported")
                parts.append(self.expr(v.value, scope))
            else:
                raise self.err(e, "unsupported f-string part")
        return _call("_cs_fstr", ast.List(elts=parts, ctx=ast.Load()))

    def expr_BoolOp(self, e: ast.BoolOp, scope: _Scope) -> ast.expr:
        # As a value, `a or b` is `a if a else b` and `a and b` is `b if a else a`: JS `&&`/`||`
        # would return `false` for an empty list/dict. A pure left operand is simply evaluated
        # twice; otherwise `_cs_or(a, function () {return b;})` evaluates it once.
        first, rest = e.values[0], e.values[1:]
        right = rest[0] if len(rest) == 1 else ast.BoolOp(op=e.op, values=rest, lineno=e.lineno)
        if not self.pure(first):
            inner = self.child_scope(scope, set(), "lambda")
            thunk = ast.Lambda(
                args=ast.arguments(
                    posonlyargs=[],
                    args=[],
                    vararg=None,
                    kwonlyargs=[],
                    kw_defaults=[],
                    kwarg=None,
                    defaults=[],
                ),
                body=self.expr(right, inner),
            )
            return _call("_cs_or" if isinstance(e.op, ast.Or) else "_cs_and", self.expr(first, scope), thunk)
        a1, a2 = self.expr(first, scope), self.expr(right, scope)
        test = _call("_cs_bool", self.expr(first, scope))
        if isinstance(e.op, ast.Or):
            return ast.IfExp(test=test, body=a1, orelse=a2)
        return ast.IfExp(test=test, body=a2, orelse=a1)

    def expr_UnaryOp(self, e: ast.UnaryOp, scope: _Scope) -> ast.expr:
        if isinstance(e.op, ast.Not):
            return ast.UnaryOp(op=ast.Not(), operand=self.test(e.operand, scope))
        if isinstance(e.op, ast.USub):
            if isinstance(e.operand, ast.Constant) and type(e.operand.value) in (int, float):
                return ast.UnaryOp(op=ast.USub(), operand=self.expr(e.operand, scope))
            return _call("_cs_neg", self.expr(e.operand, scope))
        if isinstance(e.op, ast.UAdd):
            return _call("_cs_pos", self.expr(e.operand, scope))
        raise self.err(e, _BITOP_REASON)

    def expr_BinOp(self, e: ast.BinOp, scope: _Scope) -> ast.expr:
        helper = _BINOPS.get(type(e.op))
        if helper is None:
            raise self.err(e, "`@` is not supported" if isinstance(e.op, ast.MatMult) else _BITOP_REASON)
        if isinstance(e.op, ast.Mod) and (
            isinstance(e.left, ast.JoinedStr)
            or (isinstance(e.left, ast.Constant) and isinstance(e.left.value, str))
        ):
            raise self.err(e, "printf-style string formatting (%) is not supported: use an f-string")
        return _call(helper, self.expr(e.left, scope), self.expr(e.right, scope))

    def expr_Compare(self, e: ast.Compare, scope: _Scope) -> ast.expr:
        operands = [e.left, *e.comparators]
        for middle in operands[1:-1]:
            if not self.pure(middle):
                raise self.err(
                    e, "chained comparisons need simple middle operands (names, constants, subscripts)"
                )
        parts: list[ast.expr] = []
        for op, a, b in zip(e.ops, operands, operands[1:], strict=False):
            parts.append(self.compare1(e, op, a, b, scope))
        return parts[0] if len(parts) == 1 else ast.BoolOp(op=ast.And(), values=parts)

    def compare1(self, e: ast.AST, op: ast.cmpop, a: ast.expr, b: ast.expr, scope: _Scope) -> ast.expr:
        if isinstance(op, (ast.Is, ast.IsNot)):
            if isinstance(b, ast.Constant) and b.value is None:
                x = a
            elif isinstance(a, ast.Constant) and a.value is None:
                x = b
            elif isinstance(b, ast.Constant) and isinstance(b.value, bool):
                return ast.Compare(left=self.expr(a, scope), ops=[op], comparators=[_const(b.value)])
            else:
                raise self.err(
                    e, "`is` is only supported with None, True or False (identity differs in JavaScript)"
                )
            r: ast.expr = _call("_cs_isnone", self.expr(x, scope))
            return ast.UnaryOp(op=ast.Not(), operand=r) if isinstance(op, ast.IsNot) else r
        return _call(_CMPOPS[type(op)], self.expr(a, scope), self.expr(b, scope))

    def expr_IfExp(self, e: ast.IfExp, scope: _Scope) -> ast.expr:
        return ast.IfExp(
            test=self.test(e.test, scope), body=self.expr(e.body, scope), orelse=self.expr(e.orelse, scope)
        )

    def expr_Attribute(self, e: ast.Attribute, scope: _Scope) -> ast.expr:
        raise self.err(
            e,
            f"attribute access (.{e.attr}) is not supported: use doc['{e.attr}'] for fields; "
            "only supported methods may be called",
        )

    def expr_Subscript(self, e: ast.Subscript, scope: _Scope) -> ast.expr:
        if isinstance(e.slice, ast.Slice):
            if e.slice.step is not None:
                raise self.err(e, "slices with a step are not supported")
            lo = self.expr(e.slice.lower, scope) if e.slice.lower is not None else _const(None)
            hi = self.expr(e.slice.upper, scope) if e.slice.upper is not None else _const(None)
            return _call("_cs_slice", self.expr(e.value, scope), lo, hi)
        if isinstance(e.slice, ast.Tuple):
            raise self.err(e, "tuple subscripts are not supported")
        return _call("_cs_getitem", self.expr(e.value, scope), self.expr(e.slice, scope))

    def expr_Lambda(self, e: ast.Lambda, scope: _Scope) -> ast.expr:
        params = self.check_args(e, e.args)
        inner = self.child_scope(scope, set(params), "lambda")
        inner.assigned = set(params)
        body = self.expr(e.body, inner)
        args = ast.arguments(
            posonlyargs=[],
            args=[ast.arg(arg=p) for p in params],
            vararg=None,
            kwonlyargs=[],
            kw_defaults=[],
            kwarg=None,
            defaults=[],
        )
        return ast.Lambda(args=args, body=body)

    def expr_ListComp(self, e: ast.ListComp | ast.GeneratorExp, scope: _Scope) -> ast.expr:
        gens: list[ast.comprehension] = []
        comp_locals: set[str] = set()
        for g in e.generators:
            if isinstance(g.target, ast.Name):
                comp_locals.add(g.target.id)
            elif isinstance(g.target, (ast.Tuple, ast.List)):
                comp_locals.update(self.flat_names(g.target))
        for n in comp_locals:
            self.check_binding(e, n)
        inner = self.child_scope(scope, comp_locals, "comp")
        cur = scope
        for g in e.generators:
            if g.is_async:
                raise self.err(e, "async comprehensions are not supported")
            it, target = self.iteration(g.target, g.iter, cur, e)
            inner.assigned |= self.target_names(g.target)
            ifs = [self.test(c, inner) for c in g.ifs]
            gens.append(ast.comprehension(target=target, iter=it, ifs=ifs, is_async=0))
            cur = inner
        return ast.ListComp(elt=self.expr(e.elt, inner), generators=gens)

    def expr_GeneratorExp(self, e: ast.GeneratorExp, scope: _Scope) -> ast.expr:
        raise self.err(
            e,
            "generator expressions are only supported as the argument of any(), all(), sum(), "
            "min(), max(), sorted(), list() or str.join()",
        )

    def arg_iter(self, a: ast.expr, scope: _Scope) -> ast.expr:
        """An iterable argument: a generator expression is evaluated eagerly as a list."""
        if isinstance(a, ast.GeneratorExp):
            return self.expr_ListComp(a, scope)
        return self.expr(a, scope)

    def expr_Call(self, c: ast.Call, scope: _Scope) -> ast.expr:
        if any(isinstance(a, ast.Starred) for a in c.args) or any(k.arg is None for k in c.keywords):
            raise self.err(c, "*args/**kwargs in calls are not supported")
        f = c.func
        if isinstance(f, ast.Attribute):
            return self.method_call(c, f, scope)
        if not isinstance(f, ast.Name):
            raise self.err(c, "only calls of names and supported methods are supported")
        name = f.id
        if name in scope.locals or name in scope.outer:
            if c.keywords:
                raise self.err(c, "keyword arguments are not supported in calls of local functions")
            return ast.Call(
                func=self.resolve(f, scope), args=[self.expr(a, scope) for a in c.args], keywords=[]
            )
        if name in self.ddoc_helper_names:
            if c.keywords:
                raise self.err(c, "keyword arguments are not supported in calls of design helpers")
            self.used_ddoc_helpers.add(name)
            return _call(name, *[self.expr(a, scope) for a in c.args])
        if name in ("emit", "log", "provides"):
            raise self.err(c, f"{name}() must be used as a statement")
        if name in ("Forbidden", "Unauthorized"):
            raise self.err(c, f"{name}(...) can only be raised: raise {name}(reason)")
        if name in BUILTINS or name in ("dict",):
            self.globals_used.add(name)
            return self.builtin_call(c, name, scope)
        self.resolve(f, scope)  # raises the "not defined" error
        raise AssertionError("unreachable")

    def nargs(self, c: ast.Call, name: str, lo: int, hi: int, keywords: tuple[str, ...] = ()) -> None:
        if not lo <= len(c.args) <= hi:
            want = str(lo) if lo == hi else f"{lo} to {hi}"
            raise self.err(c, f"{name}() takes {want} positional argument(s) here")
        for k in c.keywords:
            if k.arg not in keywords:
                raise self.err(c, f"{name}() keyword argument `{k.arg}` is not supported")

    def builtin_call(self, c: ast.Call, name: str, scope: _Scope) -> ast.expr:
        a = c.args
        kw = {k.arg: k.value for k in c.keywords}
        if name in ("len", "str", "int", "float", "bool", "abs"):
            self.nargs(c, name, 1, 1)
            return _call("_cs_" + name, self.expr(a[0], scope))
        if name in ("any", "all"):
            self.nargs(c, name, 1, 1)
            return _call("_cs_" + name, self.arg_iter(a[0], scope))
        if name == "list":
            self.nargs(c, name, 0, 1)
            return _call("_cs_list", self.arg_iter(a[0], scope)) if a else ast.List(elts=[], ctx=ast.Load())
        if name == "dict":
            raise self.err(c, "dict() is not supported: use a {...} literal")
        if name in ("min", "max"):
            self.nargs(c, name, 1, 99)
            if len(a) == 1:
                return _call("_cs_" + name, self.arg_iter(a[0], scope))
            return _call("_cs_" + name, ast.List(elts=[self.expr(x, scope) for x in a], ctx=ast.Load()))
        if name == "sum":
            self.nargs(c, name, 1, 2)
            start = self.expr(a[1], scope) if len(a) == 2 else _const(0)
            return _call("_cs_sum", self.arg_iter(a[0], scope), start)
        if name == "sorted":
            self.nargs(c, name, 1, 1, ("key", "reverse"))
            key = self.expr(kw["key"], scope) if "key" in kw else _const(None)
            rev = self.expr(kw["reverse"], scope) if "reverse" in kw else _const(False)
            return _call("_cs_sorted", self.arg_iter(a[0], scope), key, rev)
        if name == "range":
            self.nargs(c, name, 1, 3)
            xs = [self.expr(x, scope) for x in a]
            if len(xs) == 1:
                xs = [_const(0), xs[0]]
            if len(xs) == 2:
                xs.append(_const(1))
            return _call("_cs_range", *xs)
        if name == "enumerate":
            self.nargs(c, name, 1, 2, ("start",))
            start = a[1] if len(a) == 2 else kw.get("start", _const(0))
            return _call("_cs_enumerate", self.expr(a[0], scope), self.expr(start, scope))
        if name == "isinstance":
            self.nargs(c, name, 2, 2)
            types = a[1].elts if isinstance(a[1], ast.Tuple) else [a[1]]
            names: list[ast.expr] = []
            for t in types:
                if not (isinstance(t, ast.Name) and t.id in TYPE_NAMES):
                    raise self.err(c, "isinstance() supports the types str, int, float, bool, list and dict")
                names.append(_const(t.id))
            return _call("_cs_isinstance", self.expr(a[0], scope), ast.List(elts=names, ctx=ast.Load()))
        raise self.err(c, f"{name}() is not supported")

    def method_call(self, c: ast.Call, f: ast.Attribute, scope: _Scope) -> ast.expr:
        name = f.attr
        if name not in METHODS:
            raise self.err(c, f"method .{name}() is not supported (supported: {', '.join(sorted(METHODS))})")
        lo, hi = METHODS[name]
        self.nargs(c, "." + name, lo, hi)
        obj = self.expr(f.value, scope)
        args = [self.arg_iter(x, scope) if name == "join" else self.expr(x, scope) for x in c.args]
        for x in c.args:
            if isinstance(x, ast.Tuple):
                raise self.err(c, f".{name}() with a tuple argument is not supported")
        return _call("_cs_m_" + name, obj, *args)


_PSCRIPT_FN = re.compile(r"^var (\w+);\n\1 = function flx_\1 \((.*?)\) \{\n(.*)\n\};\n?$", re.S)


def translate_function(
    node: ast.FunctionDef, filename: str, kind: str, ddoc_helpers: Collection[str] = frozenset()
) -> Translation:
    """Check and translate one top-level function definition (``kind``: a key of :data:`ARITY` or
    ``"helper"``). Raises :class:`CompileError` for anything outside the supported subset."""
    rw = _Rewriter(filename, kind, set(ddoc_helpers))
    if kind in ARITY and len(node.args.args) != ARITY[kind]:
        raise rw.err(node, f"a {kind} function takes {ARITY[kind]} parameter(s), not {len(node.args.args)}")
    fn = rw.function(node, None)
    module = ast.Module(body=[fn], type_ignores=[])
    ast.fix_missing_locations(module)
    source = ast.unparse(module)
    try:
        js = pscript.py2js(source, inline_stdlib=False)
    except Exception as e:  # pscript rejected something the checker let through
        raise CompileError(filename, node.lineno, f"cannot translate: {e}") from None
    meta = js.meta
    std = set(meta["std_functions"]) | {"m." + m for m in meta["std_methods"]}
    if not std <= {"truthy"}:
        raise CompileError(filename, node.lineno, f"internal error: pscript used {sorted(std)}")
    allowed_unknown = set(HELPERS) | {"emit", "log", "provides"} | set(ddoc_helpers)
    unknown = set(meta["vars_unknown"]) - allowed_unknown
    if unknown:
        raise CompileError(filename, node.lineno, f"internal error: unresolved names {sorted(unknown)}")
    m = _PSCRIPT_FN.match(str(js))
    if m is None:
        raise CompileError(filename, node.lineno, "internal error: unexpected pscript output")
    params, body = m.group(2), m.group(3)
    runtime = {n for n in re.findall(r"\b_cs_\w+\b", body) if n in HELPERS}
    text = f"function ({params}) {{\n{body}\n}}"
    return Translation(
        name=node.name,
        js=text,
        runtime=runtime,
        ddoc_helpers=rw.used_ddoc_helpers,
        uses_truthy="_pyfunc_truthy" in body,
        globals_used=rw.globals_used,
        locals=rw.all_locals,
    )


def assemble(main: Translation, helpers: dict[str, Translation], filename: str, line: int) -> str:
    """The final self-contained source of ``main``: runtime helpers, pscript's truthy wrapper and
    the design helpers it (transitively) calls, declared at the top of its body."""
    needed: set[str] = set()
    todo = sorted(main.ddoc_helpers)
    while todo:
        h = todo.pop()
        if h not in needed:
            needed.add(h)
            todo.extend(helpers[h].ddoc_helpers)
    clash = needed & main.locals
    if clash:
        raise CompileError(filename, line, f"local name(s) {sorted(clash)} shadow design helpers")
    parts = [main, *(helpers[h] for h in sorted(needed))]
    runtime = set().union(*(p.runtime for p in parts))
    decls: list[str] = []
    if runtime:
        decls.append(helpers_source(runtime))
    if any(p.uses_truthy for p in parts):
        truthy = _PSCRIPT_FUNCTIONS["truthy"].replace("\n", "\n    ")
        decls.append(f"    var _pyfunc_truthy = {truthy};")
    for h in sorted(needed):
        decls.append(f"    var {h} = " + helpers[h].js.replace("\n", "\n    ") + ";")
    head, _, rest = main.js.partition("\n")
    return "\n".join([head, *decls, rest])


__all__ = ["ARITY", "CompileError", "Translation", "assemble", "helper_closure", "translate_function"]
