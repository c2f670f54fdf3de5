package thothtest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/thoth-station/build-watcher/internal/testenv/modroot"
)

// Extensions of the subset document that record where it knowingly differs
// from upstream (see the head of openapi.yaml).
const (
	extUpstreamSchema    = "x-upstream-schema"
	extNotUpstream       = "x-not-upstream"
	extNullableDeviation = "x-nullable-deviation"
)

func TestSubsetMatchesUpstream(t *testing.T) {
	upstream := loadUpstream(t)
	subset := loadSubset(t)
	for _, m := range checkSubset(subset, upstream) {
		t.Error(m)
	}
}

// TestSubsetCheckReportsMismatches feeds the checker doctored copies of the
// subset, so that TestSubsetMatchesUpstream cannot pass by checking nothing.
func TestSubsetCheckReportsMismatches(t *testing.T) {
	upstream := loadUpstream(t)
	tests := []struct {
		name   string
		doctor func(t *testing.T, doc *openapi3.T)
		want   string // part of a reported mismatch
	}{
		{
			name: "wrong parameter type",
			doctor: func(t *testing.T, doc *openapi3.T) {
				parameter(t, doc, "debug").Schema.Value.Type = &openapi3.Types{openapi3.TypeString}
			},
			want: `POST /build-analysis: parameter "debug" in query: type [string], upstream [boolean]`,
		},
		{
			name: "unknown parameter",
			doctor: func(t *testing.T, doc *openapi3.T) {
				op := doc.Paths.Value("/build-analysis").Post
				op.Parameters = append(op.Parameters, &openapi3.ParameterRef{Value: openapi3.NewQueryParameter("bogus").
					WithSchema(openapi3.NewStringSchema())})
			},
			want: `POST /build-analysis: parameter "bogus" in query: not upstream`,
		},
		{
			name: "parameter in the wrong place",
			doctor: func(t *testing.T, doc *openapi3.T) {
				parameter(t, doc, "origin").In = openapi3.ParameterInHeader
			},
			want: `parameter "origin" in header: not upstream`,
		},
		{
			name: "parameter required here only",
			doctor: func(t *testing.T, doc *openapi3.T) {
				parameter(t, doc, "force").Required = true
			},
			want: `parameter "force" in query: required true, upstream false`,
		},
		{
			name: "upstream required parameter missing",
			doctor: func(t *testing.T, doc *openapi3.T) {
				op := doc.Paths.Value("/analyze").Post
				op.Parameters = slices.DeleteFunc(op.Parameters, func(p *openapi3.ParameterRef) bool { return p.Value.Name == "image" })
			},
			want: `POST /analyze: upstream requires parameter "image" in query`,
		},
		{
			name: "unknown path",
			doctor: func(t *testing.T, doc *openapi3.T) {
				doc.Paths.Set("/nope", &openapi3.PathItem{Get: &openapi3.Operation{Responses: openapi3.NewResponses()}})
			},
			want: "/nope: path not upstream",
		},
		{
			name: "unknown method",
			doctor: func(t *testing.T, doc *openapi3.T) {
				doc.Paths.Value("/build-analysis").Get = &openapi3.Operation{Responses: openapi3.NewResponses()}
			},
			want: "GET /build-analysis: operation not upstream",
		},
		{
			name: "wrong body property type",
			doctor: func(t *testing.T, doc *openapi3.T) {
				schema(t, doc, "Build").Properties["base_image"].Value.Type = &openapi3.Types{openapi3.TypeInteger}
			},
			want: "POST /build-analysis: request body application/json: /base_image: type [integer], upstream [string]",
		},
		{
			name: "body property not nullable",
			doctor: func(t *testing.T, doc *openapi3.T) {
				schema(t, doc, "Build").Properties["output_image"].Value.Nullable = false
			},
			want: "/output_image: nullable false, upstream true",
		},
		{
			name: "unknown nested body property",
			doctor: func(t *testing.T, doc *openapi3.T) {
				schema(t, doc, "Build").Properties["build_log"].Value.Properties["level"] = openapi3.NewStringSchema().NewRef()
			},
			want: "/build_log/level: property not upstream",
		},
		{
			name: "wrong response property type",
			doctor: func(t *testing.T, doc *openapi3.T) {
				schema(t, doc, "AnalysisResponse").Properties["cached"].Value.Type = &openapi3.Types{openapi3.TypeString}
			},
			want: "POST /analyze: response 202 application/json: /cached: type [string], upstream [boolean]",
		},
		{
			name: "unknown response without a reason",
			doctor: func(t *testing.T, doc *openapi3.T) {
				delete(doc.Components.Responses["TooManyRequests"].Value.Extensions, extNotUpstream)
			},
			want: "response 429: not upstream, and no " + extNotUpstream + " reason",
		},
		{
			name: "stale reason on an upstream response",
			doctor: func(t *testing.T, doc *openapi3.T) {
				doc.Components.Responses["NotFound"].Value.Extensions[extNotUpstream] = "made up"
			},
			want: "GET /analyze/{analysis_id}: response 404: marked " + extNotUpstream + " but upstream declares it",
		},
		{
			name: "unknown upstream schema",
			doctor: func(t *testing.T, doc *openapi3.T) {
				doc.Components.Responses["BadRequest"].Value.Extensions[extUpstreamSchema] = "NoSuchSchema"
			},
			want: `response 400: ` + extUpstreamSchema + ` "NoSuchSchema" is not an upstream schema`,
		},
		{
			name: "unknown response property",
			doctor: func(t *testing.T, doc *openapi3.T) {
				schema(t, doc, "AnalysisResponseError").Properties["hint"] = openapi3.NewStringSchema().NewRef()
			},
			want: "/hint: property not upstream",
		},
		{
			name: "wrong server",
			doctor: func(t *testing.T, doc *openapi3.T) {
				doc.Servers[0].URL = "/api/v2"
			},
			want: `servers: "/api/v2", upstream "/api/v1"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := loadSubset(t)
			tt.doctor(t, doc)
			got := checkSubset(doc, upstream)
			found := slices.ContainsFunc(got, func(m string) bool { return strings.Contains(m, tt.want) })
			if !found {
				t.Errorf("mismatches %q\nwant one containing %q", got, tt.want)
			}
		})
	}
}

func parameter(t *testing.T, doc *openapi3.T, name string) *openapi3.Parameter {
	t.Helper()
	p := doc.Components.Parameters[name]
	if p == nil || p.Value == nil {
		t.Fatalf("subset has no parameter %q", name)
	}
	return p.Value
}

func schema(t *testing.T, doc *openapi3.T, name string) *openapi3.Schema {
	t.Helper()
	s := doc.Components.Schemas[name]
	if s == nil || s.Value == nil {
		t.Fatalf("subset has no schema %q", name)
	}
	return s.Value
}

// loadSubset loads a fresh copy of the stand-in's document.
func loadSubset(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData([]byte(openAPIYAML))
	if err != nil {
		t.Fatalf("load subset: %v", err)
	}
	return doc
}

// loadUpstream loads the upstream document from $THOTH_OPENAPI_SPEC or
// <repo root>/../shared/spec/thoth-user-api-openapi.yaml. It skips the test
// if the file is absent, except in CI (CI set to anything), which always has it.
func loadUpstream(t *testing.T) *openapi3.T {
	t.Helper()
	path, from := os.Getenv("THOTH_OPENAPI_SPEC"), "THOTH_OPENAPI_SPEC"
	if path == "" {
		from = "the default location; set THOTH_OPENAPI_SPEC to use another"
		root, err := modroot.Find()
		if err != nil {
			t.Fatalf("find upstream document: %v", err)
		}
		path = filepath.Join(root, "..", "shared", "spec", "thoth-user-api-openapi.yaml")
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if os.Getenv("CI") != "" {
			t.Fatalf("upstream Thoth User API document %s (%s) is missing; CI must provide it", path, from)
		}
		t.Skipf("upstream Thoth User API document %s (%s) not found: not checking the subset against it", path, from)
	}
	if err != nil {
		t.Fatalf("read upstream document: %v", err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		t.Fatalf("load upstream document %s: %v", path, err)
	}
	return doc
}

// checkSubset returns how subset differs from upstream: every path and
// method of subset must exist upstream; every parameter with the same name,
// in, type and required-ness (and every parameter upstream requires must be
// declared); every request and response body property with the same type and
// nullability, recursively, allowing for the documented deviations
// (x-upstream-schema, x-not-upstream, x-nullable-deviation).
func checkSubset(subset, upstream *openapi3.T) []string {
	c := &subsetChecker{upstream: upstream}
	c.checkServers(subset.Servers, upstream.Servers)
	for _, path := range sortedKeys(subset.Paths.Map()) {
		ours, theirs := subset.Paths.Value(path), upstream.Paths.Value(path)
		if theirs == nil {
			c.addf("%s: path not upstream", path)
			continue
		}
		ops := ours.Operations()
		for _, method := range sortedKeys(ops) {
			where := method + " " + path
			up := theirs.GetOperation(method)
			if up == nil {
				c.addf("%s: operation not upstream", where)
				continue
			}
			c.checkParameters(where, append(slices.Clone(ours.Parameters), ops[method].Parameters...),
				append(slices.Clone(theirs.Parameters), up.Parameters...))
			c.checkRequestBody(where, ops[method].RequestBody, up.RequestBody)
			c.checkResponses(where, ops[method].Responses, up.Responses)
		}
	}
	return c.mismatches
}

type subsetChecker struct {
	upstream   *openapi3.T
	mismatches []string
}

func (c *subsetChecker) addf(format string, args ...any) {
	c.mismatches = append(c.mismatches, fmt.Sprintf(format, args...))
}

func (c *subsetChecker) checkServers(ours, theirs openapi3.Servers) {
	urls := func(servers openapi3.Servers) string {
		var out []string
		for _, s := range servers {
			out = append(out, fmt.Sprintf("%q", s.URL))
		}
		return strings.Join(out, ", ")
	}
	if o, u := urls(ours), urls(theirs); o != u {
		c.addf("servers: %s, upstream %s", o, u)
	}
}

func (c *subsetChecker) checkParameters(where string, ours, theirs openapi3.Parameters) {
	for _, ref := range ours {
		p := ref.Value
		what := fmt.Sprintf("%s: parameter %q in %s", where, p.Name, p.In)
		up := theirs.GetByInAndName(p.In, p.Name)
		if up == nil {
			c.addf("%s: not upstream", what)
			continue
		}
		if p.Required != up.Required {
			c.addf("%s: required %v, upstream %v", what, p.Required, up.Required)
		}
		switch {
		case p.Schema == nil || up.Schema == nil:
			if (p.Schema == nil) != (up.Schema == nil) {
				c.addf("%s: schema declared here or upstream only", what)
			}
		default:
			c.checkSchema(what, p.Schema, up.Schema)
		}
	}
	for _, ref := range theirs {
		up := ref.Value
		if up.Required && ours.GetByInAndName(up.In, up.Name) == nil {
			c.addf("%s: upstream requires parameter %q in %s", where, up.Name, up.In)
		}
	}
}

func (c *subsetChecker) checkRequestBody(where string, ours, theirs *openapi3.RequestBodyRef) {
	if ours == nil {
		if theirs != nil && theirs.Value.Required {
			c.addf("%s: upstream requires a request body", where)
		}
		return
	}
	if theirs == nil {
		c.addf("%s: request body not upstream", where)
		return
	}
	if ours.Value.Required != theirs.Value.Required {
		c.addf("%s: request body required %v, upstream %v", where, ours.Value.Required, theirs.Value.Required)
	}
	for _, mime := range sortedKeys(ours.Value.Content) {
		what := fmt.Sprintf("%s: request body %s", where, mime)
		up := theirs.Value.Content[mime]
		if up == nil {
			c.addf("%s: media type not upstream", what)
			continue
		}
		c.checkMediaSchema(what, ours.Value.Content[mime].Schema, up.Schema)
	}
}

func (c *subsetChecker) checkResponses(where string, ours, theirs *openapi3.Responses) {
	for _, code := range sortedKeys(ours.Map()) {
		what := fmt.Sprintf("%s: response %s", where, code)
		resp := ours.Value(code).Value
		var up *openapi3.Response
		if theirs != nil {
			if ref := theirs.Value(code); ref != nil {
				up = ref.Value
			}
		}
		reason := extension(resp.Extensions, extNotUpstream)
		switch {
		case up == nil && reason == "":
			c.addf("%s: not upstream, and no %s reason", what, extNotUpstream)
		case up != nil && reason != "":
			c.addf("%s: marked %s but upstream declares it", what, extNotUpstream)
		}

		// The upstream body to compare with.
		var target *openapi3.SchemaRef
		if name := extension(resp.Extensions, extUpstreamSchema); name != "" {
			target = c.upstream.Components.Schemas[name]
			if target == nil {
				c.addf("%s: %s %q is not an upstream schema", what, extUpstreamSchema, name)
				continue
			}
		} else if up != nil {
			if mt := up.Content.Get("application/json"); mt != nil {
				target = mt.Schema
			}
		}
		for _, mime := range sortedKeys(resp.Content) {
			if target == nil {
				if reason == "" {
					c.addf("%s %s: no upstream body to compare with", what, mime)
				}
				continue
			}
			c.checkMediaSchema(what+" "+mime, resp.Content[mime].Schema, target)
		}
	}
}

func (c *subsetChecker) checkMediaSchema(what string, ours, theirs *openapi3.SchemaRef) {
	if ours == nil || theirs == nil {
		if ours != theirs {
			c.addf("%s: schema declared here or upstream only", what)
		}
		return
	}
	c.checkSchema(what+": /", ours, theirs)
}

// checkSchema compares the type and nullability of ours with theirs, and
// recursively every property and the items of ours.
func (c *subsetChecker) checkSchema(what string, ours, theirs *openapi3.SchemaRef) {
	o, u := ours.Value, theirs.Value
	if o == nil || u == nil {
		c.addf("%s: unresolved schema", what)
		return
	}
	if ot, ut := o.Type.Slice(), u.Type.Slice(); !slices.Equal(ot, ut) {
		c.addf("%s: type %v, upstream %v", what, ot, ut)
	}
	if o.Nullable != u.Nullable && extension(o.Extensions, extNullableDeviation) == "" {
		c.addf("%s: nullable %v, upstream %v", what, o.Nullable, u.Nullable)
	}
	for _, v := range o.Enum {
		if !slices.Contains(u.Enum, v) {
			c.addf("%s: enum value %v not upstream", what, v)
		}
	}
	sep := "/"
	if strings.HasSuffix(what, "/") {
		sep = ""
	}
	for _, name := range sortedKeys(o.Properties) {
		prop := o.Properties[name]
		pwhat := what + sep + name
		up := u.Properties[name]
		notUpstream := prop.Value != nil && extension(prop.Value.Extensions, extNotUpstream) != ""
		switch {
		case up == nil && notUpstream:
			continue
		case up == nil:
			c.addf("%s: property not upstream", pwhat)
			continue
		case notUpstream:
			c.addf("%s: marked %s but upstream declares it", pwhat, extNotUpstream)
		}
		c.checkSchema(pwhat, prop, up)
	}
	if o.Items != nil {
		if u.Items == nil {
			c.addf("%s: items not upstream", what)
		} else {
			c.checkSchema(what+sep+"items", o.Items, u.Items)
		}
	}
}

// extension returns the string value of an extension, "" if absent.
func extension(exts map[string]any, name string) string {
	s, _ := exts[name].(string)
	return strings.TrimSpace(s)
}
