package watcher_test

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	buildv1 "github.com/openshift/api/build/v1"
	buildclient "github.com/openshift/client-go/build/clientset/versioned"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	"knative.dev/pkg/apis"

	"github.com/thoth-station/build-watcher/internal/testenv/controlplane"
	"github.com/thoth-station/build-watcher/internal/watcher"
)

// env is one test's corner of the control plane.
type env struct {
	t      testing.TB
	ns     string
	builds buildclient.Interface
	tekton tektonclient.Interface
	// rest is the watcher's client configuration; nil: the admin's.
	rest *rest.Config
	// front serves the builds' logs and makes finished builds.
	front *controlplane.LogFront
}

func newEnv(t testing.TB) *env {
	t.Helper()
	ns, front := cp.NamespaceWithFront(t, "watch")
	cfg := cp.Config()
	cfg.QPS, cfg.Burst = 500, 1000
	return &env{t: t, ns: ns, builds: buildclient.NewForConfigOrDie(cfg), tekton: tektonclient.NewForConfigOrDie(cfg), front: front}
}

// finishBuilds creates n OpenShift builds and moves each to a finished phase, as the build
// controller does, with parallel clients; it returns the builds' names in order.
func (e *env) finishBuilds(ctx context.Context, prefix string, n int, phase buildv1.BuildPhase) []string {
	e.t.Helper()
	return e.finishBuildsAt(ctx, prefix, n, phase, time.Now())
}

// finishBuildsAt is finishBuilds with the builds' start and completion times set to at.
func (e *env) finishBuildsAt(ctx context.Context, prefix string, n int, phase buildv1.BuildPhase, at time.Time) []string {
	e.t.Helper()
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s-%04d", prefix, i)
	}
	errs := make(chan error, n)
	work := make(chan string)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for name := range work {
				errs <- e.finishBuild(ctx, name, phase, at)
			}
		}()
	}
	for _, name := range names {
		work <- name
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			e.t.Fatal(err)
		}
	}
	return names
}

func (e *env) finishBuild(ctx context.Context, name string, phase buildv1.BuildPhase, at time.Time) error {
	now := metav1.NewTime(at)
	_, err := e.front.CreateBuild(ctx, e.ns, &buildv1.Build{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: buildv1.BuildSpec{CommonSpec: buildv1.CommonSpec{Strategy: buildv1.BuildStrategy{
			Type: buildv1.DockerBuildStrategyType, DockerStrategy: &buildv1.DockerBuildStrategy{},
		}}},
		Status: buildv1.BuildStatus{Phase: phase, StartTimestamp: &now, CompletionTimestamp: &now},
	}, nil)
	return err
}

// runner stands in for the Tekton controller: it watches our PipelineRuns in some
// namespaces, and finishes each one that is started (not pending) after a short while,
// with analysis ids as results. It records how many ran at once and in which order
// queued runs started.
type runner struct {
	t      *testing.T
	tekton tektonclient.Interface
	delay  time.Duration
	// policy decides how a started run ends; nil: it succeeds.
	policy func(pr *pipelinev1.PipelineRun) runEnd
	// hold, while not nil and open, keeps started runs from ending.
	hold chan struct{}

	mu        sync.Mutex
	running   map[string]bool // namespace/name
	maxByNS   map[string]int
	max       int
	started   []startEvent
	finished  map[string]bool
	created   map[string]bool
	buildUIDs map[string]string // run -> build uid
	errs      []error
}

type startEvent struct {
	key      string
	queuedAt time.Time
	pending  bool // it was created pending, then started
}

// runEnd is how the runner ends a started run.
type runEnd int

const (
	endSucceed       runEnd = iota
	endFail                 // Succeeded False, reason Failed
	endDelete               // deleted while running, as a person or a pruner might
	endSucceedDelete        // succeeded, then deleted at once (a fast pruner)
	endNever                // left running: the test ends it
)

// runBuild reads which build a run is for (its name) and which attempt it is.
func runBuild(pr *pipelinev1.PipelineRun) (build string, attempt int) {
	return runBuildOf(pr.Annotations)
}

// runBuildOf reads the build (its name) and the attempt from a run's annotations, which
// PipelineRuns and Workflows carry alike.
func runBuildOf(annotations map[string]string) (build string, attempt int) {
	ref := annotations[watcher.AnnotationBuildRef]
	attempt, _ = strconv.Atoi(annotations[watcher.AnnotationRunAttempt])
	return ref[strings.LastIndex(ref, "/")+1:], attempt
}

func newRunner(t *testing.T, tekton tektonclient.Interface, delay time.Duration) *runner {
	return &runner{
		t: t, tekton: tekton, delay: delay, running: map[string]bool{}, maxByNS: map[string]int{},
		finished: map[string]bool{}, created: map[string]bool{}, buildUIDs: map[string]string{},
	}
}

// watch runs until ctx ends; it returns once the watch is established.
func (r *runner) watch(ctx context.Context, namespace string) {
	r.t.Helper()
	selector := watcher.LabelManagedBy + "=" + watcher.ManagedBy
	runs := r.tekton.TektonV1().PipelineRuns(namespace)
	w := watchFrom(ctx, r.t, "PipelineRuns in "+namespace, metav1.ListOptions{LabelSelector: selector}, runs.List, runs.Watch)
	go func() {
		defer w.Stop()
		wasPending := map[string]bool{}
		for ev := range w.ResultChan() {
			pr, ok := ev.Object.(*pipelinev1.PipelineRun)
			if !ok || ev.Type == watch.Bookmark {
				continue
			}
			key := pr.Namespace + "/" + pr.Name
			done := pr.Status.GetCondition(apis.ConditionSucceeded) != nil
			pending := pr.Spec.Status == pipelinev1.PipelineRunSpecStatusPending
			r.mu.Lock()
			if ev.Type == watch.Added {
				if r.created[key] {
					// Only a second analysis makes a run of an earlier one's name.
					r.t.Errorf("PipelineRun %s was created a second time: its build was analysed twice", key)
				}
				r.created[key] = true
				r.buildUIDs[key] = pr.Labels[watcher.LabelBuildUID]
			}
			switch {
			case ev.Type == watch.Deleted || done:
				delete(r.running, key)
			case pending:
				wasPending[key] = true
			case !r.running[key] && !r.finished[key]:
				r.running[key] = true
				at, _ := time.Parse(time.RFC3339Nano, pr.Annotations[watcher.AnnotationQueuedAt])
				r.started = append(r.started, startEvent{key: key, queuedAt: at, pending: wasPending[key]})
				n := 0
				for k := range r.running {
					if strings.HasPrefix(k, pr.Namespace+"/") {
						n++
					}
				}
				r.maxByNS[pr.Namespace] = max(r.maxByNS[pr.Namespace], n)
				r.max = max(r.max, len(r.running))
				go r.finish(ctx, pr.Namespace, pr.Name)
			}
			r.mu.Unlock()
		}
	}()
}

func (r *runner) finish(ctx context.Context, namespace, name string) {
	select {
	case <-ctx.Done():
		return
	case <-time.After(r.delay):
	}
	if r.hold != nil {
		select {
		case <-ctx.Done():
			return
		case <-r.hold:
		}
	}
	for attempt := 0; attempt < 20; attempt++ {
		pr, err := r.tekton.TektonV1().PipelineRuns(namespace).Get(ctx, name, metav1.GetOptions{})
		end := endSucceed
		if err == nil && r.policy != nil {
			end = r.policy(pr)
		}
		if end == endNever {
			return
		}
		if err == nil && end == endDelete {
			err = r.tekton.TektonV1().PipelineRuns(namespace).Delete(ctx, name, metav1.DeleteOptions{})
		} else if err == nil {
			switch end {
			case endFail:
				pr.Status.SetCondition(&apis.Condition{Type: apis.ConditionSucceeded, Status: corev1.ConditionFalse, Reason: "Failed",
					Message: "Tasks Completed: 3 (Failed: 1, Cancelled 0), Skipped: 0"})
			default:
				pr.Status.SetCondition(&apis.Condition{Type: apis.ConditionSucceeded, Status: corev1.ConditionTrue, Reason: "Succeeded"})
				pr.Status.Results = []pipelinev1.PipelineRunResult{
					{Name: "base-image-analysis-id", Value: *pipelinev1.NewStructuredValues("image-analyzer-" + name)},
					{Name: "buildlog-document-id", Value: *pipelinev1.NewStructuredValues("buildlog-" + name)},
				}
			}
			_, err = r.tekton.TektonV1().PipelineRuns(namespace).UpdateStatus(ctx, pr, metav1.UpdateOptions{})
			if err == nil && end == endSucceedDelete {
				err = r.tekton.TektonV1().PipelineRuns(namespace).Delete(ctx, name, metav1.DeleteOptions{})
			}
		}
		if err == nil {
			r.mu.Lock()
			r.finished[namespace+"/"+name] = true
			r.mu.Unlock()
			return
		}
		if ctx.Err() != nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.mu.Lock()
	r.errs = append(r.errs, fmt.Errorf("could not finish %s/%s", namespace, name))
	r.mu.Unlock()
}

// finishedCount is how many runs were finished.
func (r *runner) finishedCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.finished)
}

// checkFIFO reports queued runs that started before an older queued run.
func (r *runner) checkFIFO(t *testing.T) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	checkStartOrder(t, r.started)
}

// checkStartOrder reports queued runs that started before an older queued run.
func checkStartOrder(t *testing.T, started []startEvent) {
	t.Helper()
	var last time.Time
	out := 0
	for _, s := range started {
		if !s.pending {
			continue
		}
		if s.queuedAt.Before(last) {
			out++
		}
		last = s.queuedAt
	}
	if out > 0 {
		t.Errorf("%d queued runs started before an older queued run: the queue must drain oldest first", out)
	}
}

// waitFor polls cond (reading the API) until it holds or the deadline passes.
func waitFor(t *testing.T, ctx context.Context, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("timed out after %s waiting for %s: %s", timeout, what, state)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// checkBuilds checks that each build has exactly one run, named after its UID, and its
// analysis written back; and that no other runs exist.
func (e *env) checkBuilds(ctx context.Context, names []string, runNamespaces ...string) (bool, string) {
	list, err := e.builds.BuildV1().Builds(e.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return false, err.Error()
	}
	want := map[string]string{} // run name -> build
	done := 0
	for _, b := range list.Items {
		want[watcher.RunName(b.UID, 1)] = b.Name
		if b.Annotations[watcher.AnnotationStatus] == "Succeeded" &&
			b.Annotations[watcher.AnnotationBaseImageAnalysisID] == "image-analyzer-"+watcher.RunName(b.UID, 1) {
			done++
		}
	}
	runs, pending, open := 0, 0, 0
	var stray []string
	for _, ns := range runNamespaces {
		prs, err := e.tekton.TektonV1().PipelineRuns(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		for _, pr := range prs.Items {
			runs++
			if pr.Spec.Status == pipelinev1.PipelineRunSpecStatusPending {
				pending++
			} else if pr.Status.GetCondition(apis.ConditionSucceeded) == nil {
				open++
			}
			if _, ok := want[pr.Name]; !ok {
				stray = append(stray, pr.Name)
			}
		}
	}
	sort.Strings(stray)
	state := fmt.Sprintf("%d builds, %d runs (%d pending, %d started and not finished), %d written back, stray runs %v",
		len(names), runs, pending, open, done, stray)
	return len(list.Items) == len(names) && runs == len(names) && done == len(names) && len(stray) == 0, state
}

// watchFrom watches what list and watch reach from now on, and resumes the watch where it
// stopped whenever the API server closes it. The API server closes watches that take their
// events too slowly (the tests' runners, race-instrumented on a loaded CI machine): a bare
// watch would end there, and the runs started after it would never finish. The stream ends
// with ctx, or when the watch cannot resume (its resource version compacted away), which
// fails the test.
// The list and the watch both take opts (a label selector, say).
func watchFrom[L metav1.ListInterface](ctx context.Context, t testing.TB, what string, opts metav1.ListOptions,
	list func(context.Context, metav1.ListOptions) (L, error),
	watchFn func(context.Context, metav1.ListOptions) (watch.Interface, error)) watch.Interface {
	t.Helper()
	listed, err := list(ctx, opts)
	if err != nil {
		t.Fatalf("listing %s: %v", what, err)
	}
	w, err := watchtools.NewRetryWatcherWithContext(ctx, listed.GetResourceVersion(), &cache.ListWatch{
		WatchFuncWithContext: func(ctx context.Context, resume metav1.ListOptions) (watch.Interface, error) {
			resume.LabelSelector, resume.FieldSelector = opts.LabelSelector, opts.FieldSelector
			return watchFn(ctx, resume)
		},
	})
	if err != nil {
		t.Fatalf("watching %s: %v", what, err)
	}
	out := make(chan watch.Event)
	go func() {
		defer close(out)
		for ev := range w.ResultChan() {
			if ev.Type == watch.Error {
				if ctx.Err() == nil {
					t.Errorf("the watch of %s failed for good: %v", what, ev.Object)
				}
				continue
			}
			select {
			case out <- ev:
			case <-ctx.Done():
				return
			}
		}
	}()
	return resumingWatch{RetryWatcher: w, events: out}
}

// resumingWatch is a RetryWatcher whose errors fail the test instead of reaching the reader.
type resumingWatch struct {
	*watchtools.RetryWatcher
	events chan watch.Event
}

func (w resumingWatch) ResultChan() <-chan watch.Event { return w.events }
