// Package cliapp is the command-line edge of the four binaries: the urfave/cli application
// skeleton, the shared flag groups and their values, the logger, output formats, and the one
// mapping from errors to exit codes.
package cliapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/thoth-station/build-watcher/internal/hint"
	"github.com/thoth-station/build-watcher/internal/usage"
	"github.com/thoth-station/build-watcher/internal/version"
)

// Exit codes of every binary.
const (
	ExitOK       = 0
	ExitFailure  = 1
	ExitBadInput = 2
)

// New returns an application that never exits by itself: errors, flag mistakes included,
// come back from Run for ExitCode to report.
func New(name, usageText string) *cli.App {
	return &cli.App{
		Name:                   name,
		Usage:                  usageText,
		Version:                version.Version,
		HideHelpCommand:        true,
		UseShortOptionHandling: false,
		ExitErrHandler:         func(*cli.Context, error) {},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return usage.Wrap(err)
		},
	}
}

// Main runs app as a binary's main does, with os.Args, cancelled by SIGINT or SIGTERM, and
// reports its error on stderr; it returns the exit code for os.Exit.
func Main(app *cli.App) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return ExitCode(os.Stderr, app.Name, app.RunContext(ctx, os.Args))
}

// NoArgs is an Action guard: the binaries take flags only.
func NoArgs(cCtx *cli.Context) error {
	if cCtx.Args().Present() {
		return usage.Errorf("unexpected argument %q: %s takes flags only (see --help)", cCtx.Args().First(), cCtx.App.Name)
	}
	return nil
}

// ExitCode prints one "<name>: <cause>; <what to do>" line on stderr for a failed run and
// returns the exit code: ExitBadInput for bad input, ExitFailure for anything else, ExitOK
// for nil. The hint names flags, or params and workspaces when the step runs in one of our
// Tasks (hint.TaskEnv).
func ExitCode(stderr io.Writer, name string, err error) int {
	return exitCode(stderr, name, err, hint.FromEnv(os.Getenv))
}

func exitCode(stderr io.Writer, name string, err error, where hint.Where) int {
	if err == nil {
		return ExitOK
	}
	var exitErr cli.ExitCoder
	if errors.As(err, &exitErr) && exitErr.Error() == "" {
		return exitErr.ExitCode()
	}
	fmt.Fprintf(stderr, "%s: %s\n", name, strings.Join(strings.Fields(hint.Explain(err, where)), " "))
	if errors.Is(err, usage.ErrBadInput) {
		return ExitBadInput
	}
	return ExitFailure
}

// PrintJSON writes v to w as indented JSON, the binaries' --output json.
func PrintJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("writing JSON output: %w", err)
	}
	return nil
}
