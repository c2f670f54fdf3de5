package thothtest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/go-containerregistry/pkg/name"
)

// buildRequest is the Build schema.
type buildRequest struct {
	BaseImage   *string         `json:"base_image"`
	OutputImage *string         `json:"output_image"`
	BuildLog    json.RawMessage `json:"build_log"`
}

// buildLog is Build.build_log.
type buildLog struct {
	APIVersion *string `json:"apiversion"`
	Kind       *string `json:"kind"`
	Log        *string `json:"log"`
}

// analysisBlock is one block of BuildAnalysisResponse.
type analysisBlock struct {
	AnalysisID string         `json:"analysis_id"`
	Cached     bool           `json:"cached"`
	Parameters map[string]any `json:"parameters,omitempty"`
}

// buildAnalysisResponse is BuildAnalysisResponse; absent blocks are null.
type buildAnalysisResponse struct {
	BaseImageAnalysis   *analysisBlock `json:"base_image_analysis"`
	OutputImageAnalysis *analysisBlock `json:"output_image_analysis"`
	BuildlogAnalysis    *analysisBlock `json:"buildlog_analysis"`
	BuildlogDocumentID  *string        `json:"buildlog_document_id"`
}

// analysisResponse is AnalysisResponse.
type analysisResponse struct {
	AnalysisID string         `json:"analysis_id"`
	Parameters map[string]any `json:"parameters"`
	Cached     bool           `json:"cached"`
}

// analysisStatusResponse is AnalysisStatusResponse.
type analysisStatusResponse struct {
	Status struct {
		FinishedAt *string `json:"finished_at"`
		Reason     *string `json:"reason"`
		StartedAt  *string `json:"started_at"`
		State      string  `json:"state"`
	} `json:"status"`
	Parameters map[string]any `json:"parameters"`
}

// params are the validated query parameters of a request.
type params struct {
	query    url.Values
	declared map[string]*openapi3.Parameter
}

// str returns a string parameter, or its default.
func (p params) str(name string) string {
	if v := p.query.Get(name); v != "" {
		return v
	}
	if d, ok := p.defaultValue(name).(string); ok {
		return d
	}
	return ""
}

// nullable returns a string parameter, or nil when it is absent.
func (p params) nullable(name string) any {
	if v := p.query.Get(name); v != "" {
		return v
	}
	return nil
}

// boolean returns a boolean parameter (validated to be true or false), or
// its default.
func (p params) boolean(name string) bool {
	if v := p.query.Get(name); v != "" {
		return v == "true"
	}
	d, _ := p.defaultValue(name).(bool)
	return d
}

func (p params) defaultValue(name string) any {
	if d := p.declared[name]; d != nil && d.Schema != nil && d.Schema.Value != nil {
		return d.Schema.Value.Default
	}
	return nil
}

// echo returns all given query parameters, typed, passwords included, as the
// real server echoes them in error answers.
func (p params) echo() map[string]any {
	out := make(map[string]any, len(p.query))
	for name := range p.query {
		d := p.declared[name]
		if d != nil && d.Schema != nil && d.Schema.Value != nil && d.Schema.Value.Type.Is(openapi3.TypeBoolean) {
			out[name] = p.boolean(name)
			continue
		}
		out[name] = p.query.Get(name)
	}
	return out
}

// imageSide names the parameters that go with one image.
type imageSide struct {
	user, password, verifyTLS string
}

// imageParameters are the parameters echoed in an accepted image analysis,
// without the password.
func (p params) imageParameters(image string, side imageSide) map[string]any {
	return map[string]any{
		"image":            image,
		"registry_user":    p.nullable(side.user),
		"verify_tls":       p.boolean(side.verifyTLS),
		"environment_type": p.str("environment_type"),
		"origin":           p.nullable("origin"),
		"debug":            p.boolean("debug"),
		"force":            p.boolean("force"),
	}
}

func (s *Server) postBuild(p params, body []byte) reply {
	var b buildRequest
	if err := json.Unmarshal(body, &b); err != nil {
		return badRequest(fmt.Errorf("decode build: %w", err))
	}
	var bl buildLog
	if b.BuildLog != nil {
		// The document already rejects null; this holds even if it changes.
		if bytes.Equal(bytes.TrimSpace(b.BuildLog), []byte("null")) {
			return badRequest(errors.New("build_log must be an object ({} for no log), not null"))
		}
		if err := json.Unmarshal(b.BuildLog, &bl); err != nil {
			return badRequest(fmt.Errorf("decode build_log: %w", err))
		}
	}
	text := deref(bl.Log)
	images := []struct {
		image string
		side  imageSide
		ref   name.Reference
		out   **analysisBlock
	}{
		{image: deref(b.BaseImage), side: imageSide{"base_registry_user", "base_registry_password", "base_registry_verify_tls"}},
		{image: deref(b.OutputImage), side: imageSide{"output_registry_user", "output_registry_password", "output_registry_verify_tls"}},
	}
	if images[0].image == "" && images[1].image == "" && text == "" {
		return reply{
			status: http.StatusBadRequest,
			body:   errorBody{Error: "No base, output nor build log provided"},
			err:    errors.New("no base, output nor build log provided"),
		}
	}
	// Check every image before submitting any.
	for i := range images {
		if images[i].image == "" {
			continue
		}
		ref, rep, ok := s.checkImage(p, images[i].image, images[i].side)
		if !ok {
			return rep
		}
		images[i].ref = ref
	}

	var resp buildAnalysisResponse
	images[0].out = &resp.BaseImageAnalysis
	images[1].out = &resp.OutputImageAnalysis
	force := p.boolean("force")
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, img := range images {
		if img.ref == nil {
			continue
		}
		id, cached := s.submitImageLocked(img.ref, force)
		*img.out = &analysisBlock{AnalysisID: id, Cached: cached, Parameters: p.imageParameters(img.image, img.side)}
	}
	if text != "" {
		sum := sha256.Sum256([]byte(text))
		docID := "buildlog-" + hex.EncodeToString(sum[:])
		resp.BuildlogAnalysis = &analysisBlock{AnalysisID: s.newIDLocked("buildlog-parser")}
		resp.BuildlogDocumentID = &docID
	}
	return reply{status: http.StatusAccepted, body: resp}
}

func (s *Server) postAnalyze(p params) reply {
	image := p.query.Get("image")
	side := imageSide{"registry_user", "registry_password", "verify_tls"}
	ref, rep, ok := s.checkImage(p, image, side)
	if !ok {
		return rep
	}
	s.mu.Lock()
	id, cached := s.submitImageLocked(ref, p.boolean("force"))
	s.mu.Unlock()
	return reply{status: http.StatusAccepted, body: analysisResponse{
		AnalysisID: id,
		Parameters: p.imageParameters(image, side),
		Cached:     cached,
	}}
}

// getAnalysis answers a pending status for a known analysis id with status,
// and 404 for an unknown one.
func (s *Server) getAnalysis(id string, status int) reply {
	s.mu.Lock()
	_, known := s.analyses[id]
	s.mu.Unlock()
	parameters := map[string]any{"analysis_id": id}
	if !known {
		return reply{
			status: http.StatusNotFound,
			body:   errorBody{Error: "Requested analysis " + id + " was not found", Parameters: parameters},
			err:    fmt.Errorf("unknown analysis id %q", id),
		}
	}
	var resp analysisStatusResponse
	resp.Status.State = "pending"
	resp.Parameters = parameters
	return reply{status: status, body: resp}
}

// checkImage parses image and checks the credentials given for its registry
// like the real server's registry check. When it answers ok=false, rep is the
// answer to send; its parameters echo every query parameter, passwords
// included, as the real server does.
func (s *Server) checkImage(p params, image string, side imageSide) (ref name.Reference, rep reply, ok bool) {
	fail := func(status int, err error) (name.Reference, reply, bool) {
		parameters := p.echo()
		parameters["image"] = image
		return nil, reply{status: status, body: errorBody{Error: err.Error(), Parameters: parameters}, err: err}, false
	}
	ref, err := name.ParseReference(image)
	if err != nil {
		return fail(http.StatusBadRequest, fmt.Errorf("invalid image reference %q: %w", image, err))
	}
	host := ref.Context().RegistryStr()
	cred, found := s.registries[host]
	if !found && host == name.DefaultRegistry {
		cred, found = s.registries["docker.io"]
	}
	if !found {
		return ref, reply{}, true
	}
	user, password := p.query.Get(side.user), p.query.Get(side.password)
	switch {
	case user == "" && password == "":
		return fail(http.StatusUnauthorized, fmt.Errorf("authentication required to pull %s from registry %s", image, host))
	case user != cred.Username || password != cred.Password:
		return fail(http.StatusForbidden, fmt.Errorf("registry %s refused the credentials given for %s", host, image))
	}
	return ref, reply{}, true
}

// submitImageLocked returns the analysis id of ref: the earlier one (cached)
// unless force is set, else a new one. An image is keyed by its digest when
// the reference has one, else by the full reference. s.mu must be held.
func (s *Server) submitImageLocked(ref name.Reference, force bool) (id string, cached bool) {
	key := ref.Name()
	if d, ok := ref.(name.Digest); ok {
		key = d.DigestStr()
	}
	if id, ok := s.images[key]; ok && !force {
		return id, true
	}
	id = s.newIDLocked("package-extract")
	s.images[key] = id
	s.analyses[id] = key
	return id, false
}

// newIDLocked returns a new analysis id, like
// package-extract-221122093011-8a1f0c2d3e4b5a69. s.mu must be held.
func (s *Server) newIDLocked(prefix string) string {
	return fmt.Sprintf("%s-%s-%016x", prefix, s.now().UTC().Format("060102150405"), s.idRNG.Uint64())
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
