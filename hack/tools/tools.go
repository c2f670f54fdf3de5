//go:build tools

// Package tools pins the binaries that `make testenv` builds: the control plane (etcd,
// kube-apiserver), Tekton's controller and tkn, and our argo-lint (Argo's own validation,
// ./argolint), in one module so that one go build compiles each package they share once.
// Argo's workflow-controller v3.7.18 does not build against the Kubernetes 0.37 modules
// here (its API client uses k8s.io/api types as protobuf messages, which they no longer
// are): it needs a module of its own at Argo's Kubernetes versions.
package tools

import (
	_ "github.com/tektoncd/cli/cmd/tkn"
	_ "github.com/tektoncd/pipeline/cmd/controller"
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
)
