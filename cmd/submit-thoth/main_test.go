package main

import (
	"strings"
	"testing"

	"github.com/thoth-station/build-watcher/internal/cliapp/clitest"
	"github.com/thoth-station/build-watcher/internal/version"
)

// runApp runs the app as main does and returns the exit code, stdout and stderr.
func runApp(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return clitest.Run(t, newApp(), args...)
}

func TestCommandLine(t *testing.T) {
	clitest.ClearEnv(t, newApp())
	t.Setenv("THOTH_USER_API_HOST", "")
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{name: "version", args: []string{"--version"}, wantStdout: version.Version},
		{name: "help", args: []string{"--help"}, wantStdout: "--thoth-api-host"},
		{name: "unknown flag", args: []string{"--frobnicate"}, wantCode: 2, wantStderr: "submit-thoth: flag provided but not defined: -frobnicate\n"},
		{name: "stray argument", args: []string{"--thoth-api-host", "h", "extra"}, wantCode: 2, wantStderr: `unexpected argument "extra"`},
		{name: "no host", args: []string{"--base-image", "quay.io/a/b:1"}, wantCode: 2, wantStderr: "THOTH_USER_API_HOST"},
		{name: "nothing to submit", args: []string{"--thoth-api-host", "thoth.example.com", "--base-image", "quay.io/a/b:1", "--no-base"}, wantCode: 2, wantStderr: "nothing to submit"},
		{name: "bad push mode", args: []string{"--thoth-api-host", "h", "--output-image", "quay.io/a/b:1", "--push-registry", "quay.io/x", "--push-mode", "quay"}, wantCode: 2, wantStderr: "--push-mode must be default or flat"},
		{name: "flat push registry without repository", args: []string{"--thoth-api-host", "h", "--output-image", "quay.io/a/b:1", "--push-registry", "quay.io", "--push-mode", "flat"}, wantCode: 2, wantStderr: "give a repository"},
		{name: "bad bool in the environment", args: []string{"--thoth-api-host", "h", "--no-tls-verify=maybe"}, wantCode: 2, wantStderr: "maybe"},
		{name: "unreachable host", args: []string{"--thoth-api-host", "http://127.0.0.1:1", "--base-image", "quay.io/a/b:1",
			"--retry-attempts", "1", "--src-registry-user", "u", "--src-registry-password", "Secret-Pw-55"}, wantCode: 1, wantStderr: "connection refused"},
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
			if tt.wantCode != 0 && strings.Count(stderr, "\n") != 1 {
				t.Errorf("stderr is not one line: %q", stderr)
			}
			if strings.Contains(stdout+stderr, "Secret-Pw-55") {
				t.Error("the password is shown")
			}
		})
	}
}

// TestREADMEDocumentsEveryFlag keeps --help and the README in agreement.
func TestREADMEDocumentsEveryFlag(t *testing.T) {
	clitest.READMEDocumentsFlags(t, newApp(), "../../README.md")
}

func TestFlagsSpeakTheVocabulary(t *testing.T) { clitest.CheckVocabulary(t, newApp()) }
