package credential

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// secret is a password that error messages must never show.
const secret = "Sup3rS3cret!"

// b64 returns base64 of "user:pass" as docker config "auth" holds it.
func b64(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
}

// auths returns a config in the {"auths": {...}} form with one "auth"
// entry per key.
func auths(keys ...string) string {
	m := map[string]map[string]string{}
	for _, k := range keys {
		c := cred(k)
		m[k] = map[string]string{"auth": b64(c.Username, c.Password)}
	}
	b, err := json.Marshal(map[string]any{"auths": m})
	if err != nil {
		panic(err)
	}
	return string(b)
}

// cred is the Basic that auths stores for key; the user name has no ':'.
func cred(key string) Basic {
	return Basic{Username: "u-" + strings.ReplaceAll(key, ":", "_"), Password: "p-" + key}
}

// lookupCase is a case of TestLookup.
type lookupCase struct {
	name      string
	config    string
	image     string
	want      Basic
	wantFound bool
}

// lookupCases returns the cases of TestLookup;
// the fuzz tests are seeded from them.
func lookupCases() []lookupCase {
	return []lookupCase{
		{"plain host", auths("quay.io"), "quay.io/ns/img:v1", cred("quay.io"), true},
		{"https scheme", auths("https://quay.io"), "quay.io/ns/img", cred("https://quay.io"), true},
		{"http scheme port v2", auths("http://host:5000/v2/"), "host:5000/img@sha256:" + strings.Repeat("a", 64), cred("http://host:5000/v2/"), true},
		{"trailing slash", auths("quay.io/"), "quay.io/ns/img", cred("quay.io/"), true},
		{"upper-case host", auths("Quay.IO"), "quay.io/ns/img", cred("Quay.IO"), true},
		{"docker hub v1 key", auths("https://index.docker.io/v1/"), "ubuntu", cred("https://index.docker.io/v1/"), true},
		{"docker hub docker.io key", auths("docker.io"), "library/ubuntu:22.04", cred("docker.io"), true},
		{"docker hub registry-1 key", auths("registry-1.docker.io"), "docker.io/bob/app", cred("registry-1.docker.io"), true},
		{"docker hub image index.docker.io", auths("docker.io"), "index.docker.io/bob/app", cred("docker.io"), true},
		{"namespace key matches", auths("quay.io/ns"), "quay.io/ns/img", cred("quay.io/ns"), true},
		{"namespace key on docker hub", auths("docker.io/library"), "ubuntu", cred("docker.io/library"), true},
		{"most specific wins", auths("quay.io", "quay.io/ns", "quay.io/ns/img", "quay.io/other"), "quay.io/ns/img:v1", cred("quay.io/ns/img"), true},
		{"namespace beats registry", auths("quay.io", "quay.io/ns"), "quay.io/ns/sub/img", cred("quay.io/ns"), true},
		{"falls back to registry", auths("quay.io", "quay.io/ns"), "quay.io/other/img", cred("quay.io"), true},
		{"path component boundary", auths("quay.io/ns"), "quay.io/nsx/img", Basic{}, false},
		{"host boundary", auths("quay.io"), "quay.iox/ns/img", Basic{}, false},
		{"other registry", auths("quay.io"), "ghcr.io/ns/img", Basic{}, false},
		{"missing entry docker hub", auths("quay.io"), "ubuntu", Basic{}, false},
		{"empty config", `{}`, "quay.io/ns/img", Basic{}, false},
		{"empty auths", `{"auths": {}}`, "quay.io/ns/img", Basic{}, false},
		{"other cli keys only", `{"psFormat": "table", "HttpHeaders": {"User-Agent": "x"}}`, "quay.io/ns/img", Basic{}, false},
		{"password with colons", `{"auths":{"quay.io":{"auth":"` + b64("bob", "a:b::c:") + `"}}}`, "quay.io/x", Basic{"bob", "a:b::c:"}, true},
		{"empty password", `{"auths":{"quay.io":{"auth":"` + b64("bob", "") + `"}}}`, "quay.io/x", Basic{"bob", ""}, true},
		{"auth without padding", `{"auths":{"quay.io":{"auth":"` + strings.TrimRight(b64("bob", "pw"), "=") + `"}}}`, "quay.io/x", Basic{"bob", "pw"}, true},
		{"username and password fields", `{"auths":{"quay.io":{"username":"bob","password":"pw"}}}`, "quay.io/x", Basic{"bob", "pw"}, true},
		{"auth wins over fields", `{"auths":{"quay.io":{"auth":"` + b64("a", "b") + `","username":"bob","password":"pw"}}}`, "quay.io/x", Basic{"a", "b"}, true},
		{"email ignored", `{"auths":{"quay.io":{"auth":"` + b64("a", "b") + `","email":"a@b"}}}`, "quay.io/x", Basic{"a", "b"}, true},
		{"with credsStore", `{"credsStore":"desktop","auths":{"quay.io":{"auth":"` + b64("a", "b") + `"}}}`, "quay.io/x", Basic{"a", "b"}, true},
		{"legacy dockercfg", `{"https://index.docker.io/v1/":{"auth":"` + b64("a", "b") + `","email":"x@y"}}`, "bob/app", Basic{"a", "b"}, true},
		{"legacy dockercfg several", `{"quay.io":{"auth":"` + b64("q", "1") + `"},"ghcr.io":{"username":"g","password":"2"}}`, "ghcr.io/o/r", Basic{"g", "2"}, true},
		{"legacy missing", `{"quay.io":{"auth":"` + b64("q", "1") + `"}}`, "ghcr.io/o/r", Basic{}, false},
		{"unicode password", `{"auths":{"quay.io":{"auth":"` + b64("bob", "pässwörd密码") + `"}}}`, "quay.io/x", Basic{"bob", "pässwörd密码"}, true},
	}
}

func TestLookup(t *testing.T) {
	tests := lookupCases()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseDockerConfig([]byte(tt.config))
			if err != nil {
				t.Fatalf("ParseDockerConfig = %v", err)
			}
			got, found, err := c.Lookup(tt.image)
			if err != nil {
				t.Fatalf("Lookup(%q) = %v", tt.image, err)
			}
			if got != tt.want || found != tt.wantFound {
				t.Errorf("Lookup(%q) = %#v, %v; want %#v, %v", tt.image, got, found, tt.want, tt.wantFound)
			}
			if got.Password != tt.want.Password {
				t.Errorf("Lookup(%q) password = %q, want %q", tt.image, got.Password, tt.want.Password)
			}
		})
	}
}

func TestLookupEquivalentKeysDeterministic(t *testing.T) {
	config := auths("docker.io", "https://index.docker.io/v1/", "index.docker.io")
	for range 20 {
		c, err := ParseDockerConfig([]byte(config))
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := c.Lookup("ubuntu")
		if err != nil {
			t.Fatal(err)
		}
		if want := cred("docker.io"); got != want {
			t.Fatalf("Lookup = %#v, want %#v (the first of equivalent keys in sorted order)", got, want)
		}
	}
}

// badConfigCase is a case of TestParseDockerConfigBadInput.
type badConfigCase struct {
	name     string
	config   string
	wantText string
}

// badConfigCases returns the cases of TestParseDockerConfigBadInput;
// FuzzParseDockerConfig is seeded from them.
func badConfigCases() []badConfigCase {
	return []badConfigCase{
		{"empty", ``, "invalid JSON"},
		{"malformed", `{"auths": {"quay.io": {"password": "` + secret + `"`, "invalid JSON"},
		{"syntax error inside password", `{"auths": {"quay.io": {"password": "` + secret + `"x}}}`, "invalid JSON at byte"},
		{"not an object", `["` + secret + `"]`, "expected an object"},
		{"null", `null`, "null"},
		{"auths not an object", `{"auths": "` + secret + `"}`, `"auths"`},
		{"entry not an object", `{"auths": {"quay.io": "` + secret + `"}}`, `"quay.io"`},
		{"entry null", `{"auths": {"quay.io": null}}`, `"quay.io"`},
		{"legacy entry not an object", `{"quay.io": "` + secret + `"}`, `"quay.io"`},
		{"password a number", `{"auths": {"quay.io": {"password": 12345678}}}`, "number"},
		{"credHelpers wrong type", `{"credHelpers": ["` + secret + `"]}`, `"credHelpers"`},
	}
}

func TestParseDockerConfigBadInput(t *testing.T) {
	tests := badConfigCases()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseDockerConfig([]byte(tt.config))
			if err == nil {
				t.Fatalf("ParseDockerConfig = %v, want an error", c)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.wantText) {
				t.Errorf("error %q does not mention %q", msg, tt.wantText)
			}
			for _, leak := range []string{secret, "12345678", "Sup3r"} {
				if strings.Contains(msg, leak) {
					t.Errorf("error %q leaks content %q", msg, leak)
				}
			}
		})
	}
}

// badLookupCase is a case of TestLookupBadInput.
type badLookupCase struct {
	name     string
	config   string
	image    string
	wantText []string
}

// badLookupCases returns the cases of TestLookupBadInput;
// the fuzz tests are seeded from them.
func badLookupCases() []badLookupCase {
	return []badLookupCase{
		{"bad image reference", auths("quay.io"), "quay.io/NS/Img::", []string{`parsing image reference "quay.io/NS/Img::"`}},
		{"empty image reference", auths("quay.io"), "", []string{"parsing image reference"}},
		{"bad base64", `{"auths":{"quay.io":{"auth":"!!` + secret + `"}}}`, "quay.io/x", []string{`"quay.io"`, "base64"}},
		{"no colon", `{"auths":{"quay.io":{"auth":"` + base64.StdEncoding.EncodeToString([]byte(secret)) + `"}}}`, "quay.io/x", []string{`"quay.io"`, "':'"}},
		{"identitytoken", `{"auths":{"quay.io":{"auth":"` + b64("<token>", "") + `","identitytoken":"` + secret + `"}}}`, "quay.io/x", []string{`"quay.io"`, "identity", "not supported"}},
		{"registrytoken", `{"auths":{"quay.io":{"registrytoken":"` + secret + `"}}}`, "quay.io/x", []string{`"quay.io"`, "not supported"}},
		{"empty entry", `{"auths":{"quay.io":{}}}`, "quay.io/x", []string{`"quay.io"`, "no credentials"}},
		{"empty entry with credsStore", `{"credsStore":"desktop","auths":{"https://index.docker.io/v1/":{}}}`, "ubuntu", []string{"no credentials", `"desktop"`}},
		{"credential helper", `{"credHelpers":{"quay.io":"ecr-login"}}`, "quay.io/x", []string{"quay.io", `"ecr-login"`, "not supported"}},
	}
}

func TestLookupBadInput(t *testing.T) {
	tests := badLookupCases()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseDockerConfig([]byte(tt.config))
			if err != nil {
				t.Fatalf("ParseDockerConfig = %v", err)
			}
			got, found, err := c.Lookup(tt.image)
			if err == nil {
				t.Fatalf("Lookup(%q) = %v, %v, want an error", tt.image, got, found)
			}
			if found || !got.IsZero() {
				t.Errorf("Lookup(%q) = %#v, %v with an error", tt.image, got, found)
			}
			msg := err.Error()
			for _, s := range tt.wantText {
				if !strings.Contains(msg, s) {
					t.Errorf("error %q does not mention %q", msg, s)
				}
			}
			if strings.Contains(msg, secret) || strings.Contains(msg, "Sup3r") {
				t.Errorf("error %q leaks content", msg)
			}
		})
	}
}

func TestLookupNilConfig(t *testing.T) {
	var c *DockerConfig
	if got, found, err := c.Lookup("quay.io/x"); err != nil || found || !got.IsZero() {
		t.Errorf("nil Lookup = %v, %v, %v; want zero, false, nil", got, found, err)
	}
}

func TestLoadDockerConfig(t *testing.T) {
	modern := `{"auths":{"quay.io":{"auth":"` + b64("modern", "1") + `"}}}`
	cli := `{"auths":{"quay.io":{"auth":"` + b64("cli", "2") + `"}}}`
	legacy := `{"quay.io":{"auth":"` + b64("legacy", "3") + `"}}`
	tests := []struct {
		name     string
		files    map[string]string // relative path -> content
		path     string            // relative to the temp dir
		wantUser string
	}{
		{"file", map[string]string{"auth.json": modern}, "auth.json", "modern"},
		{"legacy file", map[string]string{"dockercfg": legacy}, "dockercfg", "legacy"},
		{"directory with .dockerconfigjson", map[string]string{"ws/.dockerconfigjson": modern}, "ws", "modern"},
		{"directory prefers .dockerconfigjson", map[string]string{"ws/.dockerconfigjson": modern, "ws/config.json": cli, "ws/.dockercfg": legacy}, "ws", "modern"},
		{"directory with config.json", map[string]string{"ws/config.json": cli, "ws/.dockercfg": legacy}, "ws", "cli"},
		{"directory with .dockercfg", map[string]string{"ws/.dockercfg": legacy}, "ws", "legacy"},
		{"exactly the size limit", map[string]string{"big.json": modern + strings.Repeat(" ", MaxDockerConfigBytes-len(modern))}, "big.json", "modern"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for rel, content := range tt.files {
				p := filepath.Join(dir, rel)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			c, err := LoadDockerConfig(filepath.Join(dir, tt.path))
			if err != nil {
				t.Fatalf("LoadDockerConfig = %v", err)
			}
			got, found, err := c.Lookup("quay.io/ns/img")
			if err != nil || !found || got.Username != tt.wantUser {
				t.Errorf("Lookup = %v, %v, %v; want user %s", got, found, err, tt.wantUser)
			}
		})
	}
}

func TestLoadDockerConfigSecretVolume(t *testing.T) {
	// Kubernetes projects Secret keys as symlinks into a ..data directory.
	dir := t.TempDir()
	data := filepath.Join(dir, "..2024_01_01")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, ".dockerconfigjson"), []byte(auths("quay.io")), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("..2024_01_01", filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("..data/.dockerconfigjson", filepath.Join(dir, ".dockerconfigjson")); err != nil {
		t.Fatal(err)
	}
	c, err := LoadDockerConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, found, err := c.Lookup("quay.io/x"); err != nil || !found || got != cred("quay.io") {
		t.Errorf("Lookup = %v, %v, %v", got, found, err)
	}
}

func TestLoadDockerConfigBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, content string) string {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	emptyDir := filepath.Join(dir, "empty")
	if err := os.Mkdir(emptyDir, 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		path     string
		wantIs   error
		wantText []string
	}{
		{"missing file", filepath.Join(dir, "missing.json"), fs.ErrNotExist, []string{"missing.json"}},
		{"empty directory", emptyDir, fs.ErrNotExist, []string{emptyDir, ".dockerconfigjson", "config.json", ".dockercfg"}},
		{"malformed", write("bad.json", `{"auths": {"quay.io": {"password": "`+secret+`" }`), nil, []string{"bad.json", "invalid JSON", "expected docker config JSON"}},
		{"too large", write("big.json", strings.Repeat(" ", MaxDockerConfigBytes+1)), nil, []string{"big.json", "larger than"}},
		{"malformed in directory", write("ws/.dockerconfigjson", `{"auths": [`+strconv.Quote(secret)+`]}`), nil, []string{".dockerconfigjson", `"auths"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := LoadDockerConfig(tt.path)
			if err == nil {
				t.Fatalf("LoadDockerConfig(%s) = %v, want an error", tt.path, c)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %v does not wrap %v", err, tt.wantIs)
			}
			for _, s := range tt.wantText {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
			if strings.Contains(err.Error(), "Sup3r") {
				t.Errorf("error %q leaks content", err)
			}
		})
	}
}

// FuzzParseDockerConfig feeds arbitrary bytes and image references to
// ParseDockerConfig and Lookup: they must never panic, and no error may hold
// a password of the input. Passwords are only checked when they hold a
// character that the fixed text of the errors never does, so a leak cannot
// be confused with that text.
func FuzzParseDockerConfig(f *testing.F) {
	for _, c := range lookupCases() {
		f.Add([]byte(c.config), c.image)
	}
	for _, c := range badConfigCases() {
		f.Add([]byte(c.config), "quay.io/x")
	}
	for _, c := range badLookupCases() {
		f.Add([]byte(c.config), c.image)
	}
	for _, c := range []string{
		`{"auths":{"quay.io":{"auth":"` + b64("bob", "pä§§:wörd") + `"}}}`,
		`{"auths":{"quay.io":{"username":"bob","password":"pä§§wörd"}}}`,
		`{"quay.io":{"auth":"` + b64("bob", "pä§§") + `"}}`,
		`{"auths":{"quay.io":{"auth":"!!pä§§"}}}`,
		`{"auths":{"quay.io":{"identitytoken":"pä§§wörd"}}}`,
		`{"auths":{"quay.io":{"password":"pä§§wörd"x}}}`,
		`{"auths":{"quay.io":{"password":1234}}}`,
	} {
		f.Add([]byte(c), "quay.io/x")
	}
	f.Fuzz(func(t *testing.T, data []byte, image string) {
		var errs []error
		c, err := ParseDockerConfig(data)
		errs = append(errs, err)
		if err == nil {
			_, _, err := c.Lookup(image)
			errs = append(errs, err)
		}
		secrets := passwords(data)
		for _, err := range errs {
			if err == nil {
				continue
			}
			msg := err.Error()
			for _, p := range secrets {
				if len(p) < 4 || !strings.ContainsFunc(p, marker) || strings.Contains(image, p) || leaks(strconv.Quote(image), p) || keyHolds(data, p) {
					continue
				}
				if leaks(msg, p) {
					t.Fatalf("error %q holds password %q", msg, p)
				}
			}
		}
	})
}

// FuzzLookup builds valid configs around a fuzzed key, user, password and
// image, in both forms and with "auth" or separate fields, and checks that
// Lookup never panics, finds what an exact key stores, and never puts the
// password in an error.
func FuzzLookup(f *testing.F) {
	for i, c := range lookupCases() {
		var top map[string]map[string]json.RawMessage
		if json.Unmarshal([]byte(c.config), &top) != nil {
			continue
		}
		for key := range top["auths"] {
			f.Add(key, c.want.Username, c.want.Password, c.image, uint8(i))
		}
	}
	for i, c := range badLookupCases() {
		f.Add("quay.io", "bob", secret, c.image, uint8(i))
	}
	f.Fuzz(func(t *testing.T, key, user, pass, image string, form uint8) {
		if !utf8.ValidString(key) || !utf8.ValidString(user) || !utf8.ValidString(pass) {
			t.Skip() // encoding/json would replace the invalid bytes (each checked alone:
			// invalid ends can join into a valid sequence)
		}
		entry := map[string]string{"username": user, "password": pass}
		authValue := b64(user, pass)
		switch form % 4 {
		case 1:
			entry = map[string]string{"auth": authValue}
		case 2:
			authValue = authValue[:len(authValue)/2] + "!" // corrupt
			entry = map[string]string{"auth": authValue}
		case 3:
			entry = map[string]string{"identitytoken": pass, "auth": authValue}
		}
		var doc any = map[string]any{key: entry}
		if form&4 == 0 {
			doc = map[string]any{"auths": doc}
		}
		data, err := json.Marshal(doc)
		if err != nil {
			t.Skip()
		}
		c, err := ParseDockerConfig(data)
		if err != nil {
			if form&4 != 0 && isDockerCLIKey(key) {
				return // the key turned the legacy form into the modern one
			}
			t.Fatalf("ParseDockerConfig(%s) = %v", data, err)
		}
		got, found, err := c.Lookup(image)
		if err != nil {
			msg := err.Error()
			for _, p := range []string{pass, authValue} {
				// Image references are no secrets and errors quote them: a password that the
				// image's own text (raw or quoted) already shows is not a leak.
				if len(p) >= 4 && !strings.Contains(image+key+user, p) && !leaks(fmt.Sprintf("%q %s", image, image), p) &&
					!strings.Contains(fixedText(t, key, user, image, form), p) && leaks(msg, p) {
					t.Fatalf("Lookup(%q) error %q holds secret %q", image, msg, p)
				}
			}
			return
		}
		if found && form%4 == 0 && (got.Username != user || got.Password != pass) {
			t.Fatalf("Lookup(%q) = %#v, want user %q", image, got, user)
		}
		if found && form%4 == 1 && !strings.Contains(user, ":") && (got.Username != user || got.Password != pass) {
			t.Fatalf("Lookup(%q) = %#v, want user %q", image, got, user)
		}
	})
}

// fixedText returns the error of the same lookup with a password that does
// not occur in it, so that text the error holds regardless of the password
// (key, image, messages) is known.
func fixedText(t *testing.T, key, user, image string, form uint8) string {
	t.Helper()
	const neutral = "\x01"
	entry := map[string]string{"username": user, "password": neutral}
	switch form % 4 {
	case 1, 2:
		entry = map[string]string{"auth": "!"}
	case 3:
		entry = map[string]string{"identitytoken": neutral}
	}
	var doc any = map[string]any{key: entry}
	if form&4 == 0 {
		doc = map[string]any{"auths": doc}
	}
	data, err := json.Marshal(doc)
	if err != nil {
		return ""
	}
	c, err := ParseDockerConfig(data)
	if err != nil {
		return err.Error()
	}
	_, _, err = c.Lookup(image)
	if err != nil {
		return err.Error()
	}
	return ""
}

// marker reports whether r never occurs in the fixed text of this
// package's errors.
func marker(r rune) bool { return r >= 0x80 || r < 0x20 || r == '~' || r == '^' || r == '|' }

// leaks reports whether msg holds s raw or in a quoted form.
func leaks(msg, s string) bool {
	if strings.Contains(msg, s) {
		return true
	}
	for _, q := range []string{strconv.Quote(s), strconv.QuoteToASCII(s)} {
		if strings.Contains(msg, q[1:len(q)-1]) {
			return true
		}
	}
	return false
}

// passwords returns the password-like values in data: "password",
// "identitytoken" and "registrytoken" values and "auth" values, raw and the
// password part decoded.
func passwords(data []byte) []string {
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				s, ok := x.(string)
				if !ok {
					walk(x)
					continue
				}
				switch strings.ToLower(k) {
				case "password", "identitytoken", "registrytoken":
					out = append(out, s)
				case "auth":
					out = append(out, s)
					if dec, err := base64.StdEncoding.DecodeString(s); err == nil {
						if _, p, ok := strings.Cut(string(dec), ":"); ok {
							out = append(out, p)
						}
					}
				}
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	var v any
	if json.Unmarshal(data, &v) == nil {
		walk(v)
	}
	return out
}

// keyHolds reports whether the object keys in data, quoted or joined by
// "." as encoding/json names fields, hold s; keys (registry names) may
// appear in errors.
func keyHolds(data []byte, s string) bool {
	var keys []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				keys = append(keys, k, strconv.Quote(k))
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	var v any
	if json.Unmarshal(data, &v) == nil {
		walk(v)
	}
	return leaks(strings.Join(keys, "."), s)
}
