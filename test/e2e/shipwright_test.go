package e2e

import (
	"strings"
	"testing"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"knative.dev/pkg/apis"

	"github.com/thoth-station/build-watcher/internal/testenv/controlplane"
)

// The Shipwright-shaped build: what its steps print and report.
const (
	shpDigest    = "sha256:8d6f4b2a0c8e6d4f2b0a8c6e4d2f0b8a6c4e2d0f8b6a4c2e0d8f6b4a2c0e8d6f"
	shpBase      = "registry.access.redhat.com/ubi9/python-311:9.5"
	shpOutput    = "quay.io/team-a/flask-app:v4"
	shpSourceLog = "Successfully loaded https://github.com/team-a/flask-app (main) into /workspace/source"
	shpBuildLog  = "STEP 1/3: FROM " + shpBase + "\nSTEP 2/3: RUN pip install -r requirements.txt\nSuccessfully installed flask-3.1.0\nSTEP 3/3: CMD [\"python\", \"app.py\"]"
)

// shipwrightTaskRun is a TaskRun shaped like the one Shipwright's controller makes for a
// BuildRun of the buildah strategy: the shp- params and system results, the source step
// (step-source-default) and the build step (step-build-and-push) that writes the image's
// digest to shp-image-digest. The stepper (internal/testenv/tektontest/testdata/stepper) stands in
// for git and buildah: each step prints its log by writing it to a file and printing that.
func shipwrightTaskRun(name string) *pipelinev1.TaskRun {
	stepper := func(name string, args ...string) pipelinev1.Step {
		return pipelinev1.Step{Name: name, Image: "e2e.invalid/stepper", Command: []string{"/ko-app/stepper"}, Args: args}
	}
	str := func(name, value string) pipelinev1.Param {
		return pipelinev1.Param{Name: name, Value: *pipelinev1.NewStructuredValues(value)}
	}
	return &pipelinev1.TaskRun{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
			"buildrun.shipwright.io/name": strings.TrimSuffix(name, "-tr"), "build.shipwright.io/name": "flask-app",
			"clusterbuildstrategy.shipwright.io/name": "buildah",
		}},
		Spec: pipelinev1.TaskRunSpec{
			Params: pipelinev1.Params{
				str("shp-output-image", shpOutput), str("shp-output-insecure", "false"),
				str("shp-source-root", "/workspace/source"), str("shp-source-context", "/workspace/source"),
			},
			Workspaces: []pipelinev1.WorkspaceBinding{{Name: "source", EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			TaskSpec: &pipelinev1.TaskSpec{
				Params: pipelinev1.ParamSpecs{
					{Name: "shp-output-image", Type: pipelinev1.ParamTypeString},
					{Name: "shp-output-insecure", Type: pipelinev1.ParamTypeString},
					{Name: "shp-source-root", Type: pipelinev1.ParamTypeString},
					{Name: "shp-source-context", Type: pipelinev1.ParamTypeString},
				},
				Results: []pipelinev1.TaskResult{
					{Name: "shp-image-digest"}, {Name: "shp-image-size"},
					{Name: "shp-source-default-commit-sha"}, {Name: "shp-source-default-commit-author"},
				},
				Workspaces: []pipelinev1.WorkspaceDeclaration{{Name: "source"}},
				Steps: []pipelinev1.Step{
					stepper("source-default",
						"write:$(params.shp-source-root)/clone.log=\n"+shpSourceLog,
						"cat:$(params.shp-source-root)/clone.log",
						"result:shp-source-default-commit-sha=0f3c9d1e7b2a", "result:shp-source-default-commit-author=Team A"),
					stepper("build-and-push",
						"write:$(params.shp-source-context)/build.log=\n"+shpBuildLog+"\nPushing $(params.shp-output-image)",
						"cat:$(params.shp-source-context)/build.log",
						"result:shp-image-digest="+shpDigest, "result:shp-image-size=52428800"),
				},
			},
		},
	}
}

// TestPipelineShipwrightBuildRun runs a BuildRun's executor TaskRun under the real Tekton
// controller, writes the BuildRun's status as Shipwright's controller does from it
// (executor, output digest from shp-image-digest, Succeeded), and analyses buildrun/NS/NAME
// with the thoth-build-analysis Pipeline: the output image is the Build's repository with
// the reported digest, the base image comes from the build step's log, and Thoth gets both
// steps' logs.
func TestPipelineShipwrightBuildRun(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	ctx := t.Context()
	const name = "flask-app-buildrun-1"
	tr := s.runTask(t, shipwrightTaskRun(name+"-tr"))
	if c := tr.Status.GetCondition(apis.ConditionSucceeded); c == nil || !c.IsTrue() {
		t.Fatalf("the executor TaskRun %s: %s", tr.Name, conditionText(c))
	}
	var digest string
	for _, r := range tr.Status.Results {
		if r.Name == "shp-image-digest" {
			digest = r.Value.StringVal
		}
	}
	if digest != shpDigest {
		t.Fatalf("the executor reported shp-image-digest %q, want %s", digest, shpDigest)
	}

	buildRuns := dynamic.NewForConfigOrDie(env.CP.Config()).Resource(controlplane.BuildRunsResource).Namespace(s.ns)
	br, err := buildRuns.Create(ctx, &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "shipwright.io/v1beta1", "kind": "BuildRun",
		"metadata": map[string]any{"name": name},
		"spec":     map[string]any{"build": map[string]any{"name": "flask-app"}},
	}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := tr.Status.GetCondition(apis.ConditionSucceeded)
	br.Object["status"] = map[string]any{
		"conditions": []any{map[string]any{
			"type": "Succeeded", "status": string(c.Status), "reason": c.Reason, "message": c.Message,
			"lastTransitionTime": c.LastTransitionTime.Inner.UTC().Format("2006-01-02T15:04:05Z"),
		}},
		"executor":       map[string]any{"kind": "TaskRun", "name": tr.Name},
		"taskRunName":    tr.Name,
		"startTime":      tr.Status.StartTime.UTC().Format("2006-01-02T15:04:05Z"),
		"completionTime": tr.Status.CompletionTime.UTC().Format("2006-01-02T15:04:05Z"),
		"output":         map[string]any{"digest": digest, "size": int64(52428800)},
		"source":         map[string]any{"git": map[string]any{"commitSha": "0f3c9d1e7b2a", "commitAuthor": "Team A"}},
		"buildSpec": map[string]any{
			"source":   map[string]any{"type": "Git", "git": map[string]any{"url": "https://github.com/team-a/flask-app"}},
			"strategy": map[string]any{"kind": "ClusterBuildStrategy", "name": "buildah"},
			"output":   map[string]any{"image": shpOutput},
		},
	}
	if _, err := buildRuns.UpdateStatus(ctx, br, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	pr := s.runPipeline(t, &pipelinev1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "thoth-build-analysis-"},
		Spec: pipelinev1.PipelineRunSpec{
			PipelineRef: &pipelinev1.PipelineRef{Name: "thoth-build-analysis"},
			Params: pipelinev1.Params{
				param("build-ref", "buildrun/"+s.ns+"/"+name),
				param("thoth-api-host", s.thoth.URL()),
			},
			TaskRunTemplate: pipelinev1.PipelineTaskRunTemplate{ServiceAccountName: serviceAccount},
		},
	})
	if c := pr.Status.GetCondition(apis.ConditionSucceeded); c == nil || !c.IsTrue() {
		t.Fatalf("PipelineRun %s: %s", pr.Name, conditionText(c))
	}
	wantOutput := "quay.io/team-a/flask-app@" + shpDigest
	results := runResults(pr)
	if results["output-image"] != wantOutput || results["phase"] != "Succeeded" || results["base-image"] != shpBase {
		t.Errorf("results %v, want output-image %s, base-image %s, phase Succeeded", results, wantOutput, shpBase)
	}
	subs := s.submissions(t)
	if len(subs) != 1 {
		t.Fatalf("the stand-in accepted %d submissions, want 1", len(subs))
	}
	sub := subs[0]
	if sub.BaseImage == nil || *sub.BaseImage != shpBase || sub.OutputImage == nil || *sub.OutputImage != wantOutput {
		t.Errorf("submitted base %v, output %v; want %s, %s", deref(sub.BaseImage), deref(sub.OutputImage), shpBase, wantOutput)
	}
	for _, want := range []string{"[" + tr.Name + "/source-default]\n", shpSourceLog, "[" + tr.Name + "/build-and-push]\n", shpBuildLog, "Pushing " + shpOutput} {
		if sub.BuildLog == nil || !strings.Contains(sub.BuildLog.Log, want) {
			t.Errorf("submitted log %+v, want it to hold %q", sub.BuildLog, want)
		}
	}
	checkAnalysisIDs(t, results)
}
