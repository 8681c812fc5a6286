"""Parity guarantee: every function of designdocs/ gives the same results natively in Python, in
QuickJS (the server's engine) and in PouchDB (Node/V8), over the Synthea documents.

The engines run once per session (fixtures); each test compares one function's results.
"""

from __future__ import annotations

import json
import shutil
from typing import Any

import pytest

from couchsync.ddoc import Design, compile_design, load_designs

from .parity import (
    ROOT,
    PouchDBRun,
    build_cases,
    expected_groups,
    expected_view_rows,
    python_results,
    quickjs_results,
    synthea_docs,
)

DESIGNS = load_designs(ROOT / "designdocs")
FUNCTIONS = [(d.name, path) for d in DESIGNS for _, path, _ in d.functions()]


class Run:
    def __init__(self, design: Design) -> None:
        self.design = design
        self.ddoc = compile_design(design)
        self.docs = synthea_docs()
        self.cases = build_cases(design, self.docs)
        self.filters = [
            (f, q)
            for f in design.filters
            for q in ({}, {"hospital": "DIRECTORY"}, {"hospital": self.docs[0]["_id"].split(":")[0]})
        ]
        self.node: PouchDBRun | None = None
        if shutil.which("node") is not None and (ROOT / "node_modules" / "pouchdb").is_dir():
            self.node = PouchDBRun(self.ddoc, self.docs, self.cases, self.filters)  # runs meanwhile
        self.py = python_results(design, self.docs, self.cases)
        self.qjs = quickjs_results(self.ddoc, self.docs, self.cases)
        self._pouch: dict[str, Any] | None = None

    @property
    def pouch(self) -> dict[str, Any]:
        if self._pouch is None:
            if self.node is None:
                pytest.skip("node or node_modules/pouchdb not available")
            self._pouch = self.node.result()
        return self._pouch


_runs: dict[str, Run] = {}


def run_for(name: str) -> Run:
    if name not in _runs:
        _runs[name] = Run(next(d for d in DESIGNS if d.name == name))
    return _runs[name]


def canon(x: Any) -> str:
    return json.dumps(x, sort_keys=True)


def section(results: dict[str, Any], path: str) -> Any:
    """The results of one function: ``views.v.map`` → map[v], ``filters.f`` → filter[f], ..."""
    parts = path.split(".")
    if parts[0] == "views":
        return results["map" if parts[2] == "map" else "reduce"][parts[1]]
    if parts[0] == "validate_doc_update":
        return results["validate"]
    return results[parts[0].removesuffix("s")][parts[1]]


def assert_same(expected: list[Any], actual: list[Any], what: str) -> None:
    assert len(expected) == len(actual), what
    bad = [i for i, (a, b) in enumerate(zip(expected, actual, strict=True)) if canon(a) != canon(b)]
    assert not bad, (
        f"{what}: {len(bad)} differences, first: python={expected[bad[0]]!r} js={actual[bad[0]]!r}"
    )


def test_designdocs_declare_every_kind() -> None:
    kinds = {k for d in DESIGNS for k, _, _ in d.functions()}
    assert kinds == {"map", "reduce", "validate", "filter", "show", "update"}
    assert len(synthea_docs()) == 981  # 1,000 resources, 19 Organizations shared by bundles


@pytest.mark.parametrize(("design", "path"), FUNCTIONS, ids=[f"{d}:{p}" for d, p in FUNCTIONS])
def test_quickjs_matches_python(design: str, path: str) -> None:
    run = run_for(design)
    expected, actual = section(run.py, path), section(run.qjs, path)
    assert_same(expected, actual, f"{design} {path} (QuickJS)")


@pytest.mark.parametrize(("design", "path"), FUNCTIONS, ids=[f"{d}:{p}" for d, p in FUNCTIONS])
def test_v8_matches_python(design: str, path: str) -> None:
    run = run_for(design)
    expected, actual = section(run.py, path), section(run.pouch["engine"], path)
    assert_same(expected, actual, f"{design} {path} (V8)")


@pytest.mark.parametrize(("design", "view"), [(d.name, v) for d in DESIGNS for v in d.views])
def test_pouchdb_query_matches_python(design: str, view: str) -> None:
    run = run_for(design)
    got = run.pouch["views"][view]
    rows = expected_view_rows(run.design, view, run.docs)
    assert rows, f"view {view} emits nothing over the Synthea data"
    assert [[r[0], r[1]] for r in got["rows"]] == [[r[0], r[1]] for r in rows]
    assert sorted(map(canon, got["rows"])) == sorted(map(canon, rows))
    if run.design.views[view].reduce is not None:
        assert canon(got["groups"]) == canon(expected_groups(run.design, view, rows))
        keys = [[r[1], r[0]] for r in rows]
        assert canon(got["total"]) == canon(run.design.run_reduce(view, keys, [r[2] for r in rows]))


@pytest.mark.parametrize(("design", "name"), [(d.name, f) for d in DESIGNS for f in d.filters])
def test_pouchdb_changes_filter_matches_python(design: str, name: str) -> None:
    run = run_for(design)
    for f, query in run.filters:
        if f != name:
            continue
        expected = sorted(d["_id"] for d in run.docs if run.design.run_filter(name, d, {"query": query}))
        assert run.pouch["changes"][f"{name}|{json.dumps(query, separators=(',', ':'))}"] == expected, query


@pytest.mark.parametrize(("design", "view"), [(d.name, v) for d in DESIGNS for v in d.views])
def test_pouchdb_view_filter_matches_python(design: str, view: str) -> None:
    run = run_for(design)
    expected = sorted(d["_id"] for d in run.docs if run.design.run_map(view, d))
    assert run.pouch["view_filter"][view] == expected


def test_outcomes_cover_every_branch() -> None:
    """The cases exercise accepted, forbidden and unauthorized writes, errors nowhere."""
    run = run_for("patient")
    kinds = {next(iter(o)) for o in run.py["validate"]}
    assert kinds == {"ok", "forbidden", "unauthorized"}
    for path in ("views.by_status.map", "views.by_birth_date.map", "views.by_hospital.map"):
        assert not [r for r in section(run.py, path) if isinstance(r[1], dict)], path
    assert any(r["ok"][0] is None for r in run.py["update"]["set_status"])
    assert any(r["ok"]["code"] == 200 for r in run.py["show"]["summary"])
