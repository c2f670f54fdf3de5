package mirror

import (
	"bytes"
	"crypto/subtle"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/thoth-station/build-watcher/internal/testenv/registrytest"
)

// fastRetry retries often and without real waits, so that fault tests stay quick.
func fastRetry() Option { return WithRetry(10, time.Millisecond) }

// plainHTTP allows plain HTTP to the hosts.
func plainHTTP(hosts ...string) Option { return WithInsecureRegistries(hosts...) }

// hostsOf returns the registries' hosts.
func hostsOf(regs ...*registrytest.Registry) []string {
	var out []string
	for _, r := range regs {
		out = append(out, r.Host())
	}
	return out
}

// logTo returns a debug logger writing into buf.
func logTo(buf *syncBuffer) Option {
	return WithLogger(slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
}

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// digestOf is d's digest.
func digestOf(t *testing.T, d interface{ Digest() (v1.Hash, error) }) v1.Hash {
	t.Helper()
	h, err := d.Digest()
	if err != nil {
		t.Fatalf("digest: %v", err)
	}
	return h
}

// remoteOpts reach r, whatever its TLS and auth.
func remoteOpts(t *testing.T, r *registrytest.Registry) []remote.Option {
	return []remote.Option{remote.WithContext(t.Context()), remote.WithTransport(r.Transport(t)), remote.WithAuth(r.Authenticator())}
}

// pullValid pulls ref (in r), reads every blob of every platform (validate checks their
// digests) and returns the manifest's digest and bytes.
func pullValid(t *testing.T, r *registrytest.Registry, ref string) (v1.Hash, []byte) {
	t.Helper()
	parsed, err := name.ParseReference(ref)
	if err != nil {
		t.Fatalf("parsing %q: %v", ref, err)
	}
	desc, err := remote.Get(parsed, remoteOpts(t, r)...)
	if err != nil {
		t.Fatalf("pulling %s: %v", ref, err)
	}
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			t.Fatal(err)
		}
		if err := validate.Index(idx); err != nil {
			t.Fatalf("validating %s: %v", ref, err)
		}
	} else {
		img, err := desc.Image()
		if err != nil {
			t.Fatal(err)
		}
		if err := validate.Image(img); err != nil {
			t.Fatalf("validating %s: %v", ref, err)
		}
	}
	return desc.Digest, desc.Manifest
}

// rawManifest is the manifest of ref in r.
func rawManifest(t *testing.T, r *registrytest.Registry, ref string) []byte {
	t.Helper()
	parsed, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Get(parsed, remoteOpts(t, r)...)
	if err != nil {
		t.Fatalf("getting %s: %v", ref, err)
	}
	return desc.Manifest
}

// front is an HTTP server on loopback in front of a registry, which handle may answer
// itself; it passes everything else on. Its Host replaces the registry's in references.
type front struct {
	srv *httptest.Server
}

// startFront starts a front for r; handle returns true when it answered the request.
func startFront(t *testing.T, r *registrytest.Registry, handle func(w http.ResponseWriter, req *http.Request) bool) *front {
	t.Helper()
	target, err := url.Parse(r.Scheme() + "://" + r.Host())
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = r.Transport(t)
	proxy.ErrorLog = log.New(io.Discard, "", 0)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if handle != nil && handle(w, req) {
			return
		}
		proxy.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	return &front{srv: srv}
}

// Host is the front's "127.0.0.1:PORT".
func (f *front) Host() string { return strings.TrimPrefix(f.srv.URL, "http://") }

// isBlobUpload reports whether req sends blob data: PATCH or PUT of an upload.
func isBlobUpload(req *http.Request) bool {
	return (req.Method == http.MethodPatch || req.Method == http.MethodPut) && strings.Contains(req.URL.Path, "/blobs/uploads/")
}

// dropper cuts every fifth blob upload request (20 %): it reads half of the body, then
// hijacks the connection and closes it without an answer, as a crashing registry or a
// broken network does mid-way.
type dropper struct {
	uploads atomic.Int64
	drops   atomic.Int64
}

func (d *dropper) handle(w http.ResponseWriter, req *http.Request) bool {
	if !isBlobUpload(req) || d.uploads.Add(1)%5 != 3 {
		return false
	}
	if req.ContentLength > 0 {
		_, _ = io.CopyN(io.Discard, req.Body, req.ContentLength/2)
	}
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(err)
	}
	conn.Close()
	d.drops.Add(1)
	return true
}

// basicAuthGate answers 401 unless the request carries the user and password; its 401
// body echoes the password it got, as some servers echo their input.
func basicAuthGate(user, password string) func(w http.ResponseWriter, req *http.Request) bool {
	return func(w http.ResponseWriter, req *http.Request) bool {
		u, p, ok := req.BasicAuth()
		if ok && u == user && subtle.ConstantTimeCompare([]byte(p), []byte(password)) == 1 {
			return false
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials","detail":"user `+u+` with password `+p+`"}]}`)
		return true
	}
}
