package thoth

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/thoth-station/build-watcher/internal/hint"
	"github.com/thoth-station/build-watcher/internal/redact"
)

// ErrNothingToSubmit is returned by SubmitBuild when the base image, the output image and
// the build log are all empty, the case the server rejects with "No base, output nor build
// log provided".
var ErrNothingToSubmit = errors.New("nothing to submit: no base image, no output image and no build log")

// maxErrorBody is how much of an error answer is read; the rest is discarded.
const maxErrorBody = 64 << 10

// maxErrorMessage caps the server text kept in an APIError.
const maxErrorMessage = 1024

// APIError is an answer from the Thoth User API with a status other than the expected one.
// Its message is the server's "error" text with every credential of the request removed.
type APIError struct {
	// Method and Path name the request, without host and query (the query holds credentials).
	Method, Path string
	// StatusCode is the HTTP status of the answer.
	StatusCode int
	// Message is the server's explanation, redacted.
	Message string
	// RetryAfter is the wait the server asked for (429/503 Retry-After), or 0.
	RetryAfter time.Duration
}

// Error says which request failed, how, and the server's reason.
func (e *APIError) Error() string {
	msg := redact.New().String(e.Message)
	if msg == "" {
		msg = "no explanation in the answer"
	}
	return fmt.Sprintf("thoth answered %d %s to %s %s: %s",
		e.StatusCode, http.StatusText(e.StatusCode), e.Method, e.Path, msg)
}

// Hint says what the user at w does about the answer, when that is known: Thoth could not
// pull an image with the credentials sent, or the request body is over the server's limit.
func (e *APIError) Hint(w hint.Where) string {
	switch {
	case e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden:
		return "Thoth could not pull an image with the credentials given: check " + hint.Alternatives(
			hint.With(w, "", hint.SrcRegistryCredentials)+" (base image)",
			hint.With(w, "", hint.DstRegistryCredentials)+" (output image)",
			hint.With(w, "", hint.PassToken))
	case e.StatusCode == http.StatusBadRequest && strings.Contains(e.Message, "exceeded"):
		if lower := hint.With(w, "lower ", hint.MaxBodySize); lower != "" {
			return lower + " below the server's THOTH_MAX_POST_CONTENT_LENGTH"
		}
		return "raise the server's THOTH_MAX_POST_CONTENT_LENGTH"
	}
	return ""
}

// Temporary reports whether the same request may succeed later: rate limiting, request
// timeouts and server-side failures are temporary; bad input and refused credentials are not.
func (e *APIError) Temporary() bool {
	switch e.StatusCode {
	case http.StatusRequestTimeout, http.StatusTooManyRequests:
		return true
	case http.StatusNotImplemented, http.StatusHTTPVersionNotSupported:
		return false
	}
	return e.StatusCode >= 500
}

// newAPIError builds an APIError from an answer's status and (limited) body, removing the
// request's credentials from the server's text: Thoth echoes them in its "parameters".
func newAPIError(method, path string, status int, header http.Header, body []byte, r *redact.Redactor, now time.Time) *APIError {
	return &APIError{
		Method:     method,
		Path:       path,
		StatusCode: status,
		Message:    truncate(r.String(errorMessage(body)), maxErrorMessage),
		RetryAfter: parseRetryAfter(header.Get("Retry-After"), now),
	}
}

// errorMessage extracts the server's explanation from an error body: the top-level "error",
// or the "error" of each block of a BuildAnalysisResponseError; otherwise the start of the
// body as text (a proxy's HTML page, for example). The echoed "parameters" are never kept.
func errorMessage(body []byte) string {
	var doc struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(body, &doc); err == nil && doc.Error != "" {
		return doc.Error
	}
	var blocks map[string]json.RawMessage
	if err := json.Unmarshal(body, &blocks); err == nil {
		var parts []string
		for _, key := range []string{"base_image_analysis", "output_image_analysis", "build_log_analysis", "buildlog_analysis"} {
			var block struct {
				Error string `json:"error"`
			}
			if raw, ok := blocks[key]; ok && json.Unmarshal(raw, &block) == nil && block.Error != "" {
				parts = append(parts, strings.ReplaceAll(strings.TrimSuffix(key, "_analysis"), "_", " ")+": "+block.Error)
			}
		}
		if len(parts) > 0 {
			return strings.Join(parts, "; ")
		}
		return ""
	}
	return strings.Join(strings.Fields(string(body)), " ")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && cut < len(s) && s[cut]&0xC0 == 0x80 { // do not split a UTF-8 sequence
		cut--
	}
	return s[:cut] + "..."
}

// RequestError is a request to the Thoth User API that got no answer: the connection failed,
// timed out or was reset, or TLS verification failed.
type RequestError struct {
	// Method and Endpoint name the request; Endpoint has no query and no userinfo.
	Method, Endpoint string
	// Err is the underlying transport error.
	Err error
}

// Error says which request failed and why, without the query string.
func (e *RequestError) Error() string {
	return fmt.Sprintf("%s %s: %s", e.Method, e.Endpoint, redact.New().String(e.Err.Error()))
}

// Unwrap returns the transport error.
func (e *RequestError) Unwrap() error { return e.Err }

// Hint says what the user at w does about a TLS failure.
func (e *RequestError) Hint(w hint.Where) string {
	if !IsTLSError(e.Err) {
		return ""
	}
	return hint.Alternatives(hint.With(w, "trust the server's CA with ", hint.ThothCA), hint.With(w, "turn verification off with ", hint.NoThothTLSVerify))
}

// Temporary reports whether trying again may help: connection resets, refused connections
// and timeouts may; certificate problems, a plain-HTTP server behind an https:// host and
// unknown host names do not.
func (e *RequestError) Temporary() bool {
	return !IsTLSError(e.Err) && !isUnknownHost(e.Err) && !errors.Is(e.Err, context.Canceled)
}

// IsTLSError reports whether err comes from TLS certificate verification or a TLS handshake
// with a server that does not speak TLS.
func IsTLSError(err error) bool {
	var (
		unknownAuthority x509.UnknownAuthorityError
		hostname         x509.HostnameError
		invalid          x509.CertificateInvalidError
		verification     *tls.CertificateVerificationError
		recordHeader     tls.RecordHeaderError
	)
	return errors.As(err, &unknownAuthority) || errors.As(err, &hostname) || errors.As(err, &invalid) ||
		errors.As(err, &verification) || errors.As(err, &recordHeader)
}

func isUnknownHost(err error) bool {
	var dnsErr *net.DNSError
	return errors.As(err, &dnsErr) && dnsErr.IsNotFound
}

// temporary reports whether err is worth another attempt, asking the error itself.
func temporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}
