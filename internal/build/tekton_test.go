package build

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	tektonscheme "github.com/tektoncd/pipeline/pkg/client/clientset/versioned/scheme"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	kubescheme "k8s.io/client-go/kubernetes/scheme"
)

// Digests and images of the fixtures in testdata/tekton.
const (
	buildahDigest     = "sha256:5f3e9b2c7d1a4e8f6b0c9d2a3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f"
	s2iDigest         = "sha256:0b7d3f9a1c5e2b8d4f6a0c3e7b9d1f5a2c8e4b6d0f3a7c9e1b5d2f8a4c6e0b3d"
	goAppDigest       = "sha256:d2c4e6f8a0b1c3d5e7f9a1b3c5d7e9f1a3b5c7d9e1f3a5b7c9d1e3f5a7b9c1d3"
	s2iBaseImage      = "registry.access.redhat.com/ubi9/python-311@sha256:6c1e4a2b8d9f0e3c7a5b1d4f8e2c6a9b3d7f1e5c9a2b6d0f4e8c3a7b1d5f9e2c"
	tektonUBIPython   = "registry.access.redhat.com/ubi9/python-311:latest"
	buildahRun        = "python-app-build-7x2kq"
	buildahBuild      = "python-app-build-7x2kq-build-image-pod"
	buildahFetch      = "python-app-build-7x2kq-fetch-source-pod"
	tektonDigestA     = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	tektonDigestB     = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
	tektonWaitTimeout = time.Minute
)

// tektonFixture is one directory of testdata/tekton loaded into a test namespace: its
// objects.yaml created (status set with UpdateStatus, as the Tekton controller would) and
// its logs/<pod>/<container>.log served as the pods' container logs.
type tektonFixture struct {
	dir string
	e   *testEnv
	// uids are the created objects' UIDs by "Kind/name".
	uids map[string]types.UID
}

// tektonFixtureOptions change a fixture as it is loaded.
type tektonFixtureOptions struct {
	// mutate may change each object, status included, before it is created.
	mutate func(runtime.Object)
	// withoutLogs are "pod/container" logs not served, as for containers that never started.
	withoutLogs []string
}

// loadTektonFixture loads testdata/tekton/<fixture>.
func loadTektonFixture(t *testing.T, e *testEnv, fixture string, opts tektonFixtureOptions) *tektonFixture {
	t.Helper()
	f := &tektonFixture{dir: filepath.Join("testdata", "tekton", fixture), e: e, uids: map[string]types.UID{}}
	for _, obj := range decodeTektonObjects(t, filepath.Join(f.dir, "objects.yaml")) {
		if opts.mutate != nil {
			opts.mutate(obj)
		}
		f.create(t, obj)
	}
	err := filepath.WalkDir(filepath.Join(f.dir, "logs"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		pod, container := filepath.Base(filepath.Dir(path)), strings.TrimSuffix(d.Name(), ".log")
		if !slices.Contains(opts.withoutLogs, pod+"/"+container) {
			e.front.SetPodLog(e.ns, pod, container, data)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// decodeTektonObjects reads a multi-document YAML file of Kubernetes and Tekton objects.
func decodeTektonObjects(t *testing.T, path string) []runtime.Object {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := kubescheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := tektonscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	decoder := serializer.NewCodecFactory(scheme).UniversalDeserializer()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var objs []runtime.Object
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if tektonOnlyComments(doc) {
			continue
		}
		obj, _, err := decoder.Decode(doc, nil, nil)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		objs = append(objs, obj)
	}
}

func tektonOnlyComments(doc []byte) bool {
	for _, line := range strings.Split(string(doc), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") && line != "---" {
			return false
		}
	}
	return true
}

// create makes obj in the test namespace, pointing its owner references at the owners
// created before it, then sets its status as a controller would.
func (f *tektonFixture) create(t *testing.T, obj runtime.Object) {
	t.Helper()
	ctx, ns := t.Context(), f.e.ns
	meta := obj.(metav1.Object)
	meta.SetNamespace(ns)
	refs := meta.GetOwnerReferences()
	for i := range refs {
		if uid, ok := f.uids[refs[i].Kind+"/"+refs[i].Name]; ok {
			refs[i].UID = uid
		}
	}
	meta.SetOwnerReferences(refs)
	var (
		kind string
		uid  types.UID
		err  error
	)
	tekton := f.e.typed.Tekton.TektonV1()
	switch o := obj.(type) {
	case *pipelinev1.PipelineRun:
		kind = "PipelineRun"
		status := o.Status
		o.Status = pipelinev1.PipelineRunStatus{}
		var created *pipelinev1.PipelineRun
		if created, err = tekton.PipelineRuns(ns).Create(ctx, o, metav1.CreateOptions{}); err == nil {
			created.Status = status
			created, err = tekton.PipelineRuns(ns).UpdateStatus(ctx, created, metav1.UpdateOptions{})
		}
		if err == nil {
			uid = created.UID
		}
	case *pipelinev1.TaskRun:
		kind = "TaskRun"
		status := o.Status
		o.Status = pipelinev1.TaskRunStatus{}
		var created *pipelinev1.TaskRun
		if created, err = tekton.TaskRuns(ns).Create(ctx, o, metav1.CreateOptions{}); err == nil {
			created.Status = status
			created, err = tekton.TaskRuns(ns).UpdateStatus(ctx, created, metav1.UpdateOptions{})
		}
		if err == nil {
			uid = created.UID
		}
	case *corev1.Pod:
		kind = "Pod"
		var created *corev1.Pod
		if created, err = f.e.typed.Kube.CoreV1().Pods(ns).Create(ctx, o, metav1.CreateOptions{}); err == nil {
			uid = created.UID
		}
	default:
		t.Fatalf("%s: unexpected %T", f.dir, obj)
	}
	if err != nil {
		t.Fatalf("%s: creating %s %s: %v", f.dir, kind, meta.GetName(), err)
	}
	f.uids[kind+"/"+meta.GetName()] = uid
}

// log returns a container log of the fixture.
func (f *tektonFixture) log(t *testing.T, pod, container string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(f.dir, "logs", pod, container+".log"))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// collectTektonLog collects a run with a log file and returns the record and the file's text.
func (e *testEnv) collectTektonLog(t *testing.T, c Clients, kind Kind, runName string, opts Options) (*Record, string) {
	t.Helper()
	opts.LogFile = filepath.Join(t.TempDir(), "build.log")
	rec, err := Collect(t.Context(), c, Ref{Kind: kind, Namespace: e.ns, Name: runName}, opts)
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	data, err := os.ReadFile(opts.LogFile)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if rec.Log.Path != opts.LogFile || rec.Log.Bytes != int64(len(data)) || rec.Log.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("Log = %+v; the file has %d bytes, sha256 %x", rec.Log, len(data), sum)
	}
	return rec, string(data)
}

func tektonTime(t *testing.T, s string) *time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return &tm
}

func tektonSameTime(a, b *time.Time) bool {
	return a == nil && b == nil || a != nil && b != nil && a.Equal(*b)
}

func TestTektonBuildahPipelineRun(t *testing.T) {
	e := newTestEnv(t)
	f := loadTektonFixture(t, e, "buildah-pipelinerun", tektonFixtureOptions{})
	rec, log := e.collectTektonLog(t, e.admin, KindPipelineRun, buildahRun, Options{})

	want := Record{
		Kind: KindPipelineRun, Namespace: e.ns, Name: buildahRun, UID: string(f.uids["PipelineRun/"+buildahRun]),
		Phase: PhaseSucceeded, OriginalPhase: "Succeeded", Reason: "Succeeded",
		Message:        "Tasks Completed: 2 (Failed: 0, Cancelled 0), Skipped: 0",
		Strategy:       "PipelineRun",
		BaseImage:      tektonUBIPython,
		OutputImage:    "quay.io/thoth-station/python-app@" + buildahDigest,
		OutputImageTag: "quay.io/thoth-station/python-app:v1.4.2",
		OutputDigest:   buildahDigest,
		StartTime:      tektonTime(t, "2026-03-02T10:12:03Z"),
		CompletionTime: tektonTime(t, "2026-03-02T10:14:57Z"),
		Log:            rec.Log,
	}
	checkTektonRecord(t, rec, &want)
	if rec.Log.Missing != "" || rec.FailureSummary != "" {
		t.Errorf("Missing = %q, FailureSummary = %q; want none", rec.Log.Missing, rec.FailureSummary)
	}
	wantLog := "[fetch-source/clone]\n" + f.log(t, buildahFetch, "step-clone") +
		"[build-image/build-and-push]\n" + f.log(t, buildahBuild, "step-build-and-push") +
		"[build-image/write-url]\n" + f.log(t, buildahBuild, "step-write-url") + "\n" // the step echoed no newline
	if log != wantLog {
		t.Errorf("log file:\n%s\nwant:\n%s", log, wantLog)
	}

	t.Run("without a log file", func(t *testing.T) {
		ref := Ref{Kind: KindPipelineRun, Namespace: e.ns, Name: buildahRun}
		rec, notes, err := readTekton(t.Context(), e.admin, ref, Options{BaseImageFrom: DefaultBaseImageFrom()})
		if err != nil {
			t.Fatal(err)
		}
		// BUILDER_IMAGE is buildah's own image here; the base image is only in the log.
		if rec.BaseImage != "" || rec.Log != (LogInfo{}) || rec.OutputImage != want.OutputImage {
			t.Errorf("BaseImage %q, Log %+v, OutputImage %q; want no base image, no log, %s", rec.BaseImage, rec.Log, rec.OutputImage, want.OutputImage)
		}
		if !slices.ContainsFunc(notes, func(n string) bool {
			return strings.Contains(n, "param BUILDER_IMAGE") && strings.Contains(n, "image of a step")
		}) {
			t.Errorf("notes %q do not say BUILDER_IMAGE was passed over", notes)
		}
	})
}

// checkTektonRecord compares the fields collect-build reports.
func checkTektonRecord(t *testing.T, got, want *Record) {
	t.Helper()
	if !tektonSameTime(got.StartTime, want.StartTime) || !tektonSameTime(got.CompletionTime, want.CompletionTime) {
		t.Errorf("times %v..%v, want %v..%v", got.StartTime, got.CompletionTime, want.StartTime, want.CompletionTime)
	}
	g, w := *got, *want
	g.StartTime, g.CompletionTime, w.StartTime, w.CompletionTime = nil, nil, nil, nil
	g.FailureSummary, w.FailureSummary = "", ""
	g.Log.Missing, w.Log.Missing = "", ""
	g.Notes, w.Notes = nil, nil // checked by the tests that expect notes
	if !reflect.DeepEqual(g, w) {
		t.Errorf("record\n got %+v\nwant %+v", g, w)
	}
}

func TestTektonS2ITaskRun(t *testing.T) {
	e := newTestEnv(t)
	f := loadTektonFixture(t, e, "s2i-taskrun", tektonFixtureOptions{})
	const run, pod = "s2i-python-run-4hz8d", "s2i-python-run-4hz8d-pod"
	rec, log := e.collectTektonLog(t, e.admin, KindTaskRun, run, Options{})
	want := Record{
		Kind: KindTaskRun, Namespace: e.ns, Name: run, UID: string(f.uids["TaskRun/"+run]),
		Phase: PhaseSucceeded, OriginalPhase: "Succeeded", Reason: "Succeeded",
		Message:  "All Steps have completed executing",
		Strategy: "TaskRun",
		// The BASE_IMAGE param, pinned by digest; the default BUILDER_IMAGE is buildah.
		BaseImage:      s2iBaseImage,
		OutputImage:    "image-registry.openshift-image-registry.svc:5000/team-a/app@" + s2iDigest,
		OutputImageTag: "image-registry.openshift-image-registry.svc:5000/team-a/app:latest",
		OutputDigest:   s2iDigest,
		StartTime:      tektonTime(t, "2026-03-03T08:38:02Z"),
		CompletionTime: tektonTime(t, "2026-03-03T08:41:19Z"),
		Log:            rec.Log,
	}
	checkTektonRecord(t, rec, &want)
	wantLog := "[" + run + "/generate]\n" + f.log(t, pod, "step-generate") +
		"[" + run + "/build-and-push]\n" + f.log(t, pod, "step-build-and-push")
	if log != wantLog {
		t.Errorf("log file:\n%s\nwant:\n%s", log, wantLog)
	}
}

func TestTektonFailedPipelineRun(t *testing.T) {
	e := newTestEnv(t)
	f := loadTektonFixture(t, e, "pip-failed", tektonFixtureOptions{})
	const run, pod = "python-app-build-9fj2c", "python-app-build-9fj2c-build-image-pod"
	rec, log := e.collectTektonLog(t, e.admin, KindPipelineRun, run, Options{})
	want := Record{
		Kind: KindPipelineRun, Namespace: e.ns, Name: run, UID: string(f.uids["PipelineRun/"+run]),
		Phase: PhaseFailed, OriginalPhase: "Failed", Reason: "Failed",
		Message:        "Tasks Completed: 2 (Failed: 1, Cancelled 0), Skipped: 0",
		Strategy:       "PipelineRun",
		BaseImage:      tektonUBIPython, // from the log
		StartTime:      tektonTime(t, "2026-03-02T11:01:12Z"),
		CompletionTime: tektonTime(t, "2026-03-02T11:03:40Z"),
		Log:            rec.Log,
	}
	checkTektonRecord(t, rec, &want)
	if !strings.Contains(rec.FailureSummary, "ERROR: No matching distribution found for tensorflow==2.99.0") {
		t.Errorf("FailureSummary lacks the pip error:\n%s", rec.FailureSummary)
	}
	if len(rec.FailureSummary) > MaxFailureSummary {
		t.Errorf("FailureSummary is %d bytes", len(rec.FailureSummary))
	}
	wantTail := "[build-image/build-and-push]\n" + f.log(t, pod, "step-build-and-push") + "[build-image/write-url]\n"
	if !strings.HasSuffix(log, wantTail) || rec.Log.Missing != "" {
		t.Errorf("log file:\n%s\nwant it to end with:\n%s\n(missing: %q)", log, wantTail, rec.Log.Missing)
	}
}

func TestTektonCancelledPipelineRun(t *testing.T) {
	e := newTestEnv(t)
	loadTektonFixture(t, e, "cancelled", tektonFixtureOptions{})
	const run, pod = "python-app-build-c4ncl", "python-app-build-c4ncl-build-image-pod"
	rec, log := e.collectTektonLog(t, e.admin, KindPipelineRun, run, Options{})
	if rec.Phase != PhaseCancelled || rec.OriginalPhase != "Cancelled" || rec.Message != `PipelineRun "python-app-build-c4ncl" was cancelled` {
		t.Errorf("phase %s (%s: %s), want Cancelled", rec.Phase, rec.OriginalPhase, rec.Message)
	}
	// The controller deleted the cancelled TaskRun's pod: recorded, not fatal.
	for _, stepName := range []string{"build-and-push", "write-url"} {
		line := "[build-image/" + stepName + "] log unavailable: pod " + pod + " is gone\n"
		if !strings.Contains(log, line) {
			t.Errorf("log file lacks %q:\n%s", line, log)
		}
		if !strings.Contains(rec.Log.Missing, "build-image/"+stepName+": pod "+pod+" is gone") {
			t.Errorf("Missing = %q, want build-image/%s", rec.Log.Missing, stepName)
		}
	}
	if !strings.HasPrefix(log, "[fetch-source/clone]\n+ '[' false = true ']'\n") {
		t.Errorf("log file does not start with the clone step:\n%s", log)
	}
}

func TestTektonMultiStage(t *testing.T) {
	e := newTestEnv(t)
	loadTektonFixture(t, e, "multistage", tektonFixtureOptions{})
	rec, _ := e.collectTektonLog(t, e.admin, KindPipelineRun, "go-app-build-m5t7x", Options{})
	if rec.BaseImage != "registry.access.redhat.com/ubi9/ubi-minimal" {
		t.Errorf("BaseImage = %q, want the last stage's ubi-minimal", rec.BaseImage)
	}
	if rec.OutputImage != "quay.io/thoth-station/go-app@"+goAppDigest || rec.OutputImageTag != "" || rec.OutputDigest != goAppDigest {
		t.Errorf("output %q, tag %q, digest %q", rec.OutputImage, rec.OutputImageTag, rec.OutputDigest)
	}
}

func TestTektonMissingParts(t *testing.T) {
	tests := []struct {
		name string
		// remove deletes something from the loaded buildah fixture.
		remove      func(t *testing.T, e *testEnv)
		withoutLogs []string
		wantLines   []string // substrings of the log file
		wantMissing []string
	}{
		{
			name: "pod gone",
			remove: func(t *testing.T, e *testEnv) {
				if err := e.typed.Kube.CoreV1().Pods(e.ns).Delete(t.Context(), buildahBuild, metav1.DeleteOptions{}); err != nil {
					t.Fatal(err)
				}
			},
			wantLines: []string{
				"[build-image/build-and-push] log unavailable: pod " + buildahBuild + " is gone",
				"[build-image/write-url] log unavailable: pod " + buildahBuild + " is gone",
			},
			wantMissing: []string{"build-image/build-and-push: pod " + buildahBuild + " is gone"},
		},
		{
			name: "taskrun gone",
			remove: func(t *testing.T, e *testEnv) {
				err := e.typed.Tekton.TektonV1().TaskRuns(e.ns).Delete(t.Context(), buildahRun+"-fetch-source", metav1.DeleteOptions{})
				if err != nil {
					t.Fatal(err)
				}
			},
			wantLines:   []string{"[fetch-source] log unavailable: taskrun " + buildahRun + "-fetch-source is gone"},
			wantMissing: []string{"fetch-source: taskrun " + buildahRun + "-fetch-source is gone"},
		},
		{
			// The front answers 400 for a container without a log, as the kubelet does for
			// one that never started.
			name:        "container log not available",
			withoutLogs: []string{buildahFetch + "/step-clone"},
			wantLines:   []string{`[fetch-source/clone] log unavailable: container "step-clone" in pod "` + buildahFetch + `" is waiting to start`},
			wantMissing: []string{"fetch-source/clone: container"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			loadTektonFixture(t, e, "buildah-pipelinerun", tektonFixtureOptions{withoutLogs: tt.withoutLogs})
			if tt.remove != nil {
				tt.remove(t, e)
			}
			rec, log := e.collectTektonLog(t, e.admin, KindPipelineRun, buildahRun, Options{})
			for _, line := range tt.wantLines {
				if !strings.Contains(log, line) {
					t.Errorf("log file lacks %q:\n%s", line, log)
				}
			}
			for _, m := range tt.wantMissing {
				if !strings.Contains(rec.Log.Missing, m) {
					t.Errorf("Missing = %q, want it to name %q", rec.Log.Missing, m)
				}
			}
			if rec.Log.Missing == "" || rec.Phase != PhaseSucceeded || rec.OutputImage == "" {
				t.Errorf("Missing %q, phase %s, output %q", rec.Log.Missing, rec.Phase, rec.OutputImage)
			}
		})
	}
}

func TestTektonNotFound(t *testing.T) {
	e := newTestEnv(t)
	for _, kind := range []Kind{KindPipelineRun, KindTaskRun} {
		t.Run(string(kind), func(t *testing.T) {
			_, err := Collect(t.Context(), e.admin, Ref{Kind: kind, Namespace: e.ns, Name: "no-such-run"}, Options{})
			if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "no-such-run") {
				t.Errorf("err = %v, want ErrNotFound naming the run", err)
			}
		})
	}
}

// tektonWatchSignal closes watching when a watch request goes out.
type tektonWatchSignal struct {
	next     http.RoundTripper
	once     sync.Once
	watching chan struct{}
}

func (w *tektonWatchSignal) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Query().Get("watch") == "true" {
		w.once.Do(func() { close(w.watching) })
	}
	return w.next.RoundTrip(r)
}

func TestTektonRunningPipelineRun(t *testing.T) {
	e := newTestEnv(t)
	var final pipelinev1.PipelineRunStatus
	f := loadTektonFixture(t, e, "buildah-pipelinerun", tektonFixtureOptions{mutate: func(obj runtime.Object) {
		if pr, ok := obj.(*pipelinev1.PipelineRun); ok {
			final = *pr.Status.DeepCopy()
			pr.Status.MarkRunning("Running", "Tasks Completed: 1 (Failed: 0, Cancelled 0), Incomplete: 1, Skipped: 0")
			pr.Status.CompletionTime = nil
		}
	}})
	ref := Ref{Kind: KindPipelineRun, Namespace: e.ns, Name: buildahRun}

	t.Run("no wait", func(t *testing.T) {
		_, err := Collect(t.Context(), e.admin, ref, Options{})
		if !errors.Is(err, ErrNotFinished) || !strings.Contains(err.Error(), "Running") || !strings.Contains(err.Error(), "--wait") {
			t.Errorf("err = %v, want ErrNotFinished saying Running and --wait", err)
		}
	})
	t.Run("wait times out", func(t *testing.T) {
		_, err := Collect(t.Context(), e.admin, ref, Options{Wait: true, Timeout: 300 * time.Millisecond})
		if !errors.Is(err, ErrNotFinished) || !strings.Contains(err.Error(), "raise --timeout") {
			t.Errorf("err = %v, want ErrNotFinished saying to raise --timeout", err)
		}
	})
	t.Run("wait until finished", func(t *testing.T) {
		signal := &tektonWatchSignal{watching: make(chan struct{})}
		cfg := e.front.Config(cp.Config())
		cfg.Wrap(func(next http.RoundTripper) http.RoundTripper { signal.next = next; return signal })
		c, err := NewClients(cfg)
		if err != nil {
			t.Fatal(err)
		}
		finished := make(chan struct{})
		go func() {
			defer close(finished)
			select {
			case <-signal.watching:
			case <-t.Context().Done():
				return
			}
			prs := e.typed.Tekton.TektonV1().PipelineRuns(e.ns)
			pr, err := prs.Get(t.Context(), buildahRun, metav1.GetOptions{})
			if err != nil {
				t.Errorf("get: %v", err)
				return
			}
			pr.Status = final
			if _, err := prs.UpdateStatus(t.Context(), pr, metav1.UpdateOptions{}); err != nil {
				t.Errorf("finishing the run: %v", err)
			}
		}()
		rec, log := e.collectTektonLog(t, c, KindPipelineRun, buildahRun, Options{Wait: true, Timeout: tektonWaitTimeout})
		<-finished
		if rec.Phase != PhaseSucceeded || rec.OutputImage != "quay.io/thoth-station/python-app@"+buildahDigest || rec.BaseImage != tektonUBIPython {
			t.Errorf("record after waiting: %+v", rec)
		}
		if !strings.HasPrefix(log, "[fetch-source/clone]\n"+f.log(t, buildahFetch, "step-clone")) {
			t.Errorf("log file:\n%s", log)
		}
	})
}

// tektonRulesWithout returns rules less one resource of one group.
func tektonRulesWithout(rules []rbacv1.PolicyRule, group, resource string) []rbacv1.PolicyRule {
	var out []rbacv1.PolicyRule
	for _, r := range rules {
		r = *r.DeepCopy()
		if slices.Contains(r.APIGroups, group) {
			r.Resources = slices.DeleteFunc(r.Resources, func(s string) bool { return s == resource })
		}
		if len(r.Resources) > 0 {
			out = append(out, r)
		}
	}
	return out
}

// tektonServiceAccountClients binds rules to a new service account and returns its clients once
// the API server applies every rule.
func tektonServiceAccountClients(t *testing.T, e *testEnv, sa string, rules []rbacv1.PolicyRule) Clients {
	t.Helper()
	ctx := t.Context()
	rbac := e.typed.Kube.RbacV1()
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: sa}, Rules: rules}
	if _, err := rbac.Roles(e.ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: sa},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: sa},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: sa, Namespace: e.ns}},
	}
	if _, err := rbac.RoleBindings(e.ns).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cfg, err := cp.ServiceAccountConfig(ctx, e.ns, sa)
	if err != nil {
		t.Fatal(err)
	}
	c := e.clientsAs(t, cfg)
	kube, err := kubernetes.NewForConfig(e.front.Config(cfg))
	if err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		for _, r := range rules {
			for _, group := range r.APIGroups {
				for _, res := range r.Resources {
					resource, sub, _ := strings.Cut(res, "/")
					for _, verb := range r.Verbs {
						review, err := kube.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
							Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
								Namespace: e.ns, Verb: verb, Group: group, Resource: resource, Subresource: sub,
							}},
						}, metav1.CreateOptions{})
						if err != nil || !review.Status.Allowed {
							return false, nil
						}
					}
				}
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("the grants to %s never applied: %v", sa, err)
	}
	return c
}

func TestTektonRBAC(t *testing.T) {
	e := newTestEnv(t)
	loadTektonFixture(t, e, "buildah-pipelinerun", tektonFixtureOptions{})
	tests := []struct {
		name  string
		rules []rbacv1.PolicyRule
		// wantErr are the words a refusal must say; none: collecting succeeds.
		wantErr []string
	}{
		{name: "readme permissions", rules: TektonRules()},
		{name: "no pipelineruns", rules: tektonRulesWithout(TektonRules(), "tekton.dev", "pipelineruns"), wantErr: []string{`"get"`, "pipelineruns.tekton.dev", e.ns}},
		{name: "no taskruns", rules: tektonRulesWithout(TektonRules(), "tekton.dev", "taskruns"), wantErr: []string{`"get"`, "taskruns.tekton.dev", e.ns}},
		{name: "no pods", rules: tektonRulesWithout(TektonRules(), "", "pods"), wantErr: []string{`"get" on pods `, e.ns}},
		{name: "no pods/log", rules: tektonRulesWithout(TektonRules(), "", "pods/log"), wantErr: []string{`"get" on pods/log`, e.ns}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tektonServiceAccountClients(t, e, "collect-build-"+string(rune('a'+i)), tt.rules)
			opts := Options{LogFile: filepath.Join(t.TempDir(), "build.log")}
			rec, err := Collect(t.Context(), c, Ref{Kind: KindPipelineRun, Namespace: e.ns, Name: buildahRun}, opts)
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("Collect: %v", err)
				}
				if rec.Phase != PhaseSucceeded || rec.Log.Missing != "" || rec.BaseImage != tektonUBIPython || rec.Log.Bytes == 0 {
					t.Errorf("record %+v", rec)
				}
				return
			}
			if !apierrors.IsForbidden(err) {
				t.Fatalf("err = %v, want a Forbidden error", err)
			}
			t.Logf("refused: %v", err)
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v, want it to say %q", err, w)
				}
			}
		})
	}
}

func TestTektonPhase(t *testing.T) {
	tests := []struct {
		status corev1.ConditionStatus
		reason string
		want   Phase
	}{
		{corev1.ConditionTrue, "Succeeded", PhaseSucceeded},
		{corev1.ConditionTrue, "Completed", PhaseSucceeded},
		{corev1.ConditionFalse, "Failed", PhaseFailed},
		{corev1.ConditionFalse, "StepFailed", PhaseFailed},
		{corev1.ConditionFalse, "PipelineRunTimeout", PhaseFailed},
		{corev1.ConditionFalse, "TaskRunTimeout", PhaseFailed},
		{corev1.ConditionFalse, "StepOOM", PhaseFailed},
		{corev1.ConditionFalse, "PodEvicted", PhaseFailed},
		{corev1.ConditionFalse, "SomethingNew", PhaseFailed},
		{corev1.ConditionFalse, "", PhaseFailed},
		{corev1.ConditionFalse, "Cancelled", PhaseCancelled},
		{corev1.ConditionFalse, "PipelineRunCancelled", PhaseCancelled},
		{corev1.ConditionFalse, "TaskRunCancelled", PhaseCancelled},
		{corev1.ConditionFalse, "StoppedRunFinally", PhaseCancelled},
		{corev1.ConditionFalse, "CancelledRunFinally", PhaseCancelled},
		{corev1.ConditionFalse, "CouldntGetTask", PhaseError},
		{corev1.ConditionFalse, "CouldntGetPipeline", PhaseError},
		{corev1.ConditionFalse, "InvalidWorkspaceBindings", PhaseError},
		{corev1.ConditionFalse, "PipelineValidationFailed", PhaseError},
		{corev1.ConditionFalse, "TaskRunResolutionFailed", PhaseError},
		{corev1.ConditionFalse, "TaskRunImagePullFailed", PhaseError},
		{corev1.ConditionFalse, "PodCreationFailed", PhaseError},
	}
	for _, tt := range tests {
		t.Run(string(tt.status)+"/"+tt.reason, func(t *testing.T) {
			if got := tektonPhase(tt.status, tt.reason); got != tt.want {
				t.Errorf("tektonPhase(%s, %q) = %s, want %s", tt.status, tt.reason, got, tt.want)
			}
		})
	}
}

func TestTektonStepsOf(t *testing.T) {
	withSteps := &pipelinev1.TaskRun{Status: pipelinev1.TaskRunStatus{TaskRunStatusFields: pipelinev1.TaskRunStatusFields{
		Steps: []pipelinev1.StepState{{Name: "clone", Container: "step-clone"}, {Name: "build"}},
	}}}
	specOnly := &pipelinev1.TaskRun{Status: pipelinev1.TaskRunStatus{TaskRunStatusFields: pipelinev1.TaskRunStatusFields{
		TaskSpec: &pipelinev1.TaskSpec{Steps: []pipelinev1.Step{{Name: "a"}, {}}},
	}}}
	pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "step-x"}, {Name: "sidecar-y"}, {Name: "step-z"}}}}
	tests := []struct {
		name string
		tr   *pipelinev1.TaskRun
		pod  *corev1.Pod
		want []step
	}{
		{"status steps win", withSteps, pod, []step{{"clone", "step-clone"}, {"build", "step-build"}}},
		{"pod containers", specOnly, pod, []step{{"x", "step-x"}, {"z", "step-z"}}},
		{"task spec", specOnly, nil, []step{{"a", "step-a"}, {"unnamed-1", "step-unnamed-1"}}},
		{"nothing", &pipelinev1.TaskRun{}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := stepsOf(asMirror[taskRun](t, tt.tr), tt.pod); !slices.Equal(got, tt.want) {
				t.Errorf("stepsOf = %+v, want %+v", got, tt.want)
			}
		})
	}
}
