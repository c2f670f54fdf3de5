package watcher_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	buildv1 "github.com/openshift/api/build/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/thoth-station/build-watcher/internal/build"
	"github.com/thoth-station/build-watcher/internal/watcher"
)

// config is a watcher configuration for the test's namespace.
func (e *env) config() watcher.Config {
	return watcher.Config{
		Namespaces:       []string{e.ns},
		Kinds:            []build.Kind{build.KindBuild},
		Phases:           build.Phases(),
		StateNamespace:   e.ns,
		Executor:         watcher.ExecutorTekton,
		Workers:          5,
		RunNamespace:     e.ns,
		Runs:             watcher.RunsPipeline,
		Pipeline:         "thoth-build-analysis",
		SyncWorkers:      16,
		AnalysisAttempts: watcher.DefaultAnalysisAttempts,
		RetryBackoff:     watcher.DefaultRetryBackoff,
		Analysis:         watcher.Analysis{ThothHost: "thoth.example.com"},
		Logger:           testLogger(),
	}
}

func testLogger() *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("BUILD_WATCHER_TEST_VERBOSE") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// startWatcher runs a watcher in this process until the test ends.
func (e *env) startWatcher(cfg watcher.Config) (*watcher.Watcher, *watcher.Metrics) {
	e.t.Helper()
	w, m, stop := e.runWatcher(cfg)
	e.t.Cleanup(stop)
	return w, m
}

// startWatcherStoppable runs a watcher until the returned function is called.
func (e *env) startWatcherStoppable(cfg watcher.Config) func() {
	e.t.Helper()
	_, _, stop := e.runWatcher(cfg)
	return stop
}

func (e *env) runWatcher(cfg watcher.Config) (*watcher.Watcher, *watcher.Metrics, func()) {
	e.t.Helper()
	rest := e.rest
	if rest == nil {
		rest = cp.Config()
	}
	rest.QPS, rest.Burst = 200, 400
	clients, err := watcher.NewClients(rest)
	if err != nil {
		e.t.Fatal(err)
	}
	metrics := watcher.NewMetrics()
	w, err := watcher.New(&cfg, clients, metrics)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	stop := sync.OnceFunc(func() {
		cancel()
		if err := <-done; err != nil {
			e.t.Errorf("watcher: %v", err)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for !w.Ready() {
		if time.Now().After(deadline) {
			e.t.Fatal("the watcher did not become ready in 30 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return w, metrics, stop
}

// TestBurst: 1,000 builds finish within seconds; exactly 1,000 PipelineRuns are made,
// never more than N run at once, and the queue drains oldest first.
func TestBurst(t *testing.T) {
	n := 1000
	if testing.Short() {
		n = 200
	}
	e := newEnv(t)
	ctx := t.Context()
	r := newRunner(t, e.tekton, 20*time.Millisecond)
	r.watch(ctx, e.ns)
	cfg := e.config()
	cfg.Workers = 5
	e.startWatcher(cfg)

	began := time.Now()
	names := e.finishBuilds(ctx, "burst", n, buildv1.BuildPhaseComplete)
	t.Logf("%d builds finished in %s", n, time.Since(began).Round(time.Millisecond))
	waitFor(t, ctx, 5*time.Minute, "every build analysed once", func() (bool, string) {
		return e.checkBuilds(ctx, names, e.ns)
	})
	t.Logf("all %d analysed and written back %s after the first build finished", n, time.Since(began).Round(time.Millisecond))
	r.mu.Lock()
	if r.max > cfg.Workers {
		t.Errorf("%d PipelineRuns ran at once; the limit is %d", r.max, cfg.Workers)
	}
	if r.max < cfg.Workers {
		t.Errorf("at most %d PipelineRuns ran at once: the %d slots were never all used", r.max, cfg.Workers)
	}
	if len(r.created) != n {
		t.Errorf("%d PipelineRuns were created, want %d", len(r.created), n)
	}
	if len(r.errs) > 0 {
		t.Errorf("runner: %v", r.errs)
	}
	r.mu.Unlock()
	r.checkFIFO(t)
}

// TestPhasesAndExisting: builds that finished before the watcher was first installed are
// left alone unless --analyze-existing, and only the chosen phases are analysed.
func TestPhasesAndExisting(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	r := newRunner(t, e.tekton, 0)
	r.watch(ctx, e.ns)
	// Builds that finished a minute before the watcher was installed.
	old := e.finishBuildsAt(ctx, "old", 3, buildv1.BuildPhaseFailed, time.Now().Add(-time.Minute))

	cfg := e.config()
	cfg.Phases = []build.Phase{build.PhaseFailed, build.PhaseCancelled}
	stop := e.startWatcherStoppable(cfg)
	complete := e.finishBuilds(ctx, "complete", 2, buildv1.BuildPhaseComplete)
	failed := e.finishBuilds(ctx, "failed", 2, buildv1.BuildPhaseFailed)
	cancelled := e.finishBuilds(ctx, "cancelled", 1, buildv1.BuildPhaseCancelled)
	waitFor(t, ctx, time.Minute, "the failed and cancelled builds analysed", func() (bool, string) {
		n := r.finishedCount()
		return n == len(failed)+len(cancelled), fmt.Sprintf("finished runs: %d", n)
	})
	// The complete builds finished before the failed ones were made: by now their turn in
	// the queue has come and gone.
	e.checkAnalysed(ctx, append(complete, old...), false)
	e.checkAnalysed(ctx, append(failed, cancelled...), true)
	stop()

	// A restart with --analyze-existing takes the builds from before the installation.
	cfg.AnalyzeExisting = true
	e.startWatcher(cfg)
	waitFor(t, ctx, time.Minute, "the existing builds analysed", func() (bool, string) {
		n := r.finishedCount()
		return n == len(failed)+len(cancelled)+len(old), fmt.Sprintf("finished runs: %d", n)
	})
	e.checkAnalysed(ctx, complete, false)
	e.checkAnalysed(ctx, old, true)
}

// checkAnalysed checks whether the builds carry an analysis outcome.
func (e *env) checkAnalysed(ctx context.Context, names []string, analysed bool) {
	e.t.Helper()
	for _, name := range names {
		b, err := e.builds.BuildV1().Builds(e.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			e.t.Fatal(err)
		}
		if v := b.Annotations[watcher.AnnotationStatus]; (v != "") != analysed {
			e.t.Errorf("build %s (%s): analysis status %q, want analysed=%t", name, b.Status.Phase, v, analysed)
		}
	}
}
