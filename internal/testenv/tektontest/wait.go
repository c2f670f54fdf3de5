package tektontest

import (
	"context"
	"fmt"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	"knative.dev/pkg/apis"
)

// WaitPipelineRun watches the PipelineRun until it is done (its Succeeded condition True or
// False) and returns it; ctx bounds the wait.
func WaitPipelineRun(ctx context.Context, client tektonclient.Interface, namespace, name string) (*pipelinev1.PipelineRun, error) {
	obj, err := waitDone(ctx, client, "pipelineruns", namespace, name, &pipelinev1.PipelineRun{})
	if err != nil {
		return nil, err
	}
	return obj.(*pipelinev1.PipelineRun), nil
}

// WaitTaskRun watches the TaskRun until it is done and returns it; ctx bounds the wait.
func WaitTaskRun(ctx context.Context, client tektonclient.Interface, namespace, name string) (*pipelinev1.TaskRun, error) {
	obj, err := waitDone(ctx, client, "taskruns", namespace, name, &pipelinev1.TaskRun{})
	if err != nil {
		return nil, err
	}
	return obj.(*pipelinev1.TaskRun), nil
}

func waitDone(ctx context.Context, client tektonclient.Interface, resource, namespace, name string, obj runtime.Object) (runtime.Object, error) {
	lw := cache.NewListWatchFromClient(client.TektonV1().RESTClient(), resource, namespace, fields.OneTermEqualSelector("metadata.name", name))
	ev, err := watchtools.UntilWithSync(ctx, lw, obj, nil, func(ev watch.Event) (bool, error) {
		if ev.Type == watch.Deleted {
			return false, fmt.Errorf("%s %s/%s was deleted", resource, namespace, name)
		}
		var c *apis.Condition
		switch run := ev.Object.(type) {
		case *pipelinev1.PipelineRun:
			c = run.Status.GetCondition(apis.ConditionSucceeded)
		case *pipelinev1.TaskRun:
			c = run.Status.GetCondition(apis.ConditionSucceeded)
		}
		return c != nil && c.Status != corev1.ConditionUnknown, nil
	})
	if err != nil {
		return nil, fmt.Errorf("waiting for %s %s/%s to finish: %w", resource, namespace, name, err)
	}
	return ev.Object, nil
}
