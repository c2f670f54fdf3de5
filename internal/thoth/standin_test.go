package thoth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/thoth-station/build-watcher/internal/thoth"
	"github.com/thoth-station/build-watcher/internal/thoth/thothtest"
)

var (
	baseRef   = "quay.io/thoth-station/s2i-thoth-ubi9-py311@sha256:" + strings.Repeat("1", 64)
	outputRef = "registry.example:5000/team/app@sha256:" + strings.Repeat("2", 64)
)

// noWait is a clock whose waits return at once, so retry tests take no wall time.
func noWait() thoth.Option {
	return thoth.WithClock(time.Now, func(ctx context.Context, _ time.Duration) error { return ctx.Err() }, 42)
}

// TestRequestShapeAgainstOpenAPI sends one request per flag combination that changes the
// request and has the stand-in validate each against the OpenAPI document.
func TestRequestShapeAgainstOpenAPI(t *testing.T) {
	creds := thoth.RegistryAccess{Username: "builder", Password: "pw-123456"}
	noTLS := thoth.RegistryAccess{NoTLSVerify: true}
	tests := []struct {
		name      string
		req       thoth.BuildAnalysisRequest
		wantQuery string
		wantBody  []string // fragments the body must contain
	}{
		{name: "base only", req: thoth.BuildAnalysisRequest{BaseImage: baseRef},
			wantBody: []string{`"output_image":null`, `"build_log":{}`}},
		{name: "output only", req: thoth.BuildAnalysisRequest{OutputImage: outputRef}, wantBody: []string{`"base_image":null`}},
		{name: "log only", req: thoth.BuildAnalysisRequest{BuildLog: strings.NewReader("STEP 1/3: FROM ubi9\n")},
			wantBody: []string{`"kind":"BuildLog"`, `"apiversion":"build.openshift.io/v1"`}},
		{name: "all three", req: thoth.BuildAnalysisRequest{BaseImage: baseRef, OutputImage: outputRef, BuildLog: strings.NewReader("log")}},
		{name: "buildtime", req: thoth.BuildAnalysisRequest{BaseImage: baseRef, EnvironmentType: thoth.EnvironmentBuildtime},
			wantQuery: "environment_type=buildtime"},
		{name: "runtime", req: thoth.BuildAnalysisRequest{BaseImage: baseRef, EnvironmentType: thoth.EnvironmentRuntime},
			wantQuery: "environment_type=runtime"},
		{name: "origin", req: thoth.BuildAnalysisRequest{BaseImage: baseRef, Origin: "https://console.example/k8s/ns/team/builds/app-7"},
			wantQuery: "origin=https%3A%2F%2Fconsole.example%2Fk8s%2Fns%2Fteam%2Fbuilds%2Fapp-7"},
		{name: "debug", req: thoth.BuildAnalysisRequest{OutputImage: outputRef, Debug: true}, wantQuery: "debug=true"},
		{name: "force", req: thoth.BuildAnalysisRequest{OutputImage: outputRef, Force: true}, wantQuery: "force=true"},
		{name: "base credentials", req: thoth.BuildAnalysisRequest{BaseImage: baseRef, BaseRegistry: creds},
			wantQuery: "base_registry_password=pw-123456&base_registry_user=builder"},
		{name: "output credentials", req: thoth.BuildAnalysisRequest{OutputImage: outputRef, OutputRegistry: creds},
			wantQuery: "output_registry_password=pw-123456&output_registry_user=builder"},
		{name: "no base TLS verify", req: thoth.BuildAnalysisRequest{BaseImage: baseRef, BaseRegistry: noTLS},
			wantQuery: "base_registry_verify_tls=false"},
		{name: "no output TLS verify", req: thoth.BuildAnalysisRequest{OutputImage: outputRef, OutputRegistry: noTLS},
			wantQuery: "output_registry_verify_tls=false"},
		{name: "everything", req: thoth.BuildAnalysisRequest{
			BaseImage: baseRef, OutputImage: outputRef, BuildLog: strings.NewReader("x\ty\n\x00\xff"),
			BaseRegistry: creds, OutputRegistry: thoth.RegistryAccess{Username: "u", Password: "p", NoTLSVerify: true},
			EnvironmentType: thoth.EnvironmentBuildtime, Origin: "team/app-7", Debug: true, Force: true,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := thothtest.NewTestServer(t, thothtest.Options{})
			c, err := thoth.New(srv.URL())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Discover(t.Context()); err != nil {
				t.Fatal(err)
			}
			sub, err := c.SubmitBuild(t.Context(), tt.req)
			if err != nil {
				t.Fatal(err)
			}
			reqs := srv.Requests()
			last := reqs[len(reqs)-1]
			if last.Err != nil || last.Status != 202 {
				t.Fatalf("stand-in answered %d: %v", last.Status, last.Err)
			}
			if tt.wantQuery != "" && last.Query.Encode() != tt.wantQuery {
				t.Errorf("query = %s, want %s", last.Query.Encode(), tt.wantQuery)
			}
			for _, frag := range tt.wantBody {
				if !bytes.Contains(last.Body, []byte(frag)) {
					t.Errorf("body %s lacks %s", last.Body, frag)
				}
			}
			if got := sub.Response.BaseImageAnalysis != nil; got != (tt.req.BaseImage != "") {
				t.Errorf("base image analysis present = %v", got)
			}
			if got := sub.Response.BuildLogAnalysis != nil; got != (tt.req.BuildLog != nil) {
				t.Errorf("build log analysis present = %v", got)
			}
		})
	}
}

func TestCachedOnRepeatedDigest(t *testing.T) {
	srv := thothtest.NewTestServer(t, thothtest.Options{})
	c, err := thoth.New(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	first, err := c.SubmitBuild(t.Context(), thoth.BuildAnalysisRequest{OutputImage: outputRef})
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.SubmitBuild(t.Context(), thoth.BuildAnalysisRequest{OutputImage: outputRef})
	if err != nil {
		t.Fatal(err)
	}
	a, b := first.Response.OutputImageAnalysis, again.Response.OutputImageAnalysis
	if a.Cached || !b.Cached || a.AnalysisID != b.AnalysisID {
		t.Errorf("first %+v, again %+v: want the same id, cached the second time", a, b)
	}
}

// TestRetriesUnderFaults submits 200 builds to a stand-in that fails 30% of requests
// transiently (10% 5xx, 10% 429 with Retry-After, 10% dropped connections): every build
// must be submitted exactly within the attempt bound.
func TestRetriesUnderFaults(t *testing.T) {
	const builds, maxAttempts = 200, 8
	srv := thothtest.NewTestServer(t, thothtest.Options{Seed: 2026, Faults: thothtest.Faults{
		ServerErrorRate: 0.10, RateLimitRate: 0.10, RetryAfter: 2 * time.Second, ResetRate: 0.10,
	}})
	var logs bytes.Buffer
	c, err := thoth.New(srv.URL(), noWait(), thoth.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))),
		thoth.WithRetryPolicy(thoth.RetryPolicy{MaxAttempts: maxAttempts, MaxElapsed: time.Minute, InitialDelay: time.Millisecond, MaxDelay: 4 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	const password = "Fault-Test-Password-1"
	submitted, attempts, worst := 0, 0, 0
	for i := range builds {
		sub, err := c.SubmitBuild(t.Context(), thoth.BuildAnalysisRequest{
			OutputImage:    fmt.Sprintf("quay.io/team/app:build-%d", i),
			OutputRegistry: thoth.RegistryAccess{Username: "u", Password: password},
			BuildLog:       strings.NewReader(fmt.Sprintf("build %d\n", i)),
		})
		if err != nil {
			t.Errorf("build %d: %v", i, err)
			continue
		}
		submitted++
		attempts += sub.Attempts
		worst = max(worst, sub.Attempts)
	}
	stats := srv.Stats()
	t.Logf("%d/%d builds submitted in %d attempts (worst %d); stand-in: %d accepted, %d 5xx, %d 429, %d resets",
		submitted, builds, attempts, worst, stats.Accepted, stats.ServerErrors, stats.RateLimited, stats.Resets)
	if submitted != builds {
		t.Fatalf("%d of %d builds submitted", submitted, builds)
	}
	if stats.Accepted != builds {
		t.Errorf("stand-in accepted %d submissions, want exactly %d", stats.Accepted, builds)
	}
	if faults := stats.ServerErrors + stats.RateLimited + stats.Resets; faults == 0 || attempts != builds+faults {
		t.Errorf("%d attempts for %d builds and %d injected faults", attempts, builds, faults)
	}
	if worst > maxAttempts {
		t.Errorf("a build took %d attempts, above the bound of %d", worst, maxAttempts)
	}
	if strings.Contains(logs.String(), password) || strings.Contains(logs.String(), "output_registry") {
		t.Error("retry logs show the query or the password")
	}
}

// TestPermanentForbidden: a wrong registry password gets 403 with the password echoed by
// the server; the client makes one attempt and no output carries the password.
func TestPermanentForbidden(t *testing.T) {
	const password = "Wrong-Password-9000"
	srv := thothtest.NewTestServer(t, thothtest.Options{Registries: map[string]thothtest.Credential{
		"registry.example:5000": {Username: "builder", Password: "the-right-one"},
	}})
	var logs bytes.Buffer
	c, err := thoth.New(srv.URL(), noWait(), thoth.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	if err != nil {
		t.Fatal(err)
	}
	sub, err := c.SubmitBuild(t.Context(), thoth.BuildAnalysisRequest{
		OutputImage: outputRef, OutputRegistry: thoth.RegistryAccess{Username: "builder", Password: password},
	})
	var apiErr *thoth.APIError
	if err == nil || !errors.As(err, &apiErr) || apiErr.StatusCode != 403 {
		t.Fatalf("error = %v, want a 403 APIError", err)
	}
	if sub.Attempts != 1 || srv.Stats().Total != 1 {
		t.Errorf("%d attempts, %d requests; want 1", sub.Attempts, srv.Stats().Total)
	}
	reqs := srv.Requests()
	if !bytes.Contains(reqs[0].Body, []byte("output_image")) {
		t.Fatal("request not recorded")
	}
	for where, text := range map[string]string{"error": err.Error(), "message": apiErr.Message, "logs": logs.String()} {
		if strings.Contains(text, password) {
			t.Errorf("the password appears in the %s: %s", where, text)
		}
	}
	if apiErr.Message == "" || apiErr.Temporary() {
		t.Errorf("message %q, temporary %v: want the server's reason, permanent", apiErr.Message, apiErr.Temporary())
	}
}

func TestBodyLimitOfTheServer(t *testing.T) {
	srv := thothtest.NewTestServer(t, thothtest.Options{MaxBodyBytes: 64 << 10})
	log := strings.Repeat("Installing collected packages: numpy\n", 10_000) + "ERROR: the end\n"
	t.Run("client limit above the server's is refused with the server's words", func(t *testing.T) {
		c, err := thoth.New(srv.URL(), noWait())
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.SubmitBuild(t.Context(), thoth.BuildAnalysisRequest{BuildLog: strings.NewReader(log)})
		if err == nil || !strings.Contains(err.Error(), "exceeded") {
			t.Fatalf("error = %v, want the server's size refusal", err)
		}
	})
	t.Run("client limit below the server's is accepted with the tail kept", func(t *testing.T) {
		c, err := thoth.New(srv.URL(), noWait(), thoth.WithMaxBodyBytes(60<<10))
		if err != nil {
			t.Fatal(err)
		}
		sub, err := c.SubmitBuild(t.Context(), thoth.BuildAnalysisRequest{BuildLog: strings.NewReader(log)})
		if err != nil {
			t.Fatal(err)
		}
		reqs := srv.Requests()
		var body struct {
			BuildLog struct{ Log string } `json:"build_log"`
		}
		if err := json.Unmarshal(reqs[len(reqs)-1].Body, &body); err != nil {
			t.Fatal(err)
		}
		if sub.LogCutBytes == 0 || !strings.HasSuffix(body.BuildLog.Log, "ERROR: the end\n") || !strings.Contains(body.BuildLog.Log, "bytes cut") {
			t.Errorf("cut %d bytes; log tail %q", sub.LogCutBytes, body.BuildLog.Log[max(0, len(body.BuildLog.Log)-40):])
		}
	})
}

func TestNothingToSubmit(t *testing.T) {
	srv := thothtest.NewTestServer(t, thothtest.Options{})
	c, err := thoth.New(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.SubmitBuild(t.Context(), thoth.BuildAnalysisRequest{BuildLog: io.LimitReader(strings.NewReader(""), 0)})
	if err != thoth.ErrNothingToSubmit {
		t.Fatalf("error = %v, want ErrNothingToSubmit", err)
	}
	if n := srv.Stats().Total; n != 0 {
		t.Errorf("%d requests sent for nothing", n)
	}
}

func TestDiscoverRefusesAnotherServer(t *testing.T) {
	srv := thothtest.NewTestServer(t, thothtest.Options{})
	c, err := thoth.New(srv.URL() + "/readiness") // a JSON answer, but not the path list
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Discover(t.Context()); err == nil {
		t.Fatal("discovery accepted a server that is not the User API")
	}
}

// TestConcurrentSubmissions shares one client between goroutines under injected faults;
// run with -race it checks the client's shared state.
func TestConcurrentSubmissions(t *testing.T) {
	const workers, each = 8, 25
	srv := thothtest.NewTestServer(t, thothtest.Options{Seed: 9, Faults: thothtest.Faults{ServerErrorRate: 0.2, ResetRate: 0.1}})
	c, err := thoth.New(srv.URL(), noWait(),
		thoth.WithRetryPolicy(thoth.RetryPolicy{MaxAttempts: 10, MaxElapsed: time.Minute, InitialDelay: time.Millisecond, MaxDelay: time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, workers*each)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				_, err := c.SubmitBuild(t.Context(), thoth.BuildAnalysisRequest{OutputImage: fmt.Sprintf("quay.io/team/app:w%d-%d", w, i)})
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if got := srv.Stats().Accepted; got != workers*each {
		t.Errorf("stand-in accepted %d, want %d", got, workers*each)
	}
}
