// Command demo-cluster is the cluster part of `make demo`: it starts a real etcd and
// kube-apiserver with the Tekton and OpenShift CRDs and two registries, makes a successful
// and a failed OpenShift build and a Tekton build there, the way a cluster holds them, then
// collects each with collect-build's library, mirrors the cluster-internal output image to
// the push registry with mirror-image's library, and submits it with submit-thoth's client
// to a Thoth stand-in that validates every request, and prints a summary. Everything it starts stops on
// exit or Ctrl-C.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	buildv1 "github.com/openshift/api/build/v1"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"

	"github.com/thoth-station/build-watcher/internal/build"
	"github.com/thoth-station/build-watcher/internal/mirror"
	"github.com/thoth-station/build-watcher/internal/testenv/controlplane"
	"github.com/thoth-station/build-watcher/internal/thoth"
	"github.com/thoth-station/build-watcher/internal/thoth/thothtest"
	"github.com/thoth-station/build-watcher/internal/watcher"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "demo-cluster: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, stdout io.Writer) error {
	fmt.Fprintln(stdout, "Starting etcd and kube-apiserver (the first run builds them: minutes, with progress below)...")
	cp, err := controlplane.Start(ctx, controlplane.Options{StartTimeout: 30 * time.Minute})
	if err != nil {
		return err
	}
	defer cp.Stop()
	tekton, err := controlplane.TektonCRDs(ctx)
	if err != nil {
		return err
	}
	openshift, err := controlplane.OpenShiftCRDs()
	if err != nil {
		return err
	}
	shipwright, err := controlplane.ShipwrightCRDs(ctx)
	if err != nil {
		return err
	}
	crds := append(append(tekton, openshift...), shipwright...)
	if err := cp.InstallCRDs(ctx, crds...); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Control plane ready in %s, with Tekton's, OpenShift's and Shipwright's build CRDs.\n", cp.StartupTime().Round(time.Millisecond))
	front, err := cp.StartLogFront()
	if err != nil {
		return err
	}
	defer front.Close()
	clients, err := watcher.NewClients(front.Config(cp.Config()))
	if err != nil {
		return err
	}
	ns, err := cp.CreateNamespace(ctx, "team-a")
	if err != nil {
		return err
	}

	standin, err := thothtest.New(thothtest.Options{})
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: standin, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l)
	defer srv.Close()
	fmt.Fprintf(stdout, "Thoth stand-in at http://%s.\n\n", l.Addr())

	internal, push := startRegistries()
	defer internal.Close()
	defer push.Close()
	internalHost, pushHost := strings.TrimPrefix(internal.URL, "http://"), strings.TrimPrefix(push.URL, "http://")
	output, err := pushImage(internalHost + "/" + "team-a/app:latest")
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Registries: the cluster's at %s, the push registry Thoth reaches at %s.\n\n", internalHost, pushHost)

	flask, err := pushImage(internalHost + "/" + "team-a/flask-app:v1")
	if err != nil {
		return err
	}

	// The watcher, as `build-watcher --executor local` runs it: it sees builds finish and
	// runs collect -> mirror -> submit for each, in this process, two at a time.
	wcfg := watcher.Config{
		Namespaces: []string{ns}, Kinds: build.Kinds(), TektonSelector: demoSelector,
		Phases: build.Phases(), StateNamespace: ns, Executor: watcher.ExecutorLocal, Workers: 2,
		InsecureRegistries: []string{internalHost, pushHost}, SyncWorkers: 4,
		AnalysisAttempts: watcher.DefaultAnalysisAttempts, RetryBackoff: watcher.DefaultRetryBackoff,
		Analysis: watcher.Analysis{
			ThothHost: "http://" + l.Addr().String(), PushRegistry: pushHost + "/thoth",
			PushMode: string(mirror.PushModeDefault), EnvironmentType: thoth.EnvironmentRuntime, Cluster: "demo",
		},
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	w, err := watcher.New(&wcfg, clients, watcher.NewMetrics())
	if err != nil {
		return err
	}
	wctx, stopWatcher := context.WithCancel(ctx)
	var watcherErr error
	watcherDone := make(chan struct{})
	go func() { watcherErr = w.Run(wctx); close(watcherDone) }()
	defer func() { stopWatcher(); <-watcherDone }()
	for !w.Ready() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-watcherDone:
			return fmt.Errorf("the watcher stopped before it was ready: %w", watcherErr)
		case <-time.After(20 * time.Millisecond):
		}
	}
	fmt.Fprintln(stdout, "build-watcher (local executor, 2 workers) is watching namespace "+ns+".")

	refs, err := makeBuilds(ctx, clients, front, ns, output, flask)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Builds finished: %d; waiting for their analyses...\n\n", len(refs))
	var written []map[string]string
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if written, err = analyses(ctx, clients, refs); err != nil {
			return err
		}
		if written != nil {
			break
		}
		if time.Now().After(deadline) {
			return errors.New("the watcher did not write every analysis back within 2 minutes")
		}
		time.Sleep(200 * time.Millisecond)
	}

	out := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(out, "BUILD\tANALYSIS\tTHOTH IDS (annotations on the build)")
	for i, ref := range refs {
		a := written[i]
		fmt.Fprintf(out, "%s\t%s\t%s\n", ref, firstLine(a[watcher.AnnotationStatus]), strings.Join(idsOf(a), " "))
	}
	out.Flush()
	fmt.Fprintln(stdout, "\nWhat Thoth received:")
	for _, r := range standin.Requests() {
		if r.Method != http.MethodPost {
			continue
		}
		base, output, log := submitted(r.Body)
		fmt.Fprintf(stdout, "  %s origin=%s\n      base=%s\n      output=%s\n      log=%d B\n", r.Path, r.Query.Get("origin"), base, output, log)
	}
	stats := standin.Stats()
	fmt.Fprintf(stdout, "\nThe stand-in accepted %d submissions and rejected %d; every request was validated against the OpenAPI document.\n", stats.Accepted, stats.Rejected)
	if stats.Rejected > 0 {
		return errors.New("the stand-in rejected a submission")
	}
	return nil
}

// demoSelector marks the Tekton runs that are builds to analyse.
const demoSelector = "build.thoth-station.ninja/analyze=true"

// analyses returns each build's watcher annotations once every build has its outcome; nil
// while some have none yet.
func analyses(ctx context.Context, c watcher.Clients, refs []build.Ref) ([]map[string]string, error) {
	var out []map[string]string
	for _, ref := range refs {
		var meta metav1.Object
		var err error
		switch ref.Kind {
		case build.KindBuild:
			meta, err = c.Build.BuildV1().Builds(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		case build.KindTaskRun:
			meta, err = c.Tekton.TektonV1().TaskRuns(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		default:
			meta, err = c.Tekton.TektonV1().PipelineRuns(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		}
		if err != nil {
			return nil, err
		}
		a := meta.GetAnnotations()
		if a[watcher.AnnotationStatus] == "" {
			return nil, nil
		}
		out = append(out, a)
	}
	return out, nil
}

func idsOf(a map[string]string) []string {
	var out []string
	for _, k := range []string{watcher.AnnotationBaseImageAnalysisID, watcher.AnnotationOutputImageAnalysisID, watcher.AnnotationBuildLogAnalysisID} {
		if v := a[k]; v != "" {
			out = append(out, v)
		}
	}
	return out
}

// submitted reads the images and the log's size from a submission's body.
func submitted(body []byte) (base, output string, logBytes int) {
	var doc struct {
		Base     *string `json:"base_image"`
		Output   *string `json:"output_image"`
		BuildLog struct {
			Log string `json:"log"`
		} `json:"build_log"`
	}
	if json.Unmarshal(body, &doc) != nil {
		return "?", "?", 0
	}
	base, output = "-", "-"
	if doc.Base != nil {
		base = *doc.Base
	}
	if doc.Output != nil {
		output = *doc.Output
	}
	return base, output, len(doc.BuildLog.Log)
}

// startRegistries starts two go-containerregistry registries on loopback: the cluster's
// internal one and the push registry.
func startRegistries() (internal, push *httptest.Server) {
	quiet := ggcrregistry.Logger(log.New(io.Discard, "", 0))
	return httptest.NewServer(ggcrregistry.New(quiet)), httptest.NewServer(ggcrregistry.New(quiet))
}

// pushImage pushes a random 3-layer image as the successful build's output.
func pushImage(ref string) (string, error) {
	img, err := random.Image(1<<20, 3)
	if err != nil {
		return "", err
	}
	tag, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return "", err
	}
	if err := remote.Write(tag, img); err != nil {
		return "", fmt.Errorf("pushing the demo image: %w", err)
	}
	d, err := img.Digest()
	if err != nil {
		return "", err
	}
	return ref + "@" + d.String(), nil
}

// makeBuilds creates the builds as the OpenShift and Tekton controllers leave them.
func makeBuilds(ctx context.Context, c watcher.Clients, front *controlplane.LogFront, ns, output, flask string) ([]build.Ref, error) {
	start, end := metav1.NewTime(time.Now().Add(-5*time.Minute)), metav1.Now()
	s2i := func(name string, phase buildv1.BuildPhase) *buildv1.Build {
		return &buildv1.Build{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"buildconfig": "app"}},
			Spec: buildv1.BuildSpec{CommonSpec: buildv1.CommonSpec{Strategy: buildv1.BuildStrategy{
				Type: buildv1.SourceBuildStrategyType,
				SourceStrategy: &buildv1.SourceBuildStrategy{From: corev1.ObjectReference{Kind: "DockerImage",
					Name: "quay.io/thoth-station/s2i-thoth-ubi9-py311@sha256:1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f809"}},
			}}},
			Status: buildv1.BuildStatus{Phase: phase, StartTimestamp: &start, CompletionTimestamp: &end},
		}
	}
	ok := s2i("app-7", buildv1.BuildPhaseComplete)
	tagRef, outDigest, _ := strings.Cut(output, "@")
	ok.Status.OutputDockerImageReference = tagRef
	ok.Status.Output.To = &buildv1.BuildStatusOutputTo{ImageDigest: outDigest}
	failed := s2i("app-8", buildv1.BuildPhaseFailed)
	failed.Status.Reason = buildv1.StatusReasonGenericBuildFailed
	logs := map[string]string{
		"app-7": "---> Installing dependencies via micropipenv ...\nCollecting numpy==2.1.3\nSuccessfully installed numpy-2.1.3\nPush successful\n",
		"app-8": "---> Installing dependencies ...\nCollecting tensorflow==2.18.0\nERROR: No matching distribution found for tensorflow==2.18.0\nerror: build error: exit status 1\n",
	}
	var refs []build.Ref
	for _, b := range []*buildv1.Build{ok, failed} {
		if _, err := front.CreateBuild(ctx, ns, b, []byte(logs[b.Name])); err != nil {
			return nil, err
		}
		refs = append(refs, build.Ref{Kind: build.KindBuild, Namespace: ns, Name: b.Name})
	}

	// A buildah TaskRun, its pod and step log, and the results Tekton Chains reads.
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "buildah-run-1-pod"}, Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Name: "step-build-and-push", Image: "quay.io/buildah/stable:v1.38"}},
	}}
	if _, err := c.Kube.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		return nil, err
	}
	front.SetPodLog(ns, pod.Name, "step-build-and-push", []byte(
		"STEP 1/4: FROM registry.access.redhat.com/ubi9/python-311:latest\nSTEP 2/4: COPY . /opt/app-root/src\nSTEP 3/4: RUN pip install -r requirements.txt\nSuccessfully installed flask-3.1.0\nSTEP 4/4: CMD [\"python\", \"app.py\"]\nWriting manifest to image destination\n"))
	tr := &pipelinev1.TaskRun{ObjectMeta: metav1.ObjectMeta{Name: "buildah-run-1", Labels: map[string]string{"build.thoth-station.ninja/analyze": "true"}}, Spec: pipelinev1.TaskRunSpec{
		TaskRef: &pipelinev1.TaskRef{Name: "buildah"},
	}}
	created, err := c.Tekton.TektonV1().TaskRuns(ns).Create(ctx, tr, metav1.CreateOptions{})
	if err != nil {
		return nil, err
	}
	flaskURL, flaskDigest, _ := strings.Cut(flask, "@")
	created.Status = pipelinev1.TaskRunStatus{
		Status: duckv1.Status{Conditions: duckv1.Conditions{{Type: apis.ConditionSucceeded, Status: corev1.ConditionTrue, Reason: "Succeeded"}}},
		TaskRunStatusFields: pipelinev1.TaskRunStatusFields{
			PodName: pod.Name, StartTime: &start, CompletionTime: &end,
			Steps: []pipelinev1.StepState{{Name: "build-and-push", Container: "step-build-and-push"}},
			Results: []pipelinev1.TaskRunResult{
				{Name: "IMAGE_URL", Type: pipelinev1.ResultsTypeString, Value: *pipelinev1.NewStructuredValues(flaskURL)},
				{Name: "IMAGE_DIGEST", Type: pipelinev1.ResultsTypeString, Value: *pipelinev1.NewStructuredValues(flaskDigest)},
			},
		},
	}
	if _, err := c.Tekton.TektonV1().TaskRuns(ns).UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		return nil, err
	}
	return append(refs, build.Ref{Kind: build.KindTaskRun, Namespace: ns, Name: tr.Name}), nil
}

func firstLine(s string) string {
	for i, r := range s {
		if r == '\n' {
			return s[:i]
		}
	}
	return s
}
