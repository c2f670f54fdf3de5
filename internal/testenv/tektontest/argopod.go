package tektontest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
)

// What Argo's workflow-controller (v3.7, emissary executor) puts in a step's pod, and what
// its executor, argoexec, reads and writes (workflow/common, workflow/executor).
const (
	// argoWorkflowLabel names the Workflow of a pod (and of a WorkflowTaskResult).
	argoWorkflowLabel = "workflows.argoproj.io/workflow"
	// argoOutputsCompleted is the WorkflowTaskResult label the wait container sets to
	// "true" once every output is reported: the controller waits for it.
	argoOutputsCompleted = "workflows.argoproj.io/report-outputs-completed"
	// argoEmissary is how the main container's command starts: argoexec emissary [flags] --
	// CMD...; the runner runs CMD as emissary would.
	argoEmissary = "/var/run/argo/argoexec"
	// The containers: init (argoexec init, loads input artifacts), main (the template's
	// container) and wait (argoexec wait: reports the outputs).
	argoInit, argoMain, argoWait = "init", "main", "wait"
)

var argoTaskResults = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "workflowtaskresults"}

// argoTemplate is what the runner reads of a pod's template (ARGO_TEMPLATE of its init
// container, Argo's wfv1.Template as JSON).
type argoTemplate struct {
	Name   string `json:"name"`
	Inputs struct {
		Artifacts []json.RawMessage `json:"artifacts"`
	} `json:"inputs"`
	Outputs struct {
		Parameters []argoParameter   `json:"parameters"`
		Artifacts  []json.RawMessage `json:"artifacts"`
		Result     *string           `json:"result"`
	} `json:"outputs"`
	Script *json.RawMessage `json:"script"`
}

// argoParameter is one output parameter; only those read from a file (valueFrom.path) are
// the executor's to fill.
type argoParameter struct {
	Name      string  `json:"name"`
	Value     *string `json:"value,omitempty"`
	ValueFrom *struct {
		Path    string  `json:"path,omitempty"`
		Default *string `json:"default,omitempty"`
	} `json:"valueFrom,omitempty"`
}

// isArgoPod says whether pod runs a step of an Argo Workflow.
func isArgoPod(pod *corev1.Pod) bool {
	_, ok := pod.Labels[argoWorkflowLabel]
	return ok
}

// argoSteps checks the containers of a Workflow pod and returns its one step: the main
// container, whose command follows argoexec emissary's "--".
func (p *podRun) argoSteps() ([]*step, error) {
	if len(p.pod.Spec.InitContainers) != 1 || p.pod.Spec.InitContainers[0].Name != argoInit {
		return nil, fmt.Errorf("the pod's init containers are not Argo's one %q: %w", argoInit, errUnsupported)
	}
	tmpl, err := p.argoTemplate()
	if err != nil {
		return nil, err
	}
	if len(tmpl.Inputs.Artifacts) > 0 || len(tmpl.Outputs.Artifacts) > 0 || tmpl.Script != nil || tmpl.Outputs.Result != nil {
		return nil, fmt.Errorf("template %s has artifacts or a script: %w", tmpl.Name, errUnsupported)
	}
	var main *corev1.Container
	for i := range p.pod.Spec.Containers {
		c := &p.pod.Spec.Containers[i]
		switch c.Name {
		case argoMain:
			main = c
		case argoWait:
		default:
			return nil, fmt.Errorf("container %s: sidecars are %w", c.Name, errUnsupported)
		}
	}
	if main == nil {
		return nil, errors.New("the pod has no main container")
	}
	dash := slices.Index(main.Command, "--")
	if len(main.Command) == 0 || main.Command[0] != argoEmissary || dash < 0 || dash == len(main.Command)-1 {
		return nil, fmt.Errorf("container main runs %q, not %s emissary ... -- CMD: %w", main.Command, argoEmissary, errUnsupported)
	}
	command := slices.Concat(main.Command[dash+1:], main.Args)
	if _, ok := p.r.opts.Commands[command[0]]; !ok {
		return nil, fmt.Errorf("container main (image %s) runs %s, which has no local stand-in: %w (RunnerOptions.Commands)", main.Image, command[0], errUnsupported)
	}
	return []*step{{c: main, ep: &entrypointArgs{Command: command}, rec: ContainerRecord{Name: main.Name}}}, nil
}

// argoTemplate decodes the template the controller gave the pod's executor.
func (p *podRun) argoTemplate() (*argoTemplate, error) {
	for _, e := range p.pod.Spec.InitContainers[0].Env {
		if e.Name != "ARGO_TEMPLATE" {
			continue
		}
		var t argoTemplate
		if err := json.Unmarshal([]byte(e.Value), &t); err != nil {
			return nil, fmt.Errorf("decoding ARGO_TEMPLATE (offloaded to a ConfigMap is %w): %w", errUnsupported, err)
		}
		return &t, nil
	}
	return nil, errors.New("the init container has no ARGO_TEMPLATE")
}

// argoEnv is the variable of container c named name.
func argoEnv(c *corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

// executeArgo runs a prepared Workflow pod as the kubelet and argoexec's emissary and wait
// would (cmd/argoexec/commands/wait.go): the node's WorkflowTaskResult made, not yet
// complete; main's command run; the output parameters read from their files (the first
// that fails ends the reading, and the wait container with it, exit code 1); the outputs
// reported and the result marked complete, all with the token of the pod's own service
// account (so the RBAC the Workflow's service account needs is checked); then the pod's
// final status.
func (p *podRun) executeArgo(ctx context.Context) error {
	p.setRunning()
	if err := p.writeStatus(ctx); err != nil {
		return err
	}
	// From here on a failure of the runner fails the pod's containers (run).
	results, err := p.argoTaskResults()
	if err != nil {
		return err
	}
	if err := results.initialize(ctx); err != nil {
		return err
	}
	s := p.steps[0]
	terminationFile := filepath.Join(p.dir, "termination", s.c.Name)
	if err := mkdirAll(filepath.Dir(terminationFile), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(terminationFile, nil, 0o666); err != nil {
		return err
	}
	mounts, err := p.mounts(s, terminationFile)
	if err != nil {
		return err
	}
	began := time.Now()
	var log bytes.Buffer
	exitCode, _, err := p.exec(ctx, s, mounts, &log)
	if err != nil {
		return fmt.Errorf("container main: %w", err)
	}
	if p.r.opts.PodLogs != nil {
		p.r.opts.PodLogs(p.pod.Namespace, p.pod.Name, s.c.Name, log.Bytes())
	}
	message, err := readMessage(terminationFile)
	if err != nil {
		return err
	}
	s.rec.ExitCode, s.rec.Duration, s.rec.Message, s.rec.Log = int32(exitCode), time.Since(began), message, log.String()
	outputs, saveErr := p.argoOutputs(mounts)
	if err := results.report(ctx, outputs); err != nil {
		return err
	}
	finished := metav1.Now()
	state := &corev1.ContainerStateTerminated{ExitCode: int32(exitCode), Reason: "Completed", Message: message,
		StartedAt: metav1.NewTime(s.start), FinishedAt: finished, ContainerID: p.containerID(s.c.Name)}
	if exitCode != 0 {
		state.Reason = "Error"
	}
	p.setTerminated(s, state)
	waitState := &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed",
		StartedAt: metav1.NewTime(s.start), FinishedAt: finished, ContainerID: p.containerID(argoWait)}
	if saveErr != nil {
		waitState.ExitCode, waitState.Reason, waitState.Message = 1, "Error", saveErr.Error()
	}
	p.setTerminated(&step{c: &corev1.Container{Name: argoWait}, rec: ContainerRecord{Name: argoWait, ExitCode: waitState.ExitCode, Message: waitState.Message}}, waitState)
	p.status.Phase = corev1.PodSucceeded
	if exitCode != 0 || saveErr != nil {
		p.status.Phase = corev1.PodFailed
	}
	p.completeConditions()
	return p.writeStatus(ctx)
}

// argoOutputs reads the template's output parameters as argoexec's SaveParameters does:
// each valueFrom.path file (through main's volumes; a path on its root filesystem is read
// from the root the runner made), its default when the file cannot be read, one trailing
// newline trimmed. The first parameter that has neither ends the reading with an error, as
// there; the outputs hold what was read until then.
func (p *podRun) argoOutputs(mounts []shimMount) (map[string]any, error) {
	tmpl, err := p.argoTemplate()
	if err != nil {
		return nil, err
	}
	var params []any
	var saveErr error
	for _, param := range tmpl.Outputs.Parameters {
		out := map[string]any{"name": param.Name}
		if param.Value != nil {
			out["value"] = *param.Value
		}
		params = append(params, out)
		vf := param.ValueFrom
		if vf == nil {
			continue
		}
		from := map[string]any{"path": vf.Path}
		if vf.Default != nil {
			from["default"] = *vf.Default
		}
		out["valueFrom"] = from
		if vf.Path == "" || saveErr != nil {
			continue
		}
		file, err := hostPath(mounts, vf.Path)
		if errors.Is(err, errUnsupported) {
			file, err = filepath.Join(p.dir, "roots", argoMain, filepath.FromSlash(path.Clean(vf.Path))), nil
		}
		if err != nil {
			return nil, err
		}
		data, err := os.ReadFile(file)
		switch {
		case err == nil:
			out["value"] = strings.TrimSuffix(string(data), "\n")
		case vf.Default != nil:
			out["value"] = *vf.Default
		default:
			saveErr = fmt.Errorf("open %s: %w", vf.Path, errors.Unwrap(err))
		}
	}
	outputs := map[string]any{}
	if len(params) > 0 {
		outputs["parameters"] = params
	}
	return outputs, saveErr
}

// argoResults is the node's WorkflowTaskResult, reached as the pod's service account.
type argoResults struct {
	client          dynamic.ResourceInterface
	name, sa        string
	workflow, wfUID string
}

// argoTaskResults finds what the wait container has: the node and the Workflow it reports
// for, and its service-account token.
func (p *podRun) argoTaskResults() (*argoResults, error) {
	var c *corev1.Container
	for i := range p.pod.Spec.Containers {
		if p.pod.Spec.Containers[i].Name == argoWait {
			c = &p.pod.Spec.Containers[i]
		}
	}
	if c == nil {
		return nil, errors.New("the pod has no wait container")
	}
	var token string
	for _, vm := range c.VolumeMounts {
		if path.Clean(vm.MountPath) == path.Dir(tokenPath) {
			data, err := os.ReadFile(filepath.Join(p.volumes[vm.Name], filepath.Base(tokenPath)))
			if err != nil {
				return nil, fmt.Errorf("reading the wait container's service-account token: %w", err)
			}
			token = string(data)
		}
	}
	if token == "" {
		return nil, errors.New("the wait container has no service-account token mounted: argoexec could not report the outputs")
	}
	cfg := &rest.Config{Host: p.r.apiHost, BearerToken: token, TLSClientConfig: rest.TLSClientConfig{CAData: p.r.clusterCA}}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &argoResults{
		client: dyn.Resource(argoTaskResults).Namespace(p.pod.Namespace),
		name:   argoEnv(c, "ARGO_NODE_ID"), sa: p.pod.Namespace + "/" + p.pod.Spec.ServiceAccountName,
		workflow: argoEnv(c, "ARGO_WORKFLOW_NAME"), wfUID: argoEnv(c, "ARGO_WORKFLOW_UID"),
	}, nil
}

// initialize makes the result, not yet complete (argoexec's InitializeOutput).
func (r *argoResults) initialize(ctx context.Context) error {
	result := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "WorkflowTaskResult",
		"metadata": map[string]any{
			"name":   r.name,
			"labels": map[string]any{argoWorkflowLabel: r.workflow, argoOutputsCompleted: "false"},
			"ownerReferences": []any{map[string]any{
				"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "name": r.workflow, "uid": r.wfUID,
			}},
		},
	}}
	if _, err := r.client.Create(ctx, result, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating WorkflowTaskResult %s as service account %s, as argoexec does: %w", r.name, r.sa, err)
	}
	return nil
}

// report writes the outputs into the result and marks it complete (argoexec's
// ReportOutputs and FinalizeOutput).
func (r *argoResults) report(ctx context.Context, outputs map[string]any) error {
	for _, patch := range []map[string]any{
		{"outputs": outputs},
		{"metadata": map[string]any{"labels": map[string]any{argoOutputsCompleted: "true"}}},
	} {
		data, err := json.Marshal(patch)
		if err != nil {
			return err
		}
		if _, err := r.client.Patch(ctx, r.name, types.MergePatchType, data, metav1.PatchOptions{}); err != nil {
			return fmt.Errorf("reporting outputs in WorkflowTaskResult %s as service account %s, as argoexec does: %w", r.name, r.sa, err)
		}
	}
	return nil
}
