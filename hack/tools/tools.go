//go:build tools

// Package tools pins the binaries that `make testenv` builds: the control plane (etcd,
// kube-apiserver), Tekton's controller and tkn, Argo's workflow-controller and our argo-lint
// (Argo's own template validation), in one module so that one go build compiles each
// package they share once.
package tools

import (
	_ "github.com/argoproj/argo-workflows/v3/cmd/workflow-controller"
	_ "github.com/tektoncd/cli/cmd/tkn"
	_ "github.com/tektoncd/pipeline/cmd/controller"
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
)
