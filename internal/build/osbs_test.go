package build

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	buildv1 "github.com/openshift/api/build/v1"
	corev1 "k8s.io/api/core/v1"
)

const (
	// osbsBuildroot is the builder of the OSBS fixtures: the custom strategy's from, which
	// must never be reported as the base image.
	osbsBuildroot = "registry.example.org/osbs/buildroot@sha256:7777777777777777777777777777777777777777777777777777777777777777"
	osbsBaseTag   = "ubi9/ubi:9.5-1732"
	osbsResolved  = "registry.example.org/ubi9/ubi@sha256:5555555555555555555555555555555555555555555555555555555555555555"
	osbsGolang    = "registry.example.org/library/golang@sha256:6666666666666666666666666666666666666666666666666666666666666666"
	osbsImageID   = "d7c0ffee5e059788f2586a51c275a4f151653779d6a7f4dad77c2bd34601d94e"
)

// osbsLog is what atomic-reactor prints before it builds: no FROM line.
const osbsLog = `2026-11-22 09:31:00,001 - atomic_reactor.plugins - INFO - running plugin check_and_set_platforms
2026-11-22 09:31:02,417 - atomic_reactor.plugins - INFO - running plugin pull_base_image
`

// osbsCase is one OSBS Custom build shape: its USER_PARAMS ("" for none) and annotations,
// the base image the reader must give and substrings its notes must hold.
type osbsCase struct {
	name        string
	phase       buildv1.BuildPhase
	userParams  string
	annotations map[string]string
	log         string
	want        string
	wantNotes   []string
}

// osbsCases are the shapes of OSBS Custom builds seen in published captures, rebuilt here:
// valid and sanitiser-damaged USER_PARAMS (a host name's opening quote eaten), the
// parent_images, base-image-name and dockerfile annotations, image IDs.
func osbsCases() []osbsCase {
	return []osbsCase{
		{
			name:       "valid USER_PARAMS",
			phase:      buildv1.BuildPhaseComplete,
			userParams: `{"arrangement_version": 6, "base_image": "registry.fedoraproject.org/fedora:41", "component": "hello", "platforms": ["x86_64", "aarch64"], "worker_deadline": 3}`,
			want:       "registry.fedoraproject.org/fedora:41",
		},
		{
			name:       "damaged USER_PARAMS of a failed build",
			phase:      buildv1.BuildPhaseFailed,
			userParams: `{"arrangement_version": 6, "base_image": "` + osbsBaseTag + `", "build_image": registry.example.org:8888/osbs/buildroot:candidate-20260101", "git_uri": git.example.org/containers/hello", "component": "hello-container"}`,
			want:       osbsBaseTag,
			wantNotes:  []string{"USER_PARAMS of the custom strategy could not be read", "base_image read from its text"},
		},
		{
			name:       "damaged USER_PARAMS: the base_image value lost its opening quote",
			phase:      buildv1.BuildPhaseFailed,
			userParams: `{"base_image": registry.example.org/ubi9/ubi:9.5", "component": "hello"}`,
			want:       "registry.example.org/ubi9/ubi:9.5",
			wantNotes:  []string{"could not be read"},
		},
		{
			name:        "parent_images maps the base tag to a digest",
			phase:       buildv1.BuildPhaseComplete,
			userParams:  `{"base_image": "` + osbsBaseTag + `", "component": "hello"}`,
			annotations: map[string]string{parentImagesAnnotation: `{"` + osbsBaseTag + `": "` + osbsResolved + `"}`, baseImageNameAnnotation: "rh-osbs/ubi9-ubi:9.5-1732"},
			want:        osbsResolved,
		},
		{
			name:        "parent_images of a multi-stage build: the entry of the base tag",
			phase:       buildv1.BuildPhaseComplete,
			userParams:  `{"base_image": "` + osbsBaseTag + `"}`,
			annotations: map[string]string{parentImagesAnnotation: `{"golang:1.22": "` + osbsGolang + `", "` + osbsBaseTag + `": "` + osbsResolved + `"}`},
			want:        osbsResolved,
		},
		{
			name:       "parent_images keyed by base-image-name, with another parent",
			phase:      buildv1.BuildPhaseComplete,
			userParams: `{"base_image": "` + osbsBaseTag + `"}`,
			annotations: map[string]string{baseImageNameAnnotation: "rh-osbs/ubi9-ubi:9.5-1732",
				parentImagesAnnotation: `{"golang:1.22": "` + osbsGolang + `", "rh-osbs/ubi9-ubi:9.5-1732": "` + osbsResolved + `"}`},
			want: osbsResolved,
		},
		{
			name:        "parent_images with other parents only: the tag stays",
			phase:       buildv1.BuildPhaseComplete,
			userParams:  `{"base_image": "` + osbsBaseTag + `"}`,
			annotations: map[string]string{parentImagesAnnotation: `{"golang:1.22": "` + osbsGolang + `", "registry.example.org/other:1": null, "node:22": "` + osbsResolved + `"}`},
			want:        osbsBaseTag,
			wantNotes:   []string{"has 2 entries and none for the base image"},
		},
		{
			name:        "damaged parent_images and USER_PARAMS",
			phase:       buildv1.BuildPhaseFailed,
			userParams:  `{"base_image": "` + osbsBaseTag + `", "git_uri": git.example.org/containers/hello"}`,
			annotations: map[string]string{parentImagesAnnotation: `{"` + osbsBaseTag + `": ` + osbsResolved + `"}`},
			want:        osbsResolved,
			wantNotes:   []string{"USER_PARAMS of the custom strategy could not be read", "annotation parent_images", "read tolerantly"},
		},
		{
			name:        "parent_images value that is no digest: the tag stays",
			phase:       buildv1.BuildPhaseComplete,
			userParams:  `{"base_image": "` + osbsBaseTag + `"}`,
			annotations: map[string]string{parentImagesAnnotation: `{"` + osbsBaseTag + `": "registry.example.org/ubi9/ubi:9.5"}`},
			want:        osbsBaseTag,
			wantNotes:   []string{"not repo@digest"},
		},
		{
			name:        "only base-image-name",
			phase:       buildv1.BuildPhaseComplete,
			annotations: map[string]string{baseImageNameAnnotation: "rh-osbs/ubi9-ubi:9.5-1732", "base-image-id": "sha256:" + osbsImageID},
			want:        "rh-osbs/ubi9-ubi:9.5-1732",
		},
		{
			name:  "no USER_PARAMS: the last FROM of a multi-stage dockerfile",
			phase: buildv1.BuildPhaseComplete,
			annotations: map[string]string{dockerfileAnnotation: "# builder first\nFROM --platform=linux/amd64 registry.example.org/library/golang:1.22 AS builder\n" +
				"RUN go build -o /hello .\n\nfrom registry.example.org/ubi9/ubi-minimal:9.5\nCOPY --from=builder /hello /hello\n"},
			want: "registry.example.org/ubi9/ubi-minimal:9.5",
		},
		{
			name:        "dockerfile FROM an image ID: no base",
			phase:       buildv1.BuildPhaseComplete,
			annotations: map[string]string{dockerfileAnnotation: "FROM " + osbsImageID + "\nRUN uname -a && env\n"},
			log:         "Step 0 : FROM " + osbsImageID + "\n ---> d7c0ffee5e05\nStep 1 : RUN uname -a && env\n",
			wantNotes:   []string{"image ID", "builder, not the base"},
		},
		{
			name:      "nothing names the base: the builder is not reported",
			phase:     buildv1.BuildPhaseComplete,
			wantNotes: []string{"builder, not the base"},
		},
		{
			name:        "USER_PARAMS base_image that is no reference: base-image-name",
			phase:       buildv1.BuildPhaseFailed,
			userParams:  `{"base_image": "Not An Image!"}`,
			annotations: map[string]string{baseImageNameAnnotation: "rh-osbs/ubi9-ubi:9.5-1732"},
			want:        "rh-osbs/ubi9-ubi:9.5-1732",
			wantNotes:   []string{"base_image \"Not An Image!\" skipped"},
		},
	}
}

// osbsBuild is an OSBS Custom build of c's shape, built by osbsBuildroot.
func osbsBuild(name string, c osbsCase) *buildv1.Build {
	b := sourceBuild(name, c.phase)
	env := []corev1.EnvVar{{Name: "REACTOR_CONFIG", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: "reactor-config-map"}, Key: "config.yaml"}}}}
	if c.userParams != "" {
		env = append(env, corev1.EnvVar{Name: userParamsEnv, Value: c.userParams})
	}
	env = append(env, corev1.EnvVar{Name: "OPENSHIFT_CUSTOM_BUILD_BASE_IMAGE", Value: osbsBuildroot})
	b.Spec.Strategy = buildv1.BuildStrategy{Type: buildv1.CustomBuildStrategyType, CustomStrategy: &buildv1.CustomBuildStrategy{
		From: corev1.ObjectReference{Kind: "DockerImage", Name: osbsBuildroot}, Env: env}}
	for k, v := range c.annotations {
		b.Annotations[k] = v
	}
	if c.phase == buildv1.BuildPhaseFailed {
		b.Status.Reason = buildv1.StatusReasonGenericBuildFailed
	}
	b.Status.OutputDockerImageReference = "hello/hello-container:candidate-20260101"
	return b
}

// TestCollectOSBSBaseImage collects OSBS Custom builds of every shape from the test API
// server: the base image comes from the build object, never from the builder, and what
// could not be read is a note in the record (and its JSON), not a failure.
// osbsRegistry is the registry an OSBS of the tests pushes to.
const osbsRegistry = "registry.osbs.example.com"

func TestCollectOSBSBaseImage(t *testing.T) {
	e := newTestEnv(t)
	for i, tt := range osbsCases() {
		t.Run(tt.name, func(t *testing.T) {
			b := makeBuild(t, e, osbsBuild(fmt.Sprintf("osbs-%d", i), tt))
			log := tt.log
			if log == "" {
				log = osbsLog
			}
			e.front.SetBuildLog(e.ns, b.Name, []byte(log))
			// OSBS names its registry in its own configuration: its outputs, and some
			// bases, have none.
			rec, err := Collect(t.Context(), e.admin, Ref{Kind: KindBuild, Namespace: e.ns, Name: b.Name},
				Options{LogFile: filepath.Join(t.TempDir(), "build.log"), DefaultRegistry: osbsRegistry})
			if err != nil {
				t.Fatalf("collecting: %v", err)
			}
			want := tt.want
			if want != "" && !HasRegistry(want) {
				want = osbsRegistry + "/" + want
			}
			if rec.BaseImage != want {
				t.Errorf("base image %q, want %q (notes %q)", rec.BaseImage, want, rec.Notes)
			}
			if wantOut := osbsRegistry + "/hello/hello-container:candidate-20260101"; rec.OutputImageTag != wantOut {
				t.Errorf("output image %q, want %q", rec.OutputImageTag, wantOut)
			}
			if rec.BaseImage == osbsBuildroot {
				t.Error("the builder is reported as the base image")
			}
			if rec.Phase != buildPhase(tt.phase) || rec.Strategy != string(buildv1.CustomBuildStrategyType) {
				t.Errorf("phase %s, strategy %s", rec.Phase, rec.Strategy)
			}
			checkNotes(t, rec.Notes, tt.wantNotes)
			out, err := json.Marshal(rec)
			if err != nil {
				t.Fatal(err)
			}
			var printed struct {
				Notes []string `json:"notes"`
			}
			if err := json.Unmarshal(out, &printed); err != nil || !slices.Equal(printed.Notes, rec.Notes) {
				t.Errorf("JSON notes %q (%v), want %q", printed.Notes, err, rec.Notes)
			}
		})
	}
}

// checkNotes fails unless each of want is in some note, and notes are empty when want is.
func checkNotes(t *testing.T, notes, want []string) {
	t.Helper()
	if len(want) == 0 && len(notes) > 0 {
		t.Errorf("unexpected notes %q", notes)
	}
	for _, w := range want {
		if !slices.ContainsFunc(notes, func(n string) bool { return strings.Contains(n, w) }) {
			t.Errorf("notes %q do not say %q", notes, w)
		}
	}
}

// FuzzOSBSBase feeds any USER_PARAMS and OSBS annotations to the Custom build reader: no
// panic, a base image only when it is a pullable reference, never the builder unless an
// input names it, and notes of bounded size.
func FuzzOSBSBase(f *testing.F) {
	for _, c := range osbsCases() {
		f.Add(c.userParams, c.annotations[parentImagesAnnotation], c.annotations[baseImageNameAnnotation], c.annotations[dockerfileAnnotation])
	}
	f.Fuzz(func(t *testing.T, userParams, parentImages, baseImageName, dockerfile string) {
		c := osbsCase{phase: buildv1.BuildPhaseComplete, userParams: userParams, annotations: map[string]string{}}
		for k, v := range map[string]string{parentImagesAnnotation: parentImages, baseImageNameAnnotation: baseImageName, dockerfileAnnotation: dockerfile} {
			if v != "" {
				c.annotations[k] = v
			}
		}
		got, notes := customBaseImage(osbsBuild("fuzz", c))
		if got != "" {
			if err := pullableReference(got); err != nil {
				t.Errorf("base image %q: %v", got, err)
			}
			if strings.TrimSpace(got) != got {
				t.Errorf("base image %q has surrounding space", got)
			}
		}
		if got == osbsBuildroot && !strings.Contains(userParams+parentImages+baseImageName+dockerfile, osbsBuildroot) {
			t.Errorf("the builder is reported as the base image")
		}
		if got == "" && len(notes) == 0 {
			t.Error("no base image and no note saying why")
		}
		for _, n := range notes {
			if len(n) > maxNote+len("…") {
				t.Errorf("note of %d bytes", len(n))
			}
		}
	})
}
