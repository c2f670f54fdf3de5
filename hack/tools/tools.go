//go:build tools

// Package tools pins the binaries that `make testenv` builds: the control plane (etcd,
// kube-apiserver) and Tekton's controller, in one module so that one go build compiles each
// package they share once.
package tools

import (
	_ "github.com/tektoncd/pipeline/cmd/controller"
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
)
