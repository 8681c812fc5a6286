"""Run a design document natively (Python), in QuickJS and in PouchDB/V8 over the same cases.

The JavaScript side is ``harness.js`` (CouchDB-like globals ``emit``/``log``/``provides``; thrown
``{forbidden}``/``{unauthorized}`` objects become outcomes, other throws ``{"error": name}``);
:func:`python_results` produces the same shape natively through the ``Design.run_*`` runners.
"""

from __future__ import annotations

import glob
import json
import os
import subprocess
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from couchsync.cli.importer import partitioned_docs
from couchsync.core.collate import sort_key
from couchsync.ddoc import Design, Forbidden, Unauthorized, normalize

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
DATA = os.environ.get("COUCHSYNC_SYNTHEA", str(ROOT.parent / "shared" / "data" / "synthea-fhir-r4"))
DB = "clinic"


def synthea_docs() -> list[dict[str, Any]]:
    """The Synthea resources as imported with ``--hospital-from Organization``, normalised."""
    files = sorted(glob.glob(os.path.join(DATA, "*.json")))
    groups, _ = partitioned_docs(files)
    out: dict[str, dict[str, Any]] = {}
    for _, docs in groups:
        for d in docs:
            out.setdefault(
                d["_id"], normalize(d)
            )  # resources shared by bundles: the first copy, as import does
    return list(out.values())


def partition(doc_id: str) -> str:
    return doc_id.split(":", 1)[0]


def resolve(spec: Any, docs: list[dict[str, Any]]) -> Any:
    """A document named by a case: ``None``, a doc index, ``{"lit": doc}`` or
    ``{"doc": i, "set": {...}, "unset": [...]}`` (a variant of doc ``i``). Mirrors ``__doc`` in
    harness.js; cases reference documents so the JS payload stays small."""
    if spec is None:
        return None
    if isinstance(spec, int):
        return docs[spec]
    if "lit" in spec:
        return spec["lit"]
    d = {k: v for k, v in docs[spec["doc"]].items() if k not in spec.get("unset", [])}
    d.update(spec.get("set", {}))
    return d


def build_cases(design: Design, docs: list[dict[str, Any]]) -> dict[str, Any]:
    """Validation, filter, show, update and reduce cases derived from ``docs``."""
    hospitals = sorted({partition(d["_id"]) for d in docs})
    sec = {"admins": {"names": ["boss"], "roles": ["clinic-admins"]}, "members": {"names": [], "roles": []}}

    def user(*roles: str, name: str = "u") -> dict[str, Any]:
        return {"db": DB, "name": name, "roles": list(roles)}

    validate = []
    for i, d in enumerate(docs):
        h = partition(d["_id"])
        other = hospitals[(hospitals.index(h) + 1) % len(hospitals)]
        own, foreign = (
            user(f"{DB}:staff", f"{DB}:hospital:{h}"),
            user(f"{DB}:staff", f"{DB}:hospital:{other}"),
        )
        validate += [
            [i, None, own, sec],
            [i, None, foreign, sec],
            [i, None, user(), sec],
            [i, None, user(name="boss"), sec],
            [{"doc": i, "unset": ["resourceType"]}, None, user("_admin"), sec],
            [{"doc": i, "set": {"hospital": other}}, i, own, sec],
            [{"doc": i, "set": {"hospital": h}}, i, user(f"{DB}:admin"), sec],
            [{"doc": i, "set": {"resourceType": "Basic"}}, i, user("clinic-admins"), sec],
            [{"lit": {"_id": d["_id"], "_deleted": True}}, i, foreign if i % 2 else own, sec],
        ]
    filter_ = []
    for i, d in enumerate(docs):
        filter_ += [
            [i, {"query": {"hospital": partition(d["_id"])}}],
            [i, {"query": {"hospital": "DIRECTORY"}}],
            [i, {"query": {}}],
        ]
    show: list[Any] = [[None, {"query": {}}]] + [[i, {"query": {}}] for i in range(len(docs))]
    update: list[Any] = [[None, {"query": {"status": "active"}}]]
    for i in range(len(docs)):
        status = ["active", "inactive", "finished", "", None][i % 5]
        update.append([i, {"query": {} if status is None else {"status": status}}])
    reduce: dict[str, list[Any]] = {}
    for name, view in design.views.items():
        if not callable(view.reduce):
            continue
        groups: dict[str, list[Any]] = defaultdict(list)
        for d in docs:
            for k, v in design.run_map(name, d):
                groups[json.dumps(k, sort_keys=True)].append(([k, d["_id"]], v))
        cases: list[Any] = []
        partials = []
        for rows in groups.values():
            keys, values = [r[0] for r in rows], [r[1] for r in rows]
            cases.append([keys, values, False])
            half = len(rows) // 2 or 1
            parts = [
                design.run_reduce(name, keys[:half], values[:half]),
                design.run_reduce(name, keys[half:], values[half:]),
            ]
            cases.append([None, parts, True])
            partials.append(parts[0])
        cases.append([None, partials, True])
        reduce[name] = cases
    return {"validate": validate, "filter": filter_, "show": show, "update": update, "reduce": reduce}


def _error(e: BaseException) -> dict[str, Any]:
    if isinstance(e, Forbidden):
        return {"forbidden": normalize(e.reason)}
    if isinstance(e, Unauthorized):
        return {"unauthorized": normalize(e.reason)}
    return {"error": type(e).__name__}


def python_results(design: Design, docs: list[dict[str, Any]], cases: dict[str, Any]) -> dict[str, Any]:
    """``harness.js``'s result shape, computed by running the Python functions natively."""
    out: dict[str, Any] = {"map": {}, "reduce": {}, "validate": [], "filter": {}, "show": {}, "update": {}}
    for name in design.views:
        res: list[Any] = []
        for d in docs:
            try:
                res.append([d["_id"], [[k, v] for k, v in design.run_map(name, d)]])
            except Exception as e:
                res.append([d["_id"], _error(e)])
        out["map"][name] = res
    for name, rcases in cases["reduce"].items():
        rres: list[Any] = []
        for keys, values, rereduce in rcases:
            try:
                rres.append({"ok": design.run_reduce(name, keys, values, rereduce)})
            except Exception as e:
                rres.append(_error(e))
        out["reduce"][name] = rres
    for new, old, ctx, sec in cases["validate"]:
        try:
            out["validate"].append(design.run_validate(resolve(new, docs), resolve(old, docs), ctx, sec))
        except Exception as e:
            out["validate"].append(_error(e))
    for table, runner, key in (
        (design.filters, design.run_filter, "filter"),
        (design.shows, design.run_show, "show"),
        (design.updates, design.run_update, "update"),
    ):
        for name in table:
            vals: list[Any] = []
            for doc, req in cases[key]:
                try:
                    vals.append({"ok": runner(name, resolve(doc, docs), req)})
                except Exception as e:
                    vals.append(_error(e))
            out[key][name] = vals
    return out


def _payload(ddoc: dict[str, Any], docs: list[dict[str, Any]], cases: dict[str, Any]) -> str:
    return json.dumps({"ddoc": ddoc, "docs": docs, "cases": cases})


def quickjs_results(
    ddoc: dict[str, Any], docs: list[dict[str, Any]], cases: dict[str, Any]
) -> dict[str, Any]:
    """``harness.js`` in QuickJS (the server's engine)."""
    import quickjs

    ctx = quickjs.Context()
    ctx.set_time_limit(120)
    ctx.set_memory_limit(1 << 30)
    ctx.eval((HERE / "harness.js").read_text())
    ctx.eval("var __i = JSON.parse(" + json.dumps(_payload(ddoc, docs, cases)) + ");")
    return json.loads(ctx.eval("JSON.stringify(runAll(__i.ddoc, __i.docs, __i.cases))"))


class PouchDBRun:
    """``pouchdb_parity.mjs`` started in the background (it takes the longest): the harness under
    V8 plus PouchDB's own ``db.query``/``db.changes``. :meth:`result` waits for it."""

    def __init__(
        self,
        ddoc: dict[str, Any],
        docs: list[dict[str, Any]],
        cases: dict[str, Any],
        filters: list[tuple[str, dict[str, Any]]],
    ) -> None:
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            f.write(json.dumps({"ddoc": ddoc, "docs": docs, "cases": cases, "filters": filters}))
        self.input = f.name
        self.proc = subprocess.Popen(
            ["node", str(HERE / "pouchdb_parity.mjs"), f.name],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def result(self) -> dict[str, Any]:
        try:
            out, err = self.proc.communicate(timeout=180)
        finally:
            os.unlink(self.input)
        if self.proc.returncode != 0:
            raise RuntimeError(f"pouchdb_parity.mjs failed: {err[-2000:]}")
        return json.loads(out)


def expected_view_rows(design: Design, view: str, docs: list[dict[str, Any]]) -> list[list[Any]]:
    """``[[id, key, value]]`` in view order: CouchDB collation of the key, then doc id."""
    rows = []
    for d in docs:
        try:
            rows += [[d["_id"], k, v] for k, v in design.run_map(view, d)]
        except Exception:
            continue
    rows.sort(key=lambda r: (sort_key(r[1]), r[0]))
    return rows


def expected_groups(design: Design, view: str, rows: list[list[Any]]) -> list[list[Any]]:
    """``group=true`` rows: one per distinct key in collation order, reduced in one call."""
    groups: dict[str, list[list[Any]]] = {}
    for r in rows:
        groups.setdefault(json.dumps(r[1], sort_keys=True), []).append(r)
    out = []
    for members in groups.values():
        keys = [[r[1], r[0]] for r in members]
        out.append([members[0][1], design.run_reduce(view, keys, [r[2] for r in members])])
    out.sort(key=lambda g: sort_key(g[0]))
    return out
