package watcher_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	buildv1 "github.com/openshift/api/build/v1"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"go.uber.org/goleak"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/thoth-station/build-watcher/internal/watcher"
)

// TestBadTargetsFileExits: a targets file that is not valid stops the process at once, with
// exit code 2 and one line naming what to fix, before it connects to anything.
func TestBadTargetsFileExits(t *testing.T) {
	e := newEnv(t)
	file := filepath.Join(t.TempDir(), "targets.yaml")
	if err := os.WriteFile(file, []byte("targets:\n- {name: east, namespace: "+e.ns+", max_concurrent: 0}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := e.newProc(false, "--targets-file", file)
	began := time.Now()
	proc := p.start()
	select {
	case <-proc.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("build-watcher with a bad targets file still runs after 30 s")
	}
	t.Logf("exited after %s", time.Since(began).Round(time.Millisecond))
	out, err := os.ReadFile(p.log.Name())
	if err != nil {
		t.Fatal(err)
	}
	if code := proc.ExitCode(); code != 2 {
		t.Errorf("exit code %d, want 2; output:\n%s", code, out)
	}
	if !strings.Contains(string(out), "max_concurrent must be at least 1, not 0") || strings.Count(string(out), "\n") != 1 {
		t.Errorf("output %q: want one line naming max_concurrent", out)
	}
}

// TestRunStopsEverything: Run returns only once everything it started has stopped, after a
// normal run and after a failed start alike.
func TestRunStopsEverything(t *testing.T) {
	e := newEnv(t)
	ignore := []goleak.Option{
		goleak.IgnoreCurrent(),
		// client-go keeps idle connections of its shared transports.
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreAnyFunction("net/http.(*http2ClientConn).readLoop"),
	}
	ctx, cancel := context.WithCancel(t.Context())
	r := newRunner(t, e.tekton, 0)
	r.watch(ctx, e.ns)
	w, _, stop := e.runWatcher(e.config())
	names := e.finishBuilds(ctx, "leak", 5, buildv1.BuildPhaseComplete)
	waitFor(t, ctx, time.Minute, "the builds analysed", func() (bool, string) { return e.checkBuilds(ctx, names, e.ns) })
	stop()
	if w.Ready() {
		t.Error("the watcher says it is ready after Run returned")
	}

	// A start that fails after the informers started: a target whose kubeconfig is missing.
	cfg := e.config()
	cfg.Targets = []watcher.TargetSpec{
		{Name: "here", Namespace: e.ns, MaxConcurrent: 2},
		{Name: "away", Namespace: e.ns, MaxConcurrent: 2, Kubeconfig: filepath.Join(t.TempDir(), "missing")},
	}
	cfg.TargetsFile = "targets.yaml"
	clients, err := watcher.NewClients(cp.Config())
	if err != nil {
		t.Fatal(err)
	}
	w2, err := watcher.New(&cfg, clients, watcher.NewMetrics())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- w2.Run(ctx) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "target away") {
			t.Errorf("Run = %v, want the target's error", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return 30 s after its start failed")
	}
	cancel()
	goleak.VerifyNone(t, ignore...)
}

// TestRefusedRunStops: when the API server refuses a run as invalid (here an admission
// policy, as Kyverno or Gatekeeper would), the build gets an Event and the watcher does not
// try again and again; other builds go on.
func TestRefusedRunStops(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	kube := kubernetes.NewForConfigOrDie(cp.Config())
	name := "refuse-" + e.ns
	fail := admissionv1.Fail
	policy := &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: &fail,
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionv1.RuleWithOperations{
					Operations: []admissionv1.OperationType{admissionv1.Create},
					Rule:       admissionv1.Rule{APIGroups: []string{"tekton.dev"}, APIVersions: []string{"v1"}, Resources: []string{"pipelineruns"}},
				},
			}}},
			Validations: []admissionv1.Validation{{
				Expression: fmt.Sprintf(`!object.metadata.annotations[%q].contains("/refused-")`, watcher.AnnotationBuildRef),
				Message:    "analyses of refused-* builds are not allowed here",
				Reason:     ptrTo(metav1.StatusReasonInvalid),
			}},
		},
	}
	if _, err := kube.AdmissionregistrationV1().ValidatingAdmissionPolicies().Create(ctx, policy, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &admissionv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        name,
			ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny},
			MatchResources: &admissionv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{
				MatchLabels: map[string]string{"kubernetes.io/metadata.name": e.ns},
			}},
		},
	}
	if _, err := kube.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = kube.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Delete(context.Background(), name, metav1.DeleteOptions{})
		_ = kube.AdmissionregistrationV1().ValidatingAdmissionPolicies().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	r := newRunner(t, e.tekton, 0)
	r.watch(ctx, e.ns)
	_, m := e.startWatcher(e.config())
	// The policy takes effect a moment after it is made: wait until it refuses a dry run.
	probe := &pipelinev1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{Name: "probe", Annotations: map[string]string{watcher.AnnotationBuildRef: "build/" + e.ns + "/refused-probe"}},
		Spec:       pipelinev1.PipelineRunSpec{PipelineRef: &pipelinev1.PipelineRef{Name: "thoth-build-analysis"}},
	}
	waitFor(t, ctx, 30*time.Second, "the admission policy in force", func() (bool, string) {
		_, err := e.tekton.TektonV1().PipelineRuns(e.ns).Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return apierrors.IsInvalid(err), fmt.Sprint(err)
	})
	refused := e.finishBuilds(ctx, "refused", 3, buildv1.BuildPhaseFailed)
	for _, n := range refused {
		b, err := e.builds.BuildV1().Builds(e.ns).Get(ctx, n, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		e.waitEvent(ctx, b.UID, watcher.ReasonNotStarted, "analyses of refused-* builds are not allowed here")
	}
	// Builds that finish after go on; by the time they are analysed, a retry loop of the
	// refused ones would have shown in the count.
	ok := e.finishBuilds(ctx, "fine", 3, buildv1.BuildPhaseFailed)
	waitFor(t, ctx, time.Minute, "the other builds analysed", func() (bool, string) {
		runs, err := e.runsOf(ctx, e.ns)
		if err != nil {
			return false, err.Error()
		}
		done := 0
		for _, n := range ok {
			b, err := e.builds.BuildV1().Builds(e.ns).Get(ctx, n, metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			if b.Annotations[watcher.AnnotationStatus] == "Succeeded" && len(runs[string(b.UID)]) == 1 {
				done++
			}
		}
		return done == len(ok), fmt.Sprintf("%d of %d", done, len(ok))
	})
	if got := gauge(t, m, "build_watcher_runs_refused_total", map[string]string{"target": "default"}); got != float64(len(refused)) {
		t.Errorf("build_watcher_runs_refused_total = %g, want %d: a refused run must not be retried", got, len(refused))
	}
}

func ptrTo[T any](v T) *T { return &v }
