// Package mirrorimage is mirror-image's command line: its flags, read into mirrorrun.Options.
package mirrorimage

import (
	"github.com/urfave/cli/v2"
	"log/slog"

	"github.com/thoth-station/build-watcher/internal/cliapp"
	"github.com/thoth-station/build-watcher/internal/credential"
	"github.com/thoth-station/build-watcher/internal/mirror"
	"github.com/thoth-station/build-watcher/internal/mirrorrun"
)

// App is the mirror-image command: its flags, and an action that turns them into the run's
// options.
func App() *cli.App {
	app := cliapp.New("mirror-image", "copy an image (every platform of an index) to a registry Thoth can pull from, keeping its digest")
	passToken := cliapp.PassTokenFlag("the source image")
	if f, ok := passToken.(*cli.BoolFlag); ok {
		// mirror-image reads the token file only: it links no Kubernetes client.
		f.Usage = "use the pod's service-account token (the file " + credential.ServiceAccountTokenPath +
			", no kubeconfig) as the password of user " + mirror.TokenUser + " for the source image when it has no other credentials (OpenShift's internal registry)"
	}
	app.Flags = append(append([]cli.Flag{
		&cli.StringFlag{Name: "source", Usage: "image to copy: repo:tag, repo@sha256:... or repo:tag@sha256:...; an index is copied with every platform", EnvVars: []string{"THOTH_SOURCE_IMAGE"}},
		&cli.StringFlag{Name: "push-registry", Usage: "registry to copy to, named after the source: REGISTRY[/PATH] (default mode) or REGISTRY/REPOSITORY (flat mode)", EnvVars: []string{"THOTH_PUSH_REGISTRY"}},
		&cli.StringFlag{Name: "push-mode", Usage: "default (REG/<name>:<tag>) or flat (REG:<name>-<tag>, every image a tag of one repository, as for quay.io)", Value: string(mirror.PushModeDefault), EnvVars: []string{"THOTH_PUSH_MODE"}},
		&cli.StringFlag{Name: "destination", Usage: "name the copy exactly instead of --push-registry; without a tag or digest it keeps the source's", EnvVars: []string{"THOTH_DESTINATION_IMAGE"}},
		&cli.IntFlag{Name: "jobs", Usage: "blobs copied at once", Value: mirror.DefaultJobs, EnvVars: []string{"THOTH_MIRROR_JOBS"}},
		&cli.StringFlag{Name: cliapp.RegistryCAFile, Usage: "PEM file of extra CA certificates to trust for both registries, or a directory of them (a mounted ConfigMap or Secret: every file holding a certificate)", EnvVars: []string{"THOTH_REGISTRY_CA_FILE"}, TakesFile: true},
		cliapp.DeprecatedFlag(cliapp.OldCAFile, "THOTH_CA_FILE", cliapp.RegistryCAFile),
		&cli.StringSliceFlag{Name: "insecure-registry", Usage: "allow plain HTTP to this registry (HOST or HOST:PORT; repeat the flag, or separate with commas; blank entries and an empty variable mean none); every other registry is reached over HTTPS only", EnvVars: []string{"THOTH_INSECURE_REGISTRIES"}},
		passToken,
		cliapp.ResultsDirFlag(),
		&cli.BoolFlag{Name: "quiet", Usage: "no progress lines on stderr (they appear for copies longer than a second)", EnvVars: []string{"THOTH_QUIET"}},
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "text (image: repo@sha256:...) or json (what was copied, with counts)", Value: mirrorrun.FormatText, EnvVars: []string{"THOTH_OUTPUT_FORMAT"}},
	}, cliapp.RegistryFlags(cliapp.Src, "the source image")...), cliapp.RegistryFlags(cliapp.Dst, "the destination image")...)
	cliapp.SetAction(app, run)
	return app
}

func run(cCtx *cli.Context, logger *slog.Logger) error {
	return mirrorrun.Run(cCtx.Context, mirrorrun.Options{
		Source:              cCtx.String("source"),
		Destination:         cCtx.String("destination"),
		PushRegistry:        cCtx.String("push-registry"),
		PushMode:            mirror.PushMode(cCtx.String("push-mode")),
		SourceRegistry:      mirror.Registry(cliapp.RegistryValues(cCtx, cliapp.Src)),
		DestinationRegistry: mirror.Registry(cliapp.RegistryValues(cCtx, cliapp.Dst)),
		PassToken:           cCtx.Bool(cliapp.PassToken),
		CAFile:              cliapp.StringOrDeprecated(cCtx, cliapp.RegistryCAFile, cliapp.OldCAFile),
		InsecureRegistries:  cliapp.List(cCtx.StringSlice("insecure-registry")...),
		Jobs:                cCtx.Int("jobs"),
		ResultsDir:          cCtx.String(cliapp.ResultsDir),
		Format:              cCtx.String("output"),
		Quiet:               cCtx.Bool("quiet"),
	}, mirrorrun.Streams{Stdout: cCtx.App.Writer, Progress: cCtx.App.ErrWriter, Logger: logger})
}
