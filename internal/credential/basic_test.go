package credential

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestBasicString(t *testing.T) {
	tests := []struct {
		name string
		b    Basic
		want string
	}{
		{"anonymous", Basic{}, "anonymous"},
		{"user and password", Basic{"bob", "hunter2"}, "user=bob password=[REDACTED]"},
		{"password only", Basic{Password: "hunter2"}, "user= password=[REDACTED]"},
		{"user only", Basic{Username: "bob"}, "user=bob password=[REDACTED]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.b.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			if tt.b.IsZero() != (tt.b == Basic{}) {
				t.Errorf("IsZero() = %v", tt.b.IsZero())
			}
			if tt.b.Password == "" {
				return
			}
			for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
				for _, v := range []any{tt.b, &tt.b, struct{ B Basic }{tt.b}, []Basic{tt.b}} {
					if s := sprintf(verb, v); strings.Contains(s, tt.b.Password) {
						t.Errorf("Sprintf(%s) = %q shows the password", verb, s)
					}
				}
			}
			if s := logJSON(tt.b); strings.Contains(s, tt.b.Password) {
				t.Errorf("slog JSON = %q shows the password", s)
			}
		})
	}
}

// sprintf is fmt.Sprintf with a non-constant format, for the verb table.
func sprintf(format string, v any) string { return fmt.Sprintf(format, v) }

// logJSON returns what slog's JSON handler writes for b.
func logJSON(b Basic) string {
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("login", "credentials", b)
	return buf.String()
}
