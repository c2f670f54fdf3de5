// Command build-watcher watches a cluster's builds, OpenShift Builds and Tekton build runs,
// and starts one thoth-build-analysis PipelineRun per finished build, at most N at once.
package main

import (
	"os"

	"github.com/urfave/cli/v2"

	"github.com/thoth-station/build-watcher/internal/cliapp"
	"github.com/thoth-station/build-watcher/internal/cliapp/buildwatcher"
)

func main() { os.Exit(cliapp.Main(newApp())) }

func newApp() *cli.App { return buildwatcher.App() }
