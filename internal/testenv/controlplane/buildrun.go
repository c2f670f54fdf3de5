package controlplane

import (
	"context"
	"fmt"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"knative.dev/pkg/apis"
)

// BuildRunsResource is where the API serves Shipwright BuildRuns (ShipwrightCRDs).
var BuildRunsResource = schema.GroupVersionResource{Group: "shipwright.io", Version: "v1beta1", Resource: "buildruns"}

// BuildRun describes a BuildRun CreateBuildRun made: a buildah build of
// quay.io/team-a/flask-app:v3 from BuildRunBase, run by the TaskRun <name>-xk2p9.
type BuildRun struct {
	Name string
	UID  types.UID
	// TaskRun is its executor, Pod the TaskRun's pod.
	TaskRun, Pod string
	// Digest is status.output.digest; Output the image with it.
	Digest, Output string
	// SourceLog and BuildLog are the logs of the steps source-default and build-and-push.
	SourceLog, BuildLog string
}

// BuildRunBase is the base image the build log of CreateBuildRun names.
const BuildRunBase = "registry.access.redhat.com/ubi9/python-311:latest"

// CreateBuildRun makes a shipwright.io/v1beta1 BuildRun as Shipwright's controller leaves
// it, with its executor TaskRun, the TaskRun's pod and the step logs (served by f): a
// buildah build whose Succeeded condition has the given status and reason. Only a BuildRun
// that succeeded has an output digest; one that has not finished (status Unknown) has no
// completion time yet.
func (f *LogFront) CreateBuildRun(ctx context.Context, namespace, name string, status corev1.ConditionStatus, reason string) (BuildRun, error) {
	br := BuildRun{
		Name:      name,
		TaskRun:   name + "-xk2p9",
		Pod:       name + "-xk2p9-pod",
		Digest:    "sha256:7a1c3e5f7a9b1c3d5e7f9a1b3c5d7e9f1a3b5c7d9e1f3a5b7c9d1e3f5a7b9c1d",
		SourceLog: "Successfully loaded https://github.com/team-a/flask-app (main) into /workspace/source\n",
		BuildLog:  "STEP 1/3: FROM " + BuildRunBase + "\nSTEP 2/3: RUN pip install -r requirements.txt\nSTEP 3/3: CMD [\"python\", \"app.py\"]\n",
	}
	br.Output = "quay.io/team-a/flask-app@" + br.Digest
	tc, err := tektonclient.NewForConfig(f.cp.admin)
	if err != nil {
		return br, err
	}
	kc, err := kubernetes.NewForConfig(f.cp.admin)
	if err != nil {
		return br, err
	}
	dc, err := dynamic.NewForConfig(f.cp.admin)
	if err != nil {
		return br, err
	}
	// It ran for the last three minutes, as a build that finished now.
	end := metav1.NewTime(time.Now().UTC().Truncate(time.Second))
	start := metav1.NewTime(end.Add(-3 * time.Minute))
	finished := status == corev1.ConditionTrue || status == corev1.ConditionFalse

	steps := []string{"source-default", "build-and-push"}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: br.Pod}}
	for _, s := range steps {
		pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: "step-" + s, Image: "quay.io/containers/buildah:v1.39"})
	}
	if _, err := kc.CoreV1().Pods(namespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		return br, fmt.Errorf("creating pod %s/%s: %w", namespace, pod.Name, err)
	}
	f.SetPodLog(namespace, br.Pod, "step-source-default", []byte(br.SourceLog))
	f.SetPodLog(namespace, br.Pod, "step-build-and-push", []byte(br.BuildLog))

	tr, err := tc.TektonV1().TaskRuns(namespace).Create(ctx, &pipelinev1.TaskRun{
		ObjectMeta: metav1.ObjectMeta{Name: br.TaskRun, Labels: map[string]string{"buildrun.shipwright.io/name": name}},
		Spec: pipelinev1.TaskRunSpec{
			TaskSpec: &pipelinev1.TaskSpec{Steps: []pipelinev1.Step{
				{Name: steps[0], Image: "ghcr.io/shipwright-io/build/git:v0.17.0"},
				{Name: steps[1], Image: "quay.io/containers/buildah:v1.39"},
			}},
			Params: pipelinev1.Params{{Name: "shp-output-image", Value: *pipelinev1.NewStructuredValues("quay.io/team-a/flask-app:v3")}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		return br, fmt.Errorf("creating TaskRun %s/%s: %w", namespace, br.TaskRun, err)
	}
	tr.Status.SetCondition(&apis.Condition{Type: apis.ConditionSucceeded, Status: status, Reason: reason})
	tr.Status.PodName, tr.Status.StartTime = br.Pod, &start
	for _, s := range steps {
		tr.Status.Steps = append(tr.Status.Steps, pipelinev1.StepState{Name: s, Container: "step-" + s})
	}
	if finished {
		tr.Status.CompletionTime = &end
	}
	if status == corev1.ConditionTrue {
		tr.Status.Results = []pipelinev1.TaskRunResult{{Name: "shp-image-digest", Type: pipelinev1.ResultsTypeString, Value: *pipelinev1.NewStructuredValues(br.Digest)}}
	}
	if _, err := tc.TektonV1().TaskRuns(namespace).UpdateStatus(ctx, tr, metav1.UpdateOptions{}); err != nil {
		return br, fmt.Errorf("setting the status of TaskRun %s/%s: %w", namespace, br.TaskRun, err)
	}

	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "shipwright.io/v1beta1",
		"kind":       "BuildRun",
		"metadata":   map[string]any{"name": name},
		"spec":       map[string]any{"build": map[string]any{"name": "flask-app"}},
	}}
	buildRuns := dc.Resource(BuildRunsResource).Namespace(namespace)
	created, err := buildRuns.Create(ctx, obj, metav1.CreateOptions{})
	if err != nil {
		return br, fmt.Errorf("creating BuildRun %s/%s: %w", namespace, name, err)
	}
	br.UID = created.GetUID()
	st := map[string]any{
		"conditions": []any{map[string]any{
			"type": "Succeeded", "status": string(status), "reason": reason, "message": "",
			"lastTransitionTime": end.UTC().Format(time.RFC3339),
		}},
		"executor":    map[string]any{"kind": "TaskRun", "name": br.TaskRun},
		"taskRunName": br.TaskRun,
		"startTime":   start.UTC().Format(time.RFC3339),
		"buildSpec": map[string]any{
			"source":   map[string]any{"type": "Git", "git": map[string]any{"url": "https://github.com/team-a/flask-app"}},
			"strategy": map[string]any{"kind": "ClusterBuildStrategy", "name": "buildah"},
			"output":   map[string]any{"image": "quay.io/team-a/flask-app:v3"},
		},
	}
	if finished {
		st["completionTime"] = end.UTC().Format(time.RFC3339)
		st["source"] = map[string]any{"git": map[string]any{"commitSha": "0f3c9d1", "commitAuthor": "Team A", "branchName": "main"}}
	}
	if status == corev1.ConditionTrue {
		st["output"] = map[string]any{"digest": br.Digest, "size": int64(52_428_800)}
	}
	created.Object["status"] = st
	if _, err := buildRuns.UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		return br, fmt.Errorf("setting the status of BuildRun %s/%s: %w", namespace, name, err)
	}
	return br, nil
}
