#!/usr/bin/env bash
# make testenv: builds the pinned control-plane binaries (kube-apiserver, etcd) from the tools
# module in hack/tools, and Tekton's controller (tekton-controller) from its own tools module
# in hack/tools/tekton, into a cache directory outside the repository, skipping what is
# already built for the pinned versions. The three build at once: on 2 cores that fills the
# link steps and the tails of compiles one build alone leaves idle. Prints the directory on
# stdout's last line.
#
# No -trimpath: these are test binaries, and without it their compiled packages are the
# ones go vet and staticcheck need too (the same sources and flags): the standard library,
# and all but a few of the Kubernetes, Knative and Tekton packages the main module imports,
# at the same versions as Tekton's tools module pins them. make lint then compiles little.
#
# TESTENV_CACHE overrides the cache root (default ${XDG_CACHE_HOME:-~/.cache}/build-watcher).
set -euo pipefail
cd "$(dirname "$0")/tools"

k8s=$(go list -m -f '{{.Version}}' k8s.io/kubernetes)
etcd=$(go list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)
root=${TESTENV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/build-watcher}
dir="$root/testenv/k8s-$k8s-etcd-$etcd"
mkdir -p "$dir"

# build NAME PACKAGE VERSION [LDFLAGS] builds PACKAGE of the module in the working directory
# into $dir/NAME, unless it is there, built from the same go.mod and go.sum (NAME.modsum):
# a change of any pinned dependency rebuilds it.
build() {
  local name=$1 pkg=$2 version=$3 ldflags=${4:-} sum
  sum=$(cat go.mod go.sum | sha256sum | cut -c1-16)
  if [ -x "$dir/$name" ] && [ "$(cat "$dir/$name.modsum" 2>/dev/null)" = "$sum" ]; then
    echo "testenv: $name $version is built" >&2
    return
  fi
  echo "testenv: building $name $version (first time only)..." >&2
  local start=$SECONDS
  go build -ldflags "-s -w $ldflags" -o "$dir/$name.tmp" "$pkg"
  mv "$dir/$name.tmp" "$dir/$name"
  echo "$sum" >"$dir/$name.modsum"
  echo "testenv: built $name in $((SECONDS - start)) s" >&2
}

# /version must tell the real version: Tekton's minimum-version check reads it.
v=${k8s#v}
k8s_ldflags="-X k8s.io/component-base/version.gitVersion=$k8s -X k8s.io/component-base/version.gitMajor=${v%%.*} -X k8s.io/component-base/version.gitMinor=$(echo "$v" | cut -d. -f2) -X k8s.io/client-go/pkg/version.gitVersion=$k8s"

pids=()
build etcd go.etcd.io/etcd/server/v3 "$etcd" & pids+=($!)
build kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver "$k8s" "$k8s_ldflags" & pids+=($!)
# Tekton's controller, for the end-to-end tests (internal/testenv/tektontest). Its own module
# keeps Tekton's client libraries out of the control plane's build list; both pin the
# Kubernetes libraries (and what they import) at the versions the main module uses, so
# that the three builds and make lint compile each shared package once.
(cd tekton && build tekton-controller github.com/tektoncd/pipeline/cmd/controller "$(go list -m -f '{{.Version}}' github.com/tektoncd/pipeline)") & pids+=($!)

failed=0
for pid in "${pids[@]}"; do
  wait "$pid" || failed=1
done
if [ "$failed" != 0 ]; then
  echo "testenv: a build failed (see above)" >&2
  exit 1
fi
echo "$dir"
