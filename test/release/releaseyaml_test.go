package release

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"

	"github.com/thoth-station/build-watcher/internal/testenv/controlplane"
)

// releaseNamespace is where release.yaml puts the watcher and the Tasks its runs use.
const releaseNamespace = "build-watcher"

// decodeObjects reads every object of a multi-document YAML file.
func decodeObjects(t *testing.T, data []byte) []*unstructured.Unstructured {
	t.Helper()
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var objs []*unstructured.Unstructured
	for {
		var u unstructured.Unstructured
		err := dec.Decode(&u.Object)
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			t.Fatalf("release.yaml: document %d: %v", len(objs)+1, err)
		}
		if len(u.Object) == 0 {
			continue // a document of comments only
		}
		objs = append(objs, &u)
	}
}

// checkReleaseYAML checks what `kubectl apply -f release.yaml` installs: every object of
// config/ and every Task and Pipeline of the catalog, each labelled with the version, the
// namespaced ones in build-watcher, every image pinned in the release's registry (added to
// images and steps, as the catalog's are); then it applies the file server-side to a real
// API server with Tekton's CRDs and checks the runs' ServiceAccount may read builds'
// pods and logs in every namespace.
func checkReleaseYAML(t *testing.T, root string, data []byte, imageRE *regexp.Regexp, images map[string]string, steps map[string][]string) {
	objs := decodeObjects(t, data)
	var want []string // kind/name, in the order release.yaml must hold them
	for _, f := range kustomizationResources(t, root) {
		for _, o := range decodeObjects(t, readFile(t, filepath.Join(root, "config", f))) {
			want = append(want, o.GetKind()+"/"+o.GetName())
		}
	}
	for _, r := range sourceResources(t, root) {
		kind, name, _ := strings.Cut(r, "/")
		want = append(want, map[string]string{"task": "Task", "pipeline": "Pipeline"}[kind]+"/"+name)
	}
	var got []string
	for _, o := range objs {
		got = append(got, o.GetKind()+"/"+o.GetName())
	}
	if !slices.Equal(got, want) {
		t.Errorf("release.yaml holds\n  %v\nwant config/ (kustomization.yaml's order), then the catalog:\n  %v", got, want)
	}
	for _, o := range objs {
		id := o.GetKind() + "/" + o.GetName()
		if v := o.GetLabels()["app.kubernetes.io/version"]; v != testVersion {
			t.Errorf("release.yaml: %s has label app.kubernetes.io/version %q, want %q", id, v, testVersion)
		}
		if o.GetKind() == "Task" || o.GetKind() == "Pipeline" {
			if ns := o.GetNamespace(); ns != releaseNamespace {
				t.Errorf("release.yaml: %s is in namespace %q, want %q (where the watcher's runs go)", id, ns, releaseNamespace)
			}
		}
		for _, c := range containers(o.Object) {
			m := imageRE.FindStringSubmatch(c.image)
			if m == nil {
				t.Errorf("release.yaml: %s: image %q is not pinned in the release's registry", id, c.image)
				continue
			}
			if prev, ok := images[m[1]]; ok && prev != c.image {
				t.Errorf("release.yaml: %s: %s is %s here and %s in the catalog", id, m[1], c.image, prev)
			}
			images[m[1]] = c.image
			if o.GetKind() == "Deployment" {
				steps[m[1]] = append(steps[m[1]], "release.yaml "+id)
			}
		}
	}
	if t.Failed() {
		return
	}
	applyRelease(t, objs)
}

// kustomizationResources lists config/kustomization.yaml's resources.
func kustomizationResources(t *testing.T, root string) []string {
	t.Helper()
	var k struct {
		Resources []string `json:"resources"`
	}
	if err := yaml.Unmarshal(readFile(t, filepath.Join(root, "config", "kustomization.yaml")), &k); err != nil {
		t.Fatalf("config/kustomization.yaml: %v", err)
	}
	return k.Resources
}

// applyRelease applies objs server-side, in order, to a control plane of its own with
// Tekton's CRDs, as kubectl apply --server-side would.
func applyRelease(t *testing.T, objs []*unstructured.Unstructured) {
	ctx := t.Context()
	cp, err := controlplane.Start(ctx, controlplane.Options{StartTimeout: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cp.Stop)
	crds, err := controlplane.TektonCRDs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := cp.InstallCRDs(ctx, crds...); err != nil {
		t.Fatal(err)
	}
	cfg := cp.Config()
	dyn := dynamic.NewForConfigOrDie(cfg)
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(discovery.NewDiscoveryClientForConfigOrDie(cfg)))
	for _, o := range objs {
		id := o.GetKind() + "/" + o.GetName()
		gvk := o.GroupVersionKind()
		mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			t.Fatalf("release.yaml: %s: the API server does not serve %s: %v", id, gvk, err)
		}
		var client dynamic.ResourceInterface = dyn.Resource(mapping.Resource)
		if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
			if o.GetNamespace() == "" {
				t.Errorf("release.yaml: %s is namespaced but names no namespace: kubectl would put it in the user's current one", id)
				continue
			}
			client = dyn.Resource(mapping.Resource).Namespace(o.GetNamespace())
		}
		if _, err := client.Apply(ctx, o.GetName(), o, metav1.ApplyOptions{FieldManager: "kubectl", Force: true}); err != nil {
			t.Errorf("release.yaml: applying %s: %v", id, err)
		}
	}
	if t.Failed() {
		return
	}
	// The runs read what collect-build reads, in any namespace.
	kube := kubernetes.NewForConfigOrDie(cfg)
	for _, attr := range []authorizationv1.ResourceAttributes{
		{Namespace: "team-a", Verb: "get", Group: "build.openshift.io", Resource: "builds", Subresource: "log"},
		{Namespace: "team-b", Verb: "get", Group: "tekton.dev", Resource: "taskruns"},
		{Namespace: "team-b", Verb: "get", Resource: "pods", Subresource: "log"},
	} {
		review, err := kube.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User: "system:serviceaccount:" + releaseNamespace + ":thoth-build-analysis", ResourceAttributes: &attr,
		}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !review.Status.Allowed {
			t.Errorf("release.yaml: the runs' ServiceAccount may not %s %s/%s in %s: %s", attr.Verb, attr.Resource, attr.Subresource, attr.Namespace, review.Status.Reason)
		}
	}
}
