package watcher

import (
	"context"
	"fmt"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	tektoninformers "github.com/tektoncd/pipeline/pkg/client/informers/externalversions"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"knative.dev/pkg/apis"
)

// tektonRuns are the runs of --executor tekton: PipelineRuns of thoth-build-analysis,
// queued as spec.status PipelineRunPending.
type tektonRuns struct {
	cfg *Config
	own Clients
}

var _ runKind = tektonRuns{}

func (tektonRuns) kind() string     { return "PipelineRun" }
func (tektonRuns) resource() string { return "pipelineruns" }

// connect makes the Tekton client of a target: the watcher's own for an empty kubeconfig
// path, else one from that file (with the watcher's QPS and burst).
func (k tektonRuns) connect(kubeconfig string) (runClient, error) {
	if kubeconfig == "" {
		return tektonClient{cfg: k.cfg, client: k.own.Tekton}, nil
	}
	cfg, err := targetConfig(k.own, kubeconfig)
	if err != nil {
		return nil, err
	}
	client, err := tektonclient.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("making the Tekton client of kubeconfig %s: %w", kubeconfig, err)
	}
	return tektonClient{cfg: k.cfg, client: client}, nil
}

// targetConfig loads a target's kubeconfig, with the watcher's QPS and burst.
func targetConfig(own Clients, kubeconfig string) (*rest.Config, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("loading kubeconfig %s (fix the target's kubeconfig path, or mount its Secret there): %w", kubeconfig, err)
	}
	if own.REST != nil {
		cfg.QPS, cfg.Burst = own.REST.QPS, own.REST.Burst
	}
	cfg.UserAgent = rest.DefaultKubernetesUserAgent() + " build-watcher"
	return cfg, nil
}

func (tektonRuns) view(obj any) (runInfo, bool) {
	pr, ok := obj.(*pipelinev1.PipelineRun)
	if !ok {
		return runInfo{}, false
	}
	return runInfo{
		name: pr.Name, namespace: pr.Namespace, buildRef: pr.Annotations[AnnotationBuildRef],
		state: prStateOf(pr), queuedAt: queuedAtOf(pr.Annotations, pr.CreationTimestamp.Time),
		outcome: func(target string) Outcome { return runOutcome(target, pr) },
	}, true
}

func prStateOf(pr *pipelinev1.PipelineRun) prState {
	if c := pr.Status.GetCondition(apis.ConditionSucceeded); c != nil && (c.IsTrue() || c.IsFalse()) {
		return prDone
	}
	if pr.Spec.Status == pipelinev1.PipelineRunSpecStatusPending {
		return prPending
	}
	return prStarted
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

// tektonClient reaches the PipelineRuns of one target.
type tektonClient struct {
	cfg    *Config
	client tektonclient.Interface
}

func (c tektonClient) informer(namespace string, resync time.Duration) runInformer {
	factory := tektoninformers.NewSharedInformerFactoryWithOptions(c.client, resync,
		tektoninformers.WithNamespace(namespace),
		tektoninformers.WithTransform(trimOwnRun),
		tektoninformers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.LabelSelector = LabelManagedBy + "=" + ManagedBy
		}))
	return runInformer{
		SharedIndexInformer: factory.Tekton().V1().PipelineRuns().Informer(),
		start:               factory.Start,
		shutdown:            factory.Shutdown,
	}
}

func (c tektonClient) create(ctx context.Context, b *Build, claim Claim, attempt int, queuedAt time.Time, pending bool) error {
	pr := c.cfg.newPipelineRun(b, claim, attempt, queuedAt, pending)
	_, err := c.client.TektonV1().PipelineRuns(claim.Namespace).Create(ctx, pr, metav1.CreateOptions{FieldManager: FieldManager})
	return err
}

// start removes spec.status PipelineRunPending, which lets Tekton run it.
func (c tektonClient) start(ctx context.Context, namespace, name string) error {
	patch := []byte(`{"spec":{"status":null}}`)
	_, err := c.client.TektonV1().PipelineRuns(namespace).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: FieldManager})
	return err
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
