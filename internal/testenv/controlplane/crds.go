package controlplane

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"

	"github.com/thoth-station/build-watcher/internal/testenv/modroot"
)

// TektonModule is the module whose own CRDs are installed, at the version go.mod requires.
const TektonModule = "github.com/tektoncd/pipeline"

//go:embed crds/*.yaml
var openShiftCRDs embed.FS

var crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// OpenShiftCRDs returns our schema-preserving CRDs for build.openshift.io/v1 Build and
// BuildConfig and image.openshift.io/v1 ImageStream.
func OpenShiftCRDs() ([][]byte, error) {
	entries, err := openShiftCRDs.ReadDir("crds")
	if err != nil {
		return nil, err
	}
	var docs [][]byte
	for _, e := range entries {
		data, err := openShiftCRDs.ReadFile("crds/" + e.Name())
		if err != nil {
			return nil, err
		}
		docs = append(docs, data)
	}
	return docs, nil
}

// TektonCRDs returns Tekton Pipelines' CRDs (config/300-crds) from the module version in
// go.mod, read from the module cache: never copies that we could edit.
func TektonCRDs(ctx context.Context) ([][]byte, error) {
	root, err := modroot.Find()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", TektonModule)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("locating %s in the module cache (go mod download): %w", TektonModule, err)
	}
	return readCRDs(filepath.Join(strings.TrimSpace(string(out)), "config", "300-crds"), nil)
}

// readCRDs reads every *.yaml file of dir, in name order, each changed by edit when it is
// not nil; a directory without one is an error.
func readCRDs(dir string, edit func([]byte) ([]byte, error)) ([][]byte, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no CRDs in %s", dir)
	}
	sort.Strings(files)
	var docs [][]byte
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if edit != nil {
			if data, err = edit(data); err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
		}
		docs = append(docs, data)
	}
	return docs, nil
}

// ShipwrightModule and ShipwrightVersion are the module whose own CRDs are installed for
// Shipwright BuildRuns. The module is not a dependency of ours (collecting mirrors the few
// fields it reads), so its version is named here and fetched with go mod download.
const (
	ShipwrightModule  = "github.com/shipwright-io/build"
	ShipwrightVersion = "v0.17.0"
)

// ShipwrightCRDs returns Shipwright's CRDs (deploy/crds: Build, BuildRun, BuildStrategy,
// ClusterBuildStrategy) from the module cache, downloading the module when it is not there.
// They are changed in two ways, for an API server without Shipwright's webhook: only the
// v1beta1 version is kept (v1alpha1 is dropped), and spec.conversion is strategy None.
func ShipwrightCRDs(ctx context.Context) ([][]byte, error) {
	dir, err := downloadModule(ctx, ShipwrightModule, ShipwrightVersion)
	if err != nil {
		return nil, err
	}
	return readCRDs(filepath.Join(dir, "deploy", "crds"), v1beta1Only)
}

// ArgoModule and ArgoVersion are Argo Workflows, whose own CRDs are installed for the
// Workflows of build-watcher --executor argo: the version hack/tools pins for argo-lint
// (TestArgoVersion keeps them equal). Not a dependency of
// the main module (the watcher reaches Workflows with the dynamic client).
const (
	ArgoModule  = "github.com/argoproj/argo-workflows/v3"
	ArgoVersion = "v3.7.18"
)

// ArgoModuleDir is the directory of ArgoModule@ArgoVersion in the module cache (downloaded
// when it is not there): its manifests install the workflow-controller in tests.
func ArgoModuleDir(ctx context.Context) (string, error) {
	return downloadModule(ctx, ArgoModule, ArgoVersion)
}

// ArgoCRDs returns Argo Workflows' CRDs as Argo's own install (manifests/cluster-install,
// the release's install.yaml) ships them: the minimal ones (manifests/base/crds/minimal,
// schemas that keep unknown fields), from the module cache, downloading the module when it
// is not there. The full ones (crds/full) are optional in Argo, need server-side apply, and
// cost the API server about 20 s of start-up here; the Workflows we create are checked
// with Argo's own validation (argo-lint) instead, as the workflow-controller checks them.
func ArgoCRDs(ctx context.Context) ([][]byte, error) {
	dir, err := ArgoModuleDir(ctx)
	if err != nil {
		return nil, err
	}
	docs, err := readCRDs(filepath.Join(dir, "manifests", "base", "crds", "minimal"), nil)
	if err != nil {
		return nil, fmt.Errorf("the CRDs of %s@%s: %w", ArgoModule, ArgoVersion, err)
	}
	return docs, nil
}

// PrometheusOperatorModule and PrometheusOperatorVersion are the module whose own CRDs of
// ServiceMonitor and PrometheusRule check config/monitoring. Not a dependency of ours: its
// version is named here and fetched with go mod download.
const (
	PrometheusOperatorModule  = "github.com/prometheus-operator/prometheus-operator"
	PrometheusOperatorVersion = "v0.94.0"
)

// PrometheusOperatorCRDs returns the Prometheus Operator's CRDs of monitoring.coreos.com/v1
// ServiceMonitor and PrometheusRule (example/prometheus-operator-crd), unchanged, from the
// module cache, downloading the module when it is not there.
func PrometheusOperatorCRDs(ctx context.Context) ([][]byte, error) {
	dir, err := downloadModule(ctx, PrometheusOperatorModule, PrometheusOperatorVersion)
	if err != nil {
		return nil, err
	}
	var docs [][]byte
	for _, resource := range []string{"servicemonitors", "prometheusrules"} {
		f := filepath.Join(dir, "example", "prometheus-operator-crd", "monitoring.coreos.com_"+resource+".yaml")
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("reading the %s CRD of %s@%s: %w", resource, PrometheusOperatorModule, PrometheusOperatorVersion, err)
		}
		docs = append(docs, data)
	}
	return docs, nil
}

// DownloadCRDModules puts the modules whose CRDs and manifests the tests install but go.mod
// does not require (Shipwright's, Argo's) into the module cache, checksums verified. Test
// binaries that go on in a network namespace of their own call it first: there, go mod
// download can reach neither the module proxy nor the checksum database, which a module
// absent from go.sum needs even when the module cache holds it.
func DownloadCRDModules(ctx context.Context) error {
	for _, m := range []struct{ module, version string }{
		{ShipwrightModule, ShipwrightVersion},
		{ArgoModule, ArgoVersion},
	} {
		if _, err := downloadModule(ctx, m.module, m.version); err != nil {
			return err
		}
	}
	return nil
}

// downloadModule puts a module that go.mod does not require into the module cache (go mod
// download) and returns its directory there.
func downloadModule(ctx context.Context, module, version string) (string, error) {
	root, err := modroot.Find()
	if err != nil {
		return "", err
	}
	mod := module + "@" + version
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", mod)
	cmd.Dir = root
	out, err := cmd.Output()
	var info struct{ Dir, Error string }
	if jsonErr := json.Unmarshal(out, &info); jsonErr == nil && info.Error != "" {
		err = errors.New(info.Error)
	}
	if err != nil || info.Dir == "" {
		return "", fmt.Errorf("downloading %s into the module cache (go mod download %s; it needs the module proxy): %w", mod, mod, errors.Join(err, exitStderr(err)))
	}
	return info.Dir, nil
}

// v1beta1Only rewrites one Shipwright CRD for an API server without Shipwright's conversion
// webhook: only its v1beta1 version, and no conversion.
func v1beta1Only(data []byte) ([]byte, error) {
	var crd unstructured.Unstructured
	if err := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096).Decode(&crd.Object); err != nil {
		return nil, fmt.Errorf("decoding the CRD: %w", err)
	}
	versions, _, err := unstructured.NestedSlice(crd.Object, "spec", "versions")
	if err != nil {
		return nil, fmt.Errorf("reading the CRD's versions: %w", err)
	}
	var kept []any
	for _, v := range versions {
		if m, ok := v.(map[string]any); ok && m["name"] == "v1beta1" {
			kept = append(kept, v)
		}
	}
	if len(kept) == 0 {
		return nil, fmt.Errorf("CRD %s has no v1beta1 version", crd.GetName())
	}
	if err := unstructured.SetNestedSlice(crd.Object, kept, "spec", "versions"); err != nil {
		return nil, err
	}
	if err := unstructured.SetNestedField(crd.Object, map[string]any{"strategy": "None"}, "spec", "conversion"); err != nil {
		return nil, err
	}
	return json.Marshal(crd.Object)
}

// exitStderr is what a failed go command said on stderr, nil for other errors.
func exitStderr(err error) error {
	var exit *exec.ExitError
	if errors.As(err, &exit) && len(exit.Stderr) > 0 {
		return errors.New(strings.TrimSpace(string(exit.Stderr)))
	}
	return nil
}

// InstallCRDs creates (or replaces) every CustomResourceDefinition in the YAML documents
// and waits until each is established.
func (cp *ControlPlane) InstallCRDs(ctx context.Context, docs ...[]byte) error {
	client, err := dynamic.NewForConfig(cp.admin)
	if err != nil {
		return err
	}
	var names []string
	for _, doc := range docs {
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(doc), 4096)
		for {
			var obj unstructured.Unstructured
			if err := dec.Decode(&obj.Object); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				return fmt.Errorf("decoding a CRD: %w", err)
			}
			if obj.Object == nil || obj.GetKind() != "CustomResourceDefinition" {
				continue
			}
			if err := apply(ctx, client, &obj); err != nil {
				return err
			}
			names = append(names, obj.GetName())
		}
	}
	for _, name := range names {
		if err := waitEstablished(ctx, client, name); err != nil {
			return err
		}
	}
	return nil
}

func apply(ctx context.Context, client dynamic.Interface, obj *unstructured.Unstructured) error {
	crds := client.Resource(crdResource)
	_, err := crds.Create(ctx, obj, metav1.CreateOptions{FieldManager: "build-watcher-tests"})
	if apierrors.IsAlreadyExists(err) {
		current, getErr := crds.Get(ctx, obj.GetName(), metav1.GetOptions{})
		if getErr != nil {
			return getErr
		}
		obj.SetResourceVersion(current.GetResourceVersion())
		_, err = crds.Update(ctx, obj, metav1.UpdateOptions{FieldManager: "build-watcher-tests"})
	}
	if err != nil {
		return fmt.Errorf("installing CRD %s: %w", obj.GetName(), err)
	}
	return nil
}

func waitEstablished(ctx context.Context, client dynamic.Interface, name string) error {
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		crd, err := client.Resource(crdResource).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
		for _, c := range conds {
			m, _ := c.(map[string]any)
			if m["type"] == "Established" && m["status"] == "True" {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for CRD %s to be established: %w", name, err)
	}
	return nil
}
