package watcher

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	tektoninformers "github.com/tektoncd/pipeline/pkg/client/informers/externalversions"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"knative.dev/pkg/apis"

	"github.com/thoth-station/build-watcher/internal/build"
)

// target is one place PipelineRuns go, with its queue derived from its PipelineRuns.
type target struct {
	name      string
	namespace string
	enabled   bool // guarded by tektonExecutor.mu
	tekton    tektonclient.Interface
	factory   tektoninformers.SharedInformerFactory
	informer  cache.SharedIndexInformer
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

// run returns the cached PipelineRun.
func (t *target) run(namespace, name string) (*pipelinev1.PipelineRun, bool) {
	obj, ok, err := t.informer.GetIndexer().GetByKey(namespace + "/" + name)
	if err != nil || !ok {
		return nil, false
	}
	pr, ok := obj.(*pipelinev1.PipelineRun)
	return pr, ok
}

// goneRun is the last state of a run deleted before the watcher handled its end.
type goneRun struct {
	claim Claim
	view  runView
	at    time.Time
}

// goneTTL is how long the last state of a deleted run is kept for its build's reconcile.
const goneTTL = time.Hour

// tektonExecutor starts one PipelineRun per analysis attempt on the least loaded target.
type tektonExecutor struct {
	cfg     *Config
	metrics *Metrics
	log     *slog.Logger
	// connect makes the Tekton client of a target's kubeconfig ("" = the watcher's cluster).
	connect func(kubeconfig string) (tektonclient.Interface, error)
	// enqueue asks for a build's reconcile: one of its runs finished or vanished.
	enqueue func(ref build.Ref)

	mu      sync.Mutex
	targets map[string]*target
	order   []string // as in the targets file
	// gone holds runs deleted before their end was handled, by run name.
	gone map[string]goneRun
	// schedulers counts the targets' scheduler goroutines.
	schedulers sync.WaitGroup
}

var _ executor = (*tektonExecutor)(nil)

func newTektonExecutor(cfg *Config, metrics *Metrics, log *slog.Logger, connect func(string) (tektonclient.Interface, error), enqueue func(build.Ref)) *tektonExecutor {
	return &tektonExecutor{
		cfg: cfg, metrics: metrics, log: log, connect: connect, enqueue: enqueue,
		targets: map[string]*target{}, gone: map[string]goneRun{},
	}
}

// queuedAt reads a run's place in the queue.
func queuedAt(pr *pipelinev1.PipelineRun) time.Time {
	if t, err := time.Parse(time.RFC3339Nano, pr.Annotations[AnnotationQueuedAt]); err == nil {
		return t
	}
	return pr.CreationTimestamp.Time
}

// trimOwnRun keeps what the watcher reads of its PipelineRuns.
func trimOwnRun(obj any) (any, error) {
	pr, ok := obj.(*pipelinev1.PipelineRun)
	if !ok {
		return obj, nil
	}
	out := &pipelinev1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{
			Name: pr.Name, Namespace: pr.Namespace, UID: pr.UID, ResourceVersion: pr.ResourceVersion,
			CreationTimestamp: pr.CreationTimestamp,
			Labels:            map[string]string{LabelBuildUID: pr.Labels[LabelBuildUID], LabelBuildKind: pr.Labels[LabelBuildKind]},
			Annotations:       ownAnnotations(pr.Annotations),
		},
		Spec: pipelinev1.PipelineRunSpec{Status: pr.Spec.Status},
	}
	if c := pr.Status.GetCondition(apis.ConditionSucceeded); c != nil {
		out.Status.SetCondition(c)
	}
	out.Status.Results = pr.Status.Results
	return out, nil
}

// apply brings the targets in line with specs: new ones get an informer and a scheduler,
// changed ones their new limit and switch, removed ones are disabled (their runs still
// finish and are written back).
func (e *tektonExecutor) apply(ctx context.Context, specs []TargetSpec) error {
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
		client, err := e.connect(spec.Kubeconfig)
		if err != nil {
			return fmt.Errorf("target %s: %w", spec.Name, err)
		}
		t := &target{
			name: spec.Name, namespace: spec.Namespace, enabled: spec.IsEnabled(), tekton: client,
			slots: newSlots(spec.MaxConcurrent), kick: make(chan struct{}, 1),
		}
		t.factory = tektoninformers.NewSharedInformerFactoryWithOptions(client, e.cfg.Resync,
			tektoninformers.WithNamespace(spec.Namespace),
			tektoninformers.WithTransform(trimOwnRun),
			tektoninformers.WithTweakListOptions(func(o *metav1.ListOptions) {
				o.LabelSelector = LabelManagedBy + "=" + ManagedBy
			}))
		t.informer = t.factory.Tekton().V1().PipelineRuns().Informer()
		if _, err := t.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { e.observe(t, obj) },
			UpdateFunc: func(_, obj any) { e.observe(t, obj) },
			DeleteFunc: func(obj any) { e.deleted(t, obj) },
		}); err != nil {
			return err
		}
		tctx, cancel := context.WithCancel(ctx)
		t.stop = cancel
		t.factory.Start(tctx.Done())
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
func (e *tektonExecutor) waitSynced(ctx context.Context) bool {
	e.mu.Lock()
	var synced []cache.InformerSynced
	for _, t := range e.targets {
		synced = append(synced, t.informer.HasSynced)
	}
	e.mu.Unlock()
	return cache.WaitForCacheSync(ctx.Done(), synced...)
}

// shutdown stops every target's informer and scheduler and waits for them.
func (e *tektonExecutor) shutdown() {
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
		t.factory.Shutdown()
	}
	e.schedulers.Wait()
}

// counts reports every target's queue, for the metrics.
func (e *tektonExecutor) counts() []targetCounts {
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
func (e *tektonExecutor) observe(t *target, obj any) {
	pr, ok := obj.(*pipelinev1.PipelineRun)
	if !ok {
		return
	}
	state := prStateOf(pr)
	t.slots.observe(pr.Name, state, queuedAt(pr))
	if state == prDone {
		t.wake()
		e.enqueueBuildOf(pr)
	}
}

// deleted frees a deleted run's slot and keeps its last state for its build's reconcile:
// a run pruned before its end was handled must still be written back, or run again.
func (e *tektonExecutor) deleted(t *target, obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	pr, ok := obj.(*pipelinev1.PipelineRun)
	if !ok {
		return
	}
	t.slots.forget(pr.Name)
	t.wake()
	view := runView{state: runVanished}
	if prStateOf(pr) == prDone {
		view = runView{state: runFinished, out: runOutcome(t.name, pr)}
	}
	e.mu.Lock()
	e.gone[pr.Name] = goneRun{claim: Claim{Target: t.name, Namespace: pr.Namespace, Name: pr.Name}, view: view, at: time.Now()}
	e.mu.Unlock()
	e.enqueueBuildOf(pr)
}

func (e *tektonExecutor) enqueueBuildOf(pr *pipelinev1.PipelineRun) {
	if ref, err := build.ParseRef(pr.Annotations[AnnotationBuildRef]); err == nil {
		e.enqueue(ref)
	}
}

// runOutcome reads the end of a finished run: Thoth's ids from its results, or why it failed.
func runOutcome(targetName string, pr *pipelinev1.PipelineRun) Outcome {
	out := Outcome{IDs: map[string]string{}}
	for _, r := range pr.Status.Results {
		for _, ar := range analysisResults() {
			if r.Name == ar.result && r.Value.StringVal != "" {
				out.IDs[ar.annotation] = r.Value.StringVal
			}
		}
	}
	c := pr.Status.GetCondition(apis.ConditionSucceeded)
	if c == nil || !c.IsTrue() {
		reason, message := "", ""
		if c != nil {
			reason, message = c.Reason, c.Message
		}
		out.Err = fmt.Errorf("PipelineRun %s/%s on target %s: %s: %s", pr.Namespace, pr.Name, targetName, reason, message)
		out.Reason = reason
	}
	return out
}

// unclaimed finds attempt's run of a build on any target; else, when exactly one target is
// enabled, that target is where the run goes without a written claim.
func (e *tektonExecutor) unclaimed(b *Build, attempt int) (Claim, bool) {
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
		if _, ok := t.run(t.namespace, name); ok {
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
func (e *tektonExecutor) place(b *Build, attempt int) (Claim, func(), error) {
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
func (e *tektonExecutor) targetOf(name string) (*target, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t, ok := e.targets[name]
	return t, ok
}

// lookup reports a claimed run: from its target's cache, or the last state of a run that
// was deleted.
func (e *tektonExecutor) lookup(c Claim) runView {
	e.mu.Lock()
	g, gone := e.gone[c.Name]
	t, ok := e.targets[c.Target]
	e.mu.Unlock()
	if !ok {
		if gone {
			return g.view
		}
		return runView{state: runNoTarget}
	}
	if pr, ok := t.run(c.Namespace, c.Name); ok {
		if prStateOf(pr) == prDone {
			return runView{state: runFinished, out: runOutcome(t.name, pr)}
		}
		return runView{state: runActive}
	}
	if gone {
		return g.view
	}
	return runView{state: runMissing}
}

// forget drops the last state of a deleted run once its end is on the build.
func (e *tektonExecutor) forget(c Claim) {
	e.mu.Lock()
	delete(e.gone, c.Name)
	e.mu.Unlock()
}

// expireGone drops the last states of deleted runs that no reconcile asked for.
func (e *tektonExecutor) expireGone(now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for name, g := range e.gone {
		if now.Sub(g.at) > goneTTL {
			delete(e.gone, name)
		}
	}
}

// create makes the claimed PipelineRun unless it exists: started when its target has a
// free slot and no queue, else pending. Creating it again is AlreadyExists, which is fine.
func (e *tektonExecutor) create(ctx context.Context, b *Build, c Claim, attempt int, seen time.Time) (bool, error) {
	t, ok := e.targetOf(c.Target)
	if !ok {
		return false, fmt.Errorf("build %s is claimed for target %q, which the watcher does not have: add it to the targets file", b.Ref, c.Target)
	}
	now := time.Now()
	start, known := t.slots.admit(c.Name, now)
	if known {
		return false, nil
	}
	pr := e.cfg.newPipelineRun(b, c, attempt, now, !start)
	_, err := t.tekton.TektonV1().PipelineRuns(c.Namespace).Create(ctx, pr, metav1.CreateOptions{FieldManager: FieldManager})
	switch {
	case apierrors.IsAlreadyExists(err):
		t.slots.abandon(c.Name)
		return false, nil
	case apierrors.IsInvalid(err) || apierrors.IsBadRequest(err):
		t.slots.abandon(c.Name)
		e.metrics.runsRefused.WithLabelValues(t.name).Inc()
		return false, fmt.Errorf("%w: the API server refused PipelineRun %s/%s on target %s: %w", errRefused, c.Namespace, c.Name, t.name, err)
	case err != nil:
		t.slots.abandon(c.Name)
		e.metrics.apiErrors.WithLabelValues("create", "pipelineruns").Inc()
		return false, fmt.Errorf("creating PipelineRun %s/%s on target %s for %s: %w", c.Namespace, c.Name, t.name, b.Ref,
			rbacHint(err, "create", "pipelineruns", c.Namespace))
	}
	state := "pending"
	if start {
		state = "running"
	}
	e.metrics.runsCreated.WithLabelValues(t.name, state).Inc()
	if attempt == 1 {
		e.metrics.latency.Observe(time.Since(seen).Seconds())
	}
	e.log.Debug("PipelineRun created", "build", b.Ref.String(), "target", t.name, "pipelinerun", c.Namespace+"/"+c.Name, "attempt", attempt, "state", state)
	return true, nil
}

// isRefused reports a refusal no retry can fix.
func isRefused(err error) bool { return errors.Is(err, errRefused) }
