package watcher

import (
	"context"
	"errors"
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
	"github.com/thoth-station/build-watcher/internal/usage"
)

// localExecutor runs collect -> mirror -> submit in this process with Workers goroutines,
// the old bot's CLI mode: no Tekton needed. Its queue is in memory: a run cut short by a
// crash is made again on restart from the build's annotations, as the same attempt.
type localExecutor struct {
	cfg     *Config
	clients Clients
	metrics *Metrics
	log     *slog.Logger
	thoth   *sharedThoth
	// get reads a build from the cache; enqueue asks for its reconcile once a run ended.
	get     func(build.Ref) (*Build, bool)
	enqueue func(build.Ref)
	queue   workqueue.TypedInterface[localRun]

	mu sync.Mutex
	// active holds the runs queued or being analysed, by name; running counts the latter.
	active  map[string]bool
	running int
	// ended holds the outcomes of finished runs until their build's reconcile wrote them.
	ended map[string]Outcome
}

// localRun is one queued in-process analysis run.
type localRun struct {
	ref  build.Ref
	uid  types.UID
	name string
}

var _ executor = (*localExecutor)(nil)

func newLocalExecutor(cfg *Config, clients Clients, metrics *Metrics, log *slog.Logger, thoth *sharedThoth,
	get func(build.Ref) (*Build, bool), enqueue func(build.Ref)) *localExecutor {
	return &localExecutor{
		cfg: cfg, clients: clients, metrics: metrics, log: log, thoth: thoth, get: get, enqueue: enqueue,
		queue: workqueue.NewTyped[localRun](), active: map[string]bool{}, ended: map[string]Outcome{},
	}
}

func (l *localExecutor) claimOf(b *Build, attempt int) Claim {
	return Claim{Target: LocalTarget, Namespace: "-", Name: RunName(b.UID, attempt)}
}

// unclaimed: the local executor never needs a written claim; its run's name is the claim.
func (l *localExecutor) unclaimed(b *Build, attempt int) (Claim, bool) {
	return l.claimOf(b, attempt), true
}

func (l *localExecutor) place(b *Build, attempt int) (Claim, func(), error) {
	return l.claimOf(b, attempt), func() {}, nil
}

func (l *localExecutor) lookup(c Claim) runView {
	if c.Target != LocalTarget {
		return runView{state: runNoTarget}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.active[c.Name] {
		return runView{state: runActive}
	}
	if out, ok := l.ended[c.Name]; ok {
		return runView{state: runFinished, out: out}
	}
	return runView{state: runMissing}
}

func (l *localExecutor) forget(c Claim) {
	l.mu.Lock()
	delete(l.ended, c.Name)
	l.mu.Unlock()
}

// create queues the run unless it is queued, being analysed, or ended.
func (l *localExecutor) create(_ context.Context, b *Build, c Claim, attempt int, seen time.Time) (bool, error) {
	l.mu.Lock()
	_, ended := l.ended[c.Name]
	known := l.active[c.Name] || ended
	if !known {
		l.active[c.Name] = true
	}
	l.mu.Unlock()
	if known {
		return false, nil
	}
	l.queue.Add(localRun{ref: b.Ref, uid: b.UID, name: c.Name})
	l.metrics.runsCreated.WithLabelValues(LocalTarget, "pending").Inc()
	if attempt == 1 {
		l.metrics.latency.Observe(time.Since(seen).Seconds())
	}
	return true, nil
}

// counts reports the in-process queue, for the metrics.
func (l *localExecutor) counts() []targetCounts {
	l.mu.Lock()
	defer l.mu.Unlock()
	return []targetCounts{{target: LocalTarget, running: l.running, pending: len(l.active) - l.running, max: l.cfg.Workers}}
}

// run works the queue with cfg.Workers goroutines until ctx ends, and returns when they have.
func (l *localExecutor) run(ctx context.Context) {
	var wg sync.WaitGroup
	for range l.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				r, shutdown := l.queue.Get()
				if shutdown {
					return
				}
				l.work(ctx, r)
				l.queue.Done(r)
			}
		}()
	}
	<-ctx.Done()
	l.queue.ShutDown()
	wg.Wait()
}

// work analyses one build and keeps the outcome for its reconcile.
func (l *localExecutor) work(ctx context.Context, r localRun) {
	done := func(out *Outcome) {
		l.mu.Lock()
		delete(l.active, r.name)
		if out != nil {
			l.ended[r.name] = *out
		}
		l.mu.Unlock()
	}
	b, ok := l.get(r.ref)
	if !ok || b.UID != r.uid || ctx.Err() != nil {
		done(nil)
		return
	}
	l.mu.Lock()
	l.running++
	l.mu.Unlock()
	l.metrics.runsStarted.WithLabelValues(LocalTarget).Inc()
	began := time.Now()
	out := l.analyse(ctx, b)
	l.mu.Lock()
	l.running--
	l.mu.Unlock()
	if ctx.Err() != nil {
		done(nil) // cut short: the next start makes this run again
		return
	}
	outcome := "succeeded"
	if out.Err != nil {
		outcome = "failed"
		out.Reason = ReasonLocalFailed
		if isPermanent(out.Err) {
			out.Reason = ReasonLocalPermanent
		}
	}
	l.log.Info("analysis finished", "build", r.ref.String(), "run", r.name, "outcome", outcome,
		"took", time.Since(began).Round(time.Millisecond).String(), "error", out.Err)
	done(&out)
	l.enqueue(r.ref)
}

// isPermanent reports an in-process failure no new attempt can fix: Thoth refused the
// request for good, or the input is wrong.
func isPermanent(err error) bool {
	if errors.Is(err, usage.ErrBadInput) || errors.Is(err, thoth.ErrNothingToSubmit) {
		return true
	}
	var api *thoth.APIError
	return errors.As(err, &api) && !api.Temporary()
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
	client, err := l.thoth.get(ctx)
	if err != nil {
		return Outcome{Err: err}
	}
	opts.Client = client
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
		BaseRegistry:    submit.Registry{AuthFile: cfg.SrcAuthFile, NoTLSVerify: a.NoSrcRegistryTLSVerify},
		OutputRegistry:  submit.Registry{AuthFile: cfg.DstAuthFile, NoTLSVerify: a.NoDstRegistryTLSVerify},
		PassToken:       a.PassToken,
		DefaultRegistry: a.DefaultRegistry,
		Format:          submit.FormatText,
		UserAgent:       "build-watcher",
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
	rec, err := build.Collect(ctx, l.clients.Collect, b.Ref, build.Options{DefaultRegistry: l.cfg.Analysis.DefaultRegistry})
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
