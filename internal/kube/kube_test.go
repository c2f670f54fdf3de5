package kube

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const kubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:6443"}
users:
- name: u
  user: {token: "t0ken"}
contexts:
- name: ctx
  context: {cluster: c, user: u, namespace: team-a}
current-context: ctx
`

func TestLoad(t *testing.T) {
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	t.Setenv("KUBERNETES_SERVICE_PORT", "")
	dir := t.TempDir()
	good := filepath.Join(dir, "config")
	if err := os.WriteFile(good, []byte(kubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Run("explicit path", func(t *testing.T) {
		cfg, err := Load(good)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.REST.Host != "https://127.0.0.1:6443" || cfg.Namespace != "team-a" || cfg.REST.QPS != StepQPS {
			t.Errorf("loaded %s, namespace %s, QPS %v", cfg.REST.Host, cfg.Namespace, cfg.REST.QPS)
		}
	})
	t.Run("KUBECONFIG", func(t *testing.T) {
		t.Setenv("KUBECONFIG", good)
		if cfg, err := Load(""); err != nil || cfg.Namespace != "team-a" {
			t.Fatalf("Load: %v", err)
		}
	})
	t.Run("nothing configured", func(t *testing.T) {
		t.Setenv("KUBECONFIG", filepath.Join(dir, "absent"))
		_, err := Load("")
		if err == nil || !strings.Contains(err.Error(), "--kubeconfig") {
			t.Fatalf("error = %v, want a hint naming --kubeconfig", err)
		}
	})
	// --kubeconfig reads $KUBECONFIG, which may be a list of files, as kubectl reads it.
	for _, tt := range []struct {
		name, path string
		wantErr    bool
	}{
		{name: "a list", path: good + string(filepath.ListSeparator) + filepath.Join(dir, "absent")},
		{name: "a list with blank entries", path: string(filepath.ListSeparator) + good + strings.Repeat(string(filepath.ListSeparator), 2)},
		{name: "a list of missing files", path: filepath.Join(dir, "absent") + string(filepath.ListSeparator) + filepath.Join(dir, "gone"), wantErr: true},
		{name: "a list of nothing", path: string(filepath.ListSeparator), wantErr: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("KUBECONFIG", filepath.Join(dir, "absent"))
			cfg, err := Load(tt.path)
			switch {
			case tt.wantErr && (err == nil || !strings.Contains(err.Error(), "--kubeconfig")):
				t.Fatalf("error = %v, want a hint naming --kubeconfig", err)
			case !tt.wantErr && err != nil:
				t.Fatalf("Load(%q): %v", tt.path, err)
			case !tt.wantErr && (cfg.REST.Host != "https://127.0.0.1:6443" || cfg.Namespace != "team-a"):
				t.Errorf("loaded %s, namespace %s", cfg.REST.Host, cfg.Namespace)
			}
		})
	}
	t.Run("missing explicit file", func(t *testing.T) {
		if _, err := Load(filepath.Join(dir, "nope")); err == nil {
			t.Fatal("a missing kubeconfig loaded")
		}
	})
}
