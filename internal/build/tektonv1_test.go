package build

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
)

// asMirror encodes one of Tekton's own objects and decodes it into its mirror the way
// collecting does: JSON, as the API server sends it, to unstructured, to the mirror.
func asMirror[T any](t testing.TB, obj any) *T {
	t.Helper()
	raw, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(raw); err != nil {
		// Unstructured wants a kind; parts of objects are decoded as plain maps.
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		u.Object = m
	}
	out, err := decode[T](u)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestTektonMirror checks that the mirror types read every field collecting uses from what
// Tekton's own v1 types write.
func TestTektonMirror(t *testing.T) {
	start := metav1.NewTime(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC))
	end := metav1.NewTime(start.Add(5 * time.Minute))
	finally := metav1.NewTime(start.Add(4 * time.Minute))
	str := func(s string) *pipelinev1.ParamValue { return pipelinev1.NewStructuredValues(s) }
	cond := duckv1.Status{Conditions: duckv1.Conditions{
		{Type: apis.ConditionReady, Status: corev1.ConditionTrue},
		{Type: apis.ConditionSucceeded, Status: corev1.ConditionFalse, Reason: "Failed", Message: "step build failed"},
	}}
	pr := &pipelinev1.PipelineRun{
		TypeMeta:   metav1.TypeMeta{APIVersion: "tekton.dev/v1", Kind: "PipelineRun"},
		ObjectMeta: metav1.ObjectMeta{Name: "build-1", Namespace: "team-a", UID: "0b1c", ResourceVersion: "42"},
		Spec: pipelinev1.PipelineRunSpec{
			Status: pipelinev1.PipelineRunSpecStatusCancelledRunFinally,
			Params: pipelinev1.Params{
				{Name: "BASE_IMAGE", Value: *str("registry.access.redhat.com/ubi9/python-311:latest")},
				{Name: "TAGS", Value: *pipelinev1.NewStructuredValues("a", "b")},
				{Name: "OBJ", Value: *pipelinev1.NewObject(map[string]string{"k": "v"})},
			},
		},
		Status: pipelinev1.PipelineRunStatus{
			Status: cond,
			PipelineRunStatusFields: pipelinev1.PipelineRunStatusFields{
				StartTime: &start, CompletionTime: &end, FinallyStartTime: &finally,
				Results: []pipelinev1.PipelineRunResult{
					{Name: "IMAGE_URL", Value: *str("quay.io/a/b:1")},
					{Name: "IMAGES", Value: *pipelinev1.NewStructuredValues("quay.io/a/b@sha256:00", "quay.io/a/c@sha256:11")},
				},
				PipelineSpec: &pipelinev1.PipelineSpec{
					Params:  pipelinev1.ParamSpecs{{Name: "FROM", Type: pipelinev1.ParamTypeString, Default: str("quay.io/base:1")}},
					Finally: []pipelinev1.PipelineTask{{Name: "collect"}},
				},
				ChildReferences: []pipelinev1.ChildStatusReference{
					{TypeMeta: runtimeTypeMeta("TaskRun"), Name: "build-1-fetch", PipelineTaskName: "fetch"},
					{TypeMeta: runtimeTypeMeta("CustomRun"), Name: "build-1-wait", PipelineTaskName: "wait"},
				},
			},
		},
	}
	want := &pipelineRun{
		ObjectMeta: metav1.ObjectMeta{Name: "build-1", Namespace: "team-a", UID: "0b1c", ResourceVersion: "42"},
		Spec: pipelineRunSpec{
			Status: "CancelledRunFinally",
			Params: []param{
				{Name: "BASE_IMAGE", Value: paramValue{Type: paramTypeString, StringVal: "registry.access.redhat.com/ubi9/python-311:latest"}},
				{Name: "TAGS", Value: paramValue{Type: paramTypeArray, ArrayVal: []string{"a", "b"}}},
				{Name: "OBJ", Value: paramValue{Type: paramTypeObject, ObjectVal: map[string]string{"k": "v"}}},
			},
		},
		Status: pipelineRunStatus{
			Conditions: []condition{
				{Type: "Ready", Status: corev1.ConditionTrue},
				{Type: "Succeeded", Status: corev1.ConditionFalse, Reason: "Failed", Message: "step build failed"},
			},
			StartTime: &start, CompletionTime: &end, FinallyStartTime: &finally,
			Results: []runResult{
				{Name: "IMAGE_URL", Value: paramValue{Type: paramTypeString, StringVal: "quay.io/a/b:1"}},
				{Name: "IMAGES", Value: paramValue{Type: paramTypeArray, ArrayVal: []string{"quay.io/a/b@sha256:00", "quay.io/a/c@sha256:11"}}},
			},
			PipelineSpec: &pipelineSpec{
				Params:  []paramSpec{{Name: "FROM", Type: "string", Default: &paramValue{Type: paramTypeString, StringVal: "quay.io/base:1"}}},
				Finally: []pipelineTask{{Name: "collect"}},
			},
			ChildReferences: []childRef{
				{Kind: "TaskRun", Name: "build-1-fetch", PipelineTaskName: "fetch"},
				{Kind: "CustomRun", Name: "build-1-wait", PipelineTaskName: "wait"},
			},
		},
	}
	if got := asMirror[pipelineRun](t, pr); !equality.Semantic.DeepEqual(got, want) {
		t.Errorf("pipelinerun mirror:\n got %+v\nwant %+v", got, want)
	}
	if c := succeeded(want.Status.Conditions); c == nil || c.Reason != "Failed" {
		t.Errorf("succeeded = %+v", c)
	}

	tr := &pipelinev1.TaskRun{
		TypeMeta:   metav1.TypeMeta{APIVersion: "tekton.dev/v1", Kind: "TaskRun"},
		ObjectMeta: metav1.ObjectMeta{Name: "build-1-fetch", Namespace: "team-a"},
		Spec: pipelinev1.TaskRunSpec{
			Params:        pipelinev1.Params{{Name: "BUILDER_IMAGE", Value: *str("quay.io/buildah/stable:v1")}},
			StatusMessage: pipelinev1.TaskRunCancelledByPipelineTimeoutMsg,
		},
		Status: pipelinev1.TaskRunStatus{
			Status: cond,
			TaskRunStatusFields: pipelinev1.TaskRunStatusFields{
				PodName: "build-1-fetch-pod", StartTime: &start, CompletionTime: &end,
				Steps: []pipelinev1.StepState{{Name: "clone", Container: "step-clone"}},
				Results: []pipelinev1.TaskRunResult{
					{Name: "IMAGE_DIGEST", Type: pipelinev1.ResultsTypeString, Value: *str("sha256:00")},
				},
				TaskSpec: &pipelinev1.TaskSpec{
					Params:       pipelinev1.ParamSpecs{{Name: "BUILDER_IMAGE", Type: pipelinev1.ParamTypeString}},
					Steps:        []pipelinev1.Step{{Name: "clone", Image: "$(params.BUILDER_IMAGE)"}},
					Sidecars:     []pipelinev1.Sidecar{{Name: "registry", Image: "docker.io/library/registry:2"}},
					StepTemplate: &pipelinev1.StepTemplate{Image: "quay.io/tools:1"},
				},
			},
		},
	}
	wantTR := &taskRun{
		ObjectMeta: metav1.ObjectMeta{Name: "build-1-fetch", Namespace: "team-a"},
		Spec: taskRunSpec{
			Params:        []param{{Name: "BUILDER_IMAGE", Value: paramValue{Type: paramTypeString, StringVal: "quay.io/buildah/stable:v1"}}},
			StatusMessage: taskRunCancelledByPipelineTimeout,
		},
		Status: taskRunStatus{
			Conditions: want.Status.Conditions,
			PodName:    "build-1-fetch-pod", StartTime: &start, CompletionTime: &end,
			Steps:   []stepState{{Name: "clone", Container: "step-clone"}},
			Results: []runResult{{Name: "IMAGE_DIGEST", Value: paramValue{Type: paramTypeString, StringVal: "sha256:00"}}},
			TaskSpec: &taskSpec{
				Params:       []paramSpec{{Name: "BUILDER_IMAGE", Type: "string"}},
				Steps:        []container{{Name: "clone", Image: "$(params.BUILDER_IMAGE)"}},
				Sidecars:     []container{{Name: "registry", Image: "docker.io/library/registry:2"}},
				StepTemplate: &container{Image: "quay.io/tools:1"},
			},
		},
	}
	if got := asMirror[taskRun](t, tr); !equality.Semantic.DeepEqual(got, wantTR) {
		t.Errorf("taskrun mirror:\n got %+v\nwant %+v", got, wantTR)
	}
}

func runtimeTypeMeta(kind string) runtime.TypeMeta {
	return runtime.TypeMeta{APIVersion: "tekton.dev/v1", Kind: kind}
}

func TestParamValueUnmarshal(t *testing.T) {
	tests := []struct {
		in   string
		want paramValue
	}{
		{`"quay.io/a:1"`, paramValue{Type: paramTypeString, StringVal: "quay.io/a:1"}},
		{`["a","b"]`, paramValue{Type: paramTypeArray, ArrayVal: []string{"a", "b"}}},
		{`[]`, paramValue{Type: paramTypeArray, ArrayVal: []string{}}},
		{`{"k":"v"}`, paramValue{Type: paramTypeObject, ObjectVal: map[string]string{"k": "v"}}},
		{`[1,2]`, paramValue{Type: paramTypeString, StringVal: "[1,2]"}},
		{`{"k":1}`, paramValue{Type: paramTypeString, StringVal: `{"k":1}`}},
		{`12`, paramValue{Type: paramTypeString, StringVal: "12"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var got paramValue
			if err := json.Unmarshal([]byte(tt.in), &got); err != nil {
				t.Fatal(err)
			}
			var tekton pipelinev1.ParamValue
			if err := json.Unmarshal([]byte(tt.in), &tekton); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if string(tekton.Type) != got.Type || tekton.StringVal != got.StringVal || !reflect.DeepEqual(tekton.ArrayVal, got.ArrayVal) || !reflect.DeepEqual(tekton.ObjectVal, got.ObjectVal) {
				t.Errorf("Tekton reads %+v, the mirror %+v", tekton, got)
			}
		})
	}
}

// FuzzParamValue: the mirror reads any JSON value as Tekton's own ParamValue does.
func FuzzParamValue(f *testing.F) {
	for _, s := range []string{`"a"`, `["a","b"]`, `{"k":"v"}`, `[1]`, `{"k":{}}`, `null`, `12.5`, `"\u00e9"`, `[]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if !json.Valid([]byte(in)) {
			return // the API server only sends JSON
		}
		var got paramValue
		var tekton pipelinev1.ParamValue
		errMirror, errTekton := json.Unmarshal([]byte(in), &got), json.Unmarshal([]byte(in), &tekton)
		if (errMirror == nil) != (errTekton == nil) {
			t.Fatalf("%s: mirror error %v, Tekton error %v", in, errMirror, errTekton)
		}
		if string(tekton.Type) != got.Type || tekton.StringVal != got.StringVal || !reflect.DeepEqual(tekton.ArrayVal, got.ArrayVal) || !reflect.DeepEqual(tekton.ObjectVal, got.ObjectVal) {
			t.Errorf("%s: Tekton reads %+v, the mirror %+v", in, tekton, got)
		}
	})
}
