package thoth

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/thoth-station/build-watcher/internal/hint"
)

func TestBaseURL(t *testing.T) {
	tests := []struct {
		name, host, want, wantErr string
	}{
		{name: "bare host is https", host: "thoth.example.com", want: "https://thoth.example.com/api/v1"},
		{name: "host and port", host: "thoth.example.com:8443", want: "https://thoth.example.com:8443/api/v1"},
		{name: "https URL", host: "https://thoth.example.com/", want: "https://thoth.example.com/api/v1"},
		{name: "explicit http for local use", host: "http://127.0.0.1:8080", want: "http://127.0.0.1:8080/api/v1"},
		{name: "api path kept once", host: "https://thoth.example.com/api/v1/", want: "https://thoth.example.com/api/v1"},
		{name: "path prefix", host: "https://gw.example.com/thoth", want: "https://gw.example.com/thoth/api/v1"},
		{name: "surrounding space", host: "  thoth.example.com\n", want: "https://thoth.example.com/api/v1"},
		{name: "empty", host: "", wantErr: "--thoth-api-host"},
		{name: "other scheme", host: "ftp://thoth.example.com", wantErr: "scheme must be https"},
		{name: "no host", host: "https://", wantErr: "no host name"},
		{name: "credentials in URL", host: "https://me:s3cret@thoth.example.com", wantErr: "must not carry credentials"},
		{name: "query", host: "https://thoth.example.com/?x=1", wantErr: "query"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := BaseURL(tt.host)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(hint.Explain(err, hint.CLI), tt.wantErr) {
					t.Fatalf("BaseURL(%q) error = %v, want one containing %q", tt.host, err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "s3cret") {
					t.Fatalf("error shows the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("BaseURL(%q): %v", tt.host, err)
			}
			if got.String() != tt.want {
				t.Errorf("BaseURL(%q) = %s, want %s", tt.host, got, tt.want)
			}
		})
	}
}

func TestQuery(t *testing.T) {
	base, out := "quay.io/org/base@sha256:"+strings.Repeat("a", 64), "registry.example/ns/app@sha256:"+strings.Repeat("b", 64)
	tests := []struct {
		name    string
		req     BuildAnalysisRequest
		want    url.Values
		wantErr string
	}{
		{name: "nothing set", req: BuildAnalysisRequest{BaseImage: base}, want: url.Values{}},
		{name: "environment type", req: BuildAnalysisRequest{BaseImage: base, EnvironmentType: "buildtime"}, want: url.Values{"environment_type": {"buildtime"}}},
		{name: "origin, debug and force as true", req: BuildAnalysisRequest{OutputImage: out, Origin: "ns/build-1", Debug: true, Force: true},
			want: url.Values{"origin": {"ns/build-1"}, "debug": {"true"}, "force": {"true"}}},
		{name: "credentials per side", req: BuildAnalysisRequest{
			BaseImage: base, OutputImage: out,
			BaseRegistry:   RegistryAccess{Username: "u1", Password: "p1"},
			OutputRegistry: RegistryAccess{Username: "u2", Password: "p2", NoTLSVerify: true},
		}, want: url.Values{
			"base_registry_user": {"u1"}, "base_registry_password": {"p1"},
			"output_registry_user": {"u2"}, "output_registry_password": {"p2"}, "output_registry_verify_tls": {"false"},
		}},
		{name: "side without its image sends nothing", req: BuildAnalysisRequest{
			OutputImage:  out,
			BaseRegistry: RegistryAccess{Username: "u1", Password: "p1", NoTLSVerify: true},
		}, want: url.Values{}},
		{name: "user without password", req: BuildAnalysisRequest{BaseImage: base, BaseRegistry: RegistryAccess{Username: "u"}}, wantErr: "together"},
		{name: "password without user", req: BuildAnalysisRequest{OutputImage: out, OutputRegistry: RegistryAccess{Password: "p"}}, wantErr: "together"},
		{name: "unknown environment type", req: BuildAnalysisRequest{BaseImage: base, EnvironmentType: "prod"}, wantErr: "runtime or buildtime"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.req.query()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("query() error = %v, want one containing %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "p1") || strings.Contains(err.Error(), `"p"`) {
					t.Fatalf("error shows a password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Encode() != tt.want.Encode() {
				t.Errorf("query() = %s, want %s", got.Encode(), tt.want.Encode())
			}
		})
	}
}

func TestBody(t *testing.T) {
	tests := []struct {
		name string
		req  BuildAnalysisRequest
		want string
	}{
		{name: "no log is an empty object, absent images null",
			req:  BuildAnalysisRequest{BaseImage: "quay.io/a/b:1"},
			want: `{"base_image":"quay.io/a/b:1","output_image":null,"build_log":{}}`},
		{name: "empty log is an empty object",
			req:  BuildAnalysisRequest{OutputImage: "r/x@sha256:" + strings.Repeat("0", 64), BuildLog: strings.NewReader("")},
			want: `{"base_image":null,"output_image":"r/x@sha256:` + strings.Repeat("0", 64) + `","build_log":{}}`},
		{name: "log with defaults",
			req:  BuildAnalysisRequest{BuildLog: strings.NewReader("STEP 1/2: FROM ubi9\n\"quoted\"\n")},
			want: `{"base_image":null,"output_image":null,"build_log":{"apiversion":"build.openshift.io/v1","kind":"BuildLog","log":"STEP 1/2: FROM ubi9\n\"quoted\"\n"}}`},
		{name: "log kind for tekton",
			req:  BuildAnalysisRequest{BuildLog: strings.NewReader("x"), BuildLogAPIVersion: "tekton.dev/v1", BuildLogKind: "PipelineRunLog"},
			want: `{"base_image":null,"output_image":null,"build_log":{"apiversion":"tekton.dev/v1","kind":"PipelineRunLog","log":"x"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, _, err := tt.req.body(DefaultMaxBodyBytes)
			if err != nil {
				t.Fatal(err)
			}
			if string(body) != tt.want {
				t.Errorf("body =\n%s\nwant\n%s", body, tt.want)
			}
			if !json.Valid(body) {
				t.Error("body is not valid JSON")
			}
		})
	}
}

func TestBodyBudget(t *testing.T) {
	const limit = 64 << 10
	log := strings.Repeat("Collecting numpy\n", 100_000) + "ERROR: failed building wheel for numpy\n"
	req := BuildAnalysisRequest{BaseImage: "quay.io/org/base:1", OutputImage: "quay.io/org/out:2", BuildLog: strings.NewReader(log)}
	body, enc, err := req.body(limit)
	if err != nil {
		t.Fatal(err)
	}
	if len(body) > limit {
		t.Fatalf("body is %d bytes, over the limit of %d", len(body), limit)
	}
	var doc struct {
		BuildLog struct {
			Log string `json:"log"`
		} `json:"build_log"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(doc.BuildLog.Log, "ERROR: failed building wheel for numpy\n") {
		t.Error("the tail of the log, where failures are, was not kept")
	}
	if enc.CutBytes == 0 || enc.TotalBytes != int64(len(log)) {
		t.Errorf("cut %d of %d bytes, want a cut of a %d-byte log", enc.CutBytes, enc.TotalBytes, len(log))
	}
	if _, _, err := req.body(1 << 10); err == nil {
		t.Error("a limit that leaves no room for the log was accepted")
	}
}

// fakeClock advances time on every sleep instead of waiting, and records the waits.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	waits []time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.waits = append(c.waits, d)
	c.now = c.now.Add(d)
	return ctx.Err()
}

func (c *fakeClock) Waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.waits...)
}

func newClock() *fakeClock { return &fakeClock{now: time.Date(2026, 11, 22, 9, 30, 11, 0, time.UTC)} }

// scripted answers each request with the next of its statuses (the last one repeats).
func scripted(t *testing.T, statuses []int, header http.Header, body string) (*httptest.Server, *int) {
	t.Helper()
	var mu sync.Mutex
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		i := min(calls, len(statuses)-1)
		calls++
		mu.Unlock()
		io.Copy(io.Discard, r.Body)
		for k, v := range header {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(statuses[i])
		if statuses[i] == http.StatusAccepted {
			io.WriteString(w, `{"base_image_analysis":{"analysis_id":"package-extract-221122093011-8a1f0c3e5d7b9a21","cached":false},"output_image_analysis":null,"buildlog_analysis":null}`)
			return
		}
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func TestRetryPolicy(t *testing.T) {
	fast := RetryPolicy{MaxAttempts: 4, MaxElapsed: time.Minute, InitialDelay: time.Second, MaxDelay: 4 * time.Second}
	tests := []struct {
		name         string
		statuses     []int
		header       http.Header
		body         string
		policy       RetryPolicy
		wantAttempts int
		wantErr      string
		wantWaits    []time.Duration // exact waits; nil: only check their bounds
	}{
		{name: "success at once", statuses: []int{202}, policy: fast, wantAttempts: 1},
		{name: "5xx then success", statuses: []int{503, 500, 202}, policy: fast, wantAttempts: 3},
		{name: "429 honours Retry-After", statuses: []int{429, 202}, header: http.Header{"Retry-After": {"7"}}, policy: fast,
			wantAttempts: 2, wantWaits: []time.Duration{7 * time.Second}},
		{name: "gives up after max attempts", statuses: []int{502}, policy: fast, wantAttempts: 4, wantErr: "giving up after 4 attempts"},
		{name: "Retry-After beyond the time limit gives up", statuses: []int{429}, header: http.Header{"Retry-After": {"120"}},
			policy: fast, wantAttempts: 1, wantErr: "retry time limit", wantWaits: []time.Duration{}},
		{name: "400 fails at once with the server's text", statuses: []int{400}, body: `{"error": "No base, output nor build log provided"}`,
			policy: fast, wantAttempts: 1, wantErr: "400 Bad Request to POST /api/v1/build-analysis: No base, output nor build log provided"},
		{name: "401 fails at once", statuses: []int{401}, body: `{"error": "authentication required"}`, policy: fast, wantAttempts: 1, wantErr: "401 Unauthorized"},
		{name: "403 fails at once", statuses: []int{403}, body: `{"error": "denied"}`, policy: fast, wantAttempts: 1, wantErr: "403 Forbidden"},
		{name: "501 is permanent", statuses: []int{501}, policy: fast, wantAttempts: 1, wantErr: "501"},
		{name: "per-block errors are joined", statuses: []int{400},
			body:   `{"base_image_analysis": {"error": "manifest unknown", "parameters": {}}, "output_image_analysis": {}, "build_log_analysis": {}}`,
			policy: fast, wantAttempts: 1, wantErr: "base image: manifest unknown"},
		{name: "HTML from a proxy", statuses: []int{502}, body: "<html><body>Bad   gateway</body></html>",
			policy:       RetryPolicy{MaxAttempts: 1, MaxElapsed: time.Minute, InitialDelay: time.Second, MaxDelay: time.Second},
			wantAttempts: 1, wantErr: "<html><body>Bad gateway</body></html>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, calls := scripted(t, tt.statuses, tt.header, tt.body)
			clock := newClock()
			c, err := New(srv.URL, WithRetryPolicy(tt.policy), WithClock(clock.Now, clock.Sleep, 1))
			if err != nil {
				t.Fatal(err)
			}
			sub, err := c.SubmitBuild(t.Context(), BuildAnalysisRequest{BaseImage: "quay.io/org/base:1"})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if *calls != tt.wantAttempts || sub.Attempts != tt.wantAttempts {
				t.Errorf("server saw %d requests, Attempts = %d, want %d", *calls, sub.Attempts, tt.wantAttempts)
			}
			waits := clock.Waits()
			if tt.wantWaits != nil {
				if len(waits) != len(tt.wantWaits) {
					t.Fatalf("waits = %v, want %v", waits, tt.wantWaits)
				}
				for i := range waits {
					if waits[i] != tt.wantWaits[i] {
						t.Errorf("wait %d = %s, want %s", i, waits[i], tt.wantWaits[i])
					}
				}
				return
			}
			if len(waits) != tt.wantAttempts-1 {
				t.Errorf("%d waits for %d attempts", len(waits), tt.wantAttempts)
			}
			for i, w := range waits {
				ceiling := min(tt.policy.InitialDelay<<i, tt.policy.MaxDelay)
				if w < ceiling/2 || w > ceiling {
					t.Errorf("wait %d = %s, want within [%s, %s]", i, w, ceiling/2, ceiling)
				}
			}
		})
	}
}

func TestAPIErrorTemporary(t *testing.T) {
	for status, want := range map[int]bool{400: false, 401: false, 403: false, 404: false, 408: true, 429: true,
		500: true, 501: false, 502: true, 503: true, 504: true, 505: false} {
		if got := (&APIError{StatusCode: status}).Temporary(); got != want {
			t.Errorf("status %d: Temporary() = %v, want %v", status, got, want)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	tests := map[string]time.Duration{
		"":                              0,
		"3":                             3 * time.Second,
		" 10 ":                          10 * time.Second,
		"0":                             0,
		"-1":                            0,
		"soon":                          0,
		"Sun, 22 Nov 2026 09:00:30 GMT": 30 * time.Second,
		"Sun, 22 Nov 2026 08:00:00 GMT": 0,
		"99999999":                      0,
	}
	for in, want := range tests {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestRequestTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // the server notices a closed connection only once the body is read
		select {                    // never answers; the client's per-request timeout must end it
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs first: no handler outlives the test
	clock := newClock()
	c, err := New(srv.URL, WithRequestTimeout(50*time.Millisecond), WithClock(clock.Now, clock.Sleep, 1),
		WithRetryPolicy(RetryPolicy{MaxAttempts: 2, MaxElapsed: time.Minute, InitialDelay: time.Millisecond, MaxDelay: time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	sub, err := c.SubmitBuild(t.Context(), BuildAnalysisRequest{BaseImage: "quay.io/a/b:1"})
	var reqErr *RequestError
	if !errors.As(err, &reqErr) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error = %v, want a RequestError wrapping a deadline", err)
	}
	if sub.Attempts != 2 {
		t.Errorf("Attempts = %d, want 2 (timeouts are retried)", sub.Attempts)
	}
}

func TestCallerCancellationStopsRetries(t *testing.T) {
	srv, calls := scripted(t, []int{503}, nil, `{"error": "busy"}`)
	ctx, cancel := context.WithCancel(t.Context())
	sleep := func(context.Context, time.Duration) error { cancel(); return context.Canceled }
	c, err := New(srv.URL, WithClock(time.Now, sleep, 1))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.SubmitBuild(ctx, BuildAnalysisRequest{BaseImage: "quay.io/a/b:1"})
	if !errors.Is(err, context.Canceled) || *calls != 1 {
		t.Fatalf("error = %v after %d calls, want cancellation after 1", err, *calls)
	}
}

func TestTransportErrorsHideTheQuery(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	t.Cleanup(srv.Close)
	clock := newClock()
	c, err := New(srv.URL, WithClock(clock.Now, clock.Sleep, 1),
		WithRetryPolicy(RetryPolicy{MaxAttempts: 3, MaxElapsed: time.Minute, InitialDelay: time.Millisecond, MaxDelay: time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	const password = "hunter2-Very-Secret"
	sub, err := c.SubmitBuild(t.Context(), BuildAnalysisRequest{
		BaseImage: "quay.io/a/b:1", BaseRegistry: RegistryAccess{Username: "me", Password: password},
	})
	if err == nil {
		t.Fatal("a reset connection succeeded")
	}
	if strings.Contains(err.Error(), password) || strings.Contains(err.Error(), "base_registry") {
		t.Fatalf("error shows the query: %v", err)
	}
	if sub.Attempts != 3 {
		t.Errorf("Attempts = %d, want 3 (resets are retried)", sub.Attempts)
	}
}

func TestTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"base_image_analysis":{"analysis_id":"package-extract-221122093011-8a1f0c3e5d7b9a21","cached":true}}`)
	}))
	t.Cleanup(srv.Close)
	caFile := writeCA(t, srv)
	tests := []struct {
		name     string
		opts     []Option
		wantErr  bool
		attempts int
	}{
		{name: "verification on by default fails at once", wantErr: true, attempts: 1},
		{name: "no-tls-verify", opts: []Option{WithNoTLSVerify(true)}, attempts: 1},
		{name: "private CA", opts: []Option{WithCAFile(caFile)}, attempts: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newClock()
			c, err := New(srv.URL, append(tt.opts, WithClock(clock.Now, clock.Sleep, 1))...)
			if err != nil {
				t.Fatal(err)
			}
			sub, err := c.SubmitBuild(t.Context(), BuildAnalysisRequest{BaseImage: "quay.io/a/b:1"})
			if tt.wantErr != (err != nil) {
				t.Fatalf("error = %v, want error: %v", err, tt.wantErr)
			}
			if tt.wantErr && !IsTLSError(err) {
				t.Errorf("IsTLSError(%v) = false", err)
			}
			if sub.Attempts != tt.attempts {
				t.Errorf("Attempts = %d, want %d", sub.Attempts, tt.attempts)
			}
			if !tt.wantErr && !sub.Response.BaseImageAnalysis.Cached {
				t.Error("cached flag not decoded")
			}
		})
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name string
		opts []Option
		want string
	}{
		{name: "zero attempts", opts: []Option{WithRetryPolicy(RetryPolicy{MaxAttempts: 0, MaxElapsed: time.Second, InitialDelay: time.Millisecond, MaxDelay: time.Millisecond})}, want: "at least 1"},
		{name: "max delay below initial", opts: []Option{WithRetryPolicy(RetryPolicy{MaxAttempts: 1, MaxElapsed: time.Second, InitialDelay: time.Second, MaxDelay: time.Millisecond})}, want: "below the initial"},
		{name: "zero timeout", opts: []Option{WithRequestTimeout(0)}, want: "timeout must be positive"},
		{name: "tiny body limit", opts: []Option{WithMaxBodyBytes(100)}, want: "at least"},
		{name: "missing CA file", opts: []Option{WithCAFile("/nonexistent/ca.pem")}, want: "--thoth-ca-file"},
		{name: "TLS options with own client", opts: []Option{WithHTTPClient(http.DefaultClient), WithNoTLSVerify(true)}, want: "conflict"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New("thoth.example.com", tt.opts...)
			if err == nil || !strings.Contains(hint.Explain(err, hint.CLI), tt.want) {
				t.Fatalf("New error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestDecodeBuildAnalysis(t *testing.T) {
	tests := []struct {
		name, body, wantErr string
		want                BuildAnalysisResponse
	}{
		{name: "all null", body: `{"base_image_analysis":null,"output_image_analysis":null,"buildlog_analysis":null}`},
		{name: "full", body: `{"base_image_analysis":{"analysis_id":"package-extract-1","cached":true,"parameters":{"registry_password":"x"}},
			"output_image_analysis":{"analysis_id":"package-extract-2","cached":false},
			"buildlog_analysis":{"analysis_id":"buildlog-parser-3","cached":false},"buildlog_document_id":"buildlog-abc"}`,
			want: BuildAnalysisResponse{
				BaseImageAnalysis:   &AnalysisRef{AnalysisID: "package-extract-1", Cached: true},
				OutputImageAnalysis: &AnalysisRef{AnalysisID: "package-extract-2"},
				BuildLogAnalysis:    &AnalysisRef{AnalysisID: "buildlog-parser-3"},
				BuildLogDocumentID:  "buildlog-abc",
			}},
		{name: "block without id", body: `{"base_image_analysis":{"cached":true}}`, wantErr: "no analysis_id"},
		{name: "not JSON", body: `<html>`, wantErr: "decoding the answer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeBuildAnalysis([]byte(tt.body))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			gotJSON, _ := json.Marshal(got)
			wantJSON, _ := json.Marshal(tt.want)
			if string(gotJSON) != string(wantJSON) {
				t.Errorf("decoded %s, want %s", gotJSON, wantJSON)
			}
			if strings.Contains(string(gotJSON), "registry_password") {
				t.Error("echoed parameters were kept")
			}
		})
	}
}

// FuzzDecodeAnswers feeds arbitrary answers to the decoders of successful and failed
// answers: they never panic, and the error text never carries the echoed password.
func FuzzDecodeAnswers(f *testing.F) {
	for _, seed := range []string{
		`{"base_image_analysis":{"analysis_id":"package-extract-1","cached":true},"buildlog_document_id":"buildlog-x"}`,
		`{"error": "Input exceeded 3145728 bytes allowed"}`,
		`{"error": "unauthorized", "parameters": {"base_registry_password": "pw-123456"}}`,
		`{"base_image_analysis": {"error": "x", "parameters": {"base_registry_password": "pw-123456"}}}`,
		`<html>bad gateway</html>`, `null`, `[]`, `{"base_image_analysis": 3}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		_, _ = decodeBuildAnalysis(body)
		msg := errorMessage(body)
		var doc struct {
			Parameters map[string]any `json:"parameters"`
		}
		if json.Unmarshal(body, &doc) == nil && doc.Parameters != nil {
			if p, ok := doc.Parameters["base_registry_password"].(string); ok && len(p) >= 4 && strings.Contains(msg, p) && !strings.Contains(errorMessageTopOnly(body), p) {
				t.Fatalf("message %q carries the echoed password", msg)
			}
		}
		e := newAPIError("POST", "/api/v1/build-analysis", 400, http.Header{}, body, nil, time.Now())
		_ = e.Error()
	})
}

// errorMessageTopOnly is the top-level "error" text, which the server writes itself and
// which may legitimately contain anything.
func errorMessageTopOnly(body []byte) string {
	var doc struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(body, &doc)
	return doc.Error
}

// writeCA writes the test server's self-signed certificate as a PEM CA file.
func writeCA(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ca.pem")
	block := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(path, block, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
