package tektontest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	listersv1 "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// taskRunLabel is the label Tekton puts on every pod it makes for a TaskRun.
const taskRunLabel = "tekton.dev/taskRun"

// DefaultUser is the user a step runs as when neither its container nor its pod names one:
// that of ko's base image (distroless static, nonroot), which ko.yaml uses.
const DefaultUser = 65532

// RunnerOptions configures StartRunner.
type RunnerOptions struct {
	// Commands maps a step's command, as its container names it ("/ko-app/collect-build"),
	// to the host executable that stands in for the image's (a locally built binary,
	// statically linked: it runs in a root filesystem of its own). A step whose command is
	// not here fails with CreateContainerConfigError and a runner error.
	Commands map[string]string
	// Shim is an executable that becomes the step shim when the shim variable is set: the
	// test binary of a package whose TestMain calls Main. Required.
	Shim string
	// Cluster is the API server that steps reach, written into their kubeconfig with the
	// pod's own service-account token file: Host and CA. Use the log front
	// (LogFront.Config) for OpenShift build logs and pod logs.
	Cluster *rest.Config
	// PodLogs, when set, receives each container's output once it has finished, as a
	// kubelet keeps it (for LogFront.SetPodLog).
	PodLogs func(namespace, pod, container string, log []byte)
	// Dir holds the pods' volumes and claims; default: a temporary directory removed by Stop.
	Dir string
}

// Runner stands in for the kubelet for the pods Tekton's controller makes for TaskRuns
// (and, playing argoexec as well, for those Argo's makes for Workflows: argopod.go):
// it runs each step's command (a local binary in place of the image's) in the order and
// the way Tekton's entrypoint would, with the container's environment, user, working
// directory and volumes (host directories bind-mounted at the container paths, in a root
// filesystem of its own), and writes the pod status back as a kubelet does, termination
// messages included, so that the controller completes the TaskRuns.
type Runner struct {
	kube      kubernetes.Interface
	lister    listersv1.PodLister
	opts      RunnerOptions
	dir       string
	ownDir    bool
	apiHost   string // the API server itself, for what argoexec does as the pod
	clusterCA []byte
	factory   informers.SharedInformerFactory
	cancel    context.CancelFunc
	wg        sync.WaitGroup

	mu      sync.Mutex
	stopped bool
	pods    map[types.UID]*podRun
	errs    []error
}

// StartRunner starts watching the pods of TaskRuns and Workflows in every namespace with
// admin (which must be allowed to read pods, Secrets, ConfigMaps and claims, request
// service-account tokens and update pod status). Stop ends it and the steps still running.
func StartRunner(ctx context.Context, admin *rest.Config, opts RunnerOptions) (*Runner, error) {
	if opts.Shim == "" {
		return nil, errors.New("pod runner: RunnerOptions.Shim is empty: give the test binary, whose TestMain calls tektontest.Main")
	}
	if opts.Cluster == nil {
		opts.Cluster = admin
	}
	kube, err := kubernetes.NewForConfig(admin)
	if err != nil {
		return nil, err
	}
	r := &Runner{kube: kube, opts: opts, dir: opts.Dir, apiHost: admin.Host, clusterCA: admin.CAData, pods: map[types.UID]*podRun{}}
	if r.dir == "" {
		if r.dir, err = os.MkdirTemp("", "build-watcher-pod-runner-"); err != nil {
			return nil, fmt.Errorf("pod runner: making its directory: %w", err)
		}
		r.ownDir = true
	}
	ctx, r.cancel = context.WithCancel(ctx)
	// Every pod: those of TaskRuns and of Argo Workflows are run, others left alone.
	r.factory = informers.NewSharedInformerFactory(kube, 0)
	podInformer := r.factory.Core().V1().Pods()
	r.lister = podInformer.Lister()
	if _, err := podInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { r.observe(ctx, obj) },
		UpdateFunc: func(_, obj any) { r.observe(ctx, obj) },
		DeleteFunc: r.deleted,
	}); err != nil {
		r.Stop()
		return nil, err
	}
	r.factory.Start(ctx.Done())
	for typ, ok := range r.factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			r.Stop()
			return nil, fmt.Errorf("pod runner: the %v informer did not sync", typ)
		}
	}
	return r, nil
}

// Stop cancels the running steps (they are killed), waits for the pods' goroutines and
// removes the runner's own directory.
func (r *Runner) Stop() {
	r.mu.Lock()
	r.stopped = true // no run starts after this, so Wait below cannot race with Add
	r.mu.Unlock()
	r.cancel()
	r.factory.Shutdown()
	r.wg.Wait()
	if r.ownDir {
		os.RemoveAll(r.dir)
	}
}

// Err returns the runner's own failures so far (unsupported pod features, a container that
// could not start, a status it could not write), joined; nil when there were none. Tests
// check it: a TaskRun that failed because of the runner is no finding about the Task.
func (r *Runner) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return errors.Join(r.errs...)
}

func (r *Runner) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, err)
}

// Pods returns what the runner ran, by start time.
func (r *Runner) Pods() []PodRecord {
	r.mu.Lock()
	runs := make([]*podRun, 0, len(r.pods))
	for _, p := range r.pods {
		runs = append(runs, p)
	}
	r.mu.Unlock()
	out := make([]PodRecord, 0, len(runs))
	for _, p := range runs {
		out = append(out, p.record())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Started.Before(out[j].Started) })
	return out
}

// WaitPod waits until the runner is done with pod namespace/name: its steps have ended
// and no process of it runs, whether it completed or was deleted. It fails when the runner
// never saw the pod.
func (r *Runner) WaitPod(ctx context.Context, namespace, name string) error {
	var done <-chan struct{}
	r.mu.Lock()
	for _, p := range r.pods {
		if p.pod.Namespace == namespace && p.pod.Name == name {
			done = p.done
		}
	}
	r.mu.Unlock()
	if done == nil {
		return fmt.Errorf("pod runner: never saw pod %s/%s", namespace, name)
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for the pod runner to finish pod %s/%s: %w", namespace, name, ctx.Err())
	}
}

// PodRecord is one pod the runner ran.
type PodRecord struct {
	// TaskRun or Workflow is what the pod runs for.
	Namespace, Name, TaskRun, Workflow string
	Started                            time.Time
	Phase                              corev1.PodPhase
	Containers                         []ContainerRecord
	// Err is the runner's failure with this pod, if any.
	Err error
}

// ContainerRecord is one step container the runner ran (for a Workflow's pod: main, then
// wait).
type ContainerRecord struct {
	Name string
	// Command is the step's command and arguments as run (after $(VAR) expansion).
	Command  []string
	ExitCode int32
	Skipped  bool
	Duration time.Duration
	// Message is the termination message, as the controller reads it.
	Message string
	// Log is the step's output (stdout and stderr).
	Log string
}

// observe starts a run for a new pod of a TaskRun and passes updates to a running one.
func (r *Runner) observe(ctx context.Context, obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if p, ok := r.pods[pod.UID]; ok {
		p.notify()
		return
	}
	if _, tekton := pod.Labels[taskRunLabel]; !tekton && !isArgoPod(pod) {
		return
	}
	if r.stopped || pod.DeletionTimestamp != nil || (pod.Status.Phase != "" && pod.Status.Phase != corev1.PodPending) {
		return
	}
	p := newPodRun(r, pod.DeepCopy())
	r.pods[pod.UID] = p
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		p.run(ctx)
	}()
}

// deleted stops the steps of a deleted pod, as the kubelet kills its containers.
func (r *Runner) deleted(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if p, ok := r.pods[pod.UID]; ok {
		p.kill()
	}
}
