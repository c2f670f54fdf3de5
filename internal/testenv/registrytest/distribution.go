package registrytest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/thoth-station/build-watcher/internal/testenv/testproc"
)

const (
	// defaultBinary is where Debian's docker-registry package installs the registry.
	defaultBinary = "/usr/bin/docker-registry"
	// startTimeout bounds StartDistribution.
	startTimeout = 30 * time.Second
	// stopGrace is how long Close waits after SIGTERM before SIGKILL.
	stopGrace = 5 * time.Second
	// portAttempts is how often StartDistribution tries another port when the free port it
	// picked was taken before the registry could bind it.
	portAttempts = 3
	// logTail is how much of the registry's log failures show.
	logTail = 4 << 10
)

// DistributionOptions chooses a variant of Debian's docker-registry (distribution 2.8).
type DistributionOptions struct {
	// Auth turns on htpasswd auth with a generated user and a random password (from
	// crypto/rand), hashed with bcrypt by `htpasswd` from apache2-utils.
	Auth bool
	// TLS serves HTTPS with a certificate for 127.0.0.1, ::1 and localhost signed by a CA
	// generated at start; see CAFile and Transport.
	TLS bool
	// Binary is the registry executable; default /usr/bin/docker-registry, else
	// docker-registry from PATH.
	Binary string
}

// StartDistribution starts Debian's docker-registry as a process on a free 127.0.0.1 port
// with its own configuration (filesystem storage in a temporary directory, delete enabled,
// no redis, no notifications, no debug server, log level warn into a log file), waits until
// GET /v2/ answers (200, or 401 with auth), and registers Close with t.Cleanup. The process
// runs in its own process group and is killed if the test binary dies. A missing binary
// fails the test (never skips). When the test failed, the registry's log is shown.
func StartDistribution(t testing.TB, opts DistributionOptions) *Registry {
	t.Helper()
	began := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), startTimeout)
	defer cancel()
	bin, err := findBinary(opts.Binary, defaultBinary, "docker-registry", "apt-get install docker-registry")
	if err != nil {
		t.Fatalf("registrytest: %v", err)
	}
	dir := t.TempDir()
	r := &Registry{kind: "docker-registry", scheme: "http"}
	logPath := filepath.Join(dir, "registry.log")
	t.Cleanup(func() {
		first, err := r.close()
		if first && err != nil {
			t.Errorf("registrytest: stopping %s: %v", r, err)
		}
		if t.Failed() {
			t.Logf("registrytest: end of the docker-registry log %s:\n%s", logPath, tail(logPath))
		}
	})

	var extra strings.Builder
	if opts.Auth {
		if r.username, r.password, err = newCredentials(); err != nil {
			t.Fatalf("registrytest: %v", err)
		}
		htpasswdFile := filepath.Join(dir, "htpasswd")
		if err := writeHtpasswd(ctx, htpasswdFile, r.username, r.password); err != nil {
			t.Fatalf("registrytest: %v", err)
		}
		fmt.Fprintf(&extra, "auth:\n  htpasswd:\n    realm: registrytest\n    path: %s\n", strconv.Quote(htpasswdFile))
	}
	var tlsConfig string
	if opts.TLS {
		certs, err := writeCertificates(dir)
		if err != nil {
			t.Fatalf("registrytest: making certificates: %v", err)
		}
		r.scheme, r.caPEM, r.caFile = "https", certs.caPEM, certs.caFile
		tlsConfig = fmt.Sprintf("  tls:\n    certificate: %s\n    key: %s\n", strconv.Quote(certs.certFile), strconv.Quote(certs.keyFile))
	}
	secret, err := randomString(24)
	if err != nil {
		t.Fatalf("registrytest: %v", err)
	}
	tr, err := r.httpTransport()
	if err != nil {
		t.Fatalf("registrytest: %v", err)
	}
	defer tr.CloseIdleConnections()
	want := http.StatusOK
	if opts.Auth {
		want = http.StatusUnauthorized
	}
	configPath := filepath.Join(dir, "config.yml")
	for attempt := 1; ; attempt++ {
		ports, err := testproc.FreePorts(1)
		if err != nil {
			t.Fatalf("registrytest: %v", err)
		}
		port := ports[0]
		r.host = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		config := fmt.Sprintf(configTemplate,
			strconv.Quote(filepath.Join(dir, "storage")), strconv.Quote(r.host), strconv.Quote(secret), tlsConfig) + extra.String()
		if err := os.WriteFile(configPath, []byte(config), 0o600); err != nil {
			t.Fatalf("registrytest: writing the registry config: %v", err)
		}
		p, err := startProcess(dir, logPath, bin, "serve", configPath)
		if err != nil {
			t.Fatalf("registrytest: %v", err)
		}
		r.proc = p
		err = waitReady(ctx, &http.Client{Transport: tr}, r.scheme+"://"+r.host+"/v2/", want, p)
		if err == nil {
			break
		}
		_ = p.Stop(stopGrace)
		r.proc = nil
		if errors.Is(err, testproc.ErrExited) && strings.Contains(tail(logPath), "address already in use") && attempt < portAttempts {
			continue
		}
		t.Fatalf("registrytest: starting docker-registry (its log follows at cleanup): %v", err)
	}
	r.startup = time.Since(began)
	return r
}

// configTemplate is the registry configuration: storage root, http.addr, http.secret, TLS.
// Keys are those of distribution 2.8's configuration package.
const configTemplate = `version: 0.1
log:
  level: warn
  formatter: text
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: %s
  secret: %s
%s`

// findBinary is path when set, else fallback when it exists, else name from PATH.
func findBinary(path, fallback, name, install string) (string, error) {
	if path != "" {
		found, err := exec.LookPath(path)
		if err != nil {
			return "", fmt.Errorf("finding %s: %s is not usable (install it with `%s`): %w", name, path, install, err)
		}
		return found, nil
	}
	if _, err := os.Stat(fallback); err == nil {
		return fallback, nil
	}
	found, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("finding %s: not at %s nor in PATH, install it with `%s`: %w", name, fallback, install, err)
	}
	return found, nil
}

// newCredentials makes a user name and a password from crypto/rand.
func newCredentials() (username, password string, err error) {
	var id [4]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", "", fmt.Errorf("making a user name: %w", err)
	}
	password, err = randomString(24)
	if err != nil {
		return "", "", err
	}
	return "registrytest-" + hex.EncodeToString(id[:]), password, nil
}

// randomString is n random bytes from crypto/rand, base64url without padding.
func randomString(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("reading random bytes: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// writeHtpasswd writes an htpasswd file with a bcrypt hash of password made by Apache's
// htpasswd, which reads the password on stdin so it is in no command line.
func writeHtpasswd(ctx context.Context, path, username, password string) error {
	bin, err := findBinary("", "/usr/bin/htpasswd", "htpasswd", "apt-get install apache2-utils")
	if err != nil {
		return err
	}
	// -n: print instead of writing a file; -i: password from stdin; -B: bcrypt; -C 4: the
	// lowest cost, as the registry checks it on every request.
	cmd := exec.CommandContext(ctx, bin, "-n", "-i", "-B", "-C", "4", username)
	cmd.Stdin = strings.NewReader(password)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("hashing the password with htpasswd: %w: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	line := strings.TrimSpace(string(out))
	if !strings.HasPrefix(line, username+":$2") {
		return errors.New("hashing the password with htpasswd: output is not a bcrypt entry for the user")
	}
	if err := os.WriteFile(path, []byte(line+"\n"), 0o600); err != nil {
		return fmt.Errorf("writing the htpasswd file: %w", err)
	}
	return nil
}

// startProcess runs path with args in dir, with output written to logPath (truncated
// first) and no environment but PATH (so REGISTRY_* variables of the caller cannot change
// the configuration).
func startProcess(dir, logPath, path string, args ...string) (*testproc.Process, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the log file: %w", err)
	}
	defer logFile.Close() // the child has its own descriptor
	return testproc.Start(testproc.Spec{Path: path, Args: args, Dir: dir, Env: []string{"PATH=" + os.Getenv("PATH")}, Log: logFile})
}

// waitReady polls GET url until it answers want, the process exits, or ctx ends. Each GET
// gets a second: something else holding the port may accept connections without answering.
func waitReady(ctx context.Context, client *http.Client, url string, want int, p *testproc.Process) error {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		attempt, cancel := context.WithTimeout(ctx, time.Second)
		status, err := get(attempt, client, url)
		cancel()
		switch {
		case err != nil:
			last = err
		case status == want:
			return nil
		default:
			last = fmt.Errorf("GET %s answered %d, want %d", url, status, want)
		}
		select {
		case <-p.Done():
			return fmt.Errorf("waiting for GET %s: %w", url, p.Exited())
		case <-ctx.Done():
			return fmt.Errorf("waiting for GET %s: %w (last: %v)", url, ctx.Err(), last)
		case <-tick.C:
		}
	}
}

// get is the status of GET url.
func get(ctx context.Context, client *http.Client, url string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// tail is the end of the file at path, or why it cannot be read.
func tail(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(reading the log: %v)", err)
	}
	defer f.Close()
	if info, err := f.Stat(); err == nil && info.Size() > logTail {
		if _, err := f.Seek(-logTail, io.SeekEnd); err != nil {
			return fmt.Sprintf("(reading the log: %v)", err)
		}
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return fmt.Sprintf("(reading the log: %v)", err)
	}
	return string(b)
}
