// Command collect-build reads one finished build, an OpenShift Build or a Tekton
// PipelineRun/TaskRun, and emits what Thoth needs of it: phase, base image, output image
// with digest, and the build log in a file.
package main

import (
	"os"

	"github.com/urfave/cli/v2"

	"github.com/thoth-station/build-watcher/internal/cliapp"
	"github.com/thoth-station/build-watcher/internal/cliapp/collectbuild"
)

func main() { os.Exit(cliapp.Main(newApp())) }

func newApp() *cli.App { return collectbuild.App() }
