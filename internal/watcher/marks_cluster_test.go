package watcher_test

import (
	"testing"
	"time"

	buildv1 "github.com/openshift/api/build/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/thoth-station/build-watcher/internal/watcher"
)

// TestMarkIsConditional: a decision taken on a stale copy of a build (another controller
// patched it since) is refused by the API server, as is one taken on a build deleted and made
// again under the same name; a current one is written, by the watcher's field manager, and
// removes keys given as nil.
func TestMarkIsConditional(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	if err := e.finishBuild(ctx, "marked", buildv1.BuildPhaseComplete, time.Now()); err != nil {
		t.Fatal(err)
	}
	stale, err := e.builds.BuildV1().Builds(e.ns).Get(ctx, "marked", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	touched, err := e.builds.BuildV1().Builds(e.ns).Patch(ctx, "marked", types.MergePatchType,
		[]byte(`{"metadata":{"labels":{"chains.example.com/touched":"yes"}}}`), metav1.PatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	clients, err := watcher.NewClients(cp.Config())
	if err != nil {
		t.Fatal(err)
	}
	claim := "default/" + e.ns + "/" + watcher.RunName(stale.UID, 1)
	set := map[string]*string{watcher.AnnotationRun: &claim}
	if err := watcher.MarkBuild(ctx, clients, e.ns, "marked", stale.UID, stale.ResourceVersion, set); !apierrors.IsConflict(err) {
		t.Fatalf("marking a stale copy: %v, want a Conflict", err)
	}
	// A build deleted and made again under the same name.
	if err := e.finishBuild(ctx, "renewed", buildv1.BuildPhaseComplete, time.Now()); err != nil {
		t.Fatal(err)
	}
	old, err := e.builds.BuildV1().Builds(e.ns).Get(ctx, "renewed", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.builds.BuildV1().Builds(e.ns).Delete(ctx, "renewed", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := e.finishBuild(ctx, "renewed", buildv1.BuildPhaseComplete, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := watcher.MarkBuild(ctx, clients, e.ns, "renewed", old.UID, old.ResourceVersion, set); !apierrors.IsConflict(err) {
		t.Fatalf("marking a build made again under the same name: %v, want a Conflict", err)
	}
	if err := watcher.MarkBuild(ctx, clients, e.ns, "marked", touched.UID, touched.ResourceVersion, set); err != nil {
		t.Fatalf("marking the current copy: %v", err)
	}
	b, err := e.builds.BuildV1().Builds(e.ns).Get(ctx, "marked", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if b.Annotations[watcher.AnnotationRun] != claim {
		t.Errorf("claim %q, want %q", b.Annotations[watcher.AnnotationRun], claim)
	}
	managers := map[string]bool{}
	for _, f := range b.ManagedFields {
		managers[f.Manager] = true
	}
	if !managers[watcher.FieldManager] {
		t.Errorf("managedFields name %v, not the watcher's field manager %q", managers, watcher.FieldManager)
	}
	if err := watcher.MarkBuild(ctx, clients, e.ns, "marked", b.UID, b.ResourceVersion, map[string]*string{watcher.AnnotationRun: nil}); err != nil {
		t.Fatal(err)
	}
	b, err = e.builds.BuildV1().Builds(e.ns).Get(ctx, "marked", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := b.Annotations[watcher.AnnotationRun]; ok || b.Labels["chains.example.com/touched"] != "yes" {
		t.Errorf("after removing the claim: annotations %v, labels %v", b.Annotations, b.Labels)
	}
}
