package watcher

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
)

// Argo Workflows' API, reached with the dynamic client: the watcher reads and writes a few
// fields of a Workflow and needs none of Argo's Go modules.
var workflowsResource = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "workflows"}

// The kinds of template a Workflow can reference (--argo-template-kind).
const (
	ArgoWorkflowTemplate        = "WorkflowTemplate"
	ArgoClusterWorkflowTemplate = "ClusterWorkflowTemplate"
)

// Phases of a Workflow (status.phase) that end it.
const (
	workflowSucceeded = "Succeeded"
	workflowFailed    = "Failed"
	workflowError     = "Error"
)

// Reasons of a failed Workflow, beside Tekton's: Argo has no condition reason, so the
// watcher names the ends it tells apart.
const (
	// ReasonWorkflowFailed and ReasonWorkflowError: the Workflow ended Failed (a step
	// failed) or Error (the controller could not run it); a new run may succeed.
	ReasonWorkflowFailed = "WorkflowFailed"
	ReasonWorkflowError  = "WorkflowError"
	// ReasonWorkflowInvalid: Argo refused the Workflow's spec (the template is missing or
	// wrong); a new run would fail the same way.
	ReasonWorkflowInvalid = "WorkflowInvalid"
	// ReasonWorkflowStopped: a person stopped or terminated the Workflow (argo stop,
	// argo terminate); the watcher never does.
	ReasonWorkflowStopped = "WorkflowStopped"
)

// argoRuns are the runs of --executor argo: Workflows from the WorkflowTemplate (or
// ClusterWorkflowTemplate) thoth-build-analysis, queued as suspended Workflows
// (spec.suspend true) and resumed oldest first as slots free, like the PipelineRuns of the
// Tekton executor, so that placement, the cap and redelivery are the same code for both.
type argoRuns struct {
	cfg *Config
	own Clients
}

var _ runKind = argoRuns{}

func (argoRuns) kind() string     { return "Workflow" }
func (argoRuns) resource() string { return "workflows" }

func (k argoRuns) connect(kubeconfig string) (runClient, error) {
	if kubeconfig == "" {
		if k.own.Dynamic == nil {
			return nil, fmt.Errorf("--executor argo needs the watcher's dynamic client, which its Clients lack: make them with watcher.NewClients")
		}
		return argoClient{cfg: k.cfg, client: k.own.Dynamic}, nil
	}
	cfg, err := targetConfig(k.own, kubeconfig)
	if err != nil {
		return nil, err
	}
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("making the client of kubeconfig %s: %w", kubeconfig, err)
	}
	return argoClient{cfg: k.cfg, client: client}, nil
}

func (argoRuns) view(obj any) (runInfo, bool) {
	wf, ok := obj.(*workflowView)
	if !ok {
		return runInfo{}, false
	}
	state := prStarted
	switch {
	case wf.done():
		state = prDone
	case wf.Suspended:
		state = prPending
	}
	return runInfo{
		name: wf.Name, namespace: wf.Namespace, buildRef: wf.Annotations[AnnotationBuildRef],
		state: state, queuedAt: queuedAtOf(wf.Annotations, wf.CreationTimestamp.Time),
		outcome: wf.outcome,
	}, true
}

// workflowView is what the watcher keeps of one of its Workflows.
type workflowView struct {
	metav1.TypeMeta
	metav1.ObjectMeta
	// Suspended is spec.suspend: queued by the watcher.
	Suspended bool
	// Phase and Message are status.phase and status.message.
	Phase, Message string
	// Outputs are the output parameters of the Workflow's root node (the entrypoint DAG).
	Outputs map[string]string
}

// DeepCopyObject makes workflowView a runtime.Object, as informer caches hold.
func (w *workflowView) DeepCopyObject() runtime.Object {
	out := *w
	w.ObjectMeta.DeepCopyInto(&out.ObjectMeta)
	out.Outputs = maps.Clone(w.Outputs)
	return &out
}

func (w *workflowView) done() bool {
	switch w.Phase {
	case workflowSucceeded, workflowFailed, workflowError:
		return true
	}
	return false
}

// outcome reads the end of a finished Workflow: Thoth's ids from its outputs, or why it
// failed.
func (w *workflowView) outcome(target string) Outcome {
	out := Outcome{IDs: map[string]string{}}
	for _, ar := range analysisResults() {
		if v := w.Outputs[ar.result]; v != "" {
			out.IDs[ar.annotation] = v
		}
	}
	if w.Phase == workflowSucceeded {
		return out
	}
	out.Reason = workflowReason(w.Phase, w.Message)
	out.Err = fmt.Errorf("the Workflow %s/%s on target %s: %s: %s", w.Namespace, w.Name, target, w.Phase, w.Message)
	return out
}

// workflowReason names why a Workflow failed, from its phase and message (Argo's words:
// "invalid spec: ..." when the controller refuses it, "Stopped with strategy 'Stop'" or
// 'Terminate' when a person stopped it).
func workflowReason(phase, message string) string {
	switch {
	case strings.HasPrefix(message, "invalid spec"):
		return ReasonWorkflowInvalid
	case strings.HasPrefix(message, "Stopped with strategy"):
		return ReasonWorkflowStopped
	case phase == workflowFailed:
		return ReasonWorkflowFailed
	}
	return ReasonWorkflowError
}

// trimWorkflow turns a Workflow as the dynamic informer delivers it into a workflowView.
func trimWorkflow(obj any) (any, error) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return obj, nil
	}
	w := &workflowView{
		TypeMeta: metav1.TypeMeta{APIVersion: u.GetAPIVersion(), Kind: u.GetKind()},
		ObjectMeta: metav1.ObjectMeta{
			Name: u.GetName(), Namespace: u.GetNamespace(), UID: u.GetUID(), ResourceVersion: u.GetResourceVersion(),
			CreationTimestamp: u.GetCreationTimestamp(),
			Labels:            map[string]string{LabelBuildUID: u.GetLabels()[LabelBuildUID], LabelBuildKind: u.GetLabels()[LabelBuildKind]},
			Annotations:       ownAnnotations(u.GetAnnotations()),
		},
		Outputs: map[string]string{},
	}
	w.Suspended, _, _ = unstructured.NestedBool(u.Object, "spec", "suspend")
	w.Phase, _, _ = unstructured.NestedString(u.Object, "status", "phase")
	w.Message, _, _ = unstructured.NestedString(u.Object, "status", "message")
	// The root node's id is the Workflow's name.
	params, _, _ := unstructured.NestedSlice(u.Object, "status", "nodes", u.GetName(), "outputs", "parameters")
	for _, p := range params {
		m, ok := p.(map[string]any)
		if !ok {
			continue
		}
		name, _ := m["name"].(string)
		value, _ := m["value"].(string)
		if name != "" {
			w.Outputs[name] = value
		}
	}
	return w, nil
}

// argoClient reaches the Workflows of one target.
type argoClient struct {
	cfg    *Config
	client dynamic.Interface
}

func (c argoClient) informer(namespace string, resync time.Duration) runInformer {
	factory := dynamicinformer.NewFilteredDynamicSharedInformerFactory(c.client, resync, namespace, func(o *metav1.ListOptions) {
		o.LabelSelector = LabelManagedBy + "=" + ManagedBy
	})
	inf := factory.ForResource(workflowsResource).Informer()
	// Set before the informer starts, as SetTransform requires.
	_ = inf.SetTransform(trimWorkflow)
	return runInformer{SharedIndexInformer: inf, start: factory.Start, shutdown: factory.Shutdown}
}

func (c argoClient) create(ctx context.Context, b *Build, claim Claim, attempt int, queuedAt time.Time, pending bool) error {
	wf := c.cfg.newWorkflow(b, claim, attempt, queuedAt, pending)
	_, err := c.client.Resource(workflowsResource).Namespace(claim.Namespace).Create(ctx, wf, metav1.CreateOptions{FieldManager: FieldManager})
	return err
}

// start clears spec.suspend, which lets Argo run the Workflow.
func (c argoClient) start(ctx context.Context, namespace, name string) error {
	patch := []byte(`{"spec":{"suspend":null}}`)
	_, err := c.client.Resource(workflowsResource).Namespace(namespace).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: FieldManager})
	return err
}

// newWorkflow is attempt's analysis run of a build as an Argo Workflow from the template;
// suspended when it must wait for a slot.
func (c *Config) newWorkflow(b *Build, claim Claim, attempt int, queuedAt time.Time, pending bool) *unstructured.Unstructured {
	var params []any
	for _, p := range c.analysisParams(b) {
		params = append(params, map[string]any{"name": p.Name, "value": p.Value.StringVal})
	}
	// The Secrets and ConfigMaps the Tekton executor binds as workspaces are parameters of
	// the template, which mounts them.
	for _, p := range []struct{ name, value string }{
		{"src-registry-auth-secret", c.SrcAuthSecret}, {"dst-registry-auth-secret", c.DstAuthSecret},
		{"registry-ca-configmap", c.RegistryCAConfigMap}, {"thoth-ca-configmap", c.ThothCAConfigMap},
	} {
		if p.value != "" {
			params = append(params, map[string]any{"name": p.name, "value": p.value})
		}
	}
	ref := map[string]any{"name": c.ArgoTemplate}
	if c.ArgoTemplateKind == ArgoClusterWorkflowTemplate {
		ref["clusterScope"] = true
	}
	spec := map[string]any{
		"workflowTemplateRef": ref,
		"arguments":           map[string]any{"parameters": params},
	}
	if c.ServiceAccount != "" {
		spec["serviceAccountName"] = c.ServiceAccount
	}
	if c.Timeout > 0 {
		spec["activeDeadlineSeconds"] = int64(c.Timeout.Seconds())
	}
	if pending {
		spec["suspend"] = true
	}
	wf := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": workflowsResource.GroupVersion().String(),
		"kind":       "Workflow",
		"spec":       spec,
	}}
	wf.SetName(claim.Name)
	wf.SetNamespace(claim.Namespace)
	wf.SetLabels(map[string]string{
		LabelManagedBy: ManagedBy,
		LabelBuildUID:  string(b.UID),
		LabelBuildKind: string(b.Ref.Kind),
	})
	wf.SetAnnotations(map[string]string{
		AnnotationBuildRef:   b.Ref.String(),
		AnnotationQueuedAt:   queuedAt.UTC().Format(time.RFC3339Nano),
		AnnotationRunAttempt: strconv.Itoa(attempt),
	})
	return wf
}
