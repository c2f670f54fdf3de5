package tektonyaml

import (
	"strings"
	"testing"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"

	"github.com/thoth-station/build-watcher/internal/testenv/modroot"
)

// shipped loads every document we ship, failing the test on any decoding error.
func shipped(t *testing.T) (string, []*Document) {
	t.Helper()
	root, err := modroot.Find()
	if err != nil {
		t.Fatal(err)
	}
	docs, err := LoadTree(root, Dirs...)
	if err != nil {
		t.Fatalf("loading the shipped YAML:\n%v", err)
	}
	return root, docs
}

// find returns the shipped document of that kind and name under the directory prefix.
func find(t *testing.T, docs []*Document, prefix, kind, name string) *Document {
	t.Helper()
	for _, d := range docs {
		if strings.HasPrefix(d.Path, prefix) && d.GVK.Kind == kind && d.Name() == name {
			return d
		}
	}
	t.Fatalf("no %s %s under %s", kind, name, prefix)
	return nil
}

// TestShippedYAMLIsValidTekton decodes every document of tasks/, catalog/ and examples/
// strictly and runs Tekton's SetDefaults and Validate on it, with the default feature flags.
func TestShippedYAMLIsValidTekton(t *testing.T) {
	_, docs := shipped(t)
	for _, want := range []struct{ path, kind, name string }{
		{"tasks/task/collect-build/collect-build.yaml", "Task", "collect-build"},
		{"tasks/task/mirror-image/mirror-image.yaml", "Task", "mirror-image"},
		{"tasks/task/submit-thoth/submit-thoth.yaml", "Task", "submit-thoth"},
		{"tasks/task/thoth-build-analysis/thoth-build-analysis.yaml", "Task", "thoth-build-analysis"},
		{"tasks/pipeline/thoth-build-analysis/thoth-build-analysis.yaml", "Pipeline", "thoth-build-analysis"},
	} {
		find(t, docs, want.path, want.kind, want.name)
	}
	ctx := WithDefaultConfig(t.Context())
	for _, d := range docs {
		t.Run(d.Path+"#"+d.Name(), func(t *testing.T) {
			if err := Validate(ctx, d); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestDecode(t *testing.T) {
	const task = `apiVersion: tekton.dev/v1
kind: Task
metadata:
  name: t
spec:
  steps:
    - name: s
      image: registry.example/x:1
`
	for _, tc := range []struct {
		name, yaml string
		docs       int
		wantErr    string
	}{
		{name: "task", yaml: task, docs: 1},
		{name: "comments and separators are no documents", yaml: "# head\n---\n" + task + "---\n# tail\n", docs: 1},
		{name: "two documents", yaml: task + "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n", docs: 2},
		{name: "unknown field", yaml: strings.Replace(task, "  steps:", "  stepz: []\n  steps:", 1), wantErr: `unknown field "spec.stepz"`},
		{name: "unknown field in a step", yaml: task + "      scripts: echo\n", wantErr: `unknown field "spec.steps[0].scripts"`},
		{name: "duplicate field", yaml: task + "      image: registry.example/y:1\n", wantErr: `"image" already set`},
		{name: "v1beta1", yaml: strings.Replace(task, "tekton.dev/v1", "tekton.dev/v1beta1", 1), wantErr: "ship tekton.dev/v1 only"},
		{name: "unknown kind", yaml: strings.Replace(task, "kind: Task", "kind: Tusk", 1), wantErr: "unknown kind tekton.dev/v1 Tusk"},
		{name: "not an object", yaml: "foo: bar\n", wantErr: "no apiVersion or kind"},
		{name: "no name", yaml: strings.Replace(task, "  name: t\n", "  labels: {}\n", 1), wantErr: "metadata.name is empty"},
		{name: "bad YAML", yaml: "apiVersion: v1\nkind: [\n", wantErr: "x.yaml (document 1)"},
		{name: "second document named in the error", yaml: task + "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\nnope: 1\n", wantErr: "x.yaml (document 2)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			docs, err := Decode("x.yaml", []byte(tc.yaml))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				if !strings.Contains(err.Error(), "x.yaml") {
					t.Errorf("error %q does not name the file", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(docs) != tc.docs {
				t.Fatalf("%d documents, want %d", len(docs), tc.docs)
			}
		})
	}
}

func TestIsArtifactHubMetadata(t *testing.T) {
	for name, want := range map[string]bool{
		"catalog/task/artifacthub-repo.yml":         true,
		"catalog/task/x/artifacthub-pkg.yml":        true,
		"catalog/task/x/artifacthub-pkg.yaml":       true,
		"catalog/task/x/x.yaml":                     false,
		"catalog/task/x/not-artifacthub-repo.yml":   false,
		"catalog/task/x/artifacthub-repo.yml.orig":  false,
		"catalog/task/x/samples/artifacthub-x.json": false,
	} {
		if got := IsArtifactHubMetadata(name); got != want {
			t.Errorf("IsArtifactHubMetadata(%q) = %v, want %v", name, got, want)
		}
	}
}

// TestValidateRejects shows that Validate runs Tekton's validation: doctored copies of the
// shipped Task and Pipeline fail it, naming the field.
func TestValidateRejects(t *testing.T) {
	_, docs := shipped(t)
	ctx := WithDefaultConfig(t.Context())
	task := find(t, docs, "tasks/task/collect-build/", "Task", "collect-build")
	pipeline := find(t, docs, "tasks/pipeline/thoth-build-analysis/", "Pipeline", "thoth-build-analysis")
	for _, tc := range []struct {
		name   string
		doc    *Document
		doctor func(obj any)
		want   string
	}{
		{"unknown param in a step", task, func(o any) {
			s := &o.(*v1.Task).Spec.Steps[0]
			s.Env[0].Value = "$(params.no-such-param)"
		}, "no-such-param"},
		{"step without image", task, func(o any) {
			o.(*v1.Task).Spec.Steps[0].Image = ""
		}, "spec.steps[0].Image"},
		{"duplicate param", task, func(o any) {
			s := &o.(*v1.Task).Spec
			s.Params = append(s.Params, s.Params[0])
		}, "params"},
		{"pipeline task refers to an unknown task", pipeline, func(o any) {
			p := &o.(*v1.Pipeline).Spec
			p.Results[0].Value = *v1.NewStructuredValues("$(tasks.no-such-task.results.phase)")
		}, "referencing a nonexistent task: spec.results[0].value"},
		{"pipeline task binds an undeclared workspace", pipeline, func(o any) {
			p := &o.(*v1.Pipeline).Spec
			p.Tasks[0].Workspaces[0].Workspace = "no-such-workspace"
		}, "no-such-workspace"},
		{"when expression without values", pipeline, func(o any) {
			p := &o.(*v1.Pipeline).Spec
			p.Tasks[1].When[0].Values = nil
		}, "when"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := Validate(ctx, tc.doc); err != nil {
				t.Fatalf("the undoctored document fails: %v", err)
			}
			bad := *tc.doc
			bad.Object = tc.doc.Object.DeepCopyObject()
			tc.doctor(bad.Object)
			err := Validate(ctx, &bad)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.doc.Path) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}
