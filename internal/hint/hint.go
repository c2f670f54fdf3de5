// Package hint turns what a library error knows about a failure (which side's credentials,
// which CA, which limit) into what to do about it, in the words of where the user stands: a
// flag on the command line, a param or workspace of one of our Tasks, a flag or ConfigMap key
// of the watcher.
//
// Libraries never spell a setting. Their errors state the fact and implement Hinter, naming
// settings by Setting; the edge (cliapp for the binaries, the watcher for its annotations and
// Events) calls Explain with its Where.
package hint

import (
	"errors"
	"fmt"
	"strings"
)

// Setting is something a user sets to fix a failure, named apart from how it is spelled.
type Setting int

// The settings hints name.
const (
	// RegistryCA is the CAs trusted for both registries.
	RegistryCA Setting = iota + 1
	// SrcRegistryCredentials are the credentials for the build's images (the source side).
	SrcRegistryCredentials
	// DstRegistryCredentials are the credentials for the push registry (the destination side).
	DstRegistryCredentials
	// NoSrcRegistryTLSVerify turns TLS verification off for the source registry.
	NoSrcRegistryTLSVerify
	// NoDstRegistryTLSVerify turns TLS verification off for the destination registry.
	NoDstRegistryTLSVerify
	// InsecureRegistry allows plain HTTP to a registry.
	InsecureRegistry
	// PassToken sends the pod's service-account token as registry password.
	PassToken
	// ThothCA is the CAs trusted for the Thoth User API.
	ThothCA
	// NoThothTLSVerify turns TLS verification off for the Thoth User API.
	NoThothTLSVerify
	// ThothAPIHost is where the Thoth User API is.
	ThothAPIHost
	// MaxBodySize bounds the body of a request to Thoth.
	MaxBodySize
)

// Settings returns every Setting, for tests that check each place spells each one.
func Settings() []Setting {
	return []Setting{RegistryCA, SrcRegistryCredentials, DstRegistryCredentials, NoSrcRegistryTLSVerify,
		NoDstRegistryTLSVerify, InsecureRegistry, PassToken, ThothCA, NoThothTLSVerify, ThothAPIHost, MaxBodySize}
}

// Where is where the user stands, which decides how a setting is spelled.
type Where int

// The places a user reads our errors from.
const (
	// CLI is a binary run by hand or by a script: flags.
	CLI Where = iota
	// Task is a step of one of our Tasks (or the Pipeline): params and workspaces.
	Task
	// WatcherCluster is build-watcher with --executor tekton or argo, whose runs take
	// Secrets and ConfigMaps by name: its flags and ConfigMap keys.
	WatcherCluster
	// WatcherLocal is build-watcher with --executor local: its flags and ConfigMap keys.
	WatcherLocal
	// Argo is a step of our Argo WorkflowTemplate (tasks/argo): its parameters.
	Argo
)

// TaskEnv is the environment variable every step of our Tasks sets to "true", and every
// step of our Argo templates to "argo", so that a binary words its hints in params and
// workspaces, or in the template's parameters.
const TaskEnv = "THOTH_IN_TASK"

// FromEnv returns Task when getenv(TaskEnv) is "true", Argo when it is "argo", else CLI.
func FromEnv(getenv func(string) string) Where {
	switch getenv(TaskEnv) {
	case "true":
		return Task
	case "argo":
		return Argo
	}
	return CLI
}

// String names w, for tests and logs.
func (w Where) String() string {
	switch w {
	case CLI:
		return "command line"
	case Task:
		return "Task"
	case WatcherCluster:
		return "build-watcher (tekton or argo executor)"
	case WatcherLocal:
		return "build-watcher (local executor)"
	case Argo:
		return "Argo template"
	}
	return "unknown"
}

// Spell returns how the user at w sets s, or "" when w offers no way to set it.
func (w Where) Spell(s Setting) string {
	switch w {
	case CLI:
		return cliSpelling(s)
	case Task:
		return taskSpelling(s)
	case WatcherCluster, WatcherLocal:
		return w.watcherSpelling(s)
	case Argo:
		return argoSpelling(s)
	}
	return ""
}

func cliSpelling(s Setting) string {
	switch s {
	case RegistryCA:
		return "--registry-ca-file"
	case SrcRegistryCredentials:
		return "--src-registry-user/--src-registry-password or --src-registry-auth-file"
	case DstRegistryCredentials:
		return "--dst-registry-user/--dst-registry-password or --dst-registry-auth-file"
	case NoSrcRegistryTLSVerify:
		return "--no-src-registry-tls-verify"
	case NoDstRegistryTLSVerify:
		return "--no-dst-registry-tls-verify"
	case InsecureRegistry:
		return "--insecure-registry HOST:PORT"
	case PassToken:
		return "--pass-token"
	case ThothCA:
		return "--thoth-ca-file"
	case NoThothTLSVerify:
		return "--no-tls-verify"
	case ThothAPIHost:
		return "--thoth-api-host (or THOTH_USER_API_HOST)"
	case MaxBodySize:
		return "--max-body-size"
	}
	return ""
}

func taskSpelling(s Setting) string {
	switch s {
	case RegistryCA:
		return "the registry-ca workspace"
	case SrcRegistryCredentials:
		return "the src-registry-auth workspace (a docker config Secret)"
	case DstRegistryCredentials:
		return "the dst-registry-auth workspace (a docker config Secret)"
	case NoSrcRegistryTLSVerify:
		return "the no-src-registry-tls-verify param"
	case NoDstRegistryTLSVerify:
		return "the no-dst-registry-tls-verify param"
	case InsecureRegistry:
		return "the insecure-registries param"
	case PassToken:
		return "the pass-token param"
	case ThothCA:
		return "the thoth-ca workspace"
	case NoThothTLSVerify:
		return "the no-tls-verify param"
	case ThothAPIHost:
		return "the thoth-api-host param"
	}
	return ""
}

// argoSpelling spells s as a parameter of the WorkflowTemplate thoth-build-analysis.
func argoSpelling(s Setting) string {
	switch s {
	case RegistryCA:
		return "the registry-ca-configmap parameter (a ConfigMap of CA certificates)"
	case SrcRegistryCredentials:
		return "the src-registry-auth-secret parameter (a docker config Secret)"
	case DstRegistryCredentials:
		return "the dst-registry-auth-secret parameter (a docker config Secret)"
	case NoSrcRegistryTLSVerify:
		return "the no-src-registry-tls-verify parameter"
	case NoDstRegistryTLSVerify:
		return "the no-dst-registry-tls-verify parameter"
	case InsecureRegistry:
		return "the insecure-registries parameter"
	case PassToken:
		return "the pass-token parameter"
	case ThothCA:
		return "the thoth-ca-configmap parameter (a ConfigMap of CA certificates)"
	case NoThothTLSVerify:
		return "the no-tls-verify parameter"
	case ThothAPIHost:
		return "the thoth-api-host parameter"
	}
	return ""
}

// watcherSpelling spells s as the watcher's flag with its ConfigMap key (the environment
// variable the Deployment reads it from).
func (w Where) watcherSpelling(s Setting) string {
	local := w == WatcherLocal
	switch s {
	case RegistryCA:
		if local {
			return "--registry-ca-file (THOTH_REGISTRY_CA_FILE)"
		}
		return "--registry-ca-configmap (THOTH_REGISTRY_CA_CONFIGMAP)"
	case SrcRegistryCredentials:
		if local {
			return "--src-registry-auth-file (THOTH_SRC_REGISTRY_AUTH_FILE)"
		}
		return "--src-registry-auth-secret (THOTH_SRC_REGISTRY_AUTH_SECRET)"
	case DstRegistryCredentials:
		if local {
			return "--dst-registry-auth-file (THOTH_DST_REGISTRY_AUTH_FILE)"
		}
		return "--dst-registry-auth-secret (THOTH_DST_REGISTRY_AUTH_SECRET)"
	case NoSrcRegistryTLSVerify:
		return "--no-src-registry-tls-verify (THOTH_NO_SOURCE_REGISTRY_TLS_VERIFY)"
	case NoDstRegistryTLSVerify:
		return "--no-dst-registry-tls-verify (THOTH_NO_DESTINATION_REGISTRY_TLS_VERIFY)"
	case InsecureRegistry:
		return "--insecure-registry (THOTH_INSECURE_REGISTRIES)"
	case PassToken:
		if local {
			return "" // refused with --executor local: it would send the watcher's own token
		}
		return "--pass-token (THOTH_PASS_TOKEN)"
	case ThothCA:
		if local {
			return "--thoth-ca-file (THOTH_USER_API_CA_FILE)"
		}
		return "--thoth-ca-configmap (THOTH_CA_CONFIGMAP)"
	case NoThothTLSVerify:
		return "--no-tls-verify (THOTH_NO_TLS_VERIFY)"
	case ThothAPIHost:
		return "--thoth-api-host (THOTH_USER_API_HOST)"
	}
	return ""
}

// Hinter is an error that knows what to do about itself.
type Hinter interface {
	error
	// Hint says what the user at w does about the error, or "" when nothing there helps.
	Hint(w Where) string
}

// Explain returns err's text followed by the hint of the first Hinter in its chain, worded
// for the user at w.
func Explain(err error, w Where) string {
	if err == nil {
		return ""
	}
	msg := err.Error()
	var h Hinter
	if errors.As(err, &h) {
		if s := h.Hint(w); s != "" {
			return msg + "; " + s
		}
	}
	return msg
}

// Alternatives joins the non-empty choices with ", or ": how a hint offers several fixes,
// some of which a place may not have.
func Alternatives(choices ...string) string {
	var kept []string
	for _, c := range choices {
		if c != "" {
			kept = append(kept, c)
		}
	}
	return strings.Join(kept, ", or ")
}

// With returns prefix + w.Spell(s), or "" when w cannot set s: one fix of a hint.
func With(w Where, prefix string, s Setting) string {
	if sp := w.Spell(s); sp != "" {
		return prefix + sp
	}
	return ""
}

// SettingError is a failure whose fix is one setting: a CA file that holds no certificate,
// an empty host, a token that is not there.
type SettingError struct {
	// Setting is what to fix.
	Setting Setting
	// Fix is the hint, with one %s for the setting's spelling: "check %s".
	Fix string
	// Err is the failure, worded without naming the setting's spelling.
	Err error
}

// Wrap returns err as a SettingError: its hint is fix with the setting's spelling for %s.
func Wrap(s Setting, fix string, err error) error {
	if err == nil {
		return nil
	}
	return &SettingError{Setting: s, Fix: fix, Err: err}
}

// Error returns the failure's text.
func (e *SettingError) Error() string { return e.Err.Error() }

// Unwrap returns the failure.
func (e *SettingError) Unwrap() error { return e.Err }

// Hint names the setting to fix at w, or "" when w cannot set it.
func (e *SettingError) Hint(w Where) string {
	sp := w.Spell(e.Setting)
	if sp == "" {
		return ""
	}
	return fmt.Sprintf(e.Fix, sp)
}

// TokenError is a service-account token that cannot be read for PassToken.
func TokenError(err error) error {
	return Wrap(PassToken, "the token is read because of %s: give other credentials, or run in a pod that has one",
		fmt.Errorf("reading the service-account token: %w", err))
}

// AuthFileError is a registry auth file that cannot be used, on the source side (the build's
// images) or the destination side (the push registry).
func AuthFileError(source bool, err error) error {
	setting, side := DstRegistryCredentials, "destination"
	if source {
		setting, side = SrcRegistryCredentials, "source"
	}
	return Wrap(setting, "check %s", fmt.Errorf("the %s registry's auth file: %w", side, err))
}
