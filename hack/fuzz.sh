#!/usr/bin/env bash
# Runs every Fuzz target of the module for FUZZTIME (default 10s) each.
# go test -fuzz takes one target of one package per run, so we list them first.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-10s}
mapfile -t files < <(git ls-files '*_test.go' 2>/dev/null || find . -name '*_test.go')
count=0
for f in "${files[@]}"; do
  pkg="./$(dirname "$f")"
  while read -r target; do
    [ -n "$target" ] || continue
    echo "fuzz: $pkg $target ($fuzztime)"
    go test -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" -fuzzminimizetime=2s "$pkg"
    count=$((count + 1))
  done < <(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*testing\.F).*/\1/p' "$f")
done
if [ "$count" -eq 0 ]; then
  echo "fuzz: no Fuzz targets found" >&2
  exit 1
fi
echo "fuzz: $count targets ran for $fuzztime each"
