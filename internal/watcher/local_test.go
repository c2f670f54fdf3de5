package watcher_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	buildv1 "github.com/openshift/api/build/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/thoth-station/build-watcher/internal/thoth/thothtest"
	"github.com/thoth-station/build-watcher/internal/watcher"
)

// TestLocalExecutor: without Tekton, the watcher collects and submits each finished build
// in-process, exactly once, with N workers, and writes Thoth's ids back onto the build.
func TestLocalExecutor(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.rest = e.front.Config(cp.Config())
	standin, err := thothtest.New(thothtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(standin)
	t.Cleanup(srv.Close)

	cfg := e.config()
	cfg.Executor = watcher.ExecutorLocal
	cfg.Workers = 3
	cfg.Analysis.ThothHost = srv.URL
	e.startWatcher(cfg)
	const n = 20
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("local-%02d", i)
		e.front.SetBuildLog(e.ns, names[i], []byte("STEP 1/2: FROM quay.io/thoth-station/s2i-thoth-ubi9-py311:v0.35.1\nERROR: build "+names[i]+" failed\n"))
	}
	for _, name := range names {
		if err := e.finishBuild(ctx, name, buildv1.BuildPhaseFailed, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, ctx, 2*time.Minute, "every build written back", func() (bool, string) {
		list, err := e.builds.BuildV1().Builds(e.ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		done := 0
		for _, b := range list.Items {
			if b.Annotations[watcher.AnnotationStatus] == "Succeeded" && b.Annotations[watcher.AnnotationBuildLogAnalysisID] != "" {
				done++
			}
		}
		return done == n, fmt.Sprintf("%d of %d written back", done, n)
	})
	// A second submission would have come by the time one more build, finished after all
	// were written back, is analysed: the watcher handles its queue in order.
	marker := "local-marker"
	e.front.SetBuildLog(e.ns, marker, []byte("STEP 1/1: FROM scratch\n"))
	if err := e.finishBuild(ctx, marker, buildv1.BuildPhaseFailed, time.Now()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, time.Minute, "the marker build written back", func() (bool, string) {
		b, err := e.builds.BuildV1().Builds(e.ns).Get(ctx, marker, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return b.Annotations[watcher.AnnotationStatus] != "", "not yet"
	})
	origins := map[string]int{}
	discoveries := 0
	for _, r := range standin.Requests() {
		switch r.Method {
		case http.MethodPost:
			origins[r.Query.Get("origin")]++
		case http.MethodGet:
			discoveries++
		}
	}
	if discoveries != 1 {
		t.Errorf("the API was discovered %d times for %d submissions; one client is shared", discoveries, n+1)
	}
	delete(origins, e.ns+"/"+marker)
	if len(origins) != n {
		t.Errorf("Thoth received submissions for %d builds, want %d", len(origins), n)
	}
	for origin, count := range origins {
		if count != 1 {
			t.Errorf("build %s was submitted %d times", origin, count)
		}
	}
	if st := standin.Stats(); st.Rejected != 0 {
		t.Errorf("the stand-in rejected %d requests", st.Rejected)
	}
}

// TestLocalExecutorRefused: the local executor follows the redelivery policy: an analysis
// Thoth refuses for good (400) is final at once, after one request, while others go on.
func TestLocalExecutorRefused(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.rest = e.front.Config(cp.Config())
	standin, err := thothtest.New(thothtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	posts := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			origin := r.URL.Query().Get("origin")
			mu.Lock()
			posts[origin]++
			mu.Unlock()
			if strings.Contains(origin, "/refused-") {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				_, _ = w.Write([]byte(`{"error":"the build log is not a build log"}`))
				return
			}
			if strings.Contains(origin, "/forbidden-") {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusForbidden)
				_, _ = w.Write([]byte(`{"error":"unauthorized to pull the image"}`))
				return
			}
		}
		standin.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	cfg := e.config()
	cfg.Executor = watcher.ExecutorLocal
	cfg.Analysis.ThothHost = srv.URL
	cfg.RetryBackoff = 50 * time.Millisecond
	_, m := e.startWatcher(cfg)
	names := []string{"refused-0", "forbidden-0", "fine-0"}
	for _, name := range names {
		e.front.SetBuildLog(e.ns, name, []byte("STEP 1/2: FROM quay.io/thoth-station/s2i-thoth-ubi9-py311:v0.35.1\n"))
		if err := e.finishBuild(ctx, name, buildv1.BuildPhaseFailed, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, ctx, time.Minute, "both analyses over", func() (bool, string) {
		var states []string
		over := 0
		for _, name := range names {
			b, err := e.builds.BuildV1().Builds(e.ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			if st := b.Annotations[watcher.AnnotationStatus]; st != "" {
				over++
				states = append(states, name+": "+st)
			}
		}
		return over == len(names), strings.Join(states, "; ")
	})
	b, err := e.builds.BuildV1().Builds(e.ns).Get(ctx, "refused-0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st := b.Annotations[watcher.AnnotationStatus]; !strings.HasPrefix(st, "Failed: ") || !strings.Contains(st, "the build log is not a build log") {
		t.Errorf("refused build: status %q, want Thoth's refusal", st)
	}
	// The hint of a failure is worded for the watcher: its flags and ConfigMap keys, only
	// those of the local executor (no --pass-token there).
	forbidden, err := e.builds.BuildV1().Builds(e.ns).Get(ctx, "forbidden-0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st := forbidden.Annotations[watcher.AnnotationStatus]; !strings.Contains(st, "Thoth could not pull an image with the credentials given: check --src-registry-auth-file (THOTH_SRC_REGISTRY_AUTH_FILE) (base image)") ||
		strings.Contains(st, "pass-token") {
		t.Errorf("forbidden build: status %q, want a hint in the local watcher's words", st)
	}
	if _, retried := b.Annotations[watcher.AnnotationAttempt]; retried {
		t.Errorf("a refusal no retry can fix was retried: attempt %s", b.Annotations[watcher.AnnotationAttempt])
	}
	mu.Lock()
	if got := posts[e.ns+"/refused-0"]; got != 1 {
		t.Errorf("Thoth got %d submissions of the refused build, want 1", got)
	}
	mu.Unlock()
	e.waitEvent(ctx, b.UID, watcher.ReasonFailed, "a new run cannot fix "+watcher.ReasonLocalPermanent)
	// Both refusals, the 400 and the 403, are final.
	if got := gauge(t, m, "build_watcher_analyses_failed_total", map[string]string{"reason": watcher.ReasonLocalPermanent}); got != 2 {
		t.Errorf("build_watcher_analyses_failed_total{reason=%s} = %g, want 2", watcher.ReasonLocalPermanent, got)
	}
}
