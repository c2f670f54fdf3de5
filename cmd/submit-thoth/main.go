// Command submit-thoth sends a finished build's base image, output image and build log to
// the Thoth User API for analysis and reports the analysis ids.
package main

import (
	"os"

	"github.com/urfave/cli/v2"

	"github.com/thoth-station/build-watcher/internal/cliapp"
	"github.com/thoth-station/build-watcher/internal/cliapp/submitthoth"
)

func main() { os.Exit(cliapp.Main(newApp())) }

func newApp() *cli.App { return submitthoth.App() }
