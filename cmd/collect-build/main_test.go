package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/thoth-station/build-watcher/internal/cliapp/clitest"
	"github.com/thoth-station/build-watcher/internal/version"
)

func TestCommandLine(t *testing.T) {
	clitest.ClearEnv(t, newApp())
	t.Setenv("KUBECONFIG", "/nonexistent/kubeconfig")
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	tests := []struct {
		name                   string
		args                   []string
		wantCode               int
		wantStdout, wantStderr string
	}{
		{name: "version", args: []string{"--version"}, wantStdout: version.Version},
		{name: "help", args: []string{"--help"}, wantStdout: "--build-ref"},
		{name: "unknown flag", args: []string{"--frobnicate"}, wantCode: 2, wantStderr: "flag provided but not defined"},
		{name: "stray argument", args: []string{"build/a/b"}, wantCode: 2, wantStderr: `unexpected argument "build/a/b"`},
		{name: "no configuration", args: []string{"--build-ref", "build/a/b"}, wantCode: 2, wantStderr: "kubeconfig"},
		{name: "bad output", args: []string{"--build-ref", "build/a/b", "-o", "yaml"}, wantCode: 2, wantStderr: "--output"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := clitest.Run(t, newApp(), tt.args...)
			if code != tt.wantCode || !strings.Contains(stdout, tt.wantStdout) || !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d, %q, %q", code, stdout, stderr, tt.wantCode, tt.wantStdout, tt.wantStderr)
			}
			if tt.wantCode != 0 && strings.Count(stderr, "\n") != 1 {
				t.Errorf("stderr is not one line: %q", stderr)
			}
		})
	}
}

func TestREADMEDocumentsEveryFlag(t *testing.T) {
	clitest.READMEDocumentsFlags(t, newApp(), "../../README.md")
}

// TestFromFile reads saved builds without a cluster: no kubeconfig is needed, and a file
// that cannot be used is one line and exit 2.
func TestFromFile(t *testing.T) {
	clitest.ClearEnv(t, newApp())
	t.Setenv("KUBECONFIG", "/nonexistent/kubeconfig")
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	dir := t.TempDir()
	write := func(name, data string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	const digest = "sha256:5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e"
	build := func(name, phase string) string {
		return `{"apiVersion": "build.openshift.io/v1", "kind": "Build", "metadata": {"name": "` + name + `", "namespace": "team"},
 "spec": {"strategy": {"type": "Docker", "dockerStrategy": {"from": {"kind": "DockerImage", "name": "quay.io/base/img@` + digest + `"}}}},
 "status": {"phase": "` + phase + `", "outputDockerImageReference": "team/app:1"}}`
	}
	one := write("one.json", build("app-1", "Complete"))
	two := write("two.yaml", build("app-1", "Complete")+"\n---\n"+build("app-2", "Failed"))
	running := write("running.json", build("app-3", "Running"))
	tests := []struct {
		name                   string
		args                   []string
		wantCode               int
		wantStdout, wantStderr string
	}{
		{"one build", []string{"--from-file", one}, 0, "base-image: quay.io/base/img@" + digest + "\nlog-missing: the build was read from a saved object", ""},
		{"one build, notes", []string{"--from-file", one, "-o", "json"}, 0, `output image \"team/app:1\" names no registry host`, ""},
		{"default registry", []string{"--from-file", one, "--default-registry", "registry.example.com"}, 0, "output-image: registry.example.com/team/app:1", ""},
		{"build-ref names the file", []string{"--build-ref", one, "-o", "json"}, 0, `"name": "app-1"`, ""},
		{"chosen by name", []string{"--from-file", two, "--name", "app-2"}, 0, "phase: Failed (Failed)", ""},
		{"chosen by build-ref", []string{"--from-file", two, "--build-ref", "build/team/app-2"}, 0, "build: build/team/app-2", ""},
		{"several builds", []string{"--from-file", two}, 2, "", "holds 2 builds (build/team/app-1, build/team/app-2): name one"},
		{"not finished", []string{"--from-file", running}, 1, "", "has not finished"},
		{"missing file", []string{"--from-file", filepath.Join(dir, "nope.json")}, 2, "", "--from-file: opening the saved objects"},
		{"not a build", []string{"--from-file", write("cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")}, 2, "", "holds no build"},
		{"wait", []string{"--from-file", one, "--wait"}, 2, "", "--wait and --from-file conflict"},
		{"bad default registry", []string{"--from-file", one, "--default-registry", "https://r.example.com"}, 2, "", "--default-registry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := clitest.Run(t, newApp(), tt.args...)
			if code != tt.wantCode || !strings.Contains(stdout, tt.wantStdout) || !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d, %q, %q", code, stdout, stderr, tt.wantCode, tt.wantStdout, tt.wantStderr)
			}
			if tt.wantCode != 0 && strings.Count(stderr, "\n") != 1 {
				t.Errorf("stderr is not one line: %q", stderr)
			}
		})
	}
}

func TestFlagsSpeakTheVocabulary(t *testing.T) { clitest.CheckVocabulary(t, newApp()) }
