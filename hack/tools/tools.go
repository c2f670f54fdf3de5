//go:build tools

// Package tools pins the binaries that `make testenv` builds: the control plane (etcd,
// kube-apiserver), Tekton's controller and tkn, Argo's workflow-controller, and our
// argo-lint (Argo's own validation, ./argolint), in one module so that one go build compiles
// each package they share once. The workflow-controller (v3.7.18) builds against the
// Kubernetes 0.37 modules here only with one generated line of it changed, which
// hack/testenv.sh does on a copy of the Argo module in its cache; a plain go build of it here
// fails on that line.
package tools

import (
	_ "github.com/argoproj/argo-workflows/v3/cmd/workflow-controller"
	_ "github.com/tektoncd/cli/cmd/tkn"
	_ "github.com/tektoncd/pipeline/cmd/controller"
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
)
