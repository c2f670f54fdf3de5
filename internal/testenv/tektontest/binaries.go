package tektontest

import (
	"context"
	"fmt"
	"path"
	"path/filepath"

	"github.com/thoth-station/build-watcher/internal/testenv/gobuild"
)

// BuildCommands builds the main packages into dir as ko would (static, CGO_ENABLED=0,
// -trimpath, version stamped "e2e") and returns the step commands they stand in for:
// "/ko-app/<name>" -> dir/<name>, name being the last element of the package path.
func BuildCommands(ctx context.Context, dir string, packages ...string) (map[string]string, error) {
	commands := map[string]string{}
	if len(packages) == 0 {
		return commands, nil
	}
	args := []string{"-o", dir + string(filepath.Separator),
		"-ldflags", "-X github.com/thoth-station/build-watcher/internal/version.Version=e2e"}
	if err := gobuild.Build(ctx, false, append(args, packages...)...); err != nil {
		return nil, fmt.Errorf("building the steps' binaries: %w", err)
	}
	for _, pkg := range packages {
		name := path.Base(pkg)
		commands["/ko-app/"+name] = filepath.Join(dir, name)
	}
	return commands, nil
}
