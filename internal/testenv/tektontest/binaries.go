package tektontest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"

	"github.com/thoth-station/build-watcher/internal/testenv/modroot"
)

// BuildCommands builds the main packages into dir as ko would (static, CGO_ENABLED=0,
// -trimpath, version stamped "e2e") and returns the step commands they stand in for:
// "/ko-app/<name>" -> dir/<name>, name being the last element of the package path.
func BuildCommands(ctx context.Context, dir string, packages ...string) (map[string]string, error) {
	commands := map[string]string{}
	if len(packages) == 0 {
		return commands, nil
	}
	root, err := modroot.Find()
	if err != nil {
		return nil, err
	}
	args := []string{"build", "-trimpath", "-o", dir + string(filepath.Separator),
		"-ldflags", "-X github.com/thoth-station/build-watcher/internal/version.Version=e2e"}
	cmd := exec.CommandContext(ctx, "go", append(args, packages...)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building %s for the steps: %w\n%s", strings.Join(packages, " "), err, out)
	}
	for _, pkg := range packages {
		name := path.Base(pkg)
		commands["/ko-app/"+name] = filepath.Join(dir, name)
	}
	return commands, nil
}
