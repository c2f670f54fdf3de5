package build

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	buildv1 "github.com/openshift/api/build/v1"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// savedDigest is the digest the saved-object fixtures' images carry.
const savedDigest = "sha256:3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c"

// Saved-object fixtures of our own, one for each shape the published captures show (see
// ../shared/realworld/SHAPES.md).
const (
	// An OCP 4 Build as `oc get build -o json` prints it.
	savedOCPBuild = `{"apiVersion": "build.openshift.io/v1", "kind": "Build",
 "metadata": {"name": "shop-3", "namespace": "team-s", "uid": "u-shop-3"},
 "spec": {"strategy": {"type": "Source", "sourceStrategy": {"from": {"kind": "DockerImage",
   "name": "registry.access.redhat.com/ubi9/nodejs-20@` + savedDigest + `"}}}},
 "status": {"phase": "Complete", "outputDockerImageReference": "image-registry.openshift-image-registry.svc:5000/team-s/shop:latest",
   "output": {"to": {"imageDigest": "` + savedDigest + `"}}}}`
	// A 2016 Build in YAML: unquoted timestamps, no status.output, a failure without reason,
	// in a List beside its BuildConfig.
	savedOldYAML = `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: BuildConfig
  metadata: {name: base, namespace: repo}
  spec: {strategy: {type: Docker, dockerStrategy: {from: {kind: ImageStreamTag, name: "centos:7"}}}}
- apiVersion: v1
  kind: Build
  metadata:
    name: base-4
    namespace: repo
    creationTimestamp: 2016-03-01T10:00:00Z
  spec:
    strategy:
      type: Docker
      dockerStrategy:
        from: {kind: DockerImage, name: "172.30.1.5:5000/repo/centos@` + savedDigest + `"}
  status:
    phase: Failed
    startTimestamp: 2016-03-01T10:00:01Z
    completionTimestamp: 2016-03-01T10:02:00Z
    outputDockerImageReference: 172.30.1.5:5000/repo/base:latest
`
	// Two OSBS Custom builds cut from a BuildList: items without apiVersion and kind.
	savedBuildList = `{"kind": "BuildList", "apiVersion": "build.openshift.io/v1", "items": [
 {"metadata": {"name": "rpm-tool-1", "namespace": "osbs"}, "spec": {"strategy": {"type": "Custom",
   "customStrategy": {"from": {"kind": "DockerImage", "name": "buildroot:latest"},
   "env": [{"name": "USER_PARAMS", "value": "{\"base_image\": \"registry.example.com/rhel9:9.4\"}"}]}}},
  "status": {"phase": "Failed", "reason": "GenericBuildFailed", "logSnippet": "error: rpm -q foo failed"}},
 {"metadata": {"name": "rpm-tool-2", "namespace": "osbs"}, "spec": {"strategy": {"type": "Custom",
   "customStrategy": {"from": {"kind": "DockerImage", "name": "buildroot:latest"}}}},
  "status": {"phase": "Cancelled"}}]}`
	// A v1beta1 PipelineRun with the embedded status of its TaskRuns, as Tekton wrote it
	// before v0.45.
	savedEmbedded = `apiVersion: tekton.dev/v1beta1
kind: PipelineRun
metadata: {name: web-9x, namespace: team-w, uid: u-web-9x}
status:
  conditions: [{type: Succeeded, status: "True", reason: Completed, message: "Tasks Completed: 2 (Failed: 0, Cancelled 0), Skipped: 1"}]
  startTime: "2022-05-01T10:00:00Z"
  completionTime: "2022-05-01T10:05:00Z"
  taskRuns:
    web-9x-build-container:
      pipelineTaskName: build-container
      status:
        podName: web-9x-build-container-pod
        startTime: "2022-05-01T10:01:00Z"
        conditions: [{type: Succeeded, status: "True", reason: Succeeded}]
        taskResults:
        - {name: IMAGE_URL, value: "quay.io/team-w/web:build-9x\n"}
        - {name: IMAGE_DIGEST, value: "` + savedDigest + `"}
    web-9x-clone:
      pipelineTaskName: clone
      status:
        podName: web-9x-clone-pod
        startTime: "2022-05-01T10:00:10Z"
        conditions: [{type: Succeeded, status: "True", reason: Succeeded}]
`
	// A PipelineRun labelled tekton.dev/v1 holding v1beta1 names, and a JSON array of its
	// TaskRuns, in two documents.
	savedRelabelled = `{"apiVersion": "tekton.dev/v1", "kind": "PipelineRun",
 "metadata": {"name": "hr-on-push", "namespace": "team-h"},
 "status": {"conditions": [{"type": "Succeeded", "status": "False", "reason": "PipelineRunTimeout"}],
  "pipelineResults": [{"name": "IMAGE_URL", "value": "quay.io/team-h/hr:on-push"}, {"name": "IMAGE_DIGEST", "value": "` + savedDigest + `"}],
  "childReferences": [{"kind": "TaskRun", "name": "hr-on-push-build", "pipelineTaskName": "build"}]}}
---
[{"apiVersion": "tekton.dev/v1", "kind": "TaskRun", "metadata": {"name": "hr-on-push-build", "namespace": "team-h",
  "labels": {"tekton.dev/pipelineRun": "hr-on-push"}},
  "status": {"conditions": [{"type": "Succeeded", "status": "False", "reason": "TaskRunTimeout"}], "podName": "hr-on-push-build-pod",
   "taskResults": [{"name": "BASE_IMAGE", "value": "registry.example.com/ubi9/openjdk-17@` + savedDigest + `", "type": "string"}]}}]`
	// A Chains-style TaskRun without apiVersion and kind.
	savedNoKind = `{"metadata": {"name": "sign-me", "namespace": "chains"},
 "spec": {"taskRef": {"name": "buildah"}},
 "status": {"conditions": [{"type": "Succeeded", "status": "True"}], "podName": "sign-me-pod",
  "taskResults": [{"name": "IMAGES", "value": "gcr.io/foo/bar@` + savedDigest + `"}]}}`
)

func TestReadSaved(t *testing.T) {
	tests := []struct {
		name, data string
		// builds are the refs the file holds; notes substrings of its notes.
		builds []string
		notes  []string
	}{
		{"OCP 4 build, JSON", savedOCPBuild, []string{"build/team-s/shop-3"}, nil},
		{"2016 List in YAML with a BuildConfig", savedOldYAML, []string{"build/repo/base-4"}, []string{"document 1 item 1 (v1 BuildConfig base) is not a build"}},
		{"BuildList items without kind", savedBuildList, []string{"build/osbs/rpm-tool-1", "build/osbs/rpm-tool-2"}, nil},
		{"v1beta1 embedded status", savedEmbedded, []string{"pipelinerun/team-w/web-9x"}, nil},
		{"v1 with v1beta1 names and an array", savedRelabelled, []string{"pipelinerun/team-h/hr-on-push"}, nil},
		{"no apiVersion and kind", savedNoKind, []string{"taskrun/chains/sign-me"}, nil},
		{"a build without a name", `{"apiVersion": "build.openshift.io/v1", "kind": "Build", "status": {"phase": "Complete"}}`, []string{"build/default/unnamed-1"}, []string{"document 1 (a Build) has no metadata.name: read as unnamed-1"}},
		{"several documents", savedOCPBuild + "\n---\n" + savedNoKind, []string{"build/team-s/shop-3", "taskrun/chains/sign-me"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ReadSaved(strings.NewReader(tt.data), "test.json", "")
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range s.Builds() {
				got = append(got, r.String())
			}
			if !slices.Equal(got, tt.builds) {
				t.Errorf("Builds() = %v, want %v", got, tt.builds)
			}
			checkNotes(t, s.Notes, tt.notes)
		})
	}
}

func TestReadSavedErrors(t *testing.T) {
	tests := []struct{ name, data, want string }{
		{"not JSON or YAML", "{\"kind\": ", "document 1 is neither JSON nor YAML"},
		{"a scalar", "42", "document 1 is not an object"},
		{"no build", `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}`, "f.yaml holds no build"},
		{"nothing", "", "f.yaml holds no build"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadSaved(strings.NewReader(tt.data), "f.yaml", "")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
	big := bytes.Repeat([]byte(" "), MaxSavedBytes+1)
	if _, err := ReadSaved(bytes.NewReader(big), "big.json", ""); err == nil || !strings.Contains(err.Error(), "larger than 64 MiB") {
		t.Errorf("a file over the limit: err = %v", err)
	}
}

func TestSavedPick(t *testing.T) {
	s, err := ReadSaved(strings.NewReader(savedBuildList), "list.json", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pick("", "", ""); err == nil || !strings.Contains(err.Error(), "holds 2 builds (build/osbs/rpm-tool-1, build/osbs/rpm-tool-2): name one") {
		t.Errorf("Pick without a name: %v", err)
	}
	if r, err := s.Pick("", "", "rpm-tool-2"); err != nil || r.String() != "build/osbs/rpm-tool-2" {
		t.Errorf("Pick(rpm-tool-2) = %v, %v", r, err)
	}
	if _, err := s.Pick(KindTaskRun, "", "rpm-tool-2"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Pick of a kind the file lacks: %v, want ErrNotFound", err)
	}
}

// TestCollectSaved collects each fixture's builds from the file alone.
func TestCollectSaved(t *testing.T) {
	tests := []struct {
		name, data string
		ref        Ref
		want       Record
		notes      []string
	}{
		{"OCP 4 build", savedOCPBuild, Ref{KindBuild, "team-s", "shop-3"}, Record{
			Phase: PhaseSucceeded, BaseImage: "registry.access.redhat.com/ubi9/nodejs-20@" + savedDigest,
			OutputImage: internalReg + "/team-s/shop@" + savedDigest, OutputImageTag: internalReg + "/team-s/shop:latest", OutputDigest: savedDigest,
		}, nil},
		{"2016 failed build", savedOldYAML, Ref{KindBuild, "repo", "base-4"}, Record{
			Phase: PhaseFailed, BaseImage: "172.30.1.5:5000/repo/centos@" + savedDigest, OutputImageTag: "172.30.1.5:5000/repo/base:latest",
		}, nil},
		{"OSBS failed, log snippet", savedBuildList, Ref{KindBuild, "osbs", "rpm-tool-1"}, Record{
			Phase: PhaseFailed, BaseImage: "registry.example.com/rhel9:9.4", FailureSummary: "error: rpm -q foo failed",
		}, nil},
		{"OSBS cancelled, no base", savedBuildList, Ref{KindBuild, "osbs", "rpm-tool-2"}, Record{Phase: PhaseCancelled}, []string{"no base image in USER_PARAMS"}},
		{"image stream tag not in the file", `{"apiVersion": "build.openshift.io/v1", "kind": "Build", "metadata": {"name": "ist-1", "namespace": "team-i"},
 "spec": {"strategy": {"type": "Docker", "dockerStrategy": {"from": {"kind": "ImageStreamTag", "name": "centos:7"}}}},
 "status": {"phase": "Failed"}}`, Ref{KindBuild, "team-i", "ist-1"}, Record{Phase: PhaseFailed},
			[]string{`the strategy's from ImageStreamTag "centos:7" could not be resolved`}},
		{"embedded TaskRuns", savedEmbedded, Ref{KindPipelineRun, "team-w", "web-9x"}, Record{
			Phase: PhaseSucceeded, OutputImage: "quay.io/team-w/web@" + savedDigest, OutputImageTag: "quay.io/team-w/web:build-9x", OutputDigest: savedDigest,
		}, nil},
		{"relabelled, timed out", savedRelabelled, Ref{KindPipelineRun, "team-h", "hr-on-push"}, Record{
			Phase: PhaseFailed, BaseImage: "registry.example.com/ubi9/openjdk-17@" + savedDigest,
			OutputImage: "quay.io/team-h/hr@" + savedDigest, OutputImageTag: "quay.io/team-h/hr:on-push", OutputDigest: savedDigest,
		}, nil},
		{"no kind", savedNoKind, Ref{KindTaskRun, "chains", "sign-me"}, Record{
			Phase: PhaseSucceeded, OutputImage: "gcr.io/foo/bar@" + savedDigest, OutputDigest: savedDigest,
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ReadSaved(strings.NewReader(tt.data), "saved", "")
			if err != nil {
				t.Fatal(err)
			}
			logFile := filepath.Join(t.TempDir(), "build.log")
			rec, err := Collect(t.Context(), s.Clients(), tt.ref, Options{LogFile: logFile})
			if err != nil {
				t.Fatal(err)
			}
			got := Record{Phase: rec.Phase, BaseImage: rec.BaseImage, OutputImage: rec.OutputImage, OutputImageTag: rec.OutputImageTag,
				OutputDigest: rec.OutputDigest, FailureSummary: rec.FailureSummary}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
			if rec.Log.Missing != noSavedLogs || rec.Log.Bytes != 0 {
				t.Errorf("Log = %+v, want an empty log missing because it was saved", rec.Log)
			}
			if data, err := os.ReadFile(logFile); err != nil || len(data) != 0 {
				t.Errorf("the log file: %q, %v; want it empty", data, err)
			}
			for _, want := range tt.notes {
				if !slices.ContainsFunc(rec.Notes, func(n string) bool { return strings.Contains(n, want) }) {
					t.Errorf("notes %q lack %q", rec.Notes, want)
				}
			}
		})
	}
}

// TestSavedTektonConversion checks that the saved-object reader turns tekton.dev/v1beta1
// runs into what Tekton's own conversion (ConvertTo) serves, for every field collecting
// reads: each fixture run is turned into v1beta1 by Tekton, read back both ways, and
// decoded into the reader's types.
func TestSavedTektonConversion(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "tekton", "*", "objects.yaml"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	ctx := t.Context()
	runs := 0
	for _, path := range dirs {
		for _, obj := range decodeTektonObjects(t, path) {
			var old, converted runtime.Object
			switch o := obj.(type) {
			case *pipelinev1.PipelineRun:
				b := &v1beta1.PipelineRun{} //lint:ignore SA1019 the v1beta1 form is what is tested
				if err := b.ConvertFrom(ctx, o); err != nil {
					t.Fatal(err)
				}
				back := &pipelinev1.PipelineRun{}
				if err := b.ConvertTo(ctx, back); err != nil {
					t.Fatal(err)
				}
				old, converted = b, back
			case *pipelinev1.TaskRun:
				b := &v1beta1.TaskRun{} //lint:ignore SA1019 the v1beta1 form is what is tested
				if err := b.ConvertFrom(ctx, o); err != nil {
					t.Fatal(err)
				}
				back := &pipelinev1.TaskRun{}
				if err := b.ConvertTo(ctx, back); err != nil {
					t.Fatal(err)
				}
				old, converted = b, back
			default:
				continue
			}
			runs++
			meta := obj.(metav1.Object)
			data, err := json.Marshal(old)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(data, []byte(`"taskResults"`)) && !bytes.Contains(data, []byte(`"pipelineResults"`)) && bytes.Contains(data, []byte(`"results"`)) {
				t.Fatalf("%s %s: Tekton's v1beta1 form has no v1beta1 result names: %s", path, meta.GetName(), data)
			}
			saved, err := ReadSaved(bytes.NewReader(data), path, "ns")
			if err != nil {
				t.Fatal(err)
			}
			kind := reflect.TypeOf(obj).Elem().Name()
			gvr := map[string]schema.GroupVersionResource{"PipelineRun": pipelineRunsGVR, "TaskRun": taskRunsGVR}[kind]
			got, err := saved.Clients().Objects.Resource(gvr).Namespace("ns").Get(ctx, meta.GetName(), metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			wantMap, err := runtime.DefaultUnstructuredConverter.ToUnstructured(converted)
			if err != nil {
				t.Fatal(err)
			}
			want := &unstructured.Unstructured{Object: wantMap}
			switch kind {
			case "PipelineRun":
				sameDecoded[pipelineRun](t, path+" "+meta.GetName(), got, want)
			case "TaskRun":
				sameDecoded[taskRun](t, path+" "+meta.GetName(), got, want)
			}
		}
	}
	if runs < 5 {
		t.Fatalf("only %d runs converted", runs)
	}
}

// sameDecoded decodes both objects into T and compares them, namespaces aside.
func sameDecoded[T any](t *testing.T, what string, got, want *unstructured.Unstructured) {
	t.Helper()
	want.SetNamespace(got.GetNamespace())
	g, err := decode[T](got)
	if err != nil {
		t.Fatal(err)
	}
	w, err := decode[T](want)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		gj, _ := json.Marshal(g)
		wj, _ := json.Marshal(w)
		t.Errorf("%s: read from v1beta1\n %s\nTekton's conversion\n %s", what, gj, wj)
	}
}

// TestSavedSameFacts saves what the test apiserver serves (builds and runs, as
// tekton.dev/v1 and as Tekton's v1beta1 form) and checks that the file gives the facts the
// cluster gives.
func TestSavedSameFacts(t *testing.T) {
	e := newTestEnv(t)
	fixtures, err := filepath.Glob(filepath.Join("testdata", "tekton", "*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range fixtures {
		loadTektonFixture(t, e, filepath.Base(dir), tektonFixtureOptions{})
	}
	ocp := sourceBuild("saved-ocp", buildv1.BuildPhaseComplete)
	ocp.Status.OutputDockerImageReference = internalReg + "/" + e.ns + "/app:latest"
	ocp.Status.Output.To = &buildv1.BuildStatusOutputTo{ImageDigest: outDigest}
	makeBuild(t, e, ocp)
	for i, c := range osbsCases()[:3] {
		makeBuild(t, e, osbsBuild(fmt.Sprintf("saved-osbs-%d", i), c))
	}

	v1Docs, betaDocs, refs := saveNamespace(t, e)
	if len(refs) < 8 {
		t.Fatalf("only %d builds to compare", len(refs))
	}
	for name, docs := range map[string][][]byte{"v1 Lists": v1Docs, "v1beta1 documents": betaDocs} {
		t.Run(name, func(t *testing.T) {
			saved, err := ReadSaved(bytes.NewReader(bytes.Join(docs, []byte("\n---\n"))), name, "")
			if err != nil {
				t.Fatal(err)
			}
			if got := saved.Builds(); len(got) != len(refs) {
				t.Errorf("the file holds %v, want %v", got, refs)
			}
			for _, ref := range refs {
				sameFacts(t, e, saved, ref)
			}
		})
	}
}

// saveNamespace saves the builds and runs of the test namespace as a user would: one v1 List
// a kind, and one document an object with Tekton runs in Tekton's v1beta1 form. refs are
// the builds, TaskRuns of a PipelineRun left out.
func saveNamespace(t *testing.T, e *testEnv) (v1Docs, betaDocs [][]byte, refs []Ref) {
	t.Helper()
	for _, k := range savedKinds {
		list, err := e.admin.Objects.Resource(k.gvr).Namespace(e.ns).List(t.Context(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		list.SetAPIVersion("v1")
		list.SetKind("List")
		data, err := list.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		v1Docs = append(v1Docs, data)
		for i := range list.Items {
			u := &list.Items[i]
			if k.kind != KindTaskRun || u.GetLabels()[labelPipelineRun] == "" {
				refs = append(refs, Ref{k.kind, e.ns, u.GetName()})
			}
			betaDocs = append(betaDocs, v1beta1JSON(t, k.kind, u))
		}
	}
	return v1Docs, betaDocs, refs
}

// sameFacts checks that a build read from saved objects gives what the cluster gives.
func sameFacts(t *testing.T, e *testEnv, saved *Saved, ref Ref) {
	t.Helper()
	fromCluster, err := Collect(t.Context(), e.admin, ref, Options{})
	if err != nil {
		t.Fatal(err)
	}
	fromFile, err := Collect(t.Context(), saved.Clients(), ref, Options{})
	if err != nil {
		t.Fatalf("%s from the file: %v", ref, err)
	}
	if !reflect.DeepEqual(fromFile, fromCluster) {
		t.Errorf("%s\nfrom the file    %+v\nfrom the cluster %+v", ref, fromFile, fromCluster)
	}
}

// v1beta1JSON is a build object as a v1beta1 client would have saved it: Tekton runs
// converted by Tekton, others as they are.
func v1beta1JSON(t *testing.T, kind Kind, u *unstructured.Unstructured) []byte {
	t.Helper()
	var out any = u
	switch kind {
	case KindPipelineRun:
		pr, err := decode[pipelinev1.PipelineRun](u)
		if err != nil {
			t.Fatal(err)
		}
		b := &v1beta1.PipelineRun{} //lint:ignore SA1019 the v1beta1 form is what is tested
		if err := b.ConvertFrom(t.Context(), pr); err != nil {
			t.Fatal(err)
		}
		b.APIVersion, b.Kind = "tekton.dev/v1beta1", "PipelineRun"
		out = b
	case KindTaskRun:
		tr, err := decode[pipelinev1.TaskRun](u)
		if err != nil {
			t.Fatal(err)
		}
		b := &v1beta1.TaskRun{} //lint:ignore SA1019 the v1beta1 form is what is tested
		if err := b.ConvertFrom(t.Context(), tr); err != nil {
			t.Fatal(err)
		}
		b.APIVersion, b.Kind = "tekton.dev/v1beta1", "TaskRun"
		out = b
	}
	data, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// FuzzReadSaved feeds any bytes to the saved-object reader and collects every build it
// finds: no panic, and every build it lists can be picked and read (or is not finished).
func FuzzReadSaved(f *testing.F) {
	for _, seed := range []string{savedOCPBuild, savedOldYAML, savedBuildList, savedEmbedded, savedRelabelled, savedNoKind,
		`[{"kind": "TaskRun"}]`, "items: [1, 2]\nkind: List\n", `{"apiVersion": "shipwright.io/v1alpha1", "kind": "BuildRun", "metadata": {"name": "b"}, "status": {"sources": [1], "failedAt": {}}}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ReadSaved(bytes.NewReader(data), "fuzz", "")
		if err != nil {
			return
		}
		for _, ref := range s.Builds() {
			picked, err := s.Pick(ref.Kind, ref.Namespace, ref.Name)
			if err != nil {
				t.Fatalf("Pick(%s): %v", ref, err)
			}
			rec, err := Collect(context.Background(), s.Clients(), picked, Options{ScanLog: true})
			if err == nil && rec.Log.Missing != noSavedLogs {
				t.Errorf("%s: log missing %q", ref, rec.Log.Missing)
			}
		}
	})
}
