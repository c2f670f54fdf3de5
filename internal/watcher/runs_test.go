package watcher

import (
	"io"
	"log/slog"
	"testing"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"knative.dev/pkg/apis"

	"github.com/thoth-station/build-watcher/internal/build"
)

// TestLookupDuringDeletion replays the order in which a shared informer reports a deletion:
// the run leaves the informer's cache first, and the handlers hear of it afterwards. A
// reconcile that looks the run up in between must not take it for missing (it would make
// the analysis run again, under the same name, as the cluster e2e saw with a fast pruner).
func TestLookupDuringDeletion(t *testing.T) {
	var queued []build.Ref
	e := newClusterExecutor(&Config{}, NewMetrics(), slog.New(slog.NewTextHandler(io.Discard, nil)), tektonRuns{},
		func(ref build.Ref) { queued = append(queued, ref) })
	informer := cache.NewSharedIndexInformer(&cache.ListWatch{}, &pipelinev1.PipelineRun{}, 0, cache.Indexers{})
	tg := &target{name: "default", namespace: "team-a", enabled: true, informer: runInformer{SharedIndexInformer: informer},
		slots: newSlots(5), kick: make(chan struct{}, 1)}
	e.targets[tg.name] = tg
	e.order = []string{tg.name}
	store := informer.GetIndexer()

	pr := &pipelinev1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{Name: "thoth-u-1", Namespace: "team-a",
			Annotations: map[string]string{AnnotationBuildRef: "build/team-a/app-1"}},
	}
	claim := Claim{Target: tg.name, Namespace: pr.Namespace, Name: pr.Name}
	other := Claim{Target: tg.name, Namespace: pr.Namespace, Name: "thoth-u-2"}
	step := func(what string, change func(), c Claim, want runState) {
		t.Helper()
		change()
		if got := e.lookup(c).state; got != want {
			t.Errorf("%s: lookup(%s) = %v, want %v", what, c.Name, got, want)
		}
	}
	add := func(obj *pipelinev1.PipelineRun) func() {
		return func() {
			if err := store.Add(obj); err != nil {
				t.Fatal(err)
			}
			e.observe(tg, obj)
		}
	}
	step("never made", func() {}, claim, runMissing)
	step("made, running", add(pr), claim, runActive)
	done := pr.DeepCopy()
	done.Status.SetCondition(&apis.Condition{Type: apis.ConditionSucceeded, Status: corev1.ConditionTrue, Reason: "Succeeded"})
	done.Status.Results = []pipelinev1.PipelineRunResult{{Name: "base-image-analysis-id", Value: *pipelinev1.NewStructuredValues("image-analyzer-1")}}
	step("succeeded", add(done), claim, runFinished)
	step("deleted from the cache, its handler not called yet", func() {
		if err := store.Delete(done); err != nil {
			t.Fatal(err)
		}
	}, claim, runActive)
	step("another run, never made, meanwhile", func() {}, other, runMissing)
	step("the deletion handled", func() { e.deleted(tg, done) }, claim, runFinished)
	if got := e.lookup(claim).out.IDs[AnnotationBaseImageAnalysisID]; got != "image-analyzer-1" {
		t.Errorf("the deleted run's outcome has base image id %q, want image-analyzer-1", got)
	}
	if len(queued) != 2 {
		t.Errorf("the build was queued %d times (its end, its deletion), want 2", len(queued))
	}
	step("its outcome written back", func() { e.forget(claim) }, claim, runMissing)

	// A run deleted while pending or running: the same, and it ends as vanished.
	running := &pipelinev1.PipelineRun{ObjectMeta: metav1.ObjectMeta{Name: "thoth-u-3", Namespace: "team-a",
		Annotations: map[string]string{AnnotationBuildRef: "build/team-a/app-3"}}}
	third := Claim{Target: tg.name, Namespace: running.Namespace, Name: running.Name}
	step("running", add(running), third, runActive)
	step("deleted from the cache", func() { _ = store.Delete(running) }, third, runActive)
	step("its deletion handled", func() { e.deleted(tg, cache.DeletedFinalStateUnknown{Key: "team-a/thoth-u-3", Obj: running}) }, third, runVanished)
}
