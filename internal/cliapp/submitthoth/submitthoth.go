// Package submitthoth is submit-thoth's command line: its flags, read into submit.Options.
package submitthoth

import (
	"log/slog"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/thoth-station/build-watcher/internal/cliapp"
	"github.com/thoth-station/build-watcher/internal/kube"
	"github.com/thoth-station/build-watcher/internal/mirror"
	"github.com/thoth-station/build-watcher/internal/submit"
	"github.com/thoth-station/build-watcher/internal/thoth"
	"github.com/thoth-station/build-watcher/internal/version"
)

// App is the submit-thoth command: its flags, and an action that turns them into the run's
// options.
func App() *cli.App {
	app := cliapp.New("submit-thoth", "send a build's base image, output image and log to Thoth for analysis")
	app.Flags = append(append(append(cliapp.ThothFlags(),
		&cli.StringFlag{Name: "base-image", Usage: "base image of the build (sent unless --no-base)", EnvVars: []string{"THOTH_BASE_IMAGE"}},
		&cli.StringFlag{Name: "output-image", Usage: "output image of the build, best as repo@sha256:... (sent unless --no-output)", EnvVars: []string{"THOTH_OUTPUT_IMAGE"}},
		&cli.StringFlag{Name: "push-registry", Usage: "the push registry mirror-image copied the output image to: Thoth gets that copy, named as mirror-image names it, by the output image's digest (by the copy's tag when the output image has none); the --pass-token token is never sent for it", EnvVars: []string{"THOTH_PUSH_REGISTRY"}},
		&cli.StringFlag{Name: "push-mode", Usage: "the --push-mode mirror-image used: default (REG/<name>) or flat (REG:<name>-<tag>)", Value: string(mirror.PushModeDefault), EnvVars: []string{"THOTH_PUSH_MODE"}},
		&cli.StringFlag{Name: "build-log-file", Usage: "build log to send, read as a stream; - reads standard input (sent unless --no-build-log)", EnvVars: []string{"THOTH_BUILD_LOG_FILE"}, TakesFile: true},
		&cli.StringFlag{Name: "build-ref", Usage: "read the build (kind/namespace/name, kind build, pipelinerun, taskrun or buildrun) from the cluster: its log when no --build-log-file is given, its images when none are given; a file of saved objects is read as --from-file", EnvVars: []string{"THOTH_BUILD_REF"}},
		&cli.StringFlag{Name: "from-file", Usage: "read the build from saved objects instead of a cluster, as collect-build --from-file does: `FILE`, or - for standard input; --build-ref chooses among several; saved objects hold no log", EnvVars: []string{"THOTH_FROM_FILE"}, TakesFile: true},
		&cli.StringFlag{Name: "default-registry", Usage: "with --build-ref or --from-file, the registry of the build's image references that name none, e.g. registry.example.com; empty: such images are left out", EnvVars: []string{"THOTH_DEFAULT_REGISTRY"}},
		cliapp.KubeconfigFlag("with --build-ref, the cluster the build is on"),
		&cli.BoolFlag{Name: "no-base", Usage: "do not send the base image", EnvVars: []string{"THOTH_NO_BASE"}},
		&cli.BoolFlag{Name: "no-output", Usage: "do not send the output image", EnvVars: []string{"THOTH_NO_OUTPUT"}},
		&cli.BoolFlag{Name: "no-build-log", Usage: "do not send the build log", EnvVars: []string{"THOTH_NO_BUILD_LOG"}},
		&cli.StringFlag{Name: "environment-type", Usage: "runtime or buildtime: what kind of image the build makes", Value: thoth.EnvironmentRuntime, EnvVars: []string{"THOTH_ENVIRONMENT_TYPE"}},
		&cli.StringFlag{Name: "origin", Usage: "where the build comes from, e.g. its namespace/name or URL", EnvVars: []string{"THOTH_ORIGIN"}},
		&cli.BoolFlag{Name: cliapp.Debug, Usage: "run Thoth's analyzers in debug mode (debug logs: --verbose)", EnvVars: []string{"THOTH_DEBUG"}},
		&cli.BoolFlag{Name: "force", Usage: "make Thoth analyse again even when it has cached results", EnvVars: []string{"THOTH_FORCE"}},
		&cli.IntFlag{Name: "max-body-size", Usage: "request body limit in bytes; a longer build log keeps its head and tail", Value: thoth.DefaultMaxBodyBytes, EnvVars: []string{"THOTH_MAX_BODY_SIZE"}},
		cliapp.PassTokenFlag("each image without other credentials, except the output image's copy in --push-registry (outside the cluster)"),
		cliapp.ResultsDirFlag(),
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "text (one line per analysis id) or json (the decoded answer)", Value: submit.FormatText, EnvVars: []string{"THOTH_OUTPUT_FORMAT"}},
	), cliapp.RegistryFlags(cliapp.Src, "the base image")...), cliapp.RegistryFlags(cliapp.Dst, "the output image")...)
	cliapp.SetAction(app, run, kube.LogThrough)
	return app
}

func run(cCtx *cli.Context, logger *slog.Logger) error {
	th := cliapp.ThothValues(cCtx)
	src, dst := cliapp.RegistryValues(cCtx, cliapp.Src), cliapp.RegistryValues(cCtx, cliapp.Dst)
	opts := submit.Options{
		ThothHost:       th.Host,
		NoTLSVerify:     th.NoTLSVerify,
		CAFile:          th.CAFile,
		RequestTimeout:  th.RequestTimeout,
		RetryAttempts:   th.RetryAttempts,
		RetryMaxTime:    th.RetryMaxTime,
		MaxBodyBytes:    cCtx.Int("max-body-size"),
		BaseImage:       cCtx.String("base-image"),
		OutputImage:     cCtx.String("output-image"),
		PushRegistry:    cCtx.String("push-registry"),
		PushMode:        mirror.PushMode(cCtx.String("push-mode")),
		BuildLogFile:    cCtx.String("build-log-file"),
		BuildRef:        cCtx.String("build-ref"),
		FromFile:        cCtx.String("from-file"),
		DefaultRegistry: cCtx.String("default-registry"),
		Kubeconfig:      cCtx.String(cliapp.Kubeconfig),
		NoBase:          cCtx.Bool("no-base"),
		NoOutput:        cCtx.Bool("no-output"),
		NoBuildLog:      cCtx.Bool("no-build-log"),
		EnvironmentType: cCtx.String("environment-type"),
		Origin:          cCtx.String("origin"),
		Debug:           cCtx.Bool(cliapp.Debug),
		Force:           cCtx.Bool("force"),
		BaseRegistry:    submit.Registry(src),
		OutputRegistry:  submit.Registry(dst),
		PassToken:       cCtx.Bool(cliapp.PassToken),
		ResultsDir:      cCtx.String(cliapp.ResultsDir),
		Format:          cCtx.String("output"),
		UserAgent:       "build-watcher/submit-thoth " + version.Version,
	}
	_, err := submit.Run(cCtx.Context, opts, submit.Streams{Stdin: os.Stdin, Stdout: cCtx.App.Writer, Logger: logger})
	return err
}
