package release

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/thoth-station/build-watcher/internal/testenv/modroot"
)

// TestBinariesLinkNoTestSupport: the four shipped binaries never link internal/testenv (test
// support: control planes, registries, certificates) nor a stand-in under a *test package.
func TestBinariesLinkNoTestSupport(t *testing.T) {
	root, err := modroot.Find()
	if err != nil {
		t.Fatal(err)
	}
	for _, bin := range []string{"collect-build", "mirror-image", "submit-thoth", "build-watcher"} {
		cmd := exec.CommandContext(t.Context(), "go", "list", "-deps", "./cmd/"+bin)
		cmd.Dir = root
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list -deps ./cmd/%s: %v", bin, err)
		}
		for _, pkg := range strings.Fields(string(out)) {
			local, ok := strings.CutPrefix(pkg, "github.com/thoth-station/build-watcher/")
			if !ok {
				continue
			}
			if strings.HasPrefix(local, "internal/testenv/") || strings.HasSuffix(local, "test") {
				t.Errorf("%s links test support %s", bin, local)
			}
		}
	}
}
