#!/usr/bin/env bash
# bench/find entry point: see bench/README.md ("bench/find"), or run with --help.
#   bench/find/run.sh [--docs 100000] [...]
here="$(cd "$(dirname "$0")" && pwd)"
exec "$here/../lib/run.sh" "$here/run.mjs" -- "$@"
