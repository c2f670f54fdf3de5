package tektontest

import (
	"os"
	"testing"
)

// env is the package's Tekton environment, with the stepper (testdata/stepper) as the one
// step command, started once by TestMain.
var env *Env

func TestMain(m *testing.M) {
	os.Exit(Main(m, &env, MainOptions{Packages: []string{
		"github.com/thoth-station/build-watcher/internal/testenv/tektontest/testdata/stepper",
	}, Argo: true}))
}
