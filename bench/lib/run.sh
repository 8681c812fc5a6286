#!/usr/bin/env bash
# Shared entry point of the bench runners: checks node_modules and the venv, then execs node.
#   bench/lib/run.sh SCRIPT.mjs [node options...] -- [runner options...]
set -euo pipefail
script="$1"; shift
node_opts=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do node_opts+=("$1"); shift; done
[ $# -gt 0 ] && shift
root="$(cd "$(dirname "$0")/../.." && pwd)"
if [ ! -d "$root/node_modules/pouchdb" ] || [ ! -d "$root/node_modules/pouchdb-server" ]; then
  echo "node_modules missing: run 'npm ci' in $root" >&2
  exit 2
fi
if [ -z "${COUCHSYNC_PYTHON:-}" ] && [ ! -x "$root/.venv/bin/python" ]; then
  echo "$root/.venv missing: python3 -m venv .venv && .venv/bin/pip install -e ." >&2
  exit 2
fi
py=()
[ -n "${COUCHSYNC_PYTHON:-}" ] && py=(--python "$COUCHSYNC_PYTHON")
# exec: Ctrl-C / SIGTERM reach node directly, which stops the servers and removes its tmp dirs.
exec node "${node_opts[@]}" "$script" "${py[@]}" "$@"
