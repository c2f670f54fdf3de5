package watcher

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	buildclient "github.com/openshift/client-go/build/clientset/versioned"
	imageclient "github.com/openshift/client-go/image/clientset/versioned"
	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/thoth-station/build-watcher/internal/build"
	"github.com/thoth-station/build-watcher/internal/usage"
)

// Executors.
const (
	ExecutorTekton = "tekton"
	ExecutorArgo   = "argo"
	ExecutorLocal  = "local"
)

// What the PipelineRuns reference.
const (
	RunsPipeline = "pipeline" // the Pipeline thoth-build-analysis (three Tasks)
	RunsTask     = "task"     // the single-Task variant thoth-build-analysis (one pod)
)

// Analysis is what every analysis run is asked to do: the params of thoth-build-analysis.
type Analysis struct {
	ThothHost    string
	PushRegistry string
	PushMode     string
	// DefaultRegistry qualifies the builds' image references that name no registry host
	// (the Pipeline's default-registry param); empty: they are left out.
	DefaultRegistry string
	EnvironmentType string
	// Cluster names the watched cluster in each run's origin ("CLUSTER/namespace/name").
	Cluster                                        string
	NoBase, NoOutput, NoBuildLog, Debug, Force     bool
	PassToken                                      bool
	NoTLSVerify                                    bool
	NoSrcRegistryTLSVerify, NoDstRegistryTLSVerify bool
}

// Config is one watcher.
type Config struct {
	// Namespaces are watched; empty: all the service account may read.
	Namespaces []string
	// Kinds are the kinds of build watched.
	Kinds []build.Kind
	// TektonSelector selects the Tekton PipelineRuns/TaskRuns that are builds.
	TektonSelector string
	// Phases are the finished phases analysed.
	Phases []build.Phase
	// AnalyzeExisting analyses builds that finished before the watcher was first installed,
	// and submits the images of existing ImageStream tags (once each).
	AnalyzeExisting bool
	// StateNamespace holds the state ConfigMap and the leader-election Lease.
	StateNamespace string

	// Executor is ExecutorTekton, ExecutorArgo or ExecutorLocal.
	Executor string
	// Workers is the number of analyses running at once (the default target's
	// max_concurrent, or the local executor's worker count).
	Workers int
	// TargetsFile, when set, replaces the default target (the watcher's cluster,
	// RunNamespace) with the targets it lists; it is re-read when it changes.
	TargetsFile string
	// Targets are the targets file's, loaded and checked before anything starts (LoadTargets);
	// empty: Run loads TargetsFile itself.
	Targets []TargetSpec
	// RunNamespace is the default target's namespace.
	RunNamespace string
	// Runs is RunsPipeline or RunsTask; Pipeline is the name referenced.
	Runs     string
	Pipeline string
	// ArgoTemplate names the template of the Workflows (--executor argo), of kind
	// ArgoTemplateKind: ArgoWorkflowTemplate (in the runs' namespace) or
	// ArgoClusterWorkflowTemplate.
	ArgoTemplate     string
	ArgoTemplateKind string
	// ServiceAccount runs the PipelineRuns (or Workflows); Timeout bounds each.
	ServiceAccount string
	Timeout        time.Duration
	// SrcAuthSecret and DstAuthSecret are Secrets bound to the src-registry-auth and
	// dst-registry-auth workspaces (docker config JSON).
	SrcAuthSecret, DstAuthSecret string
	// SrcAuthFile and DstAuthFile are docker config JSON files for the local executor.
	SrcAuthFile, DstAuthFile string
	// InsecureRegistries may be reached over plain HTTP by the mirror: the runs' param
	// insecure-registries, or the local executor's.
	InsecureRegistries []string
	// RegistryCAConfigMap and ThothCAConfigMap are ConfigMaps bound to the registry-ca and
	// thoth-ca workspaces: CAs for both registries of the copy, and for the User API.
	RegistryCAConfigMap, ThothCAConfigMap string
	// RegistryCAFile and ThothCAFile are the same for the local executor: PEM files, or
	// directories of them.
	RegistryCAFile, ThothCAFile string

	Analysis Analysis

	// AnalysisAttempts is how many runs one analysis may take in all (a failed run is
	// followed by a new one while the budget lasts), at least 1 (DefaultAnalysisAttempts).
	AnalysisAttempts int
	// RetryBackoff is the wait before the second run, positive (DefaultRetryBackoff); it
	// doubles for each later one, up to MaxRetryBackoff.
	RetryBackoff time.Duration

	// SyncWorkers process build events at once (API calls in flight).
	SyncWorkers int
	// Resync re-delivers every cached object this often (0: never).
	Resync time.Duration

	Logger *slog.Logger
}

// Clients are the API clients of the watched cluster.
type Clients struct {
	REST   *rest.Config
	Kube   kubernetes.Interface
	Build  buildclient.Interface
	Image  imageclient.Interface
	Tekton tektonclient.Interface
	// Dynamic reaches Argo's Workflows (--executor argo).
	Dynamic dynamic.Interface
	// Collect reads builds for the local executor.
	Collect build.Clients
}

// NewClients makes the clients from one configuration.
func NewClients(cfg *rest.Config) (Clients, error) {
	c := Clients{REST: cfg}
	var err error
	if c.Kube, err = kubernetes.NewForConfig(cfg); err != nil {
		return c, fmt.Errorf("making the Kubernetes client: %w", err)
	}
	if c.Build, err = buildclient.NewForConfig(cfg); err != nil {
		return c, fmt.Errorf("making the OpenShift build client: %w", err)
	}
	if c.Image, err = imageclient.NewForConfig(cfg); err != nil {
		return c, fmt.Errorf("making the OpenShift image client: %w", err)
	}
	if c.Tekton, err = tektonclient.NewForConfig(cfg); err != nil {
		return c, fmt.Errorf("making the Tekton client: %w", err)
	}
	if c.Dynamic, err = dynamic.NewForConfig(cfg); err != nil {
		return c, fmt.Errorf("making the dynamic client: %w", err)
	}
	if c.Collect, err = build.NewClients(cfg); err != nil {
		return c, err
	}
	return c, nil
}

// Validate reports the first thing wrong with the configuration, as a usage error.
func (c *Config) Validate() error {
	if err := c.ValidateFlags(); err != nil {
		return err
	}
	if c.StateNamespace == "" {
		return usage.Errorf("--state-namespace (the watcher's own, for its state and lease) is required: set it or POD_NAMESPACE")
	}
	if c.Executor != ExecutorLocal && c.TargetsFile == "" {
		if errs := validation.IsDNS1123Label(c.RunNamespace); len(errs) > 0 {
			return usage.Errorf("--pipelinerun-namespace %q: %s", c.RunNamespace, strings.Join(errs, "; "))
		}
	}
	return nil
}

// ValidateFlags checks what does not depend on the cluster configuration (the namespaces
// may default to the kubeconfig's).
func (c *Config) ValidateFlags() error {
	for _, ns := range c.Namespaces {
		if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
			return usage.Errorf("--build-watcher-namespace %q: %s", ns, strings.Join(errs, "; "))
		}
	}
	if len(c.Kinds) == 0 {
		return usage.Errorf("--kinds: watch at least one of %v", build.Kinds())
	}
	if len(c.Phases) == 0 {
		return usage.Errorf("--phases: give at least one of %v", build.Phases())
	}
	switch c.Executor {
	case ExecutorTekton, ExecutorArgo, ExecutorLocal:
	default:
		return usage.Errorf("--executor must be %s, %s or %s, not %q", ExecutorTekton, ExecutorArgo, ExecutorLocal, c.Executor)
	}
	if c.Workers < 1 {
		return usage.Errorf("--workers-count must be at least 1, not %d", c.Workers)
	}
	if c.AnalysisAttempts < 1 {
		return usage.Errorf("--analysis-attempts must be at least 1, not %d", c.AnalysisAttempts)
	}
	if c.RetryBackoff <= 0 {
		return usage.Errorf("--analysis-retry-backoff must be positive, not %s", c.RetryBackoff)
	}
	if c.SyncWorkers < 1 {
		return usage.Errorf("--sync-workers must be at least 1, not %d", c.SyncWorkers)
	}
	if err := build.ValidateDefaultRegistry(c.Analysis.DefaultRegistry); err != nil {
		return usage.Errorf("--default-registry: %w", err)
	}
	if c.Analysis.ThothHost == "" {
		return usage.Errorf("--thoth-api-host is required (or THOTH_USER_API_HOST)")
	}
	switch c.Executor {
	case ExecutorTekton:
		switch c.Runs {
		case RunsPipeline, RunsTask:
		default:
			return usage.Errorf("--runs must be %s or %s, not %q", RunsPipeline, RunsTask, c.Runs)
		}
		if c.Pipeline == "" {
			return usage.Errorf("--pipeline must name the Pipeline (or Task) to run")
		}
	case ExecutorArgo:
		switch c.ArgoTemplateKind {
		case ArgoWorkflowTemplate, ArgoClusterWorkflowTemplate:
		default:
			return usage.Errorf("--argo-template-kind must be %s or %s, not %q", ArgoWorkflowTemplate, ArgoClusterWorkflowTemplate, c.ArgoTemplateKind)
		}
		if errs := validation.IsDNS1123Subdomain(c.ArgoTemplate); len(errs) > 0 {
			return usage.Errorf("--argo-template %q: %s", c.ArgoTemplate, strings.Join(errs, "; "))
		}
	case ExecutorLocal:
		if c.TargetsFile != "" {
			return usage.Wrap(errors.New("--targets-file is for --executor tekton or argo; the local executor runs in this process"))
		}
	}
	// The watcher's own credentials can read and patch builds in every watched namespace:
	// they must never reach Thoth. In a PipelineRun, --pass-token sends the run's service
	// account's token, which needs only to pull; in this process there is no such token.
	if c.Analysis.PassToken && c.Executor == ExecutorLocal {
		return usage.Errorf("--pass-token with --executor local would send this process's own credentials to Thoth: " +
			"give registry credentials with --src-registry-auth-file instead, or use --executor tekton, whose runs send their own service account's token")
	}
	if c.Analysis.PassToken && c.AnalyzeExisting {
		return usage.Errorf("--pass-token with --analyze-existing would send the watcher's own credentials to Thoth with the images of existing ImageStream tags: " +
			"leave one of them out (the build analyses' runs send their own service account's token)")
	}
	for _, f := range []struct {
		flag, value string
		local       bool // for --executor local only, else for the others only
		instead     string
	}{
		{"--registry-ca-configmap", c.RegistryCAConfigMap, false, "--registry-ca-file"},
		{"--thoth-ca-configmap", c.ThothCAConfigMap, false, "--thoth-ca-file"},
		{"--registry-ca-file", c.RegistryCAFile, true, "--registry-ca-configmap"},
		{"--thoth-ca-file", c.ThothCAFile, true, "--thoth-ca-configmap"},
	} {
		if f.value == "" || f.local == (c.Executor == ExecutorLocal) {
			continue
		}
		if f.local {
			return usage.Errorf("%s is for --executor local; with --executor %s use %s", f.flag, c.Executor, f.instead)
		}
		return usage.Errorf("%s is for --executor tekton or argo; with --executor local use %s", f.flag, f.instead)
	}
	return nil
}
