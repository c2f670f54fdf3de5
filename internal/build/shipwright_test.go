package build

import (
	"bytes"
	"errors"
	"net/http"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"knative.dev/pkg/apis"
)

// Fixtures of Shipwright BuildRuns, written after the shapes of ../shared/realworld/SHAPES.md
// points 20-23 (shipwright.io/v1beta1 at shipwright-io/build v0.17.0).
const (
	shpDigest      = "sha256:3c1f5e7a9b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b8d0f2a4c6e8b0d2f4a"
	shpDigestArm   = "sha256:9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d"
	shpBuildahBase = "registry.access.redhat.com/ubi9/python-311:latest"
	shpS2IBuilder  = "registry.access.redhat.com/ubi9/python-311@sha256:6c1e4a2b8d9f0e3c7a5b1d4f8e2c6a9b3d7f1e5c9a2b6d0f4e8c3a7b1d5f9e2c"
	shpSourceLog   = "Successfully loaded https://github.com/team-a/flask-app (main) into \"/workspace/source\"\n"
	shpBuildahLog  = "STEP 1/3: FROM " + shpBuildahBase + "\nSTEP 2/3: RUN pip install -r requirements.txt\nSuccessfully installed flask-3.1.0\nSTEP 3/3: CMD [\"python\", \"app.py\"]\nWriting manifest to image destination\n"
	shpPipFailLog  = "STEP 1/3: FROM " + shpBuildahBase + "\nSTEP 2/3: RUN pip install -r requirements.txt\nERROR: No matching distribution found for tensorflow==2.99.0\nError: building at STEP \"RUN pip install -r requirements.txt\": exit status 1\n"
)

// shpStep is a step of an executor TaskRun and its container log.
type shpStep struct{ name, log string }

// shpTaskRun is an executor TaskRun as Tekton leaves it, with its pod and step logs.
type shpTaskRun struct {
	name   string
	status corev1.ConditionStatus
	reason string
	steps  []shpStep
	// noPod: the pod is not created (deleted by Tekton or a pruner).
	noPod bool
}

// shpPipelineRun is a multi-arch build's executor PipelineRun: its TaskRuns by pipeline task.
type shpPipelineRun struct {
	name     string
	children map[string]shpTaskRun // pipeline task -> TaskRun, started in key order
}

// createShipwright makes the executor runs, then the BuildRun with spec and status as
// Shipwright's controller writes them, and returns the BuildRun's UID.
func createShipwright(t *testing.T, e *testEnv, name string, spec, status map[string]any, trs []shpTaskRun, pr *shpPipelineRun) string {
	t.Helper()
	for _, tr := range trs {
		createShpTaskRun(t, e, tr)
	}
	if pr != nil {
		createShpPipelineRun(t, e, *pr)
	}
	if spec == nil {
		spec = map[string]any{}
	}
	if _, ok := spec["build"]; !ok {
		spec["build"] = map[string]any{"name": "flask-app"}
	}
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "shipwright.io/v1beta1", "kind": "BuildRun",
		"metadata": map[string]any{"name": name}, "spec": spec,
	}}
	brs := e.admin.Objects.Resource(buildRunsGVR).Namespace(e.ns)
	created, err := brs.Create(t.Context(), u, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating BuildRun %s: %v", name, err)
	}
	created.Object["status"] = status
	if _, err := brs.UpdateStatus(t.Context(), created, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("setting the status of BuildRun %s: %v", name, err)
	}
	return string(created.GetUID())
}

func createShpTaskRun(t *testing.T, e *testEnv, f shpTaskRun) *pipelinev1.TaskRun {
	t.Helper()
	ctx := t.Context()
	pod := f.name + "-pod"
	if !f.noPod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: pod}}
		for _, s := range f.steps {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "step-" + s.name, Image: "quay.io/containers/buildah:v1.39"})
		}
		if _, err := e.typed.Kube.CoreV1().Pods(e.ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, s := range f.steps {
			e.front.SetPodLog(e.ns, pod, "step-"+s.name, []byte(s.log))
		}
	}
	trs := e.typed.Tekton.TektonV1().TaskRuns(e.ns)
	tr, err := trs.Create(ctx, &pipelinev1.TaskRun{
		ObjectMeta: metav1.ObjectMeta{Name: f.name, Labels: map[string]string{"buildrun.shipwright.io/name": "x"}},
		Spec: pipelinev1.TaskRunSpec{
			TaskSpec: &pipelinev1.TaskSpec{Steps: []pipelinev1.Step{{Name: "build-and-push", Image: "quay.io/containers/buildah:v1.39"}}},
			Params:   pipelinev1.Params{{Name: "shp-output-image", Value: *pipelinev1.NewStructuredValues("quay.io/team-a/flask-app:v3")}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	start := metav1.NewTime(time.Date(2026, 3, 5, 14, 0, 0, 0, time.UTC))
	tr.Status.SetCondition(&apis.Condition{Type: apis.ConditionSucceeded, Status: f.status, Reason: f.reason})
	tr.Status.PodName, tr.Status.StartTime = pod, &start
	for _, s := range f.steps {
		tr.Status.Steps = append(tr.Status.Steps, pipelinev1.StepState{Name: s.name, Container: "step-" + s.name})
	}
	if tr, err = trs.UpdateStatus(ctx, tr, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	return tr
}

func createShpPipelineRun(t *testing.T, e *testEnv, f shpPipelineRun) {
	t.Helper()
	ctx := t.Context()
	prs := e.typed.Tekton.TektonV1().PipelineRuns(e.ns)
	pr, err := prs.Create(ctx, &pipelinev1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{Name: f.name},
		Spec:       pipelinev1.PipelineRunSpec{PipelineRef: &pipelinev1.PipelineRef{Name: "multiarch"}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tasks := make([]string, 0, len(f.children))
	for task := range f.children {
		tasks = append(tasks, task)
	}
	slices.Sort(tasks)
	for _, task := range tasks {
		tr := createShpTaskRun(t, e, f.children[task])
		pr.Status.ChildReferences = append(pr.Status.ChildReferences, pipelinev1.ChildStatusReference{
			TypeMeta: runtime.TypeMeta{APIVersion: "tekton.dev/v1", Kind: "TaskRun"}, Name: tr.Name, PipelineTaskName: task,
		})
	}
	pr.Status.SetCondition(&apis.Condition{Type: apis.ConditionSucceeded, Status: corev1.ConditionTrue, Reason: "Succeeded"})
	if _, err := prs.UpdateStatus(ctx, pr, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// shpStatus is a BuildRun status with a Succeeded condition, start and completion time.
func shpStatus(status corev1.ConditionStatus, reason, message string, more map[string]any) map[string]any {
	st := map[string]any{
		"conditions": []any{map[string]any{
			"type": "Succeeded", "status": string(status), "reason": reason, "message": message,
			"lastTransitionTime": "2026-03-05T14:03:00Z",
		}},
		"startTime": "2026-03-05T14:00:00Z",
	}
	if status != corev1.ConditionUnknown {
		st["completionTime"] = "2026-03-05T14:03:00Z"
	}
	for k, v := range more {
		st[k] = v
	}
	return st
}

// shpBuildSnapshot is the Build snapshot of a BuildRun's status.
func shpBuildSnapshot(strategy, output string, params ...any) map[string]any {
	spec := map[string]any{
		"source":   map[string]any{"type": "Git", "git": map[string]any{"url": "https://github.com/team-a/flask-app"}},
		"strategy": map[string]any{"kind": "ClusterBuildStrategy", "name": strategy},
		"output":   map[string]any{"image": output},
	}
	if len(params) > 0 {
		spec["paramValues"] = params
	}
	return spec
}

func shpParam(name, value string) map[string]any { return map[string]any{"name": name, "value": value} }

func TestShipwrightBuildRuns(t *testing.T) {
	buildah := func(name string, status corev1.ConditionStatus, reason string, log string) shpTaskRun {
		return shpTaskRun{name: name, status: status, reason: reason, steps: []shpStep{
			{"source-default", shpSourceLog}, {"build-and-push", log},
		}}
	}
	tests := []struct {
		name     string
		spec     map[string]any
		status   func(ns string) map[string]any
		taskRuns []shpTaskRun
		pipeline *shpPipelineRun
		// want is the record's fields but Kind, Namespace, Name, UID, times and Log.
		want        Record
		wantLog     string // the whole log file; "" to skip
		wantMissing string // a substring of Log.Missing; "" for none
	}{
		{
			// status.source is singular in v1beta1; executor and the deprecated taskRunName
			// both name the TaskRun.
			name: "succeeded buildah",
			status: func(string) map[string]any {
				return shpStatus(corev1.ConditionTrue, "Succeeded", "All Steps have completed executing", map[string]any{
					"executor":    map[string]any{"kind": "TaskRun", "name": "flask-build-1-tr"},
					"taskRunName": "flask-build-1-tr",
					"output":      map[string]any{"digest": shpDigest, "size": int64(52428800)},
					"source":      map[string]any{"git": map[string]any{"commitSha": "0f3c9d1e", "commitAuthor": "Team A", "branchName": "main"}, "timestamp": "2026-03-05T13:58:00Z"},
					"buildSpec":   shpBuildSnapshot("buildah", "quay.io/team-a/flask-app:v3"),
				})
			},
			taskRuns: []shpTaskRun{buildah("flask-build-1-tr", corev1.ConditionTrue, "Succeeded", shpBuildahLog)},
			want: Record{
				Phase: PhaseSucceeded, OriginalPhase: "Succeeded", Reason: "Succeeded", Message: "All Steps have completed executing",
				Strategy: "BuildRun/buildah", BaseImage: shpBuildahBase,
				OutputImage: "quay.io/team-a/flask-app@" + shpDigest, OutputImageTag: "quay.io/team-a/flask-app:v3", OutputDigest: shpDigest,
			},
			wantLog: "[flask-build-1-tr/source-default]\n" + shpSourceLog + "[flask-build-1-tr/build-and-push]\n" + shpBuildahLog,
		},
		{
			// An older BuildRun names its TaskRun only in the deprecated taskRunName; its
			// spec overrides the output image and the Build's builder-image param.
			name: "s2i with overrides and taskRunName only",
			spec: map[string]any{
				"output":      map[string]any{"image": "image-registry.openshift-image-registry.svc:5000/team-b/app:latest"},
				"paramValues": []any{shpParam("builder-image", shpS2IBuilder)},
			},
			status: func(string) map[string]any {
				return shpStatus(corev1.ConditionTrue, "Succeeded", "All Steps have completed executing", map[string]any{
					"taskRunName": "s2i-build-2-tr",
					"output":      map[string]any{"digest": shpDigest},
					"buildSpec":   shpBuildSnapshot("source-to-image", "quay.io/team-b/app:v1", shpParam("builder-image", "quay.io/not/this-builder:1")),
				})
			},
			taskRuns: []shpTaskRun{{name: "s2i-build-2-tr", status: corev1.ConditionTrue, reason: "Succeeded", steps: []shpStep{
				{"source-default", shpSourceLog}, {"s2i-generate", "Application dockerfile generated in /gen-source/Dockerfile.gen\n"},
				{"s2i-build", "STEP 1/9: FROM " + shpS2IBuilder + "\n"}, {"image-processing", "pushed\n"},
			}}},
			want: Record{
				Phase: PhaseSucceeded, OriginalPhase: "Succeeded", Reason: "Succeeded", Message: "All Steps have completed executing",
				Strategy: "BuildRun/source-to-image", BaseImage: shpS2IBuilder,
				OutputImage:    "image-registry.openshift-image-registry.svc:5000/team-b/app@" + shpDigest,
				OutputImageTag: "image-registry.openshift-image-registry.svc:5000/team-b/app:latest", OutputDigest: shpDigest,
			},
		},
		{
			// The build step reported shp-error-reason and -message; the controller put
			// them and the failed container into failureDetails.
			name: "failed with failure details",
			status: func(ns string) map[string]any {
				return shpStatus(corev1.ConditionFalse, "Failed",
					"buildrun step step-build-and-push failed, for detailed information: kubectl --namespace "+ns+" logs flask-build-3-tr-pod --container=step-build-and-push",
					map[string]any{
						"executor":  map[string]any{"kind": "TaskRun", "name": "flask-build-3-tr"},
						"buildSpec": shpBuildSnapshot("buildah", "quay.io/team-a/flask-app:v3"),
						"failureDetails": map[string]any{
							"reason": "PipInstallFailed", "message": "pip could not install tensorflow==2.99.0",
							"location": map[string]any{"pod": "flask-build-3-tr-pod", "container": "step-build-and-push"},
						},
					})
			},
			taskRuns: []shpTaskRun{buildah("flask-build-3-tr", corev1.ConditionFalse, "Failed", shpPipFailLog)},
			want: Record{
				Phase: PhaseFailed, OriginalPhase: "Failed", Reason: "PipInstallFailed", Message: "pip could not install tensorflow==2.99.0",
				Strategy: "BuildRun/buildah", BaseImage: shpBuildahBase, OutputImageTag: "quay.io/team-a/flask-app:v3",
			},
			wantLog: "[flask-build-3-tr/source-default]\n" + shpSourceLog + "[flask-build-3-tr/build-and-push]\n" + shpPipFailLog,
		},
		{
			name: "timed out",
			status: func(string) map[string]any {
				return shpStatus(corev1.ConditionFalse, "BuildRunTimeout", "BuildRun flask-build-4 failed to finish within 10m0s", map[string]any{
					"executor":  map[string]any{"kind": "TaskRun", "name": "flask-build-4-tr"},
					"buildSpec": shpBuildSnapshot("buildah", "quay.io/team-a/flask-app:v3"),
				})
			},
			taskRuns: []shpTaskRun{buildah("flask-build-4-tr", corev1.ConditionFalse, "TaskRunTimeout", "STEP 1/3: FROM "+shpBuildahBase+"\nSTEP 2/3: RUN pip install -r requirements.txt\n")},
			want: Record{
				Phase: PhaseFailed, OriginalPhase: "BuildRunTimeout", Reason: "BuildRunTimeout", Message: "BuildRun flask-build-4 failed to finish within 10m0s",
				Strategy: "BuildRun/buildah", BaseImage: shpBuildahBase, OutputImageTag: "quay.io/team-a/flask-app:v3",
			},
		},
		{
			// Tekton deleted the cancelled TaskRun's pod.
			name: "cancelled",
			spec: map[string]any{"state": "BuildRunCanceled"},
			status: func(string) map[string]any {
				return shpStatus(corev1.ConditionFalse, "BuildRunCanceled", "The BuildRun and underlying TaskRun were canceled successfully.", map[string]any{
					"executor":  map[string]any{"kind": "TaskRun", "name": "flask-build-5-tr"},
					"buildSpec": shpBuildSnapshot("buildah", "quay.io/team-a/flask-app:v3"),
				})
			},
			taskRuns: []shpTaskRun{{name: "flask-build-5-tr", status: corev1.ConditionFalse, reason: "TaskRunCancelled", noPod: true,
				steps: []shpStep{{"source-default", ""}, {"build-and-push", ""}}}},
			want: Record{
				Phase: PhaseCancelled, OriginalPhase: "BuildRunCanceled", Reason: "BuildRunCanceled", Message: "The BuildRun and underlying TaskRun were canceled successfully.",
				Strategy: "BuildRun/buildah", OutputImageTag: "quay.io/team-a/flask-app:v3",
			},
			wantMissing: "flask-build-5-tr/build-and-push: pod flask-build-5-tr-pod is gone",
		},
		{
			// The strategy does not exist: no TaskRun was ever made.
			name: "never ran",
			status: func(string) map[string]any {
				return shpStatus(corev1.ConditionFalse, "ClusterBuildStrategyNotFound", `clusterBuildStrategy "buildah-x" not found`, map[string]any{
					"buildSpec": shpBuildSnapshot("buildah-x", "quay.io/team-a/flask-app:v3"),
				})
			},
			want: Record{
				Phase: PhaseError, OriginalPhase: "ClusterBuildStrategyNotFound", Reason: "ClusterBuildStrategyNotFound", Message: `clusterBuildStrategy "buildah-x" not found`,
				Strategy: "BuildRun/buildah-x", OutputImageTag: "quay.io/team-a/flask-app:v3",
			},
			wantMissing: "it never started a TaskRun",
		},
		{
			// multiarch-native-buildah runs a PipelineRun with a TaskRun per platform; its
			// from param names the base.
			name: "multi-arch pipelinerun executor",
			status: func(string) map[string]any {
				return shpStatus(corev1.ConditionTrue, "Succeeded", "All Steps have completed executing", map[string]any{
					"executor":  map[string]any{"kind": "PipelineRun", "name": "go-build-6-pr"},
					"output":    map[string]any{"digest": shpDigestArm},
					"buildSpec": shpBuildSnapshot("multiarch-native-buildah", "quay.io/team-c/go-app:v2", shpParam("from", "registry.access.redhat.com/ubi9/ubi-minimal:9.5")),
				})
			},
			pipeline: &shpPipelineRun{name: "go-build-6-pr", children: map[string]shpTaskRun{
				"build-amd64": {name: "go-build-6-pr-amd64", status: corev1.ConditionTrue, reason: "Succeeded", steps: []shpStep{{"build", "amd64 built\n"}}},
				"build-arm64": {name: "go-build-6-pr-arm64", status: corev1.ConditionTrue, reason: "Succeeded", steps: []shpStep{{"build", "arm64 built\n"}}},
			}},
			want: Record{
				Phase: PhaseSucceeded, OriginalPhase: "Succeeded", Reason: "Succeeded", Message: "All Steps have completed executing",
				Strategy: "BuildRun/multiarch-native-buildah", BaseImage: "registry.access.redhat.com/ubi9/ubi-minimal:9.5",
				OutputImage: "quay.io/team-c/go-app@" + shpDigestArm, OutputImageTag: "quay.io/team-c/go-app:v2", OutputDigest: shpDigestArm,
			},
			wantLog: "[build-amd64/build]\namd64 built\n[build-arm64/build]\narm64 built\n",
		},
		{
			// A pruner deleted the TaskRun, not its pod: the failed container's log is
			// still there.
			name: "gone executor with failure location",
			status: func(ns string) map[string]any {
				return shpStatus(corev1.ConditionFalse, "Failed", "buildrun step step-build-and-push failed", map[string]any{
					"executor":       map[string]any{"kind": "TaskRun", "name": "flask-build-7-tr"},
					"buildSpec":      shpBuildSnapshot("buildah", "quay.io/team-a/flask-app:v3"),
					"failureDetails": map[string]any{"location": map[string]any{"pod": "flask-build-7-pod", "container": "step-build-and-push"}},
				})
			},
			want: Record{
				Phase: PhaseFailed, OriginalPhase: "Failed", Reason: "Failed", Message: "buildrun step step-build-and-push failed",
				Strategy: "BuildRun/buildah", BaseImage: shpBuildahBase, OutputImageTag: "quay.io/team-a/flask-app:v3",
			},
			wantLog:     "[flask-build-7-tr] log unavailable: taskrun flask-build-7-tr is gone\n[flask-build-7-tr/build-and-push]\n" + shpPipFailLog,
			wantMissing: "flask-build-7-tr: taskrun flask-build-7-tr is gone",
		},
		{
			name: "gone executor",
			status: func(string) map[string]any {
				return shpStatus(corev1.ConditionTrue, "Succeeded", "All Steps have completed executing", map[string]any{
					"executor":  map[string]any{"kind": "TaskRun", "name": "flask-build-8-tr"},
					"output":    map[string]any{"digest": shpDigest},
					"buildSpec": shpBuildSnapshot("buildah", "quay.io/team-a/flask-app:v3"),
				})
			},
			want: Record{
				Phase: PhaseSucceeded, OriginalPhase: "Succeeded", Reason: "Succeeded", Message: "All Steps have completed executing",
				Strategy: "BuildRun/buildah", OutputImage: "quay.io/team-a/flask-app@" + shpDigest, OutputImageTag: "quay.io/team-a/flask-app:v3", OutputDigest: shpDigest,
			},
			wantLog:     "[flask-build-8-tr] log unavailable: taskrun flask-build-8-tr is gone\n",
			wantMissing: "taskrun flask-build-8-tr is gone",
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t)
			name := "buildrun-" + string(rune('a'+i))
			if tt.name == "gone executor with failure location" {
				// The pod of the deleted TaskRun.
				p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "flask-build-7-pod"}, Spec: corev1.PodSpec{Containers: []corev1.Container{
					{Name: "step-source-default", Image: "ghcr.io/shipwright-io/build/git:v0.17.0"}, {Name: "step-build-and-push", Image: "quay.io/containers/buildah:v1.39"},
				}}}
				if _, err := e.typed.Kube.CoreV1().Pods(e.ns).Create(t.Context(), p, metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
				e.front.SetPodLog(e.ns, p.Name, "step-build-and-push", []byte(shpPipFailLog))
			}
			uid := createShipwright(t, e, name, tt.spec, tt.status(e.ns), tt.taskRuns, tt.pipeline)
			rec, log := e.collectTektonLog(t, e.admin, KindBuildRun, name, Options{})
			want := tt.want
			want.Kind, want.Namespace, want.Name, want.UID, want.Log = KindBuildRun, e.ns, name, uid, rec.Log
			want.StartTime, want.CompletionTime = tektonTime(t, "2026-03-05T14:00:00Z"), tektonTime(t, "2026-03-05T14:03:00Z")
			checkTektonRecord(t, rec, &want)
			if tt.wantLog != "" && log != tt.wantLog {
				t.Errorf("log file:\n%s\nwant:\n%s", log, tt.wantLog)
			}
			if tt.wantMissing == "" && rec.Log.Missing != "" || !strings.Contains(rec.Log.Missing, tt.wantMissing) {
				t.Errorf("Log.Missing = %q, want %q", rec.Log.Missing, tt.wantMissing)
			}
			if rec.Phase == PhaseFailed && rec.FailureSummary == "" {
				t.Error("a failed build has no failure summary")
			}
			// Saved with its runs, the BuildRun gives the same facts without the cluster.
			v1Docs, _, _ := saveNamespace(t, e)
			saved, err := ReadSaved(bytes.NewReader(bytes.Join(v1Docs, []byte("\n---\n"))), "saved", "")
			if err != nil {
				t.Fatal(err)
			}
			sameFacts(t, e, saved, Ref{KindBuildRun, e.ns, name})
		})
	}
}

func TestShipwrightRunning(t *testing.T) {
	e := newTestEnv(t)
	const name = "flask-build-run"
	final := shpStatus(corev1.ConditionTrue, "Succeeded", "All Steps have completed executing", map[string]any{
		"executor":  map[string]any{"kind": "TaskRun", "name": name + "-tr"},
		"output":    map[string]any{"digest": shpDigest},
		"buildSpec": shpBuildSnapshot("buildah", "quay.io/team-a/flask-app:v3"),
	})
	running := shpStatus(corev1.ConditionUnknown, "Running", "Not all Steps in the Task have finished executing", map[string]any{
		"executor":  map[string]any{"kind": "TaskRun", "name": name + "-tr"},
		"buildSpec": shpBuildSnapshot("buildah", "quay.io/team-a/flask-app:v3"),
	})
	createShipwright(t, e, name, nil, running, []shpTaskRun{{name: name + "-tr", status: corev1.ConditionTrue, reason: "Succeeded",
		steps: []shpStep{{"source-default", shpSourceLog}, {"build-and-push", shpBuildahLog}}}}, nil)
	ref := Ref{Kind: KindBuildRun, Namespace: e.ns, Name: name}

	t.Run("no wait", func(t *testing.T) {
		_, err := Collect(t.Context(), e.admin, ref, Options{})
		if !errors.Is(err, ErrNotFinished) || !strings.Contains(err.Error(), "Running") || !strings.Contains(err.Error(), "--wait") {
			t.Errorf("err = %v, want ErrNotFinished saying Running and --wait", err)
		}
	})
	t.Run("wait times out", func(t *testing.T) {
		_, err := Collect(t.Context(), e.admin, ref, Options{Wait: true, Timeout: 300 * time.Millisecond})
		if !errors.Is(err, ErrNotFinished) || !strings.Contains(err.Error(), "raise --timeout") {
			t.Errorf("err = %v, want ErrNotFinished saying to raise --timeout", err)
		}
	})
	t.Run("wait until finished", func(t *testing.T) {
		signal := &tektonWatchSignal{watching: make(chan struct{})}
		cfg := e.front.Config(cp.Config())
		cfg.Wrap(func(next http.RoundTripper) http.RoundTripper { signal.next = next; return signal })
		c, err := NewClients(cfg)
		if err != nil {
			t.Fatal(err)
		}
		finished := make(chan struct{})
		go func() {
			defer close(finished)
			select {
			case <-signal.watching:
			case <-t.Context().Done():
				return
			}
			brs := e.admin.Objects.Resource(buildRunsGVR).Namespace(e.ns)
			u, err := brs.Get(t.Context(), name, metav1.GetOptions{})
			if err != nil {
				t.Errorf("get: %v", err)
				return
			}
			u.Object["status"] = final
			if _, err := brs.UpdateStatus(t.Context(), u, metav1.UpdateOptions{}); err != nil {
				t.Errorf("finishing the buildrun: %v", err)
			}
		}()
		rec, log := e.collectTektonLog(t, c, KindBuildRun, name, Options{Wait: true, Timeout: tektonWaitTimeout})
		<-finished
		if rec.Phase != PhaseSucceeded || rec.OutputImage != "quay.io/team-a/flask-app@"+shpDigest || rec.BaseImage != shpBuildahBase {
			t.Errorf("record after waiting: %+v", rec)
		}
		if !strings.HasSuffix(log, "-tr/build-and-push]\n"+shpBuildahLog) {
			t.Errorf("log file:\n%s", log)
		}
	})
}

func TestShipwrightNotFound(t *testing.T) {
	e := newTestEnv(t)
	_, err := Collect(t.Context(), e.admin, Ref{Kind: KindBuildRun, Namespace: e.ns, Name: "no-such-buildrun"}, Options{})
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "no-such-buildrun") {
		t.Errorf("err = %v, want ErrNotFound naming the buildrun", err)
	}
}

func TestShipwrightRBAC(t *testing.T) {
	e := newTestEnv(t)
	const name = "flask-build-rbac"
	createShipwright(t, e, name, nil, shpStatus(corev1.ConditionTrue, "Succeeded", "", map[string]any{
		"executor":  map[string]any{"kind": "TaskRun", "name": name + "-tr"},
		"output":    map[string]any{"digest": shpDigest},
		"buildSpec": shpBuildSnapshot("buildah", "quay.io/team-a/flask-app:v3"),
	}), []shpTaskRun{{name: name + "-tr", status: corev1.ConditionTrue, reason: "Succeeded",
		steps: []shpStep{{"source-default", shpSourceLog}, {"build-and-push", shpBuildahLog}}}}, nil)
	tests := []struct {
		name  string
		rules []rbacRule
		// wantErr are the words a refusal must say; none: collecting succeeds.
		wantErr []string
	}{
		{name: "readme permissions", rules: nil},
		{name: "no buildruns", rules: []rbacRule{{"shipwright.io", "buildruns"}}, wantErr: []string{`"get"`, "buildruns.shipwright.io", e.ns}},
		{name: "no taskruns", rules: []rbacRule{{"tekton.dev", "taskruns"}}, wantErr: []string{`"get"`, "taskruns.tekton.dev", e.ns}},
		{name: "no pods/log", rules: []rbacRule{{"", "pods/log"}}, wantErr: []string{`"get" on pods/log`, e.ns}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rules := ShipwrightRules()
			for _, r := range tt.rules {
				rules = tektonRulesWithout(rules, r.group, r.resource)
			}
			c := tektonServiceAccountClients(t, e, "collect-buildrun-"+string(rune('a'+i)), rules)
			opts := Options{LogFile: filepath.Join(t.TempDir(), "build.log")}
			rec, err := Collect(t.Context(), c, Ref{Kind: KindBuildRun, Namespace: e.ns, Name: name}, opts)
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("Collect: %v", err)
				}
				if rec.Phase != PhaseSucceeded || rec.Log.Missing != "" || rec.BaseImage != shpBuildahBase || rec.Log.Bytes == 0 {
					t.Errorf("record %+v", rec)
				}
				return
			}
			if !apierrors.IsForbidden(err) {
				t.Fatalf("err = %v, want a Forbidden error", err)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v, want it to say %q", err, w)
				}
			}
		})
	}
}

// rbacRule names one resource of one API group.
type rbacRule struct{ group, resource string }

func TestShipwrightPhase(t *testing.T) {
	tests := []struct {
		status   corev1.ConditionStatus
		reason   string
		want     Phase
		finished bool
	}{
		{corev1.ConditionTrue, "Succeeded", PhaseSucceeded, true},
		{corev1.ConditionFalse, "Failed", PhaseFailed, true},
		{corev1.ConditionFalse, "BuildRunTimeout", PhaseFailed, true},
		{corev1.ConditionFalse, "VulnerabilitiesFound", PhaseFailed, true},
		{corev1.ConditionFalse, "StepOutOfMemory", PhaseFailed, true},
		{corev1.ConditionFalse, "PodEvicted", PhaseFailed, true},
		{corev1.ConditionFalse, "TaskRunIsMissing", PhaseFailed, true},
		{corev1.ConditionFalse, "SomethingNew", PhaseFailed, true},
		{corev1.ConditionFalse, "BuildRunCanceled", PhaseCancelled, true},
		// Reasons the BuildRun took over from its TaskRun.
		{corev1.ConditionFalse, "TaskRunCancelled", PhaseCancelled, true},
		{corev1.ConditionFalse, "TaskRunImagePullFailed", PhaseError, true},
		// The build never ran its steps.
		{corev1.ConditionFalse, "BuildNotFound", PhaseError, true},
		{corev1.ConditionFalse, "BuildRegistrationFailed", PhaseError, true},
		{corev1.ConditionFalse, "ClusterBuildStrategyNotFound", PhaseError, true},
		{corev1.ConditionFalse, "ServiceAccountNotFound", PhaseError, true},
		{corev1.ConditionFalse, "UndefinedParameter", PhaseError, true},
		{corev1.ConditionFalse, "SpecOutputSecretRefNotFound", PhaseError, true},
		{corev1.ConditionFalse, "VolumeDoesNotExist", PhaseError, true},
		{corev1.ConditionFalse, "BuildRunNoRefOrSpec", PhaseError, true},
		{corev1.ConditionFalse, "TaskRunGenerationFailed", PhaseError, true},
		{corev1.ConditionUnknown, "Running", "", false},
		{corev1.ConditionUnknown, "Pending", "", false},
		{corev1.ConditionUnknown, "BuildRunCanceled", "", false}, // cancel requested, not done
		{"", "", "", false},
	}
	for _, tt := range tests {
		t.Run(string(tt.status)+"/"+tt.reason, func(t *testing.T) {
			got, finished := ShipwrightPhase(tt.status, tt.reason)
			if got != tt.want || finished != tt.finished {
				t.Errorf("ShipwrightPhase(%q, %q) = %q, %t; want %q, %t", tt.status, tt.reason, got, finished, tt.want, tt.finished)
			}
		})
	}
}

func TestBuildRunOutput(t *testing.T) {
	spec := func(image string) *shpBuildSpec { return &shpBuildSpec{Output: shpImage{Image: image}} }
	tests := []struct {
		name      string
		br        buildRun
		want      imageRef
		wantNotes []string // substrings, one per note
	}{
		{name: "build's image and digest",
			br:   buildRun{Status: buildRunStatus{BuildSpec: spec("quay.io/a/app:v1"), Output: &shpOutput{Digest: shpDigest}}},
			want: imageRef{Image: "quay.io/a/app@" + shpDigest, Tag: "quay.io/a/app:v1", Digest: shpDigest}},
		{name: "buildrun override",
			br: buildRun{Spec: buildRunSpec{Output: &shpImage{Image: "registry.local:5000/b/app"}},
				Status: buildRunStatus{BuildSpec: spec("quay.io/a/app:v1"), Output: &shpOutput{Digest: shpDigest}}},
			want: imageRef{Image: "registry.local:5000/b/app@" + shpDigest, Digest: shpDigest}},
		{name: "no digest",
			br:   buildRun{Status: buildRunStatus{BuildSpec: spec("quay.io/a/app:v1")}},
			want: imageRef{Image: "quay.io/a/app:v1", Tag: "quay.io/a/app:v1"}},
		{name: "status digest wins over the image's own",
			br:   buildRun{Status: buildRunStatus{BuildSpec: spec("quay.io/a/app@" + shpDigestArm), Output: &shpOutput{Digest: shpDigest}}},
			want: imageRef{Image: "quay.io/a/app@" + shpDigest, Digest: shpDigest}},
		{name: "malformed digest",
			br:        buildRun{Status: buildRunStatus{BuildSpec: spec("quay.io/a/app:v1"), Output: &shpOutput{Digest: "sha256:short"}}},
			want:      imageRef{Image: "quay.io/a/app:v1", Tag: "quay.io/a/app:v1"},
			wantNotes: []string{`status.output.digest "sha256:short" is not a digest`}},
		{name: "no image",
			br:        buildRun{Status: buildRunStatus{Output: &shpOutput{Digest: shpDigest}}},
			want:      imageRef{Digest: shpDigest},
			wantNotes: []string{"names no repository"}},
		{name: "not an image",
			br:        buildRun{Status: buildRunStatus{BuildSpec: spec("Quay.io/UPPER CASE"), Output: &shpOutput{Digest: shpDigest}}},
			wantNotes: []string{`status.buildSpec.output.image "Quay.io/UPPER CASE" is not an image reference`}},
		{name: "nothing", br: buildRun{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, notes := buildRunOutput(&tt.br)
			if got != tt.want {
				t.Errorf("image %+v, want %+v", got, tt.want)
			}
			checkNotes(t, notes, tt.wantNotes)
		})
	}
}

func TestBuildRunBase(t *testing.T) {
	value := func(name, v string) shpParamValue { return shpParamValue{Name: name, Value: &v} }
	withBuild := func(params ...shpParamValue) buildRunStatus {
		return buildRunStatus{BuildSpec: &shpBuildSpec{ParamValues: params}}
	}
	tests := []struct {
		name      string
		br        buildRun
		want      string
		wantNotes []string
	}{
		{name: "build's builder-image", br: buildRun{Status: withBuild(value("builder-image", "quay.io/s2i/python:3.11"))}, want: "quay.io/s2i/python:3.11"},
		{name: "buildrun overrides the build",
			br: buildRun{Spec: buildRunSpec{ParamValues: []shpParamValue{value("from", "quay.io/b/base:2")}},
				Status: withBuild(value("from", "quay.io/a/base:1"))},
			want: "quay.io/b/base:2"},
		{name: "builder-image before from",
			br:   buildRun{Status: withBuild(value("from", "quay.io/a/base:1"), value("builder-image", "quay.io/s2i/python:3.11"))},
			want: "quay.io/s2i/python:3.11"},
		{name: "other params are no base", br: buildRun{Status: withBuild(value("dockerfile", "Containerfile"), value("runtime-stage-from", "quay.io/a/rt:1"))}},
		{name: "configmap value",
			br: buildRun{Spec: buildRunSpec{ParamValues: []shpParamValue{{Name: "builder-image", ConfigMapValue: &shpKeyRef{Name: "images", Key: "python"}}}},
				Status: withBuild(value("builder-image", "quay.io/not/this:1"))},
			wantNotes: []string{`spec.paramValues param builder-image comes from ConfigMap "images" key "python"`}},
		{name: "not an image",
			br:        buildRun{Status: withBuild(value("builder-image", "not an image"), value("from", "quay.io/a/base:1"))},
			want:      "quay.io/a/base:1",
			wantNotes: []string{`param builder-image "not an image" is not an image reference`}},
		{name: "nothing", br: buildRun{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, notes := buildRunBase(&tt.br)
			if got != tt.want {
				t.Errorf("base %q, want %q", got, tt.want)
			}
			checkNotes(t, notes, tt.wantNotes)
		})
	}
}

func TestBuildRunExecutor(t *testing.T) {
	name := func(s string) *string { return &s }
	tests := []struct {
		name             string
		status           buildRunStatus
		wantKind, wantTR string
	}{
		{"executor", buildRunStatus{Executor: &shpExecutor{Kind: "PipelineRun", Name: "pr"}, TaskRunName: name("old")}, "PipelineRun", "pr"},
		{"executor without kind", buildRunStatus{Executor: &shpExecutor{Name: "tr"}}, "TaskRun", "tr"},
		{"deprecated taskRunName", buildRunStatus{TaskRunName: name("tr")}, "TaskRun", "tr"},
		{"none", buildRunStatus{}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kind, got := buildRunExecutor(&buildRun{Status: tt.status})
			if !reflect.DeepEqual([]string{kind, got}, []string{tt.wantKind, tt.wantTR}) {
				t.Errorf("executor %s %s, want %s %s", kind, got, tt.wantKind, tt.wantTR)
			}
		})
	}
}

// FuzzBuildRunImages feeds any output image, digest and base-image params to the BuildRun
// readers: no panic, an output image only when it parses as a reference (with the digest
// when one is reported), a base image only when it parses, and notes of bounded size.
func FuzzBuildRunImages(f *testing.F) {
	f.Add("quay.io/a/app:v1", shpDigest, "quay.io/s2i/python:3.11", "")
	f.Add("registry.local:5000/b/app", "", "", "quay.io/a/base:1")
	f.Add("quay.io/a/app@"+shpDigestArm, shpDigest, "not an image", "quay.io/a/base:1")
	f.Add("Quay.io/UPPER CASE", "sha256:short", "", "")
	f.Add("", shpDigest, "@", "::")
	f.Fuzz(func(t *testing.T, image, digest, builder, from string) {
		br := &buildRun{Status: buildRunStatus{
			BuildSpec: &shpBuildSpec{Output: shpImage{Image: image}, ParamValues: []shpParamValue{{Name: "from", Value: &from}}},
			Output:    &shpOutput{Digest: digest},
		}, Spec: buildRunSpec{ParamValues: []shpParamValue{{Name: "builder-image", Value: &builder}}}}
		out, notes := buildRunOutput(br)
		if out.Image != "" {
			if _, err := name.ParseReference(out.Image); err != nil {
				t.Errorf("output image %q does not parse: %v", out.Image, err)
			}
			if out.Digest != "" && !strings.HasSuffix(out.Image, "@"+out.Digest) {
				t.Errorf("output image %q lacks its digest %q", out.Image, out.Digest)
			}
		}
		base, baseNotes := buildRunBase(br)
		if base != "" {
			if _, err := name.ParseReference(base); err != nil {
				t.Errorf("base image %q does not parse: %v", base, err)
			}
		}
		for _, n := range append(notes, baseNotes...) {
			if len(n) > maxNote+len("…") {
				t.Errorf("note of %d bytes: %q", len(n), n)
			}
		}
	})
}
