package watcher_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	buildv1 "github.com/openshift/api/build/v1"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"knative.dev/pkg/apis"

	"github.com/thoth-station/build-watcher/internal/watcher"
)

// buildIndex reads the number at the end of a test build's name ("fail-0012": 12).
func buildIndex(name string) int {
	i, _ := strconv.Atoi(name[strings.LastIndex(name, "-")+1:])
	return i
}

// checkAttempts checks every build's runs against want(index): the attempts expected, all
// but the last failed; the last succeeded and is written back with its ids.
func (e *env) checkAttempts(ctx context.Context, names []string, budget int, want func(i int) int) (bool, string) {
	list, err := e.builds.BuildV1().Builds(e.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return false, err.Error()
	}
	runs, err := e.runsOf(ctx, e.ns)
	if err != nil {
		return false, err.Error()
	}
	if d := duplicates(runs); d > 0 {
		e.t.Fatalf("%d builds got two runs of the same attempt", d)
	}
	done, wrong := 0, []string{}
	for _, b := range list.Items {
		rs := runs[string(b.UID)]
		if len(rs) > budget {
			e.t.Fatalf("build %s got %d runs; the budget is %d", b.Name, len(rs), budget)
		}
		n := want(buildIndex(b.Name))
		last := watcher.RunName(b.UID, n)
		if b.Annotations[watcher.AnnotationStatus] != "Succeeded" {
			continue
		}
		if len(rs) != n || b.Annotations[watcher.AnnotationAttempt] != map[bool]string{true: "", false: strconv.Itoa(n)}[n == 1] ||
			b.Annotations[watcher.AnnotationBaseImageAnalysisID] != "image-analyzer-"+last {
			wrong = append(wrong, fmt.Sprintf("%s: %d runs, attempt %q, id %q (want %d runs, the last %s)", b.Name, len(rs),
				b.Annotations[watcher.AnnotationAttempt], b.Annotations[watcher.AnnotationBaseImageAnalysisID], n, last))
			continue
		}
		done++
	}
	if len(wrong) > 0 {
		e.t.Fatalf("builds analysed the wrong way: %s", strings.Join(wrong[:min(5, len(wrong))], "; "))
	}
	pending, running, err := e.pendingRuns(ctx, e.ns)
	if err != nil {
		return false, err.Error()
	}
	return done == len(names), fmt.Sprintf("%d of %d builds analysed; %d runs pending, %d running", done, len(names), pending, running)
}

// TestRedelivery: the first run of every 4th build fails (Thoth down longer than the run's
// own retries); each of those builds gets exactly one more run, every build ends with exactly
// one successful run, none exceeds its budget, and this holds while the watcher is killed
// with SIGKILL twice.
func TestRedelivery(t *testing.T) {
	n := 200
	if testing.Short() {
		n = 60
	}
	e := newEnv(t)
	ctx := t.Context()
	r := newRunner(t, e.tekton, 20*time.Millisecond)
	r.policy = func(pr *pipelinev1.PipelineRun) runEnd {
		if b, attempt := runBuild(pr); attempt == 1 && buildIndex(b)%4 == 0 {
			return endFail
		}
		return endSucceed
	}
	r.watch(ctx, e.ns)
	p := e.newProc(true, "--analysis-retry-backoff", "300ms")
	current := p.start()
	e.waitInstalled(ctx)
	names := p.finishWhileKilling(ctx, r, current, "fail", n, buildv1.BuildPhaseFailed, 2)
	waitFor(t, ctx, 5*time.Minute, "every build analysed, the failed ones once more", func() (bool, string) {
		return e.checkAttempts(ctx, names, watcher.DefaultAnalysisAttempts, func(i int) int {
			if i%4 == 0 {
				return 2
			}
			return 1
		})
	})
	// The failed first runs left their trace on the builds and as Events.
	b, err := e.builds.BuildV1().Builds(e.ns).Get(ctx, names[0], metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.Annotations[watcher.AnnotationLastError], "Failed: Tasks Completed") {
		t.Errorf("build %s: %s = %q, want the first run's failure", b.Name, watcher.AnnotationLastError, b.Annotations[watcher.AnnotationLastError])
	}
	// Events are best effort: one recorded just before a kill -9 is lost. Most are not.
	kube := kubernetes.NewForConfigOrDie(cp.Config())
	waitFor(t, ctx, time.Minute, "ThothAnalysisRetrying Events", func() (bool, string) {
		evs, err := kube.CoreV1().Events(e.ns).List(ctx, metav1.ListOptions{FieldSelector: "reason=" + watcher.ReasonRetrying})
		if err != nil {
			return false, err.Error()
		}
		n := 0
		for _, ev := range evs.Items {
			if strings.Contains(ev.Message, "attempt 1 of 3 failed") && strings.Contains(ev.Message, "attempt 2 starts in") {
				n++
			}
		}
		return n >= len(names)/8, fmt.Sprintf("%d Events for %d retried builds", n, len(names)/4)
	})
}

// waitEvent waits for an Event with reason on the object uid whose message holds text.
func (e *env) waitEvent(ctx context.Context, uid types.UID, reason, text string) {
	e.t.Helper()
	kube := kubernetes.NewForConfigOrDie(cp.Config())
	waitFor(e.t.(*testing.T), ctx, time.Minute, "Event "+reason, func() (bool, string) {
		evs, err := kube.CoreV1().Events(e.ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		var seen []string
		for _, ev := range evs.Items {
			if ev.InvolvedObject.UID == uid {
				if ev.Reason == reason && strings.Contains(ev.Message, text) {
					return true, ""
				}
				seen = append(seen, ev.Reason+": "+ev.Message)
			}
		}
		return false, fmt.Sprintf("events of the build: %q", seen)
	})
}

// TestRunsDeleted: a run deleted while it runs (a person, a pruner) is run again once; a run
// deleted the moment it succeeded (a fast pruner) still has its outcome written, and is not
// run again.
func TestRunsDeleted(t *testing.T) {
	const n = 30
	e := newEnv(t)
	ctx := t.Context()
	r := newRunner(t, e.tekton, 20*time.Millisecond)
	r.policy = func(pr *pipelinev1.PipelineRun) runEnd {
		b, attempt := runBuild(pr)
		switch {
		case attempt == 1 && buildIndex(b)%3 == 0:
			return endDelete
		case buildIndex(b)%3 == 1:
			return endSucceedDelete
		}
		return endSucceed
	}
	r.watch(ctx, e.ns)
	cfg := e.config()
	cfg.RetryBackoff = 100 * time.Millisecond
	_, m := e.startWatcher(cfg)
	names := e.finishBuilds(ctx, "gone", n, buildv1.BuildPhaseComplete)
	waitFor(t, ctx, 2*time.Minute, "every build analysed", func() (bool, string) {
		list, err := e.builds.BuildV1().Builds(e.ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		done := 0
		for _, b := range list.Items {
			want := 1
			if buildIndex(b.Name)%3 == 0 {
				want = 2
			}
			if b.Annotations[watcher.AnnotationStatus] != "Succeeded" {
				continue
			}
			if id := b.Annotations[watcher.AnnotationBaseImageAnalysisID]; id != "image-analyzer-"+watcher.RunName(b.UID, want) {
				t.Fatalf("build %s: written back from %q, want run %d", b.Name, id, want)
			}
			done++
		}
		return done == len(names), fmt.Sprintf("%d of %d analysed", done, len(names))
	})
	b, err := e.builds.BuildV1().Builds(e.ns).Get(ctx, names[0], metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.Annotations[watcher.AnnotationLastError], "was deleted before its outcome was written") {
		t.Errorf("%s = %q, want the deletion", watcher.AnnotationLastError, b.Annotations[watcher.AnnotationLastError])
	}
	if got := gauge(t, m, "build_watcher_redeliveries_total", map[string]string{"reason": watcher.ReasonRunDeleted}); got != n/3 {
		t.Errorf("build_watcher_redeliveries_total{reason=RunDeleted} = %g, want %d", got, n/3)
	}
}

// TestFinalFailures: a run that fails for a reason no new run can fix is final at once; one
// that keeps failing is final after the budget; each ends with a status, an Event and the
// metric.
func TestFinalFailures(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	r := newRunner(t, e.tekton, 0)
	// A person cancels the run of one build: final at once. The others keep failing.
	r.policy = func(pr *pipelinev1.PipelineRun) runEnd {
		if b, _ := runBuild(pr); strings.HasPrefix(b, "cancelled-") {
			return endNever
		}
		return endFail
	}
	r.watch(ctx, e.ns)
	cfg := e.config()
	cfg.RetryBackoff = 50 * time.Millisecond
	cfg.AnalysisAttempts = 2
	_, m := e.startWatcher(cfg)
	names := e.finishBuilds(ctx, "doomed", 2, buildv1.BuildPhaseFailed)
	cancelled := e.finishBuilds(ctx, "cancelled", 1, buildv1.BuildPhaseFailed)
	cb, err := e.builds.BuildV1().Builds(e.ns).Get(ctx, cancelled[0], metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, time.Minute, "the run of the cancelled build", func() (bool, string) {
		_, err := e.tekton.TektonV1().PipelineRuns(e.ns).Get(ctx, watcher.RunName(cb.UID, 1), metav1.GetOptions{})
		return err == nil, fmt.Sprint(err)
	})
	if err := cancelRun(ctx, e, watcher.RunName(cb.UID, 1)); err != nil {
		t.Fatal(err)
	}

	waitFor(t, ctx, time.Minute, "both analyses failed for good", func() (bool, string) {
		var states []string
		final := 0
		for _, name := range append(names, cancelled...) {
			b, err := e.builds.BuildV1().Builds(e.ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			st := b.Annotations[watcher.AnnotationStatus]
			if strings.HasPrefix(st, "Failed: ") {
				final++
			}
			states = append(states, name+": "+st)
		}
		return final == 3, strings.Join(states, "; ")
	})
	runs, err := e.runsOf(ctx, e.ns)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(runs[string(cb.UID)]); got != 1 {
		t.Errorf("the cancelled build got %d runs, want 1: a person's cancellation is final", got)
	}
	for _, name := range names {
		b, _ := e.builds.BuildV1().Builds(e.ns).Get(ctx, name, metav1.GetOptions{})
		if got := len(runs[string(b.UID)]); got != 2 {
			t.Errorf("build %s got %d runs, want the budget of 2", name, got)
		}
		e.waitEvent(ctx, b.UID, watcher.ReasonFailed, "no attempt is left")
	}
	e.waitEvent(ctx, cb.UID, watcher.ReasonFailed, "a new run cannot fix Cancelled")
	if got := gauge(t, m, "build_watcher_analyses_failed_total", map[string]string{"reason": "Failed"}); got != 2 {
		t.Errorf("build_watcher_analyses_failed_total{reason=Failed} = %g, want 2", got)
	}
}

// cancelRun ends a run as Tekton does when a person cancels it.
func cancelRun(ctx context.Context, e *env, name string) error {
	for {
		pr, err := e.tekton.TektonV1().PipelineRuns(e.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		pr.Status.SetCondition(&apis.Condition{Type: apis.ConditionSucceeded, Status: corev1.ConditionFalse, Reason: "Cancelled",
			Message: "PipelineRun \"" + name + "\" was cancelled"})
		_, err = e.tekton.TektonV1().PipelineRuns(e.ns).UpdateStatus(ctx, pr, metav1.UpdateOptions{})
		if !apierrors.IsConflict(err) {
			return err
		}
	}
}

// TestReanalyze: a person asks for a new analysis of a build whose analysis succeeded; it gets
// the next run, with a budget of its own, and the request is consumed.
func TestReanalyze(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	r := newRunner(t, e.tekton, 0)
	r.watch(ctx, e.ns)
	e.startWatcher(e.config())
	names := e.finishBuilds(ctx, "again", 1, buildv1.BuildPhaseComplete)
	get := func() *buildv1.Build {
		b, err := e.builds.BuildV1().Builds(e.ns).Get(ctx, names[0], metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	waitFor(t, ctx, time.Minute, "the first analysis", func() (bool, string) {
		st := get().Annotations[watcher.AnnotationStatus]
		return st == "Succeeded", st
	})
	patch := `{"metadata":{"annotations":{"` + watcher.AnnotationReanalyze + `":"yes"}}}`
	if _, err := e.builds.BuildV1().Builds(e.ns).Patch(ctx, names[0], types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, time.Minute, "the second analysis", func() (bool, string) {
		b := get()
		a := b.Annotations
		return a[watcher.AnnotationStatus] == "Succeeded" && a[watcher.AnnotationBaseImageAnalysisID] == "image-analyzer-"+watcher.RunName(b.UID, 2),
			fmt.Sprint(a)
	})
	b := get()
	if _, ok := b.Annotations[watcher.AnnotationReanalyze]; ok {
		t.Error("the request was not removed")
	}
	if b.Annotations[watcher.AnnotationBudgetFrom] != "2" || b.Annotations[watcher.AnnotationAttempt] != "2" {
		t.Errorf("attempt %q, budget from %q; want 2 and 2", b.Annotations[watcher.AnnotationAttempt], b.Annotations[watcher.AnnotationBudgetFrom])
	}
	e.waitEvent(ctx, b.UID, watcher.ReasonRequested, "attempt 2")
}
