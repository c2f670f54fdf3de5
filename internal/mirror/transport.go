package mirror

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// ErrPlainHTTP is returned (wrapped) for a request in plain HTTP to a registry that
// WithInsecureRegistries did not name.
var ErrPlainHTTP = errors.New("plain HTTP refused")

// connBufferBytes sizes the read and write buffers of each connection: blobs move in
// fewer, larger system calls than with net/http's 4 KiB.
const connBufferBytes = 256 << 10

// retryStatusCodes are the answers retried as transient: timeouts, rate limits and
// server-side failures, as go-containerregistry's defaults. Never modified.
var retryStatusCodes = [...]int{
	http.StatusRequestTimeout,
	http.StatusTooManyRequests,
	http.StatusInternalServerError,
	http.StatusBadGateway,
	http.StatusServiceUnavailable,
	http.StatusGatewayTimeout,
}

// newTransport returns the HTTP transport of one side: go-containerregistry's default
// transport (proxy from the environment, dial and TLS handshake timeouts) with the side's
// TLS settings and a response timeout, behind a guard that refuses plain HTTP to
// registries not named by WithInsecureRegistries.
func (o *options) newTransport(noTLSVerify bool) *http.Transport {
	base, ok := remote.DefaultTransport.(*http.Transport)
	if !ok {
		base = http.DefaultTransport.(*http.Transport)
	}
	tr := base.Clone()
	tr.TLSClientConfig = &tls.Config{
		MinVersion:         tls.VersionTLS12,
		RootCAs:            o.roots,
		InsecureSkipVerify: noTLSVerify, // only when asked: --no-src/dst-registry-tls-verify
	}
	tr.ResponseHeaderTimeout = o.responseTimeout
	tr.WriteBufferSize, tr.ReadBufferSize = connBufferBytes, connBufferBytes
	return tr
}

// plainHTTPGuard refuses requests in plain HTTP to hosts it does not allow.
type plainHTTPGuard struct {
	next    http.RoundTripper
	allowed map[string]bool
}

var _ http.RoundTripper = (*plainHTTPGuard)(nil)

// RoundTrip implements http.RoundTripper.
func (g *plainHTTPGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && !g.allowed[strings.ToLower(req.URL.Host)] {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("%w: %s is not an --insecure-registry", ErrPlainHTTP, req.URL.Host)
	}
	return g.next.RoundTrip(req)
}

// mountWatcher notes the blobs that the registry mounted from another repository
// (POST .../blobs/uploads/?mount=<digest>&from=<repo> answered 201 Created).
type mountWatcher struct {
	next    http.RoundTripper
	mounted sync.Map // digest string → true
}

var _ http.RoundTripper = (*mountWatcher)(nil)

// RoundTrip implements http.RoundTripper.
func (m *mountWatcher) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := m.next.RoundTrip(req)
	if err == nil && req.Method == http.MethodPost && resp.StatusCode == http.StatusCreated {
		if d := req.URL.Query().Get("mount"); d != "" {
			m.mounted.Store(d, true)
		}
	}
	return resp, err
}

// wasMounted reports whether the blob with digest d was mounted.
func (m *mountWatcher) wasMounted(d string) bool {
	_, ok := m.mounted.Load(d)
	return ok
}

// transient reports whether err is worth another try: a registry answer marked temporary
// (5xx but 501/505, 408, 429, or such error codes), a timeout, or a connection that was
// reset, closed or cut short. Cancellation, certificate and authentication failures are
// not, nor a refused connection: that is a wrong address far more often than a registry
// restarting, and retrying it would only delay the error.
func transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if errors.Is(err, ErrPlainHTTP) {
		return false
	}
	var terr *transport.Error
	if errors.As(err, &terr) {
		return terr.Temporary()
	}
	var tlsErr *tls.CertificateVerificationError
	if errors.As(err, &tlsErr) {
		return false
	}
	for _, target := range []error{io.ErrUnexpectedEOF, io.EOF, syscall.ECONNRESET, syscall.ECONNABORTED,
		syscall.EPIPE, net.ErrClosed} {
		if errors.Is(err, target) {
			return true
		}
	}
	var nerr net.Error
	return errors.As(err, &nerr) && nerr.Timeout()
}
