package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestRunServesAndShutsDown(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	pr, pw := io.Pipe()
	args := []string{"--listen", "127.0.0.1:0", "--registry", "quay.io=bot:s3cret", "--seed", "3"}
	ran := make(chan error, 1)
	go func() {
		ran <- run(ctx, args, pw)
		pw.Close()
	}()

	br := bufio.NewReader(pr)
	line, err := br.ReadString('\n')
	if err != nil {
		cancel()
		t.Fatalf("read the listening line: %v (run: %v)", err, <-ran)
	}
	const prefix = "thoth-standin: listening on "
	if !strings.HasPrefix(line, prefix) {
		t.Fatalf("first line %q, want %q...", line, prefix)
	}
	base := strings.TrimSpace(strings.TrimPrefix(line, prefix))
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "http" || u.Port() == "" || u.Port() == "0" {
		t.Fatalf("listening line %q does not carry the real address", line)
	}
	logs := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(br)
		logs <- string(b)
	}()

	requests := []struct {
		name       string
		method     string
		path       string
		wantStatus int
	}{
		{name: "readiness", method: http.MethodGet, path: "/readiness", wantStatus: http.StatusOK},
		{name: "analysis with credentials", method: http.MethodPost, path: "/api/v1/analyze?image=quay.io/ns/app:1&registry_user=bot&registry_password=s3cret", wantStatus: http.StatusAccepted},
		{name: "analysis with a wrong password", method: http.MethodPost, path: "/api/v1/analyze?image=quay.io/ns/app:1&registry_user=bot&registry_password=hunter2", wantStatus: http.StatusForbidden},
	}
	for _, r := range requests {
		t.Run(r.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), r.method, base+r.path, nil)
			if err != nil {
				t.Fatalf("new request: %v", err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", r.method, r.path, err)
			}
			resp.Body.Close()
			if resp.StatusCode != r.wantStatus {
				t.Errorf("status %d, want %d", resp.StatusCode, r.wantStatus)
			}
		})
	}

	cancel()
	if err := <-ran; err != nil {
		t.Fatalf("run: %v", err)
	}
	out := <-logs
	for _, want := range []string{"path=/api/v1/analyze", "status=202", "status=403", "method=POST"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	for _, secret := range []string{"s3cret", "hunter2", "registry_password", "image="} {
		if strings.Contains(out, secret) {
			t.Errorf("log contains %q:\n%s", secret, out)
		}
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    string
		wantErr error
	}{
		{name: "rate over one", args: []string{"--server-error-rate", "2"}, want: "server error rate"},
		{name: "rates add up over one", args: []string{"--reset-rate", "0.6", "--rate-limit-rate", "0.6"}, want: "add up"},
		{name: "negative latency", args: []string{"--latency", "-1s"}, want: "latency"},
		{name: "registry without password", args: []string{"--registry", "quay.io=bot"}, want: "--registry #1: want host=user:password"},
		{name: "registry without host", args: []string{"--registry", "=bot:pw"}, want: "--registry #1"},
		{name: "registry twice", args: []string{"--registry", "quay.io=a:b", "--registry", "quay.io=c:d"}, want: "--registry #2: host given twice"},
		{name: "unknown flag", args: []string{"--nope"}, want: "nope"},
		{name: "stray argument", args: []string{"serve"}, want: "unexpected arguments"},
		{name: "help", args: []string{"-h"}, wantErr: flag.ErrHelp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr strings.Builder
			err := run(t.Context(), append(tt.args, "--listen", "127.0.0.1:0"), &stderr)
			if err == nil {
				t.Fatal("run: no error")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("run: %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run: %v, want an error containing %q", err, tt.want)
			}
			if strings.Contains(stderr.String(), "listening") {
				t.Errorf("listened despite the error:\n%s", stderr.String())
			}
		})
	}
}

func TestRegistryFlagHidesPasswords(t *testing.T) {
	var f registryFlag
	for _, v := range []string{"quay.io=bot:s3cret", "registry.example:5000=u:p:w=x"} {
		if err := f.Set(v); err != nil {
			t.Fatalf("Set(%q): %v", v, err)
		}
	}
	if got := f.String(); got != "quay.io,registry.example:5000" {
		t.Errorf("String() = %q", got)
	}
	creds, err := parseRegistries(f)
	if err != nil {
		t.Fatalf("parseRegistries: %v", err)
	}
	if c := creds["registry.example:5000"]; c.Username != "u" || c.Password != "p:w=x" {
		t.Errorf("registry.example:5000 credential %+v", c)
	}
}
