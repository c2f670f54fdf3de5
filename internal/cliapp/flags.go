package cliapp

// This file holds the command-line flags that several binaries share, in groups (Thoth,
// registries per side, Kubernetes client, output and logging), with the environment
// variables of the original build-watcher bot, and turns them into values.

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/thoth-station/build-watcher/internal/thoth"
)

// Flag names shared by the binaries.
const (
	ThothAPIHost   = "thoth-api-host"
	NoTLSVerify    = "no-tls-verify"
	ThothCAFile    = "thoth-ca-file"
	RegistryCAFile = "registry-ca-file"
	// OldCAFile is the name both used before: kept one release as a deprecated alias.
	OldCAFile      = "ca-file"
	RequestTimeout = "request-timeout"
	RetryAttempts  = "retry-attempts"
	RetryMaxTime   = "retry-max-time"
	PassToken      = "pass-token"
	ResultsDir     = "results-dir"
	Verbose        = "verbose"
	LogFormat      = "log-format"
	Debug          = "debug"
	Kubeconfig     = "kubeconfig"
)

// Side is one end of an image's journey: "src" or "dst".
type Side string

// The two sides.
const (
	Src Side = "src"
	Dst Side = "dst"
)

// Registry holds one side's registry flags.
type Registry struct {
	User, Password, AuthFile string
	NoTLSVerify              bool
}

// env returns how the original bot spelled the side in its variables: short in the
// credential variables (SRC), long in the TLS ones (SOURCE).
func (s Side) env() (short, long string) {
	if s == Src {
		return "SRC", "SOURCE"
	}
	return "DST", "DESTINATION"
}

// RegistryFlags returns the credential and TLS flags of one side: --<side>-registry-user,
// --<side>-registry-password, --<side>-registry-auth-file and --no-<side>-registry-tls-verify.
// what says which images the side is for, e.g. "the base image".
func RegistryFlags(side Side, what string) []cli.Flag {
	s := string(side)
	upper, long := side.env()
	return []cli.Flag{
		&cli.StringFlag{
			Name:    s + "-registry-user",
			Usage:   "registry user for " + what + " (with --" + s + "-registry-password)",
			EnvVars: []string{"THOTH_" + upper + "_REGISTRY_USER"},
		},
		&cli.StringFlag{
			Name:    s + "-registry-password",
			Usage:   "registry password or token for " + what + "; prefer the environment variable, arguments are visible to other processes",
			EnvVars: []string{"THOTH_" + upper + "_REGISTRY_PASSWORD"},
		},
		&cli.StringFlag{
			Name:      s + "-registry-auth-file",
			Usage:     "docker config JSON (or a directory holding .dockerconfigjson, as a Secret mounted by Tekton) whose entry for the registry of " + what + " is used",
			EnvVars:   []string{"THOTH_" + upper + "_REGISTRY_AUTH_FILE"},
			TakesFile: true,
		},
		&cli.BoolFlag{
			Name:    "no-" + s + "-registry-tls-verify",
			Usage:   "do not verify the TLS certificate of the registry of " + what,
			EnvVars: []string{"THOTH_NO_" + long + "_REGISTRY_TLS_VERIFY"},
		},
	}
}

// RegistryValues reads one side's registry flags.
func RegistryValues(cCtx *cli.Context, side Side) Registry {
	s := string(side)
	return Registry{
		User:        cCtx.String(s + "-registry-user"),
		Password:    cCtx.String(s + "-registry-password"),
		AuthFile:    cCtx.String(s + "-registry-auth-file"),
		NoTLSVerify: cCtx.Bool("no-" + s + "-registry-tls-verify"),
	}
}

// ThothFlags returns the flags that reach the Thoth User API.
func ThothFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{
			Name:    ThothAPIHost,
			Usage:   "Thoth User API host: a host name (HTTPS), an https:// URL, or an http:// URL for local use",
			EnvVars: []string{"THOTH_USER_API_HOST"},
		},
		&cli.BoolFlag{
			Name:    NoTLSVerify,
			Usage:   "do not verify the TLS certificate of the Thoth User API",
			EnvVars: []string{"THOTH_NO_TLS_VERIFY"},
		},
		&cli.StringFlag{
			Name:      ThothCAFile,
			Usage:     "PEM file of extra CA certificates to trust for the Thoth User API, or a directory of them (a mounted ConfigMap or Secret: every file holding a certificate)",
			EnvVars:   []string{"THOTH_USER_API_CA_FILE"},
			TakesFile: true,
		},
		DeprecatedFlag(OldCAFile, "THOTH_CA_FILE", ThothCAFile),
		&cli.DurationFlag{
			Name:    RequestTimeout,
			Usage:   "time limit of one request to Thoth",
			Value:   thoth.DefaultRequestTimeout,
			EnvVars: []string{"THOTH_REQUEST_TIMEOUT"},
		},
		&cli.IntFlag{
			Name:    RetryAttempts,
			Usage:   "attempts per request when Thoth fails transiently (5xx, 429, timeouts, resets)",
			Value:   thoth.DefaultMaxAttempts,
			EnvVars: []string{"THOTH_RETRY_ATTEMPTS"},
		},
		&cli.DurationFlag{
			Name:    RetryMaxTime,
			Usage:   "time limit of one request to Thoth, retries and waits included",
			Value:   thoth.DefaultMaxElapsed,
			EnvVars: []string{"THOTH_RETRY_MAX_TIME"},
		},
	}
}

// Thoth holds the values of ThothFlags.
type Thoth struct {
	Host           string
	NoTLSVerify    bool
	CAFile         string
	RequestTimeout time.Duration
	RetryAttempts  int
	RetryMaxTime   time.Duration
}

// ThothValues reads the values of ThothFlags.
func ThothValues(cCtx *cli.Context) Thoth {
	return Thoth{
		Host:           cCtx.String(ThothAPIHost),
		NoTLSVerify:    cCtx.Bool(NoTLSVerify),
		CAFile:         StringOrDeprecated(cCtx, ThothCAFile, OldCAFile),
		RequestTimeout: cCtx.Duration(RequestTimeout),
		RetryAttempts:  cCtx.Int(RetryAttempts),
		RetryMaxTime:   cCtx.Duration(RetryMaxTime),
	}
}

// DeprecatedFlag is a string flag kept one release under its old name (and environment
// variable) after a rename: hidden from --help, read by StringOrDeprecated, which warns.
// oldEnv may be "" when the variable stays with the new name.
func DeprecatedFlag(old, oldEnv, replacement string) cli.Flag {
	f := &cli.StringFlag{Name: old, Usage: "deprecated: use --" + replacement, Hidden: true}
	if oldEnv != "" {
		f.EnvVars = []string{oldEnv}
	}
	return f
}

// StringOrDeprecated is the value of the flag name, else of its deprecated alias old,
// with a warning on stderr naming the replacement whenever the old name is used.
func StringOrDeprecated(cCtx *cli.Context, name, old string) string {
	if useDeprecated(cCtx, name, old) {
		return cCtx.String(old)
	}
	return cCtx.String(name)
}

// useDeprecated reports whether the deprecated flag old gives the value of name, warning
// whenever old is set.
func useDeprecated(cCtx *cli.Context, name, old string) bool {
	if !cCtx.IsSet(old) {
		return false
	}
	replacement, oldName := describeFlag(cCtx, name), describeFlag(cCtx, old)
	if cCtx.IsSet(name) {
		fmt.Fprintf(cCtx.App.ErrWriter, "%s: %s is deprecated and ignored: %s is set\n", cCtx.App.Name, oldName, replacement)
		return false
	}
	fmt.Fprintf(cCtx.App.ErrWriter, "%s: %s is deprecated: use %s\n", cCtx.App.Name, oldName, replacement)
	return true
}

// describeFlag is "--name (ENV)", or "--name" for a flag without a variable.
func describeFlag(cCtx *cli.Context, name string) string {
	for _, f := range cCtx.App.Flags {
		if !slices.Contains(f.Names(), name) {
			continue
		}
		if ev, ok := f.(interface{ GetEnvVars() []string }); ok && len(ev.GetEnvVars()) > 0 {
			return "--" + name + " (" + ev.GetEnvVars()[0] + ")"
		}
	}
	return "--" + name
}

// PassTokenFlag is --pass-token.
func PassTokenFlag(what string) cli.Flag {
	return &cli.BoolFlag{
		Name:    PassToken,
		Usage:   "use the service-account token (in a pod) or the kubeconfig's token as the password of user build-watcher for " + what,
		EnvVars: []string{"THOTH_PASS_TOKEN"},
	}
}

// KubeconfigFlag is --kubeconfig ($KUBECONFIG), described as kube.Load reads it: the files
// given, else ~/.kube/config, else the pod's service account. what says what it is for.
func KubeconfigFlag(what string) cli.Flag {
	return &cli.StringFlag{
		Name:      Kubeconfig,
		Usage:     what + ": a kubeconfig file, or files joined by ':' as in $KUBECONFIG (default: ~/.kube/config, else the pod's service account when running in a cluster)",
		EnvVars:   []string{"KUBECONFIG"},
		TakesFile: true,
	}
}

// ResultsDirFlag is --results-dir.
func ResultsDirFlag() cli.Flag {
	return &cli.StringFlag{
		Name:      ResultsDir,
		Usage:     "directory to write Tekton results into, one file per result (in a Task: $(results.<name>.path)'s directory, /tekton/results)",
		EnvVars:   []string{"THOTH_RESULTS_DIR"},
		TakesFile: true,
	}
}

// ListFlag is a list-valued flag, the same in every binary: repeat it, or separate values
// with commas (in its environment variable too); read it with List(cCtx.StringSlice(name)...).
func ListFlag(name, usage, env string, defaults ...string) cli.Flag {
	f := &cli.StringSliceFlag{Name: name, Usage: usage + "; repeat the flag, or separate with commas", EnvVars: []string{env}}
	if len(defaults) > 0 {
		f.Value = cli.NewStringSlice(defaults...)
	}
	return f
}

// List reads a list-valued flag or environment variable: each value is split at commas,
// entries are trimmed, and blank ones are dropped, so that an empty value ("" in a Task
// param) or a stray comma means no entry rather than an empty name. The result is never
// nil: a flag set to nothing reads as an empty list, which callers can tell from a flag
// not read at all.
func List(values ...string) []string {
	out := []string{}
	for _, v := range values {
		for _, entry := range strings.Split(v, ",") {
			if entry = strings.TrimSpace(entry); entry != "" {
				out = append(out, entry)
			}
		}
	}
	return out
}
