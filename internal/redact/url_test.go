package redact

import (
	"net/url"
	"strings"
	"testing"
)

// urlCase is a case of TestURL.
type urlCase struct {
	name string
	in   string
	want string
}

// urlCases returns the cases of TestURL;
// FuzzURL is seeded from them.
func urlCases() []urlCase {
	return []urlCase{
		{"plain", "https://quay.io/v2/ns/img/manifests/v1", "https://quay.io/v2/ns/img/manifests/v1"},
		{"userinfo dropped", "https://bob:s3cr3t@quay.io/v2/", "https://quay.io/v2/"},
		{"user only dropped", "https://ghp_token@github.com/x.git", "https://github.com/x.git"},
		{"query values replaced names kept", "https://h/p?scope=repo:x:pull&service=quay.io&token=abc", "https://h/p?scope=[REDACTED]&service=[REDACTED]&token=[REDACTED]"},
		{"empty value replaced", "https://h/?a=&b=1", "https://h/?a=[REDACTED]&b=[REDACTED]"},
		{"bare name kept", "https://h/?verbose&x=1", "https://h/?verbose&x=[REDACTED]"},
		{"force query kept", "https://h/p?", "https://h/p?"},
		{"fragment replaced", "https://h/p#access_token=abc", "https://h/p#[REDACTED]"},
		{"port kept", "http://localhost:5000/v2/", "http://localhost:5000/v2/"},
		{"opaque userinfo", "bob:pass@host", "bob:[REDACTED]@host"},
		{"opaque without at kept", "mailto:someone", "mailto:someone"},
		{"relative", "/v2/_catalog?n=10", "/v2/_catalog?n=[REDACTED]"},
		{"path that would read as userinfo", "//@//@", Redacted},
		{"path holding an at sign", "////bob:pw@h/p", "////bob:pw@h/p"},
		{"empty", "", ""},
	}
}

func TestURL(t *testing.T) {
	tests := urlCases()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := URL(tt.in); got != tt.want {
				t.Errorf("URL(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// badURLCase is a case of TestURLBadInput.
type badURLCase struct {
	name string
	in   string
}

// badURLCases returns the cases of TestURLBadInput;
// FuzzURL is seeded from them.
func badURLCases() []badURLCase {
	return []badURLCase{
		{"control character", "https://bob:pw@h/\x7f"},
		{"bad host escape", "https://bob:pw@h%zz/"},
		{"missing scheme with colon", "://bob:pw@h"},
		{"space in host", "https://bob:pw@ho st/"},
		{"bad port", "https://h:port/"},
	}
}

func TestURLBadInput(t *testing.T) {
	tests := badURLCases()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := URL(tt.in); got != Redacted {
				t.Errorf("URL(%q) = %q, want %q", tt.in, got, Redacted)
			}
		})
	}
}

// FuzzURL checks that URL never panics and that its output, parsed again,
// has no userinfo and only redacted query values.
func FuzzURL(f *testing.F) {
	for _, c := range urlCases() {
		f.Add(c.in)
	}
	for _, c := range badURLCases() {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		out := URL(raw)
		if _, err := url.Parse(raw); err != nil {
			if out != Redacted {
				t.Fatalf("URL(%q) = %q for input that does not parse, want %q", raw, out, Redacted)
			}
			return
		}
		u, err := url.Parse(out)
		if err != nil {
			// Not every URL.String result parses again; nothing to check.
			return
		}
		if u.User != nil {
			t.Fatalf("URL(%q) = %q keeps userinfo", raw, out)
		}
		if u.Fragment != "" && u.Fragment != Redacted {
			t.Fatalf("URL(%q) = %q keeps fragment %q", raw, out, u.Fragment)
		}
		for part := range strings.SplitSeq(u.RawQuery, "&") {
			if _, v, ok := strings.Cut(part, "="); ok && v != Redacted {
				t.Fatalf("URL(%q) = %q keeps query value %q", raw, out, v)
			}
		}
	})
}
