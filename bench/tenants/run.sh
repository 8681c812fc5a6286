#!/usr/bin/env bash
# bench/tenants entry point: see bench/README.md, or run with --help.
#   bench/tenants/run.sh [--tenants 2000] [--bcrypt-rounds 8] [--docs 100000] [...]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
py="${COUCHSYNC_PYTHON:-$root/.venv/bin/python}"
if [ ! -x "$py" ]; then
  echo "$py missing: python3 -m venv .venv && .venv/bin/pip install -e ." >&2
  exit 2
fi
# exec: Ctrl-C / SIGTERM reach the benchmark directly, which stops its servers and removes its tmp dirs.
exec "$py" "$here/run.py" --python "$py" "$@"
