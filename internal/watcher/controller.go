package watcher

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"

	"github.com/thoth-station/build-watcher/internal/build"
	"github.com/thoth-station/build-watcher/internal/usage"
)

// Event reasons recorded on builds.
const (
	ReasonSubmitted  = "ThothAnalysisSubmitted"
	ReasonFailed     = "ThothAnalysisFailed"
	ReasonRetrying   = "ThothAnalysisRetrying"
	ReasonNotStarted = "ThothAnalysisNotStarted"
	ReasonRequested  = "ThothAnalysisRequested"
)

// Watcher watches builds and starts one analysis per finished build.
type Watcher struct {
	cfg     *Config
	clients Clients
	metrics *Metrics
	log     *slog.Logger
	sources map[build.Kind]*source
	exec    executor
	cluster *clusterExecutor // nil for the local executor
	local   *localExecutor   // nil for the Tekton and Argo executors
	phases  map[build.Phase]bool
	retry   retryPolicy
	// thoth is the client of in-process submissions, discovered once.
	thoth *sharedThoth

	// queue holds the keys of builds to reconcile; made by Run.
	queue    workqueue.TypedRateLimitingInterface[build.Ref]
	recorder record.EventRecorder

	installedAt time.Time
	ready       atomic.Bool
	ran         atomic.Bool

	mu sync.Mutex
	// seen is when each queued build was first seen finished (for the latency metric).
	seen map[build.Ref]time.Time
	// written holds builds whose final outcome this process wrote and the cache does not
	// show yet.
	written map[build.Ref]types.UID
}

// New makes a watcher; Run starts it. New starts nothing.
func New(cfg *Config, clients Clients, metrics *Metrics) (*Watcher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &Watcher{
		cfg: cfg, clients: clients, metrics: metrics, log: log,
		sources: map[build.Kind]*source{}, phases: map[build.Phase]bool{},
		retry: newRetryPolicy(cfg.AnalysisAttempts, cfg.RetryBackoff),
		seen:  map[build.Ref]time.Time{}, written: map[build.Ref]types.UID{},
		thoth: &sharedThoth{cfg: cfg, log: log},
	}
	for _, p := range cfg.Phases {
		w.phases[p] = true
	}
	if cfg.Executor == ExecutorLocal {
		w.local = newLocalExecutor(cfg, clients, metrics, log, w.thoth, w.sourceGet, w.enqueue)
		w.exec = w.local
		metrics.queue.setSource(w.local.counts)
		metrics.initSeries(cfg, []string{LocalTarget})
	} else {
		var kind runKind = tektonRuns{cfg: cfg, own: clients}
		if cfg.Executor == ExecutorArgo {
			kind = argoRuns{cfg: cfg, own: clients}
		}
		w.cluster = newClusterExecutor(cfg, metrics, log, kind, w.enqueue)
		w.exec = w.cluster
		metrics.queue.setSource(w.cluster.counts)
		metrics.initSeries(cfg, nil) // the targets' series when they are applied
	}
	return w, nil
}

// Ready reports whether the watcher has synced its caches and is working.
func (w *Watcher) Ready() bool { return w.ready.Load() }

// Run watches until ctx ends. It returns once everything it started has stopped: informers,
// workers, schedulers, the event broadcaster. A Watcher runs once.
func (w *Watcher) Run(ctx context.Context) error {
	if w.ran.Swap(true) {
		return errors.New("the watcher has run already: make a new one")
	}
	// What can fail is checked before anything starts.
	specs, err := w.targetSpecs()
	if err != nil {
		return err
	}
	installedAt, err := w.installedTime(ctx)
	if err != nil {
		return err
	}
	w.installedAt = installedAt
	if err := w.checkServed(); err != nil {
		return err
	}
	sources, facts, err := newSources(w.clients, w.cfg)
	if err != nil {
		return err
	}
	w.queue = workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[build.Ref](),
		workqueue.TypedRateLimitingQueueConfig[build.Ref]{Name: "builds"})
	for _, s := range sources {
		w.sources[s.kind] = s
		for _, inf := range s.informers {
			if _, err := inf.AddEventHandler(w.buildHandler(s)); err != nil {
				w.queue.ShutDown()
				return err
			}
		}
	}
	events := record.NewBroadcaster()
	w.recorder = events.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "build-watcher"})
	events.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: w.clients.Kube.CoreV1().Events("")})

	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	w.metrics.leader.Set(1)
	// One place stops everything, in order: no new work, workers done, then the informers
	// and schedulers they read, then the Events they recorded.
	defer func() {
		w.metrics.leader.Set(0)
		w.ready.Store(false)
		cancel()
		w.queue.ShutDown()
		wg.Wait()
		facts.shutdown()
		if w.cluster != nil {
			w.cluster.shutdown()
		}
		events.Shutdown()
	}()
	facts.start(ctx.Done())
	if w.cluster != nil {
		if err := w.cluster.apply(ctx, specs); err != nil {
			return err
		}
		if w.cfg.TargetsFile != "" {
			wg.Add(1)
			go func() { defer wg.Done(); w.reloadTargets(ctx, specs) }()
		}
	}
	began := time.Now()
	for _, s := range sources {
		if !cache.WaitForCacheSync(ctx.Done(), s.hasSynced) {
			return fmt.Errorf("the %s informer did not sync: %w", s.kind, context.Cause(ctx))
		}
	}
	if w.cluster != nil && !w.cluster.waitSynced(ctx) {
		return fmt.Errorf("the PipelineRun informers did not sync: %w", context.Cause(ctx))
	}
	w.log.Info("caches synced", "after", time.Since(began).Round(time.Millisecond).String(), "installed_at", w.installedAt.Format(time.RFC3339))
	if w.local != nil {
		wg.Add(1)
		go func() { defer wg.Done(); w.local.run(ctx) }()
	}
	for range w.cfg.SyncWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for w.processNext(ctx) {
			}
		}()
	}
	if served, _ := w.served("image.openshift.io/v1", "imagestreams"); w.cfg.AnalyzeExisting && served {
		wg.Add(1)
		go func() { defer wg.Done(); w.analyzeImageStreams(ctx) }()
	}
	w.ready.Store(true)
	<-ctx.Done()
	return nil
}

// buildHandler queues the key of every finished build whose analysis is not over.
func (w *Watcher) buildHandler(s *source) cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			w.metrics.buildsSeen.WithLabelValues(string(s.kind)).Inc()
			if b, ok := s.toBuild(obj); ok && needsReconcile(b) {
				w.enqueue(b.Ref)
			}
		},
		UpdateFunc: func(_, obj any) {
			if b, ok := s.toBuild(obj); ok && needsReconcile(b) {
				w.enqueue(b.Ref)
			}
		},
	}
}

// enqueue asks for a build's reconcile.
func (w *Watcher) enqueue(ref build.Ref) {
	w.mu.Lock()
	if _, ok := w.seen[ref]; !ok {
		w.seen[ref] = time.Now()
	}
	w.mu.Unlock()
	w.queue.Add(ref)
}

// sourceGet reads a build from its kind's cache.
func (w *Watcher) sourceGet(ref build.Ref) (*Build, bool) {
	s, ok := w.sources[ref.Kind]
	if !ok {
		return nil, false
	}
	return s.get(ref.Namespace, ref.Name)
}

// checkServed makes sure the cluster serves every watched kind: an informer of a kind
// that is not served would wait forever.
func (w *Watcher) checkServed() error {
	for _, kind := range w.cfg.Kinds {
		api := apiOf(kind)
		served, err := w.served(api.groupVersion, api.resource)
		if err != nil {
			return err
		}
		if !served {
			return usage.Errorf("the cluster does not serve %s %s: leave %s out of --kinds (watching %v)", api.groupVersion, api.resource, kind, w.cfg.Kinds)
		}
	}
	// The Workflows of the watcher's own cluster (a target with a kubeconfig of its own is
	// another cluster, which its informer reaches).
	if w.cfg.Executor == ExecutorArgo {
		gv := workflowsResource.GroupVersion().String()
		served, err := w.served(gv, workflowsResource.Resource)
		if err != nil {
			return err
		}
		if !served {
			return usage.Errorf("the cluster does not serve %s %s: install Argo Workflows, or use --executor tekton", gv, workflowsResource.Resource)
		}
	}
	return nil
}

// served asks the cluster's discovery whether it serves resource in groupVersion.
func (w *Watcher) served(groupVersion, resource string) (bool, error) {
	list, err := w.clients.Kube.Discovery().ServerResourcesForGroupVersion(groupVersion)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("asking the cluster whether it serves %s %s: %w", groupVersion, resource, err)
	}
	for _, r := range list.APIResources {
		if r.Name == resource {
			return true, nil
		}
	}
	return false, nil
}

// installedTime reads, or on the first start writes, when the watcher was first installed.
func (w *Watcher) installedTime(ctx context.Context) (time.Time, error) {
	cms := w.clients.Kube.CoreV1().ConfigMaps(w.cfg.StateNamespace)
	for {
		cm, err := cms.Get(ctx, StateConfigMap, metav1.GetOptions{})
		if err == nil {
			t, perr := time.Parse(time.RFC3339Nano, cm.Data[StateInstalledAt])
			if perr != nil {
				return time.Time{}, fmt.Errorf("ConfigMap %s/%s: %s %q is not an RFC 3339 time: fix or delete it", w.cfg.StateNamespace, StateConfigMap, StateInstalledAt, cm.Data[StateInstalledAt])
			}
			return t, nil
		}
		if !apierrors.IsNotFound(err) {
			return time.Time{}, fmt.Errorf("reading ConfigMap %s/%s (the watcher's state): %w", w.cfg.StateNamespace, StateConfigMap,
				rbacHint(err, "get", "configmaps", w.cfg.StateNamespace))
		}
		cm = &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: StateConfigMap, Namespace: w.cfg.StateNamespace, Labels: map[string]string{LabelManagedBy: ManagedBy}},
			Data:       map[string]string{StateInstalledAt: time.Now().UTC().Format(time.RFC3339Nano)},
		}
		if _, err := cms.Create(ctx, cm, metav1.CreateOptions{FieldManager: FieldManager}); err != nil && !apierrors.IsAlreadyExists(err) {
			return time.Time{}, fmt.Errorf("creating ConfigMap %s/%s (the watcher's state): %w", w.cfg.StateNamespace, StateConfigMap,
				rbacHint(err, "create", "configmaps", w.cfg.StateNamespace))
		}
	}
}

// targetSpecs are the targets: the ones loaded at start, the file's, or the default one.
func (w *Watcher) targetSpecs() ([]TargetSpec, error) {
	if w.cfg.Executor == ExecutorLocal {
		return nil, nil
	}
	if len(w.cfg.Targets) > 0 {
		return w.cfg.Targets, nil
	}
	if w.cfg.TargetsFile != "" {
		specs, err := LoadTargets(w.cfg.TargetsFile)
		if err != nil {
			return nil, usage.Wrap(err)
		}
		return specs, nil
	}
	return []TargetSpec{{Name: "default", Namespace: w.cfg.RunNamespace, MaxConcurrent: w.cfg.Workers}}, nil
}

// reloadTargets re-reads the targets file when it changes (a ConfigMap or Secret update
// replaces it through a symlink, so its content is compared, not an inotify event).
func (w *Watcher) reloadTargets(ctx context.Context, last []TargetSpec) {
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	invalid := false // counted once per invalid spell, not every tick
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		specs, err := LoadTargets(w.cfg.TargetsFile)
		if err != nil {
			if !invalid {
				w.metrics.targetReloads.WithLabelValues("invalid").Inc()
			}
			invalid = true
			w.log.Error("the targets file is not valid; keeping the previous targets", "error", err)
			continue
		}
		invalid = false
		if equalSpecs(specs, last) {
			continue
		}
		if err := w.cluster.apply(ctx, specs); err != nil {
			w.metrics.targetReloads.WithLabelValues("failed").Inc()
			w.log.Error("applying the new targets failed", "error", err)
			continue
		}
		w.metrics.targetReloads.WithLabelValues("applied").Inc()
		w.log.Info("targets reloaded", "targets", len(specs))
		last = specs
	}
}

func equalSpecs(a, b []TargetSpec) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Name != y.Name || x.Kubeconfig != y.Kubeconfig || x.Namespace != y.Namespace ||
			x.MaxConcurrent != y.MaxConcurrent || x.IsEnabled() != y.IsEnabled() {
			return false
		}
	}
	return true
}
