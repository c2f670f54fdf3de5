package redact

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// patternCase is a case of TestStringPatterns.
type patternCase struct {
	name string
	in   string
	want string
}

// patternCases returns the cases of TestStringPatterns;
// FuzzString is seeded from them.
func patternCases() []patternCase {
	return []patternCase{
		{"empty", "", ""},
		{"plain text untouched", "pulling quay.io/ns/img:v1 failed: 404", "pulling quay.io/ns/img:v1 failed: 404"},
		{"authorization header", "Authorization: Bearer abc.def\nnext", "Authorization: [REDACTED]\nnext"},
		{"authorization header lower case", "authorization:Basic dXNlcjpwYXNz", "authorization:[REDACTED]"},
		{"proxy authorization", "Proxy-Authorization: Negotiate xyz", "Proxy-Authorization: [REDACTED]"},
		{"authorization in header map", "map[Authorization:[Bearer xyz]]", "map[Authorization:[REDACTED]"},
		{"authorization header empty", "Authorization:\nx", "Authorization:\nx"},
		{"bearer", "got Bearer eyJhbGciOi.eyJzdWIi.sig-_~+/== back", "got Bearer [REDACTED] back"},
		{"bearer lower case", "bearer\tabc", "bearer\t[REDACTED]"},
		{"basic credential", "sent Basic dXNlcjpwYXNz now", "sent Basic [REDACTED] now"},
		{"basic credential unpadded", "Basic dXNlcjpwYXNzd29yZA", "Basic [REDACTED]"},
		{"basic prose kept", "Basic auth failed", "Basic auth failed"},
		{"userinfo password", "cloning https://user:s3cr3t@github.com/x.git", "cloning https://user:[REDACTED]@github.com/x.git"},
		{"userinfo password with at", "docker://bob:p@ss@quay.io/ns", "docker://bob:[REDACTED]@quay.io/ns"},
		{"userinfo without password kept", "ssh://git@github.com/x", "ssh://git@github.com/x"},
		{"query token", "GET /v2/token?scope=x&access_token=abc123&n=1", "GET /v2/token?scope=x&access_token=[REDACTED]&n=1"},
		{"key value password", "password=hunter2 user=bob", "password=[REDACTED] user=bob"},
		{"key value case insensitive", "DB_PASSWORD=hunter2", "DB_PASSWORD=[REDACTED]"},
		{"key value passwd", "--passwd=x1", "--passwd=[REDACTED]"},
		{"key value secret spaces", "client_secret = abc", "client_secret = [REDACTED]"},
		{"key value auth", "X_AUTH=abc&y=1", "X_AUTH=[REDACTED]&y=1"},
		{"key value double quoted", `token="a b \" c" next`, `token="[REDACTED]" next`},
		{"key value single quoted", `secret='a b' next`, `secret='[REDACTED]' next`},
		{"key value unterminated quote", `password="abc def`, `password="[REDACTED]`},
		{"key value escaped quotes", `msg "password=\"a b\"" end`, `msg "password=\"[REDACTED]\"" end`},
		{"key value stops at quote", `"token=abc"`, `"token=[REDACTED]"`},
		{"json member", `{"registry_password": "x"}`, `{"registry_password": "[REDACTED]"}`},
		{"json member compact", `{"user":"bob","password":"x","n":1}`, `{"user":"bob","password":"[REDACTED]","n":1}`},
		{"json member escapes in value", `{"token": "a\"b\\c"}`, `{"token": "[REDACTED]"}`},
		{"json member newline before value", "{\"secret\":\n  \"x\"}", "{\"secret\":\n  \"[REDACTED]\"}"},
		{"json member case insensitive key", `{"Password":"x"}`, `{"Password":"[REDACTED]"}`},
		{"json member authorization", `{"Authorization": "Bearer x"}`, `{"Authorization": "[REDACTED]"}`},
		{"json member non-secret kept", `{"user":"bob"}`, `{"user":"bob"}`},
		{"json non-string value kept", `{"auths": {"quay.io": {}}}`, `{"auths": {"quay.io": {}}}`},
		{"docker config auth", `{"auths":{"quay.io":{"auth":"dXNlcjpwYXNz"}}}`, `{"auths":{"quay.io":{"auth":"[REDACTED]"}}}`},
		{"docker config identitytoken", `{"identitytoken":"tok"}`, `{"identitytoken":"[REDACTED]"}`},
		{"escaped json member", `body: "{\"password\": \"x y\"}"`, `body: "{\"password\": \"[REDACTED]\"}"`},
		{"escaped json member with escaped quote", `"{\"auth\":\"a\\\"b\"}"`, `"{\"auth\":\"[REDACTED]\"}"`},
		{"marker text untouched", "[REDACTED]", "[REDACTED]"},
	}
}

func TestStringPatterns(t *testing.T) {
	tests := patternCases()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, r := range []*Redactor{nil, {}, New()} {
				if got := r.String(tt.in); got != tt.want {
					t.Errorf("String(%q)\n got %q\nwant %q", tt.in, got, tt.want)
				}
			}
		})
	}
}

// secretCase is a case of TestStringKnownSecrets.
type secretCase struct {
	name   string
	secret string
}

// secretCases returns the cases of TestStringKnownSecrets;
// FuzzString is seeded from them.
func secretCases() []secretCase {
	return []secretCase{
		{"plain", "hunter2hunter2"},
		{"regexp metacharacters", `a.b*c+d?(e)[f]{g}|h^$\`},
		{"unicode", "pässwörd-密码-🔑"},
		{"url specials", "p@ss:w/rd?&=#%+ "},
		{"json specials", "a\"b\\c\n\t<>&\u2028"},
		{"control bytes", "x\x00\x01\x7fy"},
		{"invalid utf8", "ab\xffcd"},
		{"looks like marker", "[REDACTED]x"},
	}
}

func TestStringKnownSecrets(t *testing.T) {
	tests := secretCases()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New(tt.secret)
			jsonForm, err := json.Marshal(tt.secret)
			if err != nil {
				t.Fatal(err)
			}
			encodings := map[string]string{
				"raw":         tt.secret,
				"query":       url.QueryEscape(tt.secret),
				"path":        url.PathEscape(tt.secret),
				"userinfo":    strings.TrimPrefix(url.UserPassword("", tt.secret).String(), ":"),
				"go quoted":   strconv.Quote(tt.secret),
				"go ascii":    strconv.QuoteToASCII(tt.secret),
				"json":        string(jsonForm),
				"fmt %q":      fmt.Sprintf("%q", tt.secret),
				"fmt %v":      fmt.Sprintf("%v", tt.secret),
				"url userpwd": url.UserPassword("bob", tt.secret).String(),
			}
			for enc, form := range encodings {
				in := "before " + form + " middle " + form + form + " after"
				got := r.String(in)
				for _, leak := range []string{tt.secret, form} {
					if strings.Contains(got, leak) && !strings.Contains(Redacted, leak) {
						t.Errorf("%s form: String(%q) = %q still contains %q", enc, in, got, leak)
					}
				}
				if !strings.HasPrefix(got, "before ") || !strings.HasSuffix(got, " after") {
					t.Errorf("%s form: String(%q) = %q lost surrounding text", enc, in, got)
				}
			}
		})
	}
}

func TestStringKnownSecretCases(t *testing.T) {
	tests := []struct {
		name    string
		secrets []string
		in      string
		want    string
	}{
		{"no secrets", nil, "abc", "abc"},
		{"empty secret ignored", []string{""}, "abc", "abc"},
		{"replaced", []string{"s3cr3t"}, "x s3cr3t y", "x [REDACTED] y"},
		{"longer secret wins", []string{"abc", "abcdef"}, "abcdef", "[REDACTED]"},
		{"overlapping secrets merged", []string{"abcd", "cdef"}, "xabcdefx", "x[REDACTED]x"},
		{"adjacent occurrences merged", []string{"ab12"}, "ab12ab12", "[REDACTED]"},
		{"secret spanning marker removed", []string{"TED]Q"}, "TED]QQQ", "[REDACTED]"},
		{"before pattern so no partial leak", []string{"abc def"}, "token=abc def", "token=[REDACTED]"},
		{"query escaped", []string{"a b&c"}, "x?p=a+b%26c", "x?p=[REDACTED]"},
		{"json escaped", []string{`a"b`}, `{"k":"a\"b"}`, `{"k":"[REDACTED]"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := New(tt.secrets...).String(tt.in); got != tt.want {
				t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestWith(t *testing.T) {
	base := New("first-secret")
	more := base.With("second-secret", "")
	in := "first-secret second-secret"
	if got, want := more.String(in), "[REDACTED] [REDACTED]"; got != want {
		t.Errorf("With: String(%q) = %q, want %q", in, got, want)
	}
	if got, want := base.String(in), "[REDACTED] second-secret"; got != want {
		t.Errorf("With modified its receiver: String(%q) = %q, want %q", in, got, want)
	}
	var nilR *Redactor
	if got, want := nilR.With("abc1").String("abc1"), Redacted; got != want {
		t.Errorf("nil With: got %q, want %q", got, want)
	}
}

var errSentinel = errors.New("sentinel")

type typedError struct{ secret string }

func (e *typedError) Error() string { return "typed " + e.secret }

func TestError(t *testing.T) {
	r := New("hunter2")
	tests := []struct {
		name    string
		err     error
		wantMsg string
	}{
		{"wrapped sentinel", fmt.Errorf("login with hunter2: %w", errSentinel), "login with [REDACTED]: sentinel"},
		{"typed", &typedError{secret: "hunter2"}, "typed [REDACTED]"},
		{"fs error", fmt.Errorf("reading /x?token=abc &n=1: %w", fs.ErrNotExist), "reading /x?token=[REDACTED] &n=1: file does not exist"},
		{"joined", errors.Join(errSentinel, errors.New("password=hunter2")), "sentinel\npassword=[REDACTED]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := r.Error(tt.err)
			if got.Error() != tt.wantMsg {
				t.Errorf("Error() = %q, want %q", got.Error(), tt.wantMsg)
			}
			if !errors.Is(got, tt.err) {
				t.Errorf("errors.Is(redacted, original) = false")
			}
			if s := fmt.Sprintf("%v %+v %s", got, got, got); strings.Contains(s, "hunter2") {
				t.Errorf("formatted error leaks the secret: %q", s)
			}
		})
	}
	t.Run("errors.Is sentinel", func(t *testing.T) {
		if !errors.Is(r.Error(fmt.Errorf("x: %w", errSentinel)), errSentinel) {
			t.Error("errors.Is lost the sentinel")
		}
	})
	t.Run("errors.As", func(t *testing.T) {
		var te *typedError
		if !errors.As(r.Error(fmt.Errorf("x: %w", &typedError{"hunter2"})), &te) || te.secret != "hunter2" {
			t.Error("errors.As lost the typed error")
		}
	})
	t.Run("nil", func(t *testing.T) {
		if err := r.Error(nil); err != nil {
			t.Errorf("Error(nil) = %v, want nil", err)
		}
		var nilR *Redactor
		if err := nilR.Error(nil); err != nil {
			t.Errorf("nil Redactor: Error(nil) = %v, want nil", err)
		}
	})
}

func TestConcurrentUse(t *testing.T) {
	r := New("abcd1234")
	done := make(chan bool)
	for range 8 {
		go func() {
			for range 100 {
				if strings.Contains(r.String("x abcd1234 y"), "abcd1234") {
					t.Error("secret leaked")
				}
			}
			done <- true
		}()
	}
	for range 8 {
		<-done
	}
}

// FuzzString checks that a known secret of at least 4 bytes placed anywhere
// in random text never survives String or Error.
func FuzzString(f *testing.F) {
	for _, c := range []struct{ prefix, secret, suffix string }{
		{"password=", "s3cr3t", "&x=1"},
		{`{"auth":"`, "dXNlcjpwYXNz", `"}`},
		{"https://u:", "p@ss", "@host/"},
		{"TED]", "TED]Q", "QQQ"},
		{"[REDACTED]", "D][R", "EDACTED]"},
	} {
		f.Add(c.prefix, c.secret, c.suffix)
	}
	for _, c := range patternCases() {
		f.Add(c.in, "hunter2", c.in)
	}
	for _, c := range secretCases() {
		f.Add("x ", c.secret, " y")
	}
	f.Fuzz(func(t *testing.T, prefix, secret, suffix string) {
		if len(secret) < 4 || strings.Contains(Redacted, secret) {
			t.Skip()
		}
		r := New(secret)
		in := prefix + secret + suffix
		if got := r.String(in); strings.Contains(got, secret) {
			t.Fatalf("String(%q) = %q contains secret %q", in, got, secret)
		}
		if got := r.Error(errors.New(in)).Error(); strings.Contains(got, secret) {
			t.Fatalf("Error(%q) = %q contains secret %q", in, got, secret)
		}
		if esc := url.QueryEscape(secret); !strings.Contains(Redacted, esc) {
			in := prefix + esc + suffix
			if got := r.String(in); strings.Contains(got, esc) {
				t.Fatalf("String(%q) = %q contains query-escaped secret %q", in, got, esc)
			}
		}
	})
}
