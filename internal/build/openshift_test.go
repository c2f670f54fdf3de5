package build

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	buildv1 "github.com/openshift/api/build/v1"
	imagev1 "github.com/openshift/api/image/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
)

const (
	s2iBuilder  = "registry.access.redhat.com/ubi9/python-311@sha256:1111111111111111111111111111111111111111111111111111111111111111"
	outDigest   = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
	internalReg = "image-registry.openshift-image-registry.svc:5000"
)

const micropipenvLog = `Cloning "https://github.com/team-a/app" ...
	Commit:	4f1c2e9 (Pin numpy)
---> Installing application source ...
---> Installing dependencies via micropipenv ...
2026-11-22 09:30:11,118 [36] INFO     micropipenv: Installing using Pipfile.lock
Collecting numpy==2.1.3
  Downloading numpy-2.1.3-cp311-cp311-manylinux_2_17_x86_64.whl (16.3 MB)
Installing collected packages: numpy
Successfully installed numpy-2.1.3
STEP 9/9: CMD /usr/libexec/s2i/run
COMMIT temp.builder.openshift.io/team-a/app-7:8c7c0a1e
Successfully pushed image-registry.openshift-image-registry.svc:5000/team-a/app@sha256:2222222222222222222222222222222222222222222222222222222222222222
Push successful
`

const pipFailureLog = `---> Installing dependencies ...
Collecting tensorflow==2.18.0
ERROR: Could not find a version that satisfies the requirement tensorflow==2.18.0 (from versions: 2.16.1, 2.16.2, 2.17.0)
ERROR: No matching distribution found for tensorflow==2.18.0
subprocess exited with status 1
error: build error: error building at STEP "RUN /usr/libexec/s2i/assemble": exit status 1
`

// makeBuild creates b and sets its status as the OpenShift build controller would.
func makeBuild(t *testing.T, e *testEnv, b *buildv1.Build) *buildv1.Build {
	t.Helper()
	created, err := e.front.CreateBuild(t.Context(), e.ns, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	return created
}

func sourceBuild(name string, phase buildv1.BuildPhase) *buildv1.Build {
	start := metav1.NewTime(time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC))
	end := metav1.NewTime(start.Add(3 * time.Minute))
	b := &buildv1.Build{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"buildconfig": "app", "openshift.io/build-config.name": "app"},
			Annotations: map[string]string{"openshift.io/build.number": "7"}},
		Spec: buildv1.BuildSpec{CommonSpec: buildv1.CommonSpec{
			Source: buildv1.BuildSource{Type: buildv1.BuildSourceGit, Git: &buildv1.GitBuildSource{URI: "https://github.com/team-a/app"}},
			Strategy: buildv1.BuildStrategy{Type: buildv1.SourceBuildStrategyType, SourceStrategy: &buildv1.SourceBuildStrategy{
				From: corev1.ObjectReference{Kind: "DockerImage", Name: s2iBuilder},
				Env:  []corev1.EnvVar{{Name: "ENABLE_MICROPIPENV", Value: "1"}},
			}},
			Output: buildv1.BuildOutput{To: &corev1.ObjectReference{Kind: "ImageStreamTag", Name: "app:latest"}},
		}},
		Status: buildv1.BuildStatus{Phase: phase, StartTimestamp: &start, CompletionTimestamp: &end},
	}
	return b
}

func TestCollectOpenShift(t *testing.T) {
	e := newTestEnv(t)
	outputTag := internalReg + "/" + e.ns + "/app:latest"

	// An image stream with an imported tag, for an ImageStreamTag from.
	is := &imagev1.ImageStream{ObjectMeta: metav1.ObjectMeta{Name: "ubi9"}}
	created, err := e.typed.Image.ImageV1().ImageStreams(e.ns).Create(t.Context(), is, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	created.Status = imagev1.ImageStreamStatus{
		DockerImageRepository: internalReg + "/" + e.ns + "/ubi9",
		Tags: []imagev1.NamedTagEventList{{Tag: "9.5", Items: []imagev1.TagEvent{
			{DockerImageReference: "registry.access.redhat.com/ubi9/ubi@sha256:3333333333333333333333333333333333333333333333333333333333333333", Image: "sha256:3333333333333333333333333333333333333333333333333333333333333333", Created: metav1.Now()},
			{DockerImageReference: "registry.access.redhat.com/ubi9/ubi@sha256:4444444444444444444444444444444444444444444444444444444444444444", Image: "sha256:4444444444444444444444444444444444444444444444444444444444444444", Created: metav1.Now()},
		}}},
	}
	if _, err := e.typed.Image.ImageV1().ImageStreams(e.ns).UpdateStatus(t.Context(), created, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		build  func() *buildv1.Build
		log    string // "" = no log registered (pruned)
		want   Record
		wantIn []string // substrings of the failure summary
	}{
		{
			name: "s2i python with micropipenv",
			build: func() *buildv1.Build {
				b := sourceBuild("app-7", buildv1.BuildPhaseComplete)
				b.Status.OutputDockerImageReference = outputTag
				b.Status.Output.To = &buildv1.BuildStatusOutputTo{ImageDigest: outDigest}
				return b
			},
			log: micropipenvLog,
			want: Record{Phase: PhaseSucceeded, OriginalPhase: "Complete", Strategy: "Source", BaseImage: s2iBuilder,
				OutputImage: internalReg + "/{ns}/app@" + outDigest, OutputImageTag: outputTag, OutputDigest: outDigest},
		},
		{
			name: "docker strategy from an image stream tag",
			build: func() *buildv1.Build {
				b := sourceBuild("docker-3", buildv1.BuildPhaseComplete)
				b.Spec.Strategy = buildv1.BuildStrategy{Type: buildv1.DockerBuildStrategyType, DockerStrategy: &buildv1.DockerBuildStrategy{
					From: &corev1.ObjectReference{Kind: "ImageStreamTag", Name: "ubi9:9.5"},
				}}
				b.Status.OutputDockerImageReference = outputTag
				b.Status.Output.To = &buildv1.BuildStatusOutputTo{ImageDigest: outDigest}
				return b
			},
			log: "STEP 1/4: FROM registry.access.redhat.com/ubi9/ubi@sha256:3333333333333333333333333333333333333333333333333333333333333333\n",
			want: Record{Phase: PhaseSucceeded, OriginalPhase: "Complete", Strategy: "Docker",
				BaseImage:   "registry.access.redhat.com/ubi9/ubi@sha256:3333333333333333333333333333333333333333333333333333333333333333",
				OutputImage: internalReg + "/{ns}/app@" + outDigest, OutputImageTag: outputTag, OutputDigest: outDigest},
		},
		{
			name: "docker strategy without from: the last stage of the log",
			build: func() *buildv1.Build {
				b := sourceBuild("multistage-1", buildv1.BuildPhaseComplete)
				b.Spec.Strategy = buildv1.BuildStrategy{Type: buildv1.DockerBuildStrategyType, DockerStrategy: &buildv1.DockerBuildStrategy{}}
				b.Status.OutputDockerImageReference = outputTag
				return b
			},
			log: "[1/2] STEP 1/3: FROM docker.io/library/golang:1.22 AS builder\n[1/2] STEP 3/3: RUN go build\n[2/2] STEP 1/2: FROM registry.access.redhat.com/ubi9/ubi-minimal:9.5\n[2/2] STEP 2/2: COPY --from=builder /app /app\n",
			want: Record{Phase: PhaseSucceeded, OriginalPhase: "Complete", Strategy: "Docker",
				BaseImage: "registry.access.redhat.com/ubi9/ubi-minimal:9.5", OutputImage: outputTag, OutputImageTag: outputTag},
		},
		{
			name: "custom strategy of the OSBS kind",
			build: func() *buildv1.Build {
				b := sourceBuild("osbs-12", buildv1.BuildPhaseComplete)
				b.Spec.Strategy = buildv1.BuildStrategy{Type: buildv1.CustomBuildStrategyType, CustomStrategy: &buildv1.CustomBuildStrategy{
					From: corev1.ObjectReference{Kind: "DockerImage", Name: "quay.io/osbs/buildroot:latest"},
					Env: []corev1.EnvVar{{Name: "USER_PARAMS", Value: `{"build_json_dir": "/usr/share/osbs/", "base_image": "registry.fedoraproject.org/fedora:41", "component": "app", "git_uri": "https://src.example/app"}`},
						{Name: "OPENSHIFT_CUSTOM_BUILD_BASE_IMAGE", Value: "quay.io/osbs/buildroot:latest"}},
				}}
				b.Status.OutputDockerImageReference = outputTag
				b.Status.Output.To = &buildv1.BuildStatusOutputTo{ImageDigest: outDigest}
				return b
			},
			log: "2026-11-22 09:31:00,001 - atomic_reactor.plugins - INFO - running plugin pull_base_image\n",
			want: Record{Phase: PhaseSucceeded, OriginalPhase: "Complete", Strategy: "Custom", BaseImage: "registry.fedoraproject.org/fedora:41",
				OutputImage: internalReg + "/{ns}/app@" + outDigest, OutputImageTag: outputTag, OutputDigest: outDigest},
		},
		{
			name: "failed build with a pip resolution error",
			build: func() *buildv1.Build {
				b := sourceBuild("app-8", buildv1.BuildPhaseFailed)
				b.Status.Reason = buildv1.StatusReasonGenericBuildFailed
				b.Status.Message = "Generic Build failure - check logs for details."
				b.Status.OutputDockerImageReference = outputTag
				return b
			},
			log: pipFailureLog,
			want: Record{Phase: PhaseFailed, OriginalPhase: "Failed", Reason: "GenericBuildFailed", Message: "Generic Build failure - check logs for details.",
				Strategy: "Source", BaseImage: s2iBuilder, OutputImageTag: outputTag},
			wantIn: []string{"No matching distribution found for tensorflow==2.18.0", "exit status 1"},
		},
		{
			name: "cancelled build",
			build: func() *buildv1.Build {
				b := sourceBuild("app-9", buildv1.BuildPhaseCancelled)
				b.Status.Reason = "CancelledBuild"
				return b
			},
			log:  "Cloning ...\n",
			want: Record{Phase: PhaseCancelled, OriginalPhase: "Cancelled", Reason: "CancelledBuild", Strategy: "Source", BaseImage: s2iBuilder},
		},
		{
			name: "error build whose log is gone",
			build: func() *buildv1.Build {
				b := sourceBuild("app-10", buildv1.BuildPhaseError)
				b.Status.Reason = "BuildPodDeleted"
				return b
			},
			want: Record{Phase: PhaseError, OriginalPhase: "Error", Reason: "BuildPodDeleted", Strategy: "Source", BaseImage: s2iBuilder},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := makeBuild(t, e, tt.build())
			if tt.log != "" {
				e.front.SetBuildLog(e.ns, b.Name, []byte(tt.log))
			}
			logFile := filepath.Join(t.TempDir(), "build.log")
			rec, err := Collect(t.Context(), e.admin, Ref{Kind: KindBuild, Namespace: e.ns, Name: b.Name}, Options{LogFile: logFile})
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			want.OutputImage = strings.ReplaceAll(want.OutputImage, "{ns}", e.ns)
			for _, f := range []struct{ name, got, want string }{
				{"phase", string(rec.Phase), string(want.Phase)},
				{"original phase", rec.OriginalPhase, want.OriginalPhase},
				{"reason", rec.Reason, want.Reason},
				{"message", rec.Message, want.Message},
				{"strategy", rec.Strategy, want.Strategy},
				{"base image", rec.BaseImage, want.BaseImage},
				{"output image", rec.OutputImage, want.OutputImage},
				{"output tag", rec.OutputImageTag, want.OutputImageTag},
				{"output digest", rec.OutputDigest, want.OutputDigest},
				{"uid", rec.UID, string(b.UID)},
			} {
				if f.got != f.want {
					t.Errorf("%s = %q, want %q", f.name, f.got, f.want)
				}
			}
			got, err := os.ReadFile(logFile)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.log || rec.Log.Bytes != int64(len(tt.log)) {
				t.Errorf("log file holds %d bytes (record says %d), want %d", len(got), rec.Log.Bytes, len(tt.log))
			}
			if (tt.log == "") != (rec.Log.Missing != "") {
				t.Errorf("Log.Missing = %q with a log of %d bytes", rec.Log.Missing, len(tt.log))
			}
			for _, s := range tt.wantIn {
				if !strings.Contains(rec.FailureSummary, s) {
					t.Errorf("failure summary %q lacks %q", rec.FailureSummary, s)
				}
			}
			if len(rec.FailureSummary) > MaxFailureSummary {
				t.Errorf("failure summary is %d bytes", len(rec.FailureSummary))
			}
			if rec.StartTime == nil || rec.CompletionTime == nil {
				t.Error("timestamps missing")
			}
		})
	}
}

func TestCollectOpenShiftWaits(t *testing.T) {
	e := newTestEnv(t)
	b := makeBuild(t, e, sourceBuild("running-1", buildv1.BuildPhaseRunning))
	ref := Ref{Kind: KindBuild, Namespace: e.ns, Name: b.Name}
	if _, err := Collect(t.Context(), e.admin, ref, Options{}); !errors.Is(err, ErrNotFinished) {
		t.Fatalf("running build: %v, want ErrNotFinished", err)
	}
	if _, err := Collect(t.Context(), e.admin, ref, Options{Wait: true, Timeout: 200 * time.Millisecond}); !errors.Is(err, ErrNotFinished) || !strings.Contains(err.Error(), "--timeout") {
		t.Fatalf("wait that times out: %v, want ErrNotFinished naming --timeout", err)
	}
	done := make(chan *Record)
	errs := make(chan error, 1)
	go func() {
		rec, err := Collect(t.Context(), e.admin, ref, Options{Wait: true, Timeout: time.Minute})
		errs <- err
		done <- rec
	}()
	// Finish the build while Collect watches it; the watch is what wakes it.
	b.Status.Phase = buildv1.BuildPhaseComplete
	if _, err := e.typed.Build.BuildV1().Builds(e.ns).UpdateStatus(t.Context(), b, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	if rec := <-done; rec.Phase != PhaseSucceeded {
		t.Errorf("phase %s after waiting", rec.Phase)
	}
	if _, err := Collect(t.Context(), e.admin, Ref{Kind: KindBuild, Namespace: e.ns, Name: "no-such-build"}, Options{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing build: %v, want ErrNotFound", err)
	}
}

// TestCollectOpenShiftRBAC runs with a service account that has exactly the permissions
// the Task's README lists for OpenShift builds, then without builds/log.
func TestCollectOpenShiftRBAC(t *testing.T) {
	e := newTestEnv(t)
	b := makeBuild(t, e, sourceBuild("app-1", buildv1.BuildPhaseComplete))
	e.front.SetBuildLog(e.ns, b.Name, []byte(micropipenvLog))
	kube, err := kubernetes.NewForConfig(cp.Config())
	if err != nil {
		t.Fatal(err)
	}
	grant := func(name string, rules []rbacv1.PolicyRule) Clients {
		role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}
		if _, err := kube.RbacV1().Roles(e.ns).Create(t.Context(), role, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		binding := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
			RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: name},
			Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: e.ns}}}
		if _, err := kube.RbacV1().RoleBindings(e.ns).Create(t.Context(), binding, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		cfg, err := cp.ServiceAccountConfig(t.Context(), e.ns, name)
		if err != nil {
			t.Fatal(err)
		}
		return e.clientsAs(t, cfg)
	}
	full := grant("collector", OpenShiftRules())
	ref := Ref{Kind: KindBuild, Namespace: e.ns, Name: b.Name}
	rec, err := Collect(t.Context(), full, ref, Options{LogFile: filepath.Join(t.TempDir(), "log")})
	if err != nil {
		t.Fatalf("with the documented permissions: %v", err)
	}
	if rec.Log.Bytes != int64(len(micropipenvLog)) {
		t.Errorf("log of %d bytes", rec.Log.Bytes)
	}
	noLog := grant("no-log", []rbacv1.PolicyRule{{APIGroups: []string{"build.openshift.io"}, Resources: []string{"builds"}, Verbs: []string{"get", "watch"}}})
	_, err = Collect(t.Context(), noLog, ref, Options{LogFile: filepath.Join(t.TempDir(), "log")})
	if err == nil || !strings.Contains(err.Error(), "builds/log") {
		t.Fatalf("without builds/log: %v, want an error naming builds/log", err)
	}
	none := grant("nothing", nil)
	if _, err := Collect(t.Context(), none, ref, Options{}); err == nil || !strings.Contains(err.Error(), "builds.build.openshift.io") {
		t.Fatalf("without any permission: %v, want an error naming builds", err)
	}
}

// FuzzBuildStrategy feeds strategies with any from and USER_PARAMS to the base-image
// reader (without an API client, so image streams are not resolved): no panic, a
// DockerImage from of a Source or Docker build is reported as written, a Custom build
// never fails and never reports its from (the builder) unless USER_PARAMS names it, and
// the reference helpers keep their shape.
func FuzzBuildStrategy(f *testing.F) {
	f.Add(uint8(0), "DockerImage", s2iBuilder, "")
	f.Add(uint8(1), "ImageStreamTag", "ubi9:latest", "")
	f.Add(uint8(2), "DockerImage", "quay.io/osbs/buildroot:latest", `{"base_image": "registry.fedoraproject.org/fedora:41"}`)
	f.Add(uint8(2), "DockerImage", "quay.io/osbs/buildroot:latest", "")
	f.Add(uint8(2), "", "", `{"base_image": 7}`)
	f.Add(uint8(1), "ImageStreamImage", "ubi9@sha256:"+strings.Repeat("a", 64), "not json")
	f.Fuzz(func(t *testing.T, strategy uint8, kind, name, userParams string) {
		from := corev1.ObjectReference{Kind: kind, Name: name}
		var s buildv1.BuildStrategy
		custom := strategy%3 == 2
		switch strategy % 3 {
		case 0:
			s.SourceStrategy = &buildv1.SourceBuildStrategy{From: from}
		case 1:
			s.DockerStrategy = &buildv1.DockerBuildStrategy{From: &from}
		default:
			s.CustomStrategy = &buildv1.CustomBuildStrategy{From: from, Env: []corev1.EnvVar{{Name: userParamsEnv, Value: userParams}}}
		}
		b := &buildv1.Build{ObjectMeta: metav1.ObjectMeta{Namespace: "ns"}, Spec: buildv1.BuildSpec{CommonSpec: buildv1.CommonSpec{Strategy: s}}}
		got, _, err := buildBaseImage(t.Context(), Clients{}, b)
		switch {
		case custom && err != nil:
			t.Errorf("custom build: %v", err)
		case custom && got != "" && got == name && !strings.Contains(userParams, name):
			t.Errorf("custom build reports its from %q", name)
		case custom && got != "" && pullableReference(got) != nil:
			t.Errorf("custom build reports %q, not a pullable reference", got)
		case !custom && err == nil && (kind == "DockerImage" || kind == "") && got != name:
			t.Errorf("DockerImage from %q reported as %q", name, got)
		}
		if stream, selector, sep := splitStreamRef(name); stream != "" && stream+sep+selector != name {
			t.Errorf("splitStreamRef(%q) = %q %q %q", name, stream, selector, sep)
		}
		if repo := repository(name); !strings.HasPrefix(name, repo) {
			t.Errorf("repository(%q) = %q, not a prefix", name, repo)
		}
	})
}

// TestAPIErrorNotServed: on the real API server, a missing object is ErrNotFound and an API
// the cluster does not serve is ErrNotServed, saying what would serve it.
func TestAPIErrorNotServed(t *testing.T) {
	e := newTestEnv(t)
	tests := []struct {
		name     string
		gvr      schema.GroupVersionResource
		resource string
		want     error
		wantText string
	}{
		{"missing build", buildsGVR, buildsResource, ErrNotFound, `"nope" not found`},
		{"missing taskrun", taskRunsGVR, taskRunsResource, ErrNotFound, `"nope" not found`},
		{"Tekton not installed", schema.GroupVersionResource{Group: "tekton.dev", Version: "v9", Resource: "taskruns"}, taskRunsResource, ErrNotServed, "install Tekton Pipelines"},
		{"OpenShift not there", schema.GroupVersionResource{Group: "build.openshift.io", Version: "v9", Resource: "builds"}, buildsResource, ErrNotServed, "only on OpenShift"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newRunAPI(e.admin, tt.gvr, tt.resource, e.ns, taskRunCondition)
			_, _, err := api.get(t.Context(), "nope")
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("err = %v, want %v saying %q", err, tt.want, tt.wantText)
			}
		})
	}
}
