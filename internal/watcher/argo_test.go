package watcher_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	buildv1 "github.com/openshift/api/build/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/thoth-station/build-watcher/internal/testenv/controlplane"
	"github.com/thoth-station/build-watcher/internal/testenv/modroot"
	"github.com/thoth-station/build-watcher/internal/watcher"
)

var workflows = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "workflows"}

// argoConfig is the test's watcher configuration with --executor argo.
func (e *env) argoConfig() watcher.Config {
	cfg := e.config()
	cfg.Executor = watcher.ExecutorArgo
	cfg.ArgoTemplate = "thoth-build-analysis"
	cfg.ArgoTemplateKind = watcher.ArgoWorkflowTemplate
	return cfg
}

// workflowEnd is how the Argo stand-in ends a started Workflow.
type workflowEnd struct {
	phase, message string
	delete         bool
}

// argoRunner stands in for Argo's workflow-controller (which test/e2e runs for real): it
// watches our Workflows in a namespace, and ends each one that is not suspended after a
// short while, Succeeded with analysis ids as the root node's outputs, or as policy says.
// It records how many ran at once and in which order queued Workflows started.
type argoRunner struct {
	t      *testing.T
	client dynamic.Interface
	delay  time.Duration
	// policy decides how a started Workflow ends; nil: it succeeds.
	policy func(name string, attempt int) workflowEnd

	mu       sync.Mutex
	running  map[string]bool
	max      int
	started  []startEvent
	created  map[string]bool
	finished map[string]bool
	errs     []error
}

func newArgoRunner(t *testing.T, delay time.Duration) *argoRunner {
	return &argoRunner{
		t: t, client: dynamic.NewForConfigOrDie(cp.Config()), delay: delay,
		running: map[string]bool{}, created: map[string]bool{}, finished: map[string]bool{},
	}
}

func (r *argoRunner) watch(ctx context.Context, namespace string) {
	r.t.Helper()
	selector := watcher.LabelManagedBy + "=" + watcher.ManagedBy
	wfs := r.client.Resource(workflows).Namespace(namespace)
	w := watchFrom(ctx, r.t, "Workflows in "+namespace, metav1.ListOptions{LabelSelector: selector}, wfs.List, wfs.Watch)
	go func() {
		defer w.Stop()
		wasSuspended := map[string]bool{}
		for ev := range w.ResultChan() {
			wf, ok := ev.Object.(*unstructured.Unstructured)
			if !ok || ev.Type == watch.Bookmark {
				continue
			}
			name := wf.GetName()
			phase, _, _ := unstructured.NestedString(wf.Object, "status", "phase")
			suspended, _, _ := unstructured.NestedBool(wf.Object, "spec", "suspend")
			r.mu.Lock()
			if ev.Type == watch.Added {
				if r.created[name] {
					r.t.Errorf("Workflow %s was created a second time: its build was analysed twice", name)
				}
				r.created[name] = true
			}
			switch {
			case ev.Type == watch.Deleted || phase == "Succeeded" || phase == "Failed" || phase == "Error":
				delete(r.running, name)
			case suspended:
				wasSuspended[name] = true
			case !r.running[name] && !r.finished[name]:
				r.running[name] = true
				at, _ := time.Parse(time.RFC3339Nano, wf.GetAnnotations()[watcher.AnnotationQueuedAt])
				r.started = append(r.started, startEvent{key: name, queuedAt: at, pending: wasSuspended[name]})
				r.max = max(r.max, len(r.running))
				go r.finish(ctx, namespace, name)
			}
			r.mu.Unlock()
		}
	}()
}

// finish ends a started Workflow as the controller would leave it: phase, message and the
// root node (id = the Workflow's name) with the entrypoint DAG's output parameters.
func (r *argoRunner) finish(ctx context.Context, namespace, name string) {
	select {
	case <-ctx.Done():
		return
	case <-time.After(r.delay):
	}
	wfs := r.client.Resource(workflows).Namespace(namespace)
	for range 20 {
		wf, err := wfs.Get(ctx, name, metav1.GetOptions{})
		end := workflowEnd{phase: "Succeeded"}
		if err == nil && r.policy != nil {
			_, attempt := runBuildOf(wf.GetAnnotations())
			end = r.policy(name, attempt)
		}
		switch {
		case err != nil:
		case end.delete:
			err = wfs.Delete(ctx, name, metav1.DeleteOptions{})
		default:
			node := map[string]any{"id": name, "name": name, "type": "DAG", "phase": end.phase, "templateName": "analyse"}
			if end.phase == "Succeeded" {
				node["outputs"] = map[string]any{"parameters": []any{
					map[string]any{"name": "phase", "value": "Succeeded"},
					map[string]any{"name": "base-image-analysis-id", "value": "image-analyzer-" + name},
					map[string]any{"name": "buildlog-document-id", "value": "buildlog-" + name},
				}}
			}
			status := map[string]any{"phase": end.phase, "nodes": map[string]any{name: node}}
			if end.message != "" {
				status["message"] = end.message
			}
			wf.Object["status"] = status
			_, err = wfs.Update(ctx, wf, metav1.UpdateOptions{})
		}
		if err == nil {
			r.mu.Lock()
			r.finished[name] = true
			r.mu.Unlock()
			return
		}
		if ctx.Err() != nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.mu.Lock()
	r.errs = append(r.errs, fmt.Errorf("could not finish Workflow %s/%s", namespace, name))
	r.mu.Unlock()
}

// finishedCount is how many Workflows were ended.
func (r *argoRunner) finishedCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.finished)
}

func (r *argoRunner) checkFIFO(t *testing.T) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	checkStartOrder(t, r.started)
}

// checkRuns checks, once every build was analysed, that n Workflows were made, at most
// workers ran at once, and the stand-in ended each as asked.
func (r *argoRunner) checkRuns(t *testing.T, n, workers int) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.max > workers {
		t.Errorf("%d Workflows ran at once; the limit is %d", r.max, workers)
	}
	if len(r.created) != n {
		t.Errorf("%d Workflows were created, want %d", len(r.created), n)
	}
	if len(r.errs) > 0 {
		t.Errorf("the Argo stand-in: %v", r.errs)
	}
}

// checkWorkflows checks that each build has exactly the runs want(build) names (by attempt),
// the last written back with its ids, and that no other Workflows exist.
func (e *env) checkWorkflows(ctx context.Context, names []string, attempts func(build string) int) (bool, string) {
	list, err := e.builds.BuildV1().Builds(e.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return false, err.Error()
	}
	want := map[string]bool{}
	done := 0
	for _, b := range list.Items {
		n := attempts(b.Name)
		for a := 1; a <= n; a++ {
			want[watcher.RunName(b.UID, a)] = true
		}
		if b.Annotations[watcher.AnnotationStatus] == "Succeeded" &&
			b.Annotations[watcher.AnnotationBaseImageAnalysisID] == "image-analyzer-"+watcher.RunName(b.UID, n) &&
			b.Annotations[watcher.AnnotationBuildLogDocumentID] == "buildlog-"+watcher.RunName(b.UID, n) {
			done++
		}
	}
	wfs, err := dynamic.NewForConfigOrDie(cp.Config()).Resource(workflows).Namespace(e.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return false, err.Error()
	}
	suspended, open := 0, 0
	var stray []string
	for _, wf := range wfs.Items {
		if s, _, _ := unstructured.NestedBool(wf.Object, "spec", "suspend"); s {
			suspended++
		} else if p, _, _ := unstructured.NestedString(wf.Object, "status", "phase"); p == "" || p == "Running" {
			open++
		}
		if !want[wf.GetName()] {
			stray = append(stray, wf.GetName())
		}
	}
	sort.Strings(stray)
	state := fmt.Sprintf("%d builds, %d Workflows (%d suspended, %d running), %d written back, stray Workflows %v",
		len(names), len(wfs.Items), suspended, open, done, stray)
	return len(list.Items) == len(names) && len(wfs.Items) == len(want) && done == len(names) && len(stray) == 0, state
}

// TestArgoBurst: with --executor argo, 200 builds finish at once (TestBurst takes the
// shared executor through 1,000); exactly one Workflow each is made, never more than N run
// at once (the rest wait suspended), the queue drains oldest first, and every build gets
// its ids back from the Workflow's outputs.
func TestArgoBurst(t *testing.T) {
	n := 200
	if testing.Short() {
		n = 100
	}
	e := newEnv(t)
	ctx := t.Context()
	r := newArgoRunner(t, 20*time.Millisecond)
	r.watch(ctx, e.ns)
	cfg := e.argoConfig()
	cfg.Workers = 5
	e.startWatcher(cfg)

	began := time.Now()
	names := e.finishBuilds(ctx, "burst", n, buildv1.BuildPhaseComplete)
	waitFor(t, ctx, 5*time.Minute, "every build analysed once", func() (bool, string) {
		return e.checkWorkflows(ctx, names, func(string) int { return 1 })
	})
	t.Logf("all %d analysed with Workflows and written back %s after the first build finished", n, time.Since(began).Round(time.Millisecond))
	r.checkRuns(t, n, cfg.Workers)
	r.mu.Lock()
	if r.max < cfg.Workers {
		t.Errorf("at most %d Workflows ran at once: the %d slots were never all used", r.max, cfg.Workers)
	}
	r.mu.Unlock()
	r.checkFIFO(t)
}

// TestArgoCrashes: with --executor argo, the watcher process is killed with SIGKILL five
// times at random moments during a burst and restarted each time; still every build gets
// exactly one Workflow, and never more than N run at once.
func TestArgoCrashes(t *testing.T) {
	n := 150
	if testing.Short() {
		n = 100
	}
	e := newEnv(t)
	ctx := t.Context()
	r := newArgoRunner(t, 20*time.Millisecond)
	r.watch(ctx, e.ns)
	p := e.newProc(true, "--executor", "argo")
	current := p.start()
	e.waitInstalled(ctx)

	names := p.finishWhileKilling(ctx, r, current, "crash", n, buildv1.BuildPhaseComplete, 5)
	waitFor(t, ctx, 5*time.Minute, "every build analysed once", func() (bool, string) {
		return e.checkWorkflows(ctx, names, func(string) int { return 1 })
	})
	r.checkRuns(t, n, 5)
}

// TestArgoRedelivery: a Workflow that fails (a step failed, or the controller could not run
// it) or is deleted while it runs is followed by one more; one that Argo refused as invalid,
// or that a person stopped, is final at once.
func TestArgoRedelivery(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	r := newArgoRunner(t, 10*time.Millisecond)
	ends := map[string]workflowEnd{
		"failed":  {phase: "Failed", message: "child 'thoth-build-analysis-x-123' failed"},
		"error":   {phase: "Error", message: "pod deleted"},
		"deleted": {delete: true},
		"invalid": {phase: "Error", message: "invalid spec: templates.analyse.tasks.submit-thoth templates.submit-thoth inputs.parameters.thoth-api-host was not supplied"},
		"stopped": {phase: "Failed", message: "Stopped with strategy 'Stop'"},
	}
	byRun := sync.Map{} // Workflow name -> build name
	r.policy = func(name string, attempt int) workflowEnd {
		b, _ := byRun.Load(name)
		build, _ := b.(string)
		kind := build[:strings.LastIndex(build, "-")]
		if end, ok := ends[kind]; ok && attempt == 1 {
			return end
		}
		return workflowEnd{phase: "Succeeded"}
	}
	// The stand-in needs the build of each Workflow, which its annotation names.
	wfs := dynamic.NewForConfigOrDie(cp.Config()).Resource(workflows).Namespace(e.ns)
	go func() {
		w, err := wfs.Watch(ctx, metav1.ListOptions{})
		if err != nil {
			return
		}
		defer w.Stop()
		for ev := range w.ResultChan() {
			if wf, ok := ev.Object.(*unstructured.Unstructured); ok {
				build, _ := runBuildOf(wf.GetAnnotations())
				byRun.Store(wf.GetName(), build)
			}
		}
	}()
	r.watch(ctx, e.ns)
	cfg := e.argoConfig()
	cfg.RetryBackoff = 100 * time.Millisecond
	e.startWatcher(cfg)

	var names []string
	for kind := range ends {
		names = append(names, e.finishBuilds(ctx, kind, 1, buildv1.BuildPhaseFailed)...)
	}
	names = append(names, e.finishBuilds(ctx, "ok", 2, buildv1.BuildPhaseComplete)...)
	// The builds whose first run no new run can fix, with Argo's message.
	final := map[string]string{"invalid-0000": "invalid spec", "stopped-0000": "Stopped with strategy"}
	waitFor(t, ctx, 2*time.Minute, "every build analysed or given up", func() (bool, string) {
		var waiting []string
		for _, name := range names {
			b, err := e.builds.BuildV1().Builds(e.ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			status := b.Annotations[watcher.AnnotationStatus]
			_, isFinal := final[name]
			if (!isFinal && status != "Succeeded") || (isFinal && !strings.HasPrefix(status, "Failed: ")) {
				waiting = append(waiting, fmt.Sprintf("%s: %q", name, status))
			}
		}
		return len(waiting) == 0, "waiting for " + strings.Join(waiting, ", ")
	})
	list, err := wfs.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	runs := map[string]int{}
	for _, wf := range list.Items {
		build, _ := runBuildOf(wf.GetAnnotations())
		runs[build]++
	}
	for _, name := range names {
		want := 2
		switch {
		case strings.HasPrefix(name, "ok-"):
			want = 1
		case final[name] != "":
			want = 1
		case strings.HasPrefix(name, "deleted-"):
			want = 1 // the first was deleted
		}
		if runs[name] != want {
			t.Errorf("build %s has %d Workflows, want %d", name, runs[name], want)
		}
	}
	for name, message := range final {
		b, err := e.builds.BuildV1().Builds(e.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if status := b.Annotations[watcher.AnnotationStatus]; !strings.Contains(status, "Workflow "+e.ns+"/") || !strings.Contains(status, message) {
			t.Errorf("build %s: status %q does not name the Workflow and Argo's message %q", name, status, message)
		}
	}
}

// TestArgoWorkflowsValid: the Workflows the watcher makes, from a WorkflowTemplate or a
// ClusterWorkflowTemplate, queued (suspended) or not, pass Argo's own validation as
// submitted Workflows, against the templates of tasks/argo.
func TestArgoWorkflowsValid(t *testing.T) {
	argoLint, err := controlplane.Tool(t.Context(), "argo-lint")
	if err != nil {
		t.Fatal(err)
	}
	root, err := modroot.Find()
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{watcher.ArgoWorkflowTemplate, watcher.ArgoClusterWorkflowTemplate} {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t)
			ctx := t.Context()
			cfg := e.argoConfig()
			cfg.ArgoTemplateKind = kind
			cfg.Workers = 1
			cfg.SrcAuthSecret, cfg.DstAuthSecret = "src-creds", "dst-creds"
			cfg.RegistryCAConfigMap, cfg.ThothCAConfigMap = "openshift-service-ca.crt", "thoth-ca"
			cfg.Analysis.PushRegistry, cfg.Analysis.PassToken = "quay.io/team-a", true
			cfg.ServiceAccount, cfg.Timeout = "thoth-build-analysis", 30*time.Minute
			e.startWatcher(cfg)
			e.finishBuilds(ctx, "valid", 2, buildv1.BuildPhaseComplete)
			wfs := dynamic.NewForConfigOrDie(cp.Config()).Resource(workflows).Namespace(e.ns)
			var items []unstructured.Unstructured
			waitFor(t, ctx, time.Minute, "two Workflows, one suspended", func() (bool, string) {
				list, err := wfs.List(ctx, metav1.ListOptions{})
				if err != nil {
					return false, err.Error()
				}
				items = list.Items
				return len(items) == 2, fmt.Sprintf("%d Workflows", len(items))
			})
			files := []string{filepath.Join(root, "tasks", "argo", "thoth-build-analysis.yaml"), filepath.Join(root, "tasks", "argo", "thoth-build-analysis-cluster.yaml")}
			suspended := 0
			for _, wf := range items {
				if s, _, _ := unstructured.NestedBool(wf.Object, "spec", "suspend"); s {
					suspended++
				}
				// As submitted: what the watcher wrote, without the API server's fields.
				obj := map[string]any{"apiVersion": wf.GetAPIVersion(), "kind": wf.GetKind(), "spec": wf.Object["spec"],
					"metadata": map[string]any{"name": wf.GetName(), "namespace": "default", "labels": wf.GetLabels(), "annotations": wf.GetAnnotations()}}
				data, err := yaml.Marshal(obj)
				if err != nil {
					t.Fatal(err)
				}
				f := filepath.Join(t.TempDir(), wf.GetName()+".yaml")
				if err := os.WriteFile(f, data, 0o644); err != nil {
					t.Fatal(err)
				}
				files = append(files, f)
			}
			if suspended != 1 {
				t.Errorf("%d of the 2 Workflows are suspended, want 1 (one slot)", suspended)
			}
			out, err := exec.CommandContext(ctx, argoLint, append([]string{"--submit"}, files...)...).CombinedOutput()
			if err != nil {
				t.Fatalf("Argo refuses the Workflows the watcher made: %v\n%s", err, out)
			}
			if !strings.Contains(string(out), "4 objects valid") {
				t.Fatalf("argo-lint: %s", out)
			}
		})
	}
}
