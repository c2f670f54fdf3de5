package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/thoth-station/build-watcher/internal/cliapp/clitest"
	"github.com/thoth-station/build-watcher/internal/hint"
	"github.com/thoth-station/build-watcher/internal/mirror"
	"github.com/thoth-station/build-watcher/internal/testenv/registrytest"
	"github.com/thoth-station/build-watcher/internal/version"
)

// runApp runs the app as main does and returns the exit code, stdout and stderr.
func runApp(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return clitest.Run(t, newApp(), args...)
}

// clearEnv unsets the variables the flags read (see clitest.ClearEnv).
func clearEnv(t *testing.T) { clitest.ClearEnv(t, newApp()) }

func TestCommandLine(t *testing.T) {
	clearEnv(t)
	const secret = "Secret-Pw-55"
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := []string{"--source", "registry.local/team/app:v1"}
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{name: "version", args: []string{"--version"}, wantStdout: version.Version},
		{name: "help", args: []string{"--help"}, wantStdout: "--push-registry"},
		{name: "unknown flag", args: []string{"--frobnicate"}, wantCode: 2, wantStderr: "mirror-image: flag provided but not defined: -frobnicate\n"},
		{name: "stray argument", args: append(src, "--push-registry", "quay.io/x", "extra"), wantCode: 2, wantStderr: `unexpected argument "extra"`},
		{name: "no source", args: []string{"--push-registry", "quay.io/x"}, wantCode: 2, wantStderr: "THOTH_SOURCE_IMAGE"},
		{name: "bad source", args: []string{"--source", "Not/A:Ref:", "--push-registry", "quay.io/x"}, wantCode: 2, wantStderr: `--source "Not/A:Ref:" is not an image reference`},
		{name: "no destination", args: src, wantCode: 2, wantStderr: "THOTH_PUSH_REGISTRY"},
		{name: "destination and push registry", args: append(src, "--push-registry", "quay.io/x", "--destination", "quay.io/y/app:v1"), wantCode: 2, wantStderr: "conflict"},
		{name: "bad push mode", args: append(src, "--push-registry", "quay.io/x", "--push-mode", "quay"), wantCode: 2, wantStderr: "--push-mode must be default or flat"},
		{name: "flat mode needs a repository", args: append(src, "--push-registry", "quay.io", "--push-mode", "flat"), wantCode: 2, wantStderr: "give a repository"},
		{name: "push registry as URL", args: append(src, "--push-registry", "https://quay.io/x"), wantCode: 2, wantStderr: "not a URL"},
		{name: "bad destination", args: append(src, "--destination", "UPPER/case"), wantCode: 2, wantStderr: "--destination"},
		{name: "no jobs", args: append(src, "--push-registry", "quay.io/x", "--jobs", "0"), wantCode: 2, wantStderr: "--jobs must be at least 1"},
		{name: "jobs not a number", args: append(src, "--push-registry", "quay.io/x", "--jobs", "many"), wantCode: 2, wantStderr: "many"},
		{name: "bad output", args: append(src, "--push-registry", "quay.io/x", "--output", "yaml"), wantCode: 2, wantStderr: "--output must be text or json"},
		{name: "insecure registry with scheme", args: append(src, "--push-registry", "quay.io/x", "--insecure-registry", "http://quay.io"), wantCode: 2, wantStderr: "without scheme"},
		{name: "user without password", args: append(src, "--push-registry", "quay.io/x", "--dst-registry-user", "bob"), wantCode: 2, wantStderr: "go together"},
		{name: "password and auth file", args: append(src, "--push-registry", "quay.io/x", "--src-registry-user", "bob", "--src-registry-password", secret, "--src-registry-auth-file", file), wantCode: 2, wantStderr: "conflict"},
		{name: "missing auth file", args: append(src, "--push-registry", "quay.io/x", "--dst-registry-auth-file", file+".missing"), wantCode: 2, wantStderr: "--dst-registry-auth-file"},
		{name: "auth file not JSON", args: append(src, "--push-registry", "quay.io/x", "--dst-registry-auth-file", file), wantCode: 2, wantStderr: "docker config"},
		{name: "CA file not PEM", args: append(src, "--push-registry", "quay.io/x", "--registry-ca-file", file), wantCode: 2, wantStderr: "--registry-ca-file"},
		{name: "results dir missing", args: append(src, "--push-registry", "quay.io/x", "--results-dir", file+".missing"), wantCode: 2, wantStderr: "--results-dir"},
		{name: "results dir is a file", args: append(src, "--push-registry", "quay.io/x", "--results-dir", file), wantCode: 2, wantStderr: "not a directory"},
		{name: "bad bool", args: append(src, "--push-registry", "quay.io/x", "--quiet=maybe"), wantCode: 2, wantStderr: "maybe"},
		{name: "unreachable registry", args: []string{"--source", "127.0.0.1:1/team/app:v1", "--push-registry", "127.0.0.1:1/x", "--insecure-registry", "127.0.0.1:1",
			"--src-registry-user", "u", "--src-registry-password", secret}, wantCode: 1, wantStderr: "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runApp(t, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d (stderr %q)", code, tt.wantCode, stderr)
			}
			if !strings.Contains(stdout, tt.wantStdout) {
				t.Errorf("stdout %q lacks %q", stdout, tt.wantStdout)
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr %q lacks %q", stderr, tt.wantStderr)
			}
			if tt.wantCode != 0 && (strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "mirror-image: ")) {
				t.Errorf("stderr is not one line: %q", stderr)
			}
			if strings.Contains(stdout+stderr, secret) {
				t.Error("the password is shown")
			}
		})
	}
}

func TestMirrorsAndWritesTheResult(t *testing.T) {
	clearEnv(t)
	src, dst := registrytest.StartInProcess(t), registrytest.StartInProcess(t)
	img := src.PushRandomImage(t, "team/app:v1", 2, 1024)
	digest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	want := dst.Ref("thoth/app@" + digest.String())

	code, stdout, stderr := runApp(t, "--source", src.Ref("team/app:v1"), "--push-registry", dst.Host()+"/thoth",
		"--insecure-registry", src.Host(), "--insecure-registry", dst.Host(), "--results-dir", dir)
	if code != 0 || stdout != "image: "+want+"\n" || stderr != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q; want image %s", code, stdout, stderr, want)
	}
	got, err := os.ReadFile(filepath.Join(dir, mirror.ResultImage))
	if err != nil || string(got) != want {
		t.Errorf("result file = %q, %v; want %q", got, err, want)
	}

	// The environment, and JSON output.
	t.Setenv("THOTH_SOURCE_IMAGE", src.Ref("team/app:v1"))
	t.Setenv("THOTH_PUSH_REGISTRY", dst.Host()+"/flat/images")
	t.Setenv("THOTH_PUSH_MODE", "flat")
	t.Setenv("THOTH_INSECURE_REGISTRIES", src.Host()+","+dst.Host())
	code, stdout, stderr = runApp(t, "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	var res mirror.Result
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("output %q: %v", stdout, err)
	}
	if res.Image != dst.Ref("flat/images@"+digest.String()) || res.Destination != dst.Ref("flat/images:app-v1") || res.BlobsUploaded != 3 {
		t.Errorf("result = %+v", res)
	}
}

// TestInsecureRegistriesVariable: THOTH_INSECURE_REGISTRIES is a Task param, "" by default;
// an empty value and blank entries between commas mean no registry, not an empty name.
func TestInsecureRegistriesVariable(t *testing.T) {
	clearEnv(t)
	src, dst := registrytest.StartInProcess(t), registrytest.StartInProcess(t)
	src.PushRandomImage(t, "team/app:v1", 1, 512)
	tests := []struct {
		name       string
		value      string
		source     string
		wantCode   int
		wantStderr string
	}{
		// Nothing answers at 127.0.0.1:1: getting that far shows the value was accepted.
		{name: "empty", value: "", source: "127.0.0.1:1/team/app:v1", wantCode: 1, wantStderr: "connection refused"},
		{name: "blanks and commas", value: " , ,", source: "127.0.0.1:1/team/app:v1", wantCode: 1, wantStderr: "connection refused"},
		{name: "registries among blank entries", value: "," + src.Host() + ", ," + dst.Host() + ",", source: src.Ref("team/app:v1")},
		{name: "a bad entry is still refused", value: src.Host() + ",http://" + dst.Host(), source: src.Ref("team/app:v1"), wantCode: 2, wantStderr: "without scheme"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("THOTH_INSECURE_REGISTRIES", tt.value)
			code, _, stderr := runApp(t, "--source", tt.source, "--push-registry", dst.Host()+"/thoth", "--quiet")
			if code != tt.wantCode || !strings.Contains(stderr, tt.wantStderr) || strings.Contains(stderr, "empty registry name") {
				t.Errorf("THOTH_INSECURE_REGISTRIES=%q: exit %d, stderr %q; want exit %d and %q", tt.value, code, stderr, tt.wantCode, tt.wantStderr)
			}
		})
	}
}

func TestFailureLeavesNoResult(t *testing.T) {
	clearEnv(t)
	src := registrytest.StartInProcess(t)
	dst := registrytest.StartDistribution(t, registrytest.DistributionOptions{Auth: true})
	src.PushRandomImage(t, "team/app:v1", 1, 1024)
	dir := t.TempDir()
	t.Setenv("THOTH_DST_REGISTRY_PASSWORD", "Wrong-"+dst.Password())
	code, stdout, stderr := runApp(t, "--source", src.Ref("team/app:v1"), "--push-registry", dst.Host(),
		"--insecure-registry", src.Host(), "--insecure-registry", dst.Host(), "--results-dir", dir, "--dst-registry-user", dst.Username())
	if code != 1 || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "refused the credentials") {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit 1 and one line about the credentials", code, stdout, stderr)
	}
	if strings.Contains(stderr, dst.Password()) {
		t.Error("the password is shown")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a failed copy wrote results: %v", entries)
	}
}

// TestREADMEDocumentsEveryFlag keeps --help and the README in agreement: every flag and
// environment variable of the binary appears in the README.
func TestREADMEDocumentsEveryFlag(t *testing.T) {
	clitest.READMEDocumentsFlags(t, newApp(), "../../README.md")
}

// TestNoKubernetesDependency keeps mirror-image small and free of cluster access, in the
// image of crane's depcheck: no package of client-go, the Kubernetes API machinery,
// OpenShift or Tekton is linked in. A failure names the allowed packages that import a
// forbidden one, which is where to cut.
func TestNoKubernetesDependency(t *testing.T) {
	// go test puts its own go first in PATH.
	out, err := exec.CommandContext(t.Context(), "go", "list", "-deps", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, ".").Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("go list -deps: %v\n%s", err, stderr)
	}
	forbidden := func(pkg string) bool {
		for _, prefix := range []string{"k8s.io/", "sigs.k8s.io/", "github.com/openshift/", "github.com/tektoncd/", "knative.dev/"} {
			if strings.HasPrefix(pkg, prefix) {
				return true
			}
		}
		return false
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || forbidden(fields[0]) {
			continue
		}
		for _, imp := range fields[1:] {
			if forbidden(imp) {
				t.Errorf("mirror-image links %s through %s", imp, fields[0])
			}
		}
	}
}

// TestDeprecatedCAFile: the old --ca-file (THOTH_CA_FILE) still works for this release, and
// says on stderr what replaces it; with the new name set too, the old one is ignored.
func TestDeprecatedCAFile(t *testing.T) {
	clearEnv(t)
	notPEM := filepath.Join(t.TempDir(), "ca.txt")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"--source", "registry.local/team/app:v1", "--push-registry", "quay.io/x"}
	t.Setenv("THOTH_CA_FILE", notPEM)
	code, _, stderr := runApp(t, args...)
	if code != 2 || !strings.Contains(stderr, "--ca-file (THOTH_CA_FILE) is deprecated: use --registry-ca-file (THOTH_REGISTRY_CA_FILE)") ||
		!strings.Contains(stderr, "reading the registry CAs: "+notPEM+" holds no PEM certificate") || !strings.HasSuffix(stderr, "; check --registry-ca-file\n") {
		t.Errorf("THOTH_CA_FILE: exit %d, stderr %q", code, stderr)
	}
	// In a Task, the same failure names the workspace the CAs come from.
	t.Setenv(hint.TaskEnv, "true")
	code, _, stderr = runApp(t, args...)
	if code != 2 || !strings.HasSuffix(stderr, "; check the registry-ca workspace\n") {
		t.Errorf("in a Task: exit %d, stderr %q", code, stderr)
	}
	t.Setenv(hint.TaskEnv, "")
	code, _, stderr = runApp(t, append(args, "--registry-ca-file", notPEM)...)
	if code != 2 || !strings.Contains(stderr, "is deprecated and ignored: --registry-ca-file (THOTH_REGISTRY_CA_FILE) is set") {
		t.Errorf("both names: exit %d, stderr %q", code, stderr)
	}
}

func TestFlagsSpeakTheVocabulary(t *testing.T) { clitest.CheckVocabulary(t, newApp()) }
