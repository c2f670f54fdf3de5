package modules

import (
	"fmt"
	"maps"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/thoth-station/build-watcher/internal/testenv/controlplane"
	"github.com/thoth-station/build-watcher/internal/testenv/modroot"
)

// build is one go build of the repository: a module directory and the packages built there.
type build struct {
	name     string
	dir      string // relative to the repository root
	packages []string
}

var builds = []build{
	{name: "the main module", dir: ".", packages: []string{"./..."}},
	{name: "hack/tools (make testenv's binaries)", dir: "hack/tools", packages: []string{
		"k8s.io/kubernetes/cmd/kube-apiserver", "go.etcd.io/etcd/server/v3", "github.com/tektoncd/pipeline/cmd/controller",
		"github.com/tektoncd/cli/cmd/tkn", "./argolint", "./kustomizebuild",
	}},
}

// compiledModules lists the modules whose packages b compiles, with the version used (the
// replacement's, when replaced).
func compiledModules(t *testing.T, root string, b build) map[string]string {
	t.Helper()
	args := append([]string{"list", "-deps", "-f", "{{with .Module}}{{.Path}} {{.Version}}{{with .Replace}} {{.Version}}{{end}}{{end}}"}, b.packages...)
	cmd := exec.CommandContext(t.Context(), "go", args...)
	cmd.Dir = filepath.Join(root, b.dir)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list in %s: %v\n%s", b.dir, err, exitStderr(err))
	}
	mods := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[1] == "" {
			continue // the module itself
		}
		mods[f[0]] = f[len(f)-1]
	}
	return mods
}

func exitStderr(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

// TestSharedModulesAtOneVersion: a module compiled by two of the builds is at one version
// in both; otherwise its packages, and everything importing them, compile twice in CI.
func TestSharedModulesAtOneVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("lists the dependencies of kube-apiserver and Tekton's controller")
	}
	root, err := modroot.Find()
	if err != nil {
		t.Fatal(err)
	}
	used := make([]map[string]string, len(builds))
	for i, b := range builds {
		used[i] = compiledModules(t, root, b)
		if len(used[i]) < 20 {
			t.Fatalf("%s compiles only %d modules: the package list is wrong", b.name, len(used[i]))
		}
	}
	for i := range builds {
		for j := i + 1; j < len(builds); j++ {
			var differ []string
			for _, mod := range slices.Sorted(maps.Keys(used[i])) {
				if v, ok := used[j][mod]; ok && v != used[i][mod] {
					differ = append(differ, fmt.Sprintf("%s %s vs %s", mod, used[i][mod], v))
				}
			}
			if len(differ) > 0 {
				t.Errorf("%s and %s compile %d modules at different versions; pin the higher one in both (go get MODULE@VERSION in each, then go mod tidy):\n  %s",
					builds[i].name, builds[j].name, len(differ), strings.Join(differ, "\n  "))
			}
		}
	}
}

// TestArgoVersion: the Argo CRDs the tests install are those of the workflow-controller and
// argo-lint that make testenv builds.
func TestArgoVersion(t *testing.T) {
	root, err := modroot.Find()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), "go", "list", "-m", "-f", "{{.Version}}", controlplane.ArgoModule)
	cmd.Dir = filepath.Join(root, "hack", "tools")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -m %s in hack/tools: %v\n%s", controlplane.ArgoModule, err, exitStderr(err))
	}
	if got := strings.TrimSpace(string(out)); got != controlplane.ArgoVersion {
		t.Errorf("hack/tools pins %s %s, the tests install the CRDs of %s: set controlplane.ArgoVersion to %s", controlplane.ArgoModule, got, controlplane.ArgoVersion, got)
	}
}
