// Package gobuild runs the go builds of the tests with the flags every non-race build here
// uses: CGO_ENABLED=0 and -trimpath, as ko builds the images (ko.yaml) and as make testenv
// and make lint build. One set of flags means one set of compiled packages in the build
// cache: the control plane's build compiles nearly every package the release test's ko
// builds, the e2e step binaries and the CLI tests then need.
//
// Race builds need cgo; they are built as go test -race builds its test binaries (plain
// flags), so they share that tree instead.
package gobuild

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/thoth-station/build-watcher/internal/testenv/modroot"
)

// Build runs go build args... in the main module's root, statically (CGO_ENABLED=0,
// -trimpath) or, with race, with -race and cgo. Its error holds go build's output.
func Build(ctx context.Context, race bool, args ...string) error {
	root, err := modroot.Find()
	if err != nil {
		return err
	}
	full := []string{"build"}
	if race {
		full = append(full, "-race")
	} else {
		full = append(full, "-trimpath")
	}
	full = append(full, args...)
	cmd := exec.CommandContext(ctx, "go", full...)
	cmd.Dir = root
	cmd.Env = os.Environ()
	if !race {
		cmd.Env = append(cmd.Env, "CGO_ENABLED=0")
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s in %s: %w\n%s", strings.Join(full, " "), root, err, out)
	}
	return nil
}
