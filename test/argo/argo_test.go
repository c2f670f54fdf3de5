// Package argo checks the Argo Workflows templates of tasks/argo with Argo's own validation
// (argo-lint, built by make testenv from the Argo version pinned in hack/tools): the templates, the
// Workflows made from them, and that the validation rejects what it must.
package argo

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/thoth-station/build-watcher/internal/testenv/controlplane"
	"github.com/thoth-station/build-watcher/internal/testenv/modroot"
)

const (
	namespaced = "tasks/argo/thoth-build-analysis.yaml"
	cluster    = "tasks/argo/thoth-build-analysis-cluster.yaml"
)

// lint runs argo-lint on the files; it returns its output and whether it passed.
func lint(t *testing.T, args ...string) (string, bool) {
	t.Helper()
	argoLint, err := controlplane.Tool(t.Context(), "argo-lint")
	if err != nil {
		t.Fatal(err)
	}
	root, err := modroot.Find()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), argoLint, args...)
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	if _, failed := err.(*exec.ExitError); err != nil && !failed {
		t.Fatalf("running argo-lint: %v", err)
	}
	return out.String(), err == nil
}

func TestTemplatesValidate(t *testing.T) {
	t.Parallel()
	out, ok := lint(t, namespaced, cluster)
	if !ok {
		t.Fatalf("Argo's validation refuses tasks/argo:\n%s", out)
	}
	if !strings.Contains(out, "2 objects valid") {
		t.Fatalf("argo-lint validated something else than the two templates: %s", out)
	}
}

// TestClusterTemplateIsTheSame: the ClusterWorkflowTemplate is the WorkflowTemplate, kind
// aside: one is not fixed without the other.
func TestClusterTemplateIsTheSame(t *testing.T) {
	t.Parallel()
	var objs [2]map[string]any
	for i, f := range []string{namespaced, cluster} {
		if err := yaml.Unmarshal(read(t, f), &objs[i]); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	if objs[0]["kind"] != "WorkflowTemplate" || objs[1]["kind"] != "ClusterWorkflowTemplate" {
		t.Fatalf("kinds %v and %v, want WorkflowTemplate and ClusterWorkflowTemplate", objs[0]["kind"], objs[1]["kind"])
	}
	for _, field := range []string{"metadata", "spec"} {
		if !reflect.DeepEqual(objs[0][field], objs[1][field]) {
			t.Errorf("%s and %s differ in %s: keep them equal", namespaced, cluster, field)
		}
	}
}

// workflow is a Workflow as build-watcher --executor argo makes one, from the template of
// the given scope, with the given arguments.
func workflow(clusterScope bool, args map[string]string) string {
	var b strings.Builder
	b.WriteString("apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata:\n  name: thoth-build-analysis-0123456789ab\nspec:\n  workflowTemplateRef:\n    name: thoth-build-analysis\n")
	if clusterScope {
		b.WriteString("    clusterScope: true\n")
	}
	b.WriteString("  arguments:\n    parameters:\n")
	for _, k := range []string{"build-ref", "thoth-api-host", "push-registry", "dst-registry-auth-secret"} {
		if v, ok := args[k]; ok {
			b.WriteString("      - name: " + k + "\n        value: " + v + "\n")
		}
	}
	return b.String()
}

func TestWorkflowsFromTheTemplates(t *testing.T) {
	t.Parallel()
	full := map[string]string{"build-ref": "build/team-a/app-7", "thoth-api-host": "thoth.example.com", "push-registry": "quay.io/team-a", "dst-registry-auth-secret": "registry-credentials"}
	for _, tt := range []struct {
		name         string
		clusterScope bool
		args         map[string]string
		wantErr      string
	}{
		{name: "namespaced", args: full},
		{name: "cluster", clusterScope: true, args: full},
		{name: "required only", args: map[string]string{"build-ref": "build/team-a/app-7", "thoth-api-host": "thoth.example.com"}},
		{name: "no build-ref", args: map[string]string{"thoth-api-host": "thoth.example.com"}, wantErr: "build-ref"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			wf := filepath.Join(t.TempDir(), "workflow.yaml")
			write(t, wf, workflow(tt.clusterScope, tt.args))
			out, ok := lint(t, "--submit", namespaced, cluster, wf)
			switch {
			case tt.wantErr == "" && !ok:
				t.Fatalf("Argo refuses the Workflow:\n%s", out)
			case tt.wantErr != "" && ok:
				t.Fatalf("Argo accepts the Workflow; want an error about %s:\n%s", tt.wantErr, out)
			case tt.wantErr != "" && !strings.Contains(out, tt.wantErr):
				t.Fatalf("Argo refuses the Workflow, but not for %s:\n%s", tt.wantErr, out)
			}
		})
	}
}

// TestValidationRejects breaks the template on purpose: Argo's validation must refuse each
// broken copy, naming the problem, or the passing test above proves nothing.
func TestValidationRejects(t *testing.T) {
	t.Parallel()
	src := string(read(t, namespaced))
	for _, tt := range []struct {
		name, old, new, want string
	}{
		{"unknown field", "  entrypoint: analyse\n", "  entrypoint: analyse\n  entrypointt: analyse\n", "entrypointt"},
		{"unknown output", "{{tasks.collect-build.outputs.parameters.base-image}}", "{{tasks.collect-build.outputs.parameters.no-such-output}}", "no-such-output"},
		{"unknown input", `"{{inputs.parameters.build-ref}}"`, `"{{inputs.parameters.build-reff}}"`, "build-reff"},
		{"unknown task in depends", "depends: collect-build\n", "depends: collect-buil\n", "collect-buil"},
		{"unknown template", "template: submit-thoth\n", "template: submit-thot\n", "submit-thot"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if strings.Count(src, tt.old) == 0 {
				t.Fatalf("%s no longer holds %q: update the test", namespaced, tt.old)
			}
			broken := filepath.Join(t.TempDir(), "broken.yaml")
			write(t, broken, strings.Replace(src, tt.old, tt.new, 1))
			out, ok := lint(t, broken)
			if ok {
				t.Fatalf("Argo's validation accepts the template with %s", tt.name)
			}
			if !strings.Contains(out, tt.want) {
				t.Fatalf("Argo's validation refuses the template with %s, but does not name %q:\n%s", tt.name, tt.want, out)
			}
		})
	}
}

func read(t *testing.T, rel string) []byte {
	t.Helper()
	root, err := modroot.Find()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestArgoEventsExample: the EventBus, EventSource and Sensor of examples/argo-events pass
// Argo Events' own validation, the Workflow the Sensor creates passes Argo's against the
// template, the Sensor listens to the event the EventSource makes, and the RBAC decodes.
func TestArgoEventsExample(t *testing.T) {
	t.Parallel()
	files := []string{namespaced, cluster, "examples/argo-events/eventbus.yaml", "examples/argo-events/eventsource.yaml", "examples/argo-events/sensor.yaml"}
	out, ok := lint(t, files...)
	if !ok {
		t.Fatalf("Argo refuses examples/argo-events:\n%s", out)
	}
	if !strings.Contains(out, "5 objects valid") {
		t.Fatalf("argo-lint: %s", out)
	}
	var es struct {
		Metadata struct{ Name string }
		Spec     struct {
			Resource map[string]any `json:"resource"`
		}
	}
	var sensor struct {
		Spec struct {
			Dependencies []struct {
				EventSourceName string `json:"eventSourceName"`
				EventName       string `json:"eventName"`
			}
		}
	}
	if err := yaml.Unmarshal(read(t, "examples/argo-events/eventsource.yaml"), &es); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(read(t, "examples/argo-events/sensor.yaml"), &sensor); err != nil {
		t.Fatal(err)
	}
	for _, d := range sensor.Spec.Dependencies {
		if _, ok := es.Spec.Resource[d.EventName]; d.EventSourceName != es.Metadata.Name || !ok {
			t.Errorf("the Sensor waits for %s/%s, which the EventSource %s does not make", d.EventSourceName, d.EventName, es.Metadata.Name)
		}
	}
	for _, doc := range strings.Split(string(read(t, "examples/argo-events/rbac.yaml")), "\n---\n") {
		var obj map[string]any
		if err := yaml.UnmarshalStrict([]byte(doc), &obj); err != nil || obj["kind"] == nil {
			t.Errorf("examples/argo-events/rbac.yaml: a document that is no object (%v):\n%s", err, doc)
		}
	}

	// The same validation refuses a Sensor without its EventBus and one whose Workflow
	// names a template that does not exist.
	if out, ok := lint(t, namespaced, "examples/argo-events/sensor.yaml"); ok || !strings.Contains(out, `EventBus "default"`) {
		t.Errorf("a Sensor without its EventBus passed, or the error does not name it:\n%s", out)
	}
	broken := filepath.Join(t.TempDir(), "sensor.yaml")
	write(t, broken, strings.Replace(string(read(t, "examples/argo-events/sensor.yaml")), "name: thoth-build-analysis\n                arguments", "name: no-such-template\n                arguments", 1))
	if out, ok := lint(t, namespaced, "examples/argo-events/eventbus.yaml", broken); ok || !strings.Contains(out, "no-such-template") {
		t.Errorf("a Sensor whose Workflow names a missing template passed, or the error does not name it:\n%s", out)
	}
}
