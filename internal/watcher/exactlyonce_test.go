package watcher_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	buildv1 "github.com/openshift/api/build/v1"
	dto "github.com/prometheus/client_model/go"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"knative.dev/pkg/apis"

	"github.com/thoth-station/build-watcher/internal/watcher"
)

// toucher stands in for the controllers that patch builds right after they finish (Tekton
// Chains, Tekton Results, Argo CD): it labels every finished build a few times, without any
// precondition, interleaving its writes with the watcher's.
type toucher struct {
	e       *env
	touches int
	mu      sync.Mutex
	done    map[string]int
}

// touch runs until ctx ends; it returns once its watch is established.
func (e *env) touch(ctx context.Context, touches int) *toucher {
	e.t.Helper()
	tc := &toucher{e: e, touches: touches, done: map[string]int{}}
	builds := e.builds.BuildV1().Builds(e.ns)
	w := watchFrom(ctx, e.t, "builds in "+e.ns, metav1.ListOptions{}, builds.List, builds.Watch)
	work := make(chan string, 1024)
	for range 8 {
		go func() {
			for name := range work {
				patch := fmt.Sprintf(`{"metadata":{"labels":{"chains.example.com/touched":"%d"}}}`, time.Now().UnixNano())
				_, _ = e.builds.BuildV1().Builds(e.ns).Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{FieldManager: "toucher"})
			}
		}()
	}
	go func() {
		defer close(work)
		defer w.Stop()
		for ev := range w.ResultChan() {
			b, ok := ev.Object.(*buildv1.Build)
			if !ok || ev.Type == watch.Deleted || b.Status.CompletionTimestamp == nil {
				continue
			}
			tc.mu.Lock()
			n := tc.done[b.Name]
			if n < tc.touches {
				tc.done[b.Name] = n + 1
			}
			tc.mu.Unlock()
			if n < tc.touches {
				work <- b.Name
			}
		}
	}()
	return tc
}

// runsOf lists the watcher's runs in namespaces by build UID, each list ordered by attempt.
func (e *env) runsOf(ctx context.Context, namespaces ...string) (map[string][]pipelinev1.PipelineRun, error) {
	out := map[string][]pipelinev1.PipelineRun{}
	for _, ns := range namespaces {
		prs, err := e.tekton.TektonV1().PipelineRuns(ns).List(ctx, metav1.ListOptions{LabelSelector: watcher.LabelManagedBy + "=" + watcher.ManagedBy})
		if err != nil {
			return nil, err
		}
		for _, pr := range prs.Items {
			uid := pr.Labels[watcher.LabelBuildUID]
			out[uid] = append(out[uid], pr)
		}
	}
	for _, runs := range out {
		sort.Slice(runs, func(i, j int) bool { return runs[i].Name < runs[j].Name })
	}
	return out, nil
}

// duplicates counts the builds that have more than one run of the same attempt, anywhere.
func duplicates(runs map[string][]pipelinev1.PipelineRun) int {
	n := 0
	for _, list := range runs {
		seen := map[string]bool{}
		for _, pr := range list {
			a := pr.Annotations[watcher.AnnotationRunAttempt]
			if seen[a] {
				n++
				break
			}
			seen[a] = true
		}
	}
	return n
}

// gauge reads a gauge or counter: the sum of the series of name that carry labels (other
// labels may take any value: the series start at zero for every value known in advance).
func gauge(t *testing.T, m *watcher.Metrics, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, mt := range f.GetMetric() {
			if !matches(mt, labels) {
				continue
			}
			if g := mt.GetGauge(); g != nil {
				sum += g.GetValue()
			}
			if c := mt.GetCounter(); c != nil {
				sum += c.GetValue()
			}
		}
	}
	return sum
}

func matches(m *dto.Metric, labels map[string]string) bool {
	found := 0
	for _, l := range m.GetLabel() {
		if v, ok := labels[l.GetName()]; ok {
			if v != l.GetValue() {
				return false
			}
			found++
		}
	}
	return found == len(labels)
}

// pendingRuns counts the runs waiting (spec.status PipelineRunPending) and the ones started
// and not finished in a namespace.
func (e *env) pendingRuns(ctx context.Context, ns string) (pending, running int, err error) {
	prs, err := e.tekton.TektonV1().PipelineRuns(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return 0, 0, err
	}
	for _, pr := range prs.Items {
		switch {
		case pr.Status.GetCondition(apis.ConditionSucceeded) != nil:
		case pr.Spec.Status == pipelinev1.PipelineRunSpecStatusPending:
			pending++
		default:
			running++
		}
	}
	return pending, running, nil
}

// exactlyOnceRound: n builds finish 16 at a time while another controller labels each one
// right after; the runner holds every run until all exist. Then: no build has two runs (on
// any target), the queue gauges equal the cluster's runs, and once released every build is
// analysed once and the gauges drain to zero.
func exactlyOnceRound(t *testing.T, n int, targets []string) {
	e := newEnv(t)
	ctx := t.Context()
	cfg := e.config()
	cfg.Workers = 8
	namespaces := []string{e.ns}
	if len(targets) > 0 {
		namespaces = nil
		var doc strings.Builder
		doc.WriteString("targets:\n")
		for _, name := range targets {
			ns, err := cp.CreateNamespace(ctx, "target")
			if err != nil {
				t.Fatal(err)
			}
			namespaces = append(namespaces, ns)
			fmt.Fprintf(&doc, "- {name: %s, namespace: %s, max_concurrent: 4}\n", name, ns)
		}
		file := filepath.Join(t.TempDir(), "targets.yaml")
		if err := os.WriteFile(file, []byte(doc.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg.TargetsFile = file
	} else {
		targets = []string{"default"}
	}
	r := newRunner(t, e.tekton, 5*time.Millisecond)
	r.hold = make(chan struct{})
	for _, ns := range namespaces {
		r.watch(ctx, ns)
	}
	e.touch(ctx, 2)
	_, m := e.startWatcher(cfg)
	names := e.finishBuilds(ctx, "once", n, buildv1.BuildPhaseComplete)

	// Every build has its run, none twice; the gauges say what the cluster holds.
	waitFor(t, ctx, 3*time.Minute, "a run per build, and the gauges equal to the cluster's runs", func() (bool, string) {
		runs, err := e.runsOf(ctx, namespaces...)
		if err != nil {
			return false, err.Error()
		}
		if d := duplicates(runs); d > 0 {
			t.Fatalf("%d of %d builds got two runs of the same attempt", d, n)
		}
		var states []string
		equal := true
		for i, ns := range namespaces {
			pending, running, err := e.pendingRuns(ctx, ns)
			if err != nil {
				return false, err.Error()
			}
			gp := gauge(t, m, "build_watcher_runs", map[string]string{"target": targets[i], "state": "pending"})
			gr := gauge(t, m, "build_watcher_runs", map[string]string{"target": targets[i], "state": "running"})
			equal = equal && gp == float64(pending) && gr == float64(running)
			states = append(states, fmt.Sprintf("%s: cluster %d pending/%d running, gauges %g/%g", targets[i], pending, running, gp, gr))
		}
		return len(runs) == n && equal, fmt.Sprintf("%d of %d builds have runs; %s", len(runs), n, strings.Join(states, "; "))
	})
	close(r.hold)
	waitFor(t, ctx, 3*time.Minute, "every build analysed once", func() (bool, string) {
		return e.checkBuilds(ctx, names, namespaces...)
	})
	runs, err := e.runsOf(ctx, namespaces...)
	if err != nil {
		t.Fatal(err)
	}
	if d := duplicates(runs); d > 0 {
		t.Errorf("%d of %d builds got two runs", d, n)
	}
	waitFor(t, ctx, 30*time.Second, "the queue gauges drained", func() (bool, string) {
		var sum float64
		for _, name := range targets {
			sum += gauge(t, m, "build_watcher_runs", map[string]string{"target": name, "state": "pending"})
			sum += gauge(t, m, "build_watcher_runs", map[string]string{"target": name, "state": "running"})
		}
		return sum == 0, fmt.Sprintf("pending+running gauges: %g", sum)
	})
	if got := gauge(t, m, "build_watcher_builds_finished_total", map[string]string{"kind": "build"}); got != float64(n) {
		t.Errorf("build_watcher_builds_finished_total = %g for %d builds: builds were counted (and written) again", got, n)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.errs) > 0 {
		t.Errorf("runner: %v", r.errs)
	}
}

// TestExactlyOnceTouched: with one target (no claim written) and with two (claims
// conditional on the build's version), another controller patching every build as it
// finishes never gets a build a second run, over 600 builds each. For a longer hunt,
// repeat it: go test -race -run TestExactlyOnceTouched -count=5 ./internal/watcher (each
// count is a fresh watcher in fresh namespaces). It ran five rounds of 400 per case before:
// 228 s of the package's 474 s, the longest test of CI.
func TestExactlyOnceTouched(t *testing.T) {
	n := 600
	if testing.Short() {
		n = 100
	}
	for _, tc := range []struct {
		name    string
		targets []string
	}{
		{"one target", nil},
		{"two targets", []string{"east", "west"}},
	} {
		t.Run(tc.name, func(t *testing.T) { exactlyOnceRound(t, n, tc.targets) })
	}
}
