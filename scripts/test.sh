#!/usr/bin/env bash
# Run the whole test suite: lint (ruff), types (mypy), Python tests (pytest), PouchDB interop (node --test),
# then the web app build and its end-to-end tests in Chromium (tests/e2e, playwright-core).
# Installs what it needs: .venv with the package and test extras, and `npm ci`.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -e '.[test]'
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then npm ci --no-audit --no-fund; fi
echo "== ruff"; .venv/bin/ruff check couchsync tests bench designdocs
echo "== mypy"; .venv/bin/mypy
echo "== pytest"; .venv/bin/pytest -q -p no:cacheprovider "$@"
echo "== interop (PouchDB against a real couchsync serve)"; node --test --test-concurrency=1 tests/interop/
echo "== web app build"; npm run build:web
echo "== e2e (the web app in Chromium against a real couchsync serve)"; node --test --test-concurrency=1 tests/e2e/
