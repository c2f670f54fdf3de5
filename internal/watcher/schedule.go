package watcher

import (
	"context"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
)

// recountEvery is how often a target's queue is rebuilt from its cache, in case an event
// was missed.
const recountEvery = 10 * time.Second

// schedule starts the target's pending runs, oldest first, as slots free, until ctx ends.
func (e *tektonExecutor) schedule(ctx context.Context, t *target) {
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
				e.metrics.apiErrors.WithLabelValues("patch", "pipelineruns").Inc()
				e.log.Error("starting a queued PipelineRun failed; will retry", "target", t.name, "pipelinerun", t.namespace+"/"+q.name, "error", err)
				// wake never blocks, so a timer that fires after the target stopped is harmless.
				time.AfterFunc(limiter.When(q.name), t.wake)
			}
		}
	}
}

// recount feeds every cached run to the target's queue again, in case an event was missed.
func (e *tektonExecutor) recount(t *target) {
	for _, obj := range t.informer.GetStore().List() {
		if pr, ok := obj.(*pipelinev1.PipelineRun); ok {
			t.slots.observe(pr.Name, prStateOf(pr), queuedAt(pr))
		}
	}
}

// start removes spec.status PipelineRunPending, which lets Tekton run it.
func (e *tektonExecutor) start(ctx context.Context, t *target, name string) error {
	patch := []byte(`{"spec":{"status":null}}`)
	_, err := t.tekton.TektonV1().PipelineRuns(t.namespace).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: FieldManager})
	if err != nil {
		return rbacHint(err, "patch", "pipelineruns", t.namespace)
	}
	e.metrics.runsStarted.WithLabelValues(t.name).Inc()
	return nil
}
