"""The authoring API's native runners (emit/log/provides contexts, normalisation, builtins) and
the compiled form of show functions using provides()."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from couchsync.ddoc import Design, compile_design, emit, load_designs, log, normalize

from .parity import python_results, quickjs_results

SHOW_MODULE = """
from couchsync.ddoc import Design, emit, log, provides

d = Design("shows")


@d.show
def card(doc, req):
    log("card")
    name = doc["name"] if doc is not None else "nobody"
    provides("json", lambda: {"json": {"name": name}})

    def html():
        return {"body": f"<b>{name}</b>", "headers": {"Content-Type": "text/html"}}

    provides("html", html)


@d.view(reduce="_sum")
def totals(doc):
    emit(doc["name"], len(doc["name"]))
"""


@pytest.fixture
def shows(tmp_path: Path) -> Design:
    (tmp_path / "shows.py").write_text(SHOW_MODULE)
    return load_designs(tmp_path)[0]


def test_provides_picks_format_or_first(shows: Design) -> None:
    assert shows.run_show("card", {"name": "Ann"}) == {"json": {"name": "Ann"}}
    assert shows.run_show("card", {"name": "Ann"}, {"query": {"format": "html"}}) == {
        "body": "<b>Ann</b>",
        "headers": {"Content-Type": "text/html"},
    }
    assert shows.last_logs == ["card"]


def test_provides_show_matches_quickjs(shows: Design) -> None:
    docs = [{"_id": "a", "name": "Ann"}, {"_id": "b", "name": "Bé😀"}]
    cases: dict[str, Any] = {
        "validate": [],
        "filter": [],
        "update": [],
        "reduce": {},
        "show": [[0, {"query": {}}], [1, {"query": {"format": "html"}}], [None, {"query": {}}]],
    }
    py, js = python_results(shows, docs, cases), quickjs_results(compile_design(shows), docs, cases)
    assert py["show"] == js["show"]
    assert py["map"] == js["map"] == {"totals": [["a", [["Ann", 3]]], ["b", [["Bé😀", 3]]]]}


def test_builtin_reduce_natively(shows: Design) -> None:
    assert shows.run_reduce("totals", [[["a"], "a"], [["b"], "b"]], [1, 2]) == 3
    d = Design("x")
    d.view(lambda doc: None, name="c", reduce="_count")
    d.view(lambda doc: None, name="s", reduce="_stats")
    assert d.run_reduce("c", [[1, "a"]] * 3, [None] * 3) == 3
    assert d.run_reduce("c", None, [3, 4], rereduce=True) == 7
    assert d.run_reduce("s", None, [1, 2, 3]) == {"sum": 6, "count": 3, "min": 1, "max": 3, "sumsqr": 14}


def test_emit_outside_a_run_raises_and_log_falls_back() -> None:
    with pytest.raises(RuntimeError, match="outside a design function run"):
        emit(1, 2)
    log("to the logger")  # no run: goes to logging, does not raise


def test_normalize_is_the_javascript_number_model() -> None:
    assert normalize({"a": (1.0, 2.5, float("inf")), "b": [2**60 * 1.0]}) == {
        "a": [1, 2.5, None],
        "b": [2.0**60],
    }
    assert isinstance(normalize(80.0), int)
    with pytest.raises(TypeError):
        normalize({1: "a"})
    with pytest.raises(TypeError):
        normalize({1, 2})


def test_registration_errors() -> None:
    d = Design("reg")
    with pytest.raises(ValueError, match="not a supported reduce"):
        d.view(reduce="_median")
    d.filter(lambda doc, req: True, name="f")
    with pytest.raises(ValueError, match="duplicate filter"):
        d.filter(lambda doc, req: True, name="f")
    with pytest.raises(ValueError, match="invalid design document name"):
        Design("bad/name")
    d.validate_doc_update(lambda a, b, c, e: None)
    with pytest.raises(ValueError, match="already registered"):
        d.validate_doc_update(lambda a, b, c, e: None)
