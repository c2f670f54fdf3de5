// Package redact removes credentials from text before it is printed or
// logged.
//
// A Redactor replaces known secret values (and their common escaped forms)
// and, whether or not a secret is known, text that looks like a credential:
// Authorization headers, Bearer and Basic credentials, URL userinfo
// passwords, key=value pairs and JSON members whose key names a password,
// token, secret or auth value.
package redact

import (
	"bytes"
	"encoding/json"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Redacted is the text that replaces a secret.
const Redacted = "[REDACTED]"

// maxPasses bounds how often String re-scans text for known secrets that a
// replacement made to reappear (a secret overlapping the Redacted marker);
// past it String gives up and returns only Redacted.
const maxPasses = 16

// Redactor removes known secret values and secret-looking patterns from
// text. The zero value and nil are usable and redact patterns only. A
// Redactor is immutable after construction and safe for concurrent use.
type Redactor struct {
	// raw holds the secrets as given, for With.
	raw []string
	// needles holds every form of every secret that is searched for,
	// longest first.
	needles []string
}

// New returns a Redactor that removes the given secrets, their URL-escaped,
// JSON-escaped and Go-quoted forms, and secret-looking patterns. Empty
// strings are ignored.
func New(secrets ...string) *Redactor {
	r := &Redactor{}
	seen := make(map[string]bool)
	needles := make(map[string]bool)
	for _, s := range secrets {
		if s == "" || seen[s] {
			continue
		}
		seen[s] = true
		r.raw = append(r.raw, s)
		for _, v := range forms(s) {
			if v != "" {
				needles[v] = true
			}
		}
	}
	for v := range needles {
		r.needles = append(r.needles, v)
	}
	sort.Slice(r.needles, func(i, j int) bool {
		a, b := r.needles[i], r.needles[j]
		if len(a) != len(b) {
			return len(a) > len(b)
		}
		return a < b
	})
	return r
}

// With returns a new Redactor that removes the secrets of r and the given
// secrets. r is not modified; a nil r is treated as the zero Redactor.
func (r *Redactor) With(secrets ...string) *Redactor {
	var all []string
	if r != nil {
		all = slices.Clone(r.raw)
	}
	return New(append(all, secrets...)...)
}

// String returns s with known secrets and secret-looking patterns replaced
// by Redacted.
func (r *Redactor) String(s string) string {
	// Known secrets go first so that a pattern cannot replace only part of
	// one, and again last because a pattern's replacement may place
	// Redacted next to text that then spells a secret.
	s = r.known(s)
	s = patterns(s)
	return r.known(s)
}

// Error returns an error whose message is err's message redacted by r and
// which unwraps to err, so that errors.Is and errors.As keep working. A nil
// err gives nil.
func (r *Redactor) Error(err error) error {
	if err == nil {
		return nil
	}
	return &redactedError{msg: r.String(err.Error()), err: err}
}

// redactedError carries a redacted message for a wrapped error.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }

func (e *redactedError) Unwrap() error { return e.err }

// forms returns s and the escaped forms in which it commonly appears in
// URLs, JSON and Go-quoted error messages.
func forms(s string) []string {
	out := []string{
		s,
		url.QueryEscape(s),
		url.PathEscape(s),
		strings.TrimPrefix(url.UserPassword("", s).String(), ":"),
		unquote(strconv.Quote(s)),
		unquote(strconv.QuoteToASCII(s)),
	}
	if b, err := json.Marshal(s); err == nil {
		out = append(out, unquote(string(b)))
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err == nil {
		out = append(out, unquote(strings.TrimSuffix(buf.String(), "\n")))
	}
	return out
}

// unquote strips the surrounding quotes of a quoted string.
func unquote(q string) string {
	if len(q) >= 2 {
		return q[1 : len(q)-1]
	}
	return q
}

// span is a half-open byte range of a string.
type span struct{ start, end int }

// known replaces every occurrence of every known secret, including
// overlapping ones, by Redacted. It repeats until no secret is left,
// because a replacement can make a secret appear across the boundary of the
// Redacted marker; each repetition shortens the text.
func (r *Redactor) known(s string) string {
	if r == nil || len(r.needles) == 0 {
		return s
	}
	for range maxPasses {
		spans := r.find(s)
		if len(spans) == 0 {
			return s
		}
		out := replaceSpans(s, spans)
		if out == s {
			// Every remaining occurrence lies inside a Redacted marker:
			// the secret is part of the marker's own text.
			return s
		}
		s = out
	}
	if len(r.find(s)) == 0 {
		return s
	}
	return Redacted
}

// find returns the merged spans of s that hold a known secret, widened to
// cover any Redacted marker they overlap.
func (r *Redactor) find(s string) []span {
	var spans []span
	for _, n := range r.needles {
		for i := 0; i+len(n) <= len(s); {
			j := strings.Index(s[i:], n)
			if j < 0 {
				break
			}
			spans = append(spans, span{i + j, i + j + len(n)})
			i += j + 1
		}
	}
	if len(spans) == 0 {
		return nil
	}
	spans = merge(spans)
	var markers []span
	for i := 0; ; {
		j := strings.Index(s[i:], Redacted)
		if j < 0 {
			break
		}
		m := span{i + j, i + j + len(Redacted)}
		for _, sp := range spans {
			if m.start < sp.end && sp.start < m.end {
				markers = append(markers, m)
				break
			}
		}
		i = m.end
	}
	if len(markers) == 0 {
		return spans
	}
	return merge(append(spans, markers...))
}

// merge sorts spans and joins those that overlap or touch.
func merge(spans []span) []span {
	sort.Slice(spans, func(i, j int) bool { return spans[i].start < spans[j].start })
	out := spans[:1]
	for _, sp := range spans[1:] {
		last := &out[len(out)-1]
		if sp.start <= last.end {
			last.end = max(last.end, sp.end)
			continue
		}
		out = append(out, sp)
	}
	return out
}

// replaceSpans replaces each of the sorted, disjoint spans of s by Redacted.
func replaceSpans(s string, spans []span) string {
	var b strings.Builder
	b.Grow(len(s) + len(spans)*len(Redacted))
	prev := 0
	for _, sp := range spans {
		b.WriteString(s[prev:sp.start])
		b.WriteString(Redacted)
		prev = sp.end
	}
	b.WriteString(s[prev:])
	return b.String()
}
