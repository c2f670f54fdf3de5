package registrytest

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
)

// StartInProcess starts go-containerregistry's pkg/registry behind httptest on 127.0.0.1
// (plain HTTP, no auth); t.Cleanup closes it. Every request is logged for Requests.
//
// Two things are added in front of pkg/registry, which keeps one blob store for all
// repositories and ignores mount requests: blobs belong to the repositories they were
// uploaded or mounted to (an existence check in another repository answers 404, as
// distribution does), and a cross-repository mount (POST .../blobs/uploads/?mount=D&from=R)
// of a blob R has is honoured with 201 Created.
func StartInProcess(t testing.TB) *Registry {
	t.Helper()
	began := time.Now()
	rec := &recorder{
		next:  registry.New(registry.Logger(log.New(io.Discard, "", 0))),
		blobs: map[string]map[string]bool{},
	}
	srv := httptest.NewServer(rec)
	r := &Registry{
		kind:     "in-process",
		host:     hostOf(srv.URL),
		scheme:   "http",
		server:   srv,
		recorder: rec,
	}
	t.Cleanup(func() { _ = r.Close() })
	r.startup = time.Since(began)
	return r
}

// Requests returns a copy of the requests the in-process registry has answered since it
// started or since ResetRequests, in the order their answers began. A request is in the log
// before the client can see its answer. It is nil for docker-registry, which is not observed.
func (r *Registry) Requests() RequestLog {
	if r.recorder == nil {
		return nil
	}
	return r.recorder.snapshot()
}

// ResetRequests empties the request log of the in-process registry.
func (r *Registry) ResetRequests() {
	if r.recorder != nil {
		r.recorder.reset()
	}
}

// Kind is what a registry request addresses, judged from its path.
type Kind string

// Kinds of request.
const (
	KindBase      Kind = "base"      // /v2/
	KindCatalog   Kind = "catalog"   // /v2/_catalog
	KindTags      Kind = "tags"      // /v2/<repo>/tags/list
	KindManifest  Kind = "manifest"  // /v2/<repo>/manifests/<tag or digest>
	KindBlob      Kind = "blob"      // /v2/<repo>/blobs/<digest>
	KindUpload    Kind = "upload"    // /v2/<repo>/blobs/uploads/[<id>]
	KindReferrers Kind = "referrers" // /v2/<repo>/referrers/<digest>
	KindOther     Kind = "other"     // anything else
)

// Request is one request the in-process registry answered.
type Request struct {
	// Method is the HTTP method: HEAD, GET, PUT, POST, PATCH or DELETE.
	Method string
	// Kind is what the path addresses.
	Kind Kind
	// Repo is the repository, "" for KindBase, KindCatalog and KindOther.
	Repo string
	// Target is the digest of a blob, the tag or digest of a manifest, the id of an upload
	// ("" when an upload is started with POST).
	Target string
	// Query is the request's query, e.g. digest= on completing an upload, mount= and from=
	// on a cross-repository mount.
	Query url.Values
	// Status is the status code answered.
	Status int
}

// Mount reports whether q asks for a cross-repository mount, and of which digest from which
// repository. q.Status says whether it was honoured (201) or became an upload (202).
func (q Request) Mount() (digest, from string, ok bool) {
	if q.Method != http.MethodPost || q.Kind != KindUpload {
		return "", "", false
	}
	digest, from = q.Query.Get("mount"), q.Query.Get("from")
	return digest, from, digest != "" && from != ""
}

// String is e.g. "HEAD blob library/app sha256:… → 404".
func (q Request) String() string {
	s := q.Method + " " + string(q.Kind)
	if q.Repo != "" {
		s += " " + q.Repo
	}
	if q.Target != "" {
		s += " " + q.Target
	}
	if len(q.Query) > 0 {
		s += " ?" + q.Query.Encode()
	}
	return fmt.Sprintf("%s → %d", s, q.Status)
}

// RequestLog is a list of requests the in-process registry answered.
type RequestLog []Request

// Count is the number of requests with method to kind; "" matches any method or kind.
func (l RequestLog) Count(method string, kind Kind) int {
	n := 0
	for _, q := range l {
		if (method == "" || q.Method == method) && (kind == "" || q.Kind == kind) {
			n++
		}
	}
	return n
}

// ByMethod counts the requests by method.
func (l RequestLog) ByMethod() map[string]int {
	counts := map[string]int{}
	for _, q := range l {
		counts[q.Method]++
	}
	return counts
}

// Filter is the requests for which keep is true.
func (l RequestLog) Filter(keep func(Request) bool) RequestLog {
	var out RequestLog
	for _, q := range l {
		if keep(q) {
			out = append(out, q)
		}
	}
	return out
}

// Mounted is the cross-repository mounts the registry honoured (201 Created).
func (l RequestLog) Mounted() RequestLog {
	return l.Filter(func(q Request) bool {
		_, _, ok := q.Mount()
		return ok && q.Status == http.StatusCreated
	})
}

// String lists the requests one per line.
func (l RequestLog) String() string {
	var b strings.Builder
	for _, q := range l {
		b.WriteString(q.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// recorder logs requests and keeps blobs apart by repository in front of pkg/registry.
type recorder struct {
	next http.Handler

	mu    sync.Mutex
	log   RequestLog
	blobs map[string]map[string]bool // repository → digest → linked
}

func (rec *recorder) snapshot() RequestLog {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	out := make(RequestLog, len(rec.log))
	copy(out, rec.log)
	return out
}

func (rec *recorder) reset() {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.log = nil
}

func (rec *recorder) linked(repo, digest string) bool {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.blobs[repo][digest]
}

// answered logs q with its status, before the status reaches the client, and links or
// unlinks the blob it created or deleted.
func (rec *recorder) answered(q Request, status int) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	q.Status = status
	rec.log = append(rec.log, q)
	switch {
	case q.Kind == KindUpload && status == http.StatusCreated:
		digest := q.Query.Get("digest")
		if digest == "" {
			digest = q.Query.Get("mount")
		}
		if rec.blobs[q.Repo] == nil {
			rec.blobs[q.Repo] = map[string]bool{}
		}
		rec.blobs[q.Repo][digest] = true
	case q.Kind == KindBlob && q.Method == http.MethodDelete && status == http.StatusAccepted:
		delete(rec.blobs[q.Repo], q.Target)
	}
}

// ServeHTTP answers blob existence, blob deletion and mounts itself and passes the rest on.
func (rec *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	kind, repo, target := classify(req.URL.Path)
	q := Request{Method: req.Method, Kind: kind, Repo: repo, Target: target, Query: req.URL.Query()}
	rw := &recordingWriter{ResponseWriter: w, onStatus: func(status int) { rec.answered(q, status) }}
	switch {
	case kind == KindBlob && (req.Method == http.MethodHead || req.Method == http.MethodGet) && !rec.linked(repo, target):
		writeError(rw, http.StatusNotFound, "BLOB_UNKNOWN", "blob unknown to registry", target)
	case kind == KindBlob && req.Method == http.MethodDelete:
		if !rec.linked(repo, target) {
			writeError(rw, http.StatusNotFound, "BLOB_UNKNOWN", "blob unknown to registry", target)
			break
		}
		rw.WriteHeader(http.StatusAccepted)
	case kind == KindUpload && req.Method == http.MethodPost:
		if digest, from, ok := q.Mount(); ok && rec.linked(from, digest) {
			rw.Header().Set("Location", "/v2/"+repo+"/blobs/"+digest)
			rw.Header().Set("Docker-Content-Digest", digest)
			rw.WriteHeader(http.StatusCreated)
			break
		}
		rec.next.ServeHTTP(rw, req)
	default:
		rec.next.ServeHTTP(rw, req)
	}
	rw.finish()
}

// writeError answers with a distribution-spec error body.
func writeError(w http.ResponseWriter, status int, code, message, detail string) {
	body, _ := json.Marshal(map[string]any{"errors": []map[string]string{{"code": code, "message": message, "detail": detail}}})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// classify splits a registry API path into what it addresses, the repository and the target.
func classify(p string) (kind Kind, repo, target string) {
	if p == "/v2" || p == "/v2/" {
		return KindBase, "", ""
	}
	rest, ok := strings.CutPrefix(p, "/v2/")
	if !ok {
		return KindOther, "", ""
	}
	if rest == "_catalog" {
		return KindCatalog, "", ""
	}
	elem := strings.Split(rest, "/")
	n := len(elem)
	switch {
	case n >= 4 && elem[n-3] == "blobs" && elem[n-2] == "uploads":
		return KindUpload, strings.Join(elem[:n-3], "/"), elem[n-1]
	case n >= 3 && elem[n-2] == "blobs" && elem[n-1] == "uploads":
		return KindUpload, strings.Join(elem[:n-2], "/"), ""
	case n >= 3 && elem[n-2] == "blobs":
		return KindBlob, strings.Join(elem[:n-2], "/"), elem[n-1]
	case n >= 3 && elem[n-2] == "manifests":
		return KindManifest, strings.Join(elem[:n-2], "/"), elem[n-1]
	case n >= 3 && elem[n-2] == "tags" && elem[n-1] == "list":
		return KindTags, strings.Join(elem[:n-2], "/"), ""
	case n >= 3 && elem[n-2] == "referrers":
		return KindReferrers, strings.Join(elem[:n-2], "/"), elem[n-1]
	}
	return KindOther, "", ""
}

// recordingWriter calls onStatus once with the status before it is sent.
type recordingWriter struct {
	http.ResponseWriter
	onStatus func(int)
	wrote    bool
}

func (w *recordingWriter) WriteHeader(status int) {
	if !w.wrote && status >= 200 {
		w.wrote = true
		w.onStatus(status)
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *recordingWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// finish records the implicit 200 of a handler that wrote nothing.
func (w *recordingWriter) finish() {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *recordingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
