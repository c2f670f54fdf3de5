package tektontest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/restmapper"

	"github.com/thoth-station/build-watcher/internal/testenv/controlplane"
	"github.com/thoth-station/build-watcher/internal/testenv/testproc"
)

const (
	// ArgoNamespace is where Argo's workflow-controller lives and reads its ConfigMap, as
	// Argo's cluster install puts it.
	ArgoNamespace = "argo"
	// ArgoServiceAccount is the controller's identity, with the RBAC of Argo's cluster
	// install (manifests/cluster-install-no-crds/workflow-controller-rbac).
	ArgoServiceAccount = "argo"
	// ArgoControllerBinary is the name `make testenv` gives Argo's workflow-controller.
	ArgoControllerBinary = "workflow-controller"
	// ArgoExecutorImage is the executor image the controller puts in the pods' init and
	// wait containers; no kubelet pulls it: the pod runner plays argoexec.
	ArgoExecutorImage = "argo-e2e.invalid/argoproj/argoexec:" + controlplane.ArgoVersion
	// argoHealthz is where the controller answers once its informers have synced; it
	// listens on port 6060 of every interface, a port it does not let anyone change.
	argoHealthz = "http://127.0.0.1:6060/healthz"
	// argoConfigMap is the controller's configuration, in ArgoNamespace.
	argoConfigMap = "workflow-controller-configmap"
)

// ArgoController is a running Argo Workflows workflow-controller (cluster-wide) talking to
// the test control plane as its own service account.
type ArgoController struct {
	controllerProcess
	startup time.Duration
}

// StartArgoController installs what Argo's cluster install gives the workflow-controller
// (its namespace, service account, RBAC and ConfigMap, from the Argo module's manifests,
// built with kustomize) and starts the controller built by `make testenv`, with leader
// election off. It returns once the controller answers /healthz. Argo's CRDs must be
// installed (controlplane.ArgoCRDs). Like StartController, it refuses to run outside a
// private network namespace.
func StartArgoController(ctx context.Context, cp *controlplane.ControlPlane) (_ *ArgoController, err error) {
	began := time.Now()
	if err := requirePrivateNetwork(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	binary, err := controlplane.Tool(ctx, ArgoControllerBinary)
	if err != nil {
		return nil, err
	}
	if err := installArgo(ctx, cp); err != nil {
		return nil, err
	}
	saConfig, err := cp.ServiceAccountConfig(ctx, ArgoNamespace, ArgoServiceAccount)
	if err != nil {
		return nil, err
	}
	c := &ArgoController{}
	defer func() {
		if err != nil {
			c.Stop()
		}
	}()
	kubeconfig, err := c.prepare("workflow-controller", saConfig, ArgoNamespace, "Starting Workflow Controller")
	if err != nil {
		return nil, err
	}
	c.proc, err = testproc.Start(testproc.Spec{
		Path: binary,
		Args: []string{"--kubeconfig", kubeconfig, "--executor-image", ArgoExecutorImage, "--loglevel", "info", "--qps", "100", "--burst", "200"},
		Dir:  c.dir,
		// Nothing of the caller's environment (a developer's KUBECONFIG must not leak in).
		// DEFAULT_REQUEUE_TIME: how soon a Workflow is looked at again after a change of
		// its pods (10 s by default); 1 s as Argo's own development setup runs it (its
		// Makefile), so the tests wait for the steps, not for the controller.
		Env: []string{"HOME=" + c.dir, "PATH=/usr/bin:/bin", "LEADER_ELECTION_DISABLE=true", "DEFAULT_REQUEUE_TIME=1s"},
		Log: c.log,
	})
	if err != nil {
		return nil, err
	}
	for {
		if ok, err := argoHealthy(ctx); ok {
			break
		} else if ctx.Err() != nil {
			return nil, fmt.Errorf("waiting for the workflow-controller's /healthz: %w; its log:\n%s", errors.Join(ctx.Err(), err), c.log.tail(4096))
		}
		select {
		case <-c.proc.Done():
			return nil, fmt.Errorf("the workflow-controller exited during start-up: %w; its log:\n%s", c.proc.Exited(), c.log.tail(4096))
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
	c.startup = time.Since(began)
	return c, nil
}

// argoHealthy asks the controller's /healthz.
func argoHealthy(ctx context.Context) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, argoHealthz, nil)
	if err != nil {
		return false, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("/healthz: %s: %s", resp.Status, bytes.TrimSpace(body))
	}
	return true, nil
}

// installArgo applies the namespace, service accounts, RBAC and ConfigMap of Argo's cluster
// install (not its Deployments), server-side.
func installArgo(ctx context.Context, cp *controlplane.ControlPlane) error {
	moduleDir, err := controlplane.ArgoModuleDir(ctx)
	if err != nil {
		return err
	}
	kustomize, err := controlplane.Tool(ctx, "kustomize-build")
	if err != nil {
		return err
	}
	install := filepath.Join(moduleDir, "manifests", "cluster-install-no-crds")
	cmd := exec.CommandContext(ctx, kustomize, install)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("building Argo's install %s: %w: %s", install, err, bytes.TrimSpace(stderr.Bytes()))
	}
	kube, err := kubernetes.NewForConfig(cp.Config())
	if err != nil {
		return err
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ArgoNamespace}}
	if _, err := kube.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", ArgoNamespace, err)
	}
	dyn, err := dynamic.NewForConfig(cp.Config())
	if err != nil {
		return err
	}
	disco, err := discovery.NewDiscoveryClientForConfig(cp.Config())
	if err != nil {
		return err
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disco))
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(out), 4096)
	for {
		var obj unstructured.Unstructured
		if err := dec.Decode(&obj.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("decoding Argo's install: %w", err)
		}
		if obj.Object == nil || !applied(obj.GetKind()) {
			continue
		}
		if obj.GetKind() == "ConfigMap" && obj.GetName() == argoConfigMap {
			// Its metrics server would take port 9090 of every interface, which Tekton's
			// controller holds already: a free port instead.
			ports, err := testproc.FreePorts(1)
			if err != nil {
				return err
			}
			if err := unstructured.SetNestedField(obj.Object, fmt.Sprintf("port: %d\n", ports[0]), "data", "metricsConfig"); err != nil {
				return err
			}
		}
		if err := applyObject(ctx, dyn, mapper, &obj); err != nil {
			return err
		}
	}
}

// StartupTime is how long StartArgoController took, installation included.
func (c *ArgoController) StartupTime() time.Duration { return c.startup }
