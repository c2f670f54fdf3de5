// Package thoth is a client for the Thoth User API: discovery and build analysis
// submission, with retries of transient failures, TLS options, a request body budget that
// cuts long build logs, and errors from which every credential is removed.
package thoth

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/thoth-station/build-watcher/internal/capool"
	"github.com/thoth-station/build-watcher/internal/hint"
	"github.com/thoth-station/build-watcher/internal/redact"
)

// APIPath is the base path of the User API, appended to the host unless already there.
const APIPath = "/api/v1"

// DefaultMaxBodyBytes is the default request body limit: just under the server's default
// THOTH_MAX_POST_CONTENT_LENGTH of 3 MiB.
const DefaultMaxBodyBytes = 3<<20 - 4<<10

// maxAnswerBody caps how much of a successful answer is read.
const maxAnswerBody = 4 << 20

// Client talks to one Thoth User API. It is safe for concurrent use.
type Client struct {
	options
	base *url.URL
	http *http.Client

	mu  sync.Mutex // guards rnd
	rnd *rand.Rand
}

// Option configures a Client; an option that cannot be applied makes New fail.
type Option func(*options) error

type options struct {
	httpClient     *http.Client
	noTLSVerify    bool
	caFile         string
	retry          RetryPolicy
	requestTimeout time.Duration
	maxBody        int
	userAgent      string
	logger         *slog.Logger
	sleep          func(context.Context, time.Duration) error
	now            func() time.Time
	seed           uint64
}

// WithHTTPClient sends requests through c. It conflicts with WithNoTLSVerify and WithCAFile,
// which configure the client's own transport.
func WithHTTPClient(c *http.Client) Option {
	return func(o *options) error {
		if c == nil {
			return errors.New("http client is nil")
		}
		o.httpClient = c
		return nil
	}
}

// WithNoTLSVerify turns off certificate verification of the Thoth server.
func WithNoTLSVerify(skip bool) Option {
	return func(o *options) error { o.noTLSVerify = skip; return nil }
}

// WithCAFile trusts the PEM certificates in path, in addition to the system pool, for the
// Thoth server. An empty path is ignored.
func WithCAFile(path string) Option {
	return func(o *options) error { o.caFile = path; return nil }
}

// WithRetryPolicy replaces DefaultRetryPolicy.
func WithRetryPolicy(p RetryPolicy) Option {
	return func(o *options) error {
		if err := p.Validate(); err != nil {
			return err
		}
		o.retry = p
		return nil
	}
}

// WithRequestTimeout bounds each attempt (connect, upload, answer); default DefaultRequestTimeout.
func WithRequestTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("request timeout must be positive, not %s", d)
		}
		o.requestTimeout = d
		return nil
	}
}

// WithMaxBodyBytes sets the request body limit that build logs are cut to; default
// DefaultMaxBodyBytes. Set it below the server's THOTH_MAX_POST_CONTENT_LENGTH.
func WithMaxBodyBytes(n int) Option {
	return func(o *options) error {
		if n < minBodyBytes {
			return fmt.Errorf("maximum body size must be at least %d bytes, not %d", minBodyBytes, n)
		}
		o.maxBody = n
		return nil
	}
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option {
	return func(o *options) error { o.userAgent = ua; return nil }
}

// WithLogger receives one debug record per attempt and one warning per retry. Records hold
// method, path, status and attempt, never a query string or a body.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return errors.New("logger is nil")
		}
		o.logger = l
		return nil
	}
}

// WithClock replaces time.Now and the wait between attempts, for tests; seed fixes the jitter.
func WithClock(now func() time.Time, sleep func(context.Context, time.Duration) error, seed uint64) Option {
	return func(o *options) error {
		if now == nil || sleep == nil {
			return errors.New("clock functions must not be nil")
		}
		o.now, o.sleep, o.seed = now, sleep, seed
		return nil
	}
}

// New returns a client for the User API at host: a host name ("thoth.example.com", HTTPS is
// implied), an https:// URL, or an http:// URL for local use, with or without the /api/v1
// suffix.
func New(host string, opts ...Option) (*Client, error) {
	base, err := BaseURL(host)
	if err != nil {
		return nil, err
	}
	o := options{
		retry:          DefaultRetryPolicy(),
		requestTimeout: DefaultRequestTimeout,
		maxBody:        DefaultMaxBodyBytes,
		userAgent:      "build-watcher",
		logger:         slog.New(slog.DiscardHandler),
		sleep:          sleepContext,
		now:            time.Now,
		seed:           uint64(time.Now().UnixNano()),
	}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, fmt.Errorf("configuring thoth client: %w", err)
		}
	}
	hc := o.httpClient
	if hc != nil && (o.noTLSVerify || o.caFile != "") {
		return nil, errors.New("configuring thoth client: TLS options conflict with a caller's HTTP client")
	}
	if hc == nil {
		hc, err = newHTTPClient(o.noTLSVerify, o.caFile)
		if err != nil {
			return nil, fmt.Errorf("configuring thoth client: %w", err)
		}
	}
	return &Client{
		options: o,
		base:    base,
		http:    hc,
		rnd:     rand.New(rand.NewPCG(o.seed, o.seed^0x9e3779b97f4a7c15)),
	}, nil
}

// BaseURL turns a --thoth-api-host value into the API's base URL.
func BaseURL(host string) (*url.URL, error) {
	host = strings.TrimSpace(host)
	if host == "" {
		return nil, hint.Wrap(hint.ThothAPIHost, "set %s", errors.New("the Thoth User API host is empty"))
	}
	raw := host
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("thoth API host %q is not a host name or URL", redact.URL(host))
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return nil, fmt.Errorf("thoth API host %q: scheme must be https (or http for local use), not %q", redact.URL(host), u.Scheme)
	case u.Host == "":
		return nil, fmt.Errorf("thoth API host %q has no host name", redact.URL(host))
	case u.User != nil:
		return nil, fmt.Errorf("thoth API host %q must not carry credentials", redact.URL(host))
	case u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("thoth API host %q must not have a query or fragment", redact.URL(host))
	}
	u.Path = strings.TrimRight(u.Path, "/")
	if !strings.HasSuffix(u.Path, APIPath) {
		u.Path += APIPath
	}
	u.RawPath = ""
	return u, nil
}

func newHTTPClient(noTLSVerify bool, caFile string) (*http.Client, error) {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if noTLSVerify {
		tlsConfig.InsecureSkipVerify = true //nolint:gosec // asked for with --no-tls-verify
	}
	if caFile != "" {
		pool, err := capool.Load(caFile)
		if err != nil {
			return nil, hint.Wrap(hint.ThothCA, "check %s", fmt.Errorf("reading the Thoth CAs: %w", err))
		}
		tlsConfig.RootCAs = pool
	}
	transport.TLSClientConfig = tlsConfig
	return &http.Client{
		Transport: transport,
		// Never follow redirects: a redirect would resend the credential-bearing query to
		// another place.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}, nil
}

// Endpoint returns the API base URL, for messages (it never holds credentials).
func (c *Client) Endpoint() string { return c.base.String() }

// call is one logical request to the API.
type call struct {
	method   string
	path     string // below the base, e.g. "/build-analysis"
	query    url.Values
	body     []byte
	redactor *redact.Redactor
}

// do sends the call, retrying transient failures by the policy, and returns the answer body
// and the number of attempts made.
func (c *Client) do(ctx context.Context, cl call) ([]byte, int, error) {
	endpoint := c.base.JoinPath(cl.path)
	shownPath := endpoint.Path
	target := *endpoint
	target.RawQuery = cl.query.Encode()
	start := c.now()
	for attempt := 1; ; attempt++ {
		body, err := c.attempt(ctx, cl, &target, shownPath)
		if err == nil {
			return body, attempt, nil
		}
		if ctx.Err() != nil {
			return nil, attempt, fmt.Errorf("%s %s: %w", cl.method, shownPath, context.Cause(ctx))
		}
		if !temporary(err) {
			return nil, attempt, err
		}
		if attempt >= c.retry.MaxAttempts {
			return nil, attempt, fmt.Errorf("giving up after %d attempts: %w", attempt, err)
		}
		c.mu.Lock()
		wait := c.retry.delay(attempt, c.rnd)
		c.mu.Unlock()
		var apiErr *APIError
		if errors.As(err, &apiErr) && apiErr.RetryAfter > 0 {
			wait = apiErr.RetryAfter
		}
		if elapsed := c.now().Sub(start); elapsed+wait > c.retry.MaxElapsed {
			return nil, attempt, fmt.Errorf("giving up after %d attempts in %s (next wait %s would pass the retry time limit of %s): %w",
				attempt, elapsed.Round(time.Millisecond), wait.Round(time.Millisecond), c.retry.MaxElapsed, err)
		}
		c.logger.WarnContext(ctx, "thoth request failed, retrying",
			"method", cl.method, "path", shownPath, "attempt", attempt, "wait", wait.Round(time.Millisecond), "error", err.Error())
		if err := c.sleep(ctx, wait); err != nil {
			return nil, attempt, fmt.Errorf("%s %s: waiting to retry: %w", cl.method, shownPath, err)
		}
	}
}

// attempt sends the call once, bounded by the request timeout.
func (c *Client) attempt(ctx context.Context, cl call, target *url.URL, shownPath string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.requestTimeout)
	defer cancel()
	var body io.Reader
	if cl.body != nil {
		body = bytes.NewReader(cl.body)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, target.String(), body)
	if err != nil {
		return nil, fmt.Errorf("building request %s %s: %w", cl.method, shownPath, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if cl.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	c.logger.DebugContext(ctx, "thoth request", "method", cl.method, "path", shownPath, "bytes", len(cl.body))
	resp, err := c.http.Do(req)
	if err != nil {
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			err = urlErr.Err // its message holds the full URL with the credential-bearing query
		}
		return nil, &RequestError{Method: cl.method, Endpoint: c.base.Scheme + "://" + c.base.Host + shownPath, Err: err}
	}
	defer resp.Body.Close()
	ok := resp.StatusCode >= 200 && resp.StatusCode < 300
	limit := int64(maxAnswerBody)
	if !ok {
		limit = maxErrorBody
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, &RequestError{Method: cl.method, Endpoint: c.base.Scheme + "://" + c.base.Host + shownPath, Err: fmt.Errorf("reading answer: %w", err)}
	}
	c.logger.DebugContext(ctx, "thoth answer", "method", cl.method, "path", shownPath, "status", resp.StatusCode,
		"thoth_version", resp.Header.Get("X-Thoth-Version"))
	if !ok {
		if len(data) > maxErrorBody {
			data = data[:maxErrorBody]
		}
		return nil, newAPIError(cl.method, shownPath, resp.StatusCode, resp.Header, data, cl.redactor, c.now())
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s %s: answer larger than %d bytes", cl.method, shownPath, limit)
	}
	return data, nil
}
