package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/thoth-station/build-watcher/internal/cliapp"
	"github.com/thoth-station/build-watcher/internal/version"
)

// runApp runs the app as main does and returns the exit code, stdout and stderr.
func runApp(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	app := newApp()
	app.Writer, app.ErrWriter = &stdout, &stderr
	err := app.RunContext(t.Context(), append([]string{"submit-thoth"}, args...))
	return cliapp.ExitCode(&stderr, "submit-thoth", err), stdout.String(), stderr.String()
}

func TestCommandLine(t *testing.T) {
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

// TestREADMEDocumentsEveryFlag keeps --help and the README in agreement: every flag and
// environment variable of the binary appears in the README.
func TestREADMEDocumentsEveryFlag(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range newApp().Flags {
		for _, name := range f.Names() {
			want := "--" + name
			if len(name) == 1 {
				want = "-" + name
			}
			if !bytes.Contains(readme, []byte("`"+want+"`")) {
				t.Errorf("README does not document %s", want)
			}
		}
		if ev, ok := f.(interface{ GetEnvVars() []string }); ok {
			for _, env := range ev.GetEnvVars() {
				if !bytes.Contains(readme, []byte("`"+env+"`")) {
					t.Errorf("README does not name %s (of --%s)", env, f.Names()[0])
				}
			}
		}
		if _, ok := f.(cli.DocGenerationFlag); !ok {
			t.Errorf("flag %s has no usage text", f.Names()[0])
		}
	}
}
