package redact

import (
	"net/url"
	"strings"
)

// URL returns raw in a form safe to log: userinfo is dropped, every query
// value and any fragment is replaced by Redacted (query parameter names are
// kept), and scheme, host and path are kept. For an opaque URL such as
// "user:pass@host" the part up to the last @ is replaced. Input that does
// not parse as a URL gives Redacted.
func URL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return Redacted
	}
	u.User = nil
	if at := strings.LastIndex(u.Opaque, "@"); at >= 0 {
		u.Opaque = Redacted + u.Opaque[at:]
	}
	query, forceQuery := u.RawQuery, u.ForceQuery
	fragment := u.Fragment != "" || u.RawFragment != ""
	u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = "", false, "", ""

	var b strings.Builder
	b.WriteString(u.String())
	if query != "" || forceQuery {
		b.WriteByte('?')
		b.WriteString(redactQuery(query))
	}
	if fragment {
		b.WriteByte('#')
		b.WriteString(Redacted)
	}
	out := b.String()
	// A path starting with "//" and no host is written without the
	// authority that set it apart, so the output can read as userinfo.
	if v, err := url.Parse(out); err == nil && v.User != nil {
		return Redacted
	}
	return out
}

// redactQuery replaces the value of every name=value pair of a raw query.
// A part without "=" is a name with no value and is kept.
func redactQuery(q string) string {
	parts := strings.Split(q, "&")
	for i, p := range parts {
		if name, _, ok := strings.Cut(p, "="); ok {
			parts[i] = name + "=" + Redacted
		}
	}
	return strings.Join(parts, "&")
}
