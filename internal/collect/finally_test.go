package collect

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"knative.dev/pkg/apis"

	"github.com/thoth-station/build-watcher/internal/build"
	"github.com/thoth-station/build-watcher/internal/controlplane"
)

const (
	finallyDigest   = "sha256:4444444444444444444444444444444444444444444444444444444444444444"
	finallyBuildLog = "STEP 1/2: FROM registry.access.redhat.com/ubi9/python-311:latest\nCOMMIT quay.io/team-a/app:v2\n"
	finallyOwnLog   = "collect-build: reading pipelinerun app-build-fin1\n"
)

// createFinallyRun makes the PipelineRun app-build-fin1 of a build task and a finally
// task, as the controller leaves it while the finally task (this collect-build) runs.
func createFinallyRun(t *testing.T, front *controlplane.LogFront, ns string) {
	t.Helper()
	ctx := t.Context()
	tc, err := tektonclient.NewForConfig(cp.Config())
	if err != nil {
		t.Fatal(err)
	}
	kc, err := kubernetes.NewForConfig(cp.Config())
	if err != nil {
		t.Fatal(err)
	}
	now := metav1.NewTime(time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC))
	taskRun := func(task string, cond apis.Condition, results ...pipelinev1.TaskRunResult) {
		name := "app-build-fin1-" + task
		tr, err := tc.TektonV1().TaskRuns(ns).Create(ctx, &pipelinev1.TaskRun{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"tekton.dev/pipelineTask": task}},
			Spec:       pipelinev1.TaskRunSpec{TaskRef: &pipelinev1.TaskRef{Name: task}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		tr.Status.SetCondition(&cond)
		tr.Status.PodName, tr.Status.StartTime, tr.Status.Results = name+"-pod", &now, results
		tr.Status.Steps = []pipelinev1.StepState{{Name: task, Container: "step-" + task}}
		if _, err := tc.TektonV1().TaskRuns(ns).UpdateStatus(ctx, tr, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name + "-pod"}, Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "step-" + task, Image: "registry.example/" + task + ":1"}},
		}}
		if _, err := kc.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	taskRun("build", apis.Condition{Type: apis.ConditionSucceeded, Status: corev1.ConditionTrue, Reason: "Succeeded"},
		pipelinev1.TaskRunResult{Name: "IMAGE_URL", Type: pipelinev1.ResultsTypeString, Value: *pipelinev1.NewStructuredValues("quay.io/team-a/app:v2")},
		pipelinev1.TaskRunResult{Name: "IMAGE_DIGEST", Type: pipelinev1.ResultsTypeString, Value: *pipelinev1.NewStructuredValues(finallyDigest)})
	taskRun("thoth", apis.Condition{Type: apis.ConditionSucceeded, Status: corev1.ConditionUnknown, Reason: "Running"},
		// A finally task's own results are not the build's.
		pipelinev1.TaskRunResult{Name: "IMAGE_URL", Type: pipelinev1.ResultsTypeString, Value: *pipelinev1.NewStructuredValues("quay.io/not/the-build:1")})
	front.SetPodLog(ns, "app-build-fin1-build-pod", "step-build", []byte(finallyBuildLog))
	front.SetPodLog(ns, "app-build-fin1-thoth-pod", "step-thoth", []byte(finallyOwnLog))

	pr, err := tc.TektonV1().PipelineRuns(ns).Create(ctx, &pipelinev1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{Name: "app-build-fin1"},
		Spec:       pipelinev1.PipelineRunSpec{PipelineRef: &pipelinev1.PipelineRef{Name: "app-build"}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pr.Status.MarkRunning("Running", "Tasks Completed: 1 (Failed: 0, Cancelled 0), Incomplete: 1, Skipped: 0")
	pr.Status.StartTime, pr.Status.FinallyStartTime = &now, &now
	pr.Status.PipelineSpec = &pipelinev1.PipelineSpec{
		Tasks:   []pipelinev1.PipelineTask{{Name: "build", TaskRef: &pipelinev1.TaskRef{Name: "buildah"}}},
		Finally: []pipelinev1.PipelineTask{{Name: "thoth", TaskRef: &pipelinev1.TaskRef{Name: "collect-build"}}},
	}
	for _, task := range []string{"build", "thoth"} {
		pr.Status.ChildReferences = append(pr.Status.ChildReferences, pipelinev1.ChildStatusReference{
			TypeMeta: runtime.TypeMeta{APIVersion: "tekton.dev/v1", Kind: "TaskRun"}, Name: "app-build-fin1-" + task, PipelineTaskName: task,
		})
	}
	if _, err := tc.TektonV1().PipelineRuns(ns).UpdateStatus(ctx, pr, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestRunInFinally is collect-build as a finally task of the build pipeline it reads, with
// the build-log workspace bound (a directory): the run counts as finished, without the
// finally task itself.
func TestRunInFinally(t *testing.T) {
	ns, err := cp.CreateNamespace(t.Context(), "collect")
	if err != nil {
		t.Fatal(err)
	}
	front, err := cp.StartLogFront()
	if err != nil {
		t.Fatal(err)
	}
	defer front.Close()
	createFinallyRun(t, front, ns)

	workspace, results := t.TempDir(), t.TempDir()
	var out bytes.Buffer
	rec, err := Run(t.Context(), Options{BuildRef: "pipelinerun/" + ns + "/app-build-fin1", LogFile: workspace, ResultsDir: results,
		Format: FormatText, REST: front.Config(cp.Config())}, streams(&out))
	if err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(workspace, LogFileName)
	for name, want := range map[string]string{
		ResultPhase:       string(build.PhaseSucceeded),
		ResultOutputImage: "quay.io/team-a/app@" + finallyDigest,
		ResultBaseImage:   "registry.access.redhat.com/ubi9/python-311:latest",
		ResultLogPath:     logPath,
	} {
		if got, err := os.ReadFile(filepath.Join(results, name)); err != nil || string(got) != want {
			t.Errorf("result %s = %q (%v), want %q", name, got, err, want)
		}
	}
	if got, err := os.ReadFile(logPath); err != nil || string(got) != "[build/build]\n"+finallyBuildLog {
		t.Errorf("log = %q (%v), want the build task's only", got, err)
	}
	if rec.OriginalPhase != "Running" || !strings.Contains(out.String(), "phase: Succeeded (Running)") {
		t.Errorf("record phase %s (%s), output:\n%s", rec.Phase, rec.OriginalPhase, out.String())
	}
}
