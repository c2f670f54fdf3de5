#!/usr/bin/env bash
# Runs every Fuzz target of the module for FUZZTIME (default 5s) each.
# go test -fuzz takes one target of one package per run and links the instrumented test
# binary again for each; instead, each package's binary is built once and run once per
# target, from the package's directory as go test does.
#
# Coverage guidance comes from this module's packages only: go test -fuzz compiles every
# package of the binary (Kubernetes' API machinery, Tekton's types...) once more with the
# fuzzing instrumentation, about 1000 packages and 6 minutes on 2 cores before the first
# input runs. Here only our packages get the compiler's -d=libfuzzer (what -fuzz adds to each
# package), and the rest are the plain static -trimpath packages that make lint, ko and
# testenv already compiled: the binaries build in seconds, and the targets run an order of
# magnitude more inputs per second; what they explore is our parsers' branches, the part that
# is ours to get right.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
fuzztime=${FUZZTIME:-5s}
retry_execs=${FUZZ_RETRY_EXECS:-2000x}
module=$(go list -m)
cache=$(go env GOCACHE)/fuzz
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
mapfile -t files < <(git ls-files '*_test.go' 2>/dev/null || find . -name '*_test.go' | sed 's|^\./||')
declare -A targets=()
for f in "${files[@]}"; do
  dir=$(dirname "$f")
  while read -r target; do
    [ -n "$target" ] && targets[$dir]+="$target "
  done < <(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*testing\.F).*/\1/p' "$f")
done
count=0
fuzz() { # dir test-binary target fuzztime
  (cd "$1" && "$2" -test.run='^$' -test.fuzz="^$3\$" -test.fuzztime="$4" -test.fuzzminimizetime=2s \
    -test.fuzzcachedir="$cache/$module/${1#./}")
}
for dir in $(printf '%s\n' "${!targets[@]}" | sort); do
  test_bin="$bin/$(echo "$dir" | tr / _).test"
  start=$SECONDS
  CGO_ENABLED=0 go test -c -trimpath -gcflags="$module/...=-d=libfuzzer" -o "$test_bin" "./$dir"
  echo "fuzz: built ./$dir's instrumented test binary in $((SECONDS - start)) s"
  for target in ${targets[$dir]}; do
    echo "fuzz: ./$dir $target ($fuzztime)"
    log=$(mktemp)
    if ! fuzz "$root/$dir" "$test_bin" "$target" "$fuzztime" 2>&1 | tee "$log"; then
      # Go 1.26's fuzz coordinator can report "context deadline exceeded" when -fuzztime ends
      # while a worker is busy (golang/go#75804), with no failing input. Only that is retried,
      # with a count budget, which has no deadline to race; a real failure writes its input.
      if grep -q 'context deadline exceeded' "$log" && ! grep -q 'Failing input written to' "$log"; then
        echo "fuzz: $target hit golang/go#75804 (no failing input); running $retry_execs inputs instead"
        fuzz "$root/$dir" "$test_bin" "$target" "$retry_execs"
      else
        rm -f "$log"
        exit 1
      fi
    fi
    rm -f "$log"
    count=$((count + 1))
  done
done
if [ "$count" -eq 0 ]; then
  echo "fuzz: no Fuzz targets found" >&2
  exit 1
fi
echo "fuzz: $count targets ran for $fuzztime each"
