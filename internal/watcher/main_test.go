package watcher_test

import (
	"context"
	"os"
	"testing"

	"github.com/thoth-station/build-watcher/internal/testenv/controlplane"
)

// cp is the package's control plane: etcd and kube-apiserver with the Tekton and OpenShift
// CRDs (and Argo's, for --executor argo), started once for all tests; each test works in
// namespaces of its own.
var cp *controlplane.ControlPlane

func TestMain(m *testing.M) {
	os.Exit(controlplane.Main(context.Background(), m, &cp, controlplane.ArgoCRDs))
}
