package mirror

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/thoth-station/build-watcher/internal/capool"
	"github.com/thoth-station/build-watcher/internal/credential"
	"github.com/thoth-station/build-watcher/internal/hint"
	"github.com/thoth-station/build-watcher/internal/usage"
)

// Defaults of the options.
const (
	// DefaultJobs is how many blobs are copied at once.
	DefaultJobs = 4
	// DefaultRetryAttempts is how often a request, or a blob upload as a whole, is tried
	// when it fails transiently.
	DefaultRetryAttempts = 6
	// DefaultRetryDelay is the wait after the first transient failure; each further wait
	// doubles, plus up to half of it at random (about 1, 2, 4, 8, 16 s for the defaults).
	DefaultRetryDelay = time.Second
	// DefaultResponseTimeout bounds the wait for a registry's answer to one request once
	// the request (with its body) is sent.
	DefaultResponseTimeout = 2 * time.Minute
	// DefaultProgressDelay is how long a copy runs before progress is shown, so that
	// quick copies print nothing.
	DefaultProgressDelay = time.Second
	// DefaultProgressInterval is the time between two progress lines.
	DefaultProgressInterval = time.Second
)

// TokenUser is the registry user name that goes with the service-account token.
const TokenUser = "build-watcher"

// Registry is how one side's registry is reached: its credentials and TLS verification.
// It has the fields of cliapp.Registry, so the flags' values convert to it.
type Registry struct {
	// User and Password are basic credentials: both or neither.
	User, Password string
	// AuthFile is a docker config JSON file, or a directory holding one (as a Secret bound
	// to a Tekton workspace), whose entry for the image's registry is used.
	AuthFile string
	// NoTLSVerify turns off the verification of the registry's TLS certificate.
	NoTLSVerify bool
}

// Option configures Mirror. Options check their values: a bad one makes Mirror fail
// before it sends any request, with an error matching usage.ErrBadInput.
type Option func(*options) error

// options is what the Options give; makeOptions sets the defaults.
type options struct {
	src, dst Registry
	// passToken sends the token read from tokenFile as the password of TokenUser for a
	// source without other credentials.
	passToken bool
	tokenFile string
	// roots are the CAs trusted for TLS: the system's plus --registry-ca-file's; nil for the
	// system's alone.
	roots *x509.CertPool
	// insecure holds the registries (host[:port]) that may be reached over plain HTTP.
	insecure map[string]bool
	jobs     int
	// attempts and retryDelay make the retry backoff.
	attempts   int
	retryDelay time.Duration
	// responseTimeout bounds the wait for an answer.
	responseTimeout time.Duration
	// progress receives progress lines; nil: none.
	progress         io.Writer
	progressDelay    time.Duration
	progressInterval time.Duration
	logger           *slog.Logger
	userAgent        string
}

// makeOptions applies the defaults, then opts in order, then checks the combination.
func makeOptions(opts ...Option) (*options, error) {
	o := &options{
		tokenFile:        credential.ServiceAccountTokenPath,
		insecure:         map[string]bool{},
		jobs:             DefaultJobs,
		attempts:         DefaultRetryAttempts,
		retryDelay:       DefaultRetryDelay,
		responseTimeout:  DefaultResponseTimeout,
		progressDelay:    DefaultProgressDelay,
		progressInterval: DefaultProgressInterval,
		logger:           slog.New(slog.DiscardHandler),
	}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, usage.Wrap(err)
		}
	}
	for _, s := range []struct {
		flag string
		reg  Registry
	}{{sourceSide.flag, o.src}, {destinationSide.flag, o.dst}} {
		if (s.reg.User == "") != (s.reg.Password == "") {
			return nil, usage.Errorf("%[1]s-registry-user and %[1]s-registry-password go together: give both or neither", s.flag)
		}
		if s.reg.User != "" && s.reg.AuthFile != "" {
			return nil, usage.Errorf("%[1]s-registry-user/%[1]s-registry-password and %[1]s-registry-auth-file conflict: give one of them", s.flag)
		}
	}
	return o, nil
}

// WithSource sets the credentials and TLS verification of the source registry.
func WithSource(r Registry) Option {
	return func(o *options) error {
		o.src = r
		return nil
	}
}

// WithDestination sets the credentials and TLS verification of the destination registry.
func WithDestination(r Registry) Option {
	return func(o *options) error {
		o.dst = r
		return nil
	}
}

// WithPassToken, when enabled, uses the pod's service-account token (see WithTokenFile) as
// the password of TokenUser for the source image when it has no other credentials, as
// OpenShift's internal registry accepts. The token is never sent to the destination: it
// is the cluster's secret, and the push registry is usually outside the cluster.
func WithPassToken(enabled bool) Option {
	return func(o *options) error {
		o.passToken = enabled
		return nil
	}
}

// WithTokenFile sets the file WithPassToken reads; the default is
// credential.ServiceAccountTokenPath. Only the file is read, never a kubeconfig.
func WithTokenFile(path string) Option {
	return func(o *options) error {
		if path == "" {
			return errors.New("the service-account token file name is empty")
		}
		o.tokenFile = path
		return nil
	}
}

// WithCAFile trusts the CA certificates at path, besides the system's, for both
// registries: a PEM file, or a directory of them (a ConfigMap or Secret mounted without
// subPath). An empty path changes nothing.
func WithCAFile(path string) Option {
	return func(o *options) error {
		if path == "" {
			return nil
		}
		pool, err := capool.Load(path)
		if err != nil {
			return hint.Wrap(hint.RegistryCA, "check %s", fmt.Errorf("reading the registry CAs: %w", err))
		}
		o.roots = pool
		return nil
	}
}

// WithInsecureRegistries allows plain HTTP to the given registries (host or host:port,
// as in image references). Every other registry is reached over HTTPS only, even on
// loopback and private addresses, where go-containerregistry would otherwise fall back to
// plain HTTP.
func WithInsecureRegistries(hosts ...string) Option {
	return func(o *options) error {
		for _, h := range hosts {
			host := strings.TrimSpace(h)
			if host == "" {
				return errors.New("--insecure-registry: empty registry name; give HOST or HOST:PORT")
			}
			if strings.Contains(host, "://") || strings.ContainsAny(host, "/@") {
				return fmt.Errorf("--insecure-registry %q: give the registry as HOST or HOST:PORT, without scheme or path", h)
			}
			reg, err := name.NewRegistry(host)
			if err != nil {
				return fmt.Errorf("--insecure-registry %q: %w", h, err)
			}
			o.insecure[strings.ToLower(reg.RegistryStr())] = true
		}
		return nil
	}
}

// WithJobs sets how many blobs are copied at once; the default is DefaultJobs.
func WithJobs(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("--jobs must be at least 1, not %d", n)
		}
		o.jobs = n
		return nil
	}
}

// WithRetry sets how often a request or a blob upload is tried when it fails transiently
// (5xx, 429, timeouts, reset or refused connections), and the first wait; each further
// wait doubles, plus up to half of it at random. The defaults are DefaultRetryAttempts
// and DefaultRetryDelay.
func WithRetry(attempts int, firstDelay time.Duration) Option {
	return func(o *options) error {
		if attempts < 1 {
			return fmt.Errorf("retry attempts must be at least 1, not %d", attempts)
		}
		if firstDelay < 0 {
			return fmt.Errorf("the first retry delay must not be negative, not %s", firstDelay)
		}
		o.attempts, o.retryDelay = attempts, firstDelay
		return nil
	}
}

// WithResponseTimeout bounds the wait for a registry's answer to one request once the
// request is sent; the default is DefaultResponseTimeout.
func WithResponseTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("the response timeout must be positive, not %s", d)
		}
		o.responseTimeout = d
		return nil
	}
}

// WithProgress writes progress lines (layers done and in all, bytes, rate) to w while a
// copy runs longer than DefaultProgressDelay, and a last line when it is done. A nil w
// shows none.
func WithProgress(w io.Writer) Option {
	return func(o *options) error {
		o.progress = w
		return nil
	}
}

// WithLogger sets the logger for what happens along the way (credentials chosen, retries,
// blobs skipped); nil discards. Nothing logged holds a credential.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			l = slog.New(slog.DiscardHandler)
		}
		o.logger = l
		return nil
	}
}

// WithUserAgent sets the User-Agent the registries see (go-containerregistry adds its own).
func WithUserAgent(ua string) Option {
	return func(o *options) error {
		o.userAgent = ua
		return nil
	}
}

// withProgressTiming sets when progress lines appear; for tests.
func withProgressTiming(delay, interval time.Duration) Option {
	return func(o *options) error {
		o.progressDelay, o.progressInterval = delay, interval
		return nil
	}
}
