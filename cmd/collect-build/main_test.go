package main

import (
	"strings"
	"testing"

	"github.com/thoth-station/build-watcher/internal/cliapp/clitest"
	"github.com/thoth-station/build-watcher/internal/version"
)

func TestCommandLine(t *testing.T) {
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
