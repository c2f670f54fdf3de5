package tektontest

import (
	"context"
	"strings"
	"testing"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	"knative.dev/pkg/apis"
)

const stepper = "/ko-app/stepper"

// runnerEnv is a namespace with clients for the runner's tests.
type runnerEnv struct {
	ns     string
	kube   kubernetes.Interface
	tekton tektonclient.Interface
}

func newRunnerEnv(t *testing.T) *runnerEnv {
	t.Helper()
	env.Require(t)
	ns, err := env.CP.CreateNamespace(t.Context(), "runner")
	if err != nil {
		t.Fatal(err)
	}
	e := &runnerEnv{ns: ns}
	if e.kube, err = kubernetes.NewForConfig(env.CP.Config()); err != nil {
		t.Fatal(err)
	}
	if e.tekton, err = tektonclient.NewForConfig(env.CP.Config()); err != nil {
		t.Fatal(err)
	}
	return e
}

// run creates a TaskRun of spec and waits until it is done; it returns the run and what
// the runner recorded of its pod.
func (e *runnerEnv) run(t *testing.T, spec pipelinev1.TaskRunSpec) (*pipelinev1.TaskRun, PodRecord) {
	t.Helper()
	began := time.Now()
	tr, err := e.tekton.TektonV1().TaskRuns(e.ns).Create(t.Context(), &pipelinev1.TaskRun{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "run-"},
		Spec:       spec,
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	done, err := WaitTaskRun(ctx, e.tekton, e.ns, tr.Name)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("TaskRun %s done in %s", tr.Name, time.Since(began).Round(time.Millisecond))
	var rec PodRecord
	for _, p := range env.Runner.Pods() {
		if p.Namespace == e.ns && p.TaskRun == tr.Name {
			rec = p
		}
	}
	if rec.Name == "" {
		t.Fatalf("the runner ran no pod for TaskRun %s", tr.Name)
	}
	return done, rec
}

func stepperStep(name string, args ...string) pipelinev1.Step {
	return pipelinev1.Step{Name: name, Image: "e2e.invalid/stepper", Command: []string{stepper}, Args: args}
}

// logOf returns the output of the pod's container, failing when it did not run.
func logOf(t *testing.T, rec PodRecord, container string) string {
	t.Helper()
	for _, c := range rec.Containers {
		if c.Name == container {
			return c.Log
		}
	}
	t.Fatalf("pod %s has no container %s", rec.Name, container)
	return ""
}

func stepState(t *testing.T, tr *pipelinev1.TaskRun, name string) pipelinev1.StepState {
	t.Helper()
	for _, s := range tr.Status.Steps {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("TaskRun %s has no step %s", tr.Name, name)
	return pipelinev1.StepState{}
}

func condition(tr *pipelinev1.TaskRun) string {
	c := tr.Status.GetCondition(apis.ConditionSucceeded)
	if c == nil {
		return "none"
	}
	return string(c.Status) + " " + c.Reason + ": " + c.Message
}

// TestRunnerSteps checks what a step sees: its order, results, environment (values from
// the pod, a Secret and a ConfigMap, $(VAR) expansion), user, working directory and
// volumes (an emptyDir workspace shared between steps, a Secret workspace).
func TestRunnerSteps(t *testing.T) {
	t.Parallel()
	e := newRunnerEnv(t)
	ctx := t.Context()
	if _, err := e.kube.CoreV1().Secrets(e.ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "creds"}, StringData: map[string]string{"password": "s3cret"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.kube.CoreV1().ConfigMaps(e.ns).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "cfg"}, Data: map[string]string{"mode": "fast"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	one := stepperStep("one", "result:first=hello", "write:$(workspaces.shared.path)/file=from-one", "id", "pwd")
	one.WorkingDir = "/workspace/wd"
	two := stepperStep("two", "result:second=$(params.greeting)", "cat:$(workspaces.shared.path)/file",
		"cat:$(workspaces.secret.path)/password", "env:PASSWORD", "env:POD", "env:MODE", "env:EXPANDED", "env:HOME", "env:KUBECONFIG", "id")
	uid := int64(1234)
	two.SecurityContext = &corev1.SecurityContext{RunAsUser: &uid, RunAsGroup: &uid}
	two.Env = []corev1.EnvVar{
		{Name: "PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}, Key: "password"}}},
		{Name: "POD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		{Name: "MODE", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Key: "mode"}}},
		{Name: "EXPANDED", Value: "$(MODE)-x $$(MODE) $(UNDEFINED)"},
	}
	tr, rec := e.run(t, pipelinev1.TaskRunSpec{
		Params: pipelinev1.Params{{Name: "greeting", Value: *pipelinev1.NewStructuredValues("hi there")}},
		TaskSpec: &pipelinev1.TaskSpec{
			Params:     pipelinev1.ParamSpecs{{Name: "greeting", Type: pipelinev1.ParamTypeString}},
			Results:    []pipelinev1.TaskResult{{Name: "first"}, {Name: "second"}},
			Workspaces: []pipelinev1.WorkspaceDeclaration{{Name: "shared"}, {Name: "secret", ReadOnly: true}},
			Steps:      []pipelinev1.Step{one, two},
		},
		Workspaces: []pipelinev1.WorkspaceBinding{
			{Name: "shared", EmptyDir: &corev1.EmptyDirVolumeSource{}},
			{Name: "secret", Secret: &corev1.SecretVolumeSource{SecretName: "creds"}},
		},
	})
	if c := tr.Status.GetCondition(apis.ConditionSucceeded); c == nil || !c.IsTrue() {
		t.Fatalf("TaskRun %s: %s; runner: %v", tr.Name, condition(tr), rec.Err)
	}
	results := map[string]string{}
	for _, r := range tr.Status.Results {
		results[r.Name] = r.Value.StringVal
	}
	if results["first"] != "hello" || results["second"] != "hi there" {
		t.Errorf("results %v, want first=hello second=hi there", results)
	}
	first, second := stepState(t, tr, "one").Terminated, stepState(t, tr, "two").Terminated
	if first == nil || second == nil || second.StartedAt.Before(&first.StartedAt) {
		t.Errorf("steps terminated %+v and %+v, want two after one", first, second)
	}
	users := map[string]string{"step-one": "uid=65532 gid=65532", "step-two": "uid=1234 gid=1234"}
	if env.SingleUser {
		t.Log("a user namespace that maps only root: the steps run as root")
		users = map[string]string{"step-one": "uid=0 gid=0", "step-two": "uid=0 gid=0"}
	}
	for container, want := range map[string][]string{
		"step-one": {users["step-one"], "pwd /workspace/wd"},
		"step-two": {
			"cat /workspace/shared/file: from-one", "cat /workspace/secret/password: s3cret",
			"env PASSWORD=s3cret", "env POD=" + rec.Name, "env MODE=fast", "env EXPANDED=fast-x $(MODE) $(UNDEFINED)",
			"env HOME=/home/nonroot", "env KUBECONFIG=" + kubeconfigPath, users["step-two"],
		},
	} {
		log := logOf(t, rec, container)
		for _, line := range want {
			if !strings.Contains(log, line+"\n") {
				t.Errorf("%s printed\n%s\nwant a line %q", container, log, line)
			}
		}
	}
}

// TestRunnerFailures checks how failures end a TaskRun, as Tekton's entrypoint reports
// them: a failed step skips the later ones, onError continue records the exit code and
// goes on, a step timeout, and a step the runner cannot run.
func TestRunnerFailures(t *testing.T) {
	t.Parallel()
	e := newRunnerEnv(t)
	continued := stepperStep("a", "exit:2")
	continued.OnError = pipelinev1.Continue
	timed := stepperStep("a", "sleep:1m")
	timed.Timeout = &metav1.Duration{Duration: time.Second}
	shell := pipelinev1.Step{Name: "a", Image: "busybox", Command: []string{"/bin/sh", "-c", "true"}}
	for _, tc := range []struct {
		name    string
		steps   []pipelinev1.Step
		success bool
		reason  string // the TaskRun's
		// terminations are the steps' termination reasons, by step name.
		terminations map[string]string
		exitCodes    map[string]int32
		runnerErr    string
	}{
		{
			name:   "failed step skips the rest",
			steps:  []pipelinev1.Step{stepperStep("a", "exit:3"), stepperStep("b", "id")},
			reason: "StepFailed", terminations: map[string]string{"a": "Error", "b": "Skipped"},
			exitCodes: map[string]int32{"a": 3, "b": 1},
		},
		{
			name:    "onError continue",
			steps:   []pipelinev1.Step{continued, stepperStep("b", "id")},
			success: true, reason: "Succeeded", terminations: map[string]string{"a": "Continued", "b": "Completed"},
			exitCodes: map[string]int32{"a": 2, "b": 0},
		},
		{
			name:   "step timeout",
			steps:  []pipelinev1.Step{timed},
			reason: "StepFailed", terminations: map[string]string{"a": "TimeoutExceeded"},
		},
		{
			name:   "command without a stand-in",
			steps:  []pipelinev1.Step{shell},
			reason: "CreateContainerConfigError", runnerErr: "/bin/sh, which has no local stand-in",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tr, rec := e.run(t, pipelinev1.TaskRunSpec{TaskSpec: &pipelinev1.TaskSpec{Steps: tc.steps}})
			c := tr.Status.GetCondition(apis.ConditionSucceeded)
			if c == nil || c.IsTrue() != tc.success || c.Reason != tc.reason {
				t.Errorf("TaskRun %s, want success %t with reason %s", condition(tr), tc.success, tc.reason)
			}
			for name, want := range tc.terminations {
				if got := stepState(t, tr, name).TerminationReason; got != want {
					t.Errorf("step %s terminated with reason %q, want %q", name, got, want)
				}
			}
			for name, want := range tc.exitCodes {
				if term := stepState(t, tr, name).Terminated; term == nil || term.ExitCode != want {
					t.Errorf("step %s terminated %+v, want exit code %d", name, term, want)
				}
			}
			if tc.runnerErr == "" && rec.Err != nil {
				t.Errorf("runner error %v", rec.Err)
			}
			if tc.runnerErr != "" && (rec.Err == nil || !strings.Contains(rec.Err.Error(), tc.runnerErr)) {
				t.Errorf("runner error %v, want one saying %q", rec.Err, tc.runnerErr)
			}
		})
	}
}

// TestRunnerCancel checks that cancelling a TaskRun stops its running step: Tekton deletes
// the pod, and the runner kills the step's processes as the kubelet kills containers.
func TestRunnerCancel(t *testing.T) {
	t.Parallel()
	e := newRunnerEnv(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	tr, err := e.tekton.TektonV1().TaskRuns(e.ns).Create(ctx, &pipelinev1.TaskRun{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "run-"},
		Spec:       pipelinev1.TaskRunSpec{TaskSpec: &pipelinev1.TaskSpec{Steps: []pipelinev1.Step{stepperStep("a", "sleep:10m")}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	lw := cache.NewListWatchFromClient(e.tekton.TektonV1().RESTClient(), "taskruns", e.ns, fields.OneTermEqualSelector("metadata.name", tr.Name))
	ev, err := watchtools.UntilWithSync(ctx, lw, &pipelinev1.TaskRun{}, nil, func(ev watch.Event) (bool, error) {
		run, ok := ev.Object.(*pipelinev1.TaskRun)
		return ok && len(run.Status.Steps) == 1 && run.Status.Steps[0].Running != nil, nil
	})
	if err != nil {
		t.Fatalf("waiting for the step to run: %v", err)
	}
	pod := ev.Object.(*pipelinev1.TaskRun).Status.PodName
	if _, err := e.tekton.TektonV1().TaskRuns(e.ns).Patch(ctx, tr.Name, types.MergePatchType,
		[]byte(`{"spec":{"status":"`+string(pipelinev1.TaskRunSpecStatusCancelled)+`"}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	done, err := WaitTaskRun(ctx, e.tekton, e.ns, tr.Name)
	if err != nil {
		t.Fatal(err)
	}
	if c := done.Status.GetCondition(apis.ConditionSucceeded); c == nil || c.Reason != pipelinev1.TaskRunReasonCancelled.String() {
		t.Errorf("TaskRun %s, want reason %s", condition(done), pipelinev1.TaskRunReasonCancelled)
	}
	if err := env.Runner.WaitPod(ctx, e.ns, pod); err != nil {
		t.Fatalf("the step of the cancelled TaskRun still runs: %v", err)
	}
}
