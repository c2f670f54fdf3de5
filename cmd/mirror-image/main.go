// Command mirror-image copies a build's image, every platform of an index, from the
// cluster's registry to a registry Thoth can pull from, keeps and verifies its digest, and
// reports the copy as repository@digest.
package main

import (
	"os"

	"github.com/urfave/cli/v2"

	"github.com/thoth-station/build-watcher/internal/cliapp"
	"github.com/thoth-station/build-watcher/internal/cliapp/mirrorimage"
)

func main() { os.Exit(cliapp.Main(newApp())) }

func newApp() *cli.App { return mirrorimage.App() }
