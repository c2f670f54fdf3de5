package controlplane

import (
	"bytes"
	"context"
	"embed"
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

	"github.com/thoth-station/build-watcher/internal/modroot"
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
	dir := filepath.Join(strings.TrimSpace(string(out)), "config", "300-crds")
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
		docs = append(docs, data)
	}
	return docs, nil
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
