package thothtest

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// isResetError reports whether err is what a client sees when the server
// closes the connection without answering.
func isResetError(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)
}

func TestFaultRates(t *testing.T) {
	const n = 500
	faults := Faults{ServerErrorRate: 0.2, RateLimitRate: 0.1, ResetRate: 0.1, RetryAfter: 2500 * time.Millisecond}
	s := NewTestServer(t, Options{Seed: 42, Faults: faults})
	var got Stats
	for i := range n {
		// POST, so that the client does not retry after a reset.
		req := newRequest(t, s, http.MethodPost, buildPath, jsonType, buildBody)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			if !isResetError(err) {
				t.Fatalf("request %d: %v, want EOF or connection reset", i, err)
			}
			got.Resets++
			continue
		}
		data, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("request %d: read answer: %v", i, err)
		}
		checkAnswer(t, s, req, answer{status: resp.StatusCode, header: resp.Header, body: data})
		switch resp.StatusCode {
		case http.StatusAccepted:
			got.Accepted++
		case http.StatusTooManyRequests:
			got.RateLimited++
			if ra := resp.Header.Get("Retry-After"); ra != "3" {
				t.Errorf("request %d: Retry-After %q, want 3 (2.5s rounded up)", i, ra)
			}
		case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable:
			got.ServerErrors++
		default:
			t.Fatalf("request %d: unexpected status %d: %s", i, resp.StatusCode, data)
		}
	}
	got.Total = n

	fractions := []struct {
		name  string
		count int
		rate  float64
	}{
		{"server errors", got.ServerErrors, faults.ServerErrorRate},
		{"rate limited", got.RateLimited, faults.RateLimitRate},
		{"resets", got.Resets, faults.ResetRate},
		{"accepted", got.Accepted, 1 - faults.ServerErrorRate - faults.RateLimitRate - faults.ResetRate},
	}
	for _, f := range fractions {
		t.Run(f.name, func(t *testing.T) {
			if frac := float64(f.count) / n; math.Abs(frac-f.rate) > 0.05 {
				t.Errorf("fraction %.3f (%d of %d), want %.2f ± 0.05", frac, f.count, n, f.rate)
			}
		})
	}
	if stats := s.Stats(); stats != got {
		t.Errorf("Stats() = %+v, clients saw %+v", stats, got)
	}
}

func TestFaultsAreDeterministic(t *testing.T) {
	faults := Faults{ServerErrorRate: 0.3, RateLimitRate: 0.3, ResetRate: 0.3}
	sequence := func(t *testing.T, seed uint64) []Fault {
		t.Helper()
		s := NewTestServer(t, Options{Seed: seed, Faults: faults})
		for range 40 {
			req := newRequest(t, s, http.MethodPost, buildPath, jsonType, buildBody)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}
		var out []Fault
		for _, r := range s.Requests() {
			out = append(out, r.Fault)
		}
		return out
	}
	tests := []struct {
		name     string
		seedA    uint64
		seedB    uint64
		wantSame bool
	}{
		{name: "same seed", seedA: 7, seedB: 7, wantSame: true},
		{name: "other seed", seedA: 7, seedB: 8, wantSame: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := sequence(t, tt.seedA), sequence(t, tt.seedB)
			if same := strings.Join(faultStrings(a), ",") == strings.Join(faultStrings(b), ","); same != tt.wantSame {
				t.Errorf("sequences %v and %v: same %v, want %v", a, b, same, tt.wantSame)
			}
		})
	}
}

func faultStrings(fs []Fault) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = string(f)
		if f == FaultNone {
			out[i] = "none"
		}
	}
	return out
}

func TestFaultsApplyToAPIOnly(t *testing.T) {
	tests := []struct {
		name       string
		faults     Faults
		method     string
		path       string
		wantStatus []int
		wantFault  Fault
	}{
		{name: "readiness", faults: Faults{ServerErrorRate: 1}, method: http.MethodGet, path: "/readiness", wantStatus: []int{http.StatusOK}},
		{name: "liveness", faults: Faults{RateLimitRate: 1}, method: http.MethodGet, path: "/liveness", wantStatus: []int{http.StatusOK}},
		{name: "discovery", faults: Faults{ServerErrorRate: 1}, method: http.MethodGet, path: "/api/v1", wantStatus: []int{500, 502, 503}, wantFault: FaultServerError},
		{name: "status", faults: Faults{RateLimitRate: 1}, method: http.MethodGet, path: "/api/v1/analyze/x/status", wantStatus: []int{http.StatusTooManyRequests}, wantFault: FaultRateLimit},
		// Decided before validation: an invalid request gets the fault.
		{name: "invalid request", faults: Faults{ServerErrorRate: 1}, method: http.MethodPost, path: buildPath + "?bogus=1", wantStatus: []int{500, 502, 503}, wantFault: FaultServerError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewTestServer(t, Options{Faults: tt.faults})
			a := call(t, s, tt.method, tt.path, jsonType, buildBody)
			if !slices.Contains(tt.wantStatus, a.status) {
				t.Fatalf("status %d, want one of %v; body %s", a.status, tt.wantStatus, a.body)
			}
			if got := s.Requests()[0].Fault; got != tt.wantFault {
				t.Errorf("recorded fault %q, want %q", got, tt.wantFault)
			}
		})
	}
}

func TestResetYieldsClientError(t *testing.T) {
	tests := []struct {
		name   string
		method string
		path   string
		body   string
	}{
		{name: "build analysis", method: http.MethodPost, path: buildPath, body: buildBody},
		{name: "status", method: http.MethodGet, path: "/api/v1/analyze/x/status"},
		{name: "discovery", method: http.MethodGet, path: "/api/v1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewTestServer(t, Options{Faults: Faults{ResetRate: 1}})
			req := newRequest(t, s, tt.method, tt.path, jsonType, tt.body)
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
				t.Fatalf("status %d, want no answer", resp.StatusCode)
			}
			if resp != nil {
				t.Errorf("got a response with the error %v", err)
			}
			if !isResetError(err) {
				t.Errorf("error %v, want EOF or connection reset", err)
			}
			reqs := s.Requests()
			if len(reqs) != 1 || reqs[0].Fault != FaultReset || reqs[0].Status != 0 {
				t.Errorf("recorded %+v, want one reset without status", reqs)
			}
			if st := s.Stats(); st.Resets != 1 || st.Total != 1 {
				t.Errorf("stats %+v, want one reset", st)
			}
		})
	}
}

func TestLatencyHonoursCancellation(t *testing.T) {
	tests := []struct {
		name string
		// serve runs one request to s with ctx and returns when the handler
		// has returned. It runs on its own goroutine.
		serve func(t *testing.T, s *Server, ctx context.Context)
	}{
		{
			name: "handler",
			serve: func(t *testing.T, s *Server, ctx context.Context) {
				req := httptest.NewRequestWithContext(ctx, http.MethodPost, buildPath, strings.NewReader(buildBody))
				rec := httptest.NewRecorder()
				s.ServeHTTP(rec, req)
				if rec.Body.Len() != 0 {
					t.Errorf("canceled request was answered: %s", rec.Body)
				}
			},
		},
		{
			name: "over HTTP",
			serve: func(t *testing.T, s *Server, ctx context.Context) {
				returned := make(chan struct{})
				ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					defer close(returned)
					s.ServeHTTP(w, r)
				}))
				defer ts.Close()
				// Not on the test goroutine: t.Errorf, never t.Fatalf.
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, ts.URL+buildPath, strings.NewReader(buildBody))
				if err != nil {
					t.Errorf("new request: %v", err)
					return
				}
				req.Header.Set("Content-Type", jsonType)
				resp, err := http.DefaultClient.Do(req)
				if err == nil {
					resp.Body.Close()
					t.Errorf("status %d, want the request canceled", resp.StatusCode)
					return
				}
				if !errors.Is(err, context.Canceled) {
					t.Errorf("error %v, want context.Canceled", err)
				}
				<-returned // the server notices the closed connection
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustNew(t, Options{Faults: Faults{Latency: time.Hour}})
			started := make(chan struct{})
			s.onLatency = func() { close(started) }
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			done := make(chan struct{})
			go func() {
				defer close(done)
				tt.serve(t, s, ctx)
			}()
			<-started
			cancel()
			// With an hour of latency, the handler only returns (before the
			// test binary's timeout) if it honours the cancellation.
			<-done
			reqs := s.Requests()
			if len(reqs) != 1 || !reqs[0].Canceled || reqs[0].Status != 0 {
				t.Errorf("recorded %+v, want one canceled request", reqs)
			}
			if st := s.Stats(); st.Canceled != 1 || st.Total != 1 {
				t.Errorf("stats %+v, want one canceled", st)
			}
		})
	}
}

func TestLatencyThenAnswer(t *testing.T) {
	s := NewTestServer(t, Options{Faults: Faults{Latency: time.Millisecond}})
	if a := call(t, s, http.MethodPost, buildPath, jsonType, buildBody); a.status != http.StatusAccepted {
		t.Fatalf("status %d, want 202; body %s", a.status, a.body)
	}
}
