package tektontest

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"
)

var argoWorkflows = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "workflows"}

// argoRunnerWorkflow runs three steps at once: outputs (parameters from files, one with a
// trailing newline, one missing with a default), missing (a parameter whose file is missing
// and has no default: argoexec's wait fails) and exit (main exits 3).
const argoRunnerWorkflow = `
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: runner-
spec:
  entrypoint: main
  securityContext: {runAsNonRoot: true, runAsUser: 65532}
  templates:
    - name: main
      steps:
        - - {name: outputs, template: outputs}
          - {name: missing, template: missing}
          - {name: exit, template: exit}
    - name: outputs
      volumes: [{name: out, emptyDir: {}}]
      container:
        image: e2e.invalid/stepper
        command: [/ko-app/stepper]
        args: ["write:/out/a=alpha\n", "write:/out/b=beta", id]
        volumeMounts: [{name: out, mountPath: /out}]
      outputs:
        parameters:
          - {name: a, valueFrom: {path: /out/a}}
          - {name: b, valueFrom: {path: /out/b}}
          - {name: c, valueFrom: {path: /out/c, default: gamma}}
    - name: missing
      volumes: [{name: out, emptyDir: {}}]
      container:
        image: e2e.invalid/stepper
        command: [/ko-app/stepper]
        volumeMounts: [{name: out, mountPath: /out}]
      outputs:
        parameters:
          - {name: none, valueFrom: {path: /out/none}}
    - name: exit
      container:
        image: e2e.invalid/stepper
        command: [/ko-app/stepper]
        args: ["exit:3"]
`

// runWorkflow creates the Workflow run by service account sa and waits until it has
// ended; it returns its nodes by display name: phase, message and output parameters.
func (e *runnerEnv) runWorkflow(t *testing.T, sa string) (string, map[string]map[string]string) {
	t.Helper()
	var wf unstructured.Unstructured
	if err := yaml.Unmarshal([]byte(argoRunnerWorkflow), &wf.Object); err != nil {
		t.Fatal(err)
	}
	if err := unstructured.SetNestedField(wf.Object, sa, "spec", "serviceAccountName"); err != nil {
		t.Fatal(err)
	}
	wfs := dynamic.NewForConfigOrDie(env.CP.Config()).Resource(argoWorkflows).Namespace(e.ns)
	created, err := wfs.Create(t.Context(), &wf, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	for {
		got, err := wfs.Get(ctx, created.GetName(), metav1.GetOptions{})
		if err != nil {
			t.Fatalf("waiting for Workflow %s: %v", created.GetName(), err)
		}
		phase, _, _ := unstructured.NestedString(got.Object, "status", "phase")
		if phase == "Succeeded" || phase == "Failed" || phase == "Error" {
			nodes := map[string]map[string]string{}
			all, _, _ := unstructured.NestedMap(got.Object, "status", "nodes")
			for _, n := range all {
				node, _ := n.(map[string]any)
				name, _, _ := unstructured.NestedString(node, "displayName")
				out := map[string]string{}
				out["phase"], _, _ = unstructured.NestedString(node, "phase")
				out["message"], _, _ = unstructured.NestedString(node, "message")
				params, _, _ := unstructured.NestedSlice(node, "outputs", "parameters")
				for _, p := range params {
					pm, _ := p.(map[string]any)
					k, _ := pm["name"].(string)
					v, _ := pm["value"].(string)
					out["param "+k] = v
				}
				nodes[name] = out
			}
			return created.GetName(), nodes
		}
		select {
		case <-ctx.Done():
			t.Fatalf("Workflow %s has not ended: %v", created.GetName(), ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// serviceAccount makes a service account; with executor, allowed what Argo's executor
// needs (workflowtaskresults create, patch).
func (e *runnerEnv) serviceAccount(t *testing.T, name string, executor bool) {
	t.Helper()
	ctx := t.Context()
	if _, err := e.kube.CoreV1().ServiceAccounts(e.ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if !executor {
		return
	}
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: []rbacv1.PolicyRule{{
		APIGroups: []string{"argoproj.io"}, Resources: []string{"workflowtaskresults"}, Verbs: []string{"create", "patch"},
	}}}
	if _, err := e.kube.RbacV1().Roles(e.ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: name},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: e.ns}},
	}
	if _, err := e.kube.RbacV1().RoleBindings(e.ns).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestRunnerArgo runs a Workflow under Argo's workflow-controller: output parameters reach
// the controller as argoexec reports them (a trailing newline trimmed, a default for a
// missing file), a missing file without a default is the step's Error as a failed
// argoexec wait makes it, and main's exit code fails its step.
func TestRunnerArgo(t *testing.T) {
	t.Parallel()
	e := newRunnerEnv(t)
	e.serviceAccount(t, "executor", true)
	name, nodes := e.runWorkflow(t, "executor")
	if got := nodes[name]["phase"]; got != "Failed" {
		t.Errorf("Workflow %s: %s, want Failed (two of its steps fail)", name, got)
	}
	out := nodes["outputs"]
	if out["phase"] != "Succeeded" || out["param a"] != "alpha" || out["param b"] != "beta" || out["param c"] != "gamma" {
		t.Errorf("step outputs: %v, want Succeeded with a=alpha, b=beta, c=gamma", out)
	}
	// The controller makes a failed wait container an Error, a failed main a Failure.
	if m := nodes["missing"]; m["phase"] != "Error" || !strings.Contains(m["message"], "wait: ") || !strings.Contains(m["message"], "open /out/none") {
		t.Errorf("step missing: %v, want Error, the wait container's, naming /out/none", m)
	}
	if x := nodes["exit"]; x["phase"] != "Failed" || !strings.Contains(x["message"], "exit code 3") {
		t.Errorf("step exit: %v, want Failed with exit code 3", x)
	}
	for _, p := range env.Runner.Pods() {
		if p.Namespace == e.ns && p.Err != nil {
			t.Errorf("the runner failed with pod %s: %v", p.Name, p.Err)
		}
		if p.Namespace == e.ns && p.Workflow != name {
			t.Errorf("pod %s is recorded for Workflow %q, want %s", p.Name, p.Workflow, name)
		}
	}
}

// TestRunnerArgoForbidden: a Workflow whose service account may not write
// WorkflowTaskResults fails its steps with the API server's refusal, as argoexec would
// leave them, and the runner records it.
func TestRunnerArgoForbidden(t *testing.T) {
	t.Parallel()
	e := newRunnerEnv(t)
	e.serviceAccount(t, "nobody", false)
	name, nodes := e.runWorkflow(t, "nobody")
	if got := nodes[name]["phase"]; got != "Failed" {
		t.Errorf("Workflow %s: %s, want Failed", name, got)
	}
	if m := nodes["outputs"]["message"]; !strings.Contains(m, "forbidden") || !strings.Contains(m, "workflowtaskresults") {
		t.Errorf("step outputs: message %q, want the refusal to create workflowtaskresults", m)
	}
	failed := 0
	for _, p := range env.Runner.Pods() {
		if p.Namespace == e.ns && p.Err != nil && strings.Contains(p.Err.Error(), "forbidden") {
			failed++
		}
	}
	if failed != 3 {
		t.Errorf("the runner recorded the refusal for %d pods, want 3", failed)
	}
}
