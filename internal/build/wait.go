package build

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
)

// This file holds what OpenShift builds and Tekton runs share: reading one object, and
// watching it until it has finished.

// runCondition is a run's Succeeded condition.
type runCondition struct {
	Status          corev1.ConditionStatus
	Reason, Message string
	// finallyRunning says that a PipelineRun's own tasks are over and only its finally
	// tasks run (status.finallyStartTime is set while Succeeded is still Unknown). Such a
	// run is finished for collecting, so that collect-build and submit-thoth can run as
	// finally tasks of the build pipeline they read; see readTekton.
	finallyRunning bool
}

// finished reports whether the run is over, for collecting: Succeeded is True or False,
// or only a PipelineRun's finally tasks are still running.
func (c runCondition) finished() bool {
	return c.Status == corev1.ConditionTrue || c.Status == corev1.ConditionFalse || c.finallyRunning
}

// String says where a run that has not finished is.
func (c runCondition) String() string {
	switch {
	case c.Status == "":
		return "not started"
	case c.Message != "":
		return c.Reason + " (" + c.Message + ")"
	case c.Reason != "":
		return c.Reason
	}
	return "running"
}

// runAPI reads and watches one kind of build object (a run) in a namespace, decoding it
// into T.
type runAPI[T any] struct {
	resource  string // as RBAC names it, for errors
	namespace string
	objects   dynamic.ResourceInterface
	condition func(*T) runCondition
}

// newRunAPI reads resource gvr, named resource in errors, in namespace.
func newRunAPI[T any](c Clients, gvr schema.GroupVersionResource, resource, namespace string, condition func(*T) runCondition) runAPI[T] {
	return runAPI[T]{resource: resource, namespace: namespace, objects: c.Objects.Resource(gvr).Namespace(namespace), condition: condition}
}

// get reads the run and returns it with its resource version.
func (api runAPI[T]) get(ctx context.Context, name string) (*T, string, error) {
	u, err := api.objects.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, "", apiError(err, "get", api.resource, api.namespace)
	}
	run, err := decode[T](u)
	if err != nil {
		return nil, "", err
	}
	return run, u.GetResourceVersion(), nil
}

// finishedRun gets the run ref names; one that has not finished is ErrNotFinished, or with
// opts.Wait is watched until it finishes or opts.Timeout passes.
func finishedRun[T any](ctx context.Context, api runAPI[T], ref Ref, opts Options) (*T, runCondition, error) {
	run, rv, err := api.get(ctx, ref.Name)
	if err != nil {
		return nil, runCondition{}, err
	}
	cond := api.condition(run)
	if cond.finished() {
		return run, cond, nil
	}
	if !opts.Wait {
		return nil, runCondition{}, fmt.Errorf("%w: it is %s (use --wait to wait for it)", ErrNotFinished, cond)
	}
	return waitForRun(ctx, api, ref.Name, cond, rv, opts.Timeout)
}

// waitForRun watches the run (a field selector on its name) until it finishes, from the
// resource version rv it was read at, in condition last. A watch that ends is resumed from
// the last version seen; a broken one (an expired resource version) after a fresh read.
func waitForRun[T any](ctx context.Context, api runAPI[T], name string, last runCondition, rv string, timeout time.Duration) (*T, runCondition, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	for {
		w, err := api.objects.Watch(ctx, metav1.ListOptions{
			FieldSelector:       fields.OneTermEqualSelector("metadata.name", name).String(),
			ResourceVersion:     rv,
			AllowWatchBookmarks: true,
		})
		if err != nil {
			if ctx.Err() != nil {
				return nil, runCondition{}, runWaitError(ctx, timeout, last)
			}
			return nil, runCondition{}, apiError(err, "watch", api.resource, api.namespace)
		}
		ev := untilRunFinished(ctx, api, w)
		w.Stop()
		if ev.resourceVersion != "" {
			rv = ev.resourceVersion
		}
		if ev.seen {
			last = ev.cond
		}
		switch {
		case ev.cond.finished():
			return ev.run, ev.cond, nil
		case ctx.Err() != nil:
			return nil, runCondition{}, runWaitError(ctx, timeout, last)
		case errors.Is(ev.err, ErrNotFound), errors.Is(ev.err, errUndecodable):
			return nil, runCondition{}, ev.err
		case ev.err != nil:
			fresh, freshRV, err := api.get(ctx, name)
			if err != nil {
				if ctx.Err() != nil {
					return nil, runCondition{}, runWaitError(ctx, timeout, last)
				}
				return nil, runCondition{}, err
			}
			if last = api.condition(fresh); last.finished() {
				return fresh, last, nil
			}
			rv = freshRV
		}
	}
}

// errUndecodable marks a watched object that is not the run's type.
var errUndecodable = errors.New("the watched object could not be decoded")

// watched is what one watch of a run ended with.
type watched[T any] struct {
	// run and cond are the last version of the run delivered, when seen.
	run  *T
	cond runCondition
	seen bool
	// resourceVersion is the last one delivered, bookmarks included.
	resourceVersion string
	err             error
}

// untilRunFinished reads watch events until the run finishes, the watch ends or ctx ends.
func untilRunFinished[T any](ctx context.Context, api runAPI[T], w watch.Interface) watched[T] {
	var out watched[T]
	for {
		select {
		case <-ctx.Done():
			out.err = ctx.Err()
			return out
		case ev, ok := <-w.ResultChan():
			if !ok {
				return out
			}
			switch ev.Type {
			case watch.Error:
				out.err = apierrors.FromObject(ev.Object)
				return out
			case watch.Deleted:
				out.err = fmt.Errorf("%w: deleted while waiting for it to finish", ErrNotFound)
				return out
			}
			u, ok := ev.Object.(*unstructured.Unstructured)
			if !ok {
				continue
			}
			out.resourceVersion = u.GetResourceVersion()
			if ev.Type == watch.Bookmark {
				continue // carries only the resource version
			}
			run, err := decode[T](u)
			if err != nil {
				out.err = fmt.Errorf("%w: %w", errUndecodable, err)
				return out
			}
			out.run, out.cond, out.seen = run, api.condition(run), true
			if out.cond.finished() {
				return out
			}
		}
	}
}

// runWaitError says the wait ended: ErrNotFinished when the timeout passed.
func runWaitError(ctx context.Context, timeout time.Duration, last runCondition) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) && timeout > 0 {
		return fmt.Errorf("%w: still %s after waiting %s (raise --timeout)", ErrNotFinished, last, timeout)
	}
	return fmt.Errorf("waiting for the run to finish: %w", ctx.Err())
}
