// Package credential finds registry credentials for an image in docker
// config files and the service-account token of the pod (or kubeconfig
// context) the program runs in.
package credential

import (
	"fmt"
	"log/slog"

	"github.com/thoth-station/build-watcher/internal/redact"
)

// Basic is a registry user name and password.
type Basic struct{ Username, Password string }

// IsZero reports whether b holds neither a user name nor a password, that is
// anonymous access.
func (b Basic) IsZero() bool { return b.Username == "" && b.Password == "" }

// String returns "user=<name> password=[REDACTED]", or "anonymous" for the
// zero Basic. It never prints the password.
func (b Basic) String() string {
	if b.IsZero() {
		return "anonymous"
	}
	return "user=" + b.Username + " password=" + redact.Redacted
}

// GoString is like String for the %#v verb, so that printing a Basic with
// fmt never shows the password.
func (b Basic) GoString() string {
	if b.IsZero() {
		return "credential.Basic{}"
	}
	return fmt.Sprintf("credential.Basic{Username:%q, Password:%q}", b.Username, redact.Redacted)
}

// LogValue returns String as the value logged by log/slog, so that handlers
// which would otherwise print the fields (such as the JSON handler) never
// show the password.
func (b Basic) LogValue() slog.Value { return slog.StringValue(b.String()) }
