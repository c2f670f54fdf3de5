package collect

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/thoth-station/build-watcher/internal/build"
)

// TestRunInFinally is collect-build as a finally task of the build pipeline it reads, with
// the build-log workspace bound (a directory): the run counts as finished, without the
// finally task itself.
func TestRunInFinally(t *testing.T) {
	ns, front := cp.NamespaceWithFront(t, "collect")
	fin, err := front.CreateFinallyRun(t.Context(), ns, "collect-build")
	if err != nil {
		t.Fatal(err)
	}

	workspace, results := t.TempDir(), t.TempDir()
	var out bytes.Buffer
	rec, err := Run(t.Context(), Options{BuildRef: "pipelinerun/" + ns + "/app-build-fin1", LogFile: workspace, ResultsDir: results,
		Format: FormatText, REST: front.Config(cp.Config())}, streams(&out))
	if err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(workspace, LogFileName)
	for name, want := range map[string]string{
		ResultPhase:       string(build.PhaseSucceeded),
		ResultOutputImage: "quay.io/team-a/app@" + fin.Digest,
		ResultBaseImage:   "registry.access.redhat.com/ubi9/python-311:latest",
		ResultLogPath:     logPath,
	} {
		if got, err := os.ReadFile(filepath.Join(results, name)); err != nil || string(got) != want {
			t.Errorf("result %s = %q (%v), want %q", name, got, err, want)
		}
	}
	if got, err := os.ReadFile(logPath); err != nil || string(got) != "[build/build]\n"+fin.BuildLog {
		t.Errorf("log = %q (%v), want the build task's only", got, err)
	}
	if rec.OriginalPhase != "Running" || !strings.Contains(out.String(), "phase: Succeeded (Running)") {
		t.Errorf("record phase %s (%s), output:\n%s", rec.Phase, rec.OriginalPhase, out.String())
	}
}
