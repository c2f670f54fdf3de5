package watcher

import (
	"context"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/util/workqueue"
)

// recountEvery is how often a target's queue is rebuilt from its cache, in case an event
// was missed.
const recountEvery = 10 * time.Second

// schedule starts the target's pending runs, oldest first, as slots free, until ctx ends.
func (e *clusterExecutor) schedule(ctx context.Context, t *target) {
	tick := time.NewTicker(recountEvery)
	defer tick.Stop()
	limiter := workqueue.DefaultTypedControllerRateLimiter[string]()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.kick:
		case now := <-tick.C:
			e.recount(t)
			e.expireGone(now)
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
			case ctx.Err() != nil:
				return
			default:
				t.slots.requeue(q.name, q.at)
				e.metrics.apiErrors.WithLabelValues("patch", e.kind.resource()).Inc()
				e.log.Error("starting a queued "+e.kind.kind()+" failed; will retry", "target", t.name, "run", t.namespace+"/"+q.name, "error", err)
				// wake never blocks, so a timer that fires after the target stopped is harmless.
				time.AfterFunc(limiter.When(q.name), t.wake)
			}
		}
	}
}

// recount feeds every cached run to the target's queue again, in case an event was missed.
func (e *clusterExecutor) recount(t *target) {
	for _, obj := range t.informer.GetStore().List() {
		if r, ok := e.kind.view(obj); ok {
			t.slots.observe(r.name, r.state, r.queuedAt)
		}
	}
}

// start lets a queued run run.
func (e *clusterExecutor) start(ctx context.Context, t *target, name string) error {
	if err := t.client.start(ctx, t.namespace, name); err != nil {
		return rbacHint(err, "patch", e.kind.resource(), t.namespace)
	}
	e.metrics.runsStarted.WithLabelValues(t.name).Inc()
	return nil
}
