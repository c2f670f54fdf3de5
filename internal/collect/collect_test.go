package collect

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	buildv1 "github.com/openshift/api/build/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/thoth-station/build-watcher/internal/build"
	"github.com/thoth-station/build-watcher/internal/testenv/controlplane"
	"github.com/thoth-station/build-watcher/internal/usage"
)

var cp *controlplane.ControlPlane

func TestMain(m *testing.M) { os.Exit(controlplane.Main(context.Background(), m, &cp)) }

func streams(out *bytes.Buffer) Streams {
	return Streams{Stdout: out, Logger: slog.New(slog.DiscardHandler)}
}

func TestRunBadInput(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{name: "no build", opts: Options{}, want: "which build?"},
		{name: "ref and name", opts: Options{BuildRef: "build/a/b", Kind: "build", Name: "b"}, want: "conflict"},
		{name: "bad ref", opts: Options{BuildRef: "build/a"}, want: "--build-ref"},
		{name: "bad kind", opts: Options{Kind: "deployment", Name: "x"}, want: "is not one of"},
		{name: "bad output", opts: Options{BuildRef: "build/a/b", Format: "yaml"}, want: "--output"},
		{name: "negative timeout", opts: Options{BuildRef: "build/a/b", Timeout: -1}, want: "--timeout"},
		{name: "missing results dir", opts: Options{BuildRef: "build/a/b", ResultsDir: "/nonexistent/results"}, want: "--results-dir"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.opts.Format == "" {
				tt.opts.Format = FormatText
			}
			tt.opts.REST = cp.Config()
			var out bytes.Buffer
			_, err := Run(t.Context(), tt.opts, streams(&out))
			if !errors.Is(err, usage.ErrBadInput) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want bad input naming %q", err, tt.want)
			}
		})
	}
}

func TestRunWritesResults(t *testing.T) {
	ns, front := cp.NamespaceWithFront(t, "collect")
	cfg := front.Config(cp.Config())
	b := &buildv1.Build{ObjectMeta: metav1.ObjectMeta{Name: "app-8"}, Spec: buildv1.BuildSpec{CommonSpec: buildv1.CommonSpec{
		Strategy: buildv1.BuildStrategy{Type: buildv1.SourceBuildStrategyType, SourceStrategy: &buildv1.SourceBuildStrategy{
			From: corev1.ObjectReference{Kind: "DockerImage", Name: "registry.access.redhat.com/ubi9/python-311:latest"}}},
	}}, Status: buildv1.BuildStatus{Phase: buildv1.BuildPhaseFailed}}
	if _, err := front.CreateBuild(t.Context(), ns, b, []byte("Collecting tensorflow==9.9\nERROR: No matching distribution found for tensorflow==9.9\n")); err != nil {
		t.Fatal(err)
	}

	results, logFile := t.TempDir(), filepath.Join(t.TempDir(), "build.log")
	var out bytes.Buffer
	rec, err := Run(t.Context(), Options{BuildRef: "build/" + ns + "/app-8", LogFile: logFile, ResultsDir: results, Format: FormatText, REST: cfg}, streams(&out))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		ResultPhase:          "Failed",
		ResultBaseImage:      "registry.access.redhat.com/ubi9/python-311:latest",
		ResultOutputImage:    "",
		ResultLogPath:        logFile,
		ResultFailureSummary: "ERROR: No matching distribution found for tensorflow==9.9",
	}
	for name, value := range want {
		got, err := os.ReadFile(filepath.Join(results, name))
		if err != nil || string(got) != value {
			t.Errorf("result %s = %q (%v), want %q", name, got, err, value)
		}
	}
	for _, line := range []string{"build: build/" + ns + "/app-8", "phase: Failed (Failed)", "failure-summary:"} {
		if !strings.Contains(out.String(), line) {
			t.Errorf("output lacks %q:\n%s", line, out.String())
		}
	}

	out.Reset()
	if _, err := Run(t.Context(), Options{Kind: "Build", Name: "app-8", Namespace: ns, Format: FormatJSON, REST: cfg}, streams(&out)); err != nil {
		t.Fatal(err)
	}
	var got build.Record
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("JSON output: %v\n%s", err, out.String())
	}
	if got.UID != rec.UID || got.Phase != build.PhaseFailed || got.Log.Path != "" {
		t.Errorf("JSON record %+v", got)
	}

	// Without a log file (the Task's build-log workspace unbound) the log is still read for
	// what only it tells, and log-path is empty.
	results = t.TempDir()
	if _, err := Run(t.Context(), Options{BuildRef: "build/" + ns + "/app-8", ResultsDir: results, Format: FormatText, REST: cfg}, streams(&out)); err != nil {
		t.Fatal(err)
	}
	want[ResultLogPath] = ""
	for name, value := range want {
		got, err := os.ReadFile(filepath.Join(results, name))
		if err != nil || string(got) != value {
			t.Errorf("without --log-file: result %s = %q (%v), want %q", name, got, err, value)
		}
	}
}

// TestRunLogFile: --log-file names the log file, or, as Tekton binds a workspace, a
// directory that receives build.log; log-path and the record say where the log went.
func TestRunLogFile(t *testing.T) {
	ns, front := cp.NamespaceWithFront(t, "collect")
	cfg := front.Config(cp.Config())
	const log = "STEP 1/2: FROM registry.access.redhat.com/ubi9/python-311:latest\nERROR: build failed\n"
	b := &buildv1.Build{ObjectMeta: metav1.ObjectMeta{Name: "app-9"}, Spec: buildv1.BuildSpec{CommonSpec: buildv1.CommonSpec{
		Strategy: buildv1.BuildStrategy{Type: buildv1.DockerBuildStrategyType, DockerStrategy: &buildv1.DockerBuildStrategy{}},
	}}, Status: buildv1.BuildStatus{Phase: buildv1.BuildPhaseFailed}}
	if _, err := front.CreateBuild(t.Context(), ns, b, []byte(log)); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		// setup returns the --log-file value and the file the log must be in.
		setup func(t *testing.T) (value, want string)
	}{
		{name: "a file", setup: func(t *testing.T) (string, string) {
			f := filepath.Join(t.TempDir(), "app-9.log")
			return f, f
		}},
		{name: "a file that exists is replaced", setup: func(t *testing.T) (string, string) {
			f := filepath.Join(t.TempDir(), "app-9.log")
			if err := os.WriteFile(f, []byte(strings.Repeat("old\n", 100)), 0o600); err != nil {
				t.Fatal(err)
			}
			return f, f
		}},
		{name: "a directory, as a bound workspace", setup: func(t *testing.T) (string, string) {
			d := t.TempDir()
			return d, filepath.Join(d, LogFileName)
		}},
		{name: "a directory with a trailing slash", setup: func(t *testing.T) (string, string) {
			d := t.TempDir()
			return d + "/", filepath.Join(d, LogFileName)
		}},
		{name: "a directory holding an old build.log", setup: func(t *testing.T) (string, string) {
			d := t.TempDir()
			if err := os.WriteFile(filepath.Join(d, LogFileName), []byte(strings.Repeat("old\n", 100)), 0o600); err != nil {
				t.Fatal(err)
			}
			return d, filepath.Join(d, LogFileName)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			value, want := tt.setup(t)
			results := t.TempDir()
			var out bytes.Buffer
			rec, err := Run(t.Context(), Options{BuildRef: "build/" + ns + "/app-9", LogFile: value, ResultsDir: results, Format: FormatJSON, REST: cfg}, streams(&out))
			if err != nil {
				t.Fatal(err)
			}
			if got, err := os.ReadFile(want); err != nil || string(got) != log {
				t.Errorf("%s = %q (%v), want the build log", want, got, err)
			}
			if got, err := os.ReadFile(filepath.Join(results, ResultLogPath)); err != nil || string(got) != want {
				t.Errorf("result %s = %q (%v), want %q", ResultLogPath, got, err, want)
			}
			var printed build.Record
			if err := json.Unmarshal(out.Bytes(), &printed); err != nil {
				t.Fatalf("JSON output: %v\n%s", err, out.String())
			}
			if rec.Log.Path != want || printed.Log.Path != want || printed.Log.Bytes != int64(len(log)) {
				t.Errorf("record log %+v, printed %+v; want path %s", rec.Log, printed.Log, want)
			}
		})
	}

	t.Run("a file in a directory that does not exist", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "no-such-dir", LogFileName)
		var out bytes.Buffer
		_, err := Run(t.Context(), Options{BuildRef: "build/" + ns + "/app-9", LogFile: missing, Format: FormatText, REST: cfg}, streams(&out))
		if err == nil || !strings.Contains(err.Error(), missing) || strings.Count(err.Error(), "\n") != 0 {
			t.Errorf("error = %v, want one line naming %s", err, missing)
		}
	})
}
