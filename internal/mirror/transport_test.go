package mirror

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"syscall"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

func TestTransient(t *testing.T) {
	status := func(code int) error { return &transport.Error{StatusCode: code} }
	urlErr := func(err error) error { return &url.Error{Op: "Patch", URL: "http://r/v2/x", Err: err} }
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"500", status(http.StatusInternalServerError), true},
		{"502", status(http.StatusBadGateway), true},
		{"503", status(http.StatusServiceUnavailable), true},
		{"429", status(http.StatusTooManyRequests), true},
		{"408", status(http.StatusRequestTimeout), true},
		{"501", status(http.StatusNotImplemented), false},
		{"400", status(http.StatusBadRequest), false},
		{"401", status(http.StatusUnauthorized), false},
		{"403", status(http.StatusForbidden), false},
		{"404", status(http.StatusNotFound), false},
		{"reset", urlErr(&net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}), true},
		{"broken pipe", urlErr(&net.OpError{Op: "write", Err: os.NewSyscallError("write", syscall.EPIPE)}), true},
		{"unexpected EOF", urlErr(io.ErrUnexpectedEOF), true},
		{"EOF", urlErr(io.EOF), true},
		{"timeout", urlErr(&net.OpError{Op: "dial", Err: timeoutError{}}), true},
		{"refused", urlErr(&net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}), false},
		{"cancelled", urlErr(context.Canceled), false},
		{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), false},
		{"certificate", urlErr(&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}), false},
		{"plain HTTP refused", urlErr(fmt.Errorf("%w: h", ErrPlainHTTP)), false},
		{"short source blob", &sourceError{fmt.Errorf("reading blob: %w", io.ErrUnexpectedEOF)}, true},
		{"other", errors.New("boom"), false},
	}
	for _, tt := range tests {
		if got := transient(tt.err); got != tt.want {
			t.Errorf("transient(%s: %v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}

// timeoutError is a net.Error that timed out.
type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }
