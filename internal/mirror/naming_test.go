package mirror

import (
	"errors"
	"path"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/thoth-station/build-watcher/internal/usage"
)

const hex64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestDestination(t *testing.T) {
	tests := []struct {
		src, reg string
		mode     PushMode
		want     string
		wantErr  string
	}{
		{src: "image-registry.openshift-image-registry.svc:5000/team/app:v1", reg: "quay.io/thoth", mode: PushModeDefault, want: "quay.io/thoth/app:v1"},
		{src: "registry.local:5000/a/b/c/app:1.0", reg: "quay.io", mode: "", want: "quay.io/app:1.0"},
		{src: "registry.local/app", reg: "quay.io/thoth/", mode: PushModeDefault, want: "quay.io/thoth/app:latest"},
		{src: "ubuntu:22.04", reg: "127.0.0.1:5000", mode: PushModeDefault, want: "127.0.0.1:5000/ubuntu:22.04"},
		{src: "registry.local/team/app@sha256:" + hex64, reg: "quay.io/thoth", mode: PushModeDefault, want: "quay.io/thoth/app@sha256:" + hex64},
		{src: "registry.local/team/app:v2@sha256:" + hex64, reg: "quay.io/thoth", mode: PushModeDefault, want: "quay.io/thoth/app:v2"},
		{src: "registry.local:5000/team/app:v1", reg: "quay.io/thoth/images", mode: PushModeFlat, want: "quay.io/thoth/images:app-v1"},
		{src: "registry.local/team/app@sha256:" + hex64, reg: "quay.io/thoth/images", mode: PushModeFlat, want: "quay.io/thoth/images:app-" + hex64},
		{src: "registry.local/team/app:v2@sha256:" + hex64, reg: "quay.io/thoth/images", mode: PushModeFlat, want: "quay.io/thoth/images:app-v2"},
		{src: "registry.local/team/app:v1", reg: "quay.io", mode: PushModeFlat, wantErr: "give a repository"},
		{src: "registry.local/team/" + strings.Repeat("a", 70) + "@sha256:" + hex64, reg: "quay.io/t/i", mode: PushModeFlat, wantErr: "longer than 128"},
		{src: "registry.local/team/app:v1", reg: "https://quay.io", mode: PushModeDefault, wantErr: "not a URL"},
		{src: "registry.local/team/app:v1", reg: "", mode: PushModeDefault, wantErr: "--push-registry is empty"},
		{src: "registry.local/team/app:v1", reg: "Quay.io/Thoth", mode: PushModeDefault, wantErr: "not a valid image reference"},
		{src: "registry.local/team/app:v1", reg: "quay.io/x@sha256:" + hex64, mode: PushModeDefault, wantErr: "without a digest"},
		{src: "registry.local/team/app:v1", reg: "quay.io", mode: "quay", wantErr: "--push-mode must be default or flat"},
		{src: "", reg: "quay.io", mode: PushModeDefault, wantErr: "--source"},
		{src: "Not/Valid", reg: "quay.io", mode: PushModeDefault, wantErr: "--source"},
	}
	for _, tt := range tests {
		got, err := Destination(tt.src, tt.reg, tt.mode)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, usage.ErrBadInput) {
				t.Errorf("Destination(%q, %q, %q) = %q, %v; want bad input containing %q", tt.src, tt.reg, tt.mode, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Destination(%q, %q, %q) = %q, %v; want %q", tt.src, tt.reg, tt.mode, got, err, tt.want)
		}
	}
}

func TestTarget(t *testing.T) {
	const src = "registry.local/team/app:v1"
	srcDigest := "registry.local/team/app@sha256:" + hex64
	tests := []struct {
		src, destination, push string
		mode                   PushMode
		want, wantErr          string
	}{
		{src: src, push: "quay.io/thoth", mode: PushModeDefault, want: "quay.io/thoth/app:v1"},
		{src: src, push: "quay.io/thoth/images", mode: PushModeFlat, want: "quay.io/thoth/images:app-v1"},
		{src: src, destination: "quay.io/other/name:tag", mode: PushModeDefault, want: "quay.io/other/name:tag"},
		{src: src, destination: "quay.io/other/name", mode: PushModeDefault, want: "quay.io/other/name:v1"},
		{src: src, destination: "localhost:5000/name", want: "localhost:5000/name:v1"},
		{src: srcDigest, destination: "quay.io/other/name", want: "quay.io/other/name@sha256:" + hex64},
		{src: srcDigest, destination: "quay.io/other/name@sha256:" + hex64, want: "quay.io/other/name@sha256:" + hex64},
		{src: src, destination: "quay.io/a", push: "quay.io/b", wantErr: "conflict"},
		{src: src, destination: "quay.io/a", mode: PushModeFlat, wantErr: "--push-mode flat applies to --push-registry only"},
		{src: src, destination: "quay.io/a", mode: "sideways", wantErr: "--push-mode must be"},
		{src: src, wantErr: "no destination"},
		{src: src, destination: "NOT VALID", wantErr: "--destination"},
		{src: "", push: "quay.io", wantErr: "the source image is empty"},
	}
	for _, tt := range tests {
		got, err := Target(tt.src, tt.destination, tt.push, tt.mode)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, usage.ErrBadInput) {
				t.Errorf("Target(%q, %q, %q, %q) = %q, %v; want bad input containing %q", tt.src, tt.destination, tt.push, tt.mode, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Target(%q, %q, %q, %q) = %q, %v; want %q", tt.src, tt.destination, tt.push, tt.mode, got, err, tt.want)
		}
	}
}

// FuzzDestination checks, for any source and push registry, that Destination either
// fails with bad input or names a valid reference that keeps the source's name and tag
// or digest as its mode says.
func FuzzDestination(f *testing.F) {
	for _, seed := range [][3]string{
		{"registry.local:5000/team/app:v1", "quay.io/thoth", "default"},
		{"registry.local/team/app@sha256:" + hex64, "quay.io/thoth/images", "flat"},
		{"registry.local/team/app:v2@sha256:" + hex64, "127.0.0.1:5000", "default"},
		{"ubuntu", "quay.io/a/b", "flat"},
		{"a:b:c", "x/", ""},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	f.Fuzz(func(t *testing.T, src, reg, mode string) {
		got, err := Destination(src, reg, PushMode(mode))
		if err != nil {
			if !errors.Is(err, usage.ErrBadInput) {
				t.Fatalf("error %v is not bad input", err)
			}
			return
		}
		ref, perr := name.ParseReference(got, name.StrictValidation)
		if perr != nil {
			t.Fatalf("Destination(%q, %q, %q) = %q, which does not parse: %v", src, reg, mode, got, perr)
		}
		s, serr := parseSource(src)
		if serr != nil {
			t.Fatalf("Destination accepted a source that does not parse: %v", serr)
		}
		base := path.Base(s.ref.Context().RepositoryStr())
		switch PushMode(mode) {
		case PushModeFlat:
			tag, ok := ref.(name.Tag)
			if !ok || !strings.HasPrefix(tag.TagStr(), base+"-") {
				t.Fatalf("flat Destination(%q, %q) = %q: want a tag %s-...", src, reg, got, base)
			}
		default:
			if path.Base(ref.Context().RepositoryStr()) != base {
				t.Fatalf("Destination(%q, %q) = %q does not keep the name %q", src, reg, got, base)
			}
			if s.tag != "" && ref.Identifier() != s.tag || s.tag == "" && ref.Identifier() != s.digest {
				t.Fatalf("Destination(%q, %q) = %q does not keep the tag %q or digest %q", src, reg, got, s.tag, s.digest)
			}
		}
	})
}
