package e2e

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	buildclient "github.com/openshift/client-go/build/clientset/versioned"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/thoth-station/build-watcher/internal/testenv/modroot"
	"github.com/thoth-station/build-watcher/internal/testenv/registrytest"
)

var (
	workflowsGVR         = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "workflows"}
	workflowTemplatesGVR = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "workflowtemplates"}
)

// argoExecutorRole is the Role of config/200-argo-rbac.yaml that Argo's executor needs of
// the Workflows' service account.
const argoExecutorRole = "thoth-build-analysis-argo-executor"

// argoScenario is a scenario with the WorkflowTemplate of tasks/argo applied (step images
// renamed from ko:// references) and the executor's permissions granted to the service
// account, as config/200-argo-rbac.yaml grants them.
type argoScenario struct {
	*scenario
	workflows dynamic.ResourceInterface
	builds    buildclient.Interface
}

func newArgoScenario(t *testing.T) *argoScenario {
	t.Helper()
	s := &argoScenario{scenario: newScenario(t)}
	if env.Argo == nil {
		t.Fatal("the e2e environment runs no workflow-controller (tektontest.MainOptions.Argo)")
	}
	dyn := dynamic.NewForConfigOrDie(env.CP.Config())
	s.workflows = dyn.Resource(workflowsGVR).Namespace(s.ns)
	s.builds = buildclient.NewForConfigOrDie(env.CP.Config())
	root, err := modroot.Find()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "tasks", "argo", "thoth-build-analysis.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var tmpl unstructured.Unstructured
	if err := yaml.Unmarshal([]byte(strings.ReplaceAll(string(data), koPrefix, imagePrefix)), &tmpl.Object); err != nil {
		t.Fatal(err)
	}
	if _, err := dyn.Resource(workflowTemplatesGVR).Namespace(s.ns).Create(t.Context(), &tmpl, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	s.grantArgoExecutor(t, root)
	t.Cleanup(func() {
		if t.Failed() {
			s.reportWorkflows(t)
		}
	})
	return s
}

// grantArgoExecutor binds the rules of config's executor Role to the service account.
func (s *argoScenario) grantArgoExecutor(t *testing.T, root string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "config", "200-argo-rbac.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var role *rbacv1.Role
	for role == nil {
		var r rbacv1.Role
		if err := dec.Decode(&r); errors.Is(err, io.EOF) {
			t.Fatalf("config/200-argo-rbac.yaml has no Role %s", argoExecutorRole)
		} else if err != nil {
			t.Fatal(err)
		}
		if r.Kind == "Role" && r.Name == argoExecutorRole {
			role = &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: r.Name}, Rules: r.Rules}
		}
	}
	ctx := t.Context()
	if _, err := s.kube.RbacV1().Roles(s.ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role.Name},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: serviceAccount, Namespace: s.ns}},
	}
	if _, err := s.kube.RbacV1().RoleBindings(s.ns).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// submit creates a Workflow from the WorkflowTemplate with the parameters, run by the
// scenario's service account, as `argo submit --from workflowtemplate/thoth-build-analysis
// -p NAME=VALUE... --serviceaccount build-watcher` does, and waits until it has ended.
func (s *argoScenario) submit(t *testing.T, params map[string]string) *unstructured.Unstructured {
	t.Helper()
	var args []any
	for name, value := range params {
		args = append(args, map[string]any{"name": name, "value": value})
	}
	wf := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
		"metadata": map[string]any{"generateName": "thoth-build-analysis-"},
		"spec": map[string]any{
			"workflowTemplateRef": map[string]any{"name": "thoth-build-analysis"},
			"serviceAccountName":  serviceAccount,
			"arguments":           map[string]any{"parameters": args},
		},
	}}
	began := time.Now()
	created, err := s.workflows.Create(t.Context(), wf, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating the Workflow: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), runTimeout)
	defer cancel()
	for {
		got, err := s.workflows.Get(ctx, created.GetName(), metav1.GetOptions{})
		if err != nil {
			t.Fatalf("waiting for Workflow %s/%s: %v", s.ns, created.GetName(), err)
		}
		switch phase := workflowPhase(got); phase {
		case "Succeeded", "Failed", "Error":
			message, _, _ := unstructured.NestedString(got.Object, "status", "message")
			t.Logf("Workflow %s/%s %s in %s %s", s.ns, got.GetName(), phase, time.Since(began).Round(time.Millisecond), message)
			return got
		}
		select {
		case <-ctx.Done():
			t.Fatalf("Workflow %s/%s has not ended after %s", s.ns, created.GetName(), runTimeout)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func workflowPhase(wf *unstructured.Unstructured) string {
	phase, _, _ := unstructured.NestedString(wf.Object, "status", "phase")
	return phase
}

// workflowNodes returns the Workflow's nodes by display name (the root by the Workflow's
// name): phase and output parameters.
func workflowNodes(wf *unstructured.Unstructured) map[string]workflowNode {
	nodes, _, _ := unstructured.NestedMap(wf.Object, "status", "nodes")
	out := map[string]workflowNode{}
	for _, n := range nodes {
		node, ok := n.(map[string]any)
		if !ok {
			continue
		}
		name, _, _ := unstructured.NestedString(node, "displayName")
		wn := workflowNode{outputs: map[string]string{}}
		wn.phase, _, _ = unstructured.NestedString(node, "phase")
		wn.message, _, _ = unstructured.NestedString(node, "message")
		params, _, _ := unstructured.NestedSlice(node, "outputs", "parameters")
		for _, p := range params {
			pm, _ := p.(map[string]any)
			n, _ := pm["name"].(string)
			v, _ := pm["value"].(string)
			wn.outputs[n] = v
		}
		out[name] = wn
	}
	return out
}

type workflowNode struct {
	phase, message string
	outputs        map[string]string
}

// reportWorkflows logs the Workflows' nodes and the controller's last lines.
func (s *argoScenario) reportWorkflows(t *testing.T) {
	list, err := s.workflows.List(context.WithoutCancel(t.Context()), metav1.ListOptions{})
	if err != nil {
		t.Logf("listing Workflows: %v", err)
		return
	}
	for _, wf := range list.Items {
		t.Logf("Workflow %s: %s", wf.GetName(), workflowPhase(&wf))
		for name, n := range workflowNodes(&wf) {
			t.Logf("  node %s: %s %s outputs %v", name, n.phase, n.message, n.outputs)
		}
	}
	t.Logf("workflow-controller's last lines:\n%s", env.Argo.Log(4<<10))
}

// checkSucceeded checks that the Workflow and each named node succeeded and returns the
// nodes.
func checkSucceeded(t *testing.T, wf *unstructured.Unstructured, steps ...string) map[string]workflowNode {
	t.Helper()
	nodes := workflowNodes(wf)
	if phase := workflowPhase(wf); phase != "Succeeded" {
		t.Fatalf("Workflow %s: %s, want Succeeded", wf.GetName(), phase)
	}
	for _, step := range steps {
		if n := nodes[step]; n.phase != "Succeeded" {
			t.Errorf("node %s: %q %s, want Succeeded", step, n.phase, n.message)
		}
	}
	return nodes
}

// TestArgoOpenShiftBuildMirrored runs the WorkflowTemplate under Argo's workflow-controller
// on an OpenShift build with a push registry: collect-build, mirror-image (a copy in the
// push registry, TLS trusted through registry-ca-configmap) and submit-thoth, whose one
// submission names the copy; the Workflow's outputs carry the results and Thoth's ids.
func TestArgoOpenShiftBuildMirrored(t *testing.T) {
	t.Parallel()
	s := newArgoScenario(t)
	src := registrytest.StartDistribution(t, registrytest.DistributionOptions{TLS: true})
	dst := registrytest.StartDistribution(t, registrytest.DistributionOptions{TLS: true})
	s.createCAConfigMap(t, "openshift-service-ca.crt", "service-ca.crt", src, dst)
	b := s.makeS2IBuild(t, "app-7", src)
	wf := s.submit(t, map[string]string{
		"build-ref":             "build/" + s.ns + "/" + b.name,
		"thoth-api-host":        s.thoth.URL(),
		"push-registry":         dst.Host() + "/thoth",
		"registry-ca-configmap": "openshift-service-ca.crt",
	})
	nodes := checkSucceeded(t, wf, "collect-build", "mirror-image", "submit-thoth")
	out := nodes[wf.GetName()].outputs
	if out["output-image"] != b.output || out["base-image"] != s2iBuilder || out["phase"] != "Succeeded" {
		t.Errorf("outputs %v, want output-image %s, base-image %s, phase Succeeded", out, b.output, s2iBuilder)
	}
	mirrored := nodes["mirror-image"].outputs["image"]
	checkMirrored(t, dst, mirrored, b)
	checkAnalysisIDs(t, out)
	s.checkSubmission(t, s2iBuilder, mirrored, s2iLog, map[string]string{"environment_type": "runtime"})
}

// TestArgoTektonBuildNoPushRegistry: a buildah TaskRun, no push registry: mirror-image is
// skipped, and the submission names the image where the build pushed it.
func TestArgoTektonBuildNoPushRegistry(t *testing.T) {
	t.Parallel()
	s := newArgoScenario(t)
	s.makeBuildahTaskRun(t, "buildah-run-1")
	wf := s.submit(t, map[string]string{
		"build-ref":        "taskrun/" + s.ns + "/buildah-run-1",
		"thoth-api-host":   s.thoth.URL(),
		"environment-type": "buildtime",
	})
	nodes := checkSucceeded(t, wf, "collect-build", "submit-thoth")
	if n := nodes["mirror-image"]; n.phase != "Skipped" {
		t.Errorf("node mirror-image: %q %s, want Skipped (no push registry)", n.phase, n.message)
	}
	out := nodes[wf.GetName()].outputs
	if out["output-image"] != buildahOutput || out["base-image"] != buildahBase || out["phase"] != "Succeeded" {
		t.Errorf("outputs %v, want output-image %s, base-image %s, phase Succeeded", out, buildahOutput, buildahBase)
	}
	checkAnalysisIDs(t, out)
	s.checkBuildahSubmission(t)
}

// TestArgoFailedOpenShiftBuild: a failed build is analysed too (base image and log); it has
// no output image, so mirror-image is skipped even with a push registry, and the Workflow
// succeeds with phase Failed among its outputs.
func TestArgoFailedOpenShiftBuild(t *testing.T) {
	t.Parallel()
	s := newArgoScenario(t)
	b := s.makeFailedS2IBuild(t, "app-9")
	wf := s.submit(t, map[string]string{
		"build-ref":      "build/" + s.ns + "/" + b.Name,
		"thoth-api-host": s.thoth.URL(),
		"push-registry":  "127.0.0.1:1/thoth", // never contacted: nothing to mirror
	})
	nodes := checkSucceeded(t, wf, "collect-build", "submit-thoth")
	if n := nodes["mirror-image"]; n.phase != "Skipped" {
		t.Errorf("node mirror-image: %q %s, want Skipped (no output image)", n.phase, n.message)
	}
	out := nodes[wf.GetName()].outputs
	if out["phase"] != "Failed" || out["base-image"] != s2iBuilder || out["output-image"] != "" || !strings.Contains(out["failure-summary"], "No matching distribution") {
		t.Errorf("outputs %v, want phase Failed, base-image %s, no output-image, a failure summary", out, s2iBuilder)
	}
	s.checkFailedSubmission(t)
}
