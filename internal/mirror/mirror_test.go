package mirror

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/thoth-station/build-watcher/internal/credential"
	"github.com/thoth-station/build-watcher/internal/hint"
	"github.com/thoth-station/build-watcher/internal/testenv/registrytest"
	"github.com/thoth-station/build-watcher/internal/usage"
)

const layerBytes = 4096

func TestMirrorImage(t *testing.T) {
	src, dst := registrytest.StartInProcess(t), registrytest.StartInProcess(t)
	img := src.PushRandomImage(t, "team/app:v1", 3, layerBytes)
	want := digestOf(t, img)

	to, err := Destination(src.Ref("team/app:v1"), dst.Host(), PushModeDefault)
	if err != nil {
		t.Fatal(err)
	}
	if to != dst.Ref("app:v1") {
		t.Errorf("Destination = %q, want %q", to, dst.Ref("app:v1"))
	}
	res, err := Mirror(t.Context(), src.Ref("team/app:v1"), to, plainHTTP(hostsOf(src, dst)...))
	if err != nil {
		t.Fatalf("Mirror: %v", err)
	}
	if wantImage := dst.Ref("app@" + want.String()); res.Image != wantImage {
		t.Errorf("Image = %q, want %q", res.Image, wantImage)
	}
	if res.Digest != want.String() || res.UpToDate || res.Layers != 3 || res.Blobs != 4 || res.BlobsUploaded != 4 {
		t.Errorf("result = %+v, want digest %s, 3 layers, 4 blobs uploaded", res, want)
	}
	if res.BytesUploaded < 3*layerBytes {
		t.Errorf("BytesUploaded = %d, want at least %d", res.BytesUploaded, 3*layerBytes)
	}
	got, raw := pullValid(t, dst, res.Image)
	if got != want {
		t.Errorf("copy's digest %s, want %s", got, want)
	}
	if string(raw) != string(rawManifest(t, src, src.Ref("team/app:v1"))) {
		t.Error("the copy's manifest bytes differ from the source's")
	}
	if got, _ := pullValid(t, dst, to); got != want {
		t.Errorf("the tag %s points at %s, want %s", to, got, want)
	}
}

func TestMirrorIndexWithEveryPlatform(t *testing.T) {
	src, dst := registrytest.StartInProcess(t), registrytest.StartInProcess(t)
	platforms := []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64", Variant: "v8"}, {OS: "linux", Architecture: "s390x"}}
	idx := src.PushRandomIndex(t, "team/app:multi", platforms)
	want := digestOf(t, idx)

	res, err := Mirror(t.Context(), src.Ref("team/app:multi"), dst.Ref("app:multi"), plainHTTP(hostsOf(src, dst)...))
	if err != nil {
		t.Fatalf("Mirror: %v", err)
	}
	if res.Digest != want.String() || len(res.Platforms) != 3 || res.Layers != 3 || res.Blobs != 6 {
		t.Errorf("result = %+v, want digest %s, 3 platforms, 3 layers, 6 blobs", res, want)
	}
	got, raw := pullValid(t, dst, res.Image) // validates every child and blob
	if got != want || string(raw) != string(rawManifest(t, src, src.Ref("team/app:multi"))) {
		t.Errorf("copy's digest %s, want %s with the same bytes", got, want)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range im.Manifests {
		if got, _ := pullValid(t, dst, dst.Ref("app@"+m.Digest.String())); got != m.Digest {
			t.Errorf("child %s: got %s", m.Digest, got)
		}
	}
}

func TestMirrorSkipsBlobsAlreadyPresent(t *testing.T) {
	src, dst := registrytest.StartInProcess(t), registrytest.StartInProcess(t)
	src.PushRandomImage(t, "team/app:v1", 3, layerBytes)
	opts := plainHTTP(hostsOf(src, dst)...)
	if _, err := Mirror(t.Context(), src.Ref("team/app:v1"), dst.Ref("app:v1"), opts); err != nil {
		t.Fatal(err)
	}

	dst.ResetRequests()
	res, err := Mirror(t.Context(), src.Ref("team/app:v1"), dst.Ref("app:v1-again"), opts)
	if err != nil {
		t.Fatal(err)
	}
	log := dst.Requests()
	hits := log.Filter(func(q registrytest.Request) bool {
		return q.Method == http.MethodHead && q.Kind == registrytest.KindBlob && q.Status == http.StatusOK
	})
	if len(hits) != 4 || log.Count(http.MethodPatch, "") != 0 || log.Count(http.MethodPost, registrytest.KindUpload) != 0 || log.Count(http.MethodPut, registrytest.KindUpload) != 0 {
		t.Errorf("want 4 blob HEADs answered 200 and no upload, got:\n%s", log)
	}
	if res.BlobsPresent != 4 || res.BlobsUploaded != 0 || res.BytesUploaded != 0 || res.UpToDate {
		t.Errorf("result = %+v, want 4 blobs present, nothing uploaded", res)
	}
}

func TestMirrorUpToDateCopiesNothing(t *testing.T) {
	src, dst := registrytest.StartInProcess(t), registrytest.StartInProcess(t)
	img := src.PushRandomImage(t, "team/app:v1", 2, layerBytes)
	opts := plainHTTP(hostsOf(src, dst)...)
	if _, err := Mirror(t.Context(), src.Ref("team/app:v1"), dst.Ref("app:v1"), opts); err != nil {
		t.Fatal(err)
	}
	dst.ResetRequests()
	res, err := Mirror(t.Context(), src.Ref("team/app:v1"), dst.Ref("app:v1"), opts)
	if err != nil {
		t.Fatal(err)
	}
	if !res.UpToDate || res.Digest != digestOf(t, img).String() {
		t.Errorf("result = %+v, want up to date", res)
	}
	log := dst.Requests()
	if n := log.Count("", registrytest.KindBlob) + log.Count("", registrytest.KindUpload) + log.Count(http.MethodPut, ""); n != 0 {
		t.Errorf("want no blob request and no PUT, got:\n%s", log)
	}
}

func TestMirrorMountsBlobsAcrossRepositories(t *testing.T) {
	reg := registrytest.StartInProcess(t)
	reg.PushRandomImage(t, "team/app:v1", 3, layerBytes)
	reg.ResetRequests()
	res, err := Mirror(t.Context(), reg.Ref("team/app:v1"), reg.Ref("mirror/app:v1"), plainHTTP(reg.Host()))
	if err != nil {
		t.Fatal(err)
	}
	log := reg.Requests()
	if mounted := log.Mounted(); len(mounted) != 4 || log.Count(http.MethodPatch, "") != 0 {
		t.Errorf("want 4 blobs mounted from team/app and no upload, got:\n%s", log)
	}
	for _, q := range log.Mounted() {
		if _, from, _ := q.Mount(); from != "team/app" {
			t.Errorf("mounted from %q, want team/app", from)
		}
	}
	if res.BlobsMounted != 4 || res.BlobsUploaded != 0 {
		t.Errorf("result = %+v, want 4 blobs mounted", res)
	}
	pullValid(t, reg, res.Image)
}

func TestMirrorFlatMode(t *testing.T) {
	src, dst := registrytest.StartInProcess(t), registrytest.StartInProcess(t)
	img := src.PushRandomImage(t, "ns/app:v1", 1, layerBytes)
	want := digestOf(t, img)
	opts := plainHTTP(hostsOf(src, dst)...)
	for _, tc := range []struct{ source, tag string }{
		{src.Ref("ns/app:v1"), "app-v1"},
		{src.Ref("ns/app@" + want.String()), "app-" + want.Hex},
	} {
		to, err := Destination(tc.source, dst.Ref("thoth/images"), PushModeFlat)
		if err != nil {
			t.Fatal(err)
		}
		if wantTo := dst.Ref("thoth/images:" + tc.tag); to != wantTo {
			t.Errorf("Destination(%s) = %q, want %q", tc.source, to, wantTo)
		}
		res, err := Mirror(t.Context(), tc.source, to, opts)
		if err != nil {
			t.Fatal(err)
		}
		if res.Image != dst.Ref("thoth/images@"+want.String()) {
			t.Errorf("Image = %q", res.Image)
		}
		if got, _ := pullValid(t, dst, to); got != want {
			t.Errorf("%s points at %s, want %s", to, got, want)
		}
	}
}

func TestMirrorDigestOnlySourceIsPushedByDigest(t *testing.T) {
	src, dst := registrytest.StartInProcess(t), registrytest.StartInProcess(t)
	want := digestOf(t, src.PushRandomImage(t, "ns/app:v1", 1, layerBytes))
	source := src.Ref("ns/app@" + want.String())
	to, err := Destination(source, dst.Host()+"/thoth", PushModeDefault)
	if err != nil {
		t.Fatal(err)
	}
	if to != dst.Ref("thoth/app@"+want.String()) {
		t.Errorf("Destination = %q", to)
	}
	res, err := Mirror(t.Context(), source, to, plainHTTP(hostsOf(src, dst)...))
	if err != nil {
		t.Fatal(err)
	}
	puts := dst.Requests().Filter(func(q registrytest.Request) bool {
		return q.Method == http.MethodPut && q.Kind == registrytest.KindManifest
	})
	if len(puts) != 1 || puts[0].Target != want.String() {
		t.Errorf("want one manifest PUT by digest, got:\n%s", puts)
	}
	if res.Image != to {
		t.Errorf("Image = %q, want %q", res.Image, to)
	}
}

func TestMirrorRefusesAnotherDigest(t *testing.T) {
	src, dst := registrytest.StartInProcess(t), registrytest.StartInProcess(t)
	src.PushRandomImage(t, "ns/app:v1", 1, layerBytes)
	other := "sha256:" + strings.Repeat("0", 64)
	res, err := Mirror(t.Context(), src.Ref("ns/app:v1"), dst.Ref("app@"+other), plainHTTP(hostsOf(src, dst)...))
	if !errors.Is(err, ErrDigestMismatch) || !errors.Is(err, usage.ErrBadInput) {
		t.Fatalf("err = %v, want a bad-input digest mismatch", err)
	}
	if !reflect.ValueOf(res).IsZero() {
		t.Errorf("result %+v on failure", res)
	}
	if n := dst.Requests().Count(http.MethodPut, ""); n != 0 {
		t.Errorf("%d PUT requests to the destination", n)
	}
}

// TestMirrorDetectsARewrittenManifest puts a front before the destination that changes
// every manifest pushed by tag, as a registry converting formats would: the copy must
// fail and report nothing.
func TestMirrorDetectsARewrittenManifest(t *testing.T) {
	src, dst := registrytest.StartInProcess(t), registrytest.StartInProcess(t)
	src.PushRandomImage(t, "ns/app:v1", 1, layerBytes)
	f := startFront(t, dst, func(w http.ResponseWriter, req *http.Request) bool {
		if req.Method == http.MethodPut && strings.Contains(req.URL.Path, "/manifests/") && !strings.Contains(req.URL.Path, "sha256:") {
			body, _ := io.ReadAll(req.Body)
			body = append(body, '\n')
			req.Body, req.ContentLength = io.NopCloser(strings.NewReader(string(body))), int64(len(body))
		}
		return false
	})
	res, err := Mirror(t.Context(), src.Ref("ns/app:v1"), f.Host()+"/app:v1", plainHTTP(src.Host(), f.Host()))
	if !errors.Is(err, ErrDigestMismatch) {
		t.Fatalf("err = %v, want a digest mismatch", err)
	}
	if !strings.Contains(err.Error(), "verifying the copy") {
		t.Errorf("err = %v, want it to say what failed", err)
	}
	if !reflect.ValueOf(res).IsZero() {
		t.Errorf("result %+v on failure", res)
	}
}

func TestMirrorToDistribution(t *testing.T) {
	src := registrytest.StartInProcess(t)
	dst := registrytest.StartDistribution(t, registrytest.DistributionOptions{})
	img := src.PushRandomImage(t, "team/app:v1", 2, layerBytes)
	idx := src.PushRandomIndex(t, "team/app:multi", []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64"}})
	opts := plainHTTP(hostsOf(src, dst)...)
	for tag, want := range map[string]v1.Hash{"v1": digestOf(t, img), "multi": digestOf(t, idx)} {
		res, err := Mirror(t.Context(), src.Ref("team/app:"+tag), dst.Ref("thoth/app:"+tag), opts)
		if err != nil {
			t.Fatalf("%s: %v", tag, err)
		}
		if got, _ := pullValid(t, dst, res.Image); got != want || res.Digest != want.String() {
			t.Errorf("%s: copy's digest %s, result %s, want %s", tag, got, res.Digest, want)
		}
	}
	// From docker-registry to docker-registry: another repository of the same registry.
	res, err := Mirror(t.Context(), dst.Ref("thoth/app:multi"), dst.Ref("again/app:multi"), opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.BlobsMounted != res.Blobs || res.BlobsUploaded != 0 {
		t.Errorf("result = %+v, want every blob mounted", res)
	}
	pullValid(t, dst, res.Image)
}

func TestMirrorWithAuth(t *testing.T) {
	reg := registrytest.StartDistribution(t, registrytest.DistributionOptions{Auth: true})
	local := registrytest.StartInProcess(t)
	want := digestOf(t, reg.PushRandomImage(t, "team/app:v1", 1, layerBytes))
	local.PushRandomImage(t, "team/local:v1", 1, layerBytes)
	good := Registry{User: reg.Username(), Password: reg.Password()}
	authDir := t.TempDir()
	config := fmt.Sprintf(`{"auths": {%q: {"auth": %q}}}`, reg.Host(), base64.StdEncoding.EncodeToString([]byte(reg.Username()+":"+reg.Password())))
	if err := os.WriteFile(filepath.Join(authDir, ".dockerconfigjson"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	const wrongPassword = "Wrong-Pw-4711"
	opts := plainHTTP(hostsOf(reg, local)...)

	t.Run("user and password", func(t *testing.T) {
		res, err := Mirror(t.Context(), reg.Ref("team/app:v1"), reg.Ref("copy/app:v1"), opts, WithSource(good), WithDestination(good))
		if err != nil {
			t.Fatal(err)
		}
		if res.Digest != want.String() {
			t.Errorf("digest %s, want %s", res.Digest, want)
		}
	})
	t.Run("auth file", func(t *testing.T) {
		res, err := Mirror(t.Context(), local.Ref("team/local:v1"), reg.Ref("copy/local:v1"), opts, WithDestination(Registry{AuthFile: authDir}))
		if err != nil {
			t.Fatal(err)
		}
		pullValid(t, reg, res.Image)
	})
	failures := []struct {
		name     string
		src, dst string
		opts     []Option
		want     []string
	}{
		{name: "wrong destination password", src: local.Ref("team/local:v1"), dst: reg.Ref("copy/local:v2"),
			opts: []Option{WithDestination(Registry{User: reg.Username(), Password: wrongPassword})},
			want: []string{"401", "--dst-registry-user/--dst-registry-password", reg.Ref("copy/local:v2")}},
		{name: "anonymous destination", src: local.Ref("team/local:v1"), dst: reg.Ref("copy/local:v3"),
			want: []string{"401", "wants credentials", "--dst-registry-auth-file"}},
		{name: "wrong source password", src: reg.Ref("team/app:v1"), dst: local.Ref("copy/app:v1"),
			opts: []Option{WithSource(Registry{User: reg.Username(), Password: wrongPassword})},
			want: []string{"reading the source image " + reg.Ref("team/app:v1"), "refused the credentials", "--src-registry-user"}},
	}
	for _, tc := range failures {
		t.Run(tc.name, func(t *testing.T) {
			var logs syncBuffer
			res, err := Mirror(t.Context(), tc.src, tc.dst, append([]Option{opts, logTo(&logs)}, tc.opts...)...)
			if err == nil {
				t.Fatalf("Mirror succeeded: %+v", res)
			}
			for _, w := range tc.want {
				if !strings.Contains(hint.Explain(err, hint.CLI), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			for _, secret := range []string{wrongPassword, reg.Password()} {
				if strings.Contains(err.Error(), secret) || strings.Contains(logs.String(), secret) {
					t.Errorf("a password is shown: %q / %q", err, logs.String())
				}
			}
			if !reflect.ValueOf(res).IsZero() {
				t.Errorf("result %+v on failure", res)
			}
		})
	}
}

func TestMirrorTLS(t *testing.T) {
	src := registrytest.StartInProcess(t)
	dst := registrytest.StartDistribution(t, registrytest.DistributionOptions{TLS: true})
	want := digestOf(t, src.PushRandomImage(t, "team/app:v1", 1, layerBytes))
	opts := plainHTTP(src.Host())

	_, err := Mirror(t.Context(), src.Ref("team/app:v1"), dst.Ref("app:v1"), opts)
	if msg := hint.Explain(err, hint.CLI); err == nil || !strings.Contains(msg, "--registry-ca-file") || !strings.Contains(msg, "--no-dst-registry-tls-verify") {
		t.Fatalf("err = %v, want a certificate error naming --registry-ca-file and --no-dst-registry-tls-verify", err)
	}
	for name, opt := range map[string]Option{
		"ca file":   WithCAFile(dst.CAFile()),
		"no verify": WithDestination(Registry{NoTLSVerify: true}),
	} {
		t.Run(name, func(t *testing.T) {
			res, err := Mirror(t.Context(), src.Ref("team/app:v1"), dst.Ref("app:"+strings.ReplaceAll(name, " ", "-")), opts, opt)
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := pullValid(t, dst, res.Image); got != want {
				t.Errorf("digest %s, want %s", got, want)
			}
		})
	}
}

func TestMirrorRefusesPlainHTTPUnlessAllowed(t *testing.T) {
	src, dst := registrytest.StartInProcess(t), registrytest.StartInProcess(t)
	src.PushRandomImage(t, "team/app:v1", 1, layerBytes)
	src.ResetRequests()
	_, err := Mirror(t.Context(), src.Ref("team/app:v1"), dst.Ref("app:v1"), fastRetry())
	if !errors.Is(err, ErrPlainHTTP) || !strings.Contains(err.Error(), "--insecure-registry") {
		t.Fatalf("err = %v, want plain HTTP refused with a hint", err)
	}
	if log := src.Requests(); len(log) != 0 {
		t.Errorf("requests reached the registry in plain HTTP:\n%s", log)
	}
	// Allowing only the source is not enough.
	_, err = Mirror(t.Context(), src.Ref("team/app:v1"), dst.Ref("app:v1"), fastRetry(), plainHTTP(src.Host()))
	if !errors.Is(err, ErrPlainHTTP) || !strings.Contains(err.Error(), dst.Host()) {
		t.Fatalf("err = %v, want plain HTTP to %s refused", err, dst.Host())
	}
}

// TestMirrorSurvivesDroppedUploads copies through a front that cuts 20 % of the blob
// uploads mid-way: the copy retries them and ends with the source's digest.
func TestMirrorSurvivesDroppedUploads(t *testing.T) {
	src, dst := registrytest.StartInProcess(t), registrytest.StartInProcess(t)
	want := digestOf(t, src.PushRandomImage(t, "team/app:v1", 8, 64<<10))
	var d dropper
	f := startFront(t, dst, d.handle)
	res, err := Mirror(t.Context(), src.Ref("team/app:v1"), f.Host()+"/app:v1", plainHTTP(src.Host(), f.Host()), fastRetry())
	if err != nil {
		t.Fatalf("Mirror: %v (after %d drops)", err, d.drops.Load())
	}
	if d.drops.Load() == 0 || res.Retries == 0 {
		t.Errorf("%d uploads dropped, %d retries: the test did not inject faults", d.drops.Load(), res.Retries)
	}
	if res.Digest != want.String() {
		t.Errorf("digest %s, want %s", res.Digest, want)
	}
	if got, _ := pullValid(t, dst, dst.Ref("app:v1")); got != want {
		t.Errorf("the copy's digest %s, want %s", got, want)
	}
	t.Logf("%d of %d blob upload requests dropped, %d retries", d.drops.Load(), d.uploads.Load(), res.Retries)
}

// TestMirrorRejectsCorruptSourceBlobs serves the source's blobs through a front that
// flips a byte of each, or cuts them short: the destination registry refuses the blobs
// (their digest does not match), and the copy fails without a result.
func TestMirrorRejectsCorruptSourceBlobs(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mangle func([]byte) []byte
		want   string
	}{
		{"flipped byte", func(b []byte) []byte { b[len(b)/2] ^= 0xff; return b }, "DIGEST_INVALID"},
		{"cut short", func(b []byte) []byte { return b[:len(b)-10] }, "the manifest says"},
		{"too long", func(b []byte) []byte { return append(b, "more"...) }, "the manifest says"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, dst := registrytest.StartInProcess(t), registrytest.StartInProcess(t)
			src.PushRandomImage(t, "team/app:v1", 2, layerBytes)
			f := startFront(t, src, func(w http.ResponseWriter, req *http.Request) bool {
				if req.Method != http.MethodGet || !strings.Contains(req.URL.Path, "/blobs/sha256:") {
					return false
				}
				plain := &http.Request{Method: req.Method, URL: &url.URL{Scheme: "http", Host: src.Host(), Path: req.URL.Path}, Header: req.Header}
				resp, err := src.Transport(t).RoundTrip(plain.WithContext(req.Context()))
				if err != nil {
					t.Error(err)
					return false
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				body = tc.mangle(body)
				w.Header().Set("Content-Length", fmt.Sprint(len(body)))
				w.WriteHeader(resp.StatusCode)
				_, _ = w.Write(body)
				return true
			})
			res, err := Mirror(t.Context(), f.Host()+"/team/app:v1", dst.Ref("app:v1"), plainHTTP(f.Host(), dst.Host()), WithRetry(2, time.Millisecond))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
			if !reflect.ValueOf(res).IsZero() {
				t.Errorf("result %+v on failure", res)
			}
			if n := dst.Requests().Count(http.MethodPut, registrytest.KindManifest); n != 0 {
				t.Errorf("%d manifests written", n)
			}
		})
	}
}

func TestMirrorPassToken(t *testing.T) {
	reg := registrytest.StartInProcess(t)
	dst := registrytest.StartInProcess(t)
	reg.PushRandomImage(t, "ns/app:v1", 1, layerBytes)
	const token = "sa-token-Secret-9c1e"
	f := startFront(t, reg, basicAuthGate(TokenUser, token))
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := plainHTTP(f.Host(), dst.Host())

	res, err := Mirror(t.Context(), f.Host()+"/ns/app:v1", dst.Ref("app:v1"), opts, WithPassToken(true), WithTokenFile(tokenFile))
	if err != nil {
		t.Fatalf("Mirror: %v", err)
	}
	pullValid(t, dst, res.Image)

	_, err = Mirror(t.Context(), f.Host()+"/ns/app:v1", dst.Ref("app:v2"), opts, WithPassToken(true), WithTokenFile(filepath.Join(dir, "missing")))
	if !errors.Is(err, credential.ErrNoToken) {
		t.Errorf("err = %v, want ErrNoToken", err)
	}

	// A wrong token: the front's 401 answer echoes it, the error must not.
	const wrong = "sa-token-Wrong-77ab"
	if err := os.WriteFile(tokenFile, []byte(wrong), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Mirror(t.Context(), f.Host()+"/ns/app:v1", dst.Ref("app:v3"), opts, WithPassToken(true), WithTokenFile(tokenFile))
	if err == nil || strings.Contains(err.Error(), wrong) || !strings.Contains(err.Error(), "UNAUTHORIZED") || !strings.Contains(err.Error(), "refused the service-account token") {
		t.Errorf("err = %v, want the refused token explained, without the token", err)
	}
	// The token is not sent to the destination.
	if log := dst.Requests(); len(log) == 0 {
		t.Error("no request reached the destination")
	}
}

func TestMirrorProgress(t *testing.T) {
	src, dst := registrytest.StartInProcess(t), registrytest.StartInProcess(t)
	src.PushRandomImage(t, "team/app:v1", 2, layerBytes)
	// The front holds the uploads until the first progress line is written.
	progress := &firstWrite{seen: make(chan struct{})}
	f := startFront(t, dst, func(w http.ResponseWriter, req *http.Request) bool {
		if isBlobUpload(req) {
			<-progress.seen
		}
		return false
	})
	_, err := Mirror(t.Context(), src.Ref("team/app:v1"), f.Host()+"/app:v1", plainHTTP(src.Host(), f.Host()),
		WithProgress(progress), withProgressTiming(0, 10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	out := progress.String()
	if !strings.Contains(out, "0/2 layers") || !strings.Contains(out, "copied "+src.Ref("team/app:v1")+" to "+f.Host()+"/app:v1: 2/2 layers") {
		t.Errorf("progress output:\n%s", out)
	}

	// A quick copy with the default delay prints nothing.
	var quick syncBuffer
	if _, err := Mirror(t.Context(), src.Ref("team/app:v1"), dst.Ref("app:quick"), plainHTTP(hostsOf(src, dst)...), WithProgress(&quick)); err != nil {
		t.Fatal(err)
	}
	if quick.String() != "" {
		t.Errorf("progress for a quick copy: %q", quick.String())
	}
}

// firstWrite is a syncBuffer that closes seen on its first write.
type firstWrite struct {
	syncBuffer
	seen chan struct{}
	once bool
}

func (w *firstWrite) Write(p []byte) (int, error) {
	n, err := w.syncBuffer.Write(p)
	w.syncBuffer.mu.Lock()
	if !w.once {
		w.once = true
		close(w.seen)
	}
	w.syncBuffer.mu.Unlock()
	return n, err
}

func TestMirrorBadOptions(t *testing.T) {
	reg := registrytest.StartInProcess(t)
	reg.PushRandomImage(t, "team/app:v1", 1, layerBytes)
	reg.ResetRequests()
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opt  Option
		want string
	}{
		{"no jobs", WithJobs(0), "--jobs must be at least 1"},
		{"no attempts", WithRetry(0, 0), "retry attempts"},
		{"negative delay", WithRetry(1, -1), "retry delay"},
		{"no response timeout", WithResponseTimeout(0), "response timeout"},
		{"empty token file", WithTokenFile(""), "token file"},
		{"missing CA file", WithCAFile(filepath.Join(dir, "missing.pem")), "--registry-ca-file"},
		{"CA file without PEM", WithCAFile(notPEM), "no PEM certificate"},
		{"CA file is a directory", WithCAFile(dir), "directory"},
		{"insecure registry URL", WithInsecureRegistries("http://example.com"), "without scheme"},
		{"insecure registry path", WithInsecureRegistries("example.com/ns"), "without scheme or path"},
		{"empty insecure registry", WithInsecureRegistries(" "), "empty registry name"},
		{"source user without password", WithSource(Registry{User: "u"}), "--src-registry-user and --src-registry-password go together"},
		{"destination password without user", WithDestination(Registry{Password: "p"}), "--dst-registry-user and --dst-registry-password go together"},
		{"user and auth file", WithDestination(Registry{User: "u", Password: "p", AuthFile: dir}), "conflict"},
		{"missing auth file", WithSource(Registry{AuthFile: filepath.Join(dir, "nope")}), "--src-registry-auth-file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Mirror(t.Context(), reg.Ref("team/app:v1"), reg.Ref("copy/app:v1"), plainHTTP(reg.Host()), tt.opt)
			if !errors.Is(err, usage.ErrBadInput) || !strings.Contains(hint.Explain(err, hint.CLI), tt.want) {
				t.Fatalf("err = %v, want bad input containing %q", err, tt.want)
			}
			if !reflect.ValueOf(res).IsZero() {
				t.Errorf("result %+v", res)
			}
		})
	}
	for _, ref := range [][2]string{{"", reg.Ref("a:b")}, {reg.Ref("a:b"), "Not A Ref"}} {
		if _, err := Mirror(t.Context(), ref[0], ref[1], plainHTTP(reg.Host())); !errors.Is(err, usage.ErrBadInput) {
			t.Errorf("Mirror(%q, %q): err = %v, want bad input", ref[0], ref[1], err)
		}
	}
	if log := reg.Requests(); len(log) != 0 {
		t.Errorf("bad input reached the registry:\n%s", log)
	}
}

func TestMirrorCancelled(t *testing.T) {
	src, dst := registrytest.StartInProcess(t), registrytest.StartInProcess(t)
	src.PushRandomImage(t, "team/app:v1", 1, layerBytes)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	res, err := Mirror(ctx, src.Ref("team/app:v1"), dst.Ref("app:v1"), plainHTTP(hostsOf(src, dst)...))
	if !errors.Is(err, context.Canceled) || !reflect.ValueOf(res).IsZero() {
		t.Errorf("Mirror = %+v, %v; want context.Canceled", res, err)
	}
	if _, err := remote.Head(mustRef(t, dst.Ref("app:v1")), remoteOpts(t, dst)...); err == nil {
		t.Error("a cancelled copy wrote the destination")
	}
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
