package build

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	buildv1 "github.com/openshift/api/build/v1"
)

const (
	osbsListDigest = "sha256:6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a"
	osbsAmdDigest  = "sha256:7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b"
	osbsArmDigest  = "sha256:8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c"
)

func TestOSBSOutput(t *testing.T) {
	const out = "hello/hello-container:candidate-7"
	entry := func(tag, digest, version string) string {
		return `{"registry": "registry.example.com", "repository": "hello/hello-container", "tag": "` + tag + `", "digest": "` + digest + `", "version": "` + version + `"}`
	}
	tests := []struct {
		name        string
		annotations map[string]string
		want        imageRef
		notes       []string
	}{
		{"none", nil, imageRef{}, nil},
		{"digests, index first", map[string]string{digestsAnnotation: "[" + entry("latest", osbsAmdDigest, "v2") + "," + entry("candidate-7", osbsAmdDigest, "v2") + "," + entry("candidate-7", osbsListDigest, "v2_list") + "]"},
			imageRef{Image: "registry.example.com/hello/hello-container@" + osbsListDigest, Tag: "registry.example.com/hello/hello-container:candidate-7", Digest: osbsListDigest}, nil},
		{"digests of another tag", map[string]string{digestsAnnotation: "[" + entry("1.0-7", osbsAmdDigest, "") + "]"},
			imageRef{Image: "registry.example.com/hello/hello-container@" + osbsAmdDigest, Tag: "registry.example.com/hello/hello-container:1.0-7", Digest: osbsAmdDigest}, nil},
		{"empty digests, worker builds", map[string]string{digestsAnnotation: "[]", workerBuildsAnnotation: `{"aarch64": {"digests": [` + entry("candidate-7", osbsArmDigest, "v2") + `]}, "x86_64": {"digests": [` + entry("candidate-7", osbsAmdDigest, "v2") + `], "build": {"cluster-url": "https://w.example.com/"}}}`},
			imageRef{Image: "registry.example.com/hello/hello-container@" + osbsAmdDigest, Tag: "registry.example.com/hello/hello-container:candidate-7", Digest: osbsAmdDigest},
			[]string{"the output's x86_64 manifest, of worker build x86_64"}},
		{"worker builds with no digests", map[string]string{workerBuildsAnnotation: `{"x86_64": {"digests": []}}`}, imageRef{}, nil},
		{"damaged digests", map[string]string{digestsAnnotation: `[{"registry": "registry.example.com", "repository": "a/b", "tag": "1", "digest": sha256:1}]`},
			imageRef{}, []string{"annotation digests", "not a JSON list of pushed images"}},
		{"bad digest", map[string]string{digestsAnnotation: `[{"registry": "registry.example.com", "repository": "a/b", "tag": "1", "digest": "sha256:12"}]`},
			imageRef{}, []string{`entry "registry.example.com/a/b@sha256:12" skipped`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, notes, ok := osbsOutput(tt.annotations, out)
			if got != tt.want || ok != (tt.want.Image != "") {
				t.Errorf("osbsOutput = %+v, %v; want %+v", got, ok, tt.want)
			}
			checkNotes(t, notes, tt.notes)
		})
	}
}

// TestCollectOSBSOutput collects OSBS builds whose status.output is empty from the test
// API server: the output comes from the digests annotation, qualified by its registry.
func TestCollectOSBSOutput(t *testing.T) {
	e := newTestEnv(t)
	b := osbsBuild("osbs-pushed", osbsCases()[0])
	b.Annotations[digestsAnnotation] = `[{"registry": "registry.example.com", "repository": "hello/hello-container", "tag": "candidate-20260101", "digest": "` + osbsListDigest + `", "version": "v2_list"}]`
	makeBuild(t, e, b)
	rec, err := Collect(t.Context(), e.admin, Ref{KindBuild, e.ns, "osbs-pushed"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := Record{OutputImage: "registry.example.com/hello/hello-container@" + osbsListDigest, OutputImageTag: "registry.example.com/hello/hello-container:candidate-20260101", OutputDigest: osbsListDigest}
	if rec.OutputImage != want.OutputImage || rec.OutputImageTag != want.OutputImageTag || rec.OutputDigest != want.OutputDigest || len(rec.Notes) != 0 {
		t.Errorf("output %q (tag %q, digest %q), notes %q; want %+v", rec.OutputImage, rec.OutputImageTag, rec.OutputDigest, rec.Notes, want)
	}
	if rec.Phase != PhaseSucceeded || b.Status.Phase != buildv1.BuildPhaseComplete {
		t.Errorf("phase %s", rec.Phase)
	}
}

// FuzzOSBSOutput feeds any digests and worker-builds annotations: no panic, an output only
// when it is a valid repo@digest, notes of bounded size.
func FuzzOSBSOutput(f *testing.F) {
	valid, _ := json.Marshal([]osbsPushed{{Registry: "r.example.com", Repository: "a/b", Tag: "1", Digest: osbsAmdDigest, Version: "v2"}})
	f.Add(string(valid), `{"x86_64": {"digests": []}}`, "a/b:1")
	f.Add(`[{"registry": "r", "repository": "", "digest": "sha256:"}]`, `{"x86_64": {"digests": `+string(valid)+`}}`, "")
	f.Add("", "{", "b:1")
	f.Fuzz(func(t *testing.T, digests, workers, output string) {
		img, notes, ok := osbsOutput(map[string]string{digestsAnnotation: digests, workerBuildsAnnotation: workers}, output)
		if ok {
			if _, err := name.NewDigest(img.Image); err != nil || !strings.HasSuffix(img.Image, "@"+img.Digest) {
				t.Errorf("output %+v is not repo@digest: %v", img, err)
			}
		}
		for _, n := range notes {
			if len(n) > maxNote+len("…") {
				t.Errorf("note of %d bytes", len(n))
			}
		}
	})
}
