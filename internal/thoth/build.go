package thoth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/thoth-station/build-watcher/internal/redact"
	"github.com/thoth-station/build-watcher/internal/thoth/logbudget"
)

// minBodyBytes is the smallest body limit: room for two long image references and a log
// budget of logbudget.MinBudget.
const minBodyBytes = 8 << 10

// Build log defaults, as OpenShift's build log API names its documents.
const (
	DefaultBuildLogAPIVersion = "build.openshift.io/v1"
	DefaultBuildLogKind       = "BuildLog"
)

// Environment types accepted by the API.
const (
	EnvironmentRuntime   = "runtime"
	EnvironmentBuildtime = "buildtime"
)

// RegistryAccess is how Thoth pulls one image: credentials (both or neither) and whether to
// verify the registry's certificate.
type RegistryAccess struct {
	Username, Password string
	NoTLSVerify        bool
}

// BuildAnalysisRequest is one finished build to submit to POST /api/v1/build-analysis.
type BuildAnalysisRequest struct {
	// BaseImage and OutputImage are image references; empty ones are sent as null.
	BaseImage, OutputImage string
	// BuildLog is read to its end; a log longer than the body budget keeps its head and tail
	// around a marker line. Nil, or a log of zero bytes, is sent as "build_log": {}.
	BuildLog io.Reader
	// BuildLogAPIVersion and BuildLogKind describe the log document; defaults
	// DefaultBuildLogAPIVersion and DefaultBuildLogKind.
	BuildLogAPIVersion, BuildLogKind string
	// BaseRegistry is for the base image, OutputRegistry for the output image. They are sent
	// only with their image.
	BaseRegistry, OutputRegistry RegistryAccess
	// EnvironmentType is runtime, buildtime, or empty for the server's default (runtime).
	EnvironmentType string
	// Origin tells Thoth where the build comes from (a URL or namespace/name); empty: not sent.
	Origin string
	// Debug runs Thoth's analyzers in verbose mode; Force bypasses Thoth's cache.
	Debug, Force bool
}

// AnalysisRef identifies one analysis Thoth started (or had cached).
type AnalysisRef struct {
	// AnalysisID names the analysis, e.g. package-extract-221122093011-8a1f... .
	AnalysisID string `json:"analysis_id"`
	// Cached is true when Thoth returned an earlier analysis of the same image digest.
	Cached bool `json:"cached"`
}

// BuildAnalysisResponse is the 202 answer of POST /api/v1/build-analysis. Each block is nil
// when its part was not submitted. The server's echoed "parameters" are deliberately not
// decoded: they may hold the registry passwords.
type BuildAnalysisResponse struct {
	BaseImageAnalysis   *AnalysisRef `json:"base_image_analysis"`
	OutputImageAnalysis *AnalysisRef `json:"output_image_analysis"`
	BuildLogAnalysis    *AnalysisRef `json:"buildlog_analysis"`
	BuildLogDocumentID  string       `json:"buildlog_document_id,omitempty"`
}

// Submission is the outcome of SubmitBuild.
type Submission struct {
	// Response is the decoded answer.
	Response BuildAnalysisResponse
	// Attempts is how many requests it took (1 when the first one succeeded).
	Attempts int
	// BodyBytes is the size of the request body sent.
	BodyBytes int
	// LogTotalBytes is the size of the build log read; LogCutBytes how much of its middle was
	// left out to fit the body limit.
	LogTotalBytes, LogCutBytes int64
}

// SubmitBuild sends one build for analysis. The log is streamed from req.BuildLog and cut to
// fit the client's body limit; transient failures are retried by the retry policy.
// Credentials in req never appear in the returned error.
func (c *Client) SubmitBuild(ctx context.Context, req BuildAnalysisRequest) (*Submission, error) {
	query, err := req.query()
	if err != nil {
		return nil, err
	}
	body, log, err := req.body(c.maxBody)
	if err != nil {
		return nil, err
	}
	sub := &Submission{BodyBytes: len(body)}
	if log != nil {
		sub.LogTotalBytes, sub.LogCutBytes = log.TotalBytes, log.CutBytes
	}
	if req.BaseImage == "" && req.OutputImage == "" && sub.LogTotalBytes == 0 {
		return nil, ErrNothingToSubmit
	}
	answer, attempts, err := c.do(ctx, call{
		method:   http.MethodPost,
		path:     "/build-analysis",
		query:    query,
		body:     body,
		redactor: redact.New(req.BaseRegistry.Password, req.OutputRegistry.Password),
	})
	sub.Attempts = attempts
	if err != nil {
		return sub, fmt.Errorf("submitting build analysis to %s: %w", c.Endpoint(), err)
	}
	resp, err := decodeBuildAnalysis(answer)
	if err != nil {
		return sub, fmt.Errorf("submitting build analysis to %s: %w", c.Endpoint(), err)
	}
	sub.Response = *resp
	return sub, nil
}

// query returns the request's query parameters, exactly those of the API and only with a
// value that matters: registry parameters only with their image, booleans as true/false.
func (r *BuildAnalysisRequest) query() (url.Values, error) {
	q := url.Values{}
	sides := []struct {
		prefix, image string
		access        RegistryAccess
	}{
		{"base_registry_", r.BaseImage, r.BaseRegistry},
		{"output_registry_", r.OutputImage, r.OutputRegistry},
	}
	for _, side := range sides {
		if side.image == "" {
			continue
		}
		if (side.access.Username == "") != (side.access.Password == "") {
			return nil, fmt.Errorf("registry credentials for %s must be a user and a password together", side.image)
		}
		if side.access.Username != "" {
			q.Set(side.prefix+"user", side.access.Username)
			q.Set(side.prefix+"password", side.access.Password)
		}
		if side.access.NoTLSVerify {
			q.Set(side.prefix+"verify_tls", strconv.FormatBool(false))
		}
	}
	switch r.EnvironmentType {
	case "":
	case EnvironmentRuntime, EnvironmentBuildtime:
		q.Set("environment_type", r.EnvironmentType)
	default:
		return nil, fmt.Errorf("environment type must be %s or %s, not %q", EnvironmentRuntime, EnvironmentBuildtime, r.EnvironmentType)
	}
	if r.Origin != "" {
		q.Set("origin", r.Origin)
	}
	if r.Debug {
		q.Set("debug", strconv.FormatBool(true))
	}
	if r.Force {
		q.Set("force", strconv.FormatBool(true))
	}
	return q, nil
}

// body encodes the JSON body within maxBody bytes, streaming the log into the room the
// images leave. It returns the encoded log, or nil when none was sent.
func (r *BuildAnalysisRequest) body(maxBody int) ([]byte, *logbudget.Encoded, error) {
	head := `{"base_image":` + nullableString(r.BaseImage) + `,"output_image":` + nullableString(r.OutputImage) + `,"build_log":`
	empty := head + `{}}`
	if r.BuildLog == nil {
		return checkSize([]byte(empty), maxBody)
	}
	apiVersion, kind := r.BuildLogAPIVersion, r.BuildLogKind
	if apiVersion == "" {
		apiVersion = DefaultBuildLogAPIVersion
	}
	if kind == "" {
		kind = DefaultBuildLogKind
	}
	logHead := `{"apiversion":` + nullableString(apiVersion) + `,"kind":` + nullableString(kind) + `,"log":`
	const tail = `}}`
	budget := maxBody - len(head) - len(logHead) - len(tail)
	if budget < logbudget.MinBudget {
		return nil, nil, fmt.Errorf("the body limit of %d bytes leaves %d bytes for the build log, below the minimum of %d: raise the limit",
			maxBody, budget, logbudget.MinBudget)
	}
	log, err := logbudget.Encode(r.BuildLog, budget)
	if err != nil {
		return nil, nil, err
	}
	if log.TotalBytes == 0 {
		body, _, err := checkSize([]byte(empty), maxBody)
		return body, log, err
	}
	body := make([]byte, 0, len(head)+len(logHead)+len(log.JSON)+len(tail))
	body = append(body, head...)
	body = append(body, logHead...)
	body = append(body, log.JSON...)
	body = append(body, tail...)
	return body, log, nil
}

func checkSize(body []byte, maxBody int) ([]byte, *logbudget.Encoded, error) {
	if len(body) > maxBody {
		return nil, nil, fmt.Errorf("request body of %d bytes exceeds the limit of %d bytes", len(body), maxBody)
	}
	return body, nil, nil
}

// nullableString encodes s as a JSON string, or null when empty.
func nullableString(s string) string {
	if s == "" {
		return "null"
	}
	b, _ := json.Marshal(s) // marshalling a string cannot fail
	return string(b)
}

// decodeBuildAnalysis decodes and checks a 202 answer.
func decodeBuildAnalysis(data []byte) (*BuildAnalysisResponse, error) {
	var resp BuildAnalysisResponse
	if err := json.Unmarshal(data, &resp); err != nil {
		return nil, fmt.Errorf("decoding the answer: %w", err)
	}
	for name, ref := range map[string]*AnalysisRef{
		"base_image_analysis":   resp.BaseImageAnalysis,
		"output_image_analysis": resp.OutputImageAnalysis,
		"buildlog_analysis":     resp.BuildLogAnalysis,
	} {
		if ref != nil && ref.AnalysisID == "" {
			return nil, fmt.Errorf("decoding the answer: %s has no analysis_id", name)
		}
	}
	return &resp, nil
}

// Discovery is the answer of GET /api/v1.
type Discovery struct {
	// Paths lists the API's endpoints.
	Paths []string `json:"paths"`
}

// Discover checks that the host serves the User API (GET /api/v1), as the old client did
// before submitting anything, and that it offers build analysis.
func (c *Client) Discover(ctx context.Context) (*Discovery, error) {
	answer, _, err := c.do(ctx, call{method: http.MethodGet, path: "", redactor: redact.New()})
	if err != nil {
		return nil, fmt.Errorf("discovering the thoth API at %s: %w", c.Endpoint(), err)
	}
	var d Discovery
	if err := json.Unmarshal(answer, &d); err != nil {
		return nil, fmt.Errorf("discovering the thoth API at %s: the answer is not the User API's path list (is the host right?): %w", c.Endpoint(), err)
	}
	if len(d.Paths) > 0 && !d.offers("/build-analysis") {
		return nil, fmt.Errorf("discovering the thoth API at %s: %w", c.Endpoint(), errNoBuildAnalysis)
	}
	return &d, nil
}

var errNoBuildAnalysis = errors.New("the server lists no build-analysis endpoint; is it a Thoth User API of version 0.7 or later?")

func (d *Discovery) offers(suffix string) bool {
	for _, p := range d.Paths {
		if len(p) >= len(suffix) && p[len(p)-len(suffix):] == suffix {
			return true
		}
	}
	return false
}
