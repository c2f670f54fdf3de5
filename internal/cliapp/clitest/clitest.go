// Package clitest runs the binaries' urfave/cli applications in tests, as main does, and
// checks that the README documents every flag.
package clitest

import (
	"bytes"
	"os"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/thoth-station/build-watcher/internal/cliapp"
	"github.com/thoth-station/build-watcher/internal/hint"
)

// ClearEnv unsets every environment variable app's flags read, so that the environment
// the tests run in (a Task's, a developer's THOTH_* exports) cannot change them; t.Setenv
// restores them when the test ends. Tests that set one do so after.
func ClearEnv(t *testing.T, app *cli.App) {
	t.Helper()
	t.Setenv(hint.TaskEnv, "")
	os.Unsetenv(hint.TaskEnv)
	for _, f := range app.Flags {
		if ev, ok := f.(interface{ GetEnvVars() []string }); ok {
			for _, env := range ev.GetEnvVars() {
				t.Setenv(env, "")
				os.Unsetenv(env)
			}
		}
	}
}

// Run runs app with args as main would and returns its exit code, stdout and stderr.
func Run(t testing.TB, app *cli.App, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	app.Writer, app.ErrWriter = &out, &errOut
	err := app.RunContext(t.Context(), append([]string{app.Name}, args...))
	return cliapp.ExitCode(&errOut, app.Name, err), out.String(), errOut.String()
}

// READMEDocumentsFlags fails t for every flag name and environment variable of app that
// the README at path does not mention in backquotes, and every flag without usage text.
func READMEDocumentsFlags(t testing.TB, app *cli.App, path string) {
	t.Helper()
	readme, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range app.Flags {
		for _, name := range f.Names() {
			want := "--" + name
			if len(name) == 1 {
				want = "-" + name
			}
			if !bytes.Contains(readme, []byte("`"+want+"`")) {
				t.Errorf("README does not document %s of %s", want, app.Name)
			}
		}
		if ev, ok := f.(interface{ GetEnvVars() []string }); ok {
			for _, env := range ev.GetEnvVars() {
				if !bytes.Contains(readme, []byte("`"+env+"`")) {
					t.Errorf("README does not name %s (of %s --%s)", env, app.Name, f.Names()[0])
				}
			}
		}
		if u, ok := f.(interface{ GetUsage() string }); !ok || u.GetUsage() == "" {
			t.Errorf("flag --%s of %s has no usage text", f.Names()[0], app.Name)
		}
	}
}
