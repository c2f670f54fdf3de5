package submit

import (
	"encoding/json"
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/thoth-station/build-watcher/internal/build"
	"github.com/thoth-station/build-watcher/internal/testenv/controlplane"
	"github.com/thoth-station/build-watcher/internal/thoth/thothtest"
)

// TestRunFromBuildRunRef is submit-thoth --build-ref buildrun/NS/NAME: the BuildRun's
// images and its executor TaskRun's log reach the Thoth stand-in (which checks the request
// against the OpenAPI document), the log named as a Shipwright BuildRun's.
func TestRunFromBuildRunRef(t *testing.T) {
	ns, front := cp.NamespaceWithFront(t, "submit")
	tests := []struct {
		name   string
		status corev1.ConditionStatus
		reason string
		// wantOutput: the output image is sent; wantErr: the error instead.
		wantOutput bool
		wantErr    error
	}{
		{name: "succeeded", status: corev1.ConditionTrue, reason: "Succeeded", wantOutput: true},
		// A failed BuildRun has no digest: its output image was never pushed, and is not sent.
		{name: "failed", status: corev1.ConditionFalse, reason: "Failed"},
		{name: "running", status: corev1.ConditionUnknown, reason: "Running", wantErr: build.ErrNotFinished},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			br, err := front.CreateBuildRun(t.Context(), ns, "flask-build-"+tt.name, tt.status, tt.reason)
			if err != nil {
				t.Fatal(err)
			}
			srv := thothtest.NewTestServer(t, thothtest.Options{})
			o := options(srv.URL())
			o.BuildRef, o.REST = "buildrun/"+ns+"/"+br.Name, front.Config(cp.Config())
			var r run
			_, err = Run(t.Context(), o, r.streams(""))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || len(srv.Requests()) != 0 {
					t.Fatalf("err = %v after %d requests, want %v and none sent", err, len(srv.Requests()), tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			base, output := sentImages(t, srv)
			var wantOutput string
			if tt.wantOutput {
				wantOutput = br.Output
			}
			if base != controlplane.BuildRunBase || output != wantOutput {
				t.Errorf("sent base %q, output %q; want %q (from the log), %q", base, output, controlplane.BuildRunBase, wantOutput)
			}
			last := srv.Requests()[len(srv.Requests())-1]
			var body struct {
				BuildLog struct {
					Log        string `json:"log"`
					APIVersion string `json:"apiversion"`
					Kind       string `json:"kind"`
				} `json:"build_log"`
			}
			if err := json.Unmarshal(last.Body, &body); err != nil {
				t.Fatal(err)
			}
			wantLog := "[" + br.TaskRun + "/source-default]\n" + br.SourceLog + "[" + br.TaskRun + "/build-and-push]\n" + br.BuildLog
			if body.BuildLog.Log != wantLog || body.BuildLog.APIVersion != "shipwright.io/v1beta1" || body.BuildLog.Kind != "BuildRunLog" {
				t.Errorf("sent log %q (%s %s), want %q (shipwright.io/v1beta1 BuildRunLog)", body.BuildLog.Log, body.BuildLog.APIVersion, body.BuildLog.Kind, wantLog)
			}
			if got := last.Query.Get("origin"); got != o.BuildRef {
				t.Errorf("origin %q, want %q", got, o.BuildRef)
			}
		})
	}
}
