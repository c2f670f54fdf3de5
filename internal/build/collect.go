package build

import (
	"context"
	"fmt"
)

// Collect reads the finished build ref names and returns its record; with opts.LogFile
// the build log is streamed into that file. A build that has not finished is
// ErrNotFinished unless opts.Wait; a missing one ErrNotFound. A missing or pruned log is
// recorded in Record.Log.Missing and is not an error. Image references without a registry
// host get opts.DefaultRegistry, or are left out with a note.
func Collect(ctx context.Context, c Clients, ref Ref, opts Options) (*Record, error) {
	if err := ref.Validate(); err != nil {
		return nil, err
	}
	if err := ValidateDefaultRegistry(opts.DefaultRegistry); err != nil {
		return nil, err
	}
	if opts.BaseImageFrom == nil {
		opts.BaseImageFrom = DefaultBaseImageFrom()
	}
	var (
		rec *Record
		err error
	)
	switch ref.Kind {
	case KindBuild:
		rec, err = collectOpenShift(ctx, c, ref, opts)
	case KindBuildRun:
		rec, err = collectShipwright(ctx, c, ref, opts)
	default:
		rec, err = collectTekton(ctx, c, ref, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("collecting %s: %w", ref, err)
	}
	qualifyImages(rec, opts.DefaultRegistry)
	return rec, nil
}

// finishLog closes the log file, records it, and derives the failure summary and, when the
// record has none, the base image from the log's FROM lines.
func finishLog(rec *Record, l *logFile) error {
	info, err := l.Close()
	if err != nil {
		return err
	}
	rec.Log = info
	if rec.BaseImage == "" && l.lines != nil {
		rec.BaseImage = l.lines.BaseImage()
	}
	if rec.Phase != PhaseSucceeded {
		rec.FailureSummary = FailureSummary(l.Tail())
	}
	return nil
}
