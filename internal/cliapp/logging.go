package cliapp

import (
	"io"
	"log/slog"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/thoth-station/build-watcher/internal/usage"
)

// The log formats of --log-format.
const (
	LogFormatText = "text"
	LogFormatJSON = "json"
)

// LoggingFlags are every binary's --verbose (the original bot's switch for debug logs) and
// --log-format.
func LoggingFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: Verbose, Usage: "log what is going on in detail (debug level) on stderr", EnvVars: []string{"THOTH_VERBOSE_BUILD_WATCHER"}},
		&cli.StringFlag{Name: LogFormat, Usage: "text or json: the format of the log lines on stderr", Value: LogFormatText, EnvVars: []string{"THOTH_LOG_FORMAT"}},
	}
}

// NewLogger returns the run's logger, as the logging flags ask: text or JSON lines on the
// application's stderr, info level, debug with --verbose. Binaries that link client-go send
// its klog lines through it too (kube.LogThrough).
func NewLogger(cCtx *cli.Context) (*slog.Logger, error) {
	var w io.Writer = os.Stderr
	if cCtx.App.ErrWriter != nil {
		w = cCtx.App.ErrWriter
	}
	return newLogger(w, cCtx.String(LogFormat), cCtx.Bool(Verbose))
}

func newLogger(w io.Writer, format string, verbose bool) (*slog.Logger, error) {
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	opts := &slog.HandlerOptions{Level: level}
	switch format {
	case LogFormatText:
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case LogFormatJSON:
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usage.Errorf("--log-format must be %s or %s, not %q", LogFormatText, LogFormatJSON, format)
}

// SetAction gives app every binary's logging flags and an action that refuses arguments,
// builds the logger (sending it to each of logThrough, such as kube.LogThrough) and then
// runs run with it.
func SetAction(app *cli.App, run func(cCtx *cli.Context, logger *slog.Logger) error, logThrough ...func(*slog.Logger)) {
	app.Flags = append(app.Flags, LoggingFlags()...)
	app.Action = func(cCtx *cli.Context) error {
		if err := NoArgs(cCtx); err != nil {
			return err
		}
		logger, err := NewLogger(cCtx)
		if err != nil {
			return err
		}
		for _, f := range logThrough {
			f(logger)
		}
		return run(cCtx, logger)
	}
}
