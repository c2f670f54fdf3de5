package submit

import (
	"encoding/json"
	"testing"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"knative.dev/pkg/apis"

	"github.com/thoth-station/build-watcher/internal/controlplane"
	"github.com/thoth-station/build-watcher/internal/thoth/thothtest"
)

const (
	finallyDigest   = "sha256:4444444444444444444444444444444444444444444444444444444444444444"
	finallyBuildLog = "STEP 1/2: FROM registry.access.redhat.com/ubi9/python-311:latest\nCOMMIT quay.io/team-a/app:v2\n"
	finallyOwnLog   = "submit-thoth: reading pipelinerun app-build-fin1\n"
)

// createFinallyRun makes the PipelineRun app-build-fin1 of a build task and a finally
// task, as the controller leaves it while the finally task (this submit-thoth) runs.
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
		Finally: []pipelinev1.PipelineTask{{Name: "thoth", TaskRef: &pipelinev1.TaskRef{Name: "submit-thoth"}}},
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

// TestRunFromBuildRefInFinally is submit-thoth as a finally task of the build pipeline it
// reads, without a build-log workspace, with the output image mirrored to a push registry:
// the run counts as finished, its log and images are the build task's, and Thoth gets the
// copy of the output image.
func TestRunFromBuildRefInFinally(t *testing.T) {
	ns, err := cp.CreateNamespace(t.Context(), "submit")
	if err != nil {
		t.Fatal(err)
	}
	front, err := cp.StartLogFront()
	if err != nil {
		t.Fatal(err)
	}
	defer front.Close()
	createFinallyRun(t, front, ns)

	srv := thothtest.NewTestServer(t, thothtest.Options{})
	o := options(srv.URL())
	o.BuildRef, o.REST, o.PushRegistry = "pipelinerun/"+ns+"/app-build-fin1", front.Config(cp.Config()), "quay.io/thoth"
	var r run
	if _, err := Run(t.Context(), o, r.streams("")); err != nil {
		t.Fatal(err)
	}
	base, output := sentImages(t, srv)
	if base != "registry.access.redhat.com/ubi9/python-311:latest" || output != "quay.io/thoth/app@"+finallyDigest {
		t.Errorf("sent base %q, output %q; want the build task's, the output as its copy", base, output)
	}
	last := srv.Requests()[len(srv.Requests())-1]
	var body struct {
		BuildLog struct {
			Log string `json:"log"`
		} `json:"build_log"`
	}
	if err := json.Unmarshal(last.Body, &body); err != nil {
		t.Fatal(err)
	}
	if body.BuildLog.Log != "[build/build]\n"+finallyBuildLog || last.Query.Get("origin") != o.BuildRef {
		t.Errorf("sent log %q, origin %q; want the build task's log only", body.BuildLog.Log, last.Query.Get("origin"))
	}
}
