package build

import (
	"encoding/json"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// This file mirrors the fields of tekton.dev/v1 PipelineRuns and TaskRuns that collecting
// reads, with the JSON names of github.com/tektoncd/pipeline/pkg/apis/pipeline/v1. Runs are
// read through the dynamic client and decoded into these, so that collect-build and
// submit-thoth need not link Tekton's API package (with CEL, knative and their init-time
// registries it more than doubled the binaries' resident memory). TestTektonMirror checks
// that they decode what Tekton's own types encode.

// Tekton's words for what collecting tells apart.
const (
	// The spec.status values of a PipelineRun cancelled or stopped by a person.
	pipelineRunCancelled         = "Cancelled"
	pipelineRunCancelledFinally  = "CancelledRunFinally"
	pipelineRunStoppedRunFinally = "StoppedRunFinally"
	// taskRunReasonFailureIgnored is the Succeeded reason of a failed TaskRun whose
	// pipeline task ignores failures (onError: continue).
	taskRunReasonFailureIgnored = "FailureIgnored"
	// taskRunCancelledByPipelineTimeout is the spec.statusMessage of a TaskRun cancelled
	// because its PipelineRun timed out.
	taskRunCancelledByPipelineTimeout = "TaskRun cancelled as the PipelineRun it belongs to has timed out."
)

// The types of a param or result value.
const (
	paramTypeString = "string"
	paramTypeArray  = "array"
	paramTypeObject = "object"
)

// pipelineRun is a tekton.dev/v1 PipelineRun, as far as collecting reads it.
type pipelineRun struct {
	metav1.ObjectMeta `json:"metadata"`
	Spec              pipelineRunSpec   `json:"spec"`
	Status            pipelineRunStatus `json:"status"`
}

type pipelineRunSpec struct {
	Params       []param       `json:"params,omitempty"`
	PipelineSpec *pipelineSpec `json:"pipelineSpec,omitempty"`
	// Status is set to cancel, stop or hold the run.
	Status string `json:"status,omitempty"`
}

type pipelineRunStatus struct {
	Conditions       []condition   `json:"conditions,omitempty"`
	StartTime        *metav1.Time  `json:"startTime,omitempty"`
	CompletionTime   *metav1.Time  `json:"completionTime,omitempty"`
	FinallyStartTime *metav1.Time  `json:"finallyStartTime,omitempty"`
	Results          []runResult   `json:"results,omitempty"`
	PipelineSpec     *pipelineSpec `json:"pipelineSpec,omitempty"`
	ChildReferences  []childRef    `json:"childReferences,omitempty"`
}

type pipelineSpec struct {
	Params  []paramSpec    `json:"params,omitempty"`
	Finally []pipelineTask `json:"finally,omitempty"`
}

type pipelineTask struct {
	Name string `json:"name,omitempty"`
}

// childRef is an entry of a PipelineRun's status.childReferences.
type childRef struct {
	Kind             string `json:"kind,omitempty"`
	Name             string `json:"name,omitempty"`
	PipelineTaskName string `json:"pipelineTaskName,omitempty"`
}

// taskRun is a tekton.dev/v1 TaskRun, as far as collecting reads it.
type taskRun struct {
	metav1.ObjectMeta `json:"metadata"`
	Spec              taskRunSpec   `json:"spec"`
	Status            taskRunStatus `json:"status"`
}

type taskRunSpec struct {
	Params        []param `json:"params,omitempty"`
	StatusMessage string  `json:"statusMessage,omitempty"`
}

type taskRunStatus struct {
	Conditions     []condition  `json:"conditions,omitempty"`
	PodName        string       `json:"podName"`
	StartTime      *metav1.Time `json:"startTime,omitempty"`
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`
	Steps          []stepState  `json:"steps,omitempty"`
	Results        []runResult  `json:"results,omitempty"`
	TaskSpec       *taskSpec    `json:"taskSpec,omitempty"`
}

type stepState struct {
	Name      string `json:"name,omitempty"`
	Container string `json:"container,omitempty"`
}

type taskSpec struct {
	Params       []paramSpec `json:"params,omitempty"`
	Steps        []container `json:"steps,omitempty"`
	Sidecars     []container `json:"sidecars,omitempty"`
	StepTemplate *container  `json:"stepTemplate,omitempty"`
}

// container is a step, sidecar or step template: its name and image, and the command,
// script and env in which some Tasks name their base image.
type container struct {
	Name    string   `json:"name,omitempty"`
	Image   string   `json:"image,omitempty"`
	Command []string `json:"command,omitempty"`
	Args    []string `json:"args,omitempty"`
	Script  string   `json:"script,omitempty"`
	Env     []envVar `json:"env,omitempty"`
}

// envVar is an env var of a container; one set from a Secret, ConfigMap or field has no value.
type envVar struct {
	Name  string `json:"name"`
	Value string `json:"value,omitempty"`
}

// condition is a knative condition of a run's status.
type condition struct {
	Type    string                 `json:"type"`
	Status  corev1.ConditionStatus `json:"status"`
	Reason  string                 `json:"reason,omitempty"`
	Message string                 `json:"message,omitempty"`
}

type param struct {
	Name  string     `json:"name"`
	Value paramValue `json:"value"`
}

type paramSpec struct {
	Name    string      `json:"name"`
	Type    string      `json:"type,omitempty"`
	Default *paramValue `json:"default,omitempty"`
}

type runResult struct {
	Name  string     `json:"name"`
	Value paramValue `json:"value"`
}

// paramValue is a string, array or object param or result value.
type paramValue struct {
	Type      string
	StringVal string
	ArrayVal  []string
	ObjectVal map[string]string
}

// UnmarshalJSON reads a value as Tekton does: an array of strings, an object of strings,
// else a string (a JSON string unquoted, anything else as written).
func (v *paramValue) UnmarshalJSON(data []byte) error {
	*v = paramValue{Type: paramTypeString}
	if len(data) == 0 {
		return nil
	}
	switch data[0] {
	case '[':
		var a []string
		if json.Unmarshal(data, &a) == nil {
			v.Type, v.ArrayVal = paramTypeArray, a
			return nil
		}
	case '{':
		var m map[string]string
		if json.Unmarshal(data, &m) == nil {
			v.Type, v.ObjectVal = paramTypeObject, m
			return nil
		}
	}
	if json.Unmarshal(data, &v.StringVal) != nil {
		v.StringVal = string(data)
	}
	return nil
}

// succeeded returns the Succeeded condition, nil when there is none yet.
func succeeded(conds []condition) *condition {
	for i := range conds {
		if conds[i].Type == conditionSucceeded {
			return &conds[i]
		}
	}
	return nil
}
