package watcher

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
	ReasonSubmitted = "ThothAnalysisSubmitted"
	ReasonFailed    = "ThothAnalysisFailed"
)

// executor runs analyses: the Tekton executor (PipelineRuns) or the local one.
type executor interface {
	// place chooses where a build's analysis runs; the claim is written on the build before
	// ensure is called.
	place(b *Build) (Claim, error)
	// ensure makes the claimed run unless it exists; it must be idempotent.
	ensure(ctx context.Context, b *Build, claim Claim, seen time.Time) error
	// release forgets a placement whose claim could not be written.
	release(claim Claim)
}

// Watcher watches builds and starts one analysis per finished build.
type Watcher struct {
	cfg      *Config
	clients  Clients
	metrics  *Metrics
	log      *slog.Logger
	sources  map[build.Kind]*source
	facts    *sourceFactories
	exec     executor
	tekton   *tektonExecutor // nil for the local executor
	local    *localExecutor
	phases   map[build.Phase]bool
	builds   workqueue.TypedRateLimitingInterface[build.Ref]
	finished workqueue.TypedRateLimitingInterface[string]
	recorder record.EventRecorder
	events   record.EventBroadcaster

	installedAt time.Time
	ready       atomic.Bool

	seenMu sync.Mutex
	seen   map[build.Ref]time.Time // when each queued build was seen finished
}

// New makes a watcher; Run starts it.
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
		seen: map[build.Ref]time.Time{},
		builds: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[build.Ref](),
			workqueue.TypedRateLimitingQueueConfig[build.Ref]{Name: "builds"}),
		finished: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "finished-runs"}),
	}
	for _, p := range cfg.Phases {
		w.phases[p] = true
	}
	w.events = record.NewBroadcaster()
	w.recorder = w.events.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "build-watcher"})
	if cfg.Executor == ExecutorLocal {
		w.local = newLocalExecutor(cfg, clients, metrics, log, w.writeBack)
		w.exec = w.local
	} else {
		w.tekton = &tektonExecutor{
			cfg: cfg, metrics: metrics, log: log, connect: connectTekton(clients),
			targets: map[string]*target{},
			finished: func(t *target, pr *pipelinev1.PipelineRun) {
				w.finished.Add(t.name + "/" + pr.Namespace + "/" + pr.Name)
			},
		}
		w.exec = w.tekton
	}
	return w, nil
}

// Ready reports whether the watcher has synced its caches and is working.
func (w *Watcher) Ready() bool { return w.ready.Load() }

// Run watches until ctx ends. It returns once everything it started has stopped.
func (w *Watcher) Run(ctx context.Context) error {
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
	w.facts = facts
	for _, s := range sources {
		w.sources[s.kind] = s
		for _, inf := range s.informers {
			if _, err := inf.AddEventHandler(w.buildHandler(s)); err != nil {
				return err
			}
		}
	}
	w.events.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: w.clients.Kube.CoreV1().Events("")})
	defer w.events.Shutdown()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer w.builds.ShutDown()
	defer w.finished.ShutDown()

	facts.start(ctx.Done())
	defer facts.shutdown()
	if w.tekton != nil {
		defer w.tekton.shutdown()
		specs, err := w.targetSpecs()
		if err != nil {
			return err
		}
		if err := w.tekton.apply(ctx, specs); err != nil {
			return err
		}
		if w.cfg.TargetsFile != "" {
			wg.Add(1)
			go func() { defer wg.Done(); w.reloadTargets(ctx) }()
		}
	}
	began := time.Now()
	for _, s := range sources {
		if !cache.WaitForCacheSync(ctx.Done(), s.hasSynced) {
			return fmt.Errorf("the %s informer did not sync: %w", s.kind, context.Cause(ctx))
		}
	}
	if w.tekton != nil && !w.tekton.waitSynced(ctx) {
		return fmt.Errorf("the PipelineRun informers did not sync: %w", context.Cause(ctx))
	}
	w.log.Info("caches synced", "after", time.Since(began).Round(time.Millisecond).String(), "installed_at", w.installedAt.Format(time.RFC3339))
	if w.local != nil {
		wg.Add(1)
		go func() { defer wg.Done(); w.local.run(ctx, w) }()
	}
	for range w.cfg.SyncWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for w.processBuild(ctx) {
			}
		}()
	}
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for w.processFinished(ctx) {
			}
		}()
	}
	if served, _ := w.served("image.openshift.io/v1", "imagestreams"); w.cfg.AnalyzeExisting && served {
		wg.Add(1)
		go func() { defer wg.Done(); w.analyzeImageStreams(ctx) }()
	}
	w.ready.Store(true)
	<-ctx.Done()
	w.ready.Store(false)
	return nil
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
		if _, err := cms.Create(ctx, cm, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return time.Time{}, fmt.Errorf("creating ConfigMap %s/%s (the watcher's state): %w", w.cfg.StateNamespace, StateConfigMap,
				rbacHint(err, "create", "configmaps", w.cfg.StateNamespace))
		}
	}
}

// buildHandler queues builds that finished and have no analysis yet.
func (w *Watcher) buildHandler(s *source) cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			w.metrics.buildsSeen.WithLabelValues(string(s.kind)).Inc()
			if b, ok := s.toBuild(obj); ok {
				w.consider(b)
			}
		},
		UpdateFunc: func(_, obj any) {
			if b, ok := s.toBuild(obj); ok {
				w.consider(b)
			}
		},
	}
}

// consider queues a build when it has finished in a chosen phase and its analysis is not done.
func (w *Watcher) consider(b *Build) {
	if b.Phase == "" || b.Done() {
		return
	}
	if b.Annotations[AnnotationRun] == "" {
		if !w.phases[b.Phase] {
			return
		}
		// Kubernetes timestamps have whole seconds: a build that finished in the second of
		// the installation counts as new.
		if !w.cfg.AnalyzeExisting && b.Finished.Before(w.installedAt.Truncate(time.Second)) {
			return
		}
	}
	w.seenMu.Lock()
	if _, ok := w.seen[b.Ref]; !ok {
		w.seen[b.Ref] = time.Now()
	}
	w.seenMu.Unlock()
	w.builds.Add(b.Ref)
}

func (w *Watcher) processBuild(ctx context.Context) bool {
	ref, shutdown := w.builds.Get()
	if shutdown {
		return false
	}
	defer w.builds.Done(ref)
	err := w.syncBuild(ctx, ref)
	if err == nil || ctx.Err() != nil {
		w.builds.Forget(ref)
		if err == nil {
			w.seenMu.Lock()
			delete(w.seen, ref)
			w.seenMu.Unlock()
		}
		return true
	}
	w.log.Error("starting the analysis of a build failed; will retry", "build", ref.String(), "error", err,
		"retries", w.builds.NumRequeues(ref))
	w.builds.AddRateLimited(ref)
	return true
}

// syncBuild claims the build for one analysis run and makes sure that run exists.
func (w *Watcher) syncBuild(ctx context.Context, ref build.Ref) error {
	s := w.sources[ref.Kind]
	b, ok := s.get(ref.Namespace, ref.Name)
	if !ok || b.Phase == "" || b.Done() {
		return nil
	}
	w.seenMu.Lock()
	seen, ok := w.seen[ref]
	w.seenMu.Unlock()
	if !ok {
		seen = time.Now()
	}
	var claim Claim
	if v := b.Annotations[AnnotationRun]; v != "" {
		var err error
		if claim, err = ParseClaim(v); err != nil {
			w.recorder.Eventf(s.object(b), corev1.EventTypeWarning, ReasonFailed, "%v: remove the annotation to analyse the build anew", err)
			return nil // not retried: a person has to look
		}
	} else {
		var err error
		if claim, err = w.exec.place(b); err != nil {
			return err
		}
		if err := s.annotate(ctx, b, map[string]string{AnnotationRun: claim.String()}); err != nil {
			w.exec.release(claim)
			if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
				return nil // deleted, or replaced by a new build of the same name
			}
			w.metrics.apiErrors.WithLabelValues("patch", string(ref.Kind)).Inc()
			return err
		}
		w.metrics.buildsFinished.WithLabelValues(string(ref.Kind), string(b.Phase)).Inc()
	}
	return w.exec.ensure(ctx, b, claim, seen)
}

func (w *Watcher) processFinished(ctx context.Context) bool {
	key, shutdown := w.finished.Get()
	if shutdown {
		return false
	}
	defer w.finished.Done(key)
	if err := w.syncFinished(ctx, key); err != nil && ctx.Err() == nil {
		w.log.Error("writing an analysis outcome onto its build failed; will retry", "run", key, "error", err)
		w.finished.AddRateLimited(key)
		return true
	}
	w.finished.Forget(key)
	return true
}

// syncFinished writes a finished PipelineRun's outcome onto its build.
func (w *Watcher) syncFinished(ctx context.Context, key string) error {
	parts := strings.SplitN(key, "/", 3)
	if len(parts) != 3 {
		return nil
	}
	t, ok := w.tekton.targetOf(parts[0])
	if !ok {
		return nil
	}
	pr, ok := t.run(parts[1], parts[2])
	if !ok || stateOf(pr) != runDone {
		return nil
	}
	ref, err := build.ParseRef(pr.Annotations[AnnotationBuildRef])
	if err != nil {
		return nil // not one of ours, or edited by hand
	}
	s, ok := w.sources[ref.Kind]
	if !ok {
		return nil
	}
	b, ok := s.get(ref.Namespace, ref.Name)
	if !ok || string(b.UID) != pr.Labels[LabelBuildUID] || b.Done() {
		return nil
	}
	out := Outcome{IDs: map[string]string{}}
	for _, r := range pr.Status.Results {
		for _, ar := range analysisResults() {
			if r.Name == ar.result && r.Value.StringVal != "" {
				out.IDs[ar.annotation] = r.Value.StringVal
			}
		}
	}
	c := pr.Status.GetCondition("Succeeded")
	if c == nil || !c.IsTrue() {
		reason, message := "", ""
		if c != nil {
			reason, message = c.Reason, c.Message
		}
		out.Err = fmt.Errorf("PipelineRun %s/%s on target %s: %s: %s", pr.Namespace, pr.Name, t.name, reason, message)
	}
	if err := w.writeBack(ctx, b, out); err != nil {
		return err
	}
	outcome := "succeeded"
	if out.Err != nil {
		outcome = "failed"
	}
	w.metrics.runsCompleted.WithLabelValues(t.name, outcome).Inc()
	return nil
}

// Outcome is the end of one analysis.
type Outcome struct {
	// IDs maps build annotations (AnnotationBaseImageAnalysisID, ...) to Thoth's ids.
	IDs map[string]string
	// Err is why the analysis failed; nil when it succeeded.
	Err error
}

// writeBack puts an analysis outcome onto its build: annotations, and an Event that
// `oc describe build` shows.
func (w *Watcher) writeBack(ctx context.Context, b *Build, out Outcome) error {
	s := w.sources[b.Ref.Kind]
	set := map[string]string{AnnotationStatus: "Succeeded"}
	for k, v := range out.IDs {
		set[k] = v
	}
	if out.Err != nil {
		set[AnnotationStatus] = clip("Failed: "+out.Err.Error(), 1024)
	}
	if err := s.annotate(ctx, b, set); err != nil {
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			return nil
		}
		w.metrics.apiErrors.WithLabelValues("patch", string(b.Ref.Kind)).Inc()
		return err
	}
	if out.Err != nil {
		w.metrics.writeBacks.WithLabelValues("failed").Inc()
		w.recorder.Eventf(s.object(b), corev1.EventTypeWarning, ReasonFailed, "Thoth analysis failed: %s", clip(out.Err.Error(), 900))
		return nil
	}
	w.metrics.writeBacks.WithLabelValues("succeeded").Inc()
	var ids []string
	for _, ar := range analysisResults() {
		if v := out.IDs[ar.annotation]; v != "" {
			ids = append(ids, strings.TrimPrefix(ar.annotation, Prefix)+"="+v)
		}
	}
	w.recorder.Eventf(s.object(b), corev1.EventTypeNormal, ReasonSubmitted, "submitted to Thoth: %s", strings.Join(ids, ", "))
	return nil
}

// clip shortens s to at most n bytes, at a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// targetSpecs are the targets: the file's, or the default one.
func (w *Watcher) targetSpecs() ([]TargetSpec, error) {
	if w.cfg.TargetsFile != "" {
		return LoadTargets(w.cfg.TargetsFile)
	}
	return []TargetSpec{{Name: "default", Namespace: w.cfg.RunNamespace, MaxConcurrent: w.cfg.Workers}}, nil
}

// reloadTargets re-reads the targets file when it changes (a ConfigMap or Secret update
// replaces it through a symlink, so its content is compared, not an inotify event).
func (w *Watcher) reloadTargets(ctx context.Context) {
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	last, _ := LoadTargets(w.cfg.TargetsFile)
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		specs, err := LoadTargets(w.cfg.TargetsFile)
		if err != nil {
			w.log.Error("the targets file is not valid; keeping the previous targets", "error", err)
			continue
		}
		if equalSpecs(specs, last) {
			continue
		}
		if err := w.tekton.apply(ctx, specs); err != nil {
			w.log.Error("applying the new targets failed", "error", err)
			continue
		}
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
