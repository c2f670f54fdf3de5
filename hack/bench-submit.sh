#!/usr/bin/env bash
# End-to-end comparison for submitting a big build log: bin/submit-thoth against the naive
# way a user would otherwise take (jq -Rs to build the JSON body, curl to send it), both
# against the local Thoth stand-in with the real server's 3 MiB body cap. Prints max RSS,
# wall time and the answer. LOG_MIB sets the log size (default 1024).
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in jq curl /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "bench-submit: $tool is missing (apt-get install jq curl time)" >&2; exit 1; }
done
mib=${LOG_MIB:-1024}
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

bin/thoth-standin --listen 127.0.0.1:0 2>"$work/standin.log" &
pid=$!
url=
for _ in $(seq 1 100); do
  url=$(sed -n 's/^thoth-standin: listening on \(http:[^ ]*\).*/\1/p' "$work/standin.log")
  [ -n "$url" ] && break
  sleep 0.05
done
[ -n "$url" ] || { cat "$work/standin.log" >&2; exit 1; }

echo "first line" >"$work/build.log"
{ yes "Collecting some-package==1.0 (from -r requirements.txt (line 3))" || true; } | head -c "${mib}M" >>"$work/build.log"
printf '\nERROR: the failure is at the end\n' >>"$work/build.log"
size=$(stat -c %s "$work/build.log")

measure() { # name command...
  local name=$1; shift
  local start end
  start=$(date +%s.%N)
  /usr/bin/time -f '%M' -o "$work/rss" "$@" >"$work/out" 2>"$work/err" && status=ok || status="failed"
  end=$(date +%s.%N)
  rss_kib=$(tail -n 1 "$work/rss")
  answer=$(tr '\n' ' ' <"$work/out" | cut -c1-70)
  [ "$status" = ok ] || answer=$(tr '\n' ' ' <"$work/err" | cut -c1-70)
  printf '| %-22s | %9.1f | %8.2f | %-6s | %s |\n' "$name" "$(echo "$rss_kib / 1024" | bc -l)" "$(echo "$end - $start" | bc -l)" "$status" "$answer"
  echo "$rss_kib" >"$work/rss-$name"
}

echo "build log of $size bytes, stand-in at $url"
echo "| tool                   | max RSS MiB | seconds | result | answer |"
echo "|---|---|---|---|---|"
measure submit-thoth bin/submit-thoth --thoth-api-host "$url" --build-log-file "$work/build.log" -o json
measure jq+curl sh -c "jq -Rs '{base_image: null, output_image: null, build_log: {apiversion: \"build.openshift.io/v1\", kind: \"BuildLog\", log: .}}' <'$work/build.log' | curl -sS --fail-with-body -H 'Content-Type: application/json' --data-binary @- '$url/api/v1/build-analysis'"
echo
echo "memory ratio jq+curl / submit-thoth: $(echo "$(cat "$work/rss-jq+curl") / $(cat "$work/rss-submit-thoth")" | bc -l | cut -c1-6)"
