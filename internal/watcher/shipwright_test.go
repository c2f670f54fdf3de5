package watcher_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/thoth-station/build-watcher/internal/build"
	"github.com/thoth-station/build-watcher/internal/testenv/controlplane"
	"github.com/thoth-station/build-watcher/internal/watcher"
)

// TestShipwrightBuildRuns: with --kinds buildrun every finished BuildRun, whatever its
// phase, gets exactly one analysis PipelineRun with its buildrun/NS/NAME reference and the
// outcome written back on it; a BuildRun that has not finished gets none until it finishes.
func TestShipwrightBuildRuns(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	buildRuns := dynamic.NewForConfigOrDie(cp.Config()).Resource(controlplane.BuildRunsResource).Namespace(e.ns)
	r := newRunner(t, e.tekton, 0)
	r.watch(ctx, e.ns)
	cfg := e.config()
	cfg.Kinds = []build.Kind{build.KindBuildRun}
	e.startWatcher(cfg)

	create := func(name string, status corev1.ConditionStatus, reason string) types.UID {
		t.Helper()
		br, err := e.front.CreateBuildRun(ctx, e.ns, name, status, reason)
		if err != nil {
			t.Fatal(err)
		}
		return br.UID
	}
	// The running ones first: by the time the finished ones are analysed, the watcher has
	// seen them.
	running := map[string]types.UID{}
	for _, name := range []string{"running-a", "running-b"} {
		running[name] = create(name, corev1.ConditionUnknown, "Running")
	}
	finished := map[string]types.UID{}
	for _, f := range []struct {
		name   string
		status corev1.ConditionStatus
		reason string
	}{
		{"succeeded", corev1.ConditionTrue, "Succeeded"},
		{"failed", corev1.ConditionFalse, "Failed"},
		{"timed-out", corev1.ConditionFalse, "BuildRunTimeout"},
		{"cancelled", corev1.ConditionFalse, "BuildRunCanceled"},
		{"never-ran", corev1.ConditionFalse, "BuildStrategyNotFound"},
	} {
		finished[f.name] = create(f.name, f.status, f.reason)
	}
	waitFor(t, ctx, time.Minute, "every finished buildrun analysed once", func() (bool, string) {
		return checkBuildRuns(ctx, e, buildRuns, finished, running)
	})

	// A BuildRun that finishes later is analysed then.
	u, err := buildRuns.Get(ctx, "running-a", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Format(time.RFC3339)
	if err := unstructured.SetNestedSlice(u.Object, []any{map[string]any{
		"type": "Succeeded", "status": "False", "reason": "Failed", "message": "buildrun step step-build-and-push failed", "lastTransitionTime": now,
	}}, "status", "conditions"); err != nil {
		t.Fatal(err)
	}
	if err := unstructured.SetNestedField(u.Object, now, "status", "completionTime"); err != nil {
		t.Fatal(err)
	}
	if _, err := buildRuns.UpdateStatus(ctx, u, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	finished["running-a"] = running["running-a"]
	delete(running, "running-a")
	waitFor(t, ctx, time.Minute, "the buildrun that finished later analysed once", func() (bool, string) {
		return checkBuildRuns(ctx, e, buildRuns, finished, running)
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.created) != len(finished) || len(r.errs) > 0 {
		t.Errorf("%d PipelineRuns were created, want %d (runner errors: %v)", len(r.created), len(finished), r.errs)
	}
}

// checkBuildRuns checks that each finished BuildRun has exactly one run, named after its
// UID, for its buildrun/NS/NAME reference, and its outcome written back; and that the
// running ones have neither.
func checkBuildRuns(ctx context.Context, e *env, buildRuns dynamic.ResourceInterface, finished, running map[string]types.UID) (bool, string) {
	runs, err := e.tekton.TektonV1().PipelineRuns(e.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return false, err.Error()
	}
	var problems []string
	byName := map[string]int{}
	for _, pr := range runs.Items {
		byName[pr.Name]++
	}
	for name, uid := range finished {
		run := watcher.RunName(uid, 1)
		if byName[run] != 1 {
			problems = append(problems, fmt.Sprintf("%s has %d runs", name, byName[run]))
			continue
		}
		i := slices.IndexFunc(runs.Items, func(pr pipelinev1.PipelineRun) bool { return pr.Name == run })
		pr := runs.Items[i]
		var ref string
		for _, p := range pr.Spec.Params {
			if p.Name == "build-ref" {
				ref = p.Value.StringVal
			}
		}
		if want := "buildrun/" + e.ns + "/" + name; ref != want || pr.Labels[watcher.LabelBuildKind] != "buildrun" {
			problems = append(problems, fmt.Sprintf("%s: run %s has build-ref %q and kind label %q, want %q and buildrun", name, run, ref, pr.Labels[watcher.LabelBuildKind], want))
		}
		u, err := buildRuns.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		if got := u.GetAnnotations()[watcher.AnnotationStatus]; got != "Succeeded" {
			problems = append(problems, fmt.Sprintf("%s: analysis status %q", name, got))
		}
	}
	for name, uid := range running {
		if n := byName[watcher.RunName(uid, 1)]; n != 0 {
			problems = append(problems, fmt.Sprintf("%s has not finished but has %d runs", name, n))
		}
		u, err := buildRuns.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		for k := range u.GetAnnotations() {
			if strings.HasPrefix(k, watcher.Prefix) {
				problems = append(problems, fmt.Sprintf("%s has not finished but is annotated %s", name, k))
			}
		}
	}
	if len(runs.Items) != len(finished) {
		problems = append(problems, fmt.Sprintf("%d runs, want %d", len(runs.Items), len(finished)))
	}
	return len(problems) == 0, strings.Join(problems, "; ")
}
