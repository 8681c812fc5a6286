#!/usr/bin/env bash
# bench/replicate entry point: see bench/README.md, or run with --help.
#   bench/replicate/run.sh [--docs 10000] [--reps 3] [...]
here="$(cd "$(dirname "$0")" && pwd)"
exec "$here/../lib/run.sh" "$here/run.mjs" --expose-gc -- "$@"
