package registrytest

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// traffic summarises a request log the way push tests care about.
type traffic struct {
	BlobHits     int // HEAD blob answered 200: the push skipped the blob
	BlobMisses   int // HEAD blob answered 404
	Uploads      int // PUT upload answered 201: a blob was uploaded
	Patches      int // PATCH requests: upload chunks
	Mounts       int // cross-repository mounts honoured
	ManifestPuts int // PUT manifest
}

func summarise(l RequestLog) traffic {
	headBlob := func(status int) func(Request) bool {
		return func(q Request) bool { return q.Method == http.MethodHead && q.Kind == KindBlob && q.Status == status }
	}
	return traffic{
		BlobHits:     len(l.Filter(headBlob(http.StatusOK))),
		BlobMisses:   len(l.Filter(headBlob(http.StatusNotFound))),
		Uploads:      l.Count(http.MethodPut, KindUpload),
		Patches:      l.ByMethod()[http.MethodPatch],
		Mounts:       len(l.Mounted()),
		ManifestPuts: l.Count(http.MethodPut, KindManifest),
	}
}

func ref(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s, name.StrictValidation)
	if err != nil {
		t.Fatalf("parsing %q: %v", s, err)
	}
	return r
}

func digest(t *testing.T, d interface{ Digest() (v1.Hash, error) }) v1.Hash {
	t.Helper()
	h, err := d.Digest()
	if err != nil {
		t.Fatalf("digest: %v", err)
	}
	return h
}

// pullImage pulls repoTag from r, reads every blob (validate.Image checks their digests)
// and returns the image's digest.
func pullImage(t *testing.T, r *Registry, repoTag string) v1.Hash {
	t.Helper()
	img, err := remote.Image(ref(t, r.Ref(repoTag)), r.remoteOptions(t)...)
	if err != nil {
		t.Fatalf("pulling %s: %v", repoTag, err)
	}
	if err := validate.Image(img); err != nil {
		t.Fatalf("validating %s: %v", repoTag, err)
	}
	return digest(t, img)
}

func TestInProcess(t *testing.T) {
	const layers = 2
	// Each case pushes layers+1 blobs (the layers and the config) in act.
	cases := []struct {
		name string
		// act pushes and returns what to pull and the digest it must have.
		act  func(t *testing.T, r *Registry) (repoTag string, want v1.Hash)
		want traffic
	}{
		{
			name: "first push uploads every blob",
			act: func(t *testing.T, r *Registry) (string, v1.Hash) {
				return "app:v1", digest(t, r.PushRandomImage(t, "app:v1", layers, 1024))
			},
			want: traffic{BlobMisses: layers + 1, Uploads: layers + 1, Patches: layers + 1, ManifestPuts: 1},
		},
		{
			name: "existing blobs are skipped",
			act: func(t *testing.T, r *Registry) (string, v1.Hash) {
				img := r.PushRandomImage(t, "app:v1", layers, 1024)
				r.ResetRequests()
				if err := remote.Write(ref(t, r.Ref("app:v2")), img, r.remoteOptions(t)...); err != nil {
					t.Fatalf("pushing again: %v", err)
				}
				return "app:v2", digest(t, img)
			},
			want: traffic{BlobHits: layers + 1, ManifestPuts: 1},
		},
		{
			name: "blobs from another repository are mounted",
			act: func(t *testing.T, r *Registry) (string, v1.Hash) {
				r.PushRandomImage(t, "app:v1", layers, 1024)
				src, err := remote.Image(ref(t, r.Ref("app:v1")), r.remoteOptions(t)...)
				if err != nil {
					t.Fatalf("pulling: %v", err)
				}
				r.ResetRequests()
				if err := remote.Write(ref(t, r.Ref("copy/app:v1")), src, r.remoteOptions(t)...); err != nil {
					t.Fatalf("pushing to another repository: %v", err)
				}
				return "copy/app:v1", digest(t, src)
			},
			want: traffic{BlobMisses: layers + 1, Mounts: layers + 1, ManifestPuts: 1},
		},
		{
			name: "blobs belong to their repository",
			act: func(t *testing.T, r *Registry) (string, v1.Hash) {
				// A local image carries no source to mount from, so its blobs are uploaded
				// again: an existence check in the other repository must not find them.
				img := r.PushRandomImage(t, "app:v1", layers, 1024)
				r.ResetRequests()
				if err := remote.Write(ref(t, r.Ref("other:v1")), img, r.remoteOptions(t)...); err != nil {
					t.Fatalf("pushing to another repository: %v", err)
				}
				return "other:v1", digest(t, img)
			},
			want: traffic{BlobMisses: layers + 1, Uploads: layers + 1, Patches: layers + 1, ManifestPuts: 1},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := StartInProcess(t)
			t.Logf("in-process registry started in %s", r.StartupTime())
			if r.Scheme() != "http" || r.CAFile() != "" || r.Username() != "" || r.Password() != "" {
				t.Errorf("scheme %q, CA %q, user %q, password set %v; want plain HTTP without auth",
					r.Scheme(), r.CAFile(), r.Username(), r.Password() != "")
			}
			if !strings.HasPrefix(r.Host(), "127.0.0.1:") {
				t.Errorf("Host() = %q, want 127.0.0.1:PORT", r.Host())
			}
			repoTag, want := tc.act(t, r)
			log := r.Requests()
			if got := summarise(log); got != tc.want {
				t.Errorf("traffic %+v, want %+v; requests:\n%s", got, tc.want, log)
			}
			if got := pullImage(t, r, repoTag); got != want {
				t.Errorf("pulled digest %s, pushed %s", got, want)
			}
		})
	}
}

func TestInProcessRequestLog(t *testing.T) {
	r := StartInProcess(t)
	img := r.PushRandomImage(t, "app", 1, 16) // no tag: latest
	if got, want := pullImage(t, r, "app:latest"), digest(t, img); got != want {
		t.Errorf("pulled app:latest %s, pushed app %s", got, want)
	}
	if got := len(r.Requests()); got == 0 {
		t.Fatal("no requests logged")
	}
	r.ResetRequests()
	if got := r.Requests(); len(got) != 0 {
		t.Fatalf("after ResetRequests: %d requests logged", len(got))
	}
	resp, err := http.Head("http://" + r.Host() + "/v2/app/blobs/sha256:" + strings.Repeat("0", 64))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	want := Request{Method: http.MethodHead, Kind: KindBlob, Repo: "app", Target: "sha256:" + strings.Repeat("0", 64), Status: http.StatusNotFound}
	log := r.Requests()
	if len(log) != 1 || fmt.Sprint(log[0]) != fmt.Sprint(want) {
		t.Errorf("requests:\n%s\nwant %s", log, want)
	}
	if got := log.ByMethod(); len(got) != 1 || got[http.MethodHead] != 1 {
		t.Errorf("ByMethod() = %v, want map[HEAD:1]", got)
	}
}

func TestClassify(t *testing.T) {
	cases := []struct {
		path         string
		kind         Kind
		repo, target string
	}{
		{"/v2/", KindBase, "", ""},
		{"/v2", KindBase, "", ""},
		{"/v2/_catalog", KindCatalog, "", ""},
		{"/v2/a/b/tags/list", KindTags, "a/b", ""},
		{"/v2/a/b/manifests/v1", KindManifest, "a/b", "v1"},
		{"/v2/a/blobs/sha256:00", KindBlob, "a", "sha256:00"},
		{"/v2/a/b/c/blobs/uploads/", KindUpload, "a/b/c", ""},
		{"/v2/a/blobs/uploads", KindUpload, "a", ""},
		{"/v2/a/blobs/uploads/123", KindUpload, "a", "123"},
		{"/v2/a/referrers/sha256:00", KindReferrers, "a", "sha256:00"},
		{"/v2/blobs/x", KindOther, "", ""},
		{"/other", KindOther, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			kind, repo, target := classify(tc.path)
			if kind != tc.kind || repo != tc.repo || target != tc.target {
				t.Errorf("classify(%q) = %s, %q, %q; want %s, %q, %q", tc.path, kind, repo, target, tc.kind, tc.repo, tc.target)
			}
		})
	}
}

func TestDistribution(t *testing.T) {
	variants := []struct {
		name string
		opts DistributionOptions
	}{
		{"plain", DistributionOptions{}},
		{"auth", DistributionOptions{Auth: true}},
		{"tls", DistributionOptions{TLS: true}},
		{"auth+tls", DistributionOptions{Auth: true, TLS: true}},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			r := StartDistribution(t, v.opts)
			t.Logf("%s started in %s", r, r.StartupTime())
			checkSettings(t, r, v.opts)

			t.Run("image", func(t *testing.T) {
				img := r.PushRandomImage(t, "app:v1", 2, 4096)
				if got, want := pullImage(t, r, "app:v1"), digest(t, img); got != want {
					t.Errorf("pulled digest %s, pushed %s", got, want)
				}
				// A pulled image pushed to another repository is mounted, not uploaded.
				src, err := remote.Image(ref(t, r.Ref("app:v1")), r.remoteOptions(t)...)
				if err != nil {
					t.Fatal(err)
				}
				if err := remote.Write(ref(t, r.Ref("copy/app:v1")), src, r.remoteOptions(t)...); err != nil {
					t.Fatalf("pushing to another repository: %v", err)
				}
				if got, want := pullImage(t, r, "copy/app:v1"), digest(t, img); got != want {
					t.Errorf("pulled digest %s, pushed %s", got, want)
				}
			})
			t.Run("index", func(t *testing.T) {
				platforms := []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64", Variant: "v8"}}
				idx := r.PushRandomIndex(t, "multi:v1", platforms)
				pulled, err := remote.Index(ref(t, r.Ref("multi:v1")), r.remoteOptions(t)...)
				if err != nil {
					t.Fatalf("pulling the index: %v", err)
				}
				if got, want := digest(t, pulled), digest(t, idx); got != want {
					t.Errorf("pulled index digest %s, pushed %s", got, want)
				}
				if err := validate.Index(pulled); err != nil {
					t.Errorf("validating the index: %v", err)
				}
				m, err := pulled.IndexManifest()
				if err != nil {
					t.Fatal(err)
				}
				if len(m.Manifests) != len(platforms) {
					t.Fatalf("index has %d manifests, want %d", len(m.Manifests), len(platforms))
				}
				for i, d := range m.Manifests {
					if d.Platform == nil || !d.Platform.Equals(platforms[i]) {
						t.Errorf("manifest %d platform %v, want %v", i, d.Platform, platforms[i])
					}
					img, err := pulled.Image(d.Digest)
					if err != nil {
						t.Fatal(err)
					}
					cf, err := img.ConfigFile()
					if err != nil {
						t.Fatal(err)
					}
					if p := cf.Platform(); p == nil || !p.Equals(platforms[i]) {
						t.Errorf("manifest %d config platform %v, want %v", i, p, platforms[i])
					}
				}
			})
			if v.opts.Auth {
				t.Run("auth", func(t *testing.T) { checkAuth(t, r) })
			}
			if v.opts.TLS {
				t.Run("tls", func(t *testing.T) { checkTLS(t, r) })
			}
		})
	}
}

// checkSettings checks what the accessors say about a registry started with opts.
func checkSettings(t *testing.T, r *Registry, opts DistributionOptions) {
	t.Helper()
	if !strings.HasPrefix(r.Host(), "127.0.0.1:") || r.Ref("x") != r.Host()+"/x" {
		t.Errorf("Host() = %q, Ref(x) = %q", r.Host(), r.Ref("x"))
	}
	wantScheme := map[bool]string{false: "http", true: "https"}[opts.TLS]
	if r.Scheme() != wantScheme || (r.CAFile() != "") != opts.TLS {
		t.Errorf("Scheme() = %q, CAFile() = %q with TLS %v", r.Scheme(), r.CAFile(), opts.TLS)
	}
	if (r.Username() != "") != opts.Auth || (r.Password() != "") != opts.Auth {
		t.Errorf("user %q, password set %v with auth %v", r.Username(), r.Password() != "", opts.Auth)
	}
	cfg, err := r.Authenticator().Authorization()
	if err != nil {
		t.Fatalf("Authenticator().Authorization(): %v", err)
	}
	if cfg.Username != r.Username() || cfg.Password != r.Password() || (r.Authenticator() == authn.Anonymous) == opts.Auth {
		t.Errorf("Authenticator() %T does not carry the registry's credentials (auth %v)", r.Authenticator(), opts.Auth)
	}
	// Listening on loopback only: the port must not answer on another local address.
	if other := nonLoopbackIPv4(t); other != "" {
		_, port, _ := net.SplitHostPort(r.Host())
		if c, err := net.DialTimeout("tcp", net.JoinHostPort(other, port), time.Second); err == nil {
			c.Close()
			t.Errorf("registry answers on %s, not only on loopback", other)
		}
	}
}

// nonLoopbackIPv4 is an IPv4 address of this machine other than loopback, or "".
func nonLoopbackIPv4(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
			return n.IP.String()
		}
	}
	return ""
}

// checkAuth checks that pushes without the right credentials fail with 401 and that the
// password shows in no error and no description of the registry.
func checkAuth(t *testing.T, r *Registry) {
	cases := []struct {
		name string
		auth authn.Authenticator
	}{
		{"anonymous", authn.Anonymous},
		{"wrong password", &authn.Basic{Username: r.Username(), Password: "not-" + r.Password()[:8]}},
	}
	img, err := randomImage(1, 64, v1.Platform{OS: "linux", Architecture: "amd64"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := remote.Write(ref(t, r.Ref("denied:v1")), img,
				remote.WithContext(t.Context()), remote.WithTransport(r.Transport(t)), remote.WithAuth(tc.auth))
			var terr *transport.Error
			if !errors.As(err, &terr) || terr.StatusCode != http.StatusUnauthorized {
				t.Fatalf("push error %v, want a transport.Error with status 401", err)
			}
			if strings.Contains(err.Error(), r.Password()) {
				t.Error("the error text holds the password")
			}
		})
	}
	t.Run("description", func(t *testing.T) {
		for _, s := range []string{fmt.Sprint(r), fmt.Sprintf("%+v", r), fmt.Sprintf("%#v", r), r.String()} {
			if strings.Contains(s, r.Password()) {
				t.Error("the registry's description holds the password")
			}
		}
	})
}

// checkTLS checks that clients without the CA fail certificate verification, and that
// Transport trusts it.
func checkTLS(t *testing.T, r *Registry) {
	cases := []struct {
		name string
		try  func(t *testing.T, rt http.RoundTripper) error
	}{
		{"GET /v2/", func(t *testing.T, rt http.RoundTripper) error {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "https://"+r.Host()+"/v2/", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := rt.RoundTrip(req)
			if err != nil {
				return err
			}
			resp.Body.Close()
			if want := map[bool]int{false: http.StatusOK, true: http.StatusUnauthorized}[r.Username() != ""]; resp.StatusCode != want {
				return fmt.Errorf("GET /v2/ answered %d, want %d", resp.StatusCode, want)
			}
			return nil
		}},
		{"push", func(t *testing.T, rt http.RoundTripper) error {
			img, err := randomImage(1, 64, v1.Platform{OS: "linux", Architecture: "amd64"})
			if err != nil {
				t.Fatal(err)
			}
			return remote.Write(ref(t, r.Ref("tls:v1")), img,
				remote.WithContext(t.Context()), remote.WithTransport(rt), remote.WithAuth(r.Authenticator()))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			untrusting := http.DefaultTransport.(*http.Transport).Clone()
			t.Cleanup(untrusting.CloseIdleConnections)
			err := tc.try(t, untrusting)
			var unknown x509.UnknownAuthorityError
			var verify *tls.CertificateVerificationError
			if !errors.As(err, &unknown) || !errors.As(err, &verify) {
				t.Errorf("without the CA: %v, want an x509 unknown authority error", err)
			}
			if err := tc.try(t, r.Transport(t)); err != nil {
				t.Errorf("with Transport: %v", err)
			}
		})
	}
}

func TestClose(t *testing.T) {
	cases := []struct {
		name  string
		start func(t *testing.T) *Registry
	}{
		{"in-process", func(t *testing.T) *Registry { return StartInProcess(t) }},
		{"distribution", func(t *testing.T) *Registry { return StartDistribution(t, DistributionOptions{}) }},
		{"distribution auth+tls", func(t *testing.T) *Registry {
			return StartDistribution(t, DistributionOptions{Auth: true, TLS: true})
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.start(t)
			pid := 0
			if r.proc != nil {
				pid = r.proc.PID()
			}
			began := time.Now()
			if err := r.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			t.Logf("closed in %s", time.Since(began))
			if err := r.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
			if pid != 0 {
				if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
					t.Errorf("signal 0 to pid %d after Close: %v, want ESRCH", pid, err)
				}
			}
			if c, err := net.DialTimeout("tcp", r.Host(), time.Second); err == nil {
				c.Close()
				t.Errorf("%s still accepts connections after Close", r.Host())
			}
		})
	}
}

// envHelper makes the test binary act as TestDiesWithTestProcess's child.
const envHelper = "REGISTRYTEST_HELPER"

// TestDiesWithTestProcess kills a test process that started docker-registry and checks that
// the registry dies too (Pdeathsig).
func TestDiesWithTestProcess(t *testing.T) {
	if os.Getenv(envHelper) == "1" {
		// The child: start a registry, report its pid, wait to be killed.
		r := StartDistribution(t, DistributionOptions{})
		fmt.Printf("pid %d\n", r.proc.PID())
		_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes it or kills us
		return
	}
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestDiesWithTestProcess$", "-test.timeout=1m")
	cmd.Env = append(os.Environ(), envHelper+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pid int
	scanner := bufio.NewScanner(out)
	for scanner.Scan() {
		if s, ok := strings.CutPrefix(scanner.Text(), "pid "); ok {
			if pid, err = strconv.Atoi(s); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	if pid == 0 {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("the child test process reported no registry pid (scan: %v)", scanner.Err())
	}
	// Kill the child test process only, not the registry's process group.
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for alive(pid) {
		select {
		case <-deadline.C:
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			t.Fatalf("docker-registry pid %d still runs 10s after its test process was killed", pid)
		case <-tick.C:
		}
	}
}

// alive says whether pid runs (a zombie waiting to be reaped by init does not).
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	_, rest, _ := strings.Cut(string(stat), ") ")
	return !strings.HasPrefix(rest, "Z")
}

// fatalRecorder is a testing.TB whose Fatalf records the message and ends the goroutine.
type fatalRecorder struct {
	testing.TB
	fatal    string
	cleanups []func()
}

func (f *fatalRecorder) Helper()           {}
func (f *fatalRecorder) Cleanup(fn func()) { f.cleanups = append(f.cleanups, fn) }
func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestStartDistributionMissingBinary(t *testing.T) {
	f := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		StartDistribution(f, DistributionOptions{Binary: "/nonexistent/docker-registry"})
		t.Error("StartDistribution returned without failing the test")
	}()
	<-done
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
	if !strings.Contains(f.fatal, "apt-get install docker-registry") {
		t.Errorf("failure %q does not say to `apt-get install docker-registry`", f.fatal)
	}
}

func TestFindBinary(t *testing.T) {
	cases := []struct {
		name, path, fallback, binary string
		wantErr                      bool
	}{
		{"explicit path", "/bin/sh", "/nonexistent", "sh", false},
		{"explicit path missing", "/nonexistent/sh", "/bin/sh", "sh", true},
		{"fallback", "", "/bin/sh", "no-such-binary-registrytest", false},
		{"from PATH", "", "/nonexistent", "sh", false},
		{"nowhere", "", "/nonexistent", "no-such-binary-registrytest", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := findBinary(tc.path, tc.fallback, tc.binary, "apt-get install something")
			if tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), "apt-get install something") {
					t.Errorf("findBinary = %q, %v; want an error naming the install command", got, err)
				}
				return
			}
			if err != nil || got == "" {
				t.Errorf("findBinary = %q, %v", got, err)
			}
		})
	}
}
