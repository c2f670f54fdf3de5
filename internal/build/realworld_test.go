package build

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/thoth-station/build-watcher/internal/testenv/modroot"
)

// realWorldCase is what one build published from a real cluster must give when read from
// its file, facts written by reading the objects (../shared/realworld, never copied into
// the repository).
type realWorldCase struct {
	// files are read as one input, in order; ref chooses the build when they hold several.
	files []string
	ref   string
	// defaultRegistry is collect-build's --default-registry.
	defaultRegistry string

	// notFinished: the build is still running; the rest is not checked.
	notFinished bool
	phase       Phase
	base        string
	output      string
	// notes must each be in some note.
	notes []string
	// why says what the build lacks, or where a fact comes from.
	why string
}

const (
	ocpRegistry = "image-registry.openshift-image-registry.svc:5000"
	hrImage     = "quay.io/redhat-user-workloads-stage/test-ns/test-application/human-resources@sha256:1d6da200c8ae98384a35bae37516d07b453dde85a91ff891ce57f3a99d420e6a"
	hrBase      = "registry.access.redhat.com/ubi8/openjdk-17-runtime@sha256:f921cf1f9147e4b306908f3bcb61dd215b4a51970f8db560ede02ee6a492fa99"
	hrInspected = "registry.access.redhat.com/ubi8/openjdk-17-runtime@sha256:14de89e89efc97aee3b50141108b7833708c3a93ad90bf89940025ab5267ba86"
	noRegistry  = "names no registry host"
)

func realWorldCases() []realWorldCase {
	hr := func(task string) string { return "taskrun/test-ns/human-resources-on-push-z79cl-" + task }
	const tk02a = "tekton/tk02a-konflux-ui-human-resources-on-push-z79cl-taskruns-v1-ARRAY.json"
	const ob04 = "openshift-build/ob04-osbs-3.9.41-builds_list.json"
	const ob03 = "openshift-build/ob03-oc-bare-bc-can-push-LIST.yaml"
	return []realWorldCase{
		// OpenShift Builds.
		{files: []string{"openshift-build/ob01-console-fruits-app-1-1-source-binary-complete.yaml"}, phase: PhaseSucceeded,
			base:   ocpRegistry + "/openshift/java@sha256:922ff4e248660350597fc7bd4b896df63169779bb8d21ec00d97a750a1cdfa1f",
			output: ocpRegistry + "/aut-form-edit-build-config/fruits-app-1@sha256:da605b3ac4e0350944ecf39a8d8d8a5472e54a1150c3577d9c390adf9890975d"},
		{files: []string{"openshift-build/ob02-bluewhale-okd-tutorial-2-src-1-source-git-complete.yaml"}, phase: PhaseSucceeded,
			base:   ocpRegistry + "/openshift/nodejs@sha256:a49baf4d9de05b879d319356aa9349f4ad9962fd5859f2e7029e2da1559a8d2d",
			output: ocpRegistry + "/okd-tutorials/okd-tutorial-2-src@sha256:48c85bcc4823432914e234aaac9b1d01c2265e430d46dae933079a66de26609f"},
		{files: []string{ob03}, ref: "build/default/repo-base-7", phase: PhaseFailed, notes: []string{`base image "library/fedora@sha256:1ff6a16a751bff06dc5043c6e7a54c02a41f69c53ab1158fe6e379a3cc67439f" ` + noRegistry},
			why: "2015: the from is a short name, and the failed build pushed nothing"},
		{files: []string{ob03}, ref: "build/default/repo-base-8", notFinished: true},
		{files: []string{"openshift-build/ob03a-oc-repo-base-7-docker-failed.extracted.yaml"}, defaultRegistry: "docker.io", phase: PhaseFailed,
			base: "docker.io/library/fedora@sha256:1ff6a16a751bff06dc5043c6e7a54c02a41f69c53ab1158fe6e379a3cc67439f", why: "the user names the registry"},
		{files: []string{ob04}, ref: "build/osbs-stage/codeready-workspaces-codeready-10-rhel-7-3857d-1", phase: PhaseFailed,
			notes: []string{"USER_PARAMS of the custom strategy could not be read", `base image "redhat-openjdk-18/openjdk18-openshift:1.5-14" ` + noRegistry, `output image "autobot/codeready-workspaces-container:` + "codeready-1.0-rhel-7-containers-candidate-46712-20190724152533\" " + noRegistry}},
		{files: []string{ob04}, ref: "build/osbs-stage/e2e-container-test-prod-release-e2e-test-10-rhe-d9e6f-1874", phase: PhaseFailed,
			base:  "example.com/rh-osbs-stage/osbs-test-rhel-8-base@sha256:5d43361cec592638126507ff81f792b7221411c1e04c197d0c7b2b64336cbbb8",
			notes: []string{"annotation parent_images", "annotation worker-builds: not a JSON object", `output image "autobot-vitals-stage/e2e-container-test-product-container:`}},
		{files: []string{"openshift-build/ob05-osbs-codeready-workspaces-1-custom-failed.extracted.json"}, defaultRegistry: "registry-proxy.engineering.redhat.com", phase: PhaseFailed,
			base:  "registry-proxy.engineering.redhat.com/redhat-openjdk-18/openjdk18-openshift:1.5-14",
			notes: []string{"base_image read from its text"}, why: "the registry OSBS pulls from, named by the user; a failed build pushed nothing"},
		{files: []string{"openshift-build/ob06-osbs-e2e-container-test-1874-custom-failed.extracted.json"}, phase: PhaseFailed,
			base:  "example.com/rh-osbs-stage/osbs-test-rhel-8-base@sha256:5d43361cec592638126507ff81f792b7221411c1e04c197d0c7b2b64336cbbb8",
			notes: []string{"read tolerantly", `output image "autobot-vitals-stage/` + "e2e-container-test-product-container:release-e2e-test-1.0-rhel-8-containers-candidate-46581-20190926133243\" " + noRegistry}},
		{files: []string{"openshift-build/ob07-osbs-3.9.41-build_test-orchestrator-build-123.json"}, phase: PhaseSucceeded,
			notes: []string{`base image "fedora:latest" ` + noRegistry, `output image "mlangsdo/chromium:none-88836-20191011153053" ` + noRegistry}},
		{files: []string{"openshift-build/ob07-osbs-3.9.41-build_test-orchestrator-build-123.json"}, defaultRegistry: "registry.example.com", phase: PhaseSucceeded,
			base: "registry.example.com/fedora:latest", output: "registry.example.com/mlangsdo/chromium:none-88836-20191011153053"},
		{files: []string{"openshift-build/ob08-osbs-3.9.41-build_test-build-cancel-123_get.json"}, notFinished: true},
		{files: []string{"openshift-build/ob09-osbs-1.0.4-build_test-build-123-custom-complete-legacy-v1.json"}, phase: PhaseSucceeded,
			notes: []string{"last FROM \"ded7cd95e059788f2586a51c275a4f151653779d6a7f4dad77c2bd34601d94e4\" skipped: an image ID", "builder, not the base"},
			why:   "2015: the dockerfile starts FROM an image ID, and nothing records the pushed image"},

		// Shipwright.
		{files: []string{"shipwright/sw01-openfunction-samples-builder-qx8w5-buildrun-x6q7b-v1alpha1-failed-LIST.yaml"}, phase: PhaseFailed,
			notes: []string{`base image "openfunction/builder:v1" ` + noRegistry, `output image "lizzzcai/sample-python-func:v0.4.0" ` + noRegistry},
			why:   "v1alpha1: the builder image is the base; both are Docker Hub short names"},
		{files: []string{"shipwright/sw01-openfunction-samples-builder-qx8w5-buildrun-x6q7b-v1alpha1-failed-LIST.yaml"}, defaultRegistry: "docker.io", phase: PhaseFailed,
			base: "docker.io/openfunction/builder:v1", why: "a failed BuildRun pushed nothing: only its tag form is kept"},

		// Tekton.
		{files: []string{"tekton/tk01-konflux-ui-basic-node-js-7c8nd-pipelinerun-v1beta1-embedded-taskruns.json"}, phase: PhaseSucceeded,
			output: "quay.io/redhat-appstudio/user-workload@sha256:f6a352623fcf55f890f5df04852b81acdc3af51aaad79fc4a1ca7d4788d4e117",
			notes:  []string{`param BUILDER_IMAGE "registry.access.redhat.com/ubi8/buildah@sha256:31f84b19a0774be7cfad751be38fc97f5e86cefd26e0abaec8047ddc650b00bf" is the image of a step`},
			why:    "2022 Konflux buildah reports no base: only its log (not saved) has it"},
		{files: []string{"tekton/tk02-konflux-ui-human-resources-on-push-z79cl-pipelinerun-v1-childrefs.json"}, phase: PhaseSucceeded, output: hrImage,
			why: "without its TaskRuns in the file, the base (a TaskRun result) is unknown"},
		{files: []string{"tekton/tk02-konflux-ui-human-resources-on-push-z79cl-pipelinerun-v1-childrefs.json", tk02a}, phase: PhaseSucceeded,
			base: hrBase, output: hrImage, why: "with its TaskRuns: BASE_IMAGES_DIGESTS of build-container"},
		{files: []string{tk02a}, ref: hr("init"), phase: PhaseSucceeded},
		{files: []string{tk02a}, ref: hr("clone-repository"), phase: PhaseSucceeded},
		{files: []string{tk02a}, ref: hr("build-container"), phase: PhaseSucceeded, base: hrBase, output: hrImage},
		{files: []string{tk02a}, ref: hr("inspect-image"), phase: PhaseSucceeded, base: hrInspected, why: "inspect-image's BASE_IMAGE; its IMAGE_URL/IMAGE_DIGEST are params, not results"},
		{files: []string{tk02a}, ref: hr("deprecated-base-image-check"), phase: PhaseSucceeded, base: hrBase},
		{files: []string{tk02a}, ref: hr("sbom-json-check"), phase: PhaseSucceeded},
		{files: []string{tk02a}, ref: hr("label-check"), phase: PhaseSucceeded},
		{files: []string{tk02a}, ref: hr("clair-scan"), phase: PhaseSucceeded},
		{files: []string{tk02a}, ref: hr("clamav-scan"), notFinished: true},
		{files: []string{"tekton/tk02b-konflux-ui-human-resources-on-push-z79cl-build-container-taskrun-v1.json"}, phase: PhaseSucceeded, base: hrBase, output: hrImage},
		{files: []string{"tekton/tk02c-konflux-ui-human-resources-on-push-z79cl-inspect-image-taskrun-v1.json"}, phase: PhaseSucceeded, base: hrInspected},
		{files: []string{"tekton/tk03-konflux-ui-devfile-sample-go-basic-a8bq-llf8v-pipelinerun-v1-childrefs-and-taskruns.json"}, phase: PhaseSucceeded,
			base:   "registry.access.redhat.com/ubi9/go-toolset@sha256:a2bdd33c7fc0cda56eb3745e80820c1ee29efeaac720f7c52a59224a39003261",
			output: "quay.io/redhat-user-workloads/jephilli-tenant/test-application/devfile-sample-go-basic-a8bq@sha256:8f7635ff791cbd71f572a19440e410e129af7b3b8b84da0c574b35dd14052b45"},
		{files: []string{"tekton/tk04-konflux-ui-go-sample-s2f4f-pipelinerun-v1beta1-PipelineRunTimeout.json"}, phase: PhaseFailed,
			why: "timed out cloning: nothing was built"},
		{files: []string{"tekton/tk04a-konflux-ui-python-sample-942fq-pipelinerun-v1beta1-completed-build-skipped.json"}, phase: PhaseSucceeded,
			why: "Completed with the build skipped: nothing was built"},
		{files: []string{"tekton/tk05-konflux-ui-devfile-sample-0rod-on-pull-request-9wqsb-v1beta1-RUNNING.yaml"}, notFinished: true},
		{files: []string{"tekton/tk06-janus-idp-ruby-ex-git-xf45fo-pipelinerun-v1beta1-s2i-ruby.json"}, phase: PhaseSucceeded,
			base:   ocpRegistry + "/openshift/ruby:3.0-ubi7",
			output: ocpRegistry + "/jai-test/ruby-ex-git@sha256:14e0715ec241926c081124345cd45d325a44d914261cfd642b3b0969a49ffe02",
			notes:  []string{"read from the s2i build command of step generate"},
			why:    "the embedded TaskRun's IMAGE param comes from the resolved pipeline spec; the base, by tag, from the step script"},
		{files: []string{"tekton/tk06a-janus-idp-ruby-ex-git-xf45fo-build-taskrun-v1beta1-s2i-ruby.json"}, phase: PhaseSucceeded,
			base:   ocpRegistry + "/openshift/ruby:3.0-ubi7",
			output: ocpRegistry + "/jai-test/ruby-ex-git@sha256:14e0715ec241926c081124345cd45d325a44d914261cfd642b3b0969a49ffe02",
			notes:  []string{"read from the s2i build command of step generate"}},
		{files: []string{"tekton/synthetic/chains-pipeline-v1-pipelinerun-childrefs.json"}, phase: PhaseSucceeded,
			output: "test.io/test/image@sha256:827521c857fdcd4374f4da5442fbae2edb01e7fbae285c3ec15673d4c1daecb7", notes: []string{"has no metadata.name: read as unnamed-1"}},
		{files: []string{"tekton/synthetic/chains-pipeline-v1-pipelinerun_structured_results.json"}, phase: PhaseSucceeded,
			output: "test.io/test/image@sha256:827521c857fdcd4374f4da5442fbae2edb01e7fbae285c3ec15673d4c1daecb7", notes: []string{`uri "hello_world" ` + noRegistry}},
		{files: []string{"tekton/synthetic/chains-pipeline-v1-taskrun-multiple-subjects.json"}, phase: PhaseSucceeded,
			output: "gcr.io/myimage1@sha256:d4b63d3e24d6eef04a6dc0795cf8a73470688803d97c52cffa3c8d4efd3397b6"},
		{files: []string{"tekton/synthetic/chains-pipeline-v1-taskrun1.json"}, phase: PhaseSucceeded,
			output: "gcr.io/my/image@sha256:827521c857fdcd4374f4da5442fbae2edb01e7fbae285c3ec15673d4c1daecb7"},
	}
}

// TestRealWorld reads every build published from real clusters (../shared/realworld) as
// collect-build --from-file does, and checks the facts written for each. Every build file
// there must have a case. Without the folder it skips, unless CI is set.
func TestRealWorld(t *testing.T) {
	root, err := modroot.Find()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "..", "shared", "realworld")
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if os.Getenv("CI") != "" {
			t.Fatalf("published builds %s are missing; CI must provide them", dir)
		}
		t.Skipf("published builds %s not found", dir)
	}
	cases := realWorldCases()
	covered := map[string]bool{}
	for _, c := range cases {
		for _, f := range c.files {
			covered[f] = true
		}
	}
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if ext := filepath.Ext(rel); (ext == ".json" || ext == ".yaml") && !covered[filepath.ToSlash(rel)] {
			t.Errorf("%s has no case: read it and write down what it must give", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	full := 0
	for _, c := range cases {
		name := strings.Join(c.files, "+")
		if c.ref != "" {
			name += "/" + c.ref
		}
		if c.defaultRegistry != "" {
			name += "@" + c.defaultRegistry
		}
		t.Run(name, func(t *testing.T) {
			var data [][]byte
			for _, f := range c.files {
				b, err := os.ReadFile(filepath.Join(dir, f))
				if err != nil {
					t.Fatal(err)
				}
				data = append(data, b)
			}
			saved, err := ReadSaved(bytes.NewReader(bytes.Join(data, []byte("\n---\n"))), name, "")
			if err != nil {
				t.Fatal(err)
			}
			var kind Kind
			var ns, buildName string
			if c.ref != "" {
				r, err := ParseRef(c.ref)
				if err != nil {
					t.Fatal(err)
				}
				kind, ns, buildName = r.Kind, r.Namespace, r.Name
			}
			ref, err := saved.Pick(kind, ns, buildName)
			if err != nil {
				t.Fatal(err)
			}
			rec, err := Collect(t.Context(), saved.Clients(), ref, Options{LogFile: filepath.Join(t.TempDir(), "build.log"), DefaultRegistry: c.defaultRegistry})
			if c.notFinished {
				if !errors.Is(err, ErrNotFinished) {
					t.Errorf("err = %v, want ErrNotFinished", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			notes := append(slices.Clone(saved.Notes), rec.Notes...)
			if rec.Phase != c.phase || rec.BaseImage != c.base || rec.OutputImage != c.output {
				t.Errorf("phase %s, base %q, output %q\nwant  %s, base %q, output %q\nnotes %q", rec.Phase, rec.BaseImage, rec.OutputImage, c.phase, c.base, c.output, notes)
			}
			for _, want := range c.notes {
				if !slices.ContainsFunc(notes, func(n string) bool { return strings.Contains(n, want) }) {
					t.Errorf("notes %q do not say %q", notes, want)
				}
			}
			if rec.Log.Missing != noSavedLogs {
				t.Errorf("log missing %q", rec.Log.Missing)
			}
			if c.base != "" && c.output != "" {
				full++
			}
		})
	}
	t.Logf("%d cases, %d with both base and output", len(cases), full)
}
