// Package thothtest provides a stand-in for the Thoth User API for tests and
// local runs.
//
// The stand-in validates every request to an endpoint of its own OpenAPI
// document (openapi.yaml, a subset of the upstream document checked against
// it by TestSubsetMatchesUpstream) with kin-openapi, adds the checks the real
// server makes beyond its document (unknown query parameters, credentials in
// pairs, an empty build analysis, the body size cap), answers like the real
// server, and injects faults (5xx, 429, connection resets, latency) at
// configurable, seeded rates.
package thothtest

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// openAPIYAML is the stand-in's own OpenAPI document (a string, so it cannot
// be modified in place).
//
//go:embed openapi.yaml
var openAPIYAML string

const (
	// DefaultMaxBodyBytes is the request body cap used when
	// Options.MaxBodyBytes is zero, like the server's default
	// THOTH_MAX_POST_CONTENT_LENGTH.
	DefaultMaxBodyBytes int64 = 3 * 1024 * 1024

	// APIVersion is the value of the X-Thoth-Version header and of the
	// version reported by /readiness and /liveness.
	APIVersion = "0.7.0-dev"

	// ServiceVersion is the value of the X-User-API-Service-Version header.
	ServiceVersion = APIVersion + "+thoth-standin"

	basePath             = "/api/v1"
	defaultRetryAfter    = time.Second
	headerThothVersion   = "X-Thoth-Version"
	headerServiceVersion = "X-User-API-Service-Version"
)

// Options configures a Server. The zero value is a well-behaved server.
type Options struct {
	// MaxBodyBytes caps request bodies; larger bodies are answered
	// 400 {"error": "Input exceeded N bytes allowed"}. Zero means
	// DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Faults sets the rates of injected faults.
	Faults Faults
	// Registries maps a registry host (as in the image reference, e.g.
	// "quay.io" or "registry.example:5000") to the credentials it requires.
	// An image on such a host submitted without credentials is answered 401,
	// with other credentials 403.
	Registries map[string]Credential
	// Seed seeds the pseudo-random source of fault decisions and of the
	// random part of analysis ids, so a sequence of requests sees the same
	// faults in every run.
	Seed uint64
	// Now returns the current time, used in analysis ids. Nil means time.Now.
	Now func() time.Time
	// Logger, if set, gets one line per request (method, path, status,
	// fault); query strings, which carry passwords, are never logged.
	Logger *slog.Logger
}

// Faults sets the rates of faults injected into requests to /api/v1
// endpoints. The decision is made before the request is validated. The three
// rates are fractions of requests and must add up to at most 1.
type Faults struct {
	// ServerErrorRate is the fraction of requests answered 500, 502 or 503
	// with {"error": "...", "details": {...}}.
	ServerErrorRate float64
	// RateLimitRate is the fraction of requests answered 429 with a
	// Retry-After header.
	RateLimitRate float64
	// RetryAfter is the Retry-After sent with 429, rounded up to whole
	// seconds. Zero means one second.
	RetryAfter time.Duration
	// ResetRate is the fraction of requests whose connection is closed
	// without an answer.
	ResetRate float64
	// Latency is added before answering every request to /api/v1 (after
	// reading its body); the wait ends early, without an answer, when the
	// request's context is done, as when the client goes away.
	Latency time.Duration
}

// Credential is the user and password a registry requires.
type Credential struct {
	// Username is the registry user.
	Username string
	// Password is the registry password or token.
	Password string
}

// Fault names a fault injected into a request.
type Fault string

const (
	// FaultNone means no fault was injected.
	FaultNone Fault = ""
	// FaultServerError is an injected 500, 502 or 503 answer.
	FaultServerError Fault = "server-error"
	// FaultRateLimit is an injected 429 answer.
	FaultRateLimit Fault = "rate-limit"
	// FaultReset is a connection closed without an answer.
	FaultReset Fault = "reset"
)

// Request is a request the stand-in received, as recorded.
type Request struct {
	// Method is the HTTP method.
	Method string
	// Path is the URL path, without the query.
	Path string
	// Query holds the query parameters, passwords included.
	Query url.Values
	// Body is the request body as read (at most MaxBodyBytes).
	Body []byte
	// Status is the status answered; 0 when there was no answer (a reset,
	// or the client went away during the injected latency).
	Status int
	// Fault is the fault injected, FaultNone if none.
	Fault Fault
	// Canceled reports that the request's context ended during the injected
	// latency, so it was not answered.
	Canceled bool
	// Err is why the stand-in rejected the request (failed validation, a
	// registry credential check, an unknown analysis id); nil otherwise.
	Err error
}

// Stats counts requests by outcome.
type Stats struct {
	// Total counts all requests, whatever their outcome.
	Total int
	// Accepted counts 202 answers.
	Accepted int
	// OK counts other 2xx answers (discovery, readiness, status).
	OK int
	// Rejected counts 4xx answers of the stand-in itself (not injected).
	Rejected int
	// ServerErrors counts injected 5xx answers.
	ServerErrors int
	// RateLimited counts injected 429 answers.
	RateLimited int
	// Resets counts connections closed without an answer.
	Resets int
	// Canceled counts requests that ended during the injected latency.
	Canceled int
}

// Server is a Thoth User API stand-in.
type Server struct {
	maxBody    int64
	faults     Faults
	retryAfter string
	registries map[string]Credential
	now        func() time.Time
	logger     *slog.Logger
	doc        *openapi3.T
	router     routers.Router
	apiPaths   []string

	// url is set once by NewTestServer before the server is shared.
	url string
	// onLatency, when set (by tests), is called when a request starts
	// waiting for the injected latency.
	onLatency func()

	mu       sync.Mutex
	faultRNG *rand.Rand
	idRNG    *rand.Rand
	requests []Request
	stats    Stats
	images   map[string]string // image key -> package-extract analysis id
	analyses map[string]string // package-extract analysis id -> image key
}

// New validates opts, loads the embedded OpenAPI document and returns a
// Server. Serve it with any http.Server, or use NewTestServer in tests.
func New(opts Options) (*Server, error) {
	if err := validateOptions(opts); err != nil {
		return nil, fmt.Errorf("thothtest: %w", err)
	}
	doc, err := openapi3.NewLoader().LoadFromData([]byte(openAPIYAML))
	if err != nil {
		return nil, fmt.Errorf("thothtest: load openapi document: %w", err)
	}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("thothtest: route openapi document: %w", err)
	}
	s := &Server{
		maxBody:    opts.MaxBodyBytes,
		faults:     opts.Faults,
		registries: make(map[string]Credential, len(opts.Registries)),
		now:        opts.Now,
		logger:     opts.Logger,
		doc:        doc,
		router:     router,
		faultRNG:   rand.New(rand.NewPCG(opts.Seed, 0x9e3779b97f4a7c15)),
		idRNG:      rand.New(rand.NewPCG(opts.Seed, 0xda3e39cb94b95bdb)),
		images:     make(map[string]string),
		analyses:   make(map[string]string),
	}
	if s.maxBody == 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	retryAfter := opts.Faults.RetryAfter
	if retryAfter == 0 {
		retryAfter = defaultRetryAfter
	}
	s.retryAfter = fmt.Sprint(int64(math.Ceil(retryAfter.Seconds())))
	for host, cred := range opts.Registries {
		s.registries[host] = cred
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	for path := range doc.Paths.Map() {
		s.apiPaths = append(s.apiPaths, basePath+path)
	}
	sort.Strings(s.apiPaths)
	return s, nil
}

func validateOptions(opts Options) error {
	if opts.MaxBodyBytes < 0 {
		return fmt.Errorf("max body bytes %d is negative", opts.MaxBodyBytes)
	}
	f := opts.Faults
	rates := []struct {
		name string
		rate float64
	}{
		{"server error rate", f.ServerErrorRate},
		{"rate limit rate", f.RateLimitRate},
		{"reset rate", f.ResetRate},
	}
	sum := 0.0
	for _, r := range rates {
		if math.IsNaN(r.rate) || r.rate < 0 || r.rate > 1 {
			return fmt.Errorf("%s %v is not between 0 and 1", r.name, r.rate)
		}
		sum += r.rate
	}
	if sum > 1 {
		return fmt.Errorf("fault rates add up to %v, more than 1", sum)
	}
	if f.RetryAfter < 0 {
		return fmt.Errorf("retry after %v is negative", f.RetryAfter)
	}
	if f.Latency < 0 {
		return fmt.Errorf("latency %v is negative", f.Latency)
	}
	for host, cred := range opts.Registries {
		if host == "" {
			return errors.New("registry host is empty")
		}
		if cred.Username == "" || cred.Password == "" {
			return fmt.Errorf("registry %s: user and password must both be set", host)
		}
	}
	return nil
}

// URL returns the base URL (like http://127.0.0.1:PORT, without /api/v1) of
// a server started by NewTestServer, and "" for other servers.
func (s *Server) URL() string {
	return s.url
}

// Requests returns a copy of all requests recorded so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		r.Query = cloneValues(r.Query)
		r.Body = append([]byte(nil), r.Body...)
		out[i] = r
	}
	return out
}

// Stats returns the counts of requests by outcome so far.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// reply is an answer to write.
type reply struct {
	status int
	body   any
	// err is why the request was rejected, for the record.
	err error
}

// ServeHTTP answers r like the Thoth User API, after injecting the faults
// drawn for it. A reset needs a connection that can be hijacked (HTTP/1);
// otherwise the handler aborts with http.ErrAbortHandler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query()}
	h := w.Header()
	h.Set(headerThothVersion, APIVersion)
	h.Set(headerServiceVersion, ServiceVersion)

	// Read the body first: net/http only notices that the client went away
	// (and cancels r.Context()) once the handler has read the body to EOF,
	// and the latency wait below must notice it.
	body, bodyRep, bodyOK := s.readBody(w, r)
	rec.Body = body

	if isAPIPath(r.URL.Path) {
		fault, status := s.drawFault()
		if !s.wait(r.Context()) {
			rec.Canceled = true
			s.record(rec)
			return
		}
		switch fault {
		case FaultReset:
			rec.Fault = fault
			s.record(rec)
			resetConnection(w)
			return
		case FaultServerError:
			rec.Fault = fault
			s.answer(w, &rec, reply{status: status, body: s.serverErrorBody()})
			return
		case FaultRateLimit:
			rec.Fault = fault
			h.Set("Retry-After", s.retryAfter)
			s.answer(w, &rec, reply{status: http.StatusTooManyRequests, body: errorBody{
				Error: "Too many requests, retry after " + s.retryAfter + " seconds",
			}})
			return
		}
	}
	if !bodyOK {
		s.answer(w, &rec, bodyRep)
		return
	}
	s.answer(w, &rec, s.handle(w, r, body))
}

// handle answers a request that got no fault.
func (s *Server) handle(w http.ResponseWriter, r *http.Request, body []byte) reply {
	switch r.URL.Path {
	case "/readiness", "/liveness":
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", http.MethodGet)
			return methodNotAllowed(r)
		}
		return reply{status: http.StatusOK, body: map[string]string{"status": "ready", "version": APIVersion}}
	case basePath, basePath + "/":
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", http.MethodGet)
			return methodNotAllowed(r)
		}
		return reply{status: http.StatusOK, body: map[string][]string{"paths": s.apiPaths}}
	}
	req := hostRelative(r, body)
	route, pathParams, err := s.findRoute(req)
	if err != nil {
		if allowed := s.allowedMethods(req); len(allowed) > 0 {
			w.Header().Set("Allow", strings.Join(allowed, ", "))
			return methodNotAllowed(r)
		}
		return reply{status: http.StatusNotFound, body: errorBody{Error: "Requested resource not found"}, err: err}
	}
	p := params{query: req.URL.Query(), declared: queryParameters(route)}
	if err := s.validateRequest(req, route, pathParams, p.declared); err != nil {
		return badRequest(err)
	}
	switch route.Operation.OperationID {
	case "post_build":
		return s.postBuild(p, body)
	case "post_analyze":
		return s.postAnalyze(p)
	case "get_analyze":
		return s.getAnalysis(pathParams["analysis_id"], http.StatusAccepted)
	case "get_analyze_status":
		return s.getAnalysis(pathParams["analysis_id"], http.StatusOK)
	}
	err = fmt.Errorf("operation %q has no handler", route.Operation.OperationID)
	return reply{status: http.StatusInternalServerError, body: s.serverErrorBody(), err: err}
}

// readBody reads the request body up to the cap. When it answers ok=false,
// rep is the answer to send.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) (body []byte, rep reply, ok bool) {
	tooLarge := reply{
		status: http.StatusBadRequest,
		body:   errorBody{Error: fmt.Sprintf("Input exceeded %d bytes allowed", s.maxBody)},
		err:    fmt.Errorf("body over %d bytes", s.maxBody),
	}
	if r.ContentLength > s.maxBody {
		return nil, tooLarge, false
	}
	if r.Body == nil {
		return nil, reply{}, true
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return body, tooLarge, false
		}
		return body, badRequest(fmt.Errorf("read body: %w", err)), false
	}
	return body, reply{}, true
}

// findRoute finds the operation of the document that r is for.
//
// Two quirks of kin-openapi's legacy router are handled here: it matches
// servers against the whole URL (so a request with a scheme and host would
// not match the host-relative server /api/v1, see hostRelative), and it
// matches a trailing path variable with an empty value (GET /analyze matches
// /analyze/{analysis_id}); an empty path parameter is treated as no match.
// Path parameters are returned unescaped.
func (s *Server) findRoute(r *http.Request) (*routers.Route, map[string]string, error) {
	if r.URL.Scheme != "" || r.URL.Host != "" {
		r = hostRelative(r, nil)
	}
	route, pathParams, err := s.router.FindRoute(r)
	if err != nil {
		return nil, nil, fmt.Errorf("find route: %w", err)
	}
	for name, v := range pathParams {
		if v == "" {
			return nil, nil, fmt.Errorf("find route: path parameter %q is empty", name)
		}
		if pathParams[name], err = url.PathUnescape(v); err != nil {
			return nil, nil, fmt.Errorf("find route: path parameter %q: %w", name, err)
		}
	}
	return route, pathParams, nil
}

// allowedMethods returns the methods the document has for r's path.
func (s *Server) allowedMethods(r *http.Request) []string {
	var allowed []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		c := r.Clone(r.Context())
		c.Method = m
		if _, _, err := s.findRoute(c); err == nil {
			allowed = append(allowed, m)
		}
	}
	return allowed
}

// hostRelative returns a shallow copy of r whose URL has only a path and a
// query, and whose body (when body is not nil) reads body.
func hostRelative(r *http.Request, body []byte) *http.Request {
	c := r.Clone(r.Context())
	c.URL = &url.URL{Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	c.Host = ""
	if body != nil {
		c.Body = io.NopCloser(bytes.NewReader(body))
		c.ContentLength = int64(len(body))
		c.GetBody = nil
	}
	return c
}

func isAPIPath(path string) bool {
	return path == basePath || strings.HasPrefix(path, basePath+"/")
}

// drawFault decides the fault for one request; status is the answer's
// status for FaultServerError.
func (s *Server) drawFault() (fault Fault, status int) {
	s.mu.Lock()
	u := s.faultRNG.Float64()
	pick := s.faultRNG.IntN(3)
	s.mu.Unlock()
	f := s.faults
	switch {
	case u < f.ServerErrorRate:
		return FaultServerError, [...]int{
			http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable,
		}[pick]
	case u < f.ServerErrorRate+f.RateLimitRate:
		return FaultRateLimit, http.StatusTooManyRequests
	case u < f.ServerErrorRate+f.RateLimitRate+f.ResetRate:
		return FaultReset, 0
	}
	return FaultNone, 0
}

// wait waits for the injected latency; it reports false if ctx ended first.
func (s *Server) wait(ctx context.Context) bool {
	if s.faults.Latency <= 0 {
		return true
	}
	t := time.NewTimer(s.faults.Latency)
	defer t.Stop()
	if s.onLatency != nil {
		s.onLatency()
	}
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// resetConnection closes the connection under w without an answer; with
// SO_LINGER 0 the client sees a reset (or EOF).
func resetConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// answer records rec with the answer and then writes it, so that a client
// that has its answer always finds its request in Requests.
func (s *Server) answer(w http.ResponseWriter, rec *Request, rep reply) {
	data, err := json.Marshal(rep.body)
	if err != nil {
		rep = reply{status: http.StatusInternalServerError, err: fmt.Errorf("encode answer: %w", err)}
		data, _ = json.Marshal(s.serverErrorBody())
	}
	rec.Status = rep.status
	rec.Err = rep.err
	s.record(*rec)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(rep.status)
	_, _ = w.Write(append(data, '\n'))
}

// record stores rec, counts it and logs it (without the query).
func (s *Server) record(rec Request) {
	s.mu.Lock()
	s.requests = append(s.requests, rec)
	s.stats.Total++
	switch {
	case rec.Canceled:
		s.stats.Canceled++
	case rec.Fault == FaultReset:
		s.stats.Resets++
	case rec.Fault == FaultServerError:
		s.stats.ServerErrors++
	case rec.Fault == FaultRateLimit:
		s.stats.RateLimited++
	case rec.Status == http.StatusAccepted:
		s.stats.Accepted++
	case rec.Status >= 200 && rec.Status < 300:
		s.stats.OK++
	case rec.Status >= 400 && rec.Status < 500:
		s.stats.Rejected++
	}
	s.mu.Unlock()
	attrs := []slog.Attr{
		slog.String("method", rec.Method),
		slog.String("path", rec.Path),
		slog.Int("status", rec.Status),
	}
	if rec.Fault != FaultNone {
		attrs = append(attrs, slog.String("fault", string(rec.Fault)))
	}
	if rec.Canceled {
		attrs = append(attrs, slog.Bool("canceled", true))
	}
	s.logger.LogAttrs(context.Background(), slog.LevelInfo, "request", attrs...)
}

// errorBody is the body of the server's 4xx answers.
type errorBody struct {
	Error      string         `json:"error"`
	Parameters map[string]any `json:"parameters,omitempty"`
}

// serverErrorBody is the body of the server's 500 error handler.
func (s *Server) serverErrorBody() map[string]any {
	return map[string]any{
		"error": "Internal server error occurred, please contact administrator with provided details.",
		"details": map[string]string{
			"type":     "InjectedFault",
			"datetime": s.now().UTC().Format("2006-01-02T15:04:05.000000"),
		},
	}
}

func badRequest(err error) reply {
	return reply{status: http.StatusBadRequest, body: errorBody{Error: err.Error()}, err: err}
}

func methodNotAllowed(r *http.Request) reply {
	err := fmt.Errorf("method %s not allowed on %s", r.Method, r.URL.Path)
	return reply{status: http.StatusMethodNotAllowed, body: errorBody{Error: "Method not allowed"}, err: err}
}

func cloneValues(v url.Values) url.Values {
	if v == nil {
		return nil
	}
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
