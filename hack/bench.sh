#!/usr/bin/env bash
# Runs the module's benchmarks once each and prints them as a table.
# BENCH selects benchmarks (a -bench regexp, default all); BENCHTIME as for go test.
set -euo pipefail
cd "$(dirname "$0")/.."
# Benchmarks that need the control plane find it as the tests do.
BUILD_WATCHER_TESTENV=${BUILD_WATCHER_TESTENV:-$(hack/testenv.sh | tail -n 1)}
export BUILD_WATCHER_TESTENV
out=$(mktemp)
trap 'rm -f "$out"' EXIT
go test -run '^$' -bench "${BENCH:-.}" -benchtime "${BENCHTIME:-1x}" -benchmem ./... | tee "$out" >&2
echo
awk '
  /^pkg:/ { pkg = $2; sub(".*/internal/", "", pkg) }
  /^Benchmark/ {
    name = $1; sub("-[0-9]+$", "", name)
    line = sprintf("| %-10s | %-32s |", pkg, name)
    for (i = 3; i < NF; i += 2) line = line sprintf(" %s %s |", $i, $(i+1))
    print line
  }' "$out" | { echo "| package    | benchmark                        | figures |"; echo "|---|---|---|"; cat; }
