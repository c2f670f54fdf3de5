package mirror

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/thoth-station/build-watcher/internal/redact"
)

// ErrDigestMismatch is returned (wrapped) when the copy's digest differs from the
// source's: the destination registry changed the manifest, or --destination names
// another digest.
var ErrDigestMismatch = errors.New("digest mismatch")

// maxErrorBytes bounds the text of an error: registries answer with up to 64 KiB of HTML.
const maxErrorBytes = 2048

// httpResponseToHTTPS is net/http's message for a TLS handshake answered in plain HTTP;
// net/http has no error type or variable for it.
const httpResponseToHTTPS = "server gave HTTP response to HTTPS client"

// failure is an error whose text is redacted and bounded, and which unwraps to the
// original so that errors.Is and errors.As keep working.
type failure struct {
	msg string
	err error
}

var _ error = (*failure)(nil)

func (f *failure) Error() string { return f.msg }

func (f *failure) Unwrap() error { return f.err }

// finish turns err into what Mirror returns: the secrets of r and secret-looking text
// removed, and cut to maxErrorBytes.
func finish(r *redact.Redactor, err error) error {
	if err == nil {
		return nil
	}
	msg := r.String(err.Error())
	if len(msg) > maxErrorBytes {
		msg = strings.ToValidUTF8(msg[:maxErrorBytes], "") + " [...]"
	}
	return &failure{msg: msg, err: err}
}

// explain wraps err, a failure on side s while doing what on image, with what to do
// about it when that is known.
func (c *copier) explain(s side, what, image string, err error) error {
	auth := c.dstAuth
	if s == sourceSide {
		auth = c.srcAuth
	}
	if h := hint(s, auth, err); h != "" {
		return fmt.Errorf("%s %s: %w; %s", what, image, err, h)
	}
	return fmt.Errorf("%s %s: %w", what, image, err)
}

// hint says what to do about err on side s, whose credentials came from auth, or "".
func hint(s side, auth authSource, err error) string {
	var (
		terr     *transport.Error
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		verify   *tls.CertificateVerificationError
		dns      *net.DNSError
	)
	switch {
	case errors.As(err, &unknown), errors.As(err, &hostname), errors.As(err, &invalid), errors.As(err, &verify):
		return fmt.Sprintf("the %s registry's TLS certificate is not trusted: give its CA with --registry-ca-file, or turn verification off with --no-%s-registry-tls-verify",
			s.what, strings.TrimPrefix(s.flag, "--"))
	case errors.Is(err, ErrPlainHTTP):
		return "if the registry serves plain HTTP, allow it with --insecure-registry HOST:PORT"
	case strings.Contains(err.Error(), httpResponseToHTTPS):
		return "the registry serves plain HTTP: allow it with --insecure-registry HOST:PORT"
	case errors.As(err, &terr) && terr.StatusCode == http.StatusUnauthorized:
		switch auth {
		case authToken:
			return fmt.Sprintf("the %s registry refused the service-account token (--pass-token): let the pod's service account pull from it (on OpenShift, the system:image-puller role), or give %[2]s-registry-user/%[2]s-registry-password", s.what, s.flag)
		case authAnonymous:
			h := fmt.Sprintf("the %s registry wants credentials: give %[2]s-registry-user/%[2]s-registry-password or %[2]s-registry-auth-file", s.what, s.flag)
			if s == sourceSide {
				h += ", or --pass-token for OpenShift's internal registry"
			}
			return h
		}
		return fmt.Sprintf("the %s registry refused the credentials: check %[2]s-registry-user/%[2]s-registry-password or %[2]s-registry-auth-file", s.what, s.flag)
	case errors.As(err, &terr) && terr.StatusCode == http.StatusForbidden:
		return fmt.Sprintf("the %s credentials lack %s access to the repository: use an account (or robot account) that has it", s.what, s.access)
	case errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound && s == sourceSide:
		return "check --source: the repository, tag or digest does not exist in the source registry"
	case errors.As(err, &dns) && dns.IsNotFound:
		return fmt.Sprintf("the %s registry's host name is unknown: check the registry name", s.what)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("nothing answers at the %s registry's address: check the registry name and port", s.what)
	}
	return ""
}
