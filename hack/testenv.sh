#!/usr/bin/env bash
# make testenv: builds the pinned binaries the tests run, from the tools module in hack/tools,
# into a cache directory outside the repository: the control plane (kube-apiserver, etcd),
# Tekton's controller (tekton-controller) and CLI (tkn), argo-lint (Argo's own validation,
# hack/tools/argolint) and kustomize-build (kubectl kustomize's library, krusty, whose
# packages tkn's build compiles anyway: hack/tools/kustomizebuild) and Argo's
# workflow-controller. Prints the directory on stdout's last line.
#
# Argo's workflow-controller (v3.7) pins Kubernetes 0.33, and one generated line of it does not
# compile against the 0.37 modules here: the argo-server's HTTP gateway for WatchEvents returns
# a *corev1.Event as a protobuf message, which k8s.io/api types no longer are. The controller
# never serves that gateway (its main imports the package for util/logs). So the build uses a
# copy of the Argo module, made here in the cache (never in the repository), with that one
# closure answering Unimplemented, through a go.mod generated beside it with a replace; every
# other package is the module's own and shares the 0.37 tree the other binaries compile,
# where a module at Argo's own Kubernetes versions would compile a second tree (about 5 min
# of CPU, measured).
#
# They build in one go build: the packages they share (730 of tekton-controller's come from
# kube-apiserver's tree) compile once, where builds at once would each compile them. Static (CGO_ENABLED=0) and with -trimpath, as ko builds the images and as make lint
# and the tests' go builds (internal/testenv/gobuild) build: the packages compiled here (the
# standard library and nearly every package the main module imports: test/modules checks
# that the modules agree on versions) serve all of those from the build cache. A binary is
# built again when hack/tools/go.mod, go.sum, the build flags or, for our own argo-lint, its
# source change (NAME.modsum beside it).
#
# TESTENV_CACHE overrides the cache root (default ${XDG_CACHE_HOME:-~/.cache}/build-watcher).
set -euo pipefail
cd "$(dirname "$0")/tools"

k8s=$(go list -m -f '{{.Version}}' k8s.io/kubernetes)
etcd=$(go list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)
root=${TESTENV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/build-watcher}
dir="$root/testenv/k8s-$k8s-etcd-$etcd"
mkdir -p "$dir"

# Each binary: its name here, its package, and the name go build gives it in -o DIR/.
binaries=(
  "etcd go.etcd.io/etcd/server/v3 server"
  "kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver kube-apiserver"
  "tekton-controller github.com/tektoncd/pipeline/cmd/controller controller"
  "tkn github.com/tektoncd/cli/cmd/tkn tkn"
  "argo-lint ./argolint argolint"
  "kustomize-build ./kustomizebuild kustomizebuild"
  "workflow-controller github.com/argoproj/argo-workflows/v3/cmd/workflow-controller workflow-controller"
)
flags=(-trimpath)
export CGO_ENABLED=0
# The one change to the Argo module (see above): the WatchEvents closure of the gateway.
gateway=pkg/apiclient/workflow/workflow.pb.gw.go
patch='s|\(forward_WorkflowService_WatchEvents_0(.*func() (proto.Message, error) { \)return resp.Recv() }|\1if _, err := resp.Recv(); err != nil { return nil, err }; return nil, status.Error(codes.Unimplemented, "WatchEvents: not in this build of the workflow-controller (hack/testenv.sh)") }|'
# stamp NAME PKG: what NAME is built from; our own packages (./...) add their source.
stamp() {
  {
    cat go.mod go.sum
    echo "CGO_ENABLED=$CGO_ENABLED ${flags[*]} $patch"
    case $2 in ./*) cat "$2"/*.go ;; esac
  } | sha256sum | cut -c1-16
}
tekton=$(go list -m -f '{{.Version}}' github.com/tektoncd/pipeline)
argo=$(go list -m -f '{{.Version}}' github.com/argoproj/argo-workflows/v3)
tkn=$(go list -m -f '{{.Version}}' github.com/tektoncd/cli)
versions="kube-apiserver $k8s, etcd $etcd, Tekton $tekton, tkn $tkn, Argo $argo"
pkgs=()
names=()
for b in "${binaries[@]}"; do
  read -r name pkg _ <<<"$b"
  if [ -x "$dir/$name" ] && [ "$(cat "$dir/$name.modsum" 2>/dev/null)" = "$(stamp "$name" "$pkg")" ]; then
    echo "testenv: $name is built ($versions)" >&2
    continue
  fi
  pkgs+=("$pkg")
  names+=("$name")
done

if [ "${#pkgs[@]}" -gt 0 ]; then
  # /version must tell the real version: Tekton's minimum-version check reads it.
  v=${k8s#v}
  ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$k8s -X k8s.io/component-base/version.gitMajor=${v%%.*} -X k8s.io/component-base/version.gitMinor=$(echo "$v" | cut -d. -f2) -X k8s.io/client-go/pkg/version.gitVersion=$k8s"
  echo "testenv: building ${names[*]} ($versions; first time only, minutes)..." >&2
  start=$SECONDS
  out=$(mktemp -d "$dir/.build.XXXXXX")
  trap 'rm -rf "$out"' EXIT
  # The Argo module's copy, changed, and the go.mod that points at it (see above).
  # go list -m names no directory until the module is in the module cache.
  go mod download github.com/argoproj/argo-workflows/v3
  src=$(go list -m -f '{{.Dir}}' github.com/argoproj/argo-workflows/v3)
  if [ -z "$src" ] || [ ! -d "$src" ]; then
    echo "testenv: the Argo module $argo is not in the module cache after go mod download (GOMODCACHE, GOFLAGS=-mod=...?)" >&2
    exit 1
  fi
  cp -R "$src" "$out/argo-workflows"
  chmod -R u+w "$out/argo-workflows"
  sed -i "$patch" "$out/argo-workflows/$gateway"
  if ! grep -q 'WatchEvents: not in this build' "$out/argo-workflows/$gateway"; then
    echo "testenv: Argo $argo's $gateway no longer has the WatchEvents closure hack/testenv.sh changes: check whether the workflow-controller now builds against hack/tools' Kubernetes modules without it, and update the patch" >&2
    exit 1
  fi
  sed '/^replace github.com\/argoproj\/argo-workflows\/v3 /d' go.mod >"$out/tools.mod"
  printf '\nreplace github.com/argoproj/argo-workflows/v3 => %s\n' "$out/argo-workflows" >>"$out/tools.mod"
  cp go.sum "$out/tools.sum"
  if ! go build -modfile "$out/tools.mod" "${flags[@]}" -ldflags "$ldflags" -o "$out/" "${pkgs[@]}"; then
    echo "testenv: the build failed (see above)" >&2
    exit 1
  fi
  for b in "${binaries[@]}"; do
    read -r name pkg built <<<"$b"
    [ -x "$out/$built" ] || continue
    mv "$out/$built" "$dir/$name"
    stamp "$name" "$pkg" >"$dir/$name.modsum"
  done
  echo "testenv: built ${names[*]} in $((SECONDS - start)) s" >&2
fi
echo "$dir"
