package thothtest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

const (
	digestA    = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	digestB    = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	baseRef    = "quay.io/thoth-station/s2i-thoth-ubi8-py38@" + digestA
	outputRef  = "registry.example/ns/app@" + digestB
	jsonType   = "application/json"
	buildPath  = "/api/v1/build-analysis"
	buildBody  = `{"base_image": "` + baseRef + `", "output_image": "` + outputRef + `", "build_log": {}}`
	logText    = "Collecting flask\nSuccessfully installed flask-2.0.1\n"
	logOnly    = `{"build_log": {"apiversion": "build.openshift.io/v1", "kind": "BuildLog", "log": "Collecting flask\nSuccessfully installed flask-2.0.1\n"}}`
	idPattern  = `^package-extract-\d{12}-[0-9a-f]{16}$`
	logPattern = `^buildlog-parser-\d{12}-[0-9a-f]{16}$`
)

func TestNewValidatesOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{name: "zero value", opts: Options{}},
		{name: "all faults", opts: Options{Faults: Faults{ServerErrorRate: 0.5, RateLimitRate: 0.25, ResetRate: 0.25, RetryAfter: time.Second, Latency: time.Millisecond}}},
		{name: "registry", opts: Options{Registries: map[string]Credential{"quay.io": {Username: "u", Password: "p"}}}},
		{name: "negative body cap", opts: Options{MaxBodyBytes: -1}, wantErr: "max body bytes"},
		{name: "negative rate", opts: Options{Faults: Faults{ServerErrorRate: -0.1}}, wantErr: "server error rate"},
		{name: "rate over one", opts: Options{Faults: Faults{ResetRate: 1.5}}, wantErr: "reset rate"},
		{name: "NaN rate", opts: Options{Faults: Faults{RateLimitRate: math.NaN()}}, wantErr: "rate limit rate"},
		{name: "rates add up over one", opts: Options{Faults: Faults{ServerErrorRate: 0.6, RateLimitRate: 0.6}}, wantErr: "add up"},
		{name: "negative retry after", opts: Options{Faults: Faults{RetryAfter: -time.Second}}, wantErr: "retry after"},
		{name: "negative latency", opts: Options{Faults: Faults{Latency: -time.Second}}, wantErr: "latency"},
		{name: "empty registry host", opts: Options{Registries: map[string]Credential{"": {Username: "u", Password: "p"}}}, wantErr: "host is empty"},
		{name: "registry without password", opts: Options{Registries: map[string]Credential{"quay.io": {Username: "u"}}}, wantErr: "user and password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.opts)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("New: no error, want one containing %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("New: %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestBuildAnalysisValidation(t *testing.T) {
	const maxBody = 1024
	big := `{"build_log": {"log": "` + strings.Repeat("x", maxBody) + `"}}`
	tests := []struct {
		name        string
		query       string
		contentType string
		body        string
		chunked     bool   // send the body without a Content-Length
		wantStatus  int    // 202 or 400
		wantError   string // part of the "error" of a 400
	}{
		{name: "base and output by digest", body: buildBody, wantStatus: http.StatusAccepted},
		{name: "build log only", body: logOnly, wantStatus: http.StatusAccepted},
		{name: "output image only, build log omitted", body: `{"output_image": "` + outputRef + `"}`, wantStatus: http.StatusAccepted},
		{name: "null images with a log", body: `{"base_image": null, "output_image": null, "build_log": {"log": "x"}}`, wantStatus: http.StatusAccepted},
		{name: "unknown body property", body: `{"output_image": "` + outputRef + `", "build_log": {}, "extra": 1}`, wantStatus: http.StatusAccepted},
		{name: "content type with charset", contentType: "application/json; charset=utf-8", body: buildBody, wantStatus: http.StatusAccepted},
		{
			name: "every parameter",
			query: "?base_registry_user=u&base_registry_password=p&base_registry_verify_tls=false" +
				"&output_registry_user=u2&output_registry_password=p2&output_registry_verify_tls=true" +
				"&environment_type=buildtime&origin=ns%2Fbuild-1&debug=true&force=false",
			body:       buildBody,
			wantStatus: http.StatusAccepted,
		},
		{name: "unknown query parameter", query: "?bogus=1", body: buildBody, wantStatus: http.StatusBadRequest, wantError: "bogus"},
		{name: "plain registry parameters are unknown here", query: "?registry_user=u&registry_password=p", body: buildBody, wantStatus: http.StatusBadRequest, wantError: "registry_password, registry_user"},
		{name: "repeated query parameter", query: "?force=true&force=false", body: buildBody, wantStatus: http.StatusBadRequest, wantError: `"force" given 2 times`},
		{name: "debug=yes", query: "?debug=yes", body: buildBody, wantStatus: http.StatusBadRequest, wantError: `"debug"`},
		{name: "debug=True", query: "?debug=True", body: buildBody, wantStatus: http.StatusBadRequest, wantError: `"debug" must be true or false`},
		{name: "force=1", query: "?force=1", body: buildBody, wantStatus: http.StatusBadRequest, wantError: `"force" must be true or false`},
		{name: "empty boolean", query: "?base_registry_verify_tls=", body: buildBody, wantStatus: http.StatusBadRequest, wantError: "base_registry_verify_tls"},
		{name: "environment_type=prod", query: "?environment_type=prod", body: buildBody, wantStatus: http.StatusBadRequest, wantError: "environment_type"},
		{name: "base user without password", query: "?base_registry_user=u", body: buildBody, wantStatus: http.StatusBadRequest, wantError: `"base_registry_user" given without "base_registry_password"`},
		{name: "base password without user", query: "?base_registry_password=p", body: buildBody, wantStatus: http.StatusBadRequest, wantError: `"base_registry_password" given without "base_registry_user"`},
		{name: "output user without password", query: "?output_registry_user=u", body: buildBody, wantStatus: http.StatusBadRequest, wantError: `"output_registry_user" given without "output_registry_password"`},
		{name: "output password without user", query: "?output_registry_password=p", body: buildBody, wantStatus: http.StatusBadRequest, wantError: `"output_registry_password" given without "output_registry_user"`},
		{name: "build_log null", body: `{"output_image": "` + outputRef + `", "build_log": null}`, wantStatus: http.StatusBadRequest, wantError: "build_log"},
		{name: "build_log a string", body: `{"output_image": "` + outputRef + `", "build_log": "text"}`, wantStatus: http.StatusBadRequest, wantError: "build_log"},
		{name: "base_image a number", body: `{"base_image": 42}`, wantStatus: http.StatusBadRequest, wantError: "base_image"},
		{name: "body over the cap", body: big, wantStatus: http.StatusBadRequest, wantError: "Input exceeded 1024 bytes allowed"},
		{name: "chunked body over the cap", body: big, chunked: true, wantStatus: http.StatusBadRequest, wantError: "Input exceeded 1024 bytes allowed"},
		{name: "all empty", body: `{}`, wantStatus: http.StatusBadRequest, wantError: "No base, output nor build log provided"},
		{name: "all null or empty", body: `{"base_image": null, "output_image": "", "build_log": {"kind": "BuildLog", "log": ""}}`, wantStatus: http.StatusBadRequest, wantError: "No base, output nor build log provided"},
		{name: "wrong content type", contentType: "text/plain", body: buildBody, wantStatus: http.StatusBadRequest, wantError: "Content-Type"},
		{name: "malformed JSON", body: `{"base_image": `, wantStatus: http.StatusBadRequest, wantError: "decode"},
		{name: "no body", wantStatus: http.StatusBadRequest, wantError: "required"},
		{name: "invalid image reference", body: `{"base_image": "Not A Reference!"}`, wantStatus: http.StatusBadRequest, wantError: "invalid image reference"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewTestServer(t, Options{MaxBodyBytes: maxBody})
			contentType := tt.contentType
			if contentType == "" {
				contentType = jsonType
			}
			var a answer
			if tt.chunked {
				a = callChunked(t, s, buildPath+tt.query, contentType, tt.body)
			} else {
				a = call(t, s, http.MethodPost, buildPath+tt.query, contentType, tt.body)
			}
			if a.status != tt.wantStatus {
				t.Fatalf("status %d, want %d; body %s", a.status, tt.wantStatus, a.body)
			}
			reqs := s.Requests()
			if len(reqs) != 1 {
				t.Fatalf("recorded %d requests, want 1", len(reqs))
			}
			if tt.wantStatus == http.StatusAccepted {
				if reqs[0].Err != nil {
					t.Errorf("accepted request recorded with error %v", reqs[0].Err)
				}
				if got := s.Stats(); got.Accepted != 1 || got.Total != 1 {
					t.Errorf("stats %+v, want one accepted", got)
				}
				return
			}
			if msg := a.errorMessage(t); !strings.Contains(msg, tt.wantError) {
				t.Errorf("error %q, want it to contain %q", msg, tt.wantError)
			}
			if reqs[0].Err == nil {
				t.Error("rejected request recorded without an error")
			}
			if got := s.Stats(); got.Rejected != 1 || got.Total != 1 {
				t.Errorf("stats %+v, want one rejected", got)
			}
		})
	}
}

// callChunked posts body without a Content-Length, so the stand-in only
// learns its size by reading it.
func callChunked(t *testing.T, s *Server, pathAndQuery, contentType, body string) answer {
	t.Helper()
	req := newRequest(t, s, http.MethodPost, pathAndQuery, contentType, "")
	req.Body = io.NopCloser(strings.NewReader(body))
	req.ContentLength = -1 // unknown: sent chunked
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("post: %v", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	a := answer{status: resp.StatusCode, header: resp.Header, body: data}
	checkAnswer(t, s, req, a)
	return a
}

func TestAnalyzeValidation(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		path       string
		wantStatus int
		wantError  string
	}{
		{name: "image", method: http.MethodPost, path: "/api/v1/analyze?image=" + url.QueryEscape(outputRef), wantStatus: http.StatusAccepted},
		{name: "every parameter", method: http.MethodPost, path: "/api/v1/analyze?image=" + url.QueryEscape(outputRef) +
			"&registry_user=u&registry_password=p&verify_tls=false&environment_type=runtime&origin=o&debug=false&force=true", wantStatus: http.StatusAccepted},
		{name: "no image", method: http.MethodPost, path: "/api/v1/analyze", wantStatus: http.StatusBadRequest, wantError: `"image"`},
		{name: "user without password", method: http.MethodPost, path: "/api/v1/analyze?image=x&registry_user=u", wantStatus: http.StatusBadRequest, wantError: `"registry_user" given without "registry_password"`},
		{name: "password without user", method: http.MethodPost, path: "/api/v1/analyze?image=x&registry_password=p", wantStatus: http.StatusBadRequest, wantError: `"registry_password" given without "registry_user"`},
		{name: "base parameters are unknown here", method: http.MethodPost, path: "/api/v1/analyze?image=x&base_registry_user=u", wantStatus: http.StatusBadRequest, wantError: "base_registry_user"},
		{name: "verify_tls=no", method: http.MethodPost, path: "/api/v1/analyze?image=x&verify_tls=no", wantStatus: http.StatusBadRequest, wantError: "verify_tls"},
		{name: "unknown query on status", method: http.MethodGet, path: "/api/v1/analyze/some-id/status?x=1", wantStatus: http.StatusBadRequest, wantError: "unknown query parameter(s) x"},
		{name: "wrong method", method: http.MethodGet, path: "/api/v1/analyze", wantStatus: http.StatusMethodNotAllowed, wantError: "Method not allowed"},
		{name: "unknown path", method: http.MethodGet, path: "/api/v1/nothing-here", wantStatus: http.StatusNotFound, wantError: "not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewTestServer(t, Options{})
			a := call(t, s, tt.method, tt.path, "", "")
			if a.status != tt.wantStatus {
				t.Fatalf("status %d, want %d; body %s", a.status, tt.wantStatus, a.body)
			}
			if tt.wantError != "" {
				if msg := a.errorMessage(t); !strings.Contains(msg, tt.wantError) {
					t.Errorf("error %q, want it to contain %q", msg, tt.wantError)
				}
			}
		})
	}
}

func TestBuildAnalysisAnswers(t *testing.T) {
	now := time.Date(2022, 11, 22, 9, 30, 11, 0, time.UTC)
	s := NewTestServer(t, Options{Now: func() time.Time { return now }})
	idRE := regexp.MustCompile(idPattern)
	logRE := regexp.MustCompile(logPattern)
	sum := sha256.Sum256([]byte(logText))
	wantDocID := "buildlog-" + hex.EncodeToString(sum[:])
	body := `{"base_image": "` + baseRef + `", "output_image": "` + outputRef + `", "build_log": ` +
		`{"apiversion": "build.openshift.io/v1", "kind": "BuildLog", "log": "Collecting flask\nSuccessfully installed flask-2.0.1\n"}}`

	// block returns a block of a build analysis answer, nil if null.
	block := func(t *testing.T, m map[string]any, name string) map[string]any {
		t.Helper()
		v, ok := m[name]
		if !ok {
			t.Fatalf("answer has no %q: %v", name, m)
		}
		b, _ := v.(map[string]any)
		return b
	}

	var baseID, outputID string
	t.Run("first submission", func(t *testing.T) {
		m := call(t, s, http.MethodPost, buildPath+"?base_registry_user=bot&base_registry_password=s3cret&origin=ns%2Fb-1", jsonType, body).decode(t)
		base, output, bl := block(t, m, "base_image_analysis"), block(t, m, "output_image_analysis"), block(t, m, "buildlog_analysis")
		baseID, _ = base["analysis_id"].(string)
		outputID, _ = output["analysis_id"].(string)
		for _, id := range []string{baseID, outputID} {
			if !idRE.MatchString(id) {
				t.Errorf("analysis id %q does not match %s", id, idPattern)
			}
			if !strings.Contains(id, "-221122093011-") {
				t.Errorf("analysis id %q does not carry the time 221122093011", id)
			}
		}
		if baseID == outputID {
			t.Errorf("base and output share the id %q", baseID)
		}
		if base["cached"] != false || output["cached"] != false || bl["cached"] != false {
			t.Errorf("cached: base %v, output %v, buildlog %v; want false", base["cached"], output["cached"], bl["cached"])
		}
		if id, _ := bl["analysis_id"].(string); !logRE.MatchString(id) {
			t.Errorf("buildlog analysis id %q does not match %s", id, logPattern)
		}
		if got := m["buildlog_document_id"]; got != wantDocID {
			t.Errorf("buildlog_document_id %v, want %s", got, wantDocID)
		}
		params, _ := base["parameters"].(map[string]any)
		if params["image"] != baseRef || params["registry_user"] != "bot" || params["origin"] != "ns/b-1" || params["verify_tls"] != true {
			t.Errorf("base parameters %v do not echo the request", params)
		}
		if strings.Contains(string(mustJSON(t, m)), "s3cret") {
			t.Error("accepted answer echoes the password")
		}
	})
	t.Run("same digest again is cached", func(t *testing.T) {
		// Another repository and a tag, but the same digest: the same image.
		other := `{"base_image": "quay.io/other/repo:v1@` + digestA + `", "build_log": {}}`
		m := call(t, s, http.MethodPost, buildPath, jsonType, other).decode(t)
		base := block(t, m, "base_image_analysis")
		if base["cached"] != true || base["analysis_id"] != baseID {
			t.Errorf("base block %v, want cached with id %s", base, baseID)
		}
		if block(t, m, "output_image_analysis") != nil || block(t, m, "buildlog_analysis") != nil || m["buildlog_document_id"] != nil {
			t.Errorf("absent blocks are not null: %v", m)
		}
	})
	t.Run("force makes a new analysis", func(t *testing.T) {
		m := call(t, s, http.MethodPost, buildPath+"?force=true", jsonType, `{"output_image": "`+outputRef+`"}`).decode(t)
		output := block(t, m, "output_image_analysis")
		id, _ := output["analysis_id"].(string)
		if output["cached"] != false || id == outputID || !idRE.MatchString(id) {
			t.Errorf("output block %v, want not cached with a new id (old %s)", output, outputID)
		}
		if block(t, m, "base_image_analysis") != nil {
			t.Errorf("absent base block is not null: %v", m)
		}
		outputID = id
	})
	t.Run("image analysis shares the cache", func(t *testing.T) {
		m := call(t, s, http.MethodPost, "/api/v1/analyze?image="+url.QueryEscape(outputRef), "", "").decode(t)
		if m["cached"] != true || m["analysis_id"] != outputID {
			t.Errorf("answer %v, want cached with id %s", m, outputID)
		}
	})
	t.Run("tags are keyed by the full reference", func(t *testing.T) {
		first := call(t, s, http.MethodPost, "/api/v1/analyze?image=quay.io/ns/app:v1", "", "").decode(t)
		again := call(t, s, http.MethodPost, "/api/v1/analyze?image=quay.io/ns/app:v1", "", "").decode(t)
		other := call(t, s, http.MethodPost, "/api/v1/analyze?image=quay.io/ns/app:v2", "", "").decode(t)
		if first["cached"] != false || again["cached"] != true || again["analysis_id"] != first["analysis_id"] {
			t.Errorf("same tag: first %v, again %v", first, again)
		}
		if other["cached"] != false || other["analysis_id"] == first["analysis_id"] {
			t.Errorf("other tag %v shares the analysis of %v", other, first)
		}
	})
	t.Run("analysis status", func(t *testing.T) {
		for _, path := range []string{"/api/v1/analyze/" + baseID, "/api/v1/analyze/" + baseID + "/status"} {
			a := call(t, s, http.MethodGet, path, "", "")
			want := http.StatusAccepted
			if strings.HasSuffix(path, "/status") {
				want = http.StatusOK
			}
			if a.status != want {
				t.Fatalf("GET %s: status %d, want %d", path, a.status, want)
			}
			status, _ := a.decode(t)["status"].(map[string]any)
			if status["state"] != "pending" {
				t.Errorf("GET %s: status %v, want pending", path, status)
			}
		}
	})
	t.Run("unknown analysis", func(t *testing.T) {
		for _, path := range []string{"/api/v1/analyze/package-extract-nope", "/api/v1/analyze/package-extract-nope/status"} {
			a := call(t, s, http.MethodGet, path, "", "")
			if a.status != http.StatusNotFound {
				t.Fatalf("GET %s: status %d, want 404", path, a.status)
			}
			params, _ := a.decode(t)["parameters"].(map[string]any)
			if params["analysis_id"] != "package-extract-nope" {
				t.Errorf("GET %s: parameters %v do not echo the id", path, params)
			}
		}
	})
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	return data
}

func TestRegistryCredentials(t *testing.T) {
	tagged := "quay.io/private/base:1"
	tests := []struct {
		name        string
		path        string
		body        string
		wantStatus  int
		wantEchoed  map[string]any // parameters the error answer must echo
		wantInError string
	}{
		{
			name:       "base without credentials",
			path:       buildPath + "?origin=ns%2Fb",
			body:       `{"base_image": "` + tagged + `"}`,
			wantStatus: http.StatusUnauthorized, wantInError: "authentication required",
			wantEchoed: map[string]any{"origin": "ns/b", "image": tagged},
		},
		{
			name:       "base with a wrong password",
			path:       buildPath + "?base_registry_user=bot&base_registry_password=wrong-pass&base_registry_verify_tls=false",
			body:       `{"base_image": "` + tagged + `"}`,
			wantStatus: http.StatusForbidden, wantInError: "refused",
			wantEchoed: map[string]any{"base_registry_user": "bot", "base_registry_password": "wrong-pass", "base_registry_verify_tls": false},
		},
		{
			name:       "output with a wrong user",
			path:       buildPath + "?output_registry_user=nobody&output_registry_password=s3cret",
			body:       `{"output_image": "quay.io/private/app@` + digestB + `"}`,
			wantStatus: http.StatusForbidden, wantInError: "refused",
			wantEchoed: map[string]any{"output_registry_user": "nobody", "output_registry_password": "s3cret"},
		},
		{
			name:       "output credentials do not count for the base",
			path:       buildPath + "?output_registry_user=bot&output_registry_password=s3cret",
			body:       `{"base_image": "` + tagged + `", "output_image": "quay.io/private/app@` + digestB + `"}`,
			wantStatus: http.StatusUnauthorized, wantInError: "authentication required",
			wantEchoed: map[string]any{"output_registry_password": "s3cret"},
		},
		{
			name:       "right credentials",
			path:       buildPath + "?base_registry_user=bot&base_registry_password=s3cret",
			body:       `{"base_image": "` + tagged + `"}`,
			wantStatus: http.StatusAccepted,
		},
		{
			name:       "other registry needs none",
			path:       buildPath,
			body:       `{"base_image": "registry.example/ns/base:1"}`,
			wantStatus: http.StatusAccepted,
		},
		{
			name:       "image analysis without credentials",
			path:       "/api/v1/analyze?image=" + url.QueryEscape(tagged),
			wantStatus: http.StatusUnauthorized, wantInError: "authentication required",
			wantEchoed: map[string]any{"image": tagged},
		},
		{
			name:       "image analysis with a wrong password",
			path:       "/api/v1/analyze?image=" + url.QueryEscape(tagged) + "&registry_user=bot&registry_password=wrong-pass",
			wantStatus: http.StatusForbidden, wantInError: "refused",
			wantEchoed: map[string]any{"registry_user": "bot", "registry_password": "wrong-pass"},
		},
		{
			name:       "image analysis with the right credentials",
			path:       "/api/v1/analyze?image=" + url.QueryEscape(tagged) + "&registry_user=bot&registry_password=s3cret",
			wantStatus: http.StatusAccepted,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewTestServer(t, Options{Registries: map[string]Credential{"quay.io": {Username: "bot", Password: "s3cret"}}})
			contentType := ""
			if tt.body != "" {
				contentType = jsonType
			}
			a := call(t, s, http.MethodPost, tt.path, contentType, tt.body)
			if a.status != tt.wantStatus {
				t.Fatalf("status %d, want %d; body %s", a.status, tt.wantStatus, a.body)
			}
			if tt.wantStatus == http.StatusAccepted {
				return
			}
			m := a.decode(t)
			if msg, _ := m["error"].(string); !strings.Contains(msg, tt.wantInError) {
				t.Errorf("error %q, want it to contain %q", msg, tt.wantInError)
			}
			// The real server echoes every query parameter, passwords
			// included; the client must redact them, so the stand-in must
			// echo them too.
			params, _ := m["parameters"].(map[string]any)
			for k, want := range tt.wantEchoed {
				if params[k] != want {
					t.Errorf("parameters[%q] = %v, want %v (parameters %v)", k, params[k], want, params)
				}
			}
			if got := s.Stats(); got.Rejected != 1 {
				t.Errorf("stats %+v, want one rejected", got)
			}
		})
	}
}

func TestDiscoveryAndReadiness(t *testing.T) {
	s := NewTestServer(t, Options{})
	tests := []struct {
		name       string
		method     string
		path       string
		wantStatus int
		check      func(t *testing.T, m map[string]any)
	}{
		{
			name: "paths", method: http.MethodGet, path: "/api/v1", wantStatus: http.StatusOK,
			check: func(t *testing.T, m map[string]any) {
				var paths []string
				raw, _ := m["paths"].([]any)
				for _, p := range raw {
					s, _ := p.(string)
					paths = append(paths, s)
				}
				for _, want := range []string{"/api/v1/analyze", "/api/v1/build-analysis", "/api/v1/analyze/{analysis_id}", "/api/v1/analyze/{analysis_id}/status"} {
					if !slices.Contains(paths, want) {
						t.Errorf("paths %v lack %s", paths, want)
					}
				}
			},
		},
		{name: "paths with a slash", method: http.MethodGet, path: "/api/v1/", wantStatus: http.StatusOK},
		{name: "paths by POST", method: http.MethodPost, path: "/api/v1", wantStatus: http.StatusMethodNotAllowed},
		{
			name: "readiness", method: http.MethodGet, path: "/readiness", wantStatus: http.StatusOK,
			check: func(t *testing.T, m map[string]any) {
				if m["status"] != "ready" || m["version"] != APIVersion {
					t.Errorf("readiness %v", m)
				}
			},
		},
		{name: "liveness", method: http.MethodGet, path: "/liveness", wantStatus: http.StatusOK},
		{name: "not found", method: http.MethodGet, path: "/nothing", wantStatus: http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := call(t, s, tt.method, tt.path, "", "")
			if a.status != tt.wantStatus {
				t.Fatalf("status %d, want %d; body %s", a.status, tt.wantStatus, a.body)
			}
			if a.header.Get("X-Thoth-Version") != APIVersion || a.header.Get("X-User-API-Service-Version") != ServiceVersion {
				t.Errorf("version headers %v", a.header)
			}
			if tt.check != nil {
				tt.check(t, a.decode(t))
			}
		})
	}
}

func TestRequestsAreCopies(t *testing.T) {
	s := NewTestServer(t, Options{})
	call(t, s, http.MethodPost, buildPath+"?origin=o", jsonType, buildBody)
	first := s.Requests()
	first[0].Query.Set("origin", "changed")
	first[0].Body[0] = 'X'
	again := s.Requests()
	if again[0].Query.Get("origin") != "o" || again[0].Body[0] != '{' {
		t.Errorf("Requests returned shared state: %+v", again[0])
	}
	if again[0].Method != http.MethodPost || again[0].Path != buildPath || again[0].Status != http.StatusAccepted {
		t.Errorf("recorded %+v", again[0])
	}
}
