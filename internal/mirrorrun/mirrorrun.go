// Package mirrorrun is mirror-image's run: name the copy, copy the image with its digest
// kept, write the Tekton result and print what was copied.
package mirrorrun

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/thoth-station/build-watcher/internal/cliapp"
	"github.com/thoth-station/build-watcher/internal/mirror"
	"github.com/thoth-station/build-watcher/internal/result"
	"github.com/thoth-station/build-watcher/internal/usage"
	"github.com/thoth-station/build-watcher/internal/version"
)

// Output formats.
const (
	FormatText = "text"
	FormatJSON = "json"
)

// Options is one mirror-image run.
type Options struct {
	// Source is the image to copy; Destination names the copy exactly, else PushRegistry
	// and PushMode name it after the source (mirror.Target).
	Source, Destination, PushRegistry string
	PushMode                          mirror.PushMode
	// SourceRegistry and DestinationRegistry are each side's credentials and TLS switch.
	SourceRegistry, DestinationRegistry mirror.Registry
	// PassToken uses the pod's service-account token for the source without credentials.
	PassToken bool
	// CAFile holds extra CAs for both registries; InsecureRegistries are reached over HTTP.
	CAFile             string
	InsecureRegistries []string
	// Jobs is how many blobs are copied at once.
	Jobs int
	// ResultsDir receives the Tekton result; empty: none.
	ResultsDir string
	// Format is FormatText or FormatJSON; Quiet drops the progress lines.
	Format string
	Quiet  bool
}

// Streams are the outputs of a run: the result on Stdout, progress on Progress.
type Streams struct {
	Stdout, Progress io.Writer
	Logger           *slog.Logger
}

// Run copies o.Source and reports the copy.
func Run(ctx context.Context, o Options, s Streams) error {
	if o.Format != FormatText && o.Format != FormatJSON {
		return usage.Errorf("--output must be %s or %s, not %q", FormatText, FormatJSON, o.Format)
	}
	dst, err := mirror.Target(o.Source, o.Destination, o.PushRegistry, o.PushMode)
	if err != nil {
		return err
	}
	results, err := result.NewWriter(o.ResultsDir)
	if err != nil {
		return usage.Errorf("--results-dir: %w", err)
	}
	progress := s.Progress
	if o.Quiet {
		progress = nil
	}
	res, err := mirror.Mirror(ctx, o.Source, dst,
		mirror.WithSource(o.SourceRegistry),
		mirror.WithDestination(o.DestinationRegistry),
		mirror.WithPassToken(o.PassToken),
		mirror.WithCAFile(o.CAFile),
		mirror.WithInsecureRegistries(o.InsecureRegistries...),
		mirror.WithJobs(o.Jobs),
		mirror.WithProgress(progress),
		mirror.WithLogger(s.Logger),
		mirror.WithUserAgent("build-watcher/mirror-image "+version.Version),
	)
	if err != nil {
		return err
	}
	if err := results.Write(mirror.ResultImage, res.Image); err != nil {
		return err
	}
	if o.Format == FormatJSON {
		return cliapp.PrintJSON(s.Stdout, res)
	}
	_, err = fmt.Fprintf(s.Stdout, "image: %s\n", res.Image)
	return err
}
