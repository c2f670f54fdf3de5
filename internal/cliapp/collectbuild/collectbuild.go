// Package collectbuild is collect-build's command line: its flags, read into collect.Options.
package collectbuild

import (
	"log/slog"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/thoth-station/build-watcher/internal/build"
	"github.com/thoth-station/build-watcher/internal/cliapp"
	"github.com/thoth-station/build-watcher/internal/collect"
	"github.com/thoth-station/build-watcher/internal/kube"
)

// App is the collect-build command: its flags, and an action that turns them into the run's
// options.
func App() *cli.App {
	app := cliapp.New("collect-build", "read one finished build (OpenShift Build, Tekton PipelineRun or TaskRun) and emit its facts")
	app.Flags = []cli.Flag{
		&cli.StringFlag{Name: "build-ref", Usage: "the build as kind/namespace/name, e.g. build/team-a/app-7, or a file of saved objects as --from-file (kinds: build, pipelinerun, taskrun, buildrun); a pipelinerun whose finally tasks run counts as finished, without them", EnvVars: []string{"THOTH_BUILD_REF"}},
		&cli.StringFlag{Name: "kind", Usage: "build, pipelinerun, taskrun or buildrun (with --name)", EnvVars: []string{"THOTH_BUILD_KIND"}},
		&cli.StringFlag{Name: "namespace", Usage: "the build's namespace (default: the configuration's)", EnvVars: []string{"THOTH_BUILD_NAMESPACE"}},
		&cli.StringFlag{Name: "name", Usage: "the build's name (with --kind)", EnvVars: []string{"THOTH_BUILD_NAME"}},
		cliapp.KubeconfigFlag("the cluster the build is on"),
		&cli.StringFlag{Name: "log-file", Usage: "write the build log to this file, or to build.log in it when it is a directory (a Tekton workspace); streamed, for failed builds too", EnvVars: []string{"THOTH_LOG_FILE"}, TakesFile: true},
		&cli.BoolFlag{Name: "wait", Usage: "wait for a build that has not finished yet (else that is an error)", EnvVars: []string{"THOTH_WAIT"}},
		&cli.DurationFlag{Name: "timeout", Usage: "with --wait, how long to wait (0: no limit)", EnvVars: []string{"THOTH_WAIT_TIMEOUT"}},
		cliapp.ListFlag("base-image-from", "Tekton result/param names holding the base image, tried before the log's FROM lines; empty: none, the log only", "THOTH_BASE_IMAGE_FROM", build.DefaultBaseImageFrom()...),
		&cli.StringFlag{Name: "from-file", Usage: "read the build from saved objects instead of a cluster: `FILE` (JSON or YAML as oc get -o json or -o yaml prints it: one object, several, a List; tekton.dev v1beta1 or v1), or - for standard input; --build-ref or --name choose among several; no logs", EnvVars: []string{"THOTH_FROM_FILE"}, TakesFile: true},
		&cli.StringFlag{Name: "default-registry", Usage: "the registry of image references that name none (OSBS pushes team/app:tag to the registry in its own configuration), e.g. registry.example.com; empty: such images are left out with a note, never sent as if on Docker Hub", EnvVars: []string{"THOTH_DEFAULT_REGISTRY"}},
		cliapp.ResultsDirFlag(),
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "text or json (the whole build record)", Value: collect.FormatText, EnvVars: []string{"THOTH_OUTPUT_FORMAT"}},
	}
	cliapp.SetAction(app, run, kube.LogThrough)
	return app
}

func run(cCtx *cli.Context, logger *slog.Logger) error {
	opts := collect.Options{
		BuildRef:        cCtx.String("build-ref"),
		Kind:            cCtx.String("kind"),
		Namespace:       cCtx.String("namespace"),
		Name:            cCtx.String("name"),
		Kubeconfig:      cCtx.String(cliapp.Kubeconfig),
		LogFile:         cCtx.String("log-file"),
		ResultsDir:      cCtx.String(cliapp.ResultsDir),
		Format:          cCtx.String("output"),
		Wait:            cCtx.Bool("wait"),
		Timeout:         cCtx.Duration("timeout"),
		BaseImageFrom:   cliapp.List(cCtx.StringSlice("base-image-from")...),
		DefaultRegistry: cCtx.String("default-registry"),
		FromFile:        cCtx.String("from-file"),
	}
	_, err := collect.Run(cCtx.Context, opts, collect.Streams{Stdin: os.Stdin, Stdout: cCtx.App.Writer, Logger: logger})
	return err
}
