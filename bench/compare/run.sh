#!/usr/bin/env bash
# The loss comparison of issue 11: `bench/compare/run.sh` with no arguments prints the usage (run.ts).
set -euo pipefail
cd "$(dirname "$0")/../.."
exec nice node --import tsx bench/compare/run.ts "$@"
