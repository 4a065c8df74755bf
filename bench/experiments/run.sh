#!/usr/bin/env bash
# The issue-6 experiment table: `bench/experiments/run.sh` with no arguments prints the usage (run.ts).
set -euo pipefail
cd "$(dirname "$0")/../.."
exec nice node --import tsx bench/experiments/run.ts "$@"
