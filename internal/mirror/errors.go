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

	"github.com/thoth-station/build-watcher/internal/hint"
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

// Problem is what is known of why a registry request failed.
type Problem int

// The problems RegistryError tells apart; ProblemOther is anything else.
const (
	ProblemOther Problem = iota
	// ProblemUntrusted: the registry's TLS certificate is not trusted.
	ProblemUntrusted
	// ProblemPlainHTTPRefused: plain HTTP to a registry not allowed it.
	ProblemPlainHTTPRefused
	// ProblemServesPlainHTTP: the registry answered HTTPS in plain HTTP.
	ProblemServesPlainHTTP
	// ProblemUnauthorized: the registry wants credentials, or refused those given.
	ProblemUnauthorized
	// ProblemForbidden: the credentials lack access to the repository.
	ProblemForbidden
	// ProblemNotFound: the source repository, tag or digest does not exist.
	ProblemNotFound
	// ProblemUnknownHost: the registry's host name does not resolve.
	ProblemUnknownHost
	// ProblemRefused: nothing listens at the registry's address.
	ProblemRefused
)

// Credentials says where a side's credentials came from.
type Credentials int

// Where credentials come from.
const (
	CredentialsNone Credentials = iota
	CredentialsUser
	CredentialsAuthFile
	CredentialsToken
)

// RegistryError is a failed request to one side's registry: what was done to which image,
// what is known of why, and where that side's credentials came from. Its text states the
// facts; Hint words what to do for where the user stands.
type RegistryError struct {
	// Source is true for the source side (pulls), false for the destination (pushes).
	Source bool
	// Op is what was being done to Image, e.g. "reading the source image".
	Op, Image string
	// Problem is what is known of the cause.
	Problem Problem
	// Credentials is where the side's credentials came from.
	Credentials Credentials
	// Err is the registry client's error.
	Err error
}

var _ hint.Hinter = (*RegistryError)(nil)

// Error says what failed on which image and, when known, why.
func (e *RegistryError) Error() string {
	msg := fmt.Sprintf("%s %s: %v", e.Op, e.Image, e.Err)
	if fact := e.fact(); fact != "" {
		msg += "; " + fact
	}
	return msg
}

// Unwrap returns the registry client's error.
func (e *RegistryError) Unwrap() error { return e.Err }

func (e *RegistryError) side() side {
	if e.Source {
		return sourceSide
	}
	return destinationSide
}

func (e *RegistryError) fact() string {
	s := e.side()
	switch e.Problem {
	case ProblemUntrusted:
		return fmt.Sprintf("the %s registry's TLS certificate is not trusted", s.what)
	case ProblemServesPlainHTTP:
		return "the registry serves plain HTTP"
	case ProblemUnauthorized:
		switch e.Credentials {
		case CredentialsToken:
			return fmt.Sprintf("the %s registry refused the service-account token", s.what)
		case CredentialsNone:
			return fmt.Sprintf("the %s registry wants credentials", s.what)
		}
		return fmt.Sprintf("the %s registry refused the credentials", s.what)
	case ProblemForbidden:
		return fmt.Sprintf("the %s credentials lack %s access to the repository", s.what, s.access)
	case ProblemNotFound:
		return "the repository, tag or digest does not exist in the source registry"
	case ProblemUnknownHost:
		return fmt.Sprintf("the %s registry's host name is unknown", s.what)
	case ProblemRefused:
		return fmt.Sprintf("nothing answers at the %s registry's address", s.what)
	}
	return ""
}

// Hint says what the user at w does about the failure, or "".
func (e *RegistryError) Hint(w hint.Where) string {
	creds, noVerify := hint.DstRegistryCredentials, hint.NoDstRegistryTLSVerify
	if e.Source {
		creds, noVerify = hint.SrcRegistryCredentials, hint.NoSrcRegistryTLSVerify
	}
	switch e.Problem {
	case ProblemUntrusted:
		return hint.Alternatives(hint.With(w, "give its CA with ", hint.RegistryCA), hint.With(w, "turn verification off with ", noVerify))
	case ProblemPlainHTTPRefused:
		return hint.With(w, "if the registry serves plain HTTP, allow it with ", hint.InsecureRegistry)
	case ProblemServesPlainHTTP:
		return hint.With(w, "allow it with ", hint.InsecureRegistry)
	case ProblemUnauthorized:
		switch e.Credentials {
		case CredentialsToken:
			return hint.Alternatives("let the pod's service account pull from it (on OpenShift, the system:image-puller role)", hint.With(w, "give ", creds))
		case CredentialsNone:
			give := hint.With(w, "give ", creds)
			if e.Source {
				return hint.Alternatives(give, hint.With(w, "", hint.PassToken)+forInternalRegistry(w))
			}
			return give
		}
		return hint.With(w, "check ", creds)
	case ProblemForbidden:
		return "use an account (or robot account) that has it"
	case ProblemNotFound:
		return "check the image reference"
	case ProblemUnknownHost:
		return "check the registry name"
	case ProblemRefused:
		return "check the registry name and port"
	}
	return ""
}

// forInternalRegistry completes the pass-token alternative when w can set it.
func forInternalRegistry(w hint.Where) string {
	if w.Spell(hint.PassToken) == "" {
		return ""
	}
	return " for OpenShift's internal registry"
}

// explain wraps err, a failure on side s while doing what on image, as a RegistryError.
func (c *copier) explain(s side, what, image string, err error) error {
	auth := c.dstAuth
	if s == sourceSide {
		auth = c.srcAuth
	}
	return &RegistryError{Source: s == sourceSide, Op: what, Image: image, Problem: classify(s, err), Credentials: auth, Err: err}
}

// classify says what is known of why err, a failure on side s, happened.
func classify(s side, err error) Problem {
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
		return ProblemUntrusted
	case errors.Is(err, ErrPlainHTTP):
		return ProblemPlainHTTPRefused
	case strings.Contains(err.Error(), httpResponseToHTTPS):
		return ProblemServesPlainHTTP
	case errors.As(err, &terr) && terr.StatusCode == http.StatusUnauthorized:
		return ProblemUnauthorized
	case errors.As(err, &terr) && terr.StatusCode == http.StatusForbidden:
		return ProblemForbidden
	case errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound && s == sourceSide:
		return ProblemNotFound
	case errors.As(err, &dns) && dns.IsNotFound:
		return ProblemUnknownHost
	case errors.Is(err, syscall.ECONNREFUSED):
		return ProblemRefused
	}
	return ProblemOther
}
