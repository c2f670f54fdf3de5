package submit

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	buildv1 "github.com/openshift/api/build/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/thoth-station/build-watcher/internal/build"
	"github.com/thoth-station/build-watcher/internal/credential"
	"github.com/thoth-station/build-watcher/internal/credential/kubetoken"
	"github.com/thoth-station/build-watcher/internal/hint"
	"github.com/thoth-station/build-watcher/internal/mirror"
	"github.com/thoth-station/build-watcher/internal/testenv/controlplane"
	"github.com/thoth-station/build-watcher/internal/testenv/registrytest"
	"github.com/thoth-station/build-watcher/internal/thoth"
	"github.com/thoth-station/build-watcher/internal/thoth/thothtest"
	"github.com/thoth-station/build-watcher/internal/usage"
)

const (
	baseRef   = "quay.io/thoth-station/s2i-thoth-ubi9-py311:v0.35.1"
	outputRef = "registry.team.example:5000/team/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

// cp is the package's control plane, for --build-ref.
var cp *controlplane.ControlPlane

func TestMain(m *testing.M) { os.Exit(controlplane.Main(context.Background(), m, &cp)) }

// options returns valid options against host, with fast retries.
func options(host string) Options {
	return Options{
		ThothHost:       host,
		RequestTimeout:  5 * time.Second,
		RetryAttempts:   3,
		RetryMaxTime:    10 * time.Millisecond,
		MaxBodyBytes:    thoth.DefaultMaxBodyBytes,
		EnvironmentType: thoth.EnvironmentRuntime,
		Format:          FormatText,
		TokenSource:     kubetoken.TokenSource{TokenPath: "/nonexistent/token", Kubeconfig: "/nonexistent/kubeconfig"},
	}
}

type run struct {
	stdout, logs bytes.Buffer
}

func (r *run) streams(stdin string) Streams {
	return Streams{
		Stdin:  strings.NewReader(stdin),
		Stdout: &r.stdout,
		Logger: slog.New(slog.NewTextHandler(&r.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRunBadInput(t *testing.T) {
	logFile := writeFile(t, "build.log", "log\n")
	malformedAuth := writeFile(t, "config.json", `{"auths": {"quay.io": {"auth": "!!!"}}}`)
	tests := []struct {
		name   string
		modify func(*Options)
		want   string
	}{
		{name: "no host", modify: func(o *Options) { o.ThothHost = "" }, want: "THOTH_USER_API_HOST"},
		{name: "nothing given", modify: func(o *Options) { o.BaseImage = "" }, want: "nothing to submit"},
		{name: "everything disabled", modify: func(o *Options) {
			o.OutputImage, o.BuildLogFile, o.NoBase, o.NoOutput, o.NoBuildLog = outputRef, logFile, true, true, true
		}, want: "nothing to submit"},
		{name: "environment type", modify: func(o *Options) { o.EnvironmentType = "prod" }, want: "--environment-type"},
		{name: "output format", modify: func(o *Options) { o.Format = "yaml" }, want: "--output"},
		{name: "bad base image", modify: func(o *Options) { o.BaseImage = "Quay.io/UPPER CASE" }, want: "--base-image"},
		{name: "bad output image", modify: func(o *Options) { o.OutputImage = "registry/app@sha256:short" }, want: "--output-image"},
		{name: "user without password", modify: func(o *Options) { o.BaseRegistry.User = "me" }, want: "--src-registry-user and --src-registry-password go together"},
		{name: "password without user", modify: func(o *Options) { o.OutputRegistry.Password = "pw-x1" }, want: "--dst-registry-user and --dst-registry-password go together"},
		{name: "user and auth file", modify: func(o *Options) {
			o.OutputRegistry = Registry{User: "me", Password: "pw-x1", AuthFile: malformedAuth}
		}, want: "conflict"},
		{name: "missing log file", modify: func(o *Options) { o.BuildLogFile = "/nonexistent/build.log" }, want: "--build-log-file"},
		{name: "log file is a directory", modify: func(o *Options) { o.BuildLogFile = t.TempDir() }, want: "is a directory"},
		{name: "missing results dir", modify: func(o *Options) { o.ResultsDir = "/nonexistent/results" }, want: "--results-dir"},
		{name: "missing auth file", modify: func(o *Options) { o.BaseRegistry.AuthFile = "/nonexistent/auth.json" }, want: "--src-registry-auth-file"},
		{name: "malformed auth file", modify: func(o *Options) {
			o.BaseImage, o.BaseRegistry.AuthFile = "quay.io/org/base:1", malformedAuth
		}, want: "--src-registry-auth-file"},
		{name: "push mode", modify: func(o *Options) { o.PushMode = "quay" }, want: "--push-mode must be default or flat"},
		{name: "push registry as URL", modify: func(o *Options) {
			o.OutputImage, o.PushRegistry = outputRef, "https://quay.io/thoth"
		}, want: "not a URL"},
		{name: "flat push registry without repository", modify: func(o *Options) {
			o.OutputImage, o.PushRegistry, o.PushMode = outputRef, "quay.io", mirror.PushModeFlat
		}, want: "give a repository"},
		{name: "zero retry attempts", modify: func(o *Options) { o.RetryAttempts = 0 }, want: "at least 1"},
		{name: "tiny body limit", modify: func(o *Options) { o.MaxBodyBytes = 10 }, want: "body size"},
	}
	srv := thothtest.NewTestServer(t, thothtest.Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := options(srv.URL())
			o.BaseImage = baseRef
			tt.modify(&o)
			var r run
			_, err := Run(t.Context(), o, r.streams(""))
			if !errors.Is(err, usage.ErrBadInput) {
				t.Fatalf("error = %v, want bad input", err)
			}
			if msg := hint.Explain(err, hint.CLI); !strings.Contains(msg, tt.want) {
				t.Errorf("error = %q, want it to name %q", msg, tt.want)
			}
			if strings.Contains(err.Error(), "pw-x1") {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
	if n := srv.Stats().Total; n != 0 {
		t.Errorf("bad input reached the server %d times", n)
	}
}

func TestRunSubmitsAndReports(t *testing.T) {
	srv := thothtest.NewTestServer(t, thothtest.Options{})
	logFile := writeFile(t, "build.log", "STEP 1/5: FROM "+baseRef+"\nERROR: build failed\n")
	results := t.TempDir()
	o := options(srv.URL())
	o.BaseImage, o.OutputImage, o.BuildLogFile, o.ResultsDir, o.Origin = baseRef, outputRef, logFile, results, "team/app-7"
	var r run
	sub, err := Run(t.Context(), o, r.streams(""))
	if err != nil {
		t.Fatal(err)
	}
	want := regexp.MustCompile(`^base-image-analysis-id: package-extract-\d{12}-[0-9a-f]{16}
output-image-analysis-id: package-extract-\d{12}-[0-9a-f]{16}
buildlog-analysis-id: buildlog-parser-\d{12}-[0-9a-f]{16}
buildlog-document-id: buildlog-[0-9a-f]{64}
$`)
	if !want.MatchString(r.stdout.String()) {
		t.Errorf("stdout:\n%s", r.stdout.String())
	}
	for name, value := range map[string]string{
		ResultBaseImageAnalysisID:   sub.Response.BaseImageAnalysis.AnalysisID,
		ResultOutputImageAnalysisID: sub.Response.OutputImageAnalysis.AnalysisID,
		ResultBuildLogAnalysisID:    sub.Response.BuildLogAnalysis.AnalysisID,
		ResultBuildLogDocumentID:    sub.Response.BuildLogDocumentID,
	} {
		got, err := os.ReadFile(filepath.Join(results, name))
		if err != nil || string(got) != value {
			t.Errorf("result %s = %q (%v), want %q", name, got, err, value)
		}
	}
	reqs := srv.Requests()
	if last := reqs[len(reqs)-1]; last.Query.Get("origin") != "team/app-7" || last.Query.Get("environment_type") != "runtime" {
		t.Errorf("query = %s", last.Query.Encode())
	}

	t.Run("again: cached, as JSON, log from stdin", func(t *testing.T) {
		o := o
		o.Format, o.BuildLogFile, o.ResultsDir = FormatJSON, StdinPath, ""
		var r run
		if _, err := Run(t.Context(), o, r.streams("log from stdin\n")); err != nil {
			t.Fatal(err)
		}
		var got thoth.BuildAnalysisResponse
		if err := json.Unmarshal(r.stdout.Bytes(), &got); err != nil {
			t.Fatalf("stdout is not the JSON answer: %v\n%s", err, r.stdout.String())
		}
		if !got.BaseImageAnalysis.Cached || got.BaseImageAnalysis.AnalysisID != sub.Response.BaseImageAnalysis.AnalysisID {
			t.Errorf("second submission of the same images not cached: %+v", got.BaseImageAnalysis)
		}
		reqs := srv.Requests()
		if !bytes.Contains(reqs[len(reqs)-1].Body, []byte(`"log":"log from stdin\n"`)) {
			t.Errorf("body %s does not carry the stdin log", reqs[len(reqs)-1].Body)
		}
	})
	t.Run("no-* switches leave parts out", func(t *testing.T) {
		o := o
		o.NoBase, o.NoBuildLog, o.ResultsDir = true, true, t.TempDir()
		var r run
		if _, err := Run(t.Context(), o, r.streams("")); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(r.stdout.String(), "base-image") || strings.Contains(r.stdout.String(), "buildlog") {
			t.Errorf("stdout shows parts that were left out:\n%s", r.stdout.String())
		}
		got, err := os.ReadFile(filepath.Join(o.ResultsDir, ResultBaseImageAnalysisID))
		if err != nil || len(got) != 0 {
			t.Errorf("result of a part left out = %q (%v), want an empty file", got, err)
		}
		reqs := srv.Requests()
		if !bytes.Contains(reqs[len(reqs)-1].Body, []byte(`"base_image":null`)) {
			t.Errorf("body %s", reqs[len(reqs)-1].Body)
		}
	})
}

func TestRunCredentials(t *testing.T) {
	const (
		registry = "registry.team.example:5000"
		user     = "builder"
		password = "Registry-Pass-77"
		token    = "sha256~ServiceAccountToken-abcdef"
	)
	authFile := writeFile(t, "config.json", `{"auths": {"`+registry+`": {"auth": "`+
		base64.StdEncoding.EncodeToString([]byte(user+":"+password))+`"}}}`)
	tokenFile := writeFile(t, "token", token+"\n")
	tests := []struct {
		name      string
		modify    func(*Options)
		wantUser  string
		wantPass  string
		serverReg map[string]thothtest.Credential
	}{
		{name: "user and password", modify: func(o *Options) { o.OutputRegistry = Registry{User: user, Password: password} },
			wantUser: user, wantPass: password},
		{name: "auth file entry for the image's registry", modify: func(o *Options) { o.OutputRegistry.AuthFile = authFile },
			wantUser: user, wantPass: password},
		{name: "pass token", modify: func(o *Options) {
			o.PassToken, o.TokenSource.TokenPath = true, tokenFile
		}, wantUser: TokenUser, wantPass: token, serverReg: map[string]thothtest.Credential{registry: {Username: TokenUser, Password: token}}},
		{name: "explicit credentials win over the token", modify: func(o *Options) {
			o.OutputRegistry = Registry{User: user, Password: password}
			o.PassToken, o.TokenSource.TokenPath = true, tokenFile
		}, wantUser: user, wantPass: password},
		{name: "no TLS verify for the output registry", modify: func(o *Options) {
			o.OutputRegistry = Registry{User: user, Password: password, NoTLSVerify: true}
		}, wantUser: user, wantPass: password},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := tt.serverReg
			if reg == nil {
				reg = map[string]thothtest.Credential{registry: {Username: user, Password: password}}
			}
			srv := thothtest.NewTestServer(t, thothtest.Options{Registries: reg})
			o := options(srv.URL())
			o.OutputImage = outputRef
			tt.modify(&o)
			var r run
			if _, err := Run(t.Context(), o, r.streams("")); err != nil {
				t.Fatal(err)
			}
			q := srv.Requests()[1].Query
			if q.Get("output_registry_user") != tt.wantUser || q.Get("output_registry_password") != tt.wantPass {
				t.Errorf("sent user %q password set %v", q.Get("output_registry_user"), q.Get("output_registry_password") != "")
			}
			if o.OutputRegistry.NoTLSVerify != (q.Get("output_registry_verify_tls") == "false") {
				t.Errorf("verify_tls = %q", q.Get("output_registry_verify_tls"))
			}
			for where, text := range map[string]string{"stdout": r.stdout.String(), "logs": r.logs.String()} {
				if strings.Contains(text, tt.wantPass) {
					t.Errorf("%s shows the password", where)
				}
			}
		})
	}
	t.Run("pass token without a token", func(t *testing.T) {
		srv := thothtest.NewTestServer(t, thothtest.Options{})
		o := options(srv.URL())
		o.OutputImage, o.PassToken, o.TokenSource.Kubeconfig = outputRef, true, ""
		t.Setenv("KUBECONFIG", "/nonexistent/kubeconfig")
		t.Setenv("HOME", t.TempDir())
		var r run
		_, err := Run(t.Context(), o, r.streams(""))
		if !errors.Is(err, credential.ErrNoToken) || !strings.Contains(hint.Explain(err, hint.CLI), "--pass-token") {
			t.Fatalf("error = %v, want ErrNoToken naming --pass-token", err)
		}
	})
}

// TestRunForbiddenHidesPassword: Thoth refuses a wrong password with 403 and echoes it; the
// run fails after one attempt, writes no results, and the password is in no output.
func TestRunForbiddenHidesPassword(t *testing.T) {
	const password = "Not-The-Right-Password-1"
	srv := thothtest.NewTestServer(t, thothtest.Options{Registries: map[string]thothtest.Credential{
		"registry.team.example:5000": {Username: "builder", Password: "right"},
	}})
	results := t.TempDir()
	o := options(srv.URL())
	o.OutputImage, o.OutputRegistry, o.ResultsDir = outputRef, Registry{User: "builder", Password: password}, results
	var r run
	_, err := Run(t.Context(), o, r.streams(""))
	if err == nil || errors.Is(err, usage.ErrBadInput) {
		t.Fatalf("error = %v, want a failure that is not bad input", err)
	}
	var apiErr *thoth.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 403 {
		t.Fatalf("error = %v, want a 403", err)
	}
	if msg := hint.Explain(err, hint.CLI); !strings.Contains(msg, "--dst-registry-user") {
		t.Errorf("error %q gives no hint in flags", msg)
	}
	if msg := hint.Explain(err, hint.Task); !strings.Contains(msg, "the dst-registry-auth workspace") || strings.Contains(msg, "--") {
		t.Errorf("error %q gives no hint in the Task's words", msg)
	}
	for where, text := range map[string]string{"error": err.Error(), "stdout": r.stdout.String(), "logs": r.logs.String()} {
		if strings.Contains(text, password) {
			t.Errorf("%s shows the password: %s", where, text)
		}
	}
	if srv.Stats().Rejected != 1 {
		t.Errorf("stats %+v: want exactly one rejected submission", srv.Stats())
	}
	if entries, _ := os.ReadDir(results); len(entries) != 0 {
		t.Errorf("results written for a failed submission: %v", entries)
	}
	if !bytes.Contains(srv.Requests()[1].Body, []byte(outputRef)) {
		t.Error("submission not recorded")
	}
}

func TestRunEmptyLogOnly(t *testing.T) {
	srv := thothtest.NewTestServer(t, thothtest.Options{})
	o := options(srv.URL())
	o.BuildLogFile = writeFile(t, "empty.log", "")
	var r run
	_, err := Run(t.Context(), o, r.streams(""))
	if !errors.Is(err, usage.ErrBadInput) || !errors.Is(err, thoth.ErrNothingToSubmit) {
		t.Fatalf("error = %v, want nothing to submit as bad input", err)
	}
}

func TestRunFromBuildRef(t *testing.T) {
	ns, front := cp.NamespaceWithFront(t, "submit")
	cfg := front.Config(cp.Config())
	b := &buildv1.Build{ObjectMeta: metav1.ObjectMeta{Name: "app-3"}, Spec: buildv1.BuildSpec{CommonSpec: buildv1.CommonSpec{
		Strategy: buildv1.BuildStrategy{Type: buildv1.SourceBuildStrategyType, SourceStrategy: &buildv1.SourceBuildStrategy{
			From: corev1.ObjectReference{Kind: "DockerImage", Name: baseRef}}},
	}}, Status: buildv1.BuildStatus{Phase: buildv1.BuildPhaseFailed}}
	const log = "Collecting tensorflow==9.9\nERROR: No matching distribution found for tensorflow==9.9\n"
	if _, err := front.CreateBuild(t.Context(), ns, b, []byte(log)); err != nil {
		t.Fatal(err)
	}

	srv := thothtest.NewTestServer(t, thothtest.Options{})
	o := options(srv.URL())
	o.BuildRef, o.REST = "build/"+ns+"/app-3", cfg
	var r run
	sub, err := Run(t.Context(), o, r.streams(""))
	if err != nil {
		t.Fatal(err)
	}
	if sub.Response.BaseImageAnalysis == nil || sub.Response.BuildLogAnalysis == nil || sub.Response.OutputImageAnalysis != nil {
		t.Errorf("answer %+v: want base image and log analyses only (a failed build has no output)", sub.Response)
	}
	last := srv.Requests()[len(srv.Requests())-1]
	var body struct {
		BaseImage string `json:"base_image"`
		BuildLog  struct {
			Log string `json:"log"`
		} `json:"build_log"`
	}
	if err := json.Unmarshal(last.Body, &body); err != nil {
		t.Fatal(err)
	}
	if body.BaseImage != baseRef || body.BuildLog.Log != log || last.Query.Get("origin") != o.BuildRef {
		t.Errorf("sent base %q, log %q, origin %q", body.BaseImage, body.BuildLog.Log, last.Query.Get("origin"))
	}

	o.BuildRef = "build/" + ns + "/no-such-build"
	if _, err := Run(t.Context(), o, r.streams("")); !errors.Is(err, build.ErrNotFound) {
		t.Errorf("missing build: %v, want ErrNotFound", err)
	}
	o.BuildRef = "build/" + ns
	if _, err := Run(t.Context(), o, r.streams("")); !errors.Is(err, usage.ErrBadInput) {
		t.Errorf("malformed ref: %v, want bad input", err)
	}
}

// sentImages decodes the images of the last submission.
func sentImages(t *testing.T, srv *thothtest.Server) (base, output string) {
	t.Helper()
	reqs := srv.Requests()
	var body struct {
		BaseImage   *string `json:"base_image"`
		OutputImage *string `json:"output_image"`
	}
	if err := json.Unmarshal(reqs[len(reqs)-1].Body, &body); err != nil {
		t.Fatal(err)
	}
	if body.BaseImage != nil {
		base = *body.BaseImage
	}
	if body.OutputImage != nil {
		output = *body.OutputImage
	}
	return base, output
}

// TestRunPushRegistry: with --push-registry, Thoth gets mirror-image's copy of the output
// image, by the output image's digest, with the --dst credentials and never the token.
func TestRunPushRegistry(t *testing.T) {
	const (
		digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
		token  = "sha256~ServiceAccountToken-push"
		user   = "thoth+robot"
		pass   = "Robot-Pass-31"
	)
	authFile := writeFile(t, "config.json", `{"auths": {"quay.io": {"auth": "`+
		base64.StdEncoding.EncodeToString([]byte(user+":"+pass))+`"}}}`)
	tokenFile := writeFile(t, "token", token)
	tests := []struct {
		name         string
		output       string
		pushRegistry string
		mode         mirror.PushMode
		modify       func(*Options)
		want         string
		wantUser     string
		wantLog      string
	}{
		{name: "default mode, by digest", output: outputRef, pushRegistry: "quay.io/thoth",
			want: "quay.io/thoth/app@" + digest, wantLog: "by digest"},
		{name: "no mode is the default mode", output: outputRef, pushRegistry: "quay.io/thoth", mode: "",
			want: "quay.io/thoth/app@" + digest},
		{name: "default mode, tag and digest", output: "registry.team.example:5000/team/app:v1@" + digest, pushRegistry: "quay.io/thoth/",
			want: "quay.io/thoth/app@" + digest},
		{name: "flat mode, by digest", output: outputRef, pushRegistry: "quay.io/thoth/images", mode: mirror.PushModeFlat,
			want: "quay.io/thoth/images@" + digest},
		{name: "default mode, no digest: the copy's tag", output: "registry.team.example:5000/team/app:v1", pushRegistry: "quay.io/thoth",
			want: "quay.io/thoth/app:v1", wantLog: "has no digest"},
		{name: "flat mode, no digest: the copy's tag", output: "registry.team.example:5000/team/app:v1", pushRegistry: "quay.io/thoth/images", mode: mirror.PushModeFlat,
			want: "quay.io/thoth/images:app-v1", wantLog: "has no digest"},
		{name: "the token goes to the base image, never to the copy", output: outputRef, pushRegistry: "quay.io/thoth",
			modify: func(o *Options) {
				o.BaseImage, o.PassToken, o.TokenSource.TokenPath = "image-registry.openshift-image-registry.svc:5000/team/base:1", true, tokenFile
			},
			want: "quay.io/thoth/app@" + digest},
		{name: "the auth file entry of the copy's registry", output: outputRef, pushRegistry: "quay.io/thoth",
			modify: func(o *Options) {
				o.OutputRegistry.AuthFile, o.PassToken, o.TokenSource.TokenPath = authFile, true, tokenFile
			},
			want: "quay.io/thoth/app@" + digest, wantUser: user},
		{name: "without a push registry the output image is sent as it is", output: outputRef,
			modify: func(o *Options) { o.PassToken, o.TokenSource.TokenPath = true, tokenFile },
			want:   outputRef, wantUser: TokenUser},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := thothtest.NewTestServer(t, thothtest.Options{})
			o := options(srv.URL())
			o.OutputImage, o.PushRegistry, o.PushMode = tt.output, tt.pushRegistry, tt.mode
			if tt.modify != nil {
				tt.modify(&o)
			}
			var r run
			if _, err := Run(t.Context(), o, r.streams("")); err != nil {
				t.Fatal(err)
			}
			base, output := sentImages(t, srv)
			if output != tt.want {
				t.Errorf("sent output image %q, want %q", output, tt.want)
			}
			q := srv.Requests()[len(srv.Requests())-1].Query
			if got := q.Get("output_registry_user"); got != tt.wantUser {
				t.Errorf("output registry user %q, want %q", got, tt.wantUser)
			}
			if tt.pushRegistry != "" && strings.Contains(q.Get("output_registry_password"), token) {
				t.Error("the service-account token was sent for the copy in the push registry")
			}
			if o.PassToken && base != "" && (q.Get("base_registry_user") != TokenUser || q.Get("base_registry_password") != token) {
				t.Errorf("base image %s: user %q, want the token", base, q.Get("base_registry_user"))
			}
			if !strings.Contains(r.logs.String(), tt.wantLog) {
				t.Errorf("logs lack %q:\n%s", tt.wantLog, r.logs.String())
			}
			for where, text := range map[string]string{"stdout": r.stdout.String(), "logs": r.logs.String()} {
				if strings.Contains(text, token) || strings.Contains(text, pass) {
					t.Errorf("%s shows a secret", where)
				}
			}
		})
	}
}

// TestRunPushRegistryNamesMirrorsCopy: the output image submit-thoth sends with
// --push-registry is exactly the image mirror-image reports for the copy it made.
func TestRunPushRegistryNamesMirrorsCopy(t *testing.T) {
	src, dst := registrytest.StartInProcess(t), registrytest.StartInProcess(t)
	img := src.PushRandomImage(t, "team/app:v1", 1, 512)
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	for _, source := range []string{src.Ref("team/app@" + d.String()), src.Ref("team/app:v1@" + d.String())} {
		for _, push := range []struct {
			registry string
			mode     mirror.PushMode
		}{{dst.Host() + "/thoth", mirror.PushModeDefault}, {dst.Host() + "/flat/images", mirror.PushModeFlat}} {
			t.Run(source+" "+string(push.mode), func(t *testing.T) {
				target, err := mirror.Target(source, "", push.registry, push.mode)
				if err != nil {
					t.Fatal(err)
				}
				res, err := mirror.Mirror(t.Context(), source, target, mirror.WithInsecureRegistries(src.Host(), dst.Host()))
				if err != nil {
					t.Fatal(err)
				}
				srv := thothtest.NewTestServer(t, thothtest.Options{})
				o := options(srv.URL())
				o.OutputImage, o.PushRegistry, o.PushMode = source, push.registry, push.mode
				var r run
				if _, err := Run(t.Context(), o, r.streams("")); err != nil {
					t.Fatal(err)
				}
				if _, output := sentImages(t, srv); output != res.Image {
					t.Errorf("submitted %q, mirror-image reported %q", output, res.Image)
				}
			})
		}
	}
}

// TestRunFromFile submits a saved build, read from a file (as --from-file or as the
// --build-ref) or from standard input: its images and origin, no log.
func TestRunFromFile(t *testing.T) {
	saved := `apiVersion: build.openshift.io/v1
kind: Build
metadata: {name: app-4, namespace: team}
spec:
  strategy:
    type: Source
    sourceStrategy: {from: {kind: DockerImage, name: "` + baseRef + `"}}
status:
  phase: Complete
  outputDockerImageReference: team/app:4
`
	path := writeFile(t, "app-4.yaml", saved)
	srv := thothtest.NewTestServer(t, thothtest.Options{})
	tests := []struct {
		name  string
		edit  func(*Options)
		stdin string
		// output is the output image sent, "" for none.
		output string
	}{
		{"--from-file", func(o *Options) { o.FromFile = path }, "", ""},
		{"--build-ref names the file", func(o *Options) { o.BuildRef = path; o.DefaultRegistry = "registry.example.com" }, "", "registry.example.com/team/app:4"},
		{"standard input, chosen by --build-ref", func(o *Options) { o.FromFile, o.BuildRef = StdinPath, "build/team/app-4" }, saved, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := options(srv.URL())
			tt.edit(&o)
			var r run
			if _, err := Run(t.Context(), o, r.streams(tt.stdin)); err != nil {
				t.Fatalf("%v (logs %s)", err, r.logs.String())
			}
			last := srv.Requests()[len(srv.Requests())-1]
			var body struct {
				BaseImage   string         `json:"base_image"`
				OutputImage string         `json:"output_image"`
				BuildLog    map[string]any `json:"build_log"`
			}
			if err := json.Unmarshal(last.Body, &body); err != nil {
				t.Fatal(err)
			}
			if body.BaseImage != baseRef || body.OutputImage != tt.output || body.BuildLog["log"] != nil || last.Query.Get("origin") != "build/team/app-4" {
				t.Errorf("sent base %q, output %q, log %v, origin %q", body.BaseImage, body.OutputImage, body.BuildLog, last.Query.Get("origin"))
			}
			if !strings.Contains(r.logs.String(), "saved object, which holds no logs") {
				t.Errorf("logs do not say the log is missing: %s", r.logs.String())
			}
		})
	}
	for _, bad := range []struct {
		name string
		edit func(*Options)
		want string
	}{
		{"both on stdin", func(o *Options) { o.FromFile, o.BuildLogFile = StdinPath, StdinPath }, "cannot both read standard input"},
		{"missing file", func(o *Options) { o.FromFile = path + ".gone" }, "--from-file: opening the saved objects"},
		{"another build", func(o *Options) { o.FromFile, o.BuildRef = path, "build/team/app-5" }, "holds no build in namespace team named app-5"},
		{"bad default registry", func(o *Options) { o.FromFile, o.DefaultRegistry = path, "registry" }, "--default-registry"},
	} {
		t.Run(bad.name, func(t *testing.T) {
			o := options(srv.URL())
			bad.edit(&o)
			var r run
			if _, err := Run(t.Context(), o, r.streams("")); !errors.Is(err, usage.ErrBadInput) || !strings.Contains(err.Error(), bad.want) {
				t.Errorf("err = %v, want bad input saying %q", err, bad.want)
			}
		})
	}
}
