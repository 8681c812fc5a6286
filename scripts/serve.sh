#!/usr/bin/env bash
# Start couchsync on http://127.0.0.1:5984 with the Synthea demo data in database "demo" and the web
# app at /_app/. Creates .venv and installs the package on first run; builds the web app (npm ci +
# npm run build:web) when it is missing or older than its sources. Admin: COUCHSYNC_ADMIN (default admin:admin).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/couchsync ]; then
  python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e .
fi
if command -v npm >/dev/null; then
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then npm ci --no-audit --no-fund; fi
  if [ ! -f web/dist/index.html ] || [ -n "$(find web/src web/static web/build.mjs designdocs/patient.py package-lock.json -newer web/dist/index.html | head -1)" ]; then
    npm run build:web || echo "web app build failed: /_app/ may be missing or stale" >&2
  fi
else
  echo "npm not found: the web app (/_app/) is not built; install Node 20+ for it" >&2
fi
demo=""
for d in ../shared/data/synthea-fhir-r4 data/synthea-fhir-r4; do
  [ -d "$d" ] && { demo="--demo-data $d"; break; }
done
export COUCHSYNC_ADMIN="${COUCHSYNC_ADMIN:-admin:admin}"
exec .venv/bin/couchsync serve --data-dir "${COUCHSYNC_DATA_DIR:-./data}" $demo "$@"
