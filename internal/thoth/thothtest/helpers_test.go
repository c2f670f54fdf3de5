package thothtest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"
)

// answer is a response as the tests see it.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// decode decodes the answer's JSON body into a map.
func (a answer) decode(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatalf("decode answer %d %q: %v", a.status, a.body, err)
	}
	return m
}

// errorMessage returns the "error" field of the answer's body.
func (a answer) errorMessage(t *testing.T) string {
	t.Helper()
	msg, _ := a.decode(t)["error"].(string)
	return msg
}

// call sends a request to s (started by NewTestServer) and checks that the
// answer matches the stand-in's own document when the path is in it.
func call(t *testing.T, s *Server, method, pathAndQuery, contentType, body string) answer {
	t.Helper()
	req := newRequest(t, s, method, pathAndQuery, contentType, body)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	a := answer{status: resp.StatusCode, header: resp.Header, body: data}
	checkAnswer(t, s, req, a)
	return a
}

// newRequest builds a request to s; body "" means no body.
func newRequest(t *testing.T, s *Server, method, pathAndQuery, contentType, body string) *http.Request {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, s.URL()+pathAndQuery, r)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return req
}

// checkAnswer validates an answer against the stand-in's document, so the
// stand-in stays honest about what it sends, and checks the version headers
// every answer carries.
func checkAnswer(t *testing.T, s *Server, req *http.Request, a answer) {
	t.Helper()
	for _, h := range []string{"X-Thoth-Version", "X-User-API-Service-Version"} {
		if a.header.Get(h) == "" {
			t.Errorf("answer %d to %s %s has no %s header", a.status, req.Method, req.URL.Path, h)
		}
	}
	route, pathParams, err := s.findRoute(req)
	if err != nil {
		return // not in the document: discovery, readiness, unknown paths
	}
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request:    req,
			PathParams: pathParams,
			Route:      route,
		},
		Status:  a.status,
		Header:  a.header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true},
	}
	input.SetBodyBytes(a.body)
	if err := openapi3filter.ValidateResponse(t.Context(), input); err != nil {
		t.Errorf("answer %d to %s %s does not match the document: %v\nbody: %s", a.status, req.Method, req.URL.Path, err, a.body)
	}
}

// mustNew returns a Server for opts or fails t.
func mustNew(t *testing.T, opts Options) *Server {
	t.Helper()
	s, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}
