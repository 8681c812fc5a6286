"""Constructs outside the supported subset are compile errors naming ``file:line`` and the reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from couchsync.ddoc import CompileErrors, compile_path

# (case id, map-function body — the offending line marked with "# <-", expected reason fragment)
CASES = [
    ("try", "try:  # <-\n    x = 1\nexcept Exception:\n    x = 2", "try/except is not supported"),
    ("with", "with open('f') as f:  # <-\n    pass", "`with` is not supported"),
    ("import", "import json  # <-", "imports are not supported"),
    ("from-import", "from os import path  # <-", "imports are not supported"),
    ("global", "global COUNTER  # <-", "`global` is not supported"),
    ("class", "class A:  # <-\n    pass", "classes are not supported"),
    ("assert", "assert doc  # <-", "`assert` is not supported"),
    ("yield", "yield doc  # <-", "generators (yield)"),
    ("generator-exp", "g = (x for x in doc)  # <-", "generator expressions are only supported"),
    ("set", "s = {1, 2}  # <-", "sets are not supported"),
    ("set-comp", "s = {x for x in doc}  # <-", "set comprehensions"),
    ("dict-comp", "d = {k: 1 for k in doc}  # <-", "dict comprehensions are not supported"),
    ("walrus", "if (n := len(doc)) > 1:  # <-\n    pass", "assignment expressions"),
    ("module-global", "emit(LIMIT, None)  # <-", "name `LIMIT` is not defined in the function"),
    ("closure-over-module-function", "emit(helper(doc), None)  # <-", "name `helper` is not defined"),
    ("print", "print(doc)  # <-", "print() is not supported: use log()"),
    ("is-identity", "if doc is doc:  # <-\n    pass", "`is` is only supported with None"),
    ("bitwise", "x = 1 & 2  # <-", "bitwise operators are not supported"),
    ("invert", "x = ~1  # <-", "bitwise operators are not supported"),
    ("shift-augmented", "x = 1\nx <<= 2  # <-", "bitwise operators are not supported"),
    ("attribute-read", "x = doc.resourceType  # <-", "attribute access (.resourceType) is not supported"),
    ("attribute-write", "doc.x = 1  # <-", "attribute assignment is not supported"),
    ("unknown-method", "x = doc.setdefault('a', 1)  # <-", "method .setdefault() is not supported"),
    ("tuple-literal", "t = (1, 2)  # <-", "tuple literals are only supported"),
    ("int-keys", "d = {1: 'a'}  # <-", "dict keys must be strings"),
    ("dict-unpack", "d = {**doc}  # <-", "dict unpacking"),
    ("duplicate-key", "d = {'a': 1, 'a': 2}  # <-", "duplicate dict key"),
    ("big-int", "x = 2 ** 60 + 12345678901234567890  # <-", "outside JavaScript's exact integer range"),
    ("bytes", "x = b'abc'  # <-", "bytes literals are not supported"),
    ("complex", "x = 1j  # <-", "complex literals are not supported"),
    ("printf", "x = '%s' % doc  # <-", "printf-style string formatting"),
    ("fstring-spec", "x = f'{1.5:.2f}'  # <-", "format specs"),
    ("fstring-repr", "x = f'{doc!r}'  # <-", "conversions !r/!a"),
    ("raise-other", "raise ValueError('x')  # <-", "only `raise Forbidden(reason)`"),
    ("bare-raise", "raise  # <-", "only `raise Forbidden(reason)`"),
    ("star-args", "x = max(*doc)  # <-", "*args/**kwargs in calls"),
    ("kwargs-call", "x = sorted(doc, cmp=None)  # <-", "keyword argument `cmp` is not supported"),
    ("step-slice", "x = doc['a'][::2]  # <-", "slices with a step"),
    ("chained-assign", "a = b = 1  # <-", "chained assignment"),
    ("nested-unpack", "(a, b), c = doc  # <-", "only flat unpacking"),
    ("for-else", "for x in doc:  # <-\n    pass\nelse:\n    pass", "for/else is not supported"),
    ("while-else", "while False:  # <-\n    pass\nelse:\n    pass", "while/else is not supported"),
    ("reserved-js-name", "var = 1  # <-", "`var` cannot be used as a name"),
    ("js-global-name", "Math = 1  # <-", "`Math` cannot be used as a name"),
    ("shadow-builtin", "len = 3  # <-", "`len` cannot be rebound"),
    ("shadow-emit", "emit = 3  # <-", "`emit` cannot be rebound"),
    ("builtin-as-value", "f = len  # <-", "builtin `len` can only be called"),
    ("emit-as-value", "x = emit(1)  # <-", "emit() must be used as a statement"),
    ("provides-in-map", "provides('json', lambda: 1)  # <-", "provides() can only be used in show functions"),
    ("nested-default", "def f(a=1):  # <-\n    return a", "parameter defaults are not supported"),
    ("varargs", "def f(*a):  # <-\n    return a", "only plain positional parameters"),
    (
        "nested-decorator",
        "@staticmethod  # <-\ndef f(a):\n    return a",
        "decorators are not supported on nested",
    ),
    ("no-effect", "doc  # <-", "expression statement has no effect"),
    ("isinstance-type", "x = isinstance(doc, tuple)  # <-", "isinstance() supports the types"),
    ("dict-builtin", "x = dict(a=1)  # <-", "dict() is not supported"),
    ("call-of-call", "x = sorted(doc)[0](1)  # <-", "only calls of names and supported methods"),
    ("startswith-tuple", "x = doc['a'].startswith(('a', 'b'))  # <-", "tuple"),
    ("ellipsis", "x = ...  # <-", "`...` is not supported"),
    ("del-name", "x = 1\ndel x  # <-", "only `del container[key]`"),
    ("match", "match doc:  # <-\n    case _:\n        pass", "`match` is not supported"),
    ("lambda-default", "f = lambda a=1: a  # <-", "parameter defaults are not supported"),
    ("async-comp", "async def f():  # <-\n    pass", "async functions are not supported"),
    ("stub-name", "stub1_x = 1  # <-", "cannot be used as a name"),
]

HEADER = (
    "from couchsync.ddoc import Design, emit, provides\n\nddoc = Design('bad')\nLIMIT = 3\n\n\n"
    "def helper(x):\n    return x\n\n\n@ddoc.view\ndef fn(doc):\n"
)


def write_case(tmp_path: Path, body: str) -> tuple[Path, int]:
    lines = body.splitlines()
    marked = next(i for i, line in enumerate(lines) if "# <-" in line)
    source = HEADER + "".join("    " + line + "\n" for line in lines)
    path = tmp_path / "bad.py"
    path.write_text(source)
    return path, HEADER.count("\n") + marked + 1


@pytest.mark.parametrize(("body", "reason"), [(b, r) for _, b, r in CASES], ids=[c[0] for c in CASES])
def test_unsupported_construct_is_a_compile_error(tmp_path: Path, body: str, reason: str) -> None:
    path, line = write_case(tmp_path, body)
    with pytest.raises(CompileErrors) as info:
        compile_path(tmp_path)
    errors = info.value.errors
    assert len(errors) == 1, str(info.value)
    assert str(errors[0]).startswith(f"{path}:{line}: "), str(errors[0])
    assert reason in errors[0].reason


def test_every_error_of_a_run_is_reported(tmp_path: Path) -> None:
    (tmp_path / "two.py").write_text(
        "from couchsync.ddoc import Design, emit\n\nd = Design('two')\n\n\n@d.view\ndef a(doc):\n"
        "    import json\n\n\n@d.filter\ndef f(doc, req):\n    return doc.x\n"
    )
    with pytest.raises(CompileErrors) as info:
        compile_path(tmp_path)
    assert [(e.line, e.reason.split(" ")[0]) for e in info.value.errors] == [
        (8, "imports"),
        (13, "attribute"),
    ]


@pytest.mark.parametrize(
    ("kind", "decorator", "params"),
    [
        ("map", "@d.view", "doc, extra"),
        ("filter", "@d.filter", "doc"),
        ("validate", "@d.validate_doc_update", "a, b"),
        ("show", "@d.show", "doc"),
        ("update", "@d.update", "doc, req, x"),
    ],
)
def test_wrong_arity(tmp_path: Path, kind: str, decorator: str, params: str) -> None:
    (tmp_path / "arity.py").write_text(
        f"from couchsync.ddoc import Design\n\nd = Design('arity')\n\n\n{decorator}\ndef fn({params}):\n    pass\n"
    )
    with pytest.raises(CompileErrors) as info:
        compile_path(tmp_path)
    assert f"a {kind} function takes" in str(info.value)


def test_module_level_shadowing_of_api_names(tmp_path: Path) -> None:
    (tmp_path / "shadow.py").write_text(
        "from couchsync.ddoc import Design\n\nd = Design('shadow')\n\n\ndef emit(k, v=None):\n    pass\n\n\n"
        "@d.view\ndef fn(doc):\n    emit(1)\n"
    )
    with pytest.raises(CompileErrors) as info:
        compile_path(tmp_path)
    assert "module-level `emit` shadows" in str(info.value)


def test_import_failure_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "boom.py").write_text("from couchsync.ddoc import Design\n\nd = Design('boom')\nx = 1 / 0\n")
    with pytest.raises(CompileErrors) as info:
        compile_path(tmp_path)
    assert str(info.value).startswith(
        f"{tmp_path / 'boom.py'}:4: importing the module failed: ZeroDivisionError"
    )
