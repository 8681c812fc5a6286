"""Parity with the server's own engine: the compiled design documents run through
``couchsync.views.sandbox`` (CouchDB calling conventions, error shapes) give the Python results."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .parity import resolve
from .test_parity import DESIGNS, run_for

sandbox = pytest.importorskip("couchsync.views.sandbox")
errors = pytest.importorskip("couchsync.errors")


@pytest.fixture(scope="module")
def compiled() -> dict[str, Any]:
    sb = sandbox.Sandbox(time_limit_ms=20000)
    return {d.name: sb.compile(run_for(d.name).ddoc) for d in DESIGNS}


def canon(x: Any) -> str:
    return json.dumps(x, sort_keys=True)


@pytest.mark.parametrize("design", [d.name for d in DESIGNS])
def test_map_matches_python(compiled: dict[str, Any], design: str) -> None:
    run, c = run_for(design), compiled[design]
    out = c.map_docs(None, run.docs)
    for v, view in enumerate(c.views):
        for d, (doc_id, want) in enumerate(run.py["map"][view]):
            got = out[d][v]
            if isinstance(got, sandbox.MapError):
                assert isinstance(want, dict) and "error" in want, (view, doc_id, got)
            else:
                assert canon([list(r) for r in got]) == canon(want), (view, doc_id)


@pytest.mark.parametrize("design", [d.name for d in DESIGNS])
def test_reduce_matches_python(compiled: dict[str, Any], design: str) -> None:
    run, c = run_for(design), compiled[design]
    for view, cases in run.cases["reduce"].items():
        for (keys, values, rereduce), want in zip(cases, run.py["reduce"][view], strict=True):
            assert canon({"ok": c.reduce(view, keys, values, rereduce)}) == canon(want)


@pytest.mark.parametrize("design", [d.name for d in DESIGNS if d.validate is not None])
def test_validate_matches_python(compiled: dict[str, Any], design: str) -> None:
    run, c = run_for(design), compiled[design]
    for (new, old, ctx, sec), want in zip(run.cases["validate"], run.py["validate"], strict=True):
        try:
            c.validate(resolve(new, run.docs), resolve(old, run.docs), ctx, sec)
            got: dict[str, Any] = {"ok": True}
        except errors.CouchError as e:
            got = {e.error: e.reason} if e.status in (401, 403) else {"error": e.error}
        assert got == want, (new, ctx)


@pytest.mark.parametrize("design", [d.name for d in DESIGNS])
def test_filters_shows_updates_match_python(compiled: dict[str, Any], design: str) -> None:
    run, c = run_for(design), compiled[design]
    for name in run.design.filters:
        got = [c.filter(name, [resolve(i, run.docs)], req)[0] for i, req in run.cases["filter"]]
        assert got == [r["ok"] for r in run.py["filter"][name]]
    for name in run.design.shows:
        for (i, req), want in zip(run.cases["show"], run.py["show"][name], strict=True):
            assert canon(c.show(name, resolve(i, run.docs), req)) == canon(want["ok"])
    for name in run.design.updates:
        for (i, req), want in zip(run.cases["update"], run.py["update"][name], strict=True):
            doc, resp = c.update(name, resolve(i, run.docs), {**req, "method": "POST"})
            assert canon([doc, resp]) == canon(want["ok"])
