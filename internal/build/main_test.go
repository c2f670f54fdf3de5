package build

import (
	"context"
	"os"
	"testing"

	buildclient "github.com/openshift/client-go/build/clientset/versioned"
	imageclient "github.com/openshift/client-go/image/clientset/versioned"
	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/thoth-station/build-watcher/internal/controlplane"
)

// cp is the package's control plane: real etcd and kube-apiserver with the Tekton and
// OpenShift CRDs, started once by TestMain.
var cp *controlplane.ControlPlane

func TestMain(m *testing.M) { os.Exit(controlplane.Main(context.Background(), m, &cp)) }

// testEnv is one test's namespace, log front and clients.
type testEnv struct {
	ns    string
	front *controlplane.LogFront
	// admin talks through the log front as the cluster admin.
	admin Clients
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	ns, err := cp.CreateNamespace(t.Context(), "build")
	if err != nil {
		t.Fatal(err)
	}
	front, err := cp.StartLogFront()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { front.Close() })
	e := &testEnv{ns: ns, front: front}
	e.admin = e.clientsAs(t, cp.Config())
	return e
}

// clientsAs returns clients that act as cfg's identity, through the log front.
func (e *testEnv) clientsAs(t *testing.T, cfg *rest.Config) Clients {
	t.Helper()
	cfg = e.front.Config(cfg)
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	bc, err := buildclient.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ic, err := imageclient.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tc, err := tektonclient.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return Clients{Kube: kube, Build: bc, Image: ic, Tekton: tc}
}
