package submit

import (
	"encoding/json"
	"testing"

	"github.com/thoth-station/build-watcher/internal/thoth/thothtest"
)

// TestRunFromBuildRefInFinally is submit-thoth as a finally task of the build pipeline it
// reads, without a build-log workspace, with the output image mirrored to a push registry:
// the run counts as finished, its log and images are the build task's, and Thoth gets the
// copy of the output image.
func TestRunFromBuildRefInFinally(t *testing.T) {
	ns, front := cp.NamespaceWithFront(t, "submit")
	fin, err := front.CreateFinallyRun(t.Context(), ns, "submit-thoth")
	if err != nil {
		t.Fatal(err)
	}

	srv := thothtest.NewTestServer(t, thothtest.Options{})
	o := options(srv.URL())
	o.BuildRef, o.REST, o.PushRegistry = "pipelinerun/"+ns+"/app-build-fin1", front.Config(cp.Config()), "quay.io/thoth"
	var r run
	if _, err := Run(t.Context(), o, r.streams("")); err != nil {
		t.Fatal(err)
	}
	base, output := sentImages(t, srv)
	if base != "registry.access.redhat.com/ubi9/python-311:latest" || output != "quay.io/thoth/app@"+fin.Digest {
		t.Errorf("sent base %q, output %q; want the build task's, the output as its copy", base, output)
	}
	last := srv.Requests()[len(srv.Requests())-1]
	var body struct {
		BuildLog struct {
			Log string `json:"log"`
		} `json:"build_log"`
	}
	if err := json.Unmarshal(last.Body, &body); err != nil {
		t.Fatal(err)
	}
	if body.BuildLog.Log != "[build/build]\n"+fin.BuildLog || last.Query.Get("origin") != o.BuildRef {
		t.Errorf("sent log %q, origin %q; want the build task's log only", body.BuildLog.Log, last.Query.Get("origin"))
	}
}
