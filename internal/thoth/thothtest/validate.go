package thothtest

import (
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// validateRequest checks req against its operation in the document and
// against the rules the real server adds: no unknown or repeated query
// parameters, booleans spelled true or false, credentials in pairs. req must
// be host-relative and its body must be readable again; declared holds the
// operation's query parameters by name.
func (s *Server) validateRequest(req *http.Request, route *routers.Route, pathParams map[string]string, declared map[string]*openapi3.Parameter) error {
	query := req.URL.Query()
	var unknown []string
	for name := range query {
		if declared[name] == nil {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fmt.Errorf("unknown query parameter(s) %s", strings.Join(unknown, ", "))
	}
	for _, name := range sortedKeys(query) {
		if n := len(query[name]); n > 1 {
			return fmt.Errorf("query parameter %q given %d times", name, n)
		}
	}

	opts := &openapi3filter.Options{
		// Setting defaults would rewrite the query and the body.
		SkipSettingDefaults: true,
	}
	// The default message of a schema error dumps the schema and the value,
	// which can be a password; say where and what only.
	opts.WithCustomSchemaErrorFunc(schemaErrorMessage)
	input := &openapi3filter.RequestValidationInput{
		Request:    req,
		PathParams: pathParams,
		Route:      route,
		Options:    opts,
	}
	if err := openapi3filter.ValidateRequest(req.Context(), input); err != nil {
		return fmt.Errorf("invalid request: %w", err)
	}

	for _, name := range sortedKeys(query) {
		p := declared[name]
		if p.Schema == nil || p.Schema.Value == nil || !p.Schema.Value.Type.Is(openapi3.TypeBoolean) {
			continue
		}
		if v := query.Get(name); v != "true" && v != "false" {
			return fmt.Errorf("query parameter %q must be true or false", name)
		}
	}
	// A user without its password, or a password without its user, is a 400.
	credentialPairs := [...][2]string{
		{"base_registry_user", "base_registry_password"},
		{"output_registry_user", "output_registry_password"},
		{"registry_user", "registry_password"},
	}
	for _, pair := range credentialPairs {
		user, password := pair[0], pair[1]
		if declared[user] == nil {
			continue
		}
		hasUser, hasPassword := query.Get(user) != "", query.Get(password) != ""
		switch {
		case hasUser && !hasPassword:
			return fmt.Errorf("query parameter %q given without %q", user, password)
		case hasPassword && !hasUser:
			return fmt.Errorf("query parameter %q given without %q", password, user)
		}
	}
	return nil
}

// queryParameters returns the query parameters of route's operation and
// path item by name.
func queryParameters(route *routers.Route) map[string]*openapi3.Parameter {
	out := make(map[string]*openapi3.Parameter)
	add := func(params openapi3.Parameters) {
		for _, ref := range params {
			if p := ref.Value; p != nil && p.In == openapi3.ParameterInQuery {
				out[p.Name] = p
			}
		}
	}
	if route.PathItem != nil {
		add(route.PathItem.Parameters)
	}
	add(route.Operation.Parameters)
	return out
}

// schemaErrorMessage tells where a value failed which rule, without the
// schema or the value.
func schemaErrorMessage(err *openapi3.SchemaError) string {
	reason := err.Reason
	if reason == "" && err.Origin != nil {
		reason = err.Origin.Error()
	}
	if reason == "" {
		reason = fmt.Sprintf("does not match schema field %q", err.SchemaField)
	}
	if p := err.JSONPointer(); len(p) > 0 {
		return fmt.Sprintf("at %q: %s", "/"+strings.Join(p, "/"), reason)
	}
	return reason
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
