package watcher

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/thoth-station/build-watcher/internal/build"
	"github.com/thoth-station/build-watcher/internal/testenv/modroot"
	"github.com/thoth-station/build-watcher/internal/testenv/tektonyaml"
)

// TestPipelineRunMatchesTasks: the PipelineRuns the watcher makes pass Tekton's validation,
// and every param, workspace and result they use is declared by the Pipeline and the
// single Task in tasks/.
func TestPipelineRunMatchesTasks(t *testing.T) {
	root, err := modroot.Find()
	if err != nil {
		t.Fatal(err)
	}
	docs, err := tektonyaml.LoadTree(root, "tasks")
	if err != nil {
		t.Fatal(err)
	}
	var pipeline *pipelinev1.Pipeline
	var task *pipelinev1.Task
	for _, d := range docs {
		switch o := d.Object.(type) {
		case *pipelinev1.Pipeline:
			if o.Name == "thoth-build-analysis" {
				pipeline = o
			}
		case *pipelinev1.Task:
			if o.Name == "thoth-build-analysis" {
				task = o
			}
		}
	}
	if pipeline == nil || task == nil {
		t.Fatal("tasks/ lacks the Pipeline or the Task thoth-build-analysis")
	}
	b := &Build{Ref: build.Ref{Kind: build.KindBuild, Namespace: "team-a", Name: "app-7"}, UID: types.UID("0b5c1f0e-8d5e-4a39-9e55-1c1f2f1d9a11")}
	all := Analysis{
		ThothHost: "thoth.example.com", PushRegistry: "quay.io/thoth", PushMode: "flat", EnvironmentType: "buildtime",
		Cluster: "prod", NoBase: true, NoOutput: true, NoBuildLog: true, Debug: true, Force: true, PassToken: true,
		NoTLSVerify: true, NoSrcRegistryTLSVerify: true, NoDstRegistryTLSVerify: true,
	}
	for _, tc := range []struct {
		name     string
		runs     string
		params   []pipelinev1.ParamSpec
		results  []string
		spaces   []string
		analysis Analysis
	}{
		{"pipeline, every param", RunsPipeline, pipeline.Spec.Params, pipelineResults(pipeline), workspaceNames(pipeline.Spec.Workspaces), all},
		{"pipeline, defaults", RunsPipeline, pipeline.Spec.Params, pipelineResults(pipeline), workspaceNames(pipeline.Spec.Workspaces), Analysis{ThothHost: "thoth"}},
		{"single task, every param", RunsTask, task.Spec.Params, taskResults(task), taskWorkspaces(task), all},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &Config{
				Runs: tc.runs, Pipeline: "thoth-build-analysis", ServiceAccount: "thoth", Timeout: time.Hour,
				SrcAuthSecret: "pull", DstAuthSecret: "push", Analysis: tc.analysis,
				InsecureRegistries:  []string{"registry.local:5000", "10.0.0.7"},
				RegistryCAConfigMap: "openshift-service-ca.crt", ThothCAConfigMap: "thoth-ca",
			}
			for _, pending := range []bool{false, true} {
				pr := cfg.newPipelineRun(b, Claim{Target: "default", Namespace: "thoth", Name: RunName(b.UID, 1)}, 1, time.Now(), pending)
				ctx := tektonyaml.WithDefaultConfig(context.Background())
				pr.SetDefaults(ctx)
				if err := pr.Validate(ctx); err != nil {
					t.Fatalf("Tekton rejects the PipelineRun: %v", err)
				}
				declared := map[string]bool{}
				for _, p := range tc.params {
					declared[p.Name] = true
				}
				for _, p := range pr.Spec.Params {
					if !declared[p.Name] {
						t.Errorf("param %s is not declared by %s thoth-build-analysis", p.Name, tc.runs)
					}
				}
				bound := map[string]string{}
				for _, w := range pr.Spec.Workspaces {
					if !slices.Contains(tc.spaces, w.Name) {
						t.Errorf("workspace %s is not declared by %s thoth-build-analysis (has %v)", w.Name, tc.runs, tc.spaces)
					}
					switch {
					case w.Secret != nil:
						bound[w.Name] = "secret/" + w.Secret.SecretName
					case w.ConfigMap != nil:
						bound[w.Name] = "configmap/" + w.ConfigMap.Name
					}
				}
				wantBound := map[string]string{"src-registry-auth": "secret/pull", "dst-registry-auth": "secret/push",
					"registry-ca": "configmap/openshift-service-ca.crt", "thoth-ca": "configmap/thoth-ca"}
				if !maps.Equal(bound, wantBound) {
					t.Errorf("workspaces bound %v, want %v", bound, wantBound)
				}
				var insecure string
				for _, p := range pr.Spec.Params {
					if p.Name == "insecure-registries" {
						insecure = p.Value.StringVal
					}
				}
				if insecure != "registry.local:5000,10.0.0.7" {
					t.Errorf("insecure-registries = %q", insecure)
				}
				for _, r := range analysisResults() {
					if !slices.Contains(tc.results, r.result) {
						t.Errorf("result %s, written back onto builds, is not a result of %s thoth-build-analysis", r.result, tc.runs)
					}
				}
				if got := pr.Spec.Status == pipelinev1.PipelineRunSpecStatusPending; got != pending {
					t.Errorf("pending = %t, want %t", got, pending)
				}
			}
		})
	}
}

func pipelineResults(p *pipelinev1.Pipeline) []string {
	var out []string
	for _, r := range p.Spec.Results {
		out = append(out, r.Name)
	}
	return out
}

func taskResults(t *pipelinev1.Task) []string {
	var out []string
	for _, r := range t.Spec.Results {
		out = append(out, r.Name)
	}
	return out
}

func workspaceNames(ws []pipelinev1.PipelineWorkspaceDeclaration) []string {
	var out []string
	for _, w := range ws {
		out = append(out, w.Name)
	}
	return out
}

func taskWorkspaces(t *pipelinev1.Task) []string {
	var out []string
	for _, w := range t.Spec.Workspaces {
		out = append(out, w.Name)
	}
	return out
}
