package watcher

import (
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/thoth-station/build-watcher/internal/build"
)

func TestWorkflowView(t *testing.T) {
	const name = "thoth-build-analysis-0123456789ab"
	wf := func(suspend any, status map[string]any) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "spec": map[string]any{}}}
		u.SetName(name)
		u.SetNamespace("thoth")
		u.SetAnnotations(map[string]string{AnnotationBuildRef: "build/team-a/app-7", AnnotationQueuedAt: "2026-12-05T10:00:00Z", "other": "dropped"})
		if suspend != nil {
			u.Object["spec"].(map[string]any)["suspend"] = suspend
		}
		if status != nil {
			u.Object["status"] = status
		}
		return u
	}
	outputs := map[string]any{name: map[string]any{"outputs": map[string]any{"parameters": []any{
		map[string]any{"name": "base-image-analysis-id", "value": "image-analyzer-1"},
		map[string]any{"name": "buildlog-document-id", "value": "buildlog-1"},
		map[string]any{"name": "phase", "value": "Failed"},
	}}}}
	tests := []struct {
		name       string
		obj        *unstructured.Unstructured
		state      prState
		reason     string
		ids        int
		errHas     string
		successful bool
	}{
		{name: "new", obj: wf(nil, nil), state: prStarted},
		{name: "suspended", obj: wf(true, nil), state: prPending},
		{name: "running", obj: wf(nil, map[string]any{"phase": "Running"}), state: prStarted},
		{name: "succeeded", obj: wf(nil, map[string]any{"phase": "Succeeded", "nodes": outputs}), state: prDone, ids: 2, successful: true},
		{name: "failed", obj: wf(nil, map[string]any{"phase": "Failed", "message": "child 'x' failed"}), state: prDone, reason: ReasonWorkflowFailed, errHas: "Failed: child 'x' failed"},
		{name: "error", obj: wf(nil, map[string]any{"phase": "Error", "message": "pod deleted"}), state: prDone, reason: ReasonWorkflowError, errHas: "Error: pod deleted"},
		{name: "invalid", obj: wf(nil, map[string]any{"phase": "Error", "message": "invalid spec: templates.analyse ..."}), state: prDone, reason: ReasonWorkflowInvalid},
		{name: "stopped", obj: wf(nil, map[string]any{"phase": "Failed", "message": "Stopped with strategy 'Terminate'"}), state: prDone, reason: ReasonWorkflowStopped},
		{name: "suspended and done", obj: wf(true, map[string]any{"phase": "Failed"}), state: prDone, reason: ReasonWorkflowFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			trimmed, err := trimWorkflow(tt.obj)
			if err != nil {
				t.Fatal(err)
			}
			if got := trimmed.(*workflowView).Annotations["other"]; got != "" {
				t.Errorf("a foreign annotation is kept: %q", got)
			}
			r, ok := argoRuns{}.view(trimmed)
			if !ok {
				t.Fatal("view refused a trimmed Workflow")
			}
			if r.state != tt.state || r.name != name || r.namespace != "thoth" || r.buildRef != "build/team-a/app-7" {
				t.Fatalf("view = %+v, want state %d", r, tt.state)
			}
			if want := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC); !r.queuedAt.Equal(want) {
				t.Errorf("queuedAt %s, want %s", r.queuedAt, want)
			}
			if tt.state != prDone {
				return
			}
			out := r.outcome("default")
			if (out.Err == nil) != tt.successful || out.Reason != tt.reason || len(out.IDs) != tt.ids {
				t.Fatalf("outcome %+v: want success %t, reason %q, %d ids", out, tt.successful, tt.reason, tt.ids)
			}
			if out.Err != nil && !strings.Contains(out.Err.Error(), "Workflow thoth/"+name+" on target default: "+tt.errHas) {
				t.Errorf("error %q does not name the Workflow and %q", out.Err, tt.errHas)
			}
			if tt.reason == ReasonWorkflowInvalid || tt.reason == ReasonWorkflowStopped {
				if !IsFinalReason(tt.reason) {
					t.Errorf("%s is not final", tt.reason)
				}
			} else if tt.reason != "" && IsFinalReason(tt.reason) {
				t.Errorf("%s is final: a new run may succeed", tt.reason)
			}
		})
	}
	if _, ok := (argoRuns{}).view(wf(nil, nil)); ok {
		t.Error("view accepted an untrimmed object")
	}
}

func TestNewWorkflow(t *testing.T) {
	c := &Config{
		ArgoTemplate: "thoth-build-analysis", ArgoTemplateKind: ArgoClusterWorkflowTemplate,
		ServiceAccount: "runner", Timeout: 90 * time.Second, SrcAuthSecret: "src", ThothCAConfigMap: "thoth-ca",
		Analysis: Analysis{ThothHost: "thoth.example.com", PushRegistry: "quay.io/t", Force: true},
	}
	b := &Build{Ref: build.Ref{Kind: build.KindBuild, Namespace: "team-a", Name: "app-7"}, UID: types.UID("uid-1")}
	at := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	wf := c.newWorkflow(b, Claim{Namespace: "thoth", Name: "run-1"}, 2, at, true)
	if wf.GetName() != "run-1" || wf.GetNamespace() != "thoth" || wf.GetLabels()[LabelBuildUID] != "uid-1" || wf.GetAnnotations()[AnnotationRunAttempt] != "2" {
		t.Errorf("metadata: %v %v", wf.GetLabels(), wf.GetAnnotations())
	}
	spec := wf.Object["spec"].(map[string]any)
	if spec["suspend"] != true || spec["serviceAccountName"] != "runner" || spec["activeDeadlineSeconds"] != int64(90) {
		t.Errorf("spec: %v", spec)
	}
	ref := spec["workflowTemplateRef"].(map[string]any)
	if ref["name"] != "thoth-build-analysis" || ref["clusterScope"] != true {
		t.Errorf("workflowTemplateRef: %v", ref)
	}
	params := map[string]string{}
	for _, p := range spec["arguments"].(map[string]any)["parameters"].([]any) {
		m := p.(map[string]any)
		params[m["name"].(string)] = m["value"].(string)
	}
	for k, v := range map[string]string{
		"build-ref": "build/team-a/app-7", "thoth-api-host": "thoth.example.com", "push-registry": "quay.io/t",
		"force": "true", "src-registry-auth-secret": "src", "thoth-ca-configmap": "thoth-ca", "origin": "team-a/app-7",
	} {
		if params[k] != v {
			t.Errorf("parameter %s = %q, want %q (all: %v)", k, params[k], v, params)
		}
	}
	if _, ok := params["dst-registry-auth-secret"]; ok {
		t.Error("an unset Secret is passed as a parameter")
	}
	if started := c.newWorkflow(b, Claim{Namespace: "thoth", Name: "run-1"}, 1, at, false); started.Object["spec"].(map[string]any)["suspend"] != nil {
		t.Error("a Workflow with a free slot is suspended")
	}
}
