package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/thoth-station/build-watcher/internal/cliapp/clitest"
	"github.com/thoth-station/build-watcher/internal/testenv/modroot"
	"github.com/thoth-station/build-watcher/internal/version"
)

func TestCommandLine(t *testing.T) {
	clitest.ClearEnv(t, newApp())
	t.Setenv("KUBECONFIG", "/nonexistent/kubeconfig")
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	t.Setenv("THOTH_USER_API_HOST", "")
	host := []string{"--thoth-api-host", "thoth.example.com"}
	dir := t.TempDir()
	badTargets := filepath.Join(dir, "targets.yaml")
	if err := os.WriteFile(badTargets, []byte("targets:\n- {name: east, namespace: thoth, max_concurrent: 0}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name                   string
		args                   []string
		wantCode               int
		wantStdout, wantStderr string
	}{
		{name: "version", args: []string{"--version"}, wantStdout: version.Version},
		{name: "help", args: []string{"--help"}, wantStdout: "--workers-count"},
		{name: "unknown flag", args: []string{"--frobnicate"}, wantCode: 2, wantStderr: "flag provided but not defined"},
		{name: "stray argument", args: []string{"now"}, wantCode: 2, wantStderr: `unexpected argument "now"`},
		{name: "no thoth", args: nil, wantCode: 2, wantStderr: "--thoth-api-host is required"},
		{name: "bad phase", args: append([]string{"--phases", "done"}, host...), wantCode: 2, wantStderr: `--phases: "done"`},
		{name: "bad kind", args: append([]string{"--kinds", "job"}, host...), wantCode: 2, wantStderr: `--kinds: "job"`},
		{name: "bad executor", args: append([]string{"--executor", "ssh"}, host...), wantCode: 2, wantStderr: "--executor"},
		{name: "no workers", args: append([]string{"--workers-count", "0"}, host...), wantCode: 2, wantStderr: "--workers-count"},
		{name: "bad namespace", args: append([]string{"--build-watcher-namespace", "Team_A"}, host...), wantCode: 2, wantStderr: "--build-watcher-namespace"},
		{name: "bad log format", args: append([]string{"--log-format", "xml"}, host...), wantCode: 2, wantStderr: "--log-format"},
		{name: "local with targets", args: append([]string{"--executor", "local", "--targets-file", "t.yaml"}, host...), wantCode: 2, wantStderr: "--targets-file"},
		{name: "no configuration", args: host, wantCode: 2, wantStderr: "kubeconfig"},
		{name: "bad targets file", args: append([]string{"--targets-file", badTargets}, host...), wantCode: 2, wantStderr: "max_concurrent must be at least 1, not 0"},
		{name: "missing targets file", args: append([]string{"--targets-file", filepath.Join(dir, "none.yaml")}, host...), wantCode: 2, wantStderr: "reading the targets file"},
		{name: "no attempts", args: append([]string{"--analysis-attempts", "0"}, host...), wantCode: 2, wantStderr: "--analysis-attempts must be at least 1"},
		{name: "no backoff", args: append([]string{"--analysis-retry-backoff", "0s"}, host...), wantCode: 2, wantStderr: "--analysis-retry-backoff must be positive"},
		{name: "own token to Thoth", args: append([]string{"--executor", "local", "--pass-token"}, host...), wantCode: 2, wantStderr: "--pass-token with --executor local"},
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
	root, err := modroot.Find()
	if err != nil {
		t.Fatal(err)
	}
	clitest.READMEDocumentsFlags(t, newApp(), root+"/README.md")
}

// TestDeprecatedNamespaceFlag: --namespace, the old name of --state-namespace, still works
// for this release and says what replaces it.
func TestDeprecatedNamespaceFlag(t *testing.T) {
	clitest.ClearEnv(t, newApp())
	t.Setenv("KUBECONFIG", "/nonexistent/kubeconfig")
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	host := []string{"--thoth-api-host", "thoth.example.com"}
	code, _, stderr := clitest.Run(t, newApp(), append([]string{"--namespace", "Not_A_Namespace"}, host...)...)
	if code != 2 || !strings.Contains(stderr, "--namespace is deprecated: use --state-namespace (POD_NAMESPACE)") {
		t.Errorf("--namespace: exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = clitest.Run(t, newApp(), append([]string{"--namespace", "thoth", "--state-namespace", "thoth"}, host...)...)
	if code != 2 || !strings.Contains(stderr, "--namespace is deprecated and ignored: --state-namespace (POD_NAMESPACE) is set") {
		t.Errorf("--namespace with --state-namespace: exit %d, stderr %q", code, stderr)
	}
}

func TestFlagsSpeakTheVocabulary(t *testing.T) { clitest.CheckVocabulary(t, newApp()) }
