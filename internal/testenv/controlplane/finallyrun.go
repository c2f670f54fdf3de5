package controlplane

import (
	"context"
	"fmt"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"knative.dev/pkg/apis"
)

// FinallyRun describes the PipelineRun CreateFinallyRun makes.
type FinallyRun struct {
	// Name is the PipelineRun's name: app-build-fin1.
	Name string
	// Digest is the build task's IMAGE_DIGEST; the image is quay.io/team-a/app:v2.
	Digest string
	// BuildLog is the build task's step log; OwnLog the finally task's.
	BuildLog, OwnLog string
}

// CreateFinallyRun makes the PipelineRun app-build-fin1 of a build task "build" and a
// finally task "thoth" (running the Task finallyTask), with their TaskRuns, pods and step
// logs, as the Tekton controller leaves it while the finally task runs.
func (f *LogFront) CreateFinallyRun(ctx context.Context, namespace, finallyTask string) (FinallyRun, error) {
	run := FinallyRun{
		Name:     "app-build-fin1",
		Digest:   "sha256:4444444444444444444444444444444444444444444444444444444444444444",
		BuildLog: "STEP 1/2: FROM registry.access.redhat.com/ubi9/python-311:latest\nCOMMIT quay.io/team-a/app:v2\n",
		OwnLog:   finallyTask + ": reading pipelinerun app-build-fin1\n",
	}
	tc, err := tektonclient.NewForConfig(f.cp.admin)
	if err != nil {
		return run, err
	}
	kc, err := kubernetes.NewForConfig(f.cp.admin)
	if err != nil {
		return run, err
	}
	now := metav1.NewTime(time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC))
	taskRun := func(task string, cond apis.Condition, results ...pipelinev1.TaskRunResult) error {
		name := run.Name + "-" + task
		tr, err := tc.TektonV1().TaskRuns(namespace).Create(ctx, &pipelinev1.TaskRun{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"tekton.dev/pipelineTask": task}},
			Spec:       pipelinev1.TaskRunSpec{TaskRef: &pipelinev1.TaskRef{Name: task}},
		}, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("creating TaskRun %s/%s: %w", namespace, name, err)
		}
		tr.Status.SetCondition(&cond)
		tr.Status.PodName, tr.Status.StartTime, tr.Status.Results = name+"-pod", &now, results
		tr.Status.Steps = []pipelinev1.StepState{{Name: task, Container: "step-" + task}}
		if _, err := tc.TektonV1().TaskRuns(namespace).UpdateStatus(ctx, tr, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("setting the status of TaskRun %s/%s: %w", namespace, name, err)
		}
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name + "-pod"}, Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "step-" + task, Image: "registry.example/" + task + ":1"}},
		}}
		if _, err := kc.CoreV1().Pods(namespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating pod %s/%s: %w", namespace, pod.Name, err)
		}
		return nil
	}
	str := func(name, value string) pipelinev1.TaskRunResult {
		return pipelinev1.TaskRunResult{Name: name, Type: pipelinev1.ResultsTypeString, Value: *pipelinev1.NewStructuredValues(value)}
	}
	if err := taskRun("build", apis.Condition{Type: apis.ConditionSucceeded, Status: corev1.ConditionTrue, Reason: "Succeeded"},
		str("IMAGE_URL", "quay.io/team-a/app:v2"), str("IMAGE_DIGEST", run.Digest)); err != nil {
		return run, err
	}
	// A finally task's own results are not the build's.
	if err := taskRun("thoth", apis.Condition{Type: apis.ConditionSucceeded, Status: corev1.ConditionUnknown, Reason: "Running"},
		str("IMAGE_URL", "quay.io/not/the-build:1")); err != nil {
		return run, err
	}
	f.SetPodLog(namespace, run.Name+"-build-pod", "step-build", []byte(run.BuildLog))
	f.SetPodLog(namespace, run.Name+"-thoth-pod", "step-thoth", []byte(run.OwnLog))

	pr, err := tc.TektonV1().PipelineRuns(namespace).Create(ctx, &pipelinev1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{Name: run.Name},
		Spec:       pipelinev1.PipelineRunSpec{PipelineRef: &pipelinev1.PipelineRef{Name: "app-build"}},
	}, metav1.CreateOptions{})
	if err != nil {
		return run, fmt.Errorf("creating PipelineRun %s/%s: %w", namespace, run.Name, err)
	}
	pr.Status.MarkRunning("Running", "Tasks Completed: 1 (Failed: 0, Cancelled 0), Incomplete: 1, Skipped: 0")
	pr.Status.StartTime, pr.Status.FinallyStartTime = &now, &now
	pr.Status.PipelineSpec = &pipelinev1.PipelineSpec{
		Tasks:   []pipelinev1.PipelineTask{{Name: "build", TaskRef: &pipelinev1.TaskRef{Name: "buildah"}}},
		Finally: []pipelinev1.PipelineTask{{Name: "thoth", TaskRef: &pipelinev1.TaskRef{Name: finallyTask}}},
	}
	for _, task := range []string{"build", "thoth"} {
		pr.Status.ChildReferences = append(pr.Status.ChildReferences, pipelinev1.ChildStatusReference{
			TypeMeta: runtime.TypeMeta{APIVersion: "tekton.dev/v1", Kind: "TaskRun"}, Name: run.Name + "-" + task, PipelineTaskName: task,
		})
	}
	if _, err := tc.TektonV1().PipelineRuns(namespace).UpdateStatus(ctx, pr, metav1.UpdateOptions{}); err != nil {
		return run, fmt.Errorf("setting the status of PipelineRun %s/%s: %w", namespace, run.Name, err)
	}
	return run, nil
}
