package watcher

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/thoth-station/build-watcher/internal/build"
	"github.com/thoth-station/build-watcher/internal/usage"
)

func TestConfigValidate(t *testing.T) {
	valid := func() Config {
		return Config{
			Kinds: build.Kinds(), Phases: build.Phases(), StateNamespace: "thoth", RunNamespace: "thoth",
			Executor: ExecutorTekton, Runs: RunsPipeline, Pipeline: "thoth-build-analysis",
			Workers: 4, SyncWorkers: 16, Analysis: Analysis{ThothHost: "thoth.example.com"},
			AnalysisAttempts: DefaultAnalysisAttempts, RetryBackoff: DefaultRetryBackoff,
		}
	}
	tests := []struct {
		name    string
		modify  func(*Config)
		wantErr string // "" means valid
	}{
		{name: "tekton", modify: func(*Config) {}},
		{name: "tekton with CA ConfigMaps", modify: func(c *Config) { c.RegistryCAConfigMap, c.ThothCAConfigMap = "openshift-service-ca.crt", "thoth-ca" }},
		{name: "local with CA files", modify: func(c *Config) {
			c.Executor, c.RegistryCAFile, c.ThothCAFile = ExecutorLocal, "/etc/pki/ca.crt", "/etc/thoth"
		}},
		{name: "no Thoth host", modify: func(c *Config) { c.Analysis.ThothHost = "" }, wantErr: "--thoth-api-host is required"},
		{name: "unknown executor", modify: func(c *Config) { c.Executor = "k8s" }, wantErr: `--executor must be tekton, argo or local, not "k8s"`},
		{name: "no workers", modify: func(c *Config) { c.Workers = 0 }, wantErr: "--workers-count must be at least 1"},
		{name: "targets file with local", modify: func(c *Config) { c.Executor, c.TargetsFile = ExecutorLocal, "targets.yaml" }, wantErr: "--targets-file is for --executor tekton"},
		{name: "registry CA ConfigMap with local", modify: func(c *Config) { c.Executor, c.RegistryCAConfigMap = ExecutorLocal, "cas" }, wantErr: "--registry-ca-configmap is for --executor tekton or argo; with --executor local use --registry-ca-file"},
		{name: "Thoth CA ConfigMap with local", modify: func(c *Config) { c.Executor, c.ThothCAConfigMap = ExecutorLocal, "cas" }, wantErr: "--thoth-ca-configmap is for --executor tekton"},
		{name: "registry CA file with tekton", modify: func(c *Config) { c.RegistryCAFile = "/ca.crt" }, wantErr: "--registry-ca-file is for --executor local; with --executor tekton use --registry-ca-configmap"},
		{name: "Thoth CA file with tekton", modify: func(c *Config) { c.ThothCAFile = "/ca.crt" }, wantErr: "--thoth-ca-file is for --executor local"},
		{name: "argo", modify: func(c *Config) {
			c.Executor, c.ArgoTemplate, c.ArgoTemplateKind = ExecutorArgo, "thoth-build-analysis", ArgoWorkflowTemplate
			c.RegistryCAConfigMap, c.Analysis.PassToken = "openshift-service-ca.crt", true
		}},
		{name: "argo, cluster template", modify: func(c *Config) {
			c.Executor, c.ArgoTemplate, c.ArgoTemplateKind = ExecutorArgo, "thoth-build-analysis", ArgoClusterWorkflowTemplate
		}},
		{name: "argo, unknown template kind", modify: func(c *Config) {
			c.Executor, c.ArgoTemplate, c.ArgoTemplateKind = ExecutorArgo, "thoth-build-analysis", "Template"
		}, wantErr: `--argo-template-kind must be WorkflowTemplate or ClusterWorkflowTemplate, not "Template"`},
		{name: "argo, no template", modify: func(c *Config) {
			c.Executor, c.ArgoTemplateKind = ExecutorArgo, ArgoWorkflowTemplate
		}, wantErr: `--argo-template ""`},
		{name: "registry CA file with argo", modify: func(c *Config) {
			c.Executor, c.ArgoTemplate, c.ArgoTemplateKind, c.RegistryCAFile = ExecutorArgo, "t", ArgoWorkflowTemplate, "/ca.crt"
		}, wantErr: "--registry-ca-file is for --executor local; with --executor argo use --registry-ca-configmap"},
		{name: "no attempts", modify: func(c *Config) { c.AnalysisAttempts = 0 }, wantErr: "--analysis-attempts must be at least 1, not 0"},
		{name: "no backoff", modify: func(c *Config) { c.RetryBackoff = 0 }, wantErr: "--analysis-retry-backoff must be positive"},
		{name: "pass-token with local", modify: func(c *Config) { c.Executor, c.Analysis.PassToken = ExecutorLocal, true }, wantErr: "--pass-token with --executor local would send this process's own credentials"},
		{name: "pass-token with analyze-existing", modify: func(c *Config) { c.AnalyzeExisting, c.Analysis.PassToken = true, true }, wantErr: "--pass-token with --analyze-existing"},
		{name: "pass-token with tekton runs", modify: func(c *Config) { c.Analysis.PassToken = true }},
		{name: "default registry", modify: func(c *Config) { c.Analysis.DefaultRegistry = "registry.example.com" }},
		{name: "bad default registry", modify: func(c *Config) { c.Analysis.DefaultRegistry = "https://registry.example.com" }, wantErr: "--default-registry: default registry \"https://registry.example.com\" is not a registry host"},
		{name: "no state namespace", modify: func(c *Config) { c.StateNamespace = "" }, wantErr: "--state-namespace"},
		{name: "bad run namespace", modify: func(c *Config) { c.RunNamespace = "Not_A_Namespace" }, wantErr: "--pipelinerun-namespace"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.modify(&c)
			err := c.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if !errors.Is(err, usage.ErrBadInput) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Validate = %v, want a usage error saying %q", err, tt.wantErr)
			}
		})
	}
}

// TestAnalysisParamsDefaultRegistry: the default registry reaches each run as the
// Pipeline's default-registry param, and only when it is set.
func TestAnalysisParamsDefaultRegistry(t *testing.T) {
	b := &Build{Ref: build.Ref{Kind: build.KindBuild, Namespace: "osbs", Name: "app-1"}}
	for _, registry := range []string{"", "registry.example.com"} {
		c := Config{Analysis: Analysis{ThothHost: "thoth.example.com", DefaultRegistry: registry}}
		var got []string
		for _, p := range c.analysisParams(b) {
			if p.Name == "default-registry" {
				got = append(got, p.Value.StringVal)
			}
		}
		if want := []string{registry}; (registry == "" && len(got) != 0) || (registry != "" && !slices.Equal(got, want)) {
			t.Errorf("default registry %q: params give %q", registry, got)
		}
	}
}
