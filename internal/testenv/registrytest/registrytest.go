// Package registrytest runs real OCI registries on loopback for tests: go-containerregistry's
// pkg/registry in-process (with a request log), and Debian's docker-registry (distribution
// 2.8) as a process, optionally with htpasswd auth and TLS. Both listen on 127.0.0.1 only and
// are stopped by t.Cleanup; the process also dies with the test binary.
package registrytest

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/thoth-station/build-watcher/internal/testenv/testproc"
)

// Registry is a running registry on loopback.
type Registry struct {
	kind     string // "in-process" or "docker-registry", for String
	host     string
	scheme   string
	caPEM    []byte
	caFile   string
	username string
	password string
	startup  time.Duration

	// Set for the in-process registry.
	server   interface{ Close() }
	recorder *recorder

	// Set for docker-registry.
	proc *testproc.Process

	closeOnce sync.Once
	closeErr  error
}

// Host is the registry's address, "127.0.0.1:PORT".
func (r *Registry) Host() string { return r.host }

// Scheme is "https" for a TLS registry, else "http".
func (r *Registry) Scheme() string { return r.scheme }

// CAFile is the path of a PEM file holding the CA that signed a TLS registry's certificate;
// "" for plain HTTP. It lives in the test's temporary directory.
func (r *Registry) CAFile() string { return r.caFile }

// Username is the generated user of a registry with auth; "" without auth.
func (r *Registry) Username() string { return r.username }

// Password is the generated password of a registry with auth; "" without auth. Never log it.
func (r *Registry) Password() string { return r.password }

// StartupTime is how long the Start function took until the registry answered GET /v2/,
// including certificate and htpasswd generation.
func (r *Registry) StartupTime() time.Duration { return r.startup }

// String describes the registry without its credentials, so logging it is safe.
func (r *Registry) String() string {
	auth := "no auth"
	if r.username != "" {
		auth = "basic auth as " + r.username
	}
	return fmt.Sprintf("%s registry %s://%s (%s)", r.kind, r.scheme, r.host, auth)
}

// GoString is String, so %#v does not print the password either.
func (r *Registry) GoString() string { return r.String() }

// Ref is a reference to repo (optionally with ":tag" or "@digest") in this registry:
// "127.0.0.1:PORT/repo".
func (r *Registry) Ref(repo string) string { return r.host + "/" + repo }

// Close stops the registry and waits until it has stopped. The process is sent SIGTERM (to
// its process group) and SIGKILL after a few seconds; Close then reports an error, as it does
// when the process had exited by itself. Later calls return the first call's result.
func (r *Registry) Close() error {
	_, err := r.close()
	return err
}

// close is Close, also saying whether this call did the closing.
func (r *Registry) close() (first bool, err error) {
	r.closeOnce.Do(func() {
		first = true
		switch {
		case r.server != nil:
			r.server.Close()
		case r.proc != nil:
			r.closeErr = r.proc.Stop(stopGrace)
		}
	})
	return first, r.closeErr
}

// httpTransport is a transport for this registry: no proxy, and the registry's CA trusted
// when it has TLS.
func (r *Registry) httpTransport() (*http.Transport, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	if r.caPEM != nil {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(r.caPEM) {
			return nil, errors.New("making the transport: no certificate in the CA PEM")
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return tr, nil
}

// Transport is an HTTP transport that trusts the registry's CA when it has TLS (and only
// the system's roots besides). Its idle connections are closed when t ends.
func (r *Registry) Transport(t testing.TB) http.RoundTripper {
	t.Helper()
	tr, err := r.httpTransport()
	if err != nil {
		t.Fatalf("registrytest: %v", err)
	}
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// Authenticator is basic auth with the generated user when the registry has auth, else
// authn.Anonymous.
func (r *Registry) Authenticator() authn.Authenticator {
	if r.username == "" {
		return authn.Anonymous
	}
	return &authn.Basic{Username: r.username, Password: r.password}
}

// remoteOptions are the go-containerregistry options that reach this registry as t.
func (r *Registry) remoteOptions(t testing.TB) []remote.Option {
	t.Helper()
	return []remote.Option{
		remote.WithContext(t.Context()),
		remote.WithTransport(r.Transport(t)),
		remote.WithAuth(r.Authenticator()),
	}
}

// parseRef parses repoTag ("repo", "repo:tag" or "repo@digest") as a reference in this
// registry.
func (r *Registry) parseRef(t testing.TB, repoTag string) name.Reference {
	t.Helper()
	ref, err := name.ParseReference(r.Ref(repoTag))
	if err != nil {
		t.Fatalf("registrytest: parsing reference %q: %v", repoTag, err)
	}
	return ref
}

// PushRandomImage pushes an OCI image of layers random gzip layers, each holding one file
// of layerBytes random bytes, with a linux/amd64 config, to repoTag ("repo:tag" or "repo",
// which means "repo:latest") and returns it; img.Digest() is the pushed manifest's digest.
// It fails the test when the push fails.
func (r *Registry) PushRandomImage(t testing.TB, repoTag string, layers int, layerBytes int64) v1.Image {
	t.Helper()
	img, err := randomImage(layers, layerBytes, v1.Platform{OS: "linux", Architecture: "amd64"})
	if err != nil {
		t.Fatalf("registrytest: making a random image: %v", err)
	}
	ref := r.parseRef(t, repoTag)
	if err := remote.Write(ref, img, r.remoteOptions(t)...); err != nil {
		t.Fatalf("registrytest: pushing a random image to %s: %v", ref, err)
	}
	return img
}

// PushRandomIndex pushes an OCI image index with one random image (one layer of 1 KiB) per
// platform, each child's config and index descriptor carrying its platform, to repoTag and
// returns it. It fails the test when the push fails.
func (r *Registry) PushRandomIndex(t testing.TB, repoTag string, platforms []v1.Platform) v1.ImageIndex {
	t.Helper()
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range platforms {
		img, err := randomImage(1, 1024, p)
		if err != nil {
			t.Fatalf("registrytest: making a random image for %s: %v", p, err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
	}
	ref := r.parseRef(t, repoTag)
	if err := remote.WriteIndex(ref, idx, r.remoteOptions(t)...); err != nil {
		t.Fatalf("registrytest: pushing a random index to %s: %v", ref, err)
	}
	return idx
}

// randomImage is an OCI image of random layers with a config for platform p.
func randomImage(layers int, layerBytes int64, p v1.Platform) (v1.Image, error) {
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	for i := range layers {
		layer, err := random.Layer(layerBytes, types.OCILayer)
		if err != nil {
			return nil, fmt.Errorf("making random layer %d: %w", i, err)
		}
		if img, err = mutate.AppendLayers(img, layer); err != nil {
			return nil, fmt.Errorf("appending random layer %d: %w", i, err)
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading the config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant, cf.OSVersion = p.OS, p.Architecture, p.Variant, p.OSVersion
	cf.OSFeatures = append([]string(nil), p.OSFeatures...)
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("setting the config: %w", err)
	}
	return img, nil
}

// hostOf strips the scheme from a base URL.
func hostOf(baseURL string) string {
	_, host, _ := strings.Cut(baseURL, "://")
	return host
}
