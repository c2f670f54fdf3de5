package build

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
)

// Digests of the image-convention tests and of testdata/tekton/konflux-s2i.
const (
	tiIndex   = "sha256:454e2a5efe6b7b89e1c9adbac72dcef027a1b468bdbaa5f7611f323d0b95bc64"
	tiAMD64   = "sha256:0f9c7a3dcb8d13474ee8eb923e007c9e2c14b3c6bc902d3e7dd46d8ac688f4c6"
	tiARM64   = "sha256:a657e3e0b604c5b2d59557b2166d67c085f5b6d7a182b0ed39a044db3b12f8b6"
	tiBuilder = "sha256:828b7e86b22ee286cabc91f9c621a358fd5f915dae6454c167524a0ea9c9d8cc"
	tiBase    = "sha256:06c8218216f76539dd573b9456628e641c939ea41cdfb308fc7e30ece4fdf59a"
	tiS2I     = "sha256:7fbb52cd1d0b7792862cc66a9699b61855837f928054f9587804fa2b8744bda8"
	tiShop    = "quay.io/example-tenant/shop/shop-api"
)

// checkTektonNotes wants one note per entry of want, each containing it, in order.
func checkTektonNotes(t *testing.T, notes, want []string) {
	t.Helper()
	if len(notes) != len(want) {
		t.Fatalf("notes %q, want %d like %q", notes, len(want), want)
	}
	for i, w := range want {
		if !strings.Contains(notes[i], w) {
			t.Errorf("note %q, want it to contain %q", notes[i], w)
		}
	}
}

// tektonImageResultTests are the table of parseImageResults, one case at least per row of
// the Task families in the README ("Where the images come from in Tekton runs"), and the
// fuzz seeds.
var tektonImageResultTests = []struct {
	name      string
	results   []namedValue
	params    []namedValue
	want      []imageRef
	wantNotes []string // substrings, one per note
}{
	{
		name:    "catalog buildah 0.4+, kaniko 0.6+, jib-gradle, OpenShift Pipelines buildah: IMAGE_URL with tag and IMAGE_DIGEST",
		results: []namedValue{{"IMAGE_URL", "quay.io/a/b:v1"}, {"IMAGE_DIGEST", tektonDigestA}},
		params:  []namedValue{{"IMAGE", "quay.io/a/other:v9"}},
		want:    []imageRef{{Image: "quay.io/a/b@" + tektonDigestA, Tag: "quay.io/a/b:v1", Digest: tektonDigestA}},
	},
	{
		name:    "IMAGE_URL without tag, newline-ended values",
		results: []namedValue{{"IMAGE_DIGEST", tektonDigestA + "\n"}, {"IMAGE_URL", "quay.io/a/b\n"}},
		want:    []imageRef{{Image: "quay.io/a/b@" + tektonDigestA, Digest: tektonDigestA}},
	},
	{
		name:    "registry with port",
		results: []namedValue{{"IMAGE_URL", "image-registry.openshift-image-registry.svc:5000/ns/app:latest"}, {"IMAGE_DIGEST", tektonDigestA}},
		want: []imageRef{{
			Image: "image-registry.openshift-image-registry.svc:5000/ns/app@" + tektonDigestA, Digest: tektonDigestA,
			Tag: "image-registry.openshift-image-registry.svc:5000/ns/app:latest",
		}},
	},
	{
		name:    "IMAGE_URL alone",
		results: []namedValue{{"IMAGE_URL", "quay.io/a/b:v1"}},
		want:    []imageRef{{Image: "quay.io/a/b:v1", Tag: "quay.io/a/b:v1"}},
	},
	{
		name:    "IMAGE_URL with its own digest",
		results: []namedValue{{"IMAGE_URL", "quay.io/a/b:v1@" + tektonDigestA}},
		want:    []imageRef{{Image: "quay.io/a/b@" + tektonDigestA, Tag: "quay.io/a/b:v1", Digest: tektonDigestA}},
	},
	{
		name:      "IMAGE_URL digest differs from IMAGE_DIGEST",
		results:   []namedValue{{"IMAGE_URL", "quay.io/a/b@" + tektonDigestB}, {"IMAGE_DIGEST", tektonDigestA}},
		want:      []imageRef{{Image: "quay.io/a/b@" + tektonDigestA, Digest: tektonDigestA}},
		wantNotes: []string{"another digest"},
	},
	{
		name:      "malformed digest keeps the tag",
		results:   []namedValue{{"IMAGE_URL", "quay.io/a/b:v1"}, {"IMAGE_DIGEST", "sha256:xyz"}},
		want:      []imageRef{{Image: "quay.io/a/b:v1", Tag: "quay.io/a/b:v1"}},
		wantNotes: []string{`IMAGE_DIGEST "sha256:xyz" is not a digest`},
	},
	{
		name:      "malformed URL",
		results:   []namedValue{{"IMAGE_URL", "Quay.io/A B"}, {"IMAGE_DIGEST", tektonDigestA}},
		wantNotes: []string{`IMAGE_URL "Quay.io/A B" is not an image reference`},
	},
	{
		name:      "empty URL",
		results:   []namedValue{{"IMAGE_URL", ""}, {"IMAGE_DIGEST", tektonDigestA}},
		wantNotes: []string{"IMAGE_URL is empty"},
	},
	{
		name:      "URL ending in @",
		results:   []namedValue{{"IMAGE_URL", "quay.io/a/b@"}},
		wantNotes: []string{"is not an image reference"},
	},
	{
		name: "prefixed pairs in result order, after IMAGE_URL",
		results: []namedValue{
			{"APP_IMAGE_URL", "quay.io/a/app:1"}, {"APP_IMAGE_DIGEST", tektonDigestA},
			{"IMAGE_URL", "quay.io/a/main:1"}, {"IMAGE_DIGEST", tektonDigestB},
			{"SIDECAR_IMAGE_URL", "quay.io/a/side"},
		},
		want: []imageRef{
			{Image: "quay.io/a/main@" + tektonDigestB, Tag: "quay.io/a/main:1", Digest: tektonDigestB},
			{Image: "quay.io/a/app@" + tektonDigestA, Tag: "quay.io/a/app:1", Digest: tektonDigestA},
			{Image: "quay.io/a/side"},
		},
	},
	{
		name:    "IMAGES takes the first entry",
		results: []namedValue{{"IMAGES", "quay.io/a/b@" + tektonDigestA + ", quay.io/a/c@" + tektonDigestB}},
		want:    []imageRef{{Image: "quay.io/a/b@" + tektonDigestA, Digest: tektonDigestA}},
	},
	{
		name:      "IMAGES skips malformed entries",
		results:   []namedValue{{"IMAGES", "\nquay.io/a/b:v1\nquay.io/a/c@sha256:nope\nquay.io/a/d:v2@" + tektonDigestB + "\n"}},
		want:      []imageRef{{Image: "quay.io/a/d@" + tektonDigestB, Tag: "quay.io/a/d:v2", Digest: tektonDigestB}},
		wantNotes: []string{`entry "quay.io/a/b:v1" has no digest`, `entry "quay.io/a/c@sha256:nope" is not repo@digest`},
	},
	{
		name:      "IMAGES empty",
		results:   []namedValue{{"IMAGES", " , \n"}},
		wantNotes: []string{"IMAGES is empty"},
	},
	{
		name:    "unrelated results",
		results: []namedValue{{"COMMIT", "2a0d4f3c"}, {"URL", "https://github.com/x/y"}, {"SBOM_BLOB_URL", "quay.io/a/b@" + tektonDigestA}},
	},

	// Digest-only results take their repository from a param (SHAPES 14).
	{
		name:    "catalog buildah 0.1-0.3: IMAGE_DIGEST in the repository of param IMAGE",
		results: []namedValue{{"IMAGE_DIGEST", tektonDigestA}},
		params:  []namedValue{{"IMAGE", "quay.io/team/app:v2"}, {"BUILDER_IMAGE", "quay.io/buildah/stable:v1"}},
		want:    []imageRef{{Image: "quay.io/team/app@" + tektonDigestA, Tag: "quay.io/team/app:v2", Digest: tektonDigestA}},
	},
	{
		name:    "catalog s2i, jib-maven, OpenShift Pipelines s2i: newline-ended IMAGE_DIGEST and IMAGE",
		results: []namedValue{{"IMAGE_DIGEST", tiS2I + "\n"}},
		params:  []namedValue{{"IMAGE", "image-registry.openshift-image-registry.svc:5000/team-b/ruby-web\n"}, {"VERSION", "3.3-ubi9"}},
		want:    []imageRef{{Image: "image-registry.openshift-image-registry.svc:5000/team-b/ruby-web@" + tiS2I, Digest: tiS2I}},
	},
	{
		name:    "docker-build: IMAGE_DIGEST in the repository of param image",
		results: []namedValue{{"IMAGE_DIGEST", tektonDigestA}},
		params:  []namedValue{{"image", "registry.example.com/team/app:main"}, {"builder_image", "docker.io/library/docker:24"}},
		want:    []imageRef{{Image: "registry.example.com/team/app@" + tektonDigestA, Tag: "registry.example.com/team/app:main", Digest: tektonDigestA}},
	},
	{
		name:    "kaniko 0.1-0.5: IMAGE-DIGEST in the repository of param IMAGE",
		results: []namedValue{{"IMAGE-DIGEST", tektonDigestB + "\n"}},
		params:  []namedValue{{"IMAGE", "gcr.io/team/app:v3"}, {"BUILDER_IMAGE", "gcr.io/kaniko-project/executor:v1.5.1"}},
		want:    []imageRef{{Image: "gcr.io/team/app@" + tektonDigestB, Tag: "gcr.io/team/app:v3", Digest: tektonDigestB}},
	},
	{
		name:    "buildpacks 0.3-0.4, buildpacks-phases: APP_IMAGE_DIGEST in the repository of param APP_IMAGE",
		results: []namedValue{{"APP_IMAGE_DIGEST", tektonDigestA}},
		params:  []namedValue{{"APP_IMAGE", "quay.io/team/cnb-app"}, {"BUILDER_IMAGE", "paketobuildpacks/builder:base"}},
		want:    []imageRef{{Image: "quay.io/team/cnb-app@" + tektonDigestA, Digest: tektonDigestA}},
	},
	{
		name:    "buildpacks 0.5-0.6: APP_IMAGE_URL with APP_IMAGE_DIGEST",
		results: []namedValue{{"APP_IMAGE_DIGEST", tektonDigestA}, {"APP_IMAGE_URL", "quay.io/team/cnb-app:v1\n"}},
		params:  []namedValue{{"APP_IMAGE", "quay.io/team/cnb-app:v1"}},
		want:    []imageRef{{Image: "quay.io/team/cnb-app@" + tektonDigestA, Tag: "quay.io/team/cnb-app:v1", Digest: tektonDigestA}},
	},
	{
		name:   "ko 0.1, buildkit 0.1: no results",
		params: []namedValue{{"ko-image", "gcr.io/tekton-releases/ko-ci"}, {"KO_DEFAULTBASEIMAGE", ""}},
	},
	{
		name:      "IMAGE_DIGEST without IMAGE_URL or an IMAGE param",
		results:   []namedValue{{"IMAGE_DIGEST", tektonDigestA}},
		wantNotes: []string{"result IMAGE_DIGEST " + `"` + tektonDigestA + `" names no repository: the run has no param IMAGE or image`},
	},
	{
		name:      "empty IMAGE_DIGEST with param IMAGE",
		results:   []namedValue{{"IMAGE_DIGEST", "\n"}},
		params:    []namedValue{{"IMAGE", "quay.io/team/app"}},
		wantNotes: []string{"result IMAGE_DIGEST is empty"},
	},
	{
		name:      "malformed IMAGE param",
		results:   []namedValue{{"IMAGE_DIGEST", tektonDigestA}},
		params:    []namedValue{{"IMAGE", "$(params.output-image)"}},
		wantNotes: []string{`param IMAGE "$(params.output-image)" is not an image reference`},
	},

	// Konflux.
	{
		name: "Konflux buildah 0.1-0.3: IMAGE_URL and IMAGE_DIGEST, BASE_IMAGES_DIGESTS is no output",
		results: []namedValue{
			{"JAVA_COMMUNITY_DEPENDENCIES", ""},
			{"BASE_IMAGES_DIGESTS", "registry.access.redhat.com/ubi9/ubi-minimal:9.4@" + tiBase + "\n"},
			{"IMAGE_DIGEST", tiAMD64}, {"IMAGE_URL", tiShop + ":abc123"},
		},
		want: []imageRef{{Image: tiShop + "@" + tiAMD64, Tag: tiShop + ":abc123", Digest: tiAMD64}},
	},
	{
		name: "Konflux buildah 0.4-0.10: IMAGE_URL, IMAGE_DIGEST and IMAGE_REF agree",
		results: []namedValue{
			{"IMAGE_DIGEST", tiAMD64}, {"IMAGE_URL", tiShop + ":abc123"}, {"IMAGE_REF", tiShop + ":abc123@" + tiAMD64},
			{"SBOM_BLOB_URL", tiShop + "@" + tektonDigestA},
		},
		params: []namedValue{{"IMAGE", tiShop + ":abc123"}, {"BUILDER_IMAGE", "quay.io/konflux-ci/buildah-task:latest"}},
		want: []imageRef{
			{Image: tiShop + "@" + tiAMD64, Tag: tiShop + ":abc123", Digest: tiAMD64},
			{Image: tiShop + "@" + tiAMD64, Tag: tiShop + ":abc123", Digest: tiAMD64},
		},
	},
	{
		name:    "Konflux IMAGE_REF alone",
		results: []namedValue{{"IMAGE_REF", tiShop + ":abc123@" + tiAMD64 + "\n"}},
		want:    []imageRef{{Image: tiShop + "@" + tiAMD64, Tag: tiShop + ":abc123", Digest: tiAMD64}},
	},
	{
		name: "Konflux build-image-index: the index, then the first manifest of IMAGES",
		results: []namedValue{
			{"IMAGE_DIGEST", tiIndex}, {"IMAGE_URL", tiShop + ":abc123"}, {"IMAGE_REF", tiShop + ":abc123@" + tiIndex},
			{"IMAGES", tiShop + "@" + tiAMD64 + "," + tiShop + "@" + tiARM64},
		},
		want: []imageRef{
			{Image: tiShop + "@" + tiIndex, Tag: tiShop + ":abc123", Digest: tiIndex},
			{Image: tiShop + "@" + tiIndex, Tag: tiShop + ":abc123", Digest: tiIndex},
			{Image: tiShop + "@" + tiAMD64, Digest: tiAMD64},
		},
	},
	{
		name:    "Konflux inspect-image: its image is in params only",
		results: []namedValue{{"BASE_IMAGE", "registry.access.redhat.com/ubi9/ubi-minimal@" + tiBase}, {"BASE_IMAGE_REPOSITORY", "ubi9/ubi-minimal"}},
		params:  []namedValue{{"IMAGE_URL", tiShop + ":abc123"}, {"IMAGE_DIGEST", tiAMD64}},
	},
	{
		name: "Konflux source-build: SOURCE_ results and IMAGE_REF name the source image",
		results: []namedValue{
			{"BUILD_RESULT", `{"status": "success"}`},
			{"SOURCE_IMAGE_URL", tiShop + ":abc123.src"}, {"SOURCE_IMAGE_DIGEST", tektonDigestB},
			{"IMAGE_REF", tiShop + ":abc123.src@" + tektonDigestB},
		},
		params:    []namedValue{{"BINARY_IMAGE", tiShop + ":abc123"}, {"BINARY_IMAGE_DIGEST", tiIndex}},
		wantNotes: []string{"SOURCE_IMAGE_URL and SOURCE_IMAGE_DIGEST name the source image", "result IMAGE_REF " + `"` + tiShop + ":abc123.src@"},
	},
	{
		name: "Konflux s2i-java 0.1: IMAGE_URL and IMAGE_DIGEST",
		results: []namedValue{
			{"IMAGE_DIGEST", tiAMD64}, {"IMAGE_URL", tiShop + ":abc123"},
			{"BASE_IMAGES_DIGESTS", "registry.access.redhat.com/ubi9/openjdk-21:1.20@" + tiBuilder + "\n"},
			{"SBOM_JAVA_COMPONENTS_COUNT", "12"},
		},
		params: []namedValue{{"BASE_IMAGE", "registry.access.redhat.com/ubi9/openjdk-21:1.20"}, {"IMAGE", tiShop + ":abc123"}},
		want:   []imageRef{{Image: tiShop + "@" + tiAMD64, Tag: tiShop + ":abc123", Digest: tiAMD64}},
	},

	// Shipwright.
	{
		name: "Shipwright TaskRun: shp-image-digest in the repository of param shp-output-image",
		results: []namedValue{
			{"shp-source-default-commit-sha", "9f1c2b3a"}, {"shp-image-digest", tektonDigestA}, {"shp-image-size", "12345678"},
		},
		params: []namedValue{{"shp-output-image", "registry.example.com/team/shp-app:latest"}, {"shp-source-root", "/workspace/source"}},
		want:   []imageRef{{Image: "registry.example.com/team/shp-app@" + tektonDigestA, Tag: "registry.example.com/team/shp-app:latest", Digest: tektonDigestA}},
	},
	{
		name:      "Shipwright TaskRun without shp-output-image",
		results:   []namedValue{{"shp-image-digest", tektonDigestA}},
		wantNotes: []string{"names no repository: the run has no param shp-output-image"},
	},

	// Chains structured results (objects, read as JSON by resultString).
	{
		name:    "ARTIFACT_OUTPUTS with uri and digest",
		results: []namedValue{{"image-ARTIFACT_OUTPUTS", `{"digest":"` + tektonDigestA + `","uri":"quay.io/team/chains-app:v1"}`}},
		want:    []imageRef{{Image: "quay.io/team/chains-app@" + tektonDigestA, Tag: "quay.io/team/chains-app:v1", Digest: tektonDigestA}},
	},
	{
		name:    "ARTIFACT_OUTPUTS with uri and sha256",
		results: []namedValue{{"ARTIFACT_OUTPUTS", `{"sha256":"` + strings.TrimPrefix(tektonDigestB, "sha256:") + `","uri":"quay.io/team/chains-app"}`}},
		want:    []imageRef{{Image: "quay.io/team/chains-app@" + tektonDigestB, Digest: tektonDigestB}},
	},
	{
		name: "ARTIFACT_OUTPUTS that are no images",
		results: []namedValue{
			{"a-ARTIFACT_OUTPUTS", `{"digest":"` + tektonDigestA + `","uri":"hello_world"}`},
			{"b-ARTIFACT_OUTPUTS", `{"digest":"` + tektonDigestA + `","isBuildArtifact":"false","uri":"quay.io/team/cache"}`},
			{"c-ARTIFACT_OUTPUTS", "quay.io/team/app"},
			{"d-ARTIFACT_OUTPUTS", `{"digest":"` + tektonDigestA + `"}`},
			{"image-ARTIFACT_INPUTS", `{"digest":"` + tektonDigestA + `","uri":"quay.io/team/input"}`},
		},
		wantNotes: []string{
			`uri "hello_world" names no registry host`, "isBuildArtifact false", "is not an object with uri and digest", "has no uri",
		},
	},
}

func TestTektonImageResults(t *testing.T) {
	for _, tt := range tektonImageResultTests {
		t.Run(tt.name, func(t *testing.T) {
			got, notes := parseImageResults(tt.results, tt.params)
			if !slices.Equal(got, tt.want) {
				t.Errorf("images\n got %+v\nwant %+v", got, tt.want)
			}
			checkTektonNotes(t, notes, tt.wantNotes)
		})
	}
}

// TestTektonResultString: object results reach parseImageResults as JSON.
func TestTektonResultString(t *testing.T) {
	tests := []struct {
		name   string
		value  paramValue
		want   string
		wantOK bool
	}{
		{"string", paramValue{Type: paramTypeString, StringVal: "quay.io/a/b\n"}, "quay.io/a/b\n", true},
		{"untyped", paramValue{StringVal: "x"}, "x", true},
		{"array", paramValue{Type: paramTypeArray, ArrayVal: []string{"a@" + tektonDigestA, "b@" + tektonDigestB}}, "a@" + tektonDigestA + "\nb@" + tektonDigestB, true},
		{"object", paramValue{Type: paramTypeObject, ObjectVal: map[string]string{"uri": "quay.io/a/b", "digest": tektonDigestA}}, `{"digest":"` + tektonDigestA + `","uri":"quay.io/a/b"}`, true},
		{"unknown type", paramValue{Type: "map"}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, ok := resultString(tt.value); got != tt.want || ok != tt.wantOK {
				t.Errorf("resultString = %q, %v; want %q, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestTektonOutputImage(t *testing.T) {
	manifests := tiShop + "@" + tiAMD64 + "," + tiShop + "@" + tiARM64
	index := imageRef{Image: tiShop + "@" + tiIndex, Tag: tiShop + ":abc123", Digest: tiIndex}
	buildContainer := runValues{from: "taskrun build-container", results: []namedValue{{"IMAGE_URL", tiShop + ":abc123-linux-x86-64"}, {"IMAGE_DIGEST", tiAMD64}}}
	buildIndex := runValues{from: "taskrun build-image-index", results: []namedValue{{"IMAGE_URL", tiShop + ":abc123"}, {"IMAGE_DIGEST", tiIndex}, {"IMAGES", manifests}}}
	tests := []struct {
		name      string
		sources   []runValues
		want      imageRef
		wantNotes []string
	}{
		{
			name: "the run's own result first",
			sources: []runValues{
				{from: "pipelinerun p", results: []namedValue{{"IMAGE_URL", "quay.io/a/pipeline"}, {"IMAGE_DIGEST", tektonDigestA}}},
				{from: "taskrun t", results: []namedValue{{"IMAGE_URL", "quay.io/a/task"}, {"IMAGE_DIGEST", tektonDigestB}}},
			},
			want: imageRef{Image: "quay.io/a/pipeline@" + tektonDigestA, Digest: tektonDigestA},
		},
		{
			name: "a child's digest beats a tag-only result before it",
			sources: []runValues{
				{from: "pipelinerun p", results: []namedValue{{"IMAGE_URL", "quay.io/a/pipeline:v1"}}},
				{from: "taskrun t", results: []namedValue{{"IMAGE_URL", "quay.io/a/task:v1"}, {"IMAGE_DIGEST", tektonDigestB}}},
			},
			want: imageRef{Image: "quay.io/a/task@" + tektonDigestB, Tag: "quay.io/a/task:v1", Digest: tektonDigestB},
		},
		{
			name: "tag only",
			sources: []runValues{
				{from: "taskrun a"},
				{from: "taskrun t", results: []namedValue{{"IMAGE_URL", "quay.io/a/task:v1"}}},
			},
			want: imageRef{Image: "quay.io/a/task:v1", Tag: "quay.io/a/task:v1"},
		},
		{name: "none", sources: []runValues{{from: "taskrun a"}}},
		{
			name: "only in a child TaskRun, digest-only with its IMAGE param (OpenShift Pipelines s2i)",
			sources: []runValues{
				{from: "pipelinerun p", params: []namedValue{{"IMAGE", "quay.io/team/not-this"}}},
				{from: "taskrun fetch", results: []namedValue{{"commit", "9f1c2b3a"}}},
				{from: "taskrun build", results: []namedValue{{"IMAGE_DIGEST", tiS2I}}, params: []namedValue{{"IMAGE", "quay.io/team/ruby-web"}}},
			},
			want: imageRef{Image: "quay.io/team/ruby-web@" + tiS2I, Digest: tiS2I},
		},
		{
			name: "Konflux: the pipeline's digest is the index build-image-index reports",
			sources: []runValues{
				{from: "pipelinerun p", results: []namedValue{{"IMAGE_URL", tiShop + ":abc123"}, {"IMAGE_DIGEST", tiIndex}}},
				buildContainer, buildIndex,
			},
			want:      index,
			wantNotes: []string{"taskrun build-image-index: digest " + tiIndex + " is an image index: the run lists 2 platform manifests in result IMAGES"},
		},
		{
			name:    "Konflux without pipeline results: a platform's manifest gives way to its index",
			sources: []runValues{{from: "pipelinerun p"}, buildContainer, buildIndex},
			want:    index,
			wantNotes: []string{
				"taskrun build-container reports " + tiShop + "@" + tiAMD64 + ", one of the manifests taskrun build-image-index lists in result IMAGES; its image index " + tiShop + "@" + tiIndex + " is sent instead",
				"is an image index",
			},
		},
		{
			name: "a single-platform index is an index too",
			sources: []runValues{{from: "taskrun build-image-index", results: []namedValue{
				{"IMAGE_URL", tiShop + ":abc123"}, {"IMAGE_DIGEST", tiIndex}, {"IMAGES", tiShop + "@" + tiAMD64 + "\n"},
			}}},
			want:      index,
			wantNotes: []string{"lists 1 platform manifests"},
		},
		{
			name: "IMAGES listing the image itself is no index",
			sources: []runValues{{from: "taskrun t", results: []namedValue{
				{"IMAGE_URL", tiShop + ":abc123"}, {"IMAGE_DIGEST", tiAMD64}, {"IMAGES", manifests},
			}}},
			want: imageRef{Image: tiShop + "@" + tiAMD64, Tag: tiShop + ":abc123", Digest: tiAMD64},
		},
		{
			name: "Konflux source-build after the build: its source image is never the output",
			sources: []runValues{
				{from: "pipelinerun p"},
				{from: "taskrun build-source-image", results: []namedValue{
					{"SOURCE_IMAGE_URL", tiShop + ":abc123.src"}, {"SOURCE_IMAGE_DIGEST", tektonDigestB}, {"IMAGE_REF", tiShop + ":abc123.src@" + tektonDigestB},
				}},
				buildContainer,
			},
			want:      imageRef{Image: tiShop + "@" + tiAMD64, Tag: tiShop + ":abc123-linux-x86-64", Digest: tiAMD64},
			wantNotes: []string{"taskrun build-source-image: results SOURCE_IMAGE_URL", "taskrun build-source-image: result IMAGE_REF"},
		},
		{
			name: "notes of runs after the pick are left out",
			sources: []runValues{
				buildContainer,
				{from: "taskrun later", results: []namedValue{{"IMAGE_URL", "Bad Ref"}}},
			},
			want: imageRef{Image: tiShop + "@" + tiAMD64, Tag: tiShop + ":abc123-linux-x86-64", Digest: tiAMD64},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, notes := outputImage(tt.sources)
			if got != tt.want {
				t.Errorf("outputImage = %+v, want %+v", got, tt.want)
			}
			checkTektonNotes(t, notes, tt.wantNotes)
		})
	}
}

// tektonBaseImagesDigestsTests are the table of baseImagesDigests, and the fuzz seeds.
var tektonBaseImagesDigestsTests = []struct {
	name, value, want string
	wantNotes         []string
}{
	{name: "empty", value: ""},
	{
		name:  "one line, newline-ended",
		value: "registry.access.redhat.com/ubi9/ubi-minimal:9.4@" + tiBase + "\n",
		want:  "registry.access.redhat.com/ubi9/ubi-minimal@" + tiBase,
	},
	{
		name: "builder stage first, the final stage's base last",
		value: "registry.access.redhat.com/ubi9/go-toolset:1.22@" + tiBuilder + "\n" +
			"registry.access.redhat.com/ubi9/ubi-minimal:9.4@" + tiBase + "\n",
		want: "registry.access.redhat.com/ubi9/ubi-minimal@" + tiBase,
	},
	{
		name:      "<none> inside the name",
		value:     ":<none>:/0@" + tiBase + "\n",
		wantNotes: []string{`line 1 ":<none>:/0@` + tiBase + `" is not name:tag@digest: a <...> inside the name`},
	},
	{
		name: "tags <none> of images pulled by digest",
		value: "quay.io/example-tenant/tools/cli-a:<none>@" + tiBuilder + "\n" +
			"quay.io/example-tenant/tools/cli-b:<none>@" + tektonDigestA + "\n" +
			"quay.io/example-tenant/base/runtime:<none>@" + tiBase + "\n",
		want: "quay.io/example-tenant/base/runtime@" + tiBase,
	},
	{
		name:  "registry with port, CRLF line ends",
		value: "localhost:5000/base/ubi:9@" + tiBuilder + "\r\nlocalhost:5000/base/ubi:<none>@" + tiBase + "\r\n",
		want:  "localhost:5000/base/ubi@" + tiBase,
	},
	{
		name: "malformed lines are skipped with notes",
		value: "registry.access.redhat.com/ubi9/ubi:9.4@" + tiBase + "\n" +
			"registry.access.redhat.com/ubi9/ubi-micro:9.4\n" +
			"<none>:<none>@" + tiBuilder + "\n" +
			"Quay.io/Bad Name:1@" + tiBuilder + "\n" +
			"quay.io/a/b:1@sha256:short\n",
		want: "registry.access.redhat.com/ubi9/ubi@" + tiBase,
		wantNotes: []string{
			`line 2 "registry.access.redhat.com/ubi9/ubi-micro:9.4" has no digest`,
			`line 3 "<none>:<none>@` + tiBuilder + `" is not name:tag@digest`,
			`line 4 "Quay.io/Bad Name:1@`,
			`line 5 "quay.io/a/b:1@sha256:short" is not name:tag@digest`,
		},
	},
	{
		name:      "nothing valid",
		value:     "scratch\n",
		wantNotes: []string{`line 1 "scratch" has no digest`},
	},
}

func TestTektonBaseImagesDigests(t *testing.T) {
	for _, tt := range tektonBaseImagesDigestsTests {
		t.Run(tt.name, func(t *testing.T) {
			got, notes := baseImagesDigests(tt.value)
			if got != tt.want {
				t.Errorf("baseImagesDigests = %q, want %q", got, tt.want)
			}
			checkTektonNotes(t, notes, tt.wantNotes)
		})
	}
}

// TestQuote: a quoted outside value is cut by its escaped length, never inside a character
// or an escape, so a value of unprintable bytes cannot make a note longer than maxNote.
func TestQuote(t *testing.T) {
	tests := []struct {
		name, value, want string
	}{
		{name: "short", value: "quay.io/x:1", want: `"quay.io/x:1"`},
		{name: "escaped", value: "a\tb\n", want: `"a\tb\n"`},
		{name: "long", value: strings.Repeat("a", maxQuoted+1), want: `"` + strings.Repeat("a", maxQuoted) + `"…`},
		{name: "invalid bytes", value: strings.Repeat("\xb4", 100), want: `"` + strings.Repeat(`\xb4`, maxQuoted/4) + `"…`},
		{name: "multibyte at the cut", value: strings.Repeat("a", maxQuoted-1) + "é", want: `"` + strings.Repeat("a", maxQuoted-1) + `"…`},
		{name: "escape at the cut", value: strings.Repeat("a", maxQuoted-1) + "\n", want: `"` + strings.Repeat("a", maxQuoted-1) + `"…`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := quote(tt.value)
			if got != tt.want {
				t.Errorf("quote(%q) = %s, want %s", tt.value, got, tt.want)
			}
			if len(got) > maxQuoted+len(`""…`) {
				t.Errorf("quote(%q) is %d bytes, more than maxQuoted (%d) and its quotes", tt.value, len(got), maxQuoted)
			}
		})
	}
}

// FuzzBaseImagesDigests: the BASE_IMAGES_DIGESTS reader must not panic, and a base it
// returns is repo@digest, a digest of one of the value's lines, without a <none> tag.
func FuzzBaseImagesDigests(f *testing.F) {
	for _, tt := range tektonBaseImagesDigestsTests {
		f.Add(tt.value)
	}
	f.Fuzz(func(t *testing.T, value string) {
		base, notes := baseImagesDigests(value)
		if base != "" {
			d, err := name.NewDigest(base)
			if err != nil {
				t.Fatalf("base %q is not repo@digest: %v", base, err)
			}
			if strings.Contains(base, noneTag) || !strings.Contains(value, "@"+d.DigestStr()) {
				t.Errorf("base %q: a <none> tag, or a digest not in %q", base, value)
			}
		}
		for _, n := range notes {
			if len(n) > maxNote+len("…") {
				t.Errorf("note of %d bytes", len(n))
			}
		}
	})
}

// s2iRubySpec is an OpenShift Pipelines s2i-ruby Task: the builder image only in a step's env.
func s2iRubySpec(builder string) *taskSpec {
	return &taskSpec{
		StepTemplate: &container{Env: []envVar{{Name: "PARAMS_IMAGE", Value: "$(params.IMAGE)"}}},
		Steps: []container{
			{Name: "s2i-generate", Image: "quay.io/openshift-pipelines-example/s2i:v1.4", Command: []string{"/scripts/s2i-generate.sh"},
				Env: []envVar{{Name: "HOME", Value: "/tekton/home"}, {Name: s2iBuilderImageEnv, Value: builder}}},
			{Name: "s2i-build", Image: "quay.io/openshift-pipelines-example/buildah:v1.37", Command: []string{"/scripts/s2i-build.sh"}},
		},
	}
}

// scriptSpec is a Task whose generate step runs script, with env.
func scriptSpec(script string, env ...envVar) *taskSpec {
	return &taskSpec{Steps: []container{
		{Name: "generate", Image: "registry.example.com/tools/s2i:1.4", Script: script, Env: env},
		{Name: "build", Image: "quay.io/buildah/stable:v1", Script: "buildah bud -t \"$IMAGE\" ."},
	}}
}

func TestTektonBaseImage(t *testing.T) {
	const (
		ubiMinimal = "registry.access.redhat.com/ubi9/ubi-minimal"
		rubyS2I    = "image-registry.openshift-image-registry.svc:5000/openshift/ruby"
	)
	digests := "registry.access.redhat.com/ubi9/go-toolset:1.22@" + tiBuilder + "\n" + ubiMinimal + ":9.4@" + tiBase + "\n"
	tests := []struct {
		name      string
		names     []string // nil: DefaultBaseImageFrom
		sources   []runValues
		want      string
		wantNotes []string
	}{
		{
			name: "results before params, names in order",
			sources: []runValues{
				{from: "pipelinerun p", params: []namedValue{{"BASE_IMAGE", "quay.io/base/param"}}},
				{from: "taskrun t", results: []namedValue{{"BUILDER_IMAGE", "quay.io/base/builder-result"}, {"BASE_IMAGE", "quay.io/base/result"}}},
			},
			want: "quay.io/base/result",
		},
		{
			name: "the run's params before its children's",
			sources: []runValues{
				{from: "pipelinerun p", params: []namedValue{{"FROM", "quay.io/base/run"}}},
				{from: "taskrun t", params: []namedValue{{"BASE_IMAGE", "quay.io/base/child"}}},
			},
			want: "quay.io/base/run",
		},
		{
			name: "catalog buildah: BUILDER_IMAGE is the image of a step, a tool",
			sources: []runValues{
				{from: "taskrun t", params: []namedValue{{"BUILDER_IMAGE", "quay.io/buildah/stable:v1"}}, toolImages: []string{"quay.io/buildah/stable:v1"}},
			},
			wantNotes: []string{`taskrun t: param BUILDER_IMAGE "quay.io/buildah/stable:v1" is the image of a step`},
		},
		{
			name: "malformed and empty values are passed over",
			sources: []runValues{
				{from: "taskrun t", params: []namedValue{{"BASE_IMAGE", "$(params.base)"}, {"BUILDER_IMAGE", " "}, {"FROM", "ubi9/ubi:9.5"}}},
			},
			want:      "ubi9/ubi:9.5",
			wantNotes: []string{`param BASE_IMAGE "$(params.base)" is not an image reference`},
		},
		{name: "none", sources: []runValues{{from: "taskrun t", params: []namedValue{{"IMAGE", "quay.io/a/b"}}}}},
		{
			name: "Konflux buildah 0.1: the last line of BASE_IMAGES_DIGESTS, BUILDER_IMAGE is buildah",
			sources: []runValues{
				{from: "pipelinerun p", params: []namedValue{{"output-image", tiShop + ":abc123"}}},
				{from: "taskrun build-container", results: []namedValue{{"BASE_IMAGES_DIGESTS", digests}, {"IMAGE_DIGEST", tiAMD64}},
					params: []namedValue{{"BUILDER_IMAGE", "quay.io/konflux-ci/buildah:latest"}}, toolImages: []string{"quay.io/konflux-ci/buildah:latest"}},
			},
			want: ubiMinimal + "@" + tiBase,
		},
		{
			name: "Konflux: build-container's BASE_IMAGES_DIGESTS before inspect-image's BASE_IMAGE (pipeline order)",
			sources: []runValues{
				{from: "pipelinerun p"},
				{from: "taskrun build-container", results: []namedValue{{"BASE_IMAGES_DIGESTS", ubiMinimal + ":9.4@" + tiBase + "\n"}}},
				{from: "taskrun inspect-image", results: []namedValue{{"BASE_IMAGE", ubiMinimal + "@" + tektonDigestA}, {"BASE_IMAGE_REPOSITORY", "ubi9/ubi-minimal"}}},
			},
			want: ubiMinimal + "@" + tiBase,
		},
		{
			name: "Konflux inspect-image alone: its BASE_IMAGE result",
			sources: []runValues{
				{from: "taskrun inspect-image", results: []namedValue{{"BASE_IMAGE", ubiMinimal + "@" + tektonDigestA + "\n"}},
					params: []namedValue{{"IMAGE_URL", tiShop + ":abc123"}, {"IMAGE_DIGEST", tiAMD64}}},
			},
			want: ubiMinimal + "@" + tektonDigestA,
		},
		{
			name: "BASE_IMAGES_DIGESTS with malformed lines: notes, the last good line",
			sources: []runValues{
				{from: "taskrun b", results: []namedValue{{"BASE_IMAGES_DIGESTS", digests + "<none>:<none>@" + tiBuilder + "\n"}}},
			},
			want:      ubiMinimal + "@" + tiBase,
			wantNotes: []string{"taskrun b: result BASE_IMAGES_DIGESTS line 3 "},
		},
		{
			name: "Konflux s2i 0.1: BASE_IMAGES_DIGESTS before the BASE_IMAGE param",
			sources: []runValues{
				{from: "taskrun s2i-java", results: []namedValue{{"BASE_IMAGES_DIGESTS", "registry.access.redhat.com/ubi9/openjdk-21:1.20@" + tiBuilder + "\n"}},
					params:     []namedValue{{"BASE_IMAGE", "registry.access.redhat.com/ubi9/openjdk-21:1.20"}, {"BUILDER_IMAGE", "quay.io/konflux-ci/buildah:latest"}},
					toolImages: []string{"quay.io/konflux-ci/buildah:latest"}},
			},
			want: "registry.access.redhat.com/ubi9/openjdk-21@" + tiBuilder,
		},
		{
			name: "Konflux s2i 0.1 without the result: its BASE_IMAGE param, not the buildah BUILDER_IMAGE",
			sources: []runValues{
				{from: "taskrun s2i-java", params: []namedValue{{"BUILDER_IMAGE", "quay.io/konflux-ci/buildah:latest"}, {"BASE_IMAGE", "registry.access.redhat.com/ubi9/openjdk-21:1.20"}},
					toolImages: []string{"quay.io/konflux-ci/buildah:latest"}},
			},
			want: "registry.access.redhat.com/ubi9/openjdk-21:1.20",
		},
		{
			name: "catalog s2i: BUILDER_IMAGE, run by no step, is the base",
			sources: []runValues{
				{from: "taskrun s2i", results: []namedValue{{"IMAGE_DIGEST", tiS2I}},
					params:     []namedValue{{"BUILDER_IMAGE", "registry.access.redhat.com/ubi9/python-311:1-66"}, {"IMAGE", "quay.io/team/py"}},
					toolImages: []string{"quay.io/openshift-pipeline/s2i:nightly", "quay.io/buildah/stable:v1.17.0"}},
			},
			want: "registry.access.redhat.com/ubi9/python-311:1-66",
		},
		{
			name: "buildpacks: RUN_IMAGE, the builder being the step image",
			sources: []runValues{
				{from: "taskrun buildpacks", params: []namedValue{{"BUILDER_IMAGE", "docker.io/paketobuildpacks/builder:base"}, {"RUN_IMAGE", "docker.io/paketobuildpacks/run:base-cnb"}},
					toolImages: []string{"docker.io/paketobuildpacks/builder:base"}},
			},
			want:      "docker.io/paketobuildpacks/run:base-cnb",
			wantNotes: []string{"param BUILDER_IMAGE"},
		},
		{
			name: "buildpacks-phases: CNB_RUN_IMAGE",
			sources: []runValues{
				{from: "taskrun buildpacks-phases", params: []namedValue{{"CNB_BUILDER_IMAGE", "docker.io/cnbs/sample-builder:bionic"}, {"CNB_RUN_IMAGE", "docker.io/cnbs/sample-stack-run:bionic"}}},
			},
			want: "docker.io/cnbs/sample-stack-run:bionic",
		},
		{
			name:    "ko: KO_DEFAULTBASEIMAGE",
			sources: []runValues{{from: "taskrun ko", params: []namedValue{{"ko-image", "gcr.io/tekton-releases/ko-ci"}, {"KO_DEFAULTBASEIMAGE", "cgr.dev/chainguard/static:latest"}}}},
			want:    "cgr.dev/chainguard/static:latest",
		},
		{
			name:    "ko with its empty default: none",
			sources: []runValues{{from: "taskrun ko", params: []namedValue{{"KO_DEFAULTBASEIMAGE", ""}}}},
		},
		{
			name: "Shipwright source-to-image: builder-image",
			sources: []runValues{{from: "taskrun shp", params: []namedValue{
				{"shp-output-image", "registry.example.com/team/app"}, {"builder-image", "docker.io/centos/nodejs-10-centos7"},
			}}},
			want: "docker.io/centos/nodejs-10-centos7",
		},
		{
			name:    "Shipwright multiarch-native-buildah: from",
			sources: []runValues{{from: "taskrun shp", params: []namedValue{{"from", "registry.access.redhat.com/ubi9/ubi:9.5"}, {"runtime-stage-from", "x"}}}},
			want:    "registry.access.redhat.com/ubi9/ubi:9.5",
		},
		{
			name: "OpenShift Pipelines s2i: env S2I_BUILDER_IMAGE of a step, params substituted",
			sources: []runValues{
				{from: "taskrun s2i-ruby", results: []namedValue{{"IMAGE_DIGEST", tiS2I}},
					params:   []namedValue{{"IMAGE", "quay.io/team/ruby-web"}, {"VERSION", "3.3-ubi9"}},
					taskSpec: s2iRubySpec(rubyS2I + ":$(params.VERSION)")},
			},
			want:      rubyS2I + ":3.3-ubi9",
			wantNotes: []string{"taskrun s2i-ruby: base image " + rubyS2I + ":3.3-ubi9 read from env S2I_BUILDER_IMAGE of step s2i-generate"},
		},
		{
			name: "a step's env only when no result or param names a base",
			sources: []runValues{
				{from: "taskrun s2i-ruby", params: []namedValue{{"FROM", "quay.io/base/asked:1"}}, taskSpec: s2iRubySpec(rubyS2I + ":3.3-ubi9")},
			},
			want: "quay.io/base/asked:1",
		},
		{
			name:    "no names: no step evidence either",
			names:   []string{},
			sources: []runValues{{from: "taskrun s2i-ruby", taskSpec: s2iRubySpec(rubyS2I + ":3.3-ubi9")}},
		},
		{
			name:      "env referring to a param that is not set",
			sources:   []runValues{{from: "taskrun s2i-ruby", taskSpec: s2iRubySpec(rubyS2I + ":$(params.VERSION)")}},
			wantNotes: []string{"env S2I_BUILDER_IMAGE of step s2i-generate " + `"` + rubyS2I + `:$(params.VERSION)" refers to a param the run does not set`},
		},
		{
			name: "older s2i ClusterTask: the image of s2i build in a step's script",
			sources: []runValues{{from: "taskrun s2i-nodejs", taskSpec: scriptSpec(
				"echo \"Processing Build Environment Variables\"\necho \"\" > /env-vars/env-file\n" +
					"s2i build . image-registry.openshift-image-registry.svc:5000/openshift/nodejs:18-ubi8 \\\n" +
					"--as-dockerfile /gen-source/Dockerfile.gen --environment-file /env-vars/env-file\n")}},
			want:      "image-registry.openshift-image-registry.svc:5000/openshift/nodejs:18-ubi8",
			wantNotes: []string{"taskrun s2i-nodejs: base image image-registry.openshift-image-registry.svc:5000/openshift/nodejs:18-ubi8 read from the s2i build command of step generate"},
		},
		{
			name: "s2i build in a step's command, params substituted",
			sources: []runValues{{from: "taskrun s2i-python", params: []namedValue{{"PATH_CONTEXT", "."}, {"VERSION", "3.11"}},
				taskSpec: &taskSpec{Steps: []container{{Name: "generate", Image: "quay.io/openshift-pipeline/s2i:latest",
					Command: []string{"/usr/local/bin/s2i", "--loglevel=0", "build", "$(params.PATH_CONTEXT)", "registry.access.redhat.com/ubi9/python-$(params.VERSION):latest"},
					Args:    []string{"--as-dockerfile", "/gen-source/Dockerfile.gen"}}}}}},
			want:      "registry.access.redhat.com/ubi9/python-3.11:latest",
			wantNotes: []string{"read from the s2i build command of step generate"},
		},
		{
			name: "s2i build naming its image by an env var of the step",
			sources: []runValues{{from: "taskrun s2i", params: []namedValue{{"TAG", "2.1"}},
				taskSpec: scriptSpec(`s2i build "${CONTEXT}" "${BUILDER}" --as-dockerfile /gen/Dockerfile`,
					envVar{Name: "BUILDER", Value: "quay.io/team/builder:$(params.TAG)"})}},
			want:      "quay.io/team/builder:2.1",
			wantNotes: []string{"taskrun s2i: base image quay.io/team/builder:2.1 read from the s2i build command of step generate"},
		},
		{
			name:      "s2i build naming its image by a variable that is no env var",
			sources:   []runValues{{from: "taskrun s2i", taskSpec: scriptSpec(`BUILDER=quay.io/a/b:1; s2i build . $BUILDER`)}},
			wantNotes: []string{`names its image by "$BUILDER", which is no env var of the step`},
		},
		{
			name:      "s2i build with a flag before its image",
			sources:   []runValues{{from: "taskrun s2i", taskSpec: scriptSpec("s2i build --copy . quay.io/a/builder:1")}},
			wantNotes: []string{`flag "--copy" comes before its image argument`},
		},
		{
			name:    "scripts without s2i build",
			sources: []runValues{{from: "taskrun t", taskSpec: scriptSpec("# s2i build . quay.io/a/commented:1\necho s2i version; s2i usage build")}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			names := tt.names
			if names == nil {
				names = DefaultBaseImageFrom()
			}
			got, notes := baseImage(tt.sources, names)
			if got != tt.want {
				t.Errorf("baseImage = %q, want %q", got, tt.want)
			}
			checkTektonNotes(t, notes, tt.wantNotes)
		})
	}
}

func TestTektonToolImages(t *testing.T) {
	spec := &pipelinev1.TaskSpec{
		Steps: []pipelinev1.Step{
			{Name: "build", Image: "$(params.BUILDER_IMAGE)"},
			{Name: "push", Image: `$(params["PUSH_IMAGE"])`},
			{Name: "report", Image: "registry.access.redhat.com/ubi9/ubi-minimal:9.5"},
			{Name: "unset", Image: "$(params.NOT_SET)"},
		},
		Sidecars: []pipelinev1.Sidecar{{Name: "registry", Image: "docker.io/library/registry:2"}},
	}
	params := []namedValue{{"BUILDER_IMAGE", "quay.io/buildah/stable:v1"}, {"PUSH_IMAGE", "quay.io/skopeo/stable:v1"}}
	want := []string{"quay.io/buildah/stable:v1", "quay.io/skopeo/stable:v1", "registry.access.redhat.com/ubi9/ubi-minimal:9.5", "docker.io/library/registry:2"}
	if got := toolImages(asMirror[taskSpec](t, spec), params); !slices.Equal(got, want) {
		t.Errorf("toolImages = %q, want %q", got, want)
	}
}

// checkImages fails on an image parseImageResults should not return: empty, a digest that
// is not its own, a reference the name package refuses.
func checkImages(t *testing.T, got []imageRef, notes []string) {
	t.Helper()
	for _, img := range got {
		if img.Image == "" {
			t.Fatalf("empty image in %+v", got)
		}
		if img.Digest != "" {
			if !strings.HasSuffix(img.Image, "@"+img.Digest) {
				t.Errorf("image %q does not end in its digest %q", img.Image, img.Digest)
			}
			if _, err := name.NewDigest(img.Image); err != nil {
				t.Errorf("image %q is not repo@digest: %v", img.Image, err)
			}
		} else if _, err := name.ParseReference(img.Image); err != nil {
			t.Errorf("image %q is not a reference: %v", img.Image, err)
		}
		if img.Tag != "" {
			if _, err := name.NewTag(img.Tag); err != nil || strings.Contains(img.Tag, "@") {
				t.Errorf("tag %q is not a tag reference: %v", img.Tag, err)
			}
		}
	}
	for _, n := range notes {
		if len(n) > maxNote+len("…") {
			t.Errorf("note of %d bytes", len(n))
		}
	}
}

// valueOf is the value of the first of name in values, "" without one.
func valueOf(values []namedValue, name string) string {
	for _, v := range values {
		if v.Name == name {
			return v.Value
		}
	}
	return ""
}

// FuzzTektonImageResults feeds the values of every result and param name parseImageResults
// knows to it: it must not panic, and whatever it returns must be well formed.
func FuzzTektonImageResults(f *testing.F) {
	for _, tt := range tektonImageResultTests {
		f.Add(valueOf(tt.results, "IMAGE_URL"), valueOf(tt.results, "IMAGE_DIGEST"), valueOf(tt.results, "APP_IMAGE_URL"),
			valueOf(tt.results, "IMAGES"), valueOf(tt.results, "IMAGE_REF"), valueOf(tt.params, "IMAGE"),
			valueOf(tt.results, "image-ARTIFACT_OUTPUTS"))
	}
	f.Fuzz(func(t *testing.T, url, digest, appURL, images, imageRef, image, artifact string) {
		results := []namedValue{
			{"IMAGE_URL", url}, {"IMAGE_DIGEST", digest}, {"APP_IMAGE_URL", appURL}, {"APP_IMAGE_DIGEST", digest},
			{"IMAGES", images}, {"IMAGE_REF", imageRef}, {"IMAGE-DIGEST", digest}, {"shp-image-digest", digest},
			{"image-ARTIFACT_OUTPUTS", artifact},
		}
		params := []namedValue{{"IMAGE", image}, {"shp-output-image", image}}
		got, notes := parseImageResults(results, params)
		checkImages(t, got, notes)
		// The same without IMAGE_URL: the digest goes with the IMAGE param.
		got, notes = parseImageResults(results[1:], params)
		checkImages(t, got, notes)
	})
}

// FuzzTektonImageResultPairs feeds arbitrary result and param names and values to
// parseImageResults: it must not panic, and whatever it returns must be well formed.
func FuzzTektonImageResultPairs(f *testing.F) {
	for _, tt := range tektonImageResultTests {
		pairs := append(slices.Clone(tt.results), make([]namedValue, 3)...)
		param := append(slices.Clone(tt.params), namedValue{})[0]
		f.Add(pairs[0].Name, pairs[0].Value, pairs[1].Name, pairs[1].Value, pairs[2].Name, pairs[2].Value, param.Name, param.Value)
	}
	f.Fuzz(func(t *testing.T, n1, v1, n2, v2, n3, v3, pn, pv string) {
		got, notes := parseImageResults([]namedValue{{n1, v1}, {n2, v2}, {n3, v3}}, []namedValue{{pn, pv}})
		checkImages(t, got, notes)
	})
}

// FuzzTektonStepBaseImage feeds step scripts and env values to the step reader: it must not
// panic, and a base image it returns must be an image reference.
func FuzzTektonStepBaseImage(f *testing.F) {
	f.Add("s2i build . quay.io/a/builder:1 --as-dockerfile /x", "", "")
	f.Add("s2i --loglevel=1 build \"$CTX\" \"${B}\" \\\n --rm", "quay.io/a/b:$(params.V)", "3")
	f.Add("s2i build --copy . x", "$(params[\"V\"])", "")
	f.Fuzz(func(t *testing.T, script, env, version string) {
		src := runValues{
			from:   "taskrun fuzz",
			params: []namedValue{{"V", version}},
			taskSpec: &taskSpec{Steps: []container{
				{Name: "a", Script: script, Env: []envVar{{Name: "B", Value: env}}},
				{Name: "b", Env: []envVar{{Name: s2iBuilderImageEnv, Value: env}}, Command: strings.Fields(script)},
			}},
		}
		base, notes := stepBaseImage(src)
		if base != "" {
			if _, err := name.ParseReference(base); err != nil {
				t.Errorf("base %q is not a reference: %v", base, err)
			}
		}
		for _, n := range notes {
			if len(n) > maxNote+len("…") {
				t.Errorf("note of %d bytes", len(n))
			}
		}
	})
}

// TestTektonImageConventions collects two runs of testdata/tekton/konflux-s2i from the test
// apiserver: a Konflux-style multi-platform PipelineRun (index digest on the pipeline, the
// base in build-container's BASE_IMAGES_DIGESTS) and an OpenShift Pipelines s2i-ruby TaskRun
// (IMAGE_DIGEST only with the IMAGE param, the base only in a step's env).
func TestTektonImageConventions(t *testing.T) {
	e := newTestEnv(t)
	f := loadTektonFixture(t, e, "konflux-s2i", tektonFixtureOptions{})
	tests := []struct {
		name      string
		kind      Kind
		run       string
		want      Record
		wantNotes []string
		wantLog   []string // substrings
	}{
		{
			name: "Konflux PipelineRun", kind: KindPipelineRun, run: "shop-api-on-push-q7w2r",
			want: Record{
				Phase: PhaseSucceeded, OriginalPhase: "Completed", Reason: "Completed",
				Message:        "Tasks Completed: 2 (Failed: 0, Cancelled 0), Skipped: 1",
				Strategy:       "PipelineRun",
				BaseImage:      "registry.access.redhat.com/ubi9/ubi-minimal@" + tiBase,
				OutputImage:    tiShop + "@" + tiIndex,
				OutputImageTag: tiShop + ":on-push-5d1c9e0",
				OutputDigest:   tiIndex,
				StartTime:      tektonTime(t, "2026-04-07T09:12:01Z"),
				CompletionTime: tektonTime(t, "2026-04-07T09:21:44Z"),
			},
			wantNotes: []string{"taskrun shop-api-on-push-q7w2r-build-image-index: digest " + tiIndex + " is an image index: the run lists 2 platform manifests"},
			wantLog:   []string{"[build-container/build]\n", "[build-image-index/build]\n"},
		},
		{
			name: "OpenShift Pipelines s2i TaskRun", kind: KindTaskRun, run: "ruby-web-build-run-m3k9p",
			want: Record{
				Phase: PhaseSucceeded, OriginalPhase: "Succeeded", Reason: "Succeeded",
				Message:        "All Steps have completed executing",
				Strategy:       "TaskRun",
				BaseImage:      "image-registry.openshift-image-registry.svc:5000/openshift/ruby:3.3-ubi9",
				OutputImage:    "image-registry.openshift-image-registry.svc:5000/team-b/ruby-web@" + tiS2I,
				OutputDigest:   tiS2I,
				StartTime:      tektonTime(t, "2026-04-08T14:00:02Z"),
				CompletionTime: tektonTime(t, "2026-04-08T14:03:12Z"),
			},
			wantNotes: []string{"taskrun ruby-web-build-run-m3k9p: base image image-registry.openshift-image-registry.svc:5000/openshift/ruby:3.3-ubi9 read from env S2I_BUILDER_IMAGE of step s2i-generate"},
			wantLog:   []string{"[ruby-web-build-run-m3k9p/s2i-generate]\n", "[ruby-web-build-run-m3k9p/s2i-build]\n"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, log := e.collectTektonLog(t, e.admin, tt.kind, tt.run, Options{})
			kind := map[Kind]string{KindPipelineRun: "PipelineRun", KindTaskRun: "TaskRun"}[tt.kind]
			want := tt.want
			want.Kind, want.Namespace, want.Name, want.UID, want.Log = tt.kind, e.ns, tt.run, string(f.uids[kind+"/"+tt.run]), rec.Log
			checkTektonRecord(t, rec, &want)
			checkTektonNotes(t, rec.Notes, tt.wantNotes)
			for _, w := range tt.wantLog {
				if !strings.Contains(log, w) {
					t.Errorf("log file lacks %q:\n%s", w, log)
				}
			}
			// What -o json carries.
			data, err := json.Marshal(rec)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(data), `"notes":[`) {
				t.Errorf("JSON record has no notes: %s", data)
			}
		})
	}
}
