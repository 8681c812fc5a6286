#!/usr/bin/env bash
# Start couchsync on http://127.0.0.1:5984 with the Synthea demo data in database "demo".
# Creates .venv and installs the package on first run. Admin: COUCHSYNC_ADMIN (default admin:admin).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/couchsync ]; then
  python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e .
fi
demo=""
for d in ../shared/data/synthea-fhir-r4 data/synthea-fhir-r4; do
  [ -d "$d" ] && { demo="--demo-data $d"; break; }
done
export COUCHSYNC_ADMIN="${COUCHSYNC_ADMIN:-admin:admin}"
exec .venv/bin/couchsync serve --data-dir "${COUCHSYNC_DATA_DIR:-./data}" $demo "$@"
