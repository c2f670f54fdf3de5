// Package buildwatcher is build-watcher's command line: its flags, read into watchrun.Options.
package buildwatcher

import (
	"log/slog"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/thoth-station/build-watcher/internal/build"
	"github.com/thoth-station/build-watcher/internal/cliapp"
	"github.com/thoth-station/build-watcher/internal/kube"
	"github.com/thoth-station/build-watcher/internal/usage"
	"github.com/thoth-station/build-watcher/internal/watcher"
	"github.com/thoth-station/build-watcher/internal/watchrun"
)

// App is the build-watcher command: its flags, and an action that turns them into the run's
// options.
func App() *cli.App {
	app := cliapp.New("build-watcher", "start one Thoth analysis (a thoth-build-analysis PipelineRun) per finished build, at most N at once")
	app.Flags = []cli.Flag{
		cliapp.KubeconfigFlag("the cluster to watch"),
		&cli.StringSliceFlag{Name: "build-watcher-namespace", Usage: "namespace whose builds are watched; repeat, or separate with commas, for several; none: all the service account may read", EnvVars: []string{"THOTH_WATCHED_NAMESPACE"}},
		cliapp.ListFlag("kinds", "kinds of build to watch: build (OpenShift), pipelinerun, taskrun (Tekton), buildrun (Shipwright)", "THOTH_BUILD_WATCHER_KINDS", "build", "pipelinerun", "taskrun"),
		&cli.StringFlag{Name: "tekton-selector", Usage: "label selector of the Tekton PipelineRuns/TaskRuns that are builds", Value: "build.thoth-station.ninja/analyze=true", EnvVars: []string{"THOTH_TEKTON_SELECTOR"}},
		cliapp.ListFlag("phases", "finished phases to analyse: succeeded, failed, error, cancelled", "THOTH_BUILD_WATCHER_PHASES", "succeeded", "failed", "error", "cancelled"),
		&cli.BoolFlag{Name: "analyze-existing", Usage: "also analyse builds that finished before the watcher was first installed, and send the images of existing ImageStream tags once each", EnvVars: []string{"THOTH_ANALYZE_EXISTING"}},
		&cli.StringFlag{Name: "state-namespace", Usage: "the watcher's own namespace: its state ConfigMap, its Lease, and the default for --pipelinerun-namespace (default: the pod's or kubeconfig's)", EnvVars: []string{"POD_NAMESPACE"}},
		cliapp.DeprecatedFlag("namespace", "", "state-namespace"),
		&cli.StringFlag{Name: "executor", Usage: "tekton (one PipelineRun per build), argo (one Argo Workflow per build) or local (collect, mirror and submit in this process)", Value: watcher.ExecutorTekton, EnvVars: []string{"THOTH_BUILD_WATCHER_EXECUTOR"}},
		&cli.IntFlag{Name: "workers-count", Usage: "analyses running at once: PipelineRuns (the rest wait as PipelineRunPending), Workflows (the rest wait suspended) or local workers", Value: 4, EnvVars: []string{"THOTH_BUILD_WATCHER_WORKERS"}},
		&cli.StringFlag{Name: "pipelinerun-namespace", Usage: "where PipelineRuns (or Workflows) are made when there is no --targets-file (default: --state-namespace)", EnvVars: []string{"THOTH_PIPELINERUN_NAMESPACE"}},
		&cli.StringFlag{Name: "targets-file", Usage: "YAML file of targets (clusters/namespaces with max_concurrent and enabled); re-read when it changes", EnvVars: []string{"THOTH_TARGETS_FILE"}, TakesFile: true},
		&cli.StringFlag{Name: "runs", Usage: "pipeline (the Pipeline, three Tasks) or task (the single-Task variant, one pod)", Value: watcher.RunsPipeline, EnvVars: []string{"THOTH_BUILD_WATCHER_RUNS"}},
		&cli.StringFlag{Name: "pipeline", Usage: "name of the Pipeline (or Task, with --runs task) to run", Value: "thoth-build-analysis", EnvVars: []string{"THOTH_PIPELINE"}},
		&cli.StringFlag{Name: "argo-template", Usage: "with --executor argo: the WorkflowTemplate (or ClusterWorkflowTemplate) the Workflows reference", Value: "thoth-build-analysis", EnvVars: []string{"THOTH_ARGO_TEMPLATE"}},
		&cli.StringFlag{Name: "argo-template-kind", Usage: "with --executor argo: WorkflowTemplate (in the Workflows' namespace) or ClusterWorkflowTemplate", Value: watcher.ArgoWorkflowTemplate, EnvVars: []string{"THOTH_ARGO_TEMPLATE_KIND"}},
		&cli.StringFlag{Name: "service-account", Usage: "service account the PipelineRuns (or Workflows) run as (default: Tekton's default, or the WorkflowTemplate's)", EnvVars: []string{"THOTH_PIPELINERUN_SERVICE_ACCOUNT"}},
		&cli.DurationFlag{Name: "pipelinerun-timeout", Usage: "time limit of each PipelineRun (or Workflow: its activeDeadlineSeconds) (0: none of the watcher's)", EnvVars: []string{"THOTH_PIPELINERUN_TIMEOUT"}},
		&cli.StringFlag{Name: "src-registry-auth-secret", Usage: "Secret (docker config JSON) for pulls of the build's images: the runs' src-registry-auth workspace (Tekton) or src-registry-auth-secret parameter (Argo)", EnvVars: []string{"THOTH_SRC_REGISTRY_AUTH_SECRET"}},
		&cli.StringFlag{Name: "dst-registry-auth-secret", Usage: "Secret (docker config JSON) for the push registry: the runs' dst-registry-auth workspace (Tekton) or dst-registry-auth-secret parameter (Argo)", EnvVars: []string{"THOTH_DST_REGISTRY_AUTH_SECRET"}},
		&cli.StringFlag{Name: "src-registry-auth-file", Usage: "with --executor local: docker config JSON for the build's images", EnvVars: []string{"THOTH_SRC_REGISTRY_AUTH_FILE"}, TakesFile: true},
		&cli.StringFlag{Name: "dst-registry-auth-file", Usage: "with --executor local: docker config JSON for the push registry", EnvVars: []string{"THOTH_DST_REGISTRY_AUTH_FILE"}, TakesFile: true},
		&cli.StringSliceFlag{Name: "insecure-registry", Usage: "allow the mirror plain HTTP to this registry (HOST or HOST:PORT; repeat the flag, or separate with commas): the runs' insecure-registries param, or the local executor's", EnvVars: []string{"THOTH_INSECURE_REGISTRIES"}},
		&cli.StringFlag{Name: "registry-ca-configmap", Usage: "ConfigMap (in the runs' namespace), the runs' registry-ca workspace (Tekton) or registry-ca-configmap parameter (Argo): CAs the mirror trusts for both registries, every key holding a certificate (OpenShift's internal registry: openshift-service-ca.crt)", EnvVars: []string{"THOTH_REGISTRY_CA_CONFIGMAP"}},
		&cli.StringFlag{Name: "thoth-ca-configmap", Usage: "ConfigMap (in the runs' namespace), the runs' thoth-ca workspace (Tekton) or thoth-ca-configmap parameter (Argo): CAs trusted for the Thoth User API", EnvVars: []string{"THOTH_CA_CONFIGMAP"}},
		&cli.StringFlag{Name: cliapp.RegistryCAFile, Usage: "with --executor local: PEM file (or directory of them) of CAs the mirror trusts for both registries", EnvVars: []string{"THOTH_REGISTRY_CA_FILE"}, TakesFile: true},
		&cli.StringFlag{Name: cliapp.ThothCAFile, Usage: "with --executor local: PEM file (or directory of them) of CAs trusted for the Thoth User API", EnvVars: []string{"THOTH_USER_API_CA_FILE"}, TakesFile: true},
		cliapp.DeprecatedFlag(cliapp.OldCAFile, "THOTH_CA_FILE", cliapp.ThothCAFile),
		&cli.StringFlag{Name: cliapp.ThothAPIHost, Usage: "Thoth User API host: a host name (HTTPS), an https:// URL, or an http:// URL for local use", EnvVars: []string{"THOTH_USER_API_HOST"}},
		&cli.StringFlag{Name: "default-registry", Usage: "the registry of build image references that name none (OSBS pushes team/app:tag to the registry in its own configuration), e.g. registry.example.com; passed to each run as default-registry; empty: such images are left out, never sent as if on Docker Hub", EnvVars: []string{"THOTH_DEFAULT_REGISTRY"}},
		&cli.StringFlag{Name: "push-registry", Usage: "mirror each output image there before submitting it (empty: no mirror)", EnvVars: []string{"THOTH_PUSH_REGISTRY"}},
		&cli.StringFlag{Name: "push-mode", Usage: "default or flat: how copies are named in the push registry", Value: "default", EnvVars: []string{"THOTH_PUSH_MODE"}},
		&cli.StringFlag{Name: "environment-type", Usage: "runtime or buildtime", Value: "runtime", EnvVars: []string{"THOTH_ENVIRONMENT_TYPE"}},
		&cli.StringFlag{Name: "cluster-name", Usage: "the watched cluster's name, the first part of each submission's origin (CLUSTER/namespace/name)", EnvVars: []string{"THOTH_CLUSTER_NAME"}},
		&cli.BoolFlag{Name: "no-base", Usage: "do not submit base images", EnvVars: []string{"THOTH_NO_BASE"}},
		&cli.BoolFlag{Name: "no-output", Usage: "do not submit output images", EnvVars: []string{"THOTH_NO_OUTPUT"}},
		&cli.BoolFlag{Name: "no-build-log", Usage: "do not submit build logs", EnvVars: []string{"THOTH_NO_BUILD_LOG"}},
		&cli.BoolFlag{Name: cliapp.Debug, Usage: "run Thoth's analyzers in debug mode", EnvVars: []string{"THOTH_DEBUG"}},
		&cli.BoolFlag{Name: "force", Usage: "make Thoth analyse again even when it has cached results", EnvVars: []string{"THOTH_FORCE"}},
		cliapp.PassTokenFlag("images without other credentials (OpenShift's internal registry)"),
		&cli.BoolFlag{Name: cliapp.NoTLSVerify, Usage: "do not verify the TLS certificate of the Thoth User API", EnvVars: []string{"THOTH_NO_TLS_VERIFY"}},
		&cli.BoolFlag{Name: "no-src-registry-tls-verify", Usage: "do not verify TLS of the build's images' registry", EnvVars: []string{"THOTH_NO_SOURCE_REGISTRY_TLS_VERIFY"}},
		&cli.BoolFlag{Name: "no-dst-registry-tls-verify", Usage: "do not verify TLS of the push registry", EnvVars: []string{"THOTH_NO_DESTINATION_REGISTRY_TLS_VERIFY"}},
		&cli.IntFlag{Name: "analysis-attempts", Usage: "runs one analysis may take in all: a failed run (Thoth or a registry down, a node lost, the run deleted) is followed by a new one while they last", Value: watcher.DefaultAnalysisAttempts, EnvVars: []string{"THOTH_ANALYSIS_ATTEMPTS"}},
		&cli.DurationFlag{Name: "analysis-retry-backoff", Usage: "wait before the second run of a failed analysis; doubled for each later one, up to 1h, with up to 20% added at random", Value: watcher.DefaultRetryBackoff, EnvVars: []string{"THOTH_ANALYSIS_RETRY_BACKOFF"}},
		&cli.IntFlag{Name: "sync-workers", Usage: "builds handled at once (API calls in flight)", Value: 16, EnvVars: []string{"THOTH_SYNC_WORKERS"}},
		&cli.Float64Flag{Name: "kube-api-qps", Usage: "Kubernetes API requests per second (client-go's default of 5 is far too low for bursts; the API server's priority and fairness protects it)", Value: watchrun.WatcherQPS, EnvVars: []string{"THOTH_KUBE_API_QPS"}},
		&cli.IntFlag{Name: "kube-api-burst", Usage: "Kubernetes API request burst", Value: watchrun.WatcherBurst, EnvVars: []string{"THOTH_KUBE_API_BURST"}},
		&cli.BoolFlag{Name: "leader-elect", Usage: "act only while holding the Lease, so that several replicas never act at once (--leader-elect=false: only where exactly one watcher runs)", Value: true, EnvVars: []string{"THOTH_LEADER_ELECT"}},
		&cli.DurationFlag{Name: "leader-elect-lease-duration", Usage: "how long a leader that stopped renewing blocks the others", Value: 15 * time.Second, EnvVars: []string{"THOTH_LEADER_ELECT_LEASE_DURATION"}},
		&cli.StringFlag{Name: "leader-elect-identity", Usage: "this replica's name in the Lease (default: host name and a random suffix)", EnvVars: []string{"POD_NAME"}},
		&cli.StringFlag{Name: "metrics-address", Usage: "address of /metrics, /healthz and /readyz (empty: not served)", Value: ":8080", EnvVars: []string{"THOTH_METRICS_ADDRESS"}},
	}
	cliapp.SetAction(app, run, kube.LogThrough)
	return app
}

func run(cCtx *cli.Context, logger *slog.Logger) error {
	var kinds []build.Kind
	for _, k := range cliapp.List(cCtx.StringSlice("kinds")...) {
		kind := build.Kind(strings.ToLower(k))
		if (build.Ref{Kind: kind, Namespace: "x", Name: "x"}).Validate() != nil {
			return usage.Errorf("--kinds: %q is not one of %v", k, build.Kinds())
		}
		kinds = append(kinds, kind)
	}
	var phases []build.Phase
	for _, p := range cliapp.List(cCtx.StringSlice("phases")...) {
		phase, ok := build.ParsePhase(p)
		if !ok {
			return usage.Errorf("--phases: %q is not one of %v", p, build.Phases())
		}
		phases = append(phases, phase)
	}
	namespaces := cliapp.List(cCtx.StringSlice("build-watcher-namespace")...)
	insecure := cliapp.List(cCtx.StringSlice("insecure-registry")...)
	o := watchrun.Options{
		Kubeconfig:     cCtx.String(cliapp.Kubeconfig),
		QPS:            float32(cCtx.Float64("kube-api-qps")),
		Burst:          cCtx.Int("kube-api-burst"),
		MetricsAddress: cCtx.String("metrics-address"),
		LeaderElect:    cCtx.Bool("leader-elect"),
		LeaseDuration:  cCtx.Duration("leader-elect-lease-duration"),
		Identity:       cCtx.String("leader-elect-identity"),
		Watcher: watcher.Config{
			Namespaces:          namespaces,
			Kinds:               kinds,
			TektonSelector:      cCtx.String("tekton-selector"),
			Phases:              phases,
			AnalyzeExisting:     cCtx.Bool("analyze-existing"),
			StateNamespace:      cliapp.StringOrDeprecated(cCtx, "state-namespace", "namespace"),
			Executor:            cCtx.String("executor"),
			Workers:             cCtx.Int("workers-count"),
			TargetsFile:         cCtx.String("targets-file"),
			RunNamespace:        cCtx.String("pipelinerun-namespace"),
			Runs:                cCtx.String("runs"),
			Pipeline:            cCtx.String("pipeline"),
			ArgoTemplate:        cCtx.String("argo-template"),
			ArgoTemplateKind:    cCtx.String("argo-template-kind"),
			ServiceAccount:      cCtx.String("service-account"),
			Timeout:             cCtx.Duration("pipelinerun-timeout"),
			SrcAuthSecret:       cCtx.String("src-registry-auth-secret"),
			DstAuthSecret:       cCtx.String("dst-registry-auth-secret"),
			SrcAuthFile:         cCtx.String("src-registry-auth-file"),
			DstAuthFile:         cCtx.String("dst-registry-auth-file"),
			InsecureRegistries:  insecure,
			RegistryCAConfigMap: cCtx.String("registry-ca-configmap"),
			ThothCAConfigMap:    cCtx.String("thoth-ca-configmap"),
			RegistryCAFile:      cCtx.String(cliapp.RegistryCAFile),
			ThothCAFile:         cliapp.StringOrDeprecated(cCtx, cliapp.ThothCAFile, cliapp.OldCAFile),
			SyncWorkers:         cCtx.Int("sync-workers"),
			AnalysisAttempts:    cCtx.Int("analysis-attempts"),
			RetryBackoff:        cCtx.Duration("analysis-retry-backoff"),
			Logger:              logger,
			Analysis: watcher.Analysis{
				ThothHost:              cCtx.String(cliapp.ThothAPIHost),
				PushRegistry:           cCtx.String("push-registry"),
				DefaultRegistry:        cCtx.String("default-registry"),
				PushMode:               cCtx.String("push-mode"),
				EnvironmentType:        cCtx.String("environment-type"),
				Cluster:                cCtx.String("cluster-name"),
				NoBase:                 cCtx.Bool("no-base"),
				NoOutput:               cCtx.Bool("no-output"),
				NoBuildLog:             cCtx.Bool("no-build-log"),
				Debug:                  cCtx.Bool(cliapp.Debug),
				Force:                  cCtx.Bool("force"),
				PassToken:              cCtx.Bool(cliapp.PassToken),
				NoTLSVerify:            cCtx.Bool(cliapp.NoTLSVerify),
				NoSrcRegistryTLSVerify: cCtx.Bool("no-src-registry-tls-verify"),
				NoDstRegistryTLSVerify: cCtx.Bool("no-dst-registry-tls-verify"),
			},
		},
	}
	return watchrun.Run(cCtx.Context, o)
}
