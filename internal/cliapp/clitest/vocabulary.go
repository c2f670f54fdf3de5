package clitest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/urfave/cli/v2"
)

// vocabulary is every flag of the four binaries with the environment variable it reads ("":
// none), one name one meaning across binaries, Tasks, README and --help. A new flag is added
// here, where a name that already means something else shows; CheckVocabulary fails a
// binary whose flags differ from it.
var vocabulary = map[string]string{
	// Builds and where they are.
	"build-ref": "THOTH_BUILD_REF", "kind": "THOTH_BUILD_KIND", "namespace": "THOTH_BUILD_NAMESPACE",
	"name": "THOTH_BUILD_NAME", "from-file": "THOTH_FROM_FILE", "kubeconfig": "KUBECONFIG",
	"wait": "THOTH_WAIT", "timeout": "THOTH_WAIT_TIMEOUT", "log-file": "THOTH_LOG_FILE",
	"base-image-from": "THOTH_BASE_IMAGE_FROM", "default-registry": "THOTH_DEFAULT_REGISTRY",
	// What is sent to Thoth.
	"thoth-api-host": "THOTH_USER_API_HOST", "no-tls-verify": "THOTH_NO_TLS_VERIFY",
	"thoth-ca-file": "THOTH_USER_API_CA_FILE", "request-timeout": "THOTH_REQUEST_TIMEOUT",
	"retry-attempts": "THOTH_RETRY_ATTEMPTS", "retry-max-time": "THOTH_RETRY_MAX_TIME",
	"base-image": "THOTH_BASE_IMAGE", "output-image": "THOTH_OUTPUT_IMAGE", "build-log-file": "THOTH_BUILD_LOG_FILE",
	"no-base": "THOTH_NO_BASE", "no-output": "THOTH_NO_OUTPUT", "no-build-log": "THOTH_NO_BUILD_LOG",
	"environment-type": "THOTH_ENVIRONMENT_TYPE", "origin": "THOTH_ORIGIN", "debug": "THOTH_DEBUG",
	"force": "THOTH_FORCE", "max-body-size": "THOTH_MAX_BODY_SIZE",
	// Registries, per side.
	"source": "THOTH_SOURCE_IMAGE", "destination": "THOTH_DESTINATION_IMAGE",
	"push-registry": "THOTH_PUSH_REGISTRY", "push-mode": "THOTH_PUSH_MODE",
	"src-registry-user": "THOTH_SRC_REGISTRY_USER", "src-registry-password": "THOTH_SRC_REGISTRY_PASSWORD",
	"src-registry-auth-file": "THOTH_SRC_REGISTRY_AUTH_FILE", "no-src-registry-tls-verify": "THOTH_NO_SOURCE_REGISTRY_TLS_VERIFY",
	"dst-registry-user": "THOTH_DST_REGISTRY_USER", "dst-registry-password": "THOTH_DST_REGISTRY_PASSWORD",
	"dst-registry-auth-file": "THOTH_DST_REGISTRY_AUTH_FILE", "no-dst-registry-tls-verify": "THOTH_NO_DESTINATION_REGISTRY_TLS_VERIFY",
	"registry-ca-file": "THOTH_REGISTRY_CA_FILE", "insecure-registry": "THOTH_INSECURE_REGISTRIES",
	"pass-token": "THOTH_PASS_TOKEN", "jobs": "THOTH_MIRROR_JOBS", "quiet": "THOTH_QUIET",
	// Output and logs.
	"results-dir": "THOTH_RESULTS_DIR", "output": "THOTH_OUTPUT_FORMAT",
	"verbose": "THOTH_VERBOSE_BUILD_WATCHER", "log-format": "THOTH_LOG_FORMAT",
	// The watcher.
	"build-watcher-namespace": "THOTH_WATCHED_NAMESPACE", "state-namespace": "POD_NAMESPACE",
	"kinds": "THOTH_BUILD_WATCHER_KINDS", "phases": "THOTH_BUILD_WATCHER_PHASES",
	"tekton-selector": "THOTH_TEKTON_SELECTOR", "analyze-existing": "THOTH_ANALYZE_EXISTING",
	"executor": "THOTH_BUILD_WATCHER_EXECUTOR", "runs": "THOTH_BUILD_WATCHER_RUNS", "pipeline": "THOTH_PIPELINE",
	"argo-template": "THOTH_ARGO_TEMPLATE", "argo-template-kind": "THOTH_ARGO_TEMPLATE_KIND",
	"pipelinerun-namespace": "THOTH_PIPELINERUN_NAMESPACE", "pipelinerun-timeout": "THOTH_PIPELINERUN_TIMEOUT",
	"service-account": "THOTH_PIPELINERUN_SERVICE_ACCOUNT", "targets-file": "THOTH_TARGETS_FILE",
	"workers-count": "THOTH_BUILD_WATCHER_WORKERS", "sync-workers": "THOTH_SYNC_WORKERS",
	"analysis-attempts": "THOTH_ANALYSIS_ATTEMPTS", "analysis-retry-backoff": "THOTH_ANALYSIS_RETRY_BACKOFF",
	"cluster-name": "THOTH_CLUSTER_NAME", "registry-ca-configmap": "THOTH_REGISTRY_CA_CONFIGMAP",
	"thoth-ca-configmap": "THOTH_CA_CONFIGMAP", "src-registry-auth-secret": "THOTH_SRC_REGISTRY_AUTH_SECRET",
	"dst-registry-auth-secret": "THOTH_DST_REGISTRY_AUTH_SECRET", "kube-api-qps": "THOTH_KUBE_API_QPS",
	"kube-api-burst": "THOTH_KUBE_API_BURST", "metrics-address": "THOTH_METRICS_ADDRESS",
	"leader-elect": "THOTH_LEADER_ELECT", "leader-elect-identity": "POD_NAME",
	"leader-elect-lease-duration": "THOTH_LEADER_ELECT_LEASE_DURATION",
}

// deprecated are old names kept one release as hidden aliases that warn, by binary: the
// variable each reads ("": none).
var deprecated = map[string]map[string]string{
	"mirror-image":  {"ca-file": "THOTH_CA_FILE"},
	"submit-thoth":  {"ca-file": "THOTH_CA_FILE"},
	"build-watcher": {"ca-file": "THOTH_CA_FILE", "namespace": ""},
}

// CheckVocabulary fails t for every flag of app that is not in the vocabulary with the same
// environment variable, and for every deprecated alias that is not hidden.
func CheckVocabulary(t *testing.T, app *cli.App) {
	t.Helper()
	for _, e := range vocabularyErrors(app) {
		t.Error(e)
	}
}

func vocabularyErrors(app *cli.App) []string {
	var errs []string
	for _, f := range app.Flags {
		name := f.Names()[0]
		var env []string
		if ev, ok := f.(interface{ GetEnvVars() []string }); ok {
			env = ev.GetEnvVars()
		}
		want, known := vocabulary[name]
		old, isOld := deprecated[app.Name][name]
		hidden := false
		if v, ok := f.(interface{ IsVisible() bool }); ok {
			hidden = !v.IsVisible()
		}
		switch {
		case isOld && hidden:
			want, known = old, true
		case isOld:
			errs = append(errs, fmt.Sprintf("%s: deprecated --%s must be hidden", app.Name, name))
			continue
		}
		switch {
		case !known:
			errs = append(errs, fmt.Sprintf("%s: --%s is not in clitest's vocabulary: add it there (a name that means one thing everywhere)", app.Name, name))
		case want == "" && len(env) > 0, want != "" && !slices.Equal(env, []string{want}):
			errs = append(errs, fmt.Sprintf("%s: --%s reads %v; the vocabulary says %q", app.Name, name, env, want))
		}
	}
	return errs
}

// FlagEnv returns the environment variable of the vocabulary's flag name ("": none), and
// whether the vocabulary has the flag: how other tests (the hints') check that a flag they
// name exists.
func FlagEnv(name string) (env string, ok bool) {
	env, ok = vocabulary[name]
	return env, ok
}
