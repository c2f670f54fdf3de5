package mirror

import (
	"errors"
	"testing"

	"github.com/thoth-station/build-watcher/internal/hint"
)

// TestRegistryErrorHint: one failure, worded for each place the user stands.
func TestRegistryErrorHint(t *testing.T) {
	cause := errors.New("x509: certificate signed by unknown authority")
	tests := []struct {
		name  string
		err   RegistryError
		where hint.Where
		want  string
	}{
		{"untrusted destination, command line", RegistryError{Problem: ProblemUntrusted}, hint.CLI,
			"pushing reg.example/app:v1: x509: certificate signed by unknown authority; the destination registry's TLS certificate is not trusted; give its CA with --registry-ca-file, or turn verification off with --no-dst-registry-tls-verify"},
		{"untrusted source, Task", RegistryError{Source: true, Problem: ProblemUntrusted}, hint.Task,
			"pushing reg.example/app:v1: x509: certificate signed by unknown authority; the source registry's TLS certificate is not trusted; give its CA with the registry-ca workspace, or turn verification off with the no-src-registry-tls-verify param"},
		{"untrusted source, watcher", RegistryError{Source: true, Problem: ProblemUntrusted}, hint.WatcherCluster,
			"pushing reg.example/app:v1: x509: certificate signed by unknown authority; the source registry's TLS certificate is not trusted; give its CA with --registry-ca-configmap (THOTH_REGISTRY_CA_CONFIGMAP), or turn verification off with --no-src-registry-tls-verify (THOTH_NO_SOURCE_REGISTRY_TLS_VERIFY)"},
		{"anonymous source, command line", RegistryError{Source: true, Problem: ProblemUnauthorized}, hint.CLI,
			"pushing reg.example/app:v1: x509: certificate signed by unknown authority; the source registry wants credentials; give --src-registry-user/--src-registry-password or --src-registry-auth-file, or --pass-token for OpenShift's internal registry"},
		{"anonymous source, local watcher (no pass-token there)", RegistryError{Source: true, Problem: ProblemUnauthorized}, hint.WatcherLocal,
			"pushing reg.example/app:v1: x509: certificate signed by unknown authority; the source registry wants credentials; give --src-registry-auth-file (THOTH_SRC_REGISTRY_AUTH_FILE)"},
		{"refused token, Task", RegistryError{Source: true, Problem: ProblemUnauthorized, Credentials: CredentialsToken}, hint.Task,
			"pushing reg.example/app:v1: x509: certificate signed by unknown authority; the source registry refused the service-account token; let the pod's service account pull from it (on OpenShift, the system:image-puller role), or give the src-registry-auth workspace (a docker config Secret)"},
		{"wrong destination password, Task", RegistryError{Problem: ProblemUnauthorized, Credentials: CredentialsUser}, hint.Task,
			"pushing reg.example/app:v1: x509: certificate signed by unknown authority; the destination registry refused the credentials; check the dst-registry-auth workspace (a docker config Secret)"},
		{"plain HTTP, watcher", RegistryError{Problem: ProblemPlainHTTPRefused}, hint.WatcherLocal,
			"pushing reg.example/app:v1: x509: certificate signed by unknown authority; if the registry serves plain HTTP, allow it with --insecure-registry (THOTH_INSECURE_REGISTRIES)"},
		{"unknown problem", RegistryError{}, hint.CLI, "pushing reg.example/app:v1: x509: certificate signed by unknown authority"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.err
			e.Op, e.Image, e.Err = "pushing", "reg.example/app:v1", cause
			got := hint.Explain(&e, tt.where)
			if got != tt.want {
				t.Errorf("Explain =\n  %q\nwant\n  %q", got, tt.want)
			}
			if !errors.Is(&e, cause) {
				t.Error("the cause is not in the chain")
			}
		})
	}
}
