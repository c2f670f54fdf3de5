package build

import (
	"reflect"
	"strings"
	"testing"

	buildv1 "github.com/openshift/api/build/v1"
)

func TestHasRegistry(t *testing.T) {
	tests := []struct {
		ref  string
		want bool
	}{
		{"quay.io/team/app:1", true},
		{"172.30.201.81:5000/repo/repo-base:latest", true},
		{"image-registry.openshift-image-registry.svc:5000/ns/app@sha256:x", true},
		{"localhost/app", true},
		{"registry:5000/app", true},
		{"mlangsdo/chromium:none-88836-20191011153053", false},
		{"library/fedora@sha256:abc", false},
		{"fedora:41", false},
		{"fedora", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := HasRegistry(tt.ref); got != tt.want {
			t.Errorf("HasRegistry(%q) = %v, want %v", tt.ref, got, tt.want)
		}
	}
}

func TestValidateDefaultRegistry(t *testing.T) {
	for _, ok := range []string{"", "registry.example.com", "registry:5000", "localhost:5000", "registry.example.com/osbs", "registry.example.com/", "docker.io"} {
		if err := ValidateDefaultRegistry(ok); err != nil {
			t.Errorf("ValidateDefaultRegistry(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"registry", "https://registry.example.com", "registry.example.com/Team", "reg istry.io", "registry.example.com:x"} {
		if err := ValidateDefaultRegistry(bad); err == nil {
			t.Errorf("ValidateDefaultRegistry(%q) = nil, want an error", bad)
		}
	}
}

func TestQualifyImages(t *testing.T) {
	const digest = "sha256:4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d"
	tests := []struct {
		name      string
		registry  string
		rec, want Record
		notes     []string
	}{
		{"qualified stays", "", Record{BaseImage: "quay.io/a/b:1", OutputImage: "quay.io/a/c@" + digest, OutputImageTag: "quay.io/a/c:2", OutputDigest: digest},
			Record{BaseImage: "quay.io/a/b:1", OutputImage: "quay.io/a/c@" + digest, OutputImageTag: "quay.io/a/c:2", OutputDigest: digest}, nil},
		{"OSBS output without a default", "", Record{OutputImage: "team/app:candidate-7", OutputImageTag: "team/app:candidate-7"},
			Record{}, []string{`output image "team/app:candidate-7" names no registry host; left out`}},
		{"OSBS output with a default", "registry.example.com/", Record{OutputImage: "team/app:candidate-7", OutputImageTag: "team/app:candidate-7"},
			Record{OutputImage: "registry.example.com/team/app:candidate-7", OutputImageTag: "registry.example.com/team/app:candidate-7"}, nil},
		{"digest output with a default", "registry:5000", Record{OutputImage: "team/app@" + digest, OutputImageTag: "team/app:7", OutputDigest: digest},
			Record{OutputImage: "registry:5000/team/app@" + digest, OutputImageTag: "registry:5000/team/app:7", OutputDigest: digest}, nil},
		{"failed build, tag only", "", Record{OutputImageTag: "team/app:7"}, Record{}, []string{`output image "team/app:7"`}},
		{"short base", "", Record{BaseImage: "library/fedora@" + digest, OutputImage: "quay.io/a/c:1"},
			Record{OutputImage: "quay.io/a/c:1"}, []string{`base image "library/fedora@` + digest + `" names no registry host`}},
		{"short base with a default", "registry.example.com", Record{BaseImage: "fedora:41"}, Record{BaseImage: "registry.example.com/fedora:41"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := tt.rec
			qualifyImages(&rec, tt.registry)
			notes := rec.Notes
			rec.Notes = nil
			if !reflect.DeepEqual(rec, tt.want) {
				t.Errorf("got  %+v\nwant %+v", rec, tt.want)
			}
			if len(notes) != len(tt.notes) {
				t.Fatalf("notes %q, want %d", notes, len(tt.notes))
			}
			for i, want := range tt.notes {
				if !strings.Contains(notes[i], want) || !strings.Contains(notes[i], "--default-registry") {
					t.Errorf("note %q lacks %q or the advice", notes[i], want)
				}
			}
		})
	}
}

// TestCollectDefaultRegistry collects an OSBS build, whose output names no registry, from
// the test API server: left out with a note, or on the default registry.
func TestCollectDefaultRegistry(t *testing.T) {
	e := newTestEnv(t)
	b := osbsBuild("osbs-output", osbsCases()[0])
	b.Status.Phase = buildv1.BuildPhaseComplete
	makeBuild(t, e, b)
	ref := Ref{KindBuild, e.ns, "osbs-output"}
	rec, err := Collect(t.Context(), e.admin, ref, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rec.OutputImage != "" || rec.OutputImageTag != "" || rec.BaseImage != osbsCases()[0].want {
		t.Errorf("without a default registry: output %q (tag %q), base %q", rec.OutputImage, rec.OutputImageTag, rec.BaseImage)
	}
	checkNotes(t, rec.Notes, []string{`output image "hello/hello-container:candidate-20260101" names no registry host; left out rather than sent as if it were on Docker Hub: name the registry it is on with --default-registry (the Tasks' default-registry param)`})
	rec, err = Collect(t.Context(), e.admin, ref, Options{DefaultRegistry: "registry.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "registry.example.com/hello/hello-container:candidate-20260101"; rec.OutputImage != want || rec.OutputImageTag != want || len(rec.Notes) != 0 {
		t.Errorf("with a default registry: output %q (tag %q), notes %q; want %s", rec.OutputImage, rec.OutputImageTag, rec.Notes, want)
	}
	if _, err := Collect(t.Context(), e.admin, ref, Options{DefaultRegistry: "https://registry.example.com"}); err == nil || !strings.Contains(err.Error(), "is not a registry host") {
		t.Errorf("a URL as the default registry: %v", err)
	}
}
