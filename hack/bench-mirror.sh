#!/usr/bin/env bash
# Side-by-side benchmark of bin/mirror-image against `crane copy` (built from the
# go-containerregistry version in go.mod) and Debian's `skopeo copy`: one generated image
# (MIRROR_MIB MiB in MIRROR_LAYERS random layers, default 512 and 8) in one local
# docker-registry, copied to a second one, cold (empty destination: the registry is
# restarted on empty storage before every run) and warm (the destination holds
# everything). Each figure is the median of MIRROR_RUNS runs (default 5); peak RSS from
# /usr/bin/time; bytes sent to the destination from one more cold run through a counting
# TCP forwarder. The registries store into /dev/shm when it has room (STORAGE= to
# choose), so that the figures measure the copy tools rather than the disk's write-back.
# Prints a markdown table. Needs docker-registry (make deps), curl, bc, /usr/bin/time and
# skopeo (apt-get install -y skopeo; without it the skopeo row is left out).
set -euo pipefail
cd "$(dirname "$0")/.."
mib=${MIRROR_MIB:-512}
layers=${MIRROR_LAYERS:-8}
runs=${MIRROR_RUNS:-5}
cache=${BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/build-watcher/bench}

for tool in docker-registry curl bc /usr/bin/time go; do
  command -v "$tool" >/dev/null || { echo "bench-mirror: $tool is missing (make deps; apt-get install curl bc time)" >&2; exit 1; }
done
[ -x bin/mirror-image ] || { echo "bench-mirror: bin/mirror-image is missing: run make build" >&2; exit 1; }
have_skopeo=true
command -v skopeo >/dev/null || { echo "bench-mirror: skopeo is missing (apt-get install -y skopeo): its row is left out" >&2; have_skopeo=false; }

work=$(mktemp -d)
storage=${STORAGE:-}
if [ -z "$storage" ]; then
  storage=$work
  if [ -d /dev/shm ] && [ -w /dev/shm ] && [ "$(df -Pm /dev/shm | awk 'NR == 2 { print $4 }')" -gt $((3 * mib)) ]; then
    storage=/dev/shm
  fi
fi
store=$(mktemp -d "$storage/bench-mirror.XXXXXX")
declare -A pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work" "$store"
}
trap cleanup EXIT

# crane, built once per go-containerregistry version into the cache.
ggcr=$(go list -m -f '{{.Version}}' github.com/google/go-containerregistry)
crane="$cache/crane-$ggcr"
if [ ! -x "$crane" ]; then
  mkdir -p "$cache"
  GOBIN="$work/gobin" go install "github.com/google/go-containerregistry/cmd/crane@$ggcr"
  mv "$work/gobin/crane" "$crane"
fi
go build -o "$work/mirror-bench" ./hack/mirror-bench
helper="$work/mirror-bench"

# start_registry NAME PORT: docker-registry on 127.0.0.1:PORT with empty storage.
start_registry() {
  local name=$1 port=$2 dir="$work/$1"
  rm -rf "$dir" "${store:?}/$name" && mkdir -p "$dir"
  cat >"$dir/config.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $store/$name
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$port
  secret: bench-$name
EOF
  env -i PATH="$PATH" docker-registry serve "$dir/config.yml" >"$dir/log" 2>&1 &
  pids[$name]=$!
  for _ in $(seq 1 200); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v2/")" = 200 ] && return 0
    sleep 0.05
  done
  cat "$dir/log" >&2
  echo "bench-mirror: docker-registry $name did not start" >&2
  exit 1
}

stop_registry() {
  local name=$1
  kill "${pids[$name]}" 2>/dev/null || true
  wait "${pids[$name]}" 2>/dev/null || true
  unset "pids[$name]"
}

src_port=$("$helper" freeport)
start_registry src "$src_port"
dst_port=$("$helper" freeport)
start_registry dst "$dst_port"
src="127.0.0.1:$src_port/bench/app:v1"

echo "bench-mirror: making a ${mib} MiB image of $layers layers in $src" >&2
"$helper" image -ref "$src" -layers "$layers" -mib "$mib" -dir "$work"
rm -f "$work"/layer-*.tar.gz

tools=(mirror-image crane)
$have_skopeo && tools+=(skopeo)

# command_for TOOL DSTHOST: sets cmd to the command copying the image to
# DSTHOST/mirror/app:v1.
command_for() {
  local dst="$2/mirror/app:v1"
  case $1 in
    mirror-image) cmd=(bin/mirror-image --quiet --source "$src" --destination "$dst"
      --insecure-registry "127.0.0.1:$src_port" --insecure-registry "$2") ;;
    crane) cmd=("$crane" copy --insecure "$src" "$dst") ;;
    skopeo) cmd=(skopeo --insecure-policy copy --quiet --src-tls-verify=false --dest-tls-verify=false
      "docker://$src" "docker://$dst") ;;
  esac
}

# measure TOOL KIND: one timed copy to the destination registry; appends the wall time in
# seconds to $work/TOOL.KIND.time and the peak RSS in KiB to $work/TOOL.KIND.rss.
measure() {
  local start end cmd
  command_for "$1" "127.0.0.1:$dst_port"
  start=$EPOCHREALTIME
  if ! /usr/bin/time -f '%M' -o "$work/rss" "${cmd[@]}" >"$work/out" 2>&1; then
    cat "$work/out" >&2
    echo "bench-mirror: $1 failed" >&2
    exit 1
  fi
  end=$EPOCHREALTIME
  echo "$end - $start" | bc -l >>"$work/$1.$2.time"
  tail -n 1 "$work/rss" >>"$work/$1.$2.rss"
}

for i in $(seq 1 "$runs"); do
  for tool in "${tools[@]}"; do
    stop_registry dst && start_registry dst "$dst_port"
    measure "$tool" cold
    echo "bench-mirror: run $i, $tool cold: $(tail -n 1 "$work/$tool.cold.time") s" >&2
  done
done
for tool in "${tools[@]}"; do
  # The destination holds the image as this tool wrote it.
  stop_registry dst && start_registry dst "$dst_port"
  measure "$tool" prime
  for i in $(seq 1 "$runs"); do
    measure "$tool" warm
  done
  echo "bench-mirror: $tool warm: $(tr '\n' ' ' <"$work/$tool.warm.time")s" >&2
done

# Bytes sent: one more cold copy through the counting forwarder.
for tool in "${tools[@]}"; do
  stop_registry dst && start_registry dst "$dst_port"
  "$helper" count -target "127.0.0.1:$dst_port" -out "$work/$tool.bytes" >"$work/fwd.port" &
  fwd=$!
  for _ in $(seq 1 100); do [ -s "$work/fwd.port" ] && break; sleep 0.05; done
  command_for "$tool" "127.0.0.1:$(cat "$work/fwd.port")"
  "${cmd[@]}" >"$work/out" 2>&1 || { cat "$work/out" >&2; echo "bench-mirror: $tool failed through the forwarder" >&2; exit 1; }
  kill "$fwd" && wait "$fwd" || true
done

median() { sort -g "$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
maxof() { sort -g "$1" | tail -n 1; }
ratio() { echo "scale=2; $1 / $2" | bc -l | sed 's/^\./0./'; }

declare -A cold warm
for tool in "${tools[@]}"; do
  cold[$tool]=$(median "$work/$tool.cold.time")
  warm[$tool]=$(median "$work/$tool.warm.time")
done
echo
echo "$mib MiB image, $layers layers, docker-registry to docker-registry on loopback (storage in $storage); median of $runs runs; $(nproc) cores"
echo
header="| tool | cold s | cold ÷ crane |"
rule="|---|---|---|"
if $have_skopeo; then header+=" cold ÷ skopeo |"; rule+="---|"; fi
header+=" warm s | warm ÷ crane | MiB sent (cold) | peak RSS MiB cold / warm |"
rule+="---|---|---|---|"
echo "$header"
echo "$rule"
for tool in "${tools[@]}"; do
  read -r up _ <"$work/$tool.bytes"
  line="| $tool | $(printf '%.2f' "${cold[$tool]}") | $(ratio "${cold[$tool]}" "${cold[crane]}")× |"
  $have_skopeo && line+=" $(ratio "${cold[$tool]}" "${cold[skopeo]}")× |"
  line+=" $(printf '%.3f' "${warm[$tool]}") | $(ratio "${warm[$tool]}" "${warm[crane]}")× |"
  line+=" $(echo "scale=1; $up / 1048576" | bc -l) | $(( $(maxof "$work/$tool.cold.rss") / 1024 )) / $(( $(maxof "$work/$tool.warm.rss") / 1024 )) |"
  echo "$line"
done
