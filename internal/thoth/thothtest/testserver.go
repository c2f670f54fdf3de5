package thothtest

import (
	"net/http/httptest"
	"testing"
)

// NewTestServer starts a Server configured by opts on a plain-HTTP
// httptest.Server, which t.Cleanup closes; URL returns its base URL. It
// fails t if opts are invalid.
func NewTestServer(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := New(opts)
	if err != nil {
		t.Fatalf("new thoth stand-in: %v", err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	s.url = ts.URL
	return s
}
