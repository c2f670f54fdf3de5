// Package mirror copies an image, a single manifest or an index with every platform, from
// one registry to another with its digest kept and verified, so that Thoth can pull the
// build's output from a registry it reaches.
//
// Mirror is shaped like go-containerregistry's crane.Copy, on which it builds, with what
// a Tekton step needs besides: credentials and TLS settings per side, plain HTTP only for
// registries named as insecure, retries with backoff, progress lines, and a digest
// check at the end so that a copy the registry altered is an error, never a result.
package mirror

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/thoth-station/build-watcher/internal/redact"
	"github.com/thoth-station/build-watcher/internal/usage"
)

// ResultImage is the name of the Tekton result holding Result.Image.
const ResultImage = "image"

// Result describes a finished copy.
type Result struct {
	// Image is the copy as repository@digest, what Thoth is to pull.
	Image string `json:"image"`
	// Source is the source image as repository@digest.
	Source string `json:"source"`
	// Destination is the reference written: the tag, or the digest.
	Destination string `json:"destination"`
	// Digest is the manifest's digest, the same on both sides.
	Digest string `json:"digest"`
	// MediaType is the manifest's media type.
	MediaType string `json:"mediaType"`
	// Platforms lists the platforms of an index's manifests (os/architecture[/variant]).
	Platforms []string `json:"platforms,omitempty"`
	// UpToDate reports that the destination already held the manifest: nothing was copied.
	UpToDate bool `json:"upToDate"`
	// Layers counts the distinct layer blobs of the image (of every platform); Blobs
	// counts the distinct blobs (layers and configs) copied or found present, which
	// BlobsUploaded, BlobsMounted and BlobsPresent split by what happened. All are zero
	// when UpToDate: the blobs were not looked at.
	Layers        int `json:"layers"`
	Blobs         int `json:"blobs"`
	BlobsUploaded int `json:"blobsUploaded"`
	BlobsMounted  int `json:"blobsMounted"`
	BlobsPresent  int `json:"blobsPresent"`
	// BytesUploaded counts the blob bytes sent, retried uploads included.
	BytesUploaded int64 `json:"bytesUploaded"`
	// Retries counts the transient failures that were retried.
	Retries int `json:"retries"`
	// Seconds is the time the copy took.
	Seconds float64 `json:"seconds"`
}

// Mirror copies the image src (a single manifest, or an index with every platform) to the
// reference dst, keeps its digest and verifies it: the copy's digest, under dst and as
// repository@digest, must equal the source's, else the error wraps ErrDigestMismatch.
// Blobs present in the destination repository are skipped, blobs of the same registry
// are mounted across repositories, and up to WithJobs blobs are copied at once. When the
// destination already holds the manifest under dst, nothing is copied.
//
// dst is a full reference; Target and Destination make one from a push registry. When
// dst is a digest it must be src's digest. Errors say what failed, on which image, and
// what to do; bad input (options, references, files) matches usage.ErrBadInput; no error
// text holds a credential. On error the Result is zero.
func Mirror(ctx context.Context, src, dst string, opts ...Option) (Result, error) {
	started := time.Now()
	o, err := makeOptions(opts...)
	if err != nil {
		return Result{}, err
	}
	c, err := newCopier(ctx, o, src, dst)
	if err != nil {
		return Result{}, finish(c.redactor(), err)
	}
	res, err := c.run(ctx)
	if err != nil {
		return Result{}, finish(c.redactor(), err)
	}
	res.Retries = int(c.retries.Load())
	res.Seconds = time.Since(started).Seconds()
	return res, nil
}

// copier is one copy under way.
type copier struct {
	o        *options
	src, dst name.Reference
	// srcOpts and dstOpts reach each side: transport, credentials, retries.
	srcOpts, dstOpts []remote.Option
	mounts           *mountWatcher
	// srcAuth and dstAuth say where each side's credentials came from.
	srcAuth, dstAuth Credentials
	// srcAuthn and srcTransport reach the source, for reading blobs.
	srcAuthn     authn.Authenticator
	srcTransport http.RoundTripper
	// secrets are the credentials found; red removes them, once newCopier is done.
	secrets []string
	red     *redact.Redactor
	retries atomic.Int64
	logger  *slog.Logger
}

// redactor removes the copy's secrets; c may be nil.
func (c *copier) redactor() *redact.Redactor {
	switch {
	case c == nil:
		return redact.New()
	case c.red != nil:
		return c.red
	}
	return redact.New(c.secrets...)
}

// newCopier parses the references and prepares each side. It returns the copier even
// with an error, for the redaction of the secrets it found.
func newCopier(ctx context.Context, o *options, src, dst string) (*copier, error) {
	c := &copier{o: o, logger: o.logger, secrets: []string{o.src.Password, o.dst.Password}}
	var err error
	if c.src, err = o.parse("--source", src); err != nil {
		return c, err
	}
	if c.dst, err = o.parse("--destination", dst); err != nil {
		return c, err
	}
	var token func() (string, error)
	if o.passToken {
		token = func() (string, error) {
			tok, err := readToken(o.tokenFile)
			c.secrets = append(c.secrets, tok)
			return tok, err
		}
	}
	srcAuth, secret, how, err := credentials(ctx, sourceSide, o.src, c.src.String(), token, c.logger)
	c.secrets, c.srcAuth = append(c.secrets, secret), how
	if err != nil {
		return c, err
	}
	dstAuth, secret, how, err := credentials(ctx, destinationSide, o.dst, c.dst.String(), nil, c.logger)
	c.dstAuth = how
	c.secrets = append(c.secrets, secret)
	if err != nil {
		return c, err
	}
	c.mounts = &mountWatcher{next: o.newTransport(o.dst.NoTLSVerify)}
	c.srcAuthn, c.srcTransport = srcAuth, &plainHTTPGuard{next: o.newTransport(o.src.NoTLSVerify), allowed: o.insecure}
	c.srcOpts = c.remoteOptions(ctx, srcAuth, c.srcTransport)
	c.dstOpts = c.remoteOptions(ctx, dstAuth, &plainHTTPGuard{next: c.mounts, allowed: o.insecure})
	c.red = redact.New(c.secrets...)
	return c, nil
}

// parse parses ref, given by flag, as a reference whose registry may use plain HTTP when
// WithInsecureRegistries named it.
func (o *options) parse(flag, ref string) (name.Reference, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, usage.Errorf("%s %q is not an image reference: %w", flag, ref, err)
	}
	if o.insecure[strings.ToLower(r.Context().RegistryStr())] {
		if r, err = name.ParseReference(ref, name.Insecure); err != nil {
			return nil, usage.Errorf("%s %q is not an image reference: %w", flag, ref, err)
		}
	}
	return r, nil
}

// backoff is the retry backoff of the options.
func (c *copier) backoff() remote.Backoff {
	return remote.Backoff{Duration: c.o.retryDelay, Factor: 2, Jitter: 0.5, Steps: c.o.attempts}
}

// remoteOptions are the go-containerregistry options of one side.
func (c *copier) remoteOptions(ctx context.Context, auth authn.Authenticator, rt http.RoundTripper) []remote.Option {
	opts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuth(auth),
		remote.WithTransport(rt),
		remote.WithJobs(c.o.jobs),
		remote.WithRetryBackoff(c.backoff()),
		remote.WithRetryStatusCodes(retryStatusCodes[:]...),
		remote.WithRetryPredicate(c.retryable),
	}
	if c.o.userAgent != "" {
		opts = append(opts, remote.WithUserAgent(c.o.userAgent))
	}
	return opts
}

// retryable is the retry predicate: transient errors are retried, and logged.
func (c *copier) retryable(err error) bool {
	if !transient(err) {
		return false
	}
	c.retries.Add(1)
	c.logger.Warn("retrying after a transient failure", "error", c.redactor().String(err.Error()))
	return true
}

// run copies and verifies.
func (c *copier) run(ctx context.Context) (Result, error) {
	puller, err := remote.NewPuller(c.srcOpts...)
	if err != nil {
		return Result{}, fmt.Errorf("preparing to read %s: %w", c.src, err)
	}
	desc, err := puller.Get(ctx, c.src)
	if err != nil {
		return Result{}, c.explain(sourceSide, "reading the source image", c.src.String(), err)
	}
	digest := desc.Digest
	res := Result{
		Image:       c.dst.Context().Name() + "@" + digest.String(),
		Source:      c.src.Context().Name() + "@" + digest.String(),
		Destination: c.dst.String(),
		Digest:      digest.String(),
		MediaType:   string(desc.MediaType),
	}
	if d, ok := c.dst.(name.Digest); ok && d.DigestStr() != digest.String() {
		return Result{}, usage.Errorf("--destination %s: %w: the source %s has digest %s, and a copy keeps the digest; name a tag instead, or no tag or digest at all",
			c.dst, ErrDigestMismatch, c.src, digest)
	}
	dstPuller, err := remote.NewPuller(c.dstOpts...)
	if err != nil {
		return Result{}, fmt.Errorf("preparing to check %s: %w", c.dst, err)
	}
	pusher, err := remote.NewPusher(c.dstOpts...)
	if err != nil {
		return Result{}, fmt.Errorf("preparing to write %s: %w", c.dst, err)
	}
	if res.Platforms, err = platforms(desc); err != nil {
		return Result{}, c.explain(sourceSide, "reading the index", c.src.String(), err)
	}
	present, err := c.present(ctx, dstPuller, digest)
	if err != nil {
		return Result{}, err
	}
	if present {
		c.logger.DebugContext(ctx, "the destination already holds the manifest: nothing to copy", "destination", c.dst.String(), "digest", digest.String())
		res.UpToDate = true
	} else if err := c.copy(ctx, pusher, desc, &res); err != nil {
		return Result{}, err
	}
	if err := c.verify(ctx, dstPuller, desc, present); err != nil {
		return Result{}, err
	}
	return res, nil
}

// blob is one blob of the source image to copy.
type blob struct {
	layer *trackedLayer
	// upload is what the pusher uploads: layer, as a remote.MountableLayer when it came
	// as one, so that a blob of the same registry is mounted.
	upload v1.Layer
	digest v1.Hash
	size   int64
}

// platforms lists the platforms of the manifests of desc when it is an index.
func platforms(desc *remote.Descriptor) ([]string, error) {
	if !desc.MediaType.IsIndex() {
		return nil, nil
	}
	im, err := v1.ParseIndexManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range im.Manifests {
		if m.Platform != nil {
			out = append(out, m.Platform.String())
		}
	}
	return out, nil
}

// collect lists the distinct distributable blobs of desc (of every platform of an
// index), wrapped for counting.
func collect(desc *remote.Descriptor) (*collector, error) {
	col := &collector{seen: map[v1.Hash]bool{}, t: &tracker{}}
	switch {
	case desc.MediaType.IsIndex():
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, err
		}
		if err := col.index(idx); err != nil {
			return nil, err
		}
	case desc.MediaType.IsImage():
		img, err := desc.Image()
		if err != nil {
			return nil, err
		}
		if err := col.image(img); err != nil {
			return nil, err
		}
	default:
		// Schema 1 manifests and artifacts: the pusher copies what they reference.
	}
	return col, nil
}

// collector gathers blobs for collect.
type collector struct {
	seen  map[v1.Hash]bool
	blobs []blob
	t     *tracker
}

// index gathers the blobs of every image of idx, and of nested indexes.
func (col *collector) index(idx v1.ImageIndex) error {
	im, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	for _, m := range im.Manifests {
		switch {
		case m.MediaType.IsIndex():
			child, err := idx.ImageIndex(m.Digest)
			if err != nil {
				return fmt.Errorf("index child %s: %w", m.Digest, err)
			}
			if err := col.index(child); err != nil {
				return err
			}
		case m.MediaType.IsImage():
			img, err := idx.Image(m.Digest)
			if err != nil {
				return fmt.Errorf("index child %s: %w", m.Digest, err)
			}
			if err := col.image(img); err != nil {
				return fmt.Errorf("index child %s: %w", m.Digest, err)
			}
		}
	}
	return nil
}

// image gathers the layers and the config of img.
func (col *collector) image(img v1.Image) error {
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	for _, l := range layers {
		if err := col.add(l, true); err != nil {
			return err
		}
	}
	mt, err := img.MediaType()
	if err != nil {
		return err
	}
	if mt.IsSchema1() {
		return nil
	}
	cfg, err := partial.ConfigLayer(img)
	if err != nil {
		return err
	}
	return col.add(cfg, false)
}

// add gathers l unless it was seen or is not distributable (the pusher skips those).
func (col *collector) add(l v1.Layer, isLayer bool) error {
	mt, err := l.MediaType()
	if err != nil {
		return err
	}
	if !mt.IsDistributable() {
		return nil
	}
	d, err := l.Digest()
	if err != nil {
		return err
	}
	if col.seen[d] {
		return nil
	}
	col.seen[d] = true
	size, err := l.Size()
	if err != nil {
		return err
	}
	b := blob{digest: d, size: size}
	if ml, ok := l.(*remote.MountableLayer); ok {
		b.layer = &trackedLayer{Layer: ml.Layer, t: col.t, isLayer: isLayer, digest: d, size: size}
		b.upload = &remote.MountableLayer{Layer: b.layer, Reference: ml.Reference}
	} else {
		b.layer = &trackedLayer{Layer: l, t: col.t, isLayer: isLayer, digest: d, size: size}
		b.upload = b.layer
	}
	col.blobs = append(col.blobs, b)
	col.t.bytes += size
	if isLayer {
		col.t.layers++
	}
	return nil
}

// present reports whether the destination holds the manifest with digest under c.dst.
// 404, and the 403 some registries give for a missing manifest, mean "copy"; any other
// failure (refused login, TLS, unreachable registry) is an error, as the copy would fail
// the same way.
func (c *copier) present(ctx context.Context, p *remote.Puller, digest v1.Hash) (bool, error) {
	got, err := headDigest(ctx, p, c.dst)
	if err == nil {
		return got == digest, nil
	}
	var terr *transport.Error
	if errors.As(err, &terr) && (terr.StatusCode == http.StatusNotFound || terr.StatusCode == http.StatusForbidden) {
		c.logger.DebugContext(ctx, "the destination does not hold the manifest", "destination", c.dst.String(), "answer", c.redactor().String(err.Error()))
		return false, nil
	}
	return false, c.explain(destinationSide, "checking the destination", c.dst.String(), err)
}

// headDigest returns the digest of the manifest ref names, from a HEAD request, or from
// the manifest itself when the registry's answer to HEAD lacks the digest header.
func headDigest(ctx context.Context, p *remote.Puller, ref name.Reference) (v1.Hash, error) {
	d, err := p.Head(ctx, ref)
	if err == nil {
		return d.Digest, nil
	}
	var terr *transport.Error
	if errors.As(err, &terr) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return v1.Hash{}, err
	}
	got, gerr := p.Get(ctx, ref)
	if gerr != nil {
		return v1.Hash{}, gerr
	}
	return got.Digest, nil
}

// copy uploads the blobs, up to jobs at once, then writes the manifests. The first
// failure cancels the uploads under way.
func (c *copier) copy(ctx context.Context, pusher *remote.Pusher, desc *remote.Descriptor, res *Result) (err error) {
	col, err := collect(desc)
	if err != nil {
		return c.explain(sourceSide, "reading the manifests of", c.src.String(), err)
	}
	res.Layers = col.t.layers
	rep := startReporter(c.o.progress, col.t, c.src.String()+" to "+c.dst.String(), c.o.progressDelay, c.o.progressInterval)
	defer func() { rep.finish(err == nil) }()

	if len(col.blobs) > 0 {
		rt := transport.NewRetry(c.srcTransport, transport.WithRetryBackoff(c.backoff()),
			transport.WithRetryPredicate(c.retryable), transport.WithRetryStatusCodes(retryStatusCodes[:]...))
		if c.o.userAgent != "" {
			rt = transport.NewUserAgent(rt, c.o.userAgent)
		}
		reader := newBlobReader(ctx, c.src.Context(), c.srcAuthn, rt)
		for _, b := range col.blobs {
			b.layer.raw = reader
		}
	}

	if err := c.uploadAll(ctx, pusher, col.blobs); err != nil {
		return err
	}
	for _, b := range col.blobs {
		switch {
		case b.layer.uploaded():
			res.BlobsUploaded++
		case c.mounts.wasMounted(b.digest.String()):
			res.BlobsMounted++
		default:
			res.BlobsPresent++
		}
	}
	res.Blobs = len(col.blobs)
	res.BytesUploaded = col.t.bytesSent.Load()
	if err := pusher.Push(ctx, c.dst, desc); err != nil {
		return c.explain(destinationSide, "writing the manifest of", c.dst.String(), err)
	}
	c.logger.DebugContext(ctx, "copied", "destination", c.dst.String(), "uploaded", res.BlobsUploaded,
		"mounted", res.BlobsMounted, "present", res.BlobsPresent, "bytes", res.BytesUploaded)
	return nil
}

// uploadAll uploads blobs with up to c.o.jobs at once and returns the first failure,
// which cancels the others.
func (c *copier) uploadAll(ctx context.Context, pusher *remote.Pusher, blobs []blob) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	repo := c.dst.Context()
	slots := make(chan struct{}, c.o.jobs)
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for _, b := range blobs {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-slots }()
			if err := pusher.Upload(ctx, repo, b.upload); err != nil {
				once.Do(func() {
					var src *sourceError
					if errors.As(err, &src) {
						first = c.explain(sourceSide, fmt.Sprintf("reading blob %s (%s) of", b.digest, humanBytes(b.size)), c.src.String(), err)
					} else {
						first = c.explain(destinationSide, fmt.Sprintf("copying blob %s (%s) to", b.digest, humanBytes(b.size)), repo.String(), err)
					}
					cancel(first)
				})
				return
			}
			b.layer.done(b.size)
		})
	}
	wg.Wait()
	if first != nil {
		return first
	}
	return context.Cause(ctx)
}

// verify checks that the destination serves the source's manifest: by digest (the
// registry hashes what it stores), under the tag written (unless tagChecked: present
// just saw it), and every child of an index.
func (c *copier) verify(ctx context.Context, p *remote.Puller, desc *remote.Descriptor, tagChecked bool) error {
	want := desc.Digest
	byDigest := c.dst.Context().Digest(want.String())
	got, err := p.Get(ctx, byDigest)
	if err != nil {
		var terr *transport.Error
		if errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound {
			err = fmt.Errorf("%w: the registry does not serve the copy under the source's digest, it may have rewritten the manifest: %w", ErrDigestMismatch, err)
		}
		return c.explain(destinationSide, "verifying the copy", byDigest.String(), err)
	}
	if !bytes.Equal(got.Manifest, desc.Manifest) {
		return fmt.Errorf("verifying the copy %s: %w: the registry serves other manifest bytes than the source's", byDigest, ErrDigestMismatch)
	}
	if tag, ok := c.dst.(name.Tag); ok && !tagChecked {
		got, err := headDigest(ctx, p, tag)
		if err != nil {
			return c.explain(destinationSide, "verifying the copy", tag.String(), err)
		}
		if got != want {
			return fmt.Errorf("verifying the copy %s: %w: the tag points at %s, not at the source's %s; the registry may have rewritten the manifest, or someone pushed to the tag meanwhile",
				tag, ErrDigestMismatch, got, want)
		}
	}
	if !desc.MediaType.IsIndex() {
		return nil
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		return c.explain(sourceSide, "reading the index", c.src.String(), err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return c.explain(sourceSide, "reading the index", c.src.String(), err)
	}
	for _, m := range im.Manifests {
		if !m.MediaType.IsIndex() && !m.MediaType.IsImage() {
			continue
		}
		child := c.dst.Context().Digest(m.Digest.String())
		if _, err := headDigest(ctx, p, child); err != nil {
			return c.explain(destinationSide, "verifying the index child", child.String(), err)
		}
	}
	return nil
}
