"""Design documents written in Python, compiled to CouchDB JavaScript.

A design module declares a :class:`Design` and registers functions with its decorators; the same
Python runs natively in pytest (``ddoc.run_map(...)``, ``ddoc.run_validate(...)``, ...) and, compiled
by ``couchsync ddoc compile`` into a standard CouchDB design document, on the server (QuickJS), on
CouchDB and offline in PouchDB.

Supported Python subset (anything else is a compile error with ``file:line`` and the reason; the
full table is in ``couchsync/ddoc/README.md``):

* statements: assignment (names, flat tuple unpacking, ``x[k] = v``), augmented assignment
  (``+= -= *= /= //= %= **=``), ``if``/``elif``/``else``, ``for`` (names or flat tuples),
  ``while``, ``break``, ``continue``, ``return``, ``pass``, ``del x[k]``, nested ``def``,
  ``raise Forbidden(reason)`` / ``raise Unauthorized(reason)``, calls of ``emit``/``log``/``provides``;
* expressions: ``None``/``True``/``False``, numbers (ints within 2**53), strings, f-strings without
  format specs, lists, dicts with string keys, list comprehensions, ``lambda``, ``x if c else y``,
  ``and``/``or``/``not``, ``+ - * / // % **``, comparisons (chainable), ``in``/``not in``,
  ``is None``/``is not None``, subscripts and ``x[a:b]`` slices;
* builtins ``len str int float bool abs min max sum sorted(key=, reverse=) range enumerate list any
  all isinstance``; methods ``dict.get/keys/values/items``, ``list.append/extend``,
  ``str.lower/upper/strip/lstrip/rstrip/startswith/endswith/find/split/join/replace``;
* module-level functions registered with ``@ddoc.helper`` may be called (they are inlined).

Every operation keeps its Python meaning in JavaScript (a runtime of small helpers is inlined into
each function); where JavaScript cannot represent a value the way Python does, the JavaScript raises
rather than silently computing something else.
"""

from .api import BUILTIN_REDUCERS, Design, Forbidden, Unauthorized, View, emit, log, normalize, provides
from .compiler import CompileErrors, compile_design, compile_path, dumps, load_designs, write_designs
from .translate import CompileError

__all__ = [
    "BUILTIN_REDUCERS",
    "CompileError",
    "CompileErrors",
    "Design",
    "Forbidden",
    "Unauthorized",
    "View",
    "compile_design",
    "compile_path",
    "dumps",
    "emit",
    "load_designs",
    "log",
    "normalize",
    "provides",
    "write_designs",
]
