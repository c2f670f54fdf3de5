//go:build tools

// Package tools pins the Tekton Pipelines controller that `make testenv` builds for the
// end-to-end tests. It is its own module: Tekton's Kubernetes client libraries and the
// control plane's (../go.mod) must not share one build list.
package tools

import (
	_ "github.com/tektoncd/pipeline/cmd/controller"
)
