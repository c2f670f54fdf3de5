package watcher

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	tektoninformers "github.com/tektoncd/pipeline/pkg/client/informers/externalversions"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"knative.dev/pkg/apis"
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

// tektonExecutor starts one PipelineRun per build on the least loaded target.
type tektonExecutor struct {
	cfg     *Config
	metrics *Metrics
	log     *slog.Logger
	// connect makes the Tekton client of a target's kubeconfig ("" = the watcher's cluster).
	connect func(kubeconfig string) (tektonclient.Interface, error)
	// finished is told about every finished run, for the write-back.
	finished func(t *target, pr *pipelinev1.PipelineRun)

	mu      sync.Mutex
	targets map[string]*target
	order   []string // as in the targets file
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
			e.metrics.targetMax.WithLabelValues(t.name).Set(float64(spec.MaxConcurrent))
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
			DeleteFunc: func(obj any) {
				if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
					obj = d.Obj
				}
				if pr, ok := obj.(*pipelinev1.PipelineRun); ok {
					t.slots.forget(pr.Name)
					t.wake()
				}
			},
		}); err != nil {
			return err
		}
		tctx, cancel := context.WithCancel(ctx)
		t.stop = cancel
		t.factory.Start(tctx.Done())
		e.targets[spec.Name] = t
		e.metrics.targetMax.WithLabelValues(t.name).Set(float64(spec.MaxConcurrent))
		go e.schedule(tctx, t)
	}
	for name, t := range e.targets {
		if !seen[name] {
			t.enabled = false
			order = append(order, name)
		}
	}
	e.order = order
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

func (e *tektonExecutor) shutdown() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, t := range e.targets {
		t.stop()
		t.factory.Shutdown()
	}
}

// observe feeds the queue of a target with what its informer shows.
func (e *tektonExecutor) observe(t *target, obj any) {
	pr, ok := obj.(*pipelinev1.PipelineRun)
	if !ok {
		return
	}
	state := stateOf(pr)
	t.slots.observe(pr.Name, state, queuedAt(pr))
	if state == runDone {
		t.wake()
		e.finished(t, pr)
	}
	running, pending, _ := t.slots.counts()
	e.metrics.runs.WithLabelValues(t.name, "running").Set(float64(running))
	e.metrics.runs.WithLabelValues(t.name, "pending").Set(float64(pending))
}

// place picks the target of a new analysis: of the enabled targets, the one with the
// lowest running/max that has a free slot and no queue; when all are full, the one with
// the lowest (running+pending)/max, where it waits.
func (e *tektonExecutor) place(b *Build) (Claim, error) {
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
		return Claim{}, fmt.Errorf("no enabled target for %s: enable one in the targets file", b.Ref)
	}
	name := RunName(b.UID)
	best.slots.place(name)
	return Claim{Target: best.name, Namespace: best.namespace, Name: name}, nil
}

// release forgets a placement whose claim could not be written.
func (e *tektonExecutor) release(claim Claim) {
	if t, ok := e.targetOf(claim.Target); ok {
		t.slots.abandon(claim.Name)
	}
}

// ensure makes the claimed PipelineRun unless it exists: started when its target has a
// free slot and no queue, else pending. Creating it again is AlreadyExists, which is fine.
func (e *tektonExecutor) ensure(ctx context.Context, b *Build, claim Claim, seen time.Time) error {
	e.mu.Lock()
	t, ok := e.targets[claim.Target]
	e.mu.Unlock()
	if !ok {
		return fmt.Errorf("build %s is claimed for target %q, which the targets file no longer lists: add it back, or remove the annotation %s from the build to place it anew", b.Ref, claim.Target, AnnotationRun)
	}
	if _, exists := t.run(claim.Namespace, claim.Name); exists {
		return nil
	}
	now := time.Now()
	start, known := t.slots.admit(claim.Name, now)
	if known {
		return nil
	}
	pr := e.cfg.newPipelineRun(b, claim, now, !start)
	_, err := t.tekton.TektonV1().PipelineRuns(claim.Namespace).Create(ctx, pr, metav1.CreateOptions{})
	switch {
	case apierrors.IsAlreadyExists(err):
		t.slots.abandon(claim.Name)
		return nil
	case err != nil:
		t.slots.abandon(claim.Name)
		e.metrics.apiErrors.WithLabelValues("create", "pipelineruns").Inc()
		return fmt.Errorf("creating PipelineRun %s/%s on target %s for %s: %w", claim.Namespace, claim.Name, t.name, b.Ref,
			rbacHint(err, "create", "pipelineruns", claim.Namespace))
	}
	state := "pending"
	if start {
		state = "running"
	}
	e.metrics.runsCreated.WithLabelValues(t.name, state).Inc()
	e.metrics.latency.Observe(time.Since(seen).Seconds())
	e.log.Debug("PipelineRun created", "build", b.Ref.String(), "target", t.name, "pipelinerun", claim.Namespace+"/"+claim.Name, "state", state)
	return nil
}

// schedule starts the target's pending runs, oldest first, as slots free.
func (e *tektonExecutor) schedule(ctx context.Context, t *target) {
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	limiter := workqueue.DefaultTypedControllerRateLimiter[string]()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.kick:
		case <-tick.C:
			e.recount(t)
		}
		if !t.informer.HasSynced() {
			continue
		}
		for _, q := range t.slots.next() {
			err := e.start(ctx, t, q.name)
			switch {
			case err == nil:
				limiter.Forget(q.name)
			case apierrors.IsNotFound(err):
				t.slots.abandon(q.name)
			default:
				t.slots.requeue(q.name, q.at)
				e.metrics.apiErrors.WithLabelValues("patch", "pipelineruns").Inc()
				e.log.Error("starting a queued PipelineRun failed; will retry", "target", t.name, "pipelinerun", t.namespace+"/"+q.name, "error", err)
				delay := limiter.When(q.name)
				time.AfterFunc(delay, t.wake)
			}
		}
	}
}

// recount feeds every cached run to the target's queue again, in case an event was missed.
func (e *tektonExecutor) recount(t *target) {
	for _, obj := range t.informer.GetStore().List() {
		if pr, ok := obj.(*pipelinev1.PipelineRun); ok {
			t.slots.observe(pr.Name, stateOf(pr), queuedAt(pr))
		}
	}
}

// start removes spec.status PipelineRunPending, which lets Tekton run it.
func (e *tektonExecutor) start(ctx context.Context, t *target, name string) error {
	patch := []byte(`{"spec":{"status":null}}`)
	_, err := t.tekton.TektonV1().PipelineRuns(t.namespace).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
	if err != nil {
		return rbacHint(err, "patch", "pipelineruns", t.namespace)
	}
	e.metrics.runsStarted.WithLabelValues(t.name).Inc()
	return nil
}

// targetOf returns a target by name.
func (e *tektonExecutor) targetOf(name string) (*target, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t, ok := e.targets[name]
	return t, ok
}
