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

	"github.com/thoth-station/build-watcher/internal/testenv/controlplane"
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
	// typed are typed clients as the cluster admin, for making fixtures.
	typed typedClients
}

// typedClients are the generated clientsets, which tests use to make fixtures as the
// controllers would.
type typedClients struct {
	Kube   kubernetes.Interface
	Build  buildclient.Interface
	Image  imageclient.Interface
	Tekton tektonclient.Interface
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	ns, front := cp.NamespaceWithFront(t, "build")
	e := &testEnv{ns: ns, front: front}
	e.admin = e.clientsAs(t, cp.Config())
	cfg := front.Config(cp.Config())
	var err error
	if e.typed.Kube, err = kubernetes.NewForConfig(cfg); err != nil {
		t.Fatal(err)
	}
	if e.typed.Build, err = buildclient.NewForConfig(cfg); err != nil {
		t.Fatal(err)
	}
	if e.typed.Image, err = imageclient.NewForConfig(cfg); err != nil {
		t.Fatal(err)
	}
	if e.typed.Tekton, err = tektonclient.NewForConfig(cfg); err != nil {
		t.Fatal(err)
	}
	return e
}

// clientsAs returns clients that act as cfg's identity, through the log front.
func (e *testEnv) clientsAs(t *testing.T, cfg *rest.Config) Clients {
	t.Helper()
	c, err := NewClients(e.front.Config(cfg))
	if err != nil {
		t.Fatal(err)
	}
	return c
}
