// Package collect is collect-build's run: load the cluster configuration, collect one
// build, write its Tekton results and print its record.
package collect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/client-go/rest"

	"github.com/thoth-station/build-watcher/internal/build"
	"github.com/thoth-station/build-watcher/internal/cliapp"
	"github.com/thoth-station/build-watcher/internal/kube"
	"github.com/thoth-station/build-watcher/internal/result"
	"github.com/thoth-station/build-watcher/internal/usage"
)

// Output formats.
const (
	FormatText = "text"
	FormatJSON = "json"
)

// Result names written into the results directory.
const (
	ResultPhase          = "phase"
	ResultBaseImage      = "base-image"
	ResultOutputImage    = "output-image"
	ResultLogPath        = "log-path"
	ResultFailureSummary = "failure-summary"
)

// LogFileName is the file the build log is written to when Options.LogFile names a
// directory, as a Tekton workspace is bound.
const LogFileName = "build.log"

// Options is one collect-build run.
type Options struct {
	// BuildRef is kind/namespace/name; or Kind, Namespace and Name apart (Namespace
	// defaults to the configuration's).
	BuildRef              string
	Kind, Namespace, Name string
	// Kubeconfig is a path; empty: $KUBECONFIG, ~/.kube/config, else the pod's service account (kube.Load).
	Kubeconfig string
	// LogFile receives the build log; when it is an existing directory, the log goes to
	// LogFileName in it. Empty: the log is read (base image, failure summary) but not kept.
	LogFile string
	// ResultsDir receives the Tekton results; empty: none.
	ResultsDir string
	// Format is FormatText or FormatJSON.
	Format string
	// Wait and Timeout wait for a build that has not finished.
	Wait    bool
	Timeout time.Duration
	// BaseImageFrom names Tekton results/params holding the base image: nil for
	// build.DefaultBaseImageFrom, empty (not nil) for none, the log only.
	BaseImageFrom []string
	// DefaultRegistry qualifies image references without a registry host; empty: they
	// are left out with a note.
	DefaultRegistry string
	// FromFile reads the build from saved objects (a path, or StdinPath) instead of a
	// cluster; BuildRef or Kind/Namespace/Name then choose among its builds, when it holds
	// several. A BuildRef that names an existing file, or StdinPath, is read the same way.
	FromFile string
	// REST, when set, is used instead of loading a configuration (tests, the watcher).
	REST *rest.Config
}

// StdinPath as FromFile reads the saved objects from standard input.
const StdinPath = "-"

// Streams are the outputs of a run.
type Streams struct {
	// Stdin is read for FromFile StdinPath.
	Stdin  io.Reader
	Stdout io.Writer
	Logger *slog.Logger
}

// ref works out which build to collect.
func (o *Options) ref(defaultNamespace string) (build.Ref, error) {
	if o.BuildRef != "" {
		if o.Kind != "" || o.Name != "" {
			return build.Ref{}, usage.Errorf("--build-ref and --kind/--name conflict: give one of them")
		}
		ref, err := build.ParseRef(o.BuildRef)
		if err != nil {
			return build.Ref{}, usage.Errorf("--build-ref: %w", err)
		}
		return ref, nil
	}
	if o.Name == "" {
		return build.Ref{}, usage.Errorf("which build? give --build-ref kind/namespace/name, or --kind and --name (and --namespace)")
	}
	ns := o.Namespace
	if ns == "" {
		ns = defaultNamespace
	}
	ref := build.Ref{Kind: build.Kind(strings.ToLower(o.Kind)), Namespace: ns, Name: o.Name}
	if err := ref.Validate(); err != nil {
		return build.Ref{}, usage.Errorf("--kind/--namespace/--name: %w", err)
	}
	return ref, nil
}

// Run collects the build and reports it.
func Run(ctx context.Context, o Options, s Streams) (*build.Record, error) {
	if o.Format != FormatText && o.Format != FormatJSON {
		return nil, usage.Errorf("--output must be %s or %s, not %q", FormatText, FormatJSON, o.Format)
	}
	if o.Timeout < 0 {
		return nil, usage.Errorf("--timeout must not be negative")
	}
	if err := build.ValidateDefaultRegistry(o.DefaultRegistry); err != nil {
		return nil, usage.Errorf("--default-registry: %w", err)
	}
	results, err := result.NewWriter(o.ResultsDir)
	if err != nil {
		return nil, usage.Errorf("--results-dir: %w", err)
	}
	clients, ref, err := o.source(s.Stdin)
	if err != nil {
		return nil, err
	}
	logFile := logPath(o.LogFile)
	s.Logger.DebugContext(ctx, "collecting", "build", ref.String(), "log_file", logFile, "from_file", o.FromFile)
	rec, err := build.Collect(ctx, clients, ref, build.Options{LogFile: logFile, ScanLog: true, Wait: o.Wait, Timeout: o.Timeout,
		BaseImageFrom: o.BaseImageFrom, DefaultRegistry: o.DefaultRegistry})
	if err != nil {
		return nil, err
	}
	if rec.Log.Missing != "" {
		s.Logger.WarnContext(ctx, "no build log", "build", ref.String(), "reason", rec.Log.Missing)
	}
	// What could not be read is said, not fatal: the build is still reported.
	for _, note := range rec.Notes {
		s.Logger.WarnContext(ctx, "note", "build", ref.String(), "note", note)
	}
	if err := writeResults(results, rec); err != nil {
		return rec, err
	}
	return rec, report(s.Stdout, o.Format, rec)
}

// source works out where the build is read and which one: a cluster, or saved objects.
func (o *Options) source(stdin io.Reader) (build.Clients, build.Ref, error) {
	if o.FromFile == "" && build.IsSavedPath(o.BuildRef) {
		o.FromFile, o.BuildRef = o.BuildRef, ""
	}
	if o.FromFile != "" {
		return o.saved(stdin)
	}
	cfg, ns := o.REST, "default"
	if cfg == nil {
		loaded, err := kube.Load(o.Kubeconfig)
		if err != nil {
			return build.Clients{}, build.Ref{}, usage.Wrap(err)
		}
		cfg, ns = loaded.REST, loaded.Namespace
	}
	ref, err := o.ref(ns)
	if err != nil {
		return build.Clients{}, build.Ref{}, err
	}
	clients, err := build.NewClients(cfg)
	return clients, ref, err
}

// saved reads the saved objects of o.FromFile and picks the build to collect.
func (o *Options) saved(stdin io.Reader) (build.Clients, build.Ref, error) {
	if o.Wait {
		return build.Clients{}, build.Ref{}, usage.Errorf("--wait and --from-file conflict: a saved build does not change")
	}
	saved, err := build.ReadSavedFile(o.FromFile, stdin, o.Namespace)
	if err != nil {
		return build.Clients{}, build.Ref{}, usage.Errorf("--from-file: %w", err)
	}
	kind, ns, name := build.Kind(strings.ToLower(o.Kind)), o.Namespace, o.Name
	if o.BuildRef != "" {
		ref, err := build.ParseRef(o.BuildRef)
		if err != nil {
			return build.Clients{}, build.Ref{}, usage.Errorf("--build-ref: %w", err)
		}
		kind, ns, name = ref.Kind, ref.Namespace, ref.Name
	}
	ref, err := saved.Pick(kind, ns, name)
	if err != nil {
		return build.Clients{}, build.Ref{}, usage.Errorf("--from-file: %w", err)
	}
	return saved.Clients(), ref, nil
}

// logPath is the file the log is written to: path itself, or LogFileName in it when path
// is an existing directory (a Tekton workspace). Anything else, including a path that
// does not exist yet, is taken as the file's name.
func logPath(path string) string {
	if path == "" {
		return ""
	}
	if info, err := os.Stat(path); err == nil && info.IsDir() {
		return filepath.Join(path, LogFileName)
	}
	return path
}

// writeResults writes the Task results; absent values are written empty.
func writeResults(w *result.Writer, rec *build.Record) error {
	for _, r := range []struct{ name, value string }{
		{ResultPhase, string(rec.Phase)},
		{ResultBaseImage, rec.BaseImage},
		{ResultOutputImage, rec.OutputImage},
		{ResultLogPath, rec.Log.Path},
		{ResultFailureSummary, rec.FailureSummary},
	} {
		if err := w.Write(r.name, r.value); err != nil {
			if errors.Is(err, result.ErrTooLarge) {
				return fmt.Errorf("writing result %s of %s: %w", r.name, rec.Ref(), err)
			}
			return fmt.Errorf("writing result %s: %w", r.name, err)
		}
	}
	return nil
}

// report prints the record: key: value lines, or JSON.
func report(w io.Writer, format string, rec *build.Record) error {
	if format == FormatJSON {
		return cliapp.PrintJSON(w, rec)
	}
	var b strings.Builder
	line := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	line("build", rec.Ref().String())
	line("phase", string(rec.Phase)+" ("+rec.OriginalPhase+")")
	line("strategy", rec.Strategy)
	line("base-image", rec.BaseImage)
	line("output-image", rec.OutputImage)
	if rec.Log.Path != "" {
		line("log", fmt.Sprintf("%s (%d bytes, sha256 %s)", rec.Log.Path, rec.Log.Bytes, rec.Log.SHA256))
	}
	line("log-missing", rec.Log.Missing)
	if rec.FailureSummary != "" {
		fmt.Fprintf(&b, "failure-summary:\n  %s\n", strings.ReplaceAll(rec.FailureSummary, "\n", "\n  "))
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("writing the record: %w", err)
	}
	return nil
}
