package e2e

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	buildv1 "github.com/openshift/api/build/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/thoth-station/build-watcher/internal/testenv/controlplane"
	"github.com/thoth-station/build-watcher/internal/testenv/testproc"
	"github.com/thoth-station/build-watcher/internal/watcher"
)

// argoWatcher runs build-watcher --executor argo (the binary of cmd/build-watcher) against
// an Argo scenario's namespace, under the real workflow-controller, and records how many of
// its Workflows ran at once.
type argoWatcher struct {
	s       *argoScenario
	args    []string
	log     *os.File
	workers int

	killed  chan struct{}
	killing atomic.Bool

	mu      sync.Mutex
	proc    *testproc.Process // the running watcher (run)
	running map[string]bool
	max     int
	created map[string]int
}

func newArgoWatcher(t *testing.T, s *argoScenario, workers int) *argoWatcher {
	t.Helper()
	bin := env.Commands["/ko-app/build-watcher"]
	if bin == "" {
		t.Fatal("the e2e environment built no build-watcher (TestMain's packages)")
	}
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := controlplane.WriteKubeconfig(env.CP.Config(), kubeconfig, s.ns); err != nil {
		t.Fatal(err)
	}
	log, err := os.Create(filepath.Join(dir, "watcher.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		log.Close()
		if t.Failed() {
			out, _ := os.ReadFile(log.Name())
			if len(out) > 8000 {
				out = out[len(out)-8000:]
			}
			t.Logf("watcher log (tail):\n%s", out)
		}
	})
	w := &argoWatcher{s: s, log: log, workers: workers, killed: make(chan struct{}), running: map[string]bool{}, created: map[string]int{}}
	w.args = []string{bin,
		"--kubeconfig", kubeconfig, "--state-namespace", s.ns, "--build-watcher-namespace", s.ns, "--kinds", "build",
		"--executor", "argo", "--argo-template", "thoth-build-analysis", "--argo-template-kind", "WorkflowTemplate",
		"--service-account", serviceAccount, "--thoth-api-host", s.thoth.URL(),
		"--workers-count", fmt.Sprint(workers), "--metrics-address", "",
		// Leader election on, as deployed; a short lease lets a restart after kill -9 lead soon.
		"--leader-elect-lease-duration", "3s",
	}
	w.watch(t)
	return w
}

// watch follows the namespace's Workflows: a Workflow runs from when it is neither
// suspended (queued by the watcher) nor ended.
func (w *argoWatcher) watch(t *testing.T) {
	t.Helper()
	ctx := t.Context()
	wi, err := w.s.workflows.Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		defer wi.Stop()
		for ev := range wi.ResultChan() {
			wf, ok := ev.Object.(*unstructured.Unstructured)
			if !ok {
				continue
			}
			suspended, _, _ := unstructured.NestedBool(wf.Object, "spec", "suspend")
			phase := workflowPhase(wf)
			w.mu.Lock()
			if ev.Type == watch.Added {
				w.created[wf.GetName()]++
			}
			switch {
			case ev.Type == watch.Deleted || phase == "Succeeded" || phase == "Failed" || phase == "Error":
				delete(w.running, wf.GetName())
			case !suspended:
				w.running[wf.GetName()] = true
				w.max = max(w.max, len(w.running))
			}
			w.mu.Unlock()
		}
	}()
}

// run keeps the watcher running as its Deployment would: started again whenever it exits,
// whether killed by a test or on its own (a watcher that loses its leader lease, which a
// slow API server can make it do, exits so that its restart rejoins the election). Each
// exit is logged; the test ends the last one.
func (w *argoWatcher) run(t *testing.T) {
	t.Helper()
	stop := make(chan struct{})
	done := make(chan struct{})
	w.proc = w.startProc(t)
	go func() {
		defer close(done)
		for {
			w.mu.Lock()
			p := w.proc
			w.mu.Unlock()
			select {
			case <-stop:
				return
			case <-p.Done():
			}
			if w.killing.Load() {
				w.killed <- struct{}{}
			} else {
				t.Logf("the watcher exited on its own (%v); starting it again, as its Deployment would", p.Exited())
			}
			next, err := testproc.Start(testproc.Spec{Path: w.args[0], Args: w.args[1:], Log: w.log})
			if err != nil {
				t.Errorf("starting the watcher again: %v", err)
				return
			}
			w.mu.Lock()
			w.proc = next
			w.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		close(stop)
		<-done
		w.mu.Lock()
		p := w.proc
		w.mu.Unlock()
		if p.Exited() == nil {
			_ = p.Stop(10 * time.Second)
		}
		if out, err := os.ReadFile(w.log.Name()); err == nil && bytes.Contains(out, []byte("panic:")) {
			t.Error("the watcher panicked (its log says panic:)")
		}
	})
}

func (w *argoWatcher) startProc(t *testing.T) *testproc.Process {
	t.Helper()
	p, err := testproc.Start(testproc.Spec{Path: w.args[0], Args: w.args[1:], Log: w.log})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// kill9 kills the running watcher with SIGKILL; run starts it again.
func (w *argoWatcher) kill9(t *testing.T) {
	t.Helper()
	w.mu.Lock()
	p := w.proc
	w.mu.Unlock()
	w.killing.Store(true)
	defer w.killing.Store(false)
	if err := p.Kill(); err != nil {
		t.Fatalf("the watcher: %v", err)
	}
	<-w.killed // run has seen it and starts the next
}

// waitInstalled waits until the watcher recorded its installation time: builds that finish
// before it are not analysed.
func (w *argoWatcher) waitInstalled(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for {
		_, err := w.s.kube.CoreV1().ConfigMaps(w.s.ns).Get(ctx, watcher.StateConfigMap, metav1.GetOptions{})
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the watcher recorded no installation time: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// finishBuilds makes n finished Docker-strategy builds, gap apart, whose logs name their
// base image and themselves (so that every submission tells its build).
func (s *argoScenario) finishBuilds(ctx context.Context, prefix string, n int, gap time.Duration) ([]string, error) {
	var names []string
	for i := range n {
		if i > 0 {
			time.Sleep(gap)
		}
		name := fmt.Sprintf("%s-%02d", prefix, i)
		now := metav1.Now()
		b := &buildv1.Build{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: buildv1.BuildSpec{CommonSpec: buildv1.CommonSpec{Strategy: buildv1.BuildStrategy{
				Type: buildv1.DockerBuildStrategyType, DockerStrategy: &buildv1.DockerBuildStrategy{},
			}}},
			Status: buildv1.BuildStatus{Phase: buildv1.BuildPhaseComplete, StartTimestamp: &now, CompletionTimestamp: &now,
				OutputDockerImageReference: "quay.io/team-a/" + name + ":latest",
				Output:                     buildv1.BuildStatusOutput{To: &buildv1.BuildStatusOutputTo{ImageDigest: buildahDigest}},
			},
		}
		log := "STEP 1/2: FROM " + buildahBase + "\nSTEP 2/2: RUN echo " + name + "\nPush successful\n"
		if _, err := env.Front.CreateBuild(ctx, s.ns, b, []byte(log)); err != nil {
			return nil, err
		}
		names = append(names, name)
	}
	return names, nil
}

// checkAnalysed waits until every build is written back Succeeded with Thoth's ids, then
// checks exactly one Workflow each (the first attempt's name), at most workers at once, and
// exactly one accepted submission per build, with its own output image and log.
func (w *argoWatcher) checkAnalysed(t *testing.T, names []string) {
	t.Helper()
	s := w.s
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	var builds []buildv1.Build
	lastState := "none yet"
	for {
		list, err := s.builds.BuildV1().Builds(s.ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			if ctx.Err() != nil {
				t.Fatalf("not every build was analysed and written back in 4 minutes (the last list: %s)", lastState)
			}
			t.Fatal(err)
		}
		var waiting []string
		for _, b := range list.Items {
			if b.Annotations[watcher.AnnotationStatus] != "Succeeded" || b.Annotations[watcher.AnnotationBuildLogDocumentID] == "" {
				waiting = append(waiting, fmt.Sprintf("%s: %q", b.Name, b.Annotations[watcher.AnnotationStatus]))
			}
		}
		if len(list.Items) == len(names) && len(waiting) == 0 {
			builds = list.Items
			break
		}
		sort.Strings(waiting)
		lastState = fmt.Sprintf("%d builds, waiting for %s", len(list.Items), strings.Join(waiting, ", "))
		select {
		case <-ctx.Done():
			t.Fatalf("not every build was analysed and written back in 4 minutes: %s", lastState)
		case <-time.After(250 * time.Millisecond):
		}
	}
	list, err := s.workflows.List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, b := range builds {
		want[watcher.RunName(b.UID, 1)] = true
	}
	for _, wf := range list.Items {
		if !want[wf.GetName()] {
			t.Errorf("Workflow %s is not the first run of a build", wf.GetName())
		}
		if phase := workflowPhase(&wf); phase != "Succeeded" {
			t.Errorf("Workflow %s: %s", wf.GetName(), phase)
		}
	}
	if len(list.Items) != len(names) {
		t.Errorf("%d Workflows for %d builds, want one each", len(list.Items), len(names))
	}
	w.mu.Lock()
	for name, n := range w.created {
		if n != 1 {
			t.Errorf("Workflow %s was created %d times", name, n)
		}
	}
	if w.max > w.workers {
		t.Errorf("%d Workflows ran at once; the limit is %d", w.max, w.workers)
	}
	t.Logf("%d builds, %d Workflows, at most %d running at once (limit %d)", len(names), len(list.Items), w.max, w.workers)
	w.mu.Unlock()
	perBuild := map[string]int{}
	for _, sub := range s.submissions(t) {
		perBuild[strings.TrimPrefix(strings.TrimSuffix(deref(sub.OutputImage), "@"+buildahDigest), "quay.io/team-a/")]++
		if sub.BuildLog == nil || !strings.Contains(sub.BuildLog.Log, "RUN echo ") {
			t.Errorf("a submission without its build's log: %+v", sub.BuildLog)
		}
	}
	for _, name := range names {
		if perBuild[name] != 1 {
			t.Errorf("build %s: %d accepted submissions, want 1", name, perBuild[name])
		}
	}
}

// TestArgoWatcherBurst: build-watcher --executor argo with 3 workers, under the real
// workflow-controller, while 12 builds finish at once: one Workflow each (the rest wait
// suspended), never more than 3 running, every build written back from its Workflow's
// outputs, one submission each at the Thoth stand-in.
func TestArgoWatcherBurst(t *testing.T) {
	t.Parallel()
	s := newArgoScenario(t)
	w := newArgoWatcher(t, s, 3)
	w.run(t)
	w.waitInstalled(t)
	began := time.Now()
	names, err := s.finishBuilds(t.Context(), "burst", 12, 0)
	if err != nil {
		t.Fatal(err)
	}
	w.checkAnalysed(t, names)
	t.Logf("analysed and written back %s after the builds finished", time.Since(began).Round(time.Millisecond))
}

// TestArgoWatcherKilled: the watcher is killed with SIGKILL twice while 10 builds finish
// (a quarter second apart) and their Workflows run or wait suspended, and started again
// each time (run); still exactly one Workflow and one submission per build, never more
// than 3 Workflows running.
func TestArgoWatcherKilled(t *testing.T) {
	t.Parallel()
	s := newArgoScenario(t)
	w := newArgoWatcher(t, s, 3)
	w.run(t)
	w.waitInstalled(t)
	type finished struct {
		names []string
		err   error
	}
	created := make(chan finished, 1)
	go func() {
		names, err := s.finishBuilds(t.Context(), "killed", 10, 250*time.Millisecond)
		created <- finished{names, err}
	}()
	for i := range 2 {
		time.Sleep(time.Duration(500+rand.IntN(1500)) * time.Millisecond)
		w.kill9(t)
		w.mu.Lock()
		t.Logf("kill -9 #%d with %d Workflows made", i+1, len(w.created))
		w.mu.Unlock()
	}
	f := <-created
	if f.err != nil {
		t.Fatal(f.err)
	}
	w.checkAnalysed(t, f.names)
}
