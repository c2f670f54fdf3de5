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
		if cfg.REST.Host != "https://127.0.0.1:6443" || cfg.Namespace != "team-a" || cfg.REST.QPS != DefaultQPS {
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
	t.Run("missing explicit file", func(t *testing.T) {
		if _, err := Load(filepath.Join(dir, "nope")); err == nil {
			t.Fatal("a missing kubeconfig loaded")
		}
	})
}
