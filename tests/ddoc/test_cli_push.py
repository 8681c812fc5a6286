"""``couchsync ddoc compile`` / ``push``: deterministic output, error reporting, change-only uploads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from click.testing import CliRunner

from couchsync.cli.ddoc import ddoc
from couchsync.ddoc import compile_path, dumps
from couchsync.ddoc.push import PushError, push_async

from .conftest import ADMIN

ROOT = Path(__file__).resolve().parent.parent.parent
DESIGNDOCS = ROOT / "designdocs"
AUTH = {"Authorization": aiohttp.encode_basic_auth(*ADMIN)}


def test_compile_writes_one_json_per_design(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(ddoc, ["compile", str(DESIGNDOCS), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output == f"wrote {out / 'patient.json'}\n"
    doc = json.loads((out / "patient.json").read_text())
    assert doc["_id"] == "_design/patient" and doc["language"] == "javascript"
    assert doc["options"] == {"partitioned": True}
    assert sorted(doc["views"]) == ["by_birth_date", "by_hospital", "by_status"]
    assert doc["views"]["by_birth_date"]["reduce"] == "_count"
    assert doc["views"]["by_hospital"]["reduce"].startswith("function (keys, values, rereduce) {")
    assert sorted(doc["filters"]) == ["hospital", "patients"]
    assert list(doc["shows"]) == ["summary"] and list(doc["updates"]) == ["set_status"]
    for src in [
        doc["validate_doc_update"],
        *doc["filters"].values(),
        *doc["shows"].values(),
        *doc["updates"].values(),
        *(v["map"] for v in doc["views"].values()),
    ]:
        assert src.startswith("function (") and src.endswith("}")
    again = CliRunner().invoke(ddoc, ["compile", str(DESIGNDOCS), "--out", str(out)])
    assert again.output == f"unchanged {out / 'patient.json'}\n"


def test_compile_is_deterministic_across_processes(tmp_path: Path) -> None:
    """Same input, same bytes: twice in-process and in fresh interpreters with other hash seeds."""
    first = [dumps(d) for d in compile_path(DESIGNDOCS)]
    assert first == [dumps(d) for d in compile_path(DESIGNDOCS)]
    code = (
        "import sys; from couchsync.ddoc import compile_path, dumps; "
        "sys.stdout.buffer.write(b''.join(dumps(d) for d in compile_path(sys.argv[1])))"
    )
    for seed in ("1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", code, str(DESIGNDOCS)], env=env, capture_output=True, check=True, cwd=ROOT
        ).stdout
        assert out == b"".join(first)


def test_compile_errors_exit_1_with_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text(
        "from couchsync.ddoc import Design\n\nd = Design('bad')\n\n\n@d.view\ndef v(doc):\n    import os\n"
    )
    result = CliRunner().invoke(ddoc, ["compile", str(tmp_path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert f"error: {tmp_path / 'bad.py'}:8: imports are not supported" in result.output
    assert not (tmp_path / "out").exists()


@pytest.fixture
async def url(server: TestServer) -> str:
    return str(server.make_url("")).rstrip("/")


async def _get(url: str, path: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as s, s.get(url + path, headers=AUTH) as r:
        return r.status, await r.json()


async def test_push_creates_then_skips_then_updates(url: str) -> None:
    async with (
        aiohttp.ClientSession() as s,
        s.put(url + "/clinic?partitioned=true", headers=AUTH) as r,
    ):
        assert r.status == 201, await r.text()
    docs = compile_path(DESIGNDOCS)
    user = ":".join(ADMIN)

    first = await push_async(docs, url, "clinic", user)
    assert [(p.doc_id, p.action) for p in first] == [("_design/patient", "created")]
    status, stored = await _get(url, "/clinic/_design/patient")
    assert status == 200 and stored["_rev"] == first[0].rev
    assert {k: v for k, v in stored.items() if k != "_rev"} == docs[0]

    second = await push_async(docs, url, "clinic", user)
    assert [(p.action, p.rev) for p in second] == [("unchanged", first[0].rev)]

    changed = [
        {**docs[0], "filters": {**docs[0]["filters"], "everything": "function (doc, req) { return true; }"}}
    ]
    dry = await push_async(changed, url, "clinic", user, dry_run=True)
    assert [p.action for p in dry] == ["would update"]
    assert (await _get(url, "/clinic/_design/patient"))[1]["_rev"] == first[0].rev

    third = await push_async(changed, url, "clinic", user)
    assert [p.action for p in third] == ["updated"] and (third[0].rev or "").startswith("2-")
    assert "everything" in (await _get(url, "/clinic/_design/patient"))[1]["filters"]


async def test_push_without_admin_rights_fails(url: str) -> None:
    async with aiohttp.ClientSession() as s, s.put(url + "/clinic2", headers=AUTH) as r:
        assert r.status == 201
    with pytest.raises(PushError) as info:
        await push_async(compile_path(DESIGNDOCS), url, "clinic2", "nobody:wrong")
    assert info.value.status == 401
