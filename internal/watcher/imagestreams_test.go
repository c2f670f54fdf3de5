package watcher_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	imagev1 "github.com/openshift/api/image/v1"
	imageclient "github.com/openshift/client-go/image/clientset/versioned"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/thoth-station/build-watcher/internal/thoth/thothtest"
	"github.com/thoth-station/build-watcher/internal/watcher"
)

// TestAnalyzeExistingImageStreams: with --analyze-existing the image of every existing
// ImageStream tag goes to Thoth once; a restart sends only tags whose image changed.
func TestAnalyzeExistingImageStreams(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	images := imageclient.NewForConfigOrDie(cp.Config()).ImageV1().ImageStreams(e.ns)
	digest := func(c string) string { return "sha256:" + strings.Repeat(c, 64) }
	is, err := images.Create(ctx, &imagev1.ImageStream{ObjectMeta: metav1.ObjectMeta{Name: "app"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tag := func(name, d string) imagev1.NamedTagEventList {
		return imagev1.NamedTagEventList{Tag: name, Items: []imagev1.TagEvent{{
			Created: metav1.Now(), Image: d,
			DockerImageReference: "image-registry.openshift-image-registry.svc:5000/" + e.ns + "/app@" + d,
		}}}
	}
	is.Status = imagev1.ImageStreamStatus{Tags: []imagev1.NamedTagEventList{tag("latest", digest("a")), tag("v1", digest("b"))}}
	if _, err = images.UpdateStatus(ctx, is, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	standin, err := thothtest.New(thothtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(standin)
	t.Cleanup(srv.Close)
	cfg := e.config()
	cfg.AnalyzeExisting = true
	cfg.Analysis.ThothHost = srv.URL

	submitted := func() map[string]int {
		out := map[string]int{}
		for _, r := range standin.Requests() {
			if r.Method != http.MethodPost {
				continue
			}
			var body struct {
				Output *string `json:"output_image"`
			}
			if err := json.Unmarshal(r.Body, &body); err == nil && body.Output != nil {
				out[r.Query.Get("origin")+" "+*body.Output]++
			}
		}
		return out
	}
	marked := func(tags int) func() (bool, string) {
		return func() (bool, string) {
			got, err := images.Get(ctx, "app", metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			var done map[string]string
			_ = json.Unmarshal([]byte(got.Annotations[watcher.AnnotationAnalyzedTags]), &done)
			return len(done) == tags, got.Annotations[watcher.AnnotationAnalyzedTags]
		}
	}
	stop := e.startWatcherStoppable(cfg)
	waitFor(t, ctx, time.Minute, "both tags marked", marked(2))
	stop()
	if got := submitted(); len(got) != 2 {
		t.Fatalf("submitted %v, want the images of latest and v1 once each", got)
	}

	// A new image under v1, then a restart: only v1 goes again.
	if is, err = images.Get(ctx, "app", metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	is.Status.Tags[1] = tag("v1", digest("c"))
	if _, err = images.UpdateStatus(ctx, is, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.startWatcher(cfg)
	// The pass over a stream marks its tags once it has submitted them all: marked, the
	// new v1 image was sent, and nothing else of this pass is still to come.
	waitFor(t, ctx, time.Minute, "the new v1 image marked", func() (bool, string) {
		got, err := images.Get(ctx, "app", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		var done map[string]string
		_ = json.Unmarshal([]byte(got.Annotations[watcher.AnnotationAnalyzedTags]), &done)
		return done["v1"] == digest("c") && done["latest"] == digest("a"), got.Annotations[watcher.AnnotationAnalyzedTags]
	})
	if got := submitted(); len(got) != 3 {
		t.Errorf("submitted %v, want the images of latest and both of v1", got)
	}
	for k, n := range submitted() {
		if n != 1 {
			t.Errorf("%s submitted %d times", k, n)
		}
	}
}
