package redact

import (
	"encoding/base64"
	"regexp"
	"strings"
	"unicode/utf8"
)

// keyWords is the part of a key name that marks its value as a secret.
const keyWords = `(?:password|passwd|token|secret|auth)`

// Compiled once and never modified.
var (
	// jsonEscapedMember matches a JSON member with a secret-looking key
	// inside a JSON or Go-quoted string: {\"password\": \"x\"}.
	jsonEscapedMember = regexp.MustCompile(`(?i)(\\"[^"\\]*` + keyWords + `[^"\\]*\\"\s*:\s*)(\\")(?:[^\\"\r\n]|\\[^"\\]|\\\\(?:[^\\"]|\\.))*(\\"|)`)

	// jsonMember matches a JSON member with a secret-looking key and a
	// string value: "registry_password": "x".
	jsonMember = regexp.MustCompile(`(?i)("(?:[^"\\]|\\.)*` + keyWords + `(?:[^"\\]|\\.)*"\s*:\s*)(")(?:[^"\\]|\\.)*("?)`)

	// authorizationHeader matches an Authorization (or
	// Proxy-Authorization) header up to the end of its line.
	authorizationHeader = regexp.MustCompile(`(?i)(\bauthorization[ \t]*:[ \t]*)[^\r\n]+`)

	// userinfoPassword matches the password of URL userinfo:
	// scheme://user:PASS@host. The password runs to the last @ of the
	// authority, so an unescaped @ in it is covered too.
	userinfoPassword = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.\-]*://[^/?#@\s:]*):[^/?#\s]+@`)

	// keyValue matches key=value with a secret-looking key, the value
	// either quoted (", ' or \") or bare up to &, whitespace or a quote.
	keyValue = regexp.MustCompile(`(?i)([A-Za-z0-9_.\-]*` + keyWords + `[A-Za-z0-9_.\-]*[ \t]*=[ \t]*)(?:(\\")(?:[^"\\\r\n]|\\[^"])*(\\")?|(")(?:[^"\\\r\n]|\\.)*("?)|(')[^'\r\n]*('?)|[^&\s"']+)`)

	// bearer matches a Bearer token (RFC 6750 b64token).
	bearer = regexp.MustCompile(`(?i)\b(bearer[ \t]+)[A-Za-z0-9\-._~+/]+=*`)

	// basic matches a candidate Basic credential; basicCredential decides.
	basic = regexp.MustCompile(`(?i)\b(basic[ \t]+)([A-Za-z0-9+/]+={0,2})`)
)

// patterns replaces secret-looking text in s by Redacted. For ASCII text a
// cheap check of the lower-cased text skips expressions that cannot match
// (replacements only add Redacted, which holds none of the words checked
// for); text with other bytes goes through every expression, because (?i)
// also folds non-ASCII letters such as the Kelvin sign.
func patterns(s string) string {
	ascii := isASCII(s)
	lower := strings.ToLower(s)
	has := func(words ...string) bool {
		if !ascii {
			return true
		}
		for _, w := range words {
			if !strings.Contains(lower, w) {
				return false
			}
		}
		return true
	}
	keyWord := has("passw") || has("token") || has("secret") || has("auth")
	if keyWord && has(`\"`) {
		s = jsonEscapedMember.ReplaceAllString(s, "${1}${2}"+Redacted+"${3}")
	}
	if keyWord && has(`"`) {
		s = jsonMember.ReplaceAllString(s, "${1}${2}"+Redacted+"${3}")
	}
	if has("authorization") {
		s = authorizationHeader.ReplaceAllString(s, "${1}"+Redacted)
	}
	if has("://") {
		s = userinfoPassword.ReplaceAllString(s, "${1}:"+Redacted+"@")
	}
	if keyWord && has("=") {
		s = keyValue.ReplaceAllString(s, "${1}${2}${4}${6}"+Redacted+"${3}${5}${7}")
	}
	if has("bearer") {
		s = bearer.ReplaceAllString(s, "${1}"+Redacted)
	}
	if has("basic") {
		s = replaceBasic(s)
	}
	return s
}

// isASCII reports whether s holds only ASCII bytes.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// replaceBasic replaces "Basic <base64>" credentials. Only base64 that
// decodes to "user:password" is replaced, so prose such as "Basic auth
// failed" survives.
func replaceBasic(s string) string {
	matches := basic.FindAllStringSubmatchIndex(s, -1)
	if matches == nil {
		return s
	}
	var b strings.Builder
	prev := 0
	for _, m := range matches {
		if !basicCredential(s[m[4]:m[5]]) {
			continue
		}
		b.WriteString(s[prev:m[3]])
		b.WriteString(Redacted)
		prev = m[5]
	}
	b.WriteString(s[prev:])
	return b.String()
}

// basicCredential reports whether tok is base64 of text holding a colon,
// as RFC 7617 user-pass is.
func basicCredential(tok string) bool {
	dec, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(tok, "="))
	return err == nil && strings.Contains(string(dec), ":")
}
