#!/usr/bin/env bash
# bench/views entry point: see bench/README.md ("bench/views"), or run with --help.
#   bench/views/run.sh [--docs 100000] [--reps 3] [...]
here="$(cd "$(dirname "$0")" && pwd)"
exec "$here/../lib/run.sh" "$here/run.mjs" --expose-gc -- "$@"
