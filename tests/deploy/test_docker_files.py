"""The Docker dev stack, checked without Docker (CI cannot run it here): the Dockerfile installs and
builds with the commands CI runs (scripts/test.sh, package.json), starts ``couchsync serve`` with
settings that exist, runs as a non-root user with a ``/_up`` health check; docker-compose.yml runs
that image on port 5984 with a named volume at the data directory and the admin from an env file.

The compose file is read with a small parser for the YAML subset it uses (block mappings and
lists, plain and quoted scalars, comments), so a construct outside it fails here first.
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from couchsync.cli.main import main as cli_main
from couchsync.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SETTING_VARS = {"COUCHSYNC_" + f.name.upper() for f in fields(Settings)}


# -- Dockerfile ----------------------------------------------------------------------------------


def dockerfile() -> list[tuple[str, str]]:
    """``[(INSTRUCTION, arguments)]`` with continuations joined and comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.lstrip().startswith("#") or (not line.strip() and not pending):
            continue
        pending += line.rstrip()
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        word, _, rest = pending.strip().partition(" ")
        out.append((word.upper(), " ".join(rest.split())))
        pending = ""
    return out


def stages() -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for ins in dockerfile():
        if ins[0] == "FROM":
            result.append([])
        result[-1].append(ins)
    return result


def final_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for word, args in stages()[-1]:
        if word == "ENV":
            for item in shlex.split(args):
                key, _, value = item.partition("=")
                env[key] = value
    return env


def runs(stage: list[tuple[str, str]]) -> list[str]:
    cmds = []
    for word, args in stage:
        if word == "RUN":
            cmds += [c.strip() for c in args.split("&&")]
    return cmds


def script_commands(path: str) -> list[str]:
    """Every shell command of a script, split at ``;``/``&&`` (good enough for our scripts)."""
    text = (ROOT / path).read_text()
    return [c.strip() for line in text.splitlines() if not line.lstrip().startswith("#")
            for c in re.split(r";|&&|\bthen\b", line) if c.strip()]


def npm_ci(cmd: str) -> set[str]:
    words = shlex.split(cmd)
    assert words[:2] == ["npm", "ci"], cmd
    return set(words[2:])


def test_build_stage_runs_the_ci_commands() -> None:
    build = stages()[-2]
    cmds = runs(build)
    pip = [c for c in cmds if re.search(r"(^|[/ ])pip install ", c)]
    assert len(pip) == 1 and shlex.split(pip[0])[-1] == ".", pip  # the package itself, as CI's `pip install -e '.[test]'`
    ci_npm = [c for c in script_commands("scripts/test.sh") if c.startswith("npm ci")]
    docker_npm = [c for c in cmds if c.startswith("npm ci")]
    assert len(ci_npm) == 1 and len(docker_npm) == 1
    # the same install; the image also skips install scripts (native add-ons of the test peer)
    assert npm_ci(docker_npm[0]) - {"--ignore-scripts"} == npm_ci(ci_npm[0])
    assert "npm run build:web" in cmds
    assert "npm run build:web" in script_commands("scripts/test.sh")
    assert any("npm run build:web" in c for c in script_commands("scripts/serve.sh"))
    pkg = json.loads((ROOT / "package.json").read_text())
    assert pkg["scripts"]["build:web"] == "node web/build.mjs"
    assert {"esbuild", "pouchdb-browser", "pouchdb-find"} <= set(pkg["dependencies"])
    lock = json.loads((ROOT / "package-lock.json").read_text())
    for name, version in pkg["dependencies"].items():  # pinned, and the lock agrees
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), (name, version)
        assert lock["packages"][f"node_modules/{name}"]["version"] == version


def test_package_data_is_installed() -> None:
    """The image installs the package non-editable (``pip install .``): every file the package reads
    at run time besides its modules (``views/js/runtime.js``) must be declared as package data."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    patterns = config.get("package-data", {}).get("couchsync", [])
    pkg = ROOT / "couchsync"
    for path in pkg.rglob("*"):
        if path.is_file() and path.suffix not in (".py", ".pyc", ".md") and "__pycache__" not in path.parts:
            rel = path.relative_to(pkg)
            assert any(rel.match(p) for p in patterns), f"{rel} is missing from [tool.setuptools.package-data]"


def test_runtime_stage() -> None:
    final = stages()[-1]
    image = final[0][1]
    assert re.fullmatch(r"python:3\.(\d+)-slim(-\w+)?", image), image
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert requires == ">=3.11" and int(image.split(".")[1].split("-")[0]) >= 11
    users = [a for w, a in final if w == "USER"]
    assert users and users[-1] not in ("root", "0")
    health = [a for w, a in final if w == "HEALTHCHECK"]
    assert len(health) == 1 and "/_up" in health[0]
    assert ("EXPOSE", "5984") in final
    env = final_env()
    assert {k for k in env if k.startswith("COUCHSYNC_")} <= SETTING_VARS
    settings = Settings.from_env(environ=env)
    assert (settings.host, settings.port) == ("0.0.0.0", 5984)
    copies = [a.split() for w, a in final if w == "COPY"]
    assert ["--from=build", "/src/web/dist", settings.app_dir] in copies
    assert ("VOLUME", json.dumps([settings.data_dir])) in final
    cmd = [a for w, a in final if w == "CMD"][-1]
    argv = json.loads(cmd)
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert argv[0] in scripts and scripts[argv[0]] == "couchsync.cli.main:main"
    assert argv[1] in cli_main.commands


def test_dockerignore_lets_the_build_context_through() -> None:
    patterns = [p for p in (ROOT / ".dockerignore").read_text().splitlines() if p and not p.startswith("#")]
    assert patterns[0] == "*"
    allowed = {p[1:].rstrip("/") for p in patterns if p.startswith("!")}
    for stage in stages():
        for word, args in stage:
            if word == "COPY" and not args.startswith("--from"):
                *sources, _dest = args.split()
                for src in sources:
                    assert src.rstrip("/") in allowed, src
                    assert (ROOT / src).exists(), src


# -- docker-compose.yml --------------------------------------------------------------------------


def _scalar(text: str) -> Any:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    if text[:1] in ("{", "[", "&", "*", "|", ">", "!"):
        raise ValueError(f"unsupported YAML: {text}")
    if text in ("true", "false"):
        return text == "true"
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return None if text in ("", "null", "~") else text


def _strip_comment(line: str) -> str:
    quote = None
    for i, ch in enumerate(line):
        if ch in "\"'" and quote in (None, ch):
            quote = None if quote else ch
        elif ch == "#" and quote is None and (i == 0 or line[i - 1] == " "):
            return line[:i].rstrip()
    return line.rstrip()


def parse_yaml(text: str) -> Any:
    """Block mappings, block lists (of scalars or mappings), scalars; anything else is an error."""
    lines = [(len(s) - len(s.lstrip(" ")), s.strip()) for s in map(_strip_comment, text.splitlines()) if s.strip()]
    for _, s in lines:
        if s.startswith(("{", "[", "&", "*", "|", ">")) or "\t" in s:
            raise ValueError(f"unsupported YAML: {s}")

    def block(i: int, indent: int) -> tuple[Any, int]:
        if lines[i][1].startswith("- "):
            items: list[Any] = []
            while i < len(lines) and lines[i][0] == indent and lines[i][1].startswith("- "):
                rest = lines[i][1][2:]
                if re.match(r"^[\w.-]+:(\s|$)", rest):  # a mapping inside a list item
                    lines[i] = (indent + 2, rest)
                    value, i = block(i, indent + 2)
                else:
                    value, i = _scalar(rest), i + 1
                items.append(value)
            return items, i
        mapping: dict[str, Any] = {}
        while i < len(lines) and lines[i][0] == indent:
            m = re.fullmatch(r"([\w.-]+):(?:\s+(.*))?", lines[i][1])
            if not m:
                raise ValueError(f"unsupported YAML: {lines[i][1]}")
            key, rest = m.group(1), m.group(2)
            if rest:
                mapping[key], i = _scalar(rest), i + 1
            elif i + 1 < len(lines) and lines[i + 1][0] > indent:
                mapping[key], i = block(i + 1, lines[i + 1][0])
            elif i + 1 < len(lines) and lines[i + 1][0] == indent and lines[i + 1][1].startswith("- "):
                mapping[key], i = block(i + 1, indent)
            else:
                mapping[key], i = None, i + 1
        return mapping, i

    value, end = block(0, lines[0][0])
    if end != len(lines):
        raise ValueError(f"unparsed YAML from: {lines[end][1]}")
    return value


def test_yaml_subset_parser() -> None:
    doc = parse_yaml("a:\n  b: 'x # y'  # c\n  l:\n    - 1\n    - k: v\n      m: n\n  e:\nz: true\n")
    assert doc == {"a": {"b": "x # y", "l": [1, {"k": "v", "m": "n"}], "e": None}, "z": True}
    with pytest.raises(ValueError):
        parse_yaml("a: {b: 1}\n")


def test_compose_file() -> None:
    compose = parse_yaml((ROOT / "docker-compose.yml").read_text())
    app = compose["services"]["couchsync"]
    assert app["build"] == "."
    assert "5984:5984" in app["ports"]
    data_dir = Settings.from_env(environ=final_env()).data_dir
    assert app["environment"]["COUCHSYNC_DATA_DIR"] == data_dir
    assert set(app["environment"]) <= SETTING_VARS
    volume, _, target = app["volumes"][0].partition(":")
    assert target == data_dir and volume in compose["volumes"] and not volume.startswith((".", "/"))
    env_files = app["env_file"]
    assert env_files == [{"path": ".env", "required": False}]
    example = dict(line.split("=", 1) for line in (ROOT / ".env.example").read_text().splitlines()
                   if line and not line.startswith("#"))
    assert set(example) <= SETTING_VARS
    assert re.fullmatch(r"[^:]+:.+", example["COUCHSYNC_ADMIN"])
