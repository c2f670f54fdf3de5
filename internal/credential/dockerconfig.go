package credential

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// MaxDockerConfigBytes is the largest docker config file LoadDockerConfig
// reads.
const MaxDockerConfigBytes = 1 << 20

// dockerConfigFiles returns the names LoadDockerConfig looks for, in order,
// in a directory: the key of a kubernetes.io/dockerconfigjson Secret, the
// docker CLI's file and the key of a kubernetes.io/dockercfg Secret.
func dockerConfigFiles() []string {
	return []string{".dockerconfigjson", "config.json", ".dockercfg"}
}

// isDockerCLIKey reports whether k is a top-level key of the docker CLI's
// config.json. A config holding any of them is in the {"auths": {...}}
// form; one holding none is in the legacy .dockercfg form, a map of
// registry to entry.
func isDockerCLIKey(k string) bool {
	switch k {
	case "auths", "credsStore", "credHelpers", "HttpHeaders", "psFormat",
		"imagesFormat", "detachKeys", "proxies", "currentContext", "plugins",
		"aliases", "features", "experimental", "kubernetes", "stackOrchestrator":
		return true
	}
	return false
}

// DockerConfig is a parsed docker config JSON (the {"auths": {...}} form of
// ~/.docker/config.json, podman's auth.json and kubernetes.io/dockerconfigjson
// Secrets) or the legacy .dockercfg form (top-level map of registry ->
// entry, kubernetes.io/dockercfg Secrets).
type DockerConfig struct {
	entries     []configEntry
	credsStore  string
	credHelpers map[string]string
}

// configEntry is one registry's entry with its key as written and
// normalised.
type configEntry struct {
	key  string // as written in the file
	norm string // host[/path], see normalizeKey
	auth authEntry
}

// authEntry is the JSON of one registry's entry.
type authEntry struct {
	Auth          string `json:"auth"`
	Username      string `json:"username"`
	Password      string `json:"password"`
	IdentityToken string `json:"identitytoken"`
	RegistryToken string `json:"registrytoken"`
}

// ParseDockerConfig parses docker config JSON in either form. Its errors
// never include the content of data.
func ParseDockerConfig(data []byte) (*DockerConfig, error) {
	var top map[string]json.RawMessage
	if err := decode(data, &top); err != nil {
		return nil, err
	}
	if top == nil {
		return nil, errors.New("parsing docker config: expected a JSON object, got null")
	}
	c := &DockerConfig{}
	modern := false
	for k := range top {
		if isDockerCLIKey(k) {
			modern = true
			break
		}
	}
	if !modern {
		if err := c.addEntries(top); err != nil {
			return nil, err
		}
		return c, nil
	}
	if raw, ok := top["auths"]; ok {
		var auths map[string]json.RawMessage
		if err := decode(raw, &auths); err != nil {
			return nil, fmt.Errorf("%w (in \"auths\")", err)
		}
		if err := c.addEntries(auths); err != nil {
			return nil, err
		}
	}
	if raw, ok := top["credsStore"]; ok {
		if err := decode(raw, &c.credsStore); err != nil {
			return nil, fmt.Errorf("%w (in \"credsStore\")", err)
		}
	}
	if raw, ok := top["credHelpers"]; ok {
		if err := decode(raw, &c.credHelpers); err != nil {
			return nil, fmt.Errorf("%w (in \"credHelpers\")", err)
		}
	}
	return c, nil
}

// addEntries decodes and adds registry entries.
func (c *DockerConfig) addEntries(raw map[string]json.RawMessage) error {
	for key, msg := range raw {
		var a *authEntry
		if err := decode(msg, &a); err != nil {
			return fmt.Errorf("%w (in the entry for registry %q)", err, key)
		}
		if a == nil {
			return fmt.Errorf("parsing docker config: the entry for registry %q is null, expected an object", key)
		}
		c.entries = append(c.entries, configEntry{key: key, norm: normalizeKey(key), auth: *a})
	}
	sort.Slice(c.entries, func(i, j int) bool { return c.entries[i].key < c.entries[j].key })
	return nil
}

// decode unmarshals JSON into v. Its errors name the byte offset or the
// field and expected type but, unlike encoding/json's, never quote any of
// the input: a syntax error message can hold a character of a password.
func decode(data []byte, v any) error {
	err := json.Unmarshal(data, v)
	if err == nil {
		return nil
	}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Errorf("parsing docker config: invalid JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "value"
		}
		// Value is "number 123" for numbers: keep only the kind.
		kind, _, _ := strings.Cut(typ.Value, " ")
		return fmt.Errorf("parsing docker config: %s is a JSON %s, expected %s", field, kind, jsonKind(typ.Type.Kind().String()))
	default:
		return errors.New("parsing docker config: invalid JSON")
	}
}

// jsonKind names the JSON type expected for a Go kind.
func jsonKind(kind string) string {
	switch kind {
	case "map", "struct", "ptr", "pointer":
		return "an object"
	case "string":
		return "a string"
	default:
		return kind
	}
}

// LoadDockerConfig reads and parses the docker config at path, reading at
// most MaxDockerConfigBytes. If path is a directory (as a Secret bound as a
// Tekton workspace is), it reads the first of .dockerconfigjson, config.json
// and .dockercfg inside it.
func LoadDockerConfig(path string) (*DockerConfig, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("loading docker config: %w", err)
	}
	if fi.IsDir() {
		dir := path
		path = ""
		for _, n := range dockerConfigFiles() {
			p := filepath.Join(dir, n)
			if _, err := os.Stat(p); err == nil {
				path = p
				break
			} else if !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("loading docker config: %w", err)
			}
		}
		if path == "" {
			return nil, fmt.Errorf("loading docker config from directory %s: it holds none of %s; bind a kubernetes.io/dockerconfigjson Secret there or give the path of the file: %w",
				dir, strings.Join(dockerConfigFiles(), ", "), fs.ErrNotExist)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("loading docker config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxDockerConfigBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading docker config %s: %w", path, err)
	}
	if len(data) > MaxDockerConfigBytes {
		return nil, fmt.Errorf("reading docker config %s: larger than %d bytes; expected a docker config JSON file", path, MaxDockerConfigBytes)
	}
	c, err := ParseDockerConfig(data)
	if err != nil {
		return nil, fmt.Errorf("loading docker config %s: %w; expected docker config JSON ({\"auths\": {...}}) or .dockercfg JSON", path, err)
	}
	return c, nil
}

// Lookup returns the credentials of the most specific entry matching the
// image's registry and repository, and false with no error when no entry
// matches. Keys may carry a scheme, a /v1 or /v2 suffix, or a repository
// path (podman's namespace-scoped keys); docker.io, index.docker.io and
// registry-1.docker.io are one registry. Identity tokens and credential
// helpers are not supported and give an error.
func (c *DockerConfig) Lookup(image string) (Basic, bool, error) {
	if c == nil {
		c = &DockerConfig{}
	}
	ref, err := name.ParseReference(image)
	if err != nil {
		return Basic{}, false, fmt.Errorf("parsing image reference %q: %w", image, err)
	}
	registry := normalizeHost(ref.Context().RegistryStr())
	target := registry + "/" + ref.Context().RepositoryStr()

	var best *configEntry
	for i := range c.entries {
		e := &c.entries[i]
		if target != e.norm && !strings.HasPrefix(target, e.norm+"/") {
			continue
		}
		// Entries are sorted by key, so on a tie the first key wins.
		if best == nil || len(e.norm) > len(best.norm) {
			best = e
		}
	}
	if best == nil {
		if helper := c.helperFor(registry); helper != "" {
			return Basic{}, false, fmt.Errorf("looking up credentials for %s: they are kept by the docker credential helper %q, which is not supported; put them in the \"auths\" section instead (e.g. podman login --authfile)", image, helper)
		}
		return Basic{}, false, nil
	}
	b, err := best.basic()
	if err != nil {
		if errors.Is(err, errNoCredentials) && c.credsStore != "" {
			err = fmt.Errorf("%w; they are probably kept by the docker credential store %q, which is not supported; put them in the file instead (e.g. podman login --authfile)", err, c.credsStore)
		}
		return Basic{}, false, fmt.Errorf("looking up credentials for %s: %w", image, err)
	}
	return b, true, nil
}

// helperFor returns the credential helper configured for registry, if any.
func (c *DockerConfig) helperFor(registry string) string {
	for key, helper := range c.credHelpers {
		if normalizeKey(key) == registry {
			return helper
		}
	}
	return ""
}

// errNoCredentials marks an entry that holds no credentials.
var errNoCredentials = errors.New("no credentials")

// basic returns the entry's credentials. Errors name the key, never the
// content.
func (e *configEntry) basic() (Basic, error) {
	a := e.auth
	if a.IdentityToken != "" || a.RegistryToken != "" {
		return Basic{}, fmt.Errorf("docker config entry %q holds an identity or registry token, which is not supported; log in with a user name and password (or robot account) instead", e.key)
	}
	b := Basic{Username: a.Username, Password: a.Password}
	if a.Auth != "" {
		dec, err := base64.StdEncoding.DecodeString(a.Auth)
		if err != nil {
			// Tolerate missing padding; report the first error otherwise.
			var err2 error
			if dec, err2 = base64.RawStdEncoding.DecodeString(strings.TrimRight(a.Auth, "=")); err2 != nil {
				return Basic{}, fmt.Errorf("docker config entry %q: \"auth\" is not valid base64: %w", e.key, err)
			}
		}
		user, pass, ok := strings.Cut(string(dec), ":")
		if !ok {
			return Basic{}, fmt.Errorf("docker config entry %q: decoded \"auth\" has no ':' between user name and password", e.key)
		}
		b = Basic{Username: user, Password: pass}
	}
	if b.IsZero() {
		return Basic{}, fmt.Errorf("docker config entry %q has %w", e.key, errNoCredentials)
	}
	return b, nil
}

// normalizeKey turns a docker config key into host[/path]: the scheme,
// trailing slashes and a trailing /v1 or /v2 are dropped, the host is
// lower-cased and docker hub's aliases become index.docker.io.
func normalizeKey(key string) string {
	k := strings.TrimSpace(key)
	if i := strings.Index(k, "://"); i >= 0 {
		k = k[i+len("://"):]
	}
	k = strings.TrimRight(k, "/")
	for _, v := range []string{"/v1", "/v2"} {
		if strings.HasSuffix(k, v) {
			k = strings.TrimRight(strings.TrimSuffix(k, v), "/")
			break
		}
	}
	host, path, hasPath := strings.Cut(k, "/")
	host = normalizeHost(host)
	if hasPath {
		return host + "/" + path
	}
	return host
}

// normalizeHost lower-cases a registry host and maps docker hub's aliases to
// index.docker.io, the name go-containerregistry uses.
func normalizeHost(host string) string {
	host = strings.ToLower(host)
	switch host {
	case "docker.io", "registry-1.docker.io", "index.docker.io":
		return name.DefaultRegistry
	}
	return host
}
