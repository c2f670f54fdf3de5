// Package submit sends one finished build (base image, output image, build log) to the
// Thoth User API for analysis, with the registry credentials Thoth needs to pull the images,
// and reports the analysis ids as text, JSON and Tekton results.
package submit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"k8s.io/client-go/rest"

	"github.com/thoth-station/build-watcher/internal/build"
	"github.com/thoth-station/build-watcher/internal/cliapp"
	"github.com/thoth-station/build-watcher/internal/credential"
	"github.com/thoth-station/build-watcher/internal/credential/kubetoken"
	"github.com/thoth-station/build-watcher/internal/hint"
	"github.com/thoth-station/build-watcher/internal/kube"
	"github.com/thoth-station/build-watcher/internal/mirror"
	"github.com/thoth-station/build-watcher/internal/redact"
	"github.com/thoth-station/build-watcher/internal/result"
	"github.com/thoth-station/build-watcher/internal/thoth"
	"github.com/thoth-station/build-watcher/internal/usage"
)

// Output formats.
const (
	FormatText = "text"
	FormatJSON = "json"
)

// StdinPath is the --build-log-file value that reads the log from standard input.
const StdinPath = "-"

// TokenUser is the registry user name that goes with the service-account token.
const TokenUser = "build-watcher"

// Result names written into the results directory.
const (
	ResultBaseImageAnalysisID   = "base-image-analysis-id"
	ResultOutputImageAnalysisID = "output-image-analysis-id"
	ResultBuildLogAnalysisID    = "buildlog-analysis-id"
	ResultBuildLogDocumentID    = "buildlog-document-id"
)

// Registry is how Thoth pulls the images of one side: a user and password, or the entry for
// the image's registry in a docker config JSON file, and whether to verify TLS.
type Registry struct {
	User, Password, AuthFile string
	NoTLSVerify              bool
}

// Options is one submission, as the flags of submit-thoth give it.
type Options struct {
	// ThothHost is the User API host (--thoth-api-host).
	ThothHost string
	// NoTLSVerify and CAFile configure TLS towards Thoth.
	NoTLSVerify bool
	CAFile      string
	// RequestTimeout bounds one attempt; RetryAttempts and RetryMaxTime bound retries.
	RequestTimeout time.Duration
	RetryAttempts  int
	RetryMaxTime   time.Duration
	// MaxBodyBytes is the request body limit the build log is cut to.
	MaxBodyBytes int

	// BaseImage and OutputImage are image references (output preferably repo@sha256:...).
	BaseImage, OutputImage string
	// BuildLogFile is the log's path, or StdinPath.
	BuildLogFile string
	// BuildRef (kind/namespace/name) makes Run read the build itself: its log when no
	// BuildLogFile is given, its images when none are given, and the origin.
	BuildRef string
	// FromFile reads the build from saved objects (a path, or StdinPath) instead of a
	// cluster, as collect-build --from-file does; BuildRef then chooses among its builds.
	// A BuildRef that names an existing file, or StdinPath, is read the same way.
	FromFile string
	// DefaultRegistry qualifies the build's image references that name no registry host;
	// empty: they are left out.
	DefaultRegistry string
	// Kubeconfig is used with BuildRef; empty: $KUBECONFIG, ~/.kube/config, else the pod's service account (kube.Load).
	Kubeconfig string
	// REST, when set, is used with BuildRef instead of loading a configuration.
	REST *rest.Config
	// NoBase, NoOutput and NoBuildLog leave a part out even when it is given.
	NoBase, NoOutput, NoBuildLog bool
	// EnvironmentType is runtime or buildtime.
	EnvironmentType string
	// Origin says where the build comes from.
	Origin string
	// Debug and Force are passed to Thoth.
	Debug, Force bool

	// PushRegistry, when set, is where mirror-image copied the output image to, named by
	// PushMode (mirror.PushModeDefault when empty) as mirror-image names it: Thoth then gets
	// that copy instead of the output image (see outputCopy).
	PushRegistry string
	PushMode     mirror.PushMode

	// BaseRegistry is for the base image (--src-registry-*), OutputRegistry for the output
	// image or its copy in PushRegistry (--dst-registry-*).
	BaseRegistry, OutputRegistry Registry
	// PassToken sends the service-account token as the password of TokenUser for each image
	// that has no other credentials, except the output image's copy in PushRegistry: the
	// token is a credential of the cluster, and the push registry is outside it.
	PassToken bool
	// TokenSource says where the token is read.
	TokenSource kubetoken.TokenSource

	// ResultsDir receives one file per Tekton result; empty: none written.
	ResultsDir string
	// Format is FormatText or FormatJSON.
	Format string
	// UserAgent identifies the program to Thoth.
	UserAgent string
	// Client, when set, is used instead of a client made (and the API discovered) for this
	// submission: see NewClient. The Thoth, TLS, timeout and body-limit fields above are then
	// the client's, not these.
	Client *thoth.Client
}

// Streams are the standard streams and logger of a run.
type Streams struct {
	Stdin  io.Reader
	Stdout io.Writer
	Logger *slog.Logger
}

// sendsBase and friends say which parts are submitted.
func (o *Options) sendsBase() bool   { return !o.NoBase && o.BaseImage != "" }
func (o *Options) sendsOutput() bool { return !o.NoOutput && o.OutputImage != "" }
func (o *Options) sendsLog() bool    { return !o.NoBuildLog && o.BuildLogFile != "" }

// Validate reports bad input as errors matching usage.ErrBadInput, naming the flag to fix.
func (o *Options) Validate() error {
	if _, err := thoth.BaseURL(o.ThothHost); err != nil {
		return usage.Wrap(err)
	}
	if o.BuildRef != "" {
		if _, err := build.ParseRef(o.BuildRef); err != nil {
			return usage.Errorf("--build-ref: %w", err)
		}
	} else if o.FromFile == "" && !o.sendsBase() && !o.sendsOutput() && !o.sendsLog() {
		return usage.Errorf("nothing to submit: --base-image, --output-image, --build-log-file and --build-ref are all empty or disabled by --no-base, --no-output and --no-build-log")
	}
	if o.FromFile == StdinPath && o.BuildLogFile == StdinPath {
		return usage.Errorf("--from-file and --build-log-file cannot both read standard input")
	}
	if err := build.ValidateDefaultRegistry(o.DefaultRegistry); err != nil {
		return usage.Errorf("--default-registry: %w", err)
	}
	if o.EnvironmentType != thoth.EnvironmentRuntime && o.EnvironmentType != thoth.EnvironmentBuildtime {
		return usage.Errorf("--environment-type must be %s or %s, not %q", thoth.EnvironmentRuntime, thoth.EnvironmentBuildtime, o.EnvironmentType)
	}
	if o.Format != FormatText && o.Format != FormatJSON {
		return usage.Errorf("--output must be %s or %s, not %q", FormatText, FormatJSON, o.Format)
	}
	for _, img := range []struct{ flag, ref string }{{"--base-image", o.BaseImage}, {"--output-image", o.OutputImage}} {
		if img.ref == "" {
			continue
		}
		if _, err := name.ParseReference(img.ref); err != nil {
			return usage.Errorf("%s %q is not an image reference: %w", img.flag, img.ref, err)
		}
	}
	if o.PushMode != "" && o.PushMode != mirror.PushModeDefault && o.PushMode != mirror.PushModeFlat {
		return usage.Errorf("--push-mode must be %s or %s, not %q", mirror.PushModeDefault, mirror.PushModeFlat, o.PushMode)
	}
	if o.PushRegistry != "" && o.sendsOutput() {
		// Named again once the build is read; here bad input fails before anything is sent.
		if _, _, err := outputCopy(o.OutputImage, o.PushRegistry, o.PushMode); err != nil {
			return err
		}
	}
	for _, side := range []struct {
		prefix string
		reg    Registry
	}{{"--src", o.BaseRegistry}, {"--dst", o.OutputRegistry}} {
		if (side.reg.User == "") != (side.reg.Password == "") {
			return usage.Errorf("%[1]s-registry-user and %[1]s-registry-password go together: give both or neither", side.prefix)
		}
		if side.reg.User != "" && side.reg.AuthFile != "" {
			return usage.Errorf("%[1]s-registry-user/%[1]s-registry-password and %[1]s-registry-auth-file conflict: give one of them", side.prefix)
		}
	}
	return nil
}

// Run validates o, submits the build and reports the analysis ids on s.Stdout and in the
// results directory. Results are written only after Thoth accepted the submission.
func Run(ctx context.Context, o Options, s Streams) (*thoth.Submission, error) {
	if o.FromFile == "" && build.IsSavedPath(o.BuildRef) {
		o.FromFile, o.BuildRef = o.BuildRef, ""
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	results, err := result.NewWriter(o.ResultsDir)
	if err != nil {
		return nil, usage.Errorf("--results-dir: %w", err)
	}
	var logMeta logKind
	if o.BuildRef != "" || o.FromFile != "" {
		cleanup, err := fromBuild(ctx, &o, &logMeta, s)
		if err != nil {
			return nil, err
		}
		defer cleanup()
		if !o.sendsBase() && !o.sendsOutput() && !o.sendsLog() {
			return nil, usage.Errorf("nothing to submit: build %s has no base image, no output image and no log (or they are disabled by --no-*)", o.Origin)
		}
	}
	req := thoth.BuildAnalysisRequest{
		BuildLogAPIVersion: logMeta.apiVersion,
		BuildLogKind:       logMeta.kind,
		EnvironmentType:    o.EnvironmentType,
		Origin:             o.Origin,
		Debug:              o.Debug,
		Force:              o.Force,
	}
	tokens := &lazyToken{source: o.TokenSource, enabled: o.PassToken}
	if o.sendsBase() {
		req.BaseImage = o.BaseImage
		if req.BaseRegistry, err = access(ctx, "--src", o.BaseImage, o.BaseRegistry, tokens, s.Logger); err != nil {
			return nil, err
		}
	}
	if o.sendsOutput() {
		req.OutputImage = o.OutputImage
		outputTokens := tokens
		if o.PushRegistry != "" {
			copied, pinned, err := outputCopy(o.OutputImage, o.PushRegistry, o.PushMode)
			if err != nil {
				return nil, err
			}
			if pinned {
				s.Logger.InfoContext(ctx, "submitting the output image's copy in the push registry, by digest", "output_image", o.OutputImage, "copy", copied)
			} else {
				s.Logger.WarnContext(ctx, "the output image has no digest: submitting its copy in the push registry by tag, which names whatever was pushed there last",
					"output_image", o.OutputImage, "copy", copied)
			}
			req.OutputImage = copied
			outputTokens = &lazyToken{} // the token never leaves the cluster
		}
		if req.OutputRegistry, err = access(ctx, "--dst", req.OutputImage, o.OutputRegistry, outputTokens, s.Logger); err != nil {
			return nil, err
		}
	}
	redactor := redact.New(o.BaseRegistry.Password, o.OutputRegistry.Password, tokens.token,
		req.BaseRegistry.Password, req.OutputRegistry.Password)
	if o.sendsLog() {
		log, closeLog, err := openLog(o.BuildLogFile, s.Stdin)
		if err != nil {
			return nil, err
		}
		defer closeLog()
		req.BuildLog = log
	}

	client := o.Client
	if client == nil {
		if client, err = NewClient(ctx, o, s.Logger); err != nil {
			return nil, err
		}
	}
	sub, err := client.SubmitBuild(ctx, req)
	if err != nil {
		if errors.Is(err, thoth.ErrNothingToSubmit) {
			return sub, usage.Errorf("%w: the build log is empty and no image is given", thoth.ErrNothingToSubmit)
		}
		return sub, redactor.Error(err)
	}
	if sub.LogCutBytes > 0 {
		s.Logger.InfoContext(ctx, "build log cut to fit the request body limit: head and tail kept around a marker line",
			"log_bytes", sub.LogTotalBytes, "cut_bytes", sub.LogCutBytes, "body_bytes", sub.BodyBytes, "limit_bytes", o.MaxBodyBytes)
	}
	s.Logger.DebugContext(ctx, "build analysis submitted", "attempts", sub.Attempts, "body_bytes", sub.BodyBytes)
	if err := writeResults(results, &sub.Response); err != nil {
		return sub, err
	}
	return sub, report(s.Stdout, o.Format, &sub.Response)
}

// NewClient makes the Thoth client o describes (host, TLS, timeouts, retries, body limit)
// and checks by discovery that the host serves the User API with build analysis. Run makes
// one per call unless Options.Client is set: a process that submits many builds (the
// watcher) makes one with NewClient and passes it, so the API is discovered once.
func NewClient(ctx context.Context, o Options, logger *slog.Logger) (*thoth.Client, error) {
	redactor := redact.New()
	client, err := thoth.New(o.ThothHost,
		thoth.WithNoTLSVerify(o.NoTLSVerify),
		thoth.WithCAFile(o.CAFile),
		thoth.WithRequestTimeout(o.RequestTimeout),
		thoth.WithRetryPolicy(thoth.RetryPolicy{
			MaxAttempts:  o.RetryAttempts,
			MaxElapsed:   o.RetryMaxTime,
			InitialDelay: min(thoth.DefaultInitialDelay, o.RetryMaxTime),
			MaxDelay:     min(thoth.DefaultMaxDelay, o.RetryMaxTime),
		}),
		thoth.WithMaxBodyBytes(o.MaxBodyBytes),
		thoth.WithUserAgent(o.UserAgent),
		thoth.WithLogger(logger),
	)
	if err != nil {
		return nil, usage.Wrap(redactor.Error(err))
	}
	if _, err := client.Discover(ctx); err != nil {
		return nil, redactor.Error(err)
	}
	return client, nil
}

// logKind names the log document Thoth receives.
type logKind struct{ apiVersion, kind string }

// buildLogKind names the log of a kind of build for Thoth (build_log apiversion and kind,
// free strings in its OpenAPI document): OpenShift's own BuildLog, else the API version of
// the build object and its kind with "Log". The zero value lets the thoth client use its
// default, OpenShift's.
func buildLogKind(k build.Kind) logKind {
	switch k {
	case build.KindPipelineRun:
		return logKind{"tekton.dev/v1", "PipelineRunLog"}
	case build.KindTaskRun:
		return logKind{"tekton.dev/v1", "TaskRunLog"}
	case build.KindBuildRun:
		return logKind{"shipwright.io/v1beta1", "BuildRunLog"}
	}
	return logKind{}
}

// fromBuild reads the build o.BuildRef names and fills in what o lacks: the log (into a
// temporary file, removed by the returned cleanup), the images and the origin.
func fromBuild(ctx context.Context, o *Options, meta *logKind, s Streams) (func(), error) {
	logger := s.Logger
	clients, ref, err := o.buildSource(s.Stdin)
	if err != nil {
		return nil, err
	}
	cleanup := func() {}
	opts := build.Options{DefaultRegistry: o.DefaultRegistry}
	if o.BuildLogFile == "" && !o.NoBuildLog {
		f, err := os.CreateTemp("", "build-log-*")
		if err != nil {
			return nil, fmt.Errorf("making a temporary file for the build log: %w", err)
		}
		f.Close()
		opts.LogFile = f.Name()
		cleanup = func() { os.Remove(f.Name()) }
	}
	rec, err := build.Collect(ctx, clients, ref, opts)
	if err != nil {
		cleanup()
		return nil, err
	}
	if opts.LogFile != "" {
		if rec.Log.Missing != "" {
			logger.WarnContext(ctx, "the build has no log to submit", "build", ref.String(), "reason", rec.Log.Missing)
		} else {
			o.BuildLogFile = opts.LogFile
		}
	}
	if o.BaseImage == "" {
		o.BaseImage = rec.BaseImage
	}
	if o.OutputImage == "" {
		o.OutputImage = rec.OutputImage
	}
	if o.Origin == "" {
		o.Origin = ref.String()
	}
	*meta = buildLogKind(ref.Kind)
	logger.DebugContext(ctx, "read the build", "build", ref.String(), "phase", rec.Phase, "base_image", rec.BaseImage, "output_image", rec.OutputImage)
	return cleanup, nil
}

// buildSource says where the build is read, a cluster or saved objects, and which it is.
func (o *Options) buildSource(stdin io.Reader) (build.Clients, build.Ref, error) {
	var ref build.Ref
	if o.BuildRef != "" {
		var err error
		if ref, err = build.ParseRef(o.BuildRef); err != nil {
			return build.Clients{}, build.Ref{}, usage.Errorf("--build-ref: %w", err)
		}
	}
	if o.FromFile != "" {
		saved, err := build.ReadSavedFile(o.FromFile, stdin, "")
		if err != nil {
			return build.Clients{}, build.Ref{}, usage.Errorf("--from-file: %w", err)
		}
		if ref, err = saved.Pick(ref.Kind, ref.Namespace, ref.Name); err != nil {
			return build.Clients{}, build.Ref{}, usage.Errorf("--from-file: %w", err)
		}
		return saved.Clients(), ref, nil
	}
	cfg := o.REST
	if cfg == nil {
		loaded, err := kube.Load(o.Kubeconfig)
		if err != nil {
			return build.Clients{}, build.Ref{}, usage.Wrap(err)
		}
		cfg = loaded.REST
	}
	clients, err := build.NewClients(cfg)
	return clients, ref, err
}

// outputCopy names the copy of the output image that mirror-image made in pushRegistry
// with mode (mirror.Target, so the names agree), pinned to the output image's digest:
// repository@sha256:..., the copy's repository with the source's digest, which mirror-image
// keeps. An output image without a digest gives the copy's tag form, and pinned false:
// that tag names whatever was pushed under it last. Errors match usage.ErrBadInput.
func outputCopy(output, pushRegistry string, mode mirror.PushMode) (image string, pinned bool, err error) {
	copied, err := mirror.Target(output, "", pushRegistry, mode)
	if err != nil {
		return "", false, fmt.Errorf("naming the copy of output image %s: %w", output, err)
	}
	src, err := name.ParseReference(output)
	if err != nil {
		return "", false, usage.Errorf("--output-image %q is not an image reference: %w", output, err)
	}
	digest, ok := src.(name.Digest)
	if !ok {
		return copied, false, nil
	}
	dst, err := name.ParseReference(copied)
	if err != nil {
		return "", false, usage.Errorf("--push-registry %q: the copy of %s would be %q, which is not an image reference: %w", pushRegistry, output, copied, err)
	}
	return dst.Context().Name() + "@" + digest.DigestStr(), true, nil
}

// access decides the credentials of one image: explicit user and password, else the auth
// file's entry for the image's registry, else the service-account token when asked for,
// else anonymous.
func access(ctx context.Context, flag, image string, reg Registry, tokens *lazyToken, logger *slog.Logger) (thoth.RegistryAccess, error) {
	acc := thoth.RegistryAccess{Username: reg.User, Password: reg.Password, NoTLSVerify: reg.NoTLSVerify}
	if acc.Username != "" {
		return acc, nil
	}
	if reg.AuthFile != "" {
		cfg, err := credential.LoadDockerConfig(reg.AuthFile)
		if err != nil {
			return acc, hint.AuthFileError(flag == "--src", usage.Wrap(err))
		}
		basic, found, err := cfg.Lookup(image)
		if err != nil {
			return acc, hint.AuthFileError(flag == "--src", usage.Wrap(err))
		}
		if found {
			acc.Username, acc.Password = basic.Username, basic.Password
			return acc, nil
		}
		side := "destination"
		if flag == "--src" {
			side = "source"
		}
		logger.WarnContext(ctx, "the auth file has no entry for the image's registry", "side", side, "image", image)
	}
	if tokens.enabled {
		token, err := tokens.get(ctx)
		if err != nil {
			return acc, hint.TokenError(err)
		}
		acc.Username, acc.Password = TokenUser, token
		return acc, nil
	}
	logger.DebugContext(ctx, "no registry credentials: Thoth pulls the image anonymously", "image", image)
	return acc, nil
}

// lazyToken reads the service-account token once, and only when an image needs it.
type lazyToken struct {
	source  kubetoken.TokenSource
	enabled bool
	token   string
}

func (t *lazyToken) get(ctx context.Context) (string, error) {
	if t.token != "" {
		return t.token, nil
	}
	token, err := t.source.ServiceAccountToken(ctx)
	if err != nil {
		return "", err
	}
	t.token = token
	return token, nil
}

// openLog opens the build log for streaming.
func openLog(path string, stdin io.Reader) (io.Reader, func(), error) {
	if path == StdinPath {
		if stdin == nil {
			return nil, nil, usage.Errorf("--build-log-file -: there is no standard input")
		}
		return stdin, func() {}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, usage.Errorf("--build-log-file: %w", err)
	}
	if info, err := f.Stat(); err == nil && info.IsDir() {
		f.Close()
		return nil, nil, usage.Errorf("--build-log-file %s is a directory, not a log file", path)
	}
	return f, func() { f.Close() }, nil
}

// writeResults writes the four Tekton results; absent ids are written empty so that a
// Pipeline can always refer to them.
func writeResults(w *result.Writer, resp *thoth.BuildAnalysisResponse) error {
	for _, r := range []struct{ name, value string }{
		{ResultBaseImageAnalysisID, id(resp.BaseImageAnalysis)},
		{ResultOutputImageAnalysisID, id(resp.OutputImageAnalysis)},
		{ResultBuildLogAnalysisID, id(resp.BuildLogAnalysis)},
		{ResultBuildLogDocumentID, resp.BuildLogDocumentID},
	} {
		if err := w.Write(r.name, r.value); err != nil {
			return fmt.Errorf("writing result %s: %w", r.name, err)
		}
	}
	return nil
}

func id(ref *thoth.AnalysisRef) string {
	if ref == nil {
		return ""
	}
	return ref.AnalysisID
}

// report prints the answer: one line per analysis id, or the decoded answer as JSON.
func report(w io.Writer, format string, resp *thoth.BuildAnalysisResponse) error {
	if format == FormatJSON {
		return cliapp.PrintJSON(w, resp)
	}
	var b strings.Builder
	for _, line := range []struct {
		name string
		ref  *thoth.AnalysisRef
	}{
		{ResultBaseImageAnalysisID, resp.BaseImageAnalysis},
		{ResultOutputImageAnalysisID, resp.OutputImageAnalysis},
		{ResultBuildLogAnalysisID, resp.BuildLogAnalysis},
	} {
		if line.ref == nil {
			continue
		}
		cached := ""
		if line.ref.Cached {
			cached = " (cached)"
		}
		fmt.Fprintf(&b, "%s: %s%s\n", line.name, line.ref.AnalysisID, cached)
	}
	if resp.BuildLogDocumentID != "" {
		fmt.Fprintf(&b, "%s: %s\n", ResultBuildLogDocumentID, resp.BuildLogDocumentID)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("writing the answer: %w", err)
	}
	return nil
}
