package watcher

import (
	"strings"
	"testing"
)

func TestParseTargets(t *testing.T) {
	for _, tc := range []struct {
		name, doc, err string
		n              int
	}{
		{"two targets", "targets:\n- {name: a, namespace: ns, max_concurrent: 2}\n- {name: b, kubeconfig: /k, namespace: ns, max_concurrent: 1, enabled: false}\n", "", 2},
		{"empty", "", "it is empty", 0},
		{"no targets", "targets: []\n", "no targets", 0},
		{"unknown field", "targets:\n- {name: a, namespace: ns, max_concurrent: 2, maxConcurrent: 3}\n", "unknown field", 0},
		{"bad name", "targets:\n- {name: A_1, namespace: ns, max_concurrent: 2}\n", `name "A_1"`, 0},
		{"reserved name", "targets:\n- {name: local, namespace: ns, max_concurrent: 2}\n", "reserved", 0},
		{"twice", "targets:\n- {name: a, namespace: ns, max_concurrent: 2}\n- {name: a, namespace: ns, max_concurrent: 2}\n", "used twice", 0},
		{"no namespace", "targets:\n- {name: a, max_concurrent: 2}\n", `namespace ""`, 0},
		{"zero max", "targets:\n- {name: a, namespace: ns}\n", "max_concurrent must be at least 1", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			specs, err := ParseTargets([]byte(tc.doc))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(specs) != tc.n {
				t.Fatalf("%d targets, want %d", len(specs), tc.n)
			}
			if !specs[0].IsEnabled() || specs[1].IsEnabled() {
				t.Errorf("enabled: %t, %t; want true, false", specs[0].IsEnabled(), specs[1].IsEnabled())
			}
		})
	}
}
