#!/usr/bin/env bash
# make demo: what build-watcher does, end to end, against local stand-ins (no cluster and
# no real Thoth needed). First a real kube-apiserver where the watcher (local executor) sees
# OpenShift and Tekton builds finish and collects, mirrors and submits each one
# (bin/demo-cluster; the first run builds the control plane), then bin/submit-thoth against
# the Thoth stand-in, which validates every request against the User API's OpenAPI document.
# With KUBECONFIG and THOTH_USER_API_HOST set, it runs bin/build-watcher --executor local
# against that cluster and Thoth instead (extra arguments go to it).
set -euo pipefail
cd "$(dirname "$0")/.."

bin=bin
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*" | sed -E 's/(password[= ])[^ ]+/\1***/g'; "$@"; }

# start_standin NAME ARGS... starts the stand-in on a free loopback port and sets $url.
start_standin() {
  local name=$1; shift
  "$bin/thoth-standin" --listen 127.0.0.1:0 "$@" 2>"$work/$name.log" &
  pids+=($!)
  for _ in $(seq 1 100); do
    url=$(sed -n 's/^thoth-standin: listening on \(http:[^ ]*\).*/\1/p' "$work/$name.log")
    [ -n "$url" ] && return 0
    kill -0 "${pids[-1]}" 2>/dev/null || break
    sleep 0.05
  done
  echo "demo: the Thoth stand-in did not start:" >&2
  cat "$work/$name.log" >&2
  exit 1
}

# Against a real cluster and Thoth: the watcher itself, in-process executor, until Ctrl-C.
if [ -n "${KUBECONFIG:-}" ] && [ -n "${THOTH_USER_API_HOST:-}" ]; then
  say "build-watcher --executor local against $(kubectl config current-context 2>/dev/null || echo "$KUBECONFIG") and $THOTH_USER_API_HOST (Ctrl-C stops)"
  exec "$bin/build-watcher" --executor local --metrics-address "${THOTH_METRICS_ADDRESS:-127.0.0.1:8080}" \
    --workers-count "${THOTH_BUILD_WATCHER_WORKERS:-2}" "$@"
fi

say "A cluster: build-watcher sees OpenShift and Tekton builds finish, collects, mirrors and submits them (real kube-apiserver, local)"
"$bin/demo-cluster"

start_standin thoth --seed 1 --registry "registry.demo.local:5000=builder:demo-S3cret"
thoth=$url
echo "Thoth stand-in at $thoth (validates every request against its OpenAPI document)"

base=quay.io/thoth-station/s2i-thoth-ubi9-py311@sha256:$(printf 'base' | sha256sum | cut -c1-64)
output=registry.demo.local:5000/team-a/app@sha256:$(printf 'app' | sha256sum | cut -c1-64)

cat >"$work/build.log" <<'LOG'
Cloning "https://github.com/team-a/app" ...
STEP 1/9: FROM quay.io/thoth-station/s2i-thoth-ubi9-py311
---> Installing application source ...
---> Installing dependencies using micropipenv ...
Collecting numpy==2.1.3
  Downloading numpy-2.1.3-cp311-cp311-manylinux_2_17_x86_64.whl (16.3 MB)
Collecting tensorflow==2.18.0
ERROR: Could not find a version that satisfies the requirement tensorflow==2.18.0
error: build error: error building at STEP "RUN /usr/libexec/s2i/assemble": exit status 1
LOG

say "A failed build: base image and build log (the old bot never sent these)"
mkdir -p "$work/results"
run "$bin/submit-thoth" --thoth-api-host "$thoth" --base-image "$base" --build-log-file "$work/build.log" \
  --origin team-a/app-7 --results-dir "$work/results"
echo "Tekton results written:"
for f in "$work/results"/*; do printf '  %s = %s\n' "$(basename "$f")" "$(cat "$f")"; done

say "A successful build: base image, output image by digest (with registry credentials), and log"
THOTH_DST_REGISTRY_USER=builder THOTH_DST_REGISTRY_PASSWORD=demo-S3cret \
  run "$bin/submit-thoth" --thoth-api-host "$thoth" --base-image "$base" --output-image "$output" \
  --build-log-file "$work/build.log" --origin team-a/app-8

say "The same images again: Thoth answers from its cache"
THOTH_DST_REGISTRY_USER=builder THOTH_DST_REGISTRY_PASSWORD=demo-S3cret \
  run "$bin/submit-thoth" --thoth-api-host "$thoth" --base-image "$base" --output-image "$output" --no-build-log -o json

say "A 64 MiB build log from stdin: cut to fit the 3 MiB body limit, head and tail kept"
{ echo "first line of a long build"; { yes "Collecting some-package==1.0 (cached)" || true; } | head -c 64M; echo; echo "ERROR: the failure is at the end"; } |
  run "$bin/submit-thoth" --thoth-api-host "$thoth" --build-log-file - --no-base --no-output

say "Wrong registry password: Thoth refuses (403) and echoes it; we never show it"
set +e
THOTH_DST_REGISTRY_USER=builder THOTH_DST_REGISTRY_PASSWORD=not-the-Password-42 \
  run "$bin/submit-thoth" --thoth-api-host "$thoth" --output-image "$output" --no-build-log 2>"$work/err"
code=$?
set -e
cat "$work/err"
echo "exit code $code; the password appears $(grep -c 'not-the-Password-42' "$work/err" || true) times in the output"

say "Nothing to submit is bad input (exit code 2)"
set +e
run "$bin/submit-thoth" --thoth-api-host "$thoth" --base-image "$base" --no-base
echo "exit code $?"
set -e

say "A flaky Thoth (30% 5xx, 429 and dropped connections): 20 builds, all submitted"
start_standin flaky --seed 7 --server-error-rate 0.1 --rate-limit-rate 0.1 --retry-after 1s --reset-rate 0.1
flaky=$url
ok=0
for i in $(seq 1 20); do
  if "$bin/submit-thoth" --thoth-api-host "$flaky" --output-image "quay.io/team-b/app:build-$i" \
    --build-log-file "$work/build.log" --retry-attempts 8 >/dev/null 2>>"$work/flaky-client.log"; then
    ok=$((ok + 1))
  fi
done
echo "submitted $ok of 20; retries on the way: $(grep -c 'retrying' "$work/flaky-client.log" || true)"
[ "$ok" -eq 20 ]

say "Done"
echo "Every request above was validated by the stand-in against its OpenAPI document."
