#!/usr/bin/env bash
# bench/find entry point: see bench/README.md ("bench/find"), or run with --help.
#   bench/find/run.sh [--docs 100000] [...]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
if [ ! -d "$root/node_modules/pouchdb-server" ]; then
  echo "node_modules missing: run 'npm ci' in $root" >&2
  exit 2
fi
if [ -z "${COUCHSYNC_PYTHON:-}" ] && [ ! -x "$root/.venv/bin/python" ]; then
  echo "$root/.venv missing: python3 -m venv .venv && .venv/bin/pip install -e ." >&2
  exit 2
fi
py=()
[ -n "${COUCHSYNC_PYTHON:-}" ] && py=(--python "$COUCHSYNC_PYTHON")
# exec: Ctrl-C / SIGTERM reach node directly, which stops both servers and removes its tmp dirs.
exec node "$here/run.mjs" "${py[@]}" "$@"
