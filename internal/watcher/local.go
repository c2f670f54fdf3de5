package watcher

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"

	"github.com/thoth-station/build-watcher/internal/build"
	"github.com/thoth-station/build-watcher/internal/mirror"
	"github.com/thoth-station/build-watcher/internal/submit"
	"github.com/thoth-station/build-watcher/internal/thoth"
)

// localExecutor runs collect -> mirror -> submit in this process with Workers goroutines,
// the old bot's CLI mode: no Tekton needed. Its queue is in memory; a build whose run was
// cut short by a crash keeps its claim without an outcome and is analysed again on restart.
type localExecutor struct {
	cfg       *Config
	clients   Clients
	metrics   *Metrics
	log       *slog.Logger
	writeBack func(ctx context.Context, b *Build, out Outcome) error
	queue     workqueue.TypedInterface[build.Ref]

	mu sync.Mutex
	// queued holds the builds (by UID) in the queue or being analysed; done those whose
	// outcome this process wrote: the informer may show them without it for a moment, and
	// they must not run twice.
	queued, done map[types.UID]bool
}

func newLocalExecutor(cfg *Config, clients Clients, metrics *Metrics, log *slog.Logger,
	writeBack func(ctx context.Context, b *Build, out Outcome) error) *localExecutor {
	return &localExecutor{
		cfg: cfg, clients: clients, metrics: metrics, log: log, writeBack: writeBack,
		queue: workqueue.NewTyped[build.Ref](), queued: map[types.UID]bool{}, done: map[types.UID]bool{},
	}
}

func (l *localExecutor) place(b *Build) (Claim, error) {
	return Claim{Target: LocalTarget, Namespace: "-", Name: RunName(b.UID)}, nil
}

func (l *localExecutor) release(Claim) {}

func (l *localExecutor) isDone(uid types.UID) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.done[uid]
}

// ensure queues the build unless it is queued, being analysed, or done.
func (l *localExecutor) ensure(_ context.Context, b *Build, _ Claim, seen time.Time) error {
	l.mu.Lock()
	known := l.queued[b.UID] || l.done[b.UID]
	l.queued[b.UID] = true
	l.mu.Unlock()
	if known {
		return nil
	}
	l.queue.Add(b.Ref)
	l.metrics.runsCreated.WithLabelValues(LocalTarget, "pending").Inc()
	l.metrics.latency.Observe(time.Since(seen).Seconds())
	return nil
}

// run works the queue with cfg.Workers goroutines until ctx ends.
func (l *localExecutor) run(ctx context.Context, w *Watcher) {
	go func() { <-ctx.Done(); l.queue.ShutDown() }()
	done := make(chan struct{})
	for range l.cfg.Workers {
		go func() {
			defer func() { done <- struct{}{} }()
			for {
				ref, shutdown := l.queue.Get()
				if shutdown {
					return
				}
				l.work(ctx, w, ref)
				l.queue.Done(ref)
			}
		}()
	}
	for range l.cfg.Workers {
		<-done
	}
}

func (l *localExecutor) work(ctx context.Context, w *Watcher, ref build.Ref) {
	s := w.sources[ref.Kind]
	b, ok := s.get(ref.Namespace, ref.Name)
	if !ok {
		return
	}
	defer func() {
		l.mu.Lock()
		delete(l.queued, b.UID)
		l.mu.Unlock()
	}()
	if b.Done() || l.isDone(b.UID) {
		return
	}
	l.metrics.runs.WithLabelValues(LocalTarget, "running").Inc()
	defer l.metrics.runs.WithLabelValues(LocalTarget, "running").Dec()
	began := time.Now()
	out := l.analyse(ctx, b)
	if ctx.Err() != nil {
		return // cut short: the claim stays without an outcome, the next start redoes it
	}
	outcome := "succeeded"
	if out.Err != nil {
		outcome = "failed"
	}
	l.log.Info("analysis finished", "build", ref.String(), "outcome", outcome, "took", time.Since(began).Round(time.Millisecond).String(), "error", out.Err)
	l.metrics.runsCompleted.WithLabelValues(LocalTarget, outcome).Inc()
	for attempt := 0; ; attempt++ {
		err := l.writeBack(ctx, b, out)
		if err == nil {
			l.mu.Lock()
			l.done[b.UID] = true
			l.mu.Unlock()
			return
		}
		if ctx.Err() != nil {
			return
		}
		l.log.Error("writing the analysis outcome onto the build failed; will retry", "build", ref.String(), "error", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(min(time.Duration(1<<min(attempt, 5))*time.Second, 30*time.Second)):
		}
	}
}

// analyse is one analysis: the mirror when a push registry is set, then the submission,
// which reads the build's log and images itself.
func (l *localExecutor) analyse(ctx context.Context, b *Build) Outcome {
	a := &l.cfg.Analysis
	origin := b.Ref.Namespace + "/" + b.Ref.Name
	if a.Cluster != "" {
		origin = a.Cluster + "/" + origin
	}
	opts := submitOptions(l.cfg, origin)
	opts.BuildRef, opts.REST = b.Ref.String(), l.clients.REST
	if a.PushRegistry != "" && !a.NoOutput {
		mirrored, err := l.mirror(ctx, b)
		if err != nil {
			return Outcome{Err: err}
		}
		opts.OutputImage = mirrored
	}
	sub, err := submit.Run(ctx, opts, submit.Streams{Stdout: io.Discard, Logger: l.log.With("build", b.Ref.String())})
	if err != nil {
		return Outcome{Err: err}
	}
	return Outcome{IDs: analysisIDs(&sub.Response)}
}

// submitOptions are the settings of every in-process submission to Thoth.
func submitOptions(cfg *Config, origin string) submit.Options {
	a := &cfg.Analysis
	opts := submit.Options{
		ThothHost: a.ThothHost, NoTLSVerify: a.NoTLSVerify, CAFile: cfg.ThothCAFile,
		RequestTimeout: time.Minute, RetryAttempts: 6, RetryMaxTime: 5 * time.Minute,
		MaxBodyBytes: thoth.DefaultMaxBodyBytes,
		NoBase:       a.NoBase, NoOutput: a.NoOutput, NoBuildLog: a.NoBuildLog,
		EnvironmentType: a.EnvironmentType, Origin: origin, Debug: a.Debug, Force: a.Force,
		BaseRegistry:   submit.Registry{AuthFile: cfg.SrcAuthFile, NoTLSVerify: a.NoSrcRegistryTLSVerify},
		OutputRegistry: submit.Registry{AuthFile: cfg.DstAuthFile, NoTLSVerify: a.NoDstRegistryTLSVerify},
		PassToken:      a.PassToken,
		Format:         submit.FormatText,
		UserAgent:      "build-watcher",
	}
	if opts.EnvironmentType == "" {
		opts.EnvironmentType = thoth.EnvironmentRuntime
	}
	return opts
}

// analysisIDs maps Thoth's answer onto the build annotations that hold its ids.
func analysisIDs(r *thoth.BuildAnalysisResponse) map[string]string {
	ids := map[string]string{}
	for _, v := range []struct {
		ref        *thoth.AnalysisRef
		annotation string
	}{
		{r.BaseImageAnalysis, AnnotationBaseImageAnalysisID},
		{r.OutputImageAnalysis, AnnotationOutputImageAnalysisID},
		{r.BuildLogAnalysis, AnnotationBuildLogAnalysisID},
	} {
		if v.ref != nil && v.ref.AnalysisID != "" {
			ids[v.annotation] = v.ref.AnalysisID
		}
	}
	if r.BuildLogDocumentID != "" {
		ids[AnnotationBuildLogDocumentID] = r.BuildLogDocumentID
	}
	return ids
}

// mirror copies the build's output image to the push registry; "" when it has none.
func (l *localExecutor) mirror(ctx context.Context, b *Build) (string, error) {
	rec, err := build.Collect(ctx, l.clients.Collect, b.Ref, build.Options{})
	if err != nil {
		return "", fmt.Errorf("collecting %s: %w", b.Ref, err)
	}
	if rec.OutputImage == "" {
		return "", nil
	}
	a := &l.cfg.Analysis
	dst, err := mirror.Target(rec.OutputImage, "", a.PushRegistry, mirror.PushMode(a.PushMode))
	if err != nil {
		return "", fmt.Errorf("naming the copy of %s in %s: %w", rec.OutputImage, a.PushRegistry, err)
	}
	res, err := mirror.Mirror(ctx, rec.OutputImage, dst,
		mirror.WithSource(mirror.Registry{AuthFile: l.cfg.SrcAuthFile, NoTLSVerify: a.NoSrcRegistryTLSVerify}),
		mirror.WithDestination(mirror.Registry{AuthFile: l.cfg.DstAuthFile, NoTLSVerify: a.NoDstRegistryTLSVerify}),
		mirror.WithInsecureRegistries(l.cfg.InsecureRegistries...),
		mirror.WithCAFile(l.cfg.RegistryCAFile),
		mirror.WithPassToken(a.PassToken),
		mirror.WithLogger(l.log))
	if err != nil {
		return "", fmt.Errorf("mirroring %s to %s: %w", rec.OutputImage, dst, err)
	}
	return res.Image, nil
}
