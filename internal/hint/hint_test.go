package hint

import (
	"errors"
	"fmt"
	"testing"
)

// hinted is a Hinter for the tests: its hint names a setting at w.
type hinted struct{ s Setting }

func (h hinted) Error() string { return "it failed" }

func (h hinted) Hint(w Where) string { return With(w, "set ", h.s) }

func TestExplain(t *testing.T) {
	wrapped := fmt.Errorf("copying: %w", hinted{RegistryCA})
	tests := []struct {
		name  string
		err   error
		where Where
		want  string
	}{
		{"nil", nil, CLI, ""},
		{"plain error", errors.New("boom"), CLI, "boom"},
		{"flag", wrapped, CLI, "copying: it failed; set --registry-ca-file"},
		{"workspace", wrapped, Task, "copying: it failed; set the registry-ca workspace"},
		{"watcher tekton", wrapped, WatcherCluster, "copying: it failed; set --registry-ca-configmap (THOTH_REGISTRY_CA_CONFIGMAP)"},
		{"watcher local", wrapped, WatcherLocal, "copying: it failed; set --registry-ca-file (THOTH_REGISTRY_CA_FILE)"},
		{"no such setting there", hinted{MaxBodySize}, Task, "it failed"},
		{"setting error", Wrap(ThothCA, "check %s", errors.New("reading the Thoth CAs: no PEM")), Task, "reading the Thoth CAs: no PEM; check the thoth-ca workspace"},
		{"setting error without the setting", Wrap(PassToken, "drop %s", errors.New("no token")), WatcherLocal, "no token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Explain(tt.err, tt.where); got != tt.want {
				t.Errorf("Explain = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestWrapKeepsTheChain(t *testing.T) {
	cause := errors.New("cause")
	err := Wrap(RegistryCA, "check %s", fmt.Errorf("reading: %w", cause))
	if !errors.Is(err, cause) || err.Error() != "reading: cause" {
		t.Errorf("Wrap = %v, want the cause's text and chain", err)
	}
	if Wrap(RegistryCA, "check %s", nil) != nil {
		t.Error("Wrap(nil) is not nil")
	}
}

func TestAlternatives(t *testing.T) {
	for _, tt := range []struct {
		in   []string
		want string
	}{
		{nil, ""},
		{[]string{"", ""}, ""},
		{[]string{"a", "", "b"}, "a, or b"},
		{[]string{"", "b"}, "b"},
	} {
		if got := Alternatives(tt.in...); got != tt.want {
			t.Errorf("Alternatives(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFromEnv(t *testing.T) {
	for _, tt := range []struct {
		value string
		want  Where
	}{{"", CLI}, {"false", CLI}, {"true", Task}, {"argo", Argo}, {"Argo", CLI}} {
		got := FromEnv(func(k string) string {
			if k == TaskEnv {
				return tt.value
			}
			return ""
		})
		if got != tt.want {
			t.Errorf("FromEnv(%s=%q) = %s, want %s", TaskEnv, tt.value, got, tt.want)
		}
	}
}

// TestEverySettingSpelledOnTheCommandLine: every binary setting has a flag; the other places
// may lack one (the Tasks have no max-body-size param), never the command line.
func TestEverySettingSpelledOnTheCommandLine(t *testing.T) {
	for _, s := range Settings() {
		if CLI.Spell(s) == "" {
			t.Errorf("setting %d has no flag", s)
		}
	}
}
