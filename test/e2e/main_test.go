// Package e2e runs the Tasks and the Pipeline of tasks/ under the real Tekton controller,
// and the WorkflowTemplate of tasks/argo (alone and made by build-watcher --executor argo)
// under Argo's real workflow-controller, with the binaries of cmd/ as their steps
// (internal/testenv/tektontest's pod runner stands in for the kubelet and argoexec), against
// OpenShift and Tekton builds on the test control plane, two registries and the Thoth
// stand-in.
package e2e

import (
	"os"
	"testing"

	"github.com/thoth-station/build-watcher/internal/testenv/tektontest"
)

// env is the package's Tekton environment, started once by TestMain.
var env *tektontest.Env

func TestMain(m *testing.M) {
	os.Exit(tektontest.Main(m, &env, tektontest.MainOptions{Packages: []string{
		"github.com/thoth-station/build-watcher/cmd/collect-build",
		"github.com/thoth-station/build-watcher/cmd/mirror-image",
		"github.com/thoth-station/build-watcher/cmd/submit-thoth",
		// The watcher, run on the host against the control plane (argo_watcher_test.go).
		"github.com/thoth-station/build-watcher/cmd/build-watcher",
		// The steps of the Shipwright-shaped TaskRun of shipwright_test.go.
		"github.com/thoth-station/build-watcher/internal/testenv/tektontest/testdata/stepper",
	}, Argo: true}))
}

// TestEnvironment reports the start-up times and checks that the controllers still run:
// a controller that died makes every other test here wait for nothing.
func TestEnvironment(t *testing.T) {
	env.Require(t)
	t.Logf("tektontest: %s", env.Startup)
	if err := env.Controller.Exited(); err != nil {
		t.Fatalf("the Tekton controller died: %v; its log:\n%s", err, env.Controller.Log(4<<10))
	}
	if err := env.Argo.Exited(); err != nil {
		t.Fatalf("the Argo workflow-controller died: %v; its log:\n%s", err, env.Argo.Log(4<<10))
	}
}
