#!/usr/bin/env bash
# make testenv: builds the pinned control-plane binaries (kube-apiserver, etcd, kubectl) from
# the tools module in hack/tools into a cache directory outside the repository, skipping what
# is already built for the pinned versions. Prints the directory on stdout's last line.
#
# TESTENV_CACHE overrides the cache root (default ${XDG_CACHE_HOME:-~/.cache}/build-watcher).
set -euo pipefail
cd "$(dirname "$0")/tools"

k8s=$(go list -m -f '{{.Version}}' k8s.io/kubernetes)
etcd=$(go list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)
root=${TESTENV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/build-watcher}
dir="$root/testenv/k8s-$k8s-etcd-$etcd"
mkdir -p "$dir"

build() { # name package version
  local name=$1 pkg=$2 version=$3 ldflags=""
  if [ -x "$dir/$name" ]; then
    echo "testenv: $name $version is built" >&2
    return
  fi
  if [ "$name" != etcd ]; then
    # /version must tell the real version: Tekton's minimum-version check reads it.
    local v=${version#v}
    ldflags="-X k8s.io/component-base/version.gitVersion=$version -X k8s.io/component-base/version.gitMajor=${v%%.*} -X k8s.io/component-base/version.gitMinor=$(echo "$v" | cut -d. -f2) -X k8s.io/client-go/pkg/version.gitVersion=$version"
  fi
  echo "testenv: building $name $version (first time only; kube-apiserver takes about 6 minutes on 2 cores)..." >&2
  local start=$SECONDS
  go build -trimpath -ldflags "-s -w $ldflags" -o "$dir/$name.tmp" "$pkg"
  mv "$dir/$name.tmp" "$dir/$name"
  echo "testenv: built $name in $((SECONDS - start)) s" >&2
}

build etcd go.etcd.io/etcd/server/v3 "$etcd"
build kubectl k8s.io/kubernetes/cmd/kubectl "$k8s"
build kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver "$k8s"
echo "$dir"
