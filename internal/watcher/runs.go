package watcher

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/cache"

	"github.com/thoth-station/build-watcher/internal/build"
)

// runKind is one kind of analysis run that the cluster executor makes on its targets:
// Tekton PipelineRuns (tekton.go) or Argo Workflows (argo.go). Queue, placement, slots and
// redelivery are the executor's, the same for both; a runKind only knows its objects.
type runKind interface {
	// kind names one run in logs and errors ("PipelineRun"); resource names them in
	// metrics and RBAC hints ("pipelineruns").
	kind() string
	resource() string
	// connect makes the client of a target's cluster: the watcher's own for kubeconfig "".
	connect(kubeconfig string) (runClient, error)
	// view reads a run as its target's informer caches it; false for another type.
	view(obj any) (runInfo, bool)
}

// runClient reaches the runs of one target.
type runClient interface {
	// informer lists and watches the watcher's runs (LabelManagedBy) in namespace.
	informer(namespace string, resync time.Duration) runInformer
	// create makes attempt's run of a build as claimed; a pending run waits for start. Its
	// error is the API server's.
	create(ctx context.Context, b *Build, c Claim, attempt int, queuedAt time.Time, pending bool) error
	// start lets a pending run run.
	start(ctx context.Context, namespace, name string) error
}

// runInformer is a target's informer with its factory's start and shutdown.
type runInformer struct {
	cache.SharedIndexInformer
	start    func(stop <-chan struct{})
	shutdown func()
}

// runInfo is what the executor reads of one run.
type runInfo struct {
	name, namespace string
	// buildRef is the run's AnnotationBuildRef.
	buildRef string
	state    prState
	queuedAt time.Time
	// outcome reads the end of a done run, on the named target.
	outcome func(target string) Outcome
}

// queuedAtOf reads a run's place in the queue: AnnotationQueuedAt, else its creation.
func queuedAtOf(annotations map[string]string, created time.Time) time.Time {
	if t, err := time.Parse(time.RFC3339Nano, annotations[AnnotationQueuedAt]); err == nil {
		return t
	}
	return created
}

// target is one place runs go, with its queue derived from its runs.
type target struct {
	name      string
	namespace string
	enabled   bool // guarded by clusterExecutor.mu
	client    runClient
	informer  runInformer
	slots     *slots
	kick      chan struct{}
	stop      context.CancelFunc
}

// wake asks the target's scheduler to look for runs to start.
func (t *target) wake() {
	select {
	case t.kick <- struct{}{}:
	default:
	}
}

// run returns the cached run.
func (e *clusterExecutor) run(t *target, namespace, name string) (runInfo, bool) {
	obj, ok, err := t.informer.GetIndexer().GetByKey(namespace + "/" + name)
	if err != nil || !ok {
		return runInfo{}, false
	}
	return e.kind.view(obj)
}

// goneRun is the last state of a run deleted before the watcher handled its end.
type goneRun struct {
	claim Claim
	view  runView
	at    time.Time
}

// goneTTL is how long the last state of a deleted run is kept for its build's reconcile.
const goneTTL = time.Hour

// clusterExecutor starts one run (a PipelineRun, a Workflow) per analysis attempt on the
// least loaded target.
type clusterExecutor struct {
	cfg     *Config
	metrics *Metrics
	log     *slog.Logger
	kind    runKind
	// enqueue asks for a build's reconcile: one of its runs finished or vanished.
	enqueue func(ref build.Ref)

	mu      sync.Mutex
	targets map[string]*target
	order   []string // as in the targets file
	// gone holds runs deleted before their end was handled, by run name.
	gone map[string]goneRun
	// live holds the runs the informers showed and whose deletion deleted has not handled
	// yet, by run name. An informer drops a deleted run from its cache before it calls the
	// handlers: between the two, a run in live but in neither the cache nor gone is being
	// deleted, not missing, and must not be made again.
	live map[string]struct{}
	// schedulers counts the targets' scheduler goroutines.
	schedulers sync.WaitGroup
}

var _ executor = (*clusterExecutor)(nil)

func newClusterExecutor(cfg *Config, metrics *Metrics, log *slog.Logger, kind runKind, enqueue func(build.Ref)) *clusterExecutor {
	return &clusterExecutor{
		cfg: cfg, metrics: metrics, log: log, kind: kind, enqueue: enqueue,
		targets: map[string]*target{}, gone: map[string]goneRun{}, live: map[string]struct{}{},
	}
}

// apply brings the targets in line with specs: new ones get an informer and a scheduler,
// changed ones their new limit and switch, removed ones are disabled (their runs still
// finish and are written back).
func (e *clusterExecutor) apply(ctx context.Context, specs []TargetSpec) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	seen := map[string]bool{}
	var order []string
	for _, spec := range specs {
		seen[spec.Name] = true
		order = append(order, spec.Name)
		if t, ok := e.targets[spec.Name]; ok {
			t.enabled = spec.IsEnabled()
			t.slots.setMax(spec.MaxConcurrent)
			t.wake()
			continue
		}
		client, err := e.kind.connect(spec.Kubeconfig)
		if err != nil {
			return fmt.Errorf("target %s: %w", spec.Name, err)
		}
		t := &target{
			name: spec.Name, namespace: spec.Namespace, enabled: spec.IsEnabled(), client: client,
			informer: client.informer(spec.Namespace, e.cfg.Resync),
			slots:    newSlots(spec.MaxConcurrent), kick: make(chan struct{}, 1),
		}
		if _, err := t.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { e.observe(t, obj) },
			UpdateFunc: func(_, obj any) { e.observe(t, obj) },
			DeleteFunc: func(obj any) { e.deleted(t, obj) },
		}); err != nil {
			return err
		}
		tctx, cancel := context.WithCancel(ctx)
		t.stop = cancel
		t.informer.start(tctx.Done())
		e.targets[spec.Name] = t
		e.schedulers.Add(1)
		go func() { defer e.schedulers.Done(); e.schedule(tctx, t) }()
	}
	for name, t := range e.targets {
		if !seen[name] {
			t.enabled = false
			order = append(order, name)
		}
	}
	e.order = order
	e.metrics.initSeries(e.cfg, order)
	return nil
}

// waitSynced waits for every target's informer.
func (e *clusterExecutor) waitSynced(ctx context.Context) bool {
	e.mu.Lock()
	var synced []cache.InformerSynced
	for _, t := range e.targets {
		synced = append(synced, t.informer.HasSynced)
	}
	e.mu.Unlock()
	return cache.WaitForCacheSync(ctx.Done(), synced...)
}

// shutdown stops every target's informer and scheduler and waits for them.
func (e *clusterExecutor) shutdown() {
	e.mu.Lock()
	targets := make([]*target, 0, len(e.targets))
	for _, t := range e.targets {
		targets = append(targets, t)
	}
	e.mu.Unlock()
	for _, t := range targets {
		t.stop()
	}
	for _, t := range targets {
		t.informer.shutdown()
	}
	e.schedulers.Wait()
}

// counts reports every target's queue, for the metrics.
func (e *clusterExecutor) counts() []targetCounts {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]targetCounts, 0, len(e.order))
	for _, name := range e.order {
		running, pending, max := e.targets[name].slots.counts()
		out = append(out, targetCounts{target: name, running: running, pending: pending, max: max})
	}
	return out
}

// observe feeds the queue of a target with what its informer shows, and hands finished
// runs to their build's reconcile.
func (e *clusterExecutor) observe(t *target, obj any) {
	r, ok := e.kind.view(obj)
	if !ok {
		return
	}
	t.slots.observe(r.name, r.state, r.queuedAt)
	e.mu.Lock()
	e.live[r.name] = struct{}{}
	e.mu.Unlock()
	if r.state == prDone {
		t.wake()
		e.enqueueBuildOf(r)
	}
}

// deleted frees a deleted run's slot and keeps its last state for its build's reconcile:
// a run pruned before its end was handled must still be written back, or run again.
func (e *clusterExecutor) deleted(t *target, obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	r, ok := e.kind.view(obj)
	if !ok {
		return
	}
	t.slots.forget(r.name)
	t.wake()
	view := runView{state: runVanished}
	if r.state == prDone {
		view = runView{state: runFinished, out: r.outcome(t.name)}
	}
	e.mu.Lock()
	e.gone[r.name] = goneRun{claim: Claim{Target: t.name, Namespace: r.namespace, Name: r.name}, view: view, at: time.Now()}
	delete(e.live, r.name)
	e.mu.Unlock()
	e.enqueueBuildOf(r)
}

func (e *clusterExecutor) enqueueBuildOf(r runInfo) {
	if ref, err := build.ParseRef(r.buildRef); err == nil {
		e.enqueue(ref)
	}
}

// unclaimed finds attempt's run of a build on any target; else, when exactly one target is
// enabled, that target is where the run goes without a written claim.
func (e *clusterExecutor) unclaimed(b *Build, attempt int) (Claim, bool) {
	name := RunName(b.UID, attempt)
	e.mu.Lock()
	defer e.mu.Unlock()
	if g, ok := e.gone[name]; ok {
		return g.claim, true
	}
	var only *target
	enabled := 0
	for _, n := range e.order {
		t := e.targets[n]
		if _, ok := e.run(t, t.namespace, name); ok {
			return Claim{Target: t.name, Namespace: t.namespace, Name: name}, true
		}
		if t.enabled {
			enabled++
			only = t
		}
	}
	if enabled != 1 {
		return Claim{}, false
	}
	return Claim{Target: only.name, Namespace: only.namespace, Name: name}, true
}

// place picks the target of a new run: of the enabled targets, the one with the lowest
// running/max that has a free slot and no queue; when all are full, the one with the lowest
// (running+pending)/max, where it waits.
func (e *clusterExecutor) place(b *Build, attempt int) (Claim, func(), error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var best *target
	bestRoom, bestLoad := false, 0.0
	for _, name := range e.order {
		t := e.targets[name]
		if !t.enabled {
			continue
		}
		running, pending, max := t.slots.counts()
		room := pending == 0 && running < max
		load := float64(running) / float64(max)
		if !room {
			load = float64(running+pending) / float64(max)
		}
		if best == nil || (room && !bestRoom) || (room == bestRoom && load < bestLoad) {
			best, bestRoom, bestLoad = t, room, load
		}
	}
	if best == nil {
		return Claim{}, nil, fmt.Errorf("no enabled target for %s: enable one in the targets file", b.Ref)
	}
	name := RunName(b.UID, attempt)
	best.slots.place(name)
	return Claim{Target: best.name, Namespace: best.namespace, Name: name}, func() { best.slots.unplace(name) }, nil
}

// targetOf returns a target by name.
func (e *clusterExecutor) targetOf(name string) (*target, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t, ok := e.targets[name]
	return t, ok
}

// lookup reports a claimed run: from its target's cache, or the last state of a run that
// was deleted; a run the cache dropped before deleted ran is still active.
func (e *clusterExecutor) lookup(c Claim) runView {
	e.mu.Lock()
	t, hasTarget := e.targets[c.Target]
	e.mu.Unlock()
	if hasTarget {
		if r, ok := e.run(t, c.Namespace, c.Name); ok {
			if r.state == prDone {
				return runView{state: runFinished, out: r.outcome(t.name)}
			}
			return runView{state: runActive}
		}
	}
	// Read after the cache: a run deleted meanwhile is in gone, or still in live.
	e.mu.Lock()
	g, gone := e.gone[c.Name]
	_, deleting := e.live[c.Name]
	e.mu.Unlock()
	switch {
	case gone:
		return g.view
	case !hasTarget:
		return runView{state: runNoTarget}
	case deleting:
		return runView{state: runActive} // deleted handles it and queues the build again
	}
	return runView{state: runMissing}
}

// forget drops the last state of a deleted run once its end is on the build.
func (e *clusterExecutor) forget(c Claim) {
	e.mu.Lock()
	delete(e.gone, c.Name)
	e.mu.Unlock()
}

// expireGone drops the last states of deleted runs that no reconcile asked for.
func (e *clusterExecutor) expireGone(now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for name, g := range e.gone {
		if now.Sub(g.at) > goneTTL {
			delete(e.gone, name)
		}
	}
}

// create makes the claimed run unless it exists: started when its target has a free slot
// and no queue, else pending. Creating it again is AlreadyExists, which is fine.
func (e *clusterExecutor) create(ctx context.Context, b *Build, c Claim, attempt int, seen time.Time) (bool, error) {
	t, ok := e.targetOf(c.Target)
	if !ok {
		return false, fmt.Errorf("build %s is claimed for target %q, which the watcher does not have: add it to the targets file", b.Ref, c.Target)
	}
	now := time.Now()
	start, known := t.slots.admit(c.Name, now)
	if known {
		return false, nil
	}
	err := t.client.create(ctx, b, c, attempt, now, !start)
	kind, resource := e.kind.kind(), e.kind.resource()
	switch {
	case apierrors.IsAlreadyExists(err):
		t.slots.abandon(c.Name)
		return false, nil
	case apierrors.IsInvalid(err) || apierrors.IsBadRequest(err):
		t.slots.abandon(c.Name)
		e.metrics.runsRefused.WithLabelValues(t.name).Inc()
		return false, fmt.Errorf("%w: the API server refused %s %s/%s on target %s: %w", errRefused, kind, c.Namespace, c.Name, t.name, err)
	case err != nil:
		t.slots.abandon(c.Name)
		e.metrics.apiErrors.WithLabelValues("create", resource).Inc()
		return false, fmt.Errorf("creating %s %s/%s on target %s for %s: %w", kind, c.Namespace, c.Name, t.name, b.Ref,
			rbacHint(err, "create", resource, c.Namespace))
	}
	state := "pending"
	if start {
		state = "running"
	}
	e.metrics.runsCreated.WithLabelValues(t.name, state).Inc()
	if attempt == 1 {
		e.metrics.latency.Observe(time.Since(seen).Seconds())
	}
	e.log.Debug(kind+" created", "build", b.Ref.String(), "target", t.name, "run", c.Namespace+"/"+c.Name, "attempt", attempt, "state", state)
	return true, nil
}

// isRefused reports a refusal no retry can fix.
func isRefused(err error) bool { return errors.Is(err, errRefused) }
