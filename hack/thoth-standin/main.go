// Command thoth-standin serves the Thoth User API stand-in of package
// internal/thoth/thothtest, for running build-watcher locally against a
// server that validates every request and injects faults.
//
//	go run ./hack/thoth-standin --listen 127.0.0.1:0 --server-error-rate 0.1 \
//	    --registry quay.io=bot:s3cret
//
// Once listening it prints one line, "thoth-standin: listening on
// http://ADDR", to stderr, then one log line per request (method, path,
// status, fault; never the query, which carries passwords). SIGINT or
// SIGTERM shuts it down gracefully.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/thoth-station/build-watcher/internal/thoth/thothtest"
)

const shutdownTimeout = 10 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stderr)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.As(err, new(usageError)):
		fmt.Fprintf(os.Stderr, "thoth-standin: %v\n", err)
		os.Exit(2)
	case err != nil:
		fmt.Fprintf(os.Stderr, "thoth-standin: %v\n", err)
		os.Exit(1)
	}
}

// usageError is an error in the command line.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }

func (e usageError) Unwrap() error { return e.err }

// run serves the stand-in configured by args until ctx is done, writing the
// listening line and the request log to stderr.
func run(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("thoth-standin", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8080", "`address` to listen on; port 0 picks a free port")
	var faults thothtest.Faults
	fs.Float64Var(&faults.ServerErrorRate, "server-error-rate", 0, "fraction of API requests answered 500, 502 or 503")
	fs.Float64Var(&faults.RateLimitRate, "rate-limit-rate", 0, "fraction of API requests answered 429")
	fs.DurationVar(&faults.RetryAfter, "retry-after", time.Second, "Retry-After sent with 429, rounded up to whole seconds")
	fs.Float64Var(&faults.ResetRate, "reset-rate", 0, "fraction of API requests whose connection is closed without an answer")
	fs.DurationVar(&faults.Latency, "latency", 0, "delay added before answering each API request")
	maxBody := fs.Int64("max-body-bytes", thothtest.DefaultMaxBodyBytes, "largest request body accepted")
	seed := fs.Uint64("seed", 0, "seed of the fault decisions (same seed, same faults)")
	var registries registryFlag
	fs.Var(&registries, "registry", "`host=user:password` credentials a registry requires (repeatable)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected arguments %q", fs.Args())}
	}
	creds, err := parseRegistries(registries)
	if err != nil {
		return usageError{err}
	}

	logger := slog.New(slog.NewTextHandler(stderr, nil))
	s, err := thothtest.New(thothtest.Options{
		MaxBodyBytes: *maxBody,
		Faults:       faults,
		Registries:   creds,
		Seed:         *seed,
		Logger:       logger,
	})
	if err != nil {
		return usageError{err}
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		// Requests see ctx end, so injected latency does not hold up the
		// shutdown.
		BaseContext: func(net.Listener) context.Context { return ctx },
		ErrorLog:    slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	fmt.Fprintf(stderr, "thoth-standin: listening on http://%s\n", ln.Addr())

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// registryFlag collects --registry host=user:password flags. Set accepts
// anything and parseRegistries checks the entries afterwards, because the
// flag package would print a rejected value, password included.
type registryFlag []string

// String lists the hosts, never the credentials.
func (f *registryFlag) String() string {
	if f == nil {
		return ""
	}
	hosts := make([]string, 0, len(*f))
	for _, e := range *f {
		host, _, _ := strings.Cut(e, "=")
		hosts = append(hosts, host)
	}
	return strings.Join(hosts, ",")
}

// Set adds one entry.
func (f *registryFlag) Set(v string) error {
	*f = append(*f, v)
	return nil
}

// parseRegistries parses host=user:password entries (the password may
// contain colons and equals signs). Errors name the entry by its position
// only: a mistyped entry may have the password where the host should be.
func parseRegistries(entries []string) (map[string]thothtest.Credential, error) {
	out := make(map[string]thothtest.Credential, len(entries))
	for i, e := range entries {
		host, cred, ok := strings.Cut(e, "=")
		user, password, ok2 := strings.Cut(cred, ":")
		if !ok || !ok2 || host == "" || user == "" || password == "" {
			return nil, fmt.Errorf("--registry #%d: want host=user:password", i+1)
		}
		if _, dup := out[host]; dup {
			return nil, fmt.Errorf("--registry #%d: host given twice", i+1)
		}
		out[host] = thothtest.Credential{Username: user, Password: password}
	}
	return out, nil
}
