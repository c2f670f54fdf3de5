package tektontest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

	"github.com/thoth-station/build-watcher/internal/testenv/controlplane"
	"github.com/thoth-station/build-watcher/internal/testenv/modroot"
	"github.com/thoth-station/build-watcher/internal/testenv/testproc"
)

const (
	// SystemNamespace is where Tekton's controller lives and reads its ConfigMaps.
	SystemNamespace = "tekton-pipelines"
	// ControllerServiceAccount is the identity the controller runs as, with the RBAC of the
	// Tekton release (config/200-*.yaml, 201-*.yaml).
	ControllerServiceAccount = "tekton-pipelines-controller"
	// ControllerBinary is the name `make testenv` gives Tekton's controller in the testenv
	// directory.
	ControllerBinary = "tekton-controller"

	fieldManager = "build-watcher-tests"
	// startedMarker is the controller's log line after its informers have synced.
	startedMarker = `"Starting controllers..."`
)

// applied says whether installConfig applies objects of kind from Tekton's release config/:
// what the controller needs. Webhook configurations are left out on purpose: no webhook
// runs here, and an installed one would make the API server refuse every Tekton object.
func applied(kind string) bool {
	switch kind {
	case "Namespace", "ServiceAccount", "ConfigMap", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding":
		return true
	}
	return false
}

// ControllerOptions configures StartController.
type ControllerOptions struct {
	// BinDir holds tekton-controller; default: controlplane.EnvBinDir or hack/testenv.sh.
	BinDir string
	// FeatureFlags overrides keys of the feature-flags ConfigMap (Tekton's defaults otherwise).
	FeatureFlags map[string]string
	// Defaults overrides keys of the config-defaults ConfigMap.
	Defaults map[string]string
	// StartTimeout bounds the start; default 2 minutes.
	StartTimeout time.Duration
}

// Controller is a running Tekton Pipelines controller (TaskRuns, PipelineRuns, resolution
// requests) talking to the test control plane as its own service account.
type Controller struct {
	controllerProcess
	startup time.Duration
	applied time.Duration
	version string
}

// StartController installs Tekton's system namespace, RBAC and ConfigMaps from the
// github.com/tektoncd/pipeline module in go.mod (its own config/ directory, with the given
// overrides) and starts the controller built by `make testenv`. It returns once the
// controller's informers have synced ("Starting controllers..."). It refuses to run outside
// a private network namespace, since the controller listens on all interfaces (see Main).
// Stop must be called; the process also dies with the test binary.
func StartController(ctx context.Context, cp *controlplane.ControlPlane, opts ControllerOptions) (_ *Controller, err error) {
	began := time.Now()
	if err := requirePrivateNetwork(); err != nil {
		return nil, err
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()
	bin, err := controlplane.BinDir(ctx, opts.BinDir, ControllerBinary)
	if err != nil {
		return nil, err
	}
	binary := filepath.Join(bin, ControllerBinary)
	moduleDir, version, err := tektonModule(ctx)
	if err != nil {
		return nil, err
	}
	if built, err := builtTektonVersion(ctx, binary); err != nil {
		return nil, err
	} else if built != version {
		return nil, fmt.Errorf("%s is Tekton %s but go.mod requires %s (whose CRDs are installed): set the same version in hack/tools/go.mod and run `make testenv`", binary, built, version)
	}
	if err := installConfig(ctx, cp.Config(), filepath.Join(moduleDir, "config"), opts); err != nil {
		return nil, err
	}
	applied := time.Since(began)
	saConfig, err := cp.ServiceAccountConfig(ctx, SystemNamespace, ControllerServiceAccount)
	if err != nil {
		return nil, err
	}
	c := &Controller{version: version, applied: applied}
	defer func() {
		if err != nil {
			c.Stop()
		}
	}()
	kubeconfig, err := c.prepare("tekton-controller", saConfig, SystemNamespace, startedMarker)
	if err != nil {
		return nil, err
	}
	dir := c.dir
	ports, err := testproc.FreePorts(1)
	if err != nil {
		return nil, err
	}
	image := func(name string) string { return "tekton-e2e.invalid/tektoncd/pipeline/" + name + ":" + version }
	c.proc, err = testproc.Start(testproc.Spec{
		Path: binary,
		Args: []string{
			"-kubeconfig", kubeconfig,
			"-disable-ha",
			// No kubelet pulls these: the pod runner stands in for the entrypoint and
			// init containers, so any valid reference does.
			"-entrypoint-image", image("entrypoint"),
			"-nop-image", image("nop"),
			"-sidecarlogresults-image", image("sidecarlogresults"),
			"-workingdirinit-image", image("workingdirinit"),
			"-shell-image", image("busybox"),
			"-shell-image-win", image("powershell"),
		},
		Dir: dir,
		// The variables of Tekton's own Deployment (config/controller.yaml), and nothing of
		// the caller's environment (a developer's KUBECONFIG must not leak in).
		Env: []string{
			"HOME=" + dir,
			"PATH=/usr/bin:/bin",
			"SYSTEM_NAMESPACE=" + SystemNamespace,
			"KUBERNETES_MIN_VERSION=v1.28.0",
			"CONFIG_DEFAULTS_NAME=config-defaults",
			"CONFIG_LOGGING_NAME=config-logging",
			"CONFIG_OBSERVABILITY_NAME=config-observability",
			"CONFIG_FEATURE_FLAGS_NAME=feature-flags",
			"CONFIG_LEADERELECTION_NAME=config-leader-election-controller",
			"CONFIG_SPIRE=config-spire",
			"METRICS_DOMAIN=tekton.dev/pipeline",
			"PROBES_PORT=" + strconv.Itoa(ports[0]),
		},
		Log: c.log,
	})
	if err != nil {
		return nil, err
	}
	select {
	case <-c.log.seen:
	case <-c.proc.Done():
		return nil, fmt.Errorf("tekton controller exited during start-up: %w; its log:\n%s", c.proc.Exited(), c.log.tail(4096))
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the tekton controller to sync its informers: %w; its log:\n%s", ctx.Err(), c.log.tail(4096))
	}
	c.startup = time.Since(began)
	return c, nil
}

// controllerProcess is a controller's process, with a directory of its own (its
// kubeconfig, its log) and its log's last lines.
type controllerProcess struct {
	proc *testproc.Process
	dir  string
	log  *markerWriter
}

// prepare makes the directory (prefix in its name), writes the kubeconfig of saConfig in
// namespace there and opens the log, which watches for marker; it returns the kubeconfig.
func (c *controllerProcess) prepare(prefix string, saConfig *rest.Config, namespace, marker string) (string, error) {
	dir, err := os.MkdirTemp("", "build-watcher-"+prefix+"-")
	if err != nil {
		return "", fmt.Errorf("making the %s's directory: %w", prefix, err)
	}
	c.dir = dir
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := controlplane.WriteKubeconfig(saConfig, kubeconfig, namespace); err != nil {
		return "", err
	}
	logFile, err := os.Create(filepath.Join(dir, "controller.log"))
	if err != nil {
		return "", err
	}
	c.log = newMarkerWriter(logFile, marker)
	return kubeconfig, nil
}

// Stop stops the controller (SIGTERM, then SIGKILL) and removes its directory.
func (c *controllerProcess) Stop() {
	if c.proc != nil {
		_ = c.proc.Stop(10 * time.Second) // an early exit is in the log
		c.proc = nil
	}
	if c.log != nil {
		c.log.Close()
	}
	if c.dir != "" {
		os.RemoveAll(c.dir)
	}
}

// Log returns the last max bytes the controller logged, for failure reports.
func (c *controllerProcess) Log(max int) string { return c.log.tail(max) }

// Exited returns an error when the controller has exited on its own, else nil (also once
// stopped).
func (c *controllerProcess) Exited() error {
	if c.proc == nil {
		return nil
	}
	return c.proc.Exited()
}

// StartupTime is how long StartController took, configuration included.
func (c *Controller) StartupTime() time.Duration { return c.startup }

// ConfigTime is how long installing Tekton's namespace, RBAC and ConfigMaps took.
func (c *Controller) ConfigTime() time.Duration { return c.applied }

// Version is the Tekton Pipelines version running.
func (c *Controller) Version() string { return c.version }

// tektonModule returns the directory and version of the Tekton module in go.mod.
func tektonModule(ctx context.Context) (dir, version string, err error) {
	root, err := modroot.Find()
	if err != nil {
		return "", "", err
	}
	cmd := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}} {{.Version}}", controlplane.TektonModule)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return "", "", fmt.Errorf("locating %s in the module cache (go mod download): %w", controlplane.TektonModule, err)
	}
	dir, version, ok := strings.Cut(strings.TrimSpace(string(out)), " ")
	if !ok || dir == "" {
		return "", "", fmt.Errorf("locating %s: go list printed %q; run go mod download", controlplane.TektonModule, out)
	}
	return dir, version, nil
}

// builtTektonVersion reads the Tekton version a controller binary was built from.
func builtTektonVersion(ctx context.Context, binary string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "version", "-m", binary).Output()
	if err != nil {
		return "", fmt.Errorf("reading the build info of %s (rebuild it with `make testenv`): %w", binary, err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		// "mod" when the controller's own module is the main module of the build, as
		// `go build github.com/tektoncd/pipeline/cmd/controller` in a tools module makes it.
		if len(f) >= 3 && (f[0] == "mod" || f[0] == "dep") && f[1] == controlplane.TektonModule {
			return f[2], nil
		}
	}
	return "", fmt.Errorf("%s was not built from %s: rebuild it with `make testenv`", binary, controlplane.TektonModule)
}

// installConfig applies the namespace, RBAC and ConfigMaps of Tekton's release config/
// (the top-level YAML files) server-side, with the overrides.
func installConfig(ctx context.Context, admin *rest.Config, dir string, opts ControllerOptions) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return err
	}
	more, err := filepath.Glob(filepath.Join(dir, "*", "*.yaml"))
	if err != nil {
		return err
	}
	for _, f := range more {
		if filepath.Base(filepath.Dir(f)) == "100-namespace" {
			files = append(files, f)
		}
	}
	sort.Strings(files)
	var objs []*unstructured.Unstructured
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
		for {
			var obj unstructured.Unstructured
			if err := dec.Decode(&obj.Object); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				return fmt.Errorf("decoding %s: %w", f, err)
			}
			if obj.Object == nil || !applied(obj.GetKind()) {
				continue
			}
			overrides := map[string]map[string]string{"feature-flags": opts.FeatureFlags, "config-defaults": opts.Defaults}
			if o := overrides[obj.GetName()]; obj.GetKind() == "ConfigMap" && len(o) > 0 {
				for k, v := range o {
					if err := unstructured.SetNestedField(obj.Object, v, "data", k); err != nil {
						return fmt.Errorf("overriding %s in ConfigMap %s: %w", k, obj.GetName(), err)
					}
				}
			}
			objs = append(objs, &obj)
		}
	}
	// Namespaces first, so that namespaced objects find theirs.
	sort.SliceStable(objs, func(i, j int) bool { return objs[i].GetKind() == "Namespace" && objs[j].GetKind() != "Namespace" })
	dyn, err := dynamic.NewForConfig(admin)
	if err != nil {
		return err
	}
	disco, err := discovery.NewDiscoveryClientForConfig(admin)
	if err != nil {
		return err
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disco))
	for _, obj := range objs {
		if err := applyObject(ctx, dyn, mapper, obj); err != nil {
			return err
		}
	}
	return nil
}

// applyObject applies obj server-side as the tests' field manager.
func applyObject(ctx context.Context, dyn dynamic.Interface, mapper meta.RESTMapper, obj *unstructured.Unstructured) error {
	gvk := obj.GroupVersionKind()
	mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return fmt.Errorf("finding the resource of %s %s: %w", gvk, obj.GetName(), err)
	}
	data, err := obj.MarshalJSON()
	if err != nil {
		return err
	}
	var client dynamic.ResourceInterface = dyn.Resource(mapping.Resource)
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		client = dyn.Resource(mapping.Resource).Namespace(obj.GetNamespace())
	}
	force := true
	if _, err := client.Patch(ctx, obj.GetName(), types.ApplyPatchType, data, metav1.PatchOptions{FieldManager: fieldManager, Force: &force}); err != nil {
		if apierrors.IsNotFound(err) && obj.GetNamespace() != "" {
			return fmt.Errorf("applying %s %s/%s (is its namespace applied first?): %w", gvk.Kind, obj.GetNamespace(), obj.GetName(), err)
		}
		return fmt.Errorf("applying %s %s/%s: %w", gvk.Kind, obj.GetNamespace(), obj.GetName(), err)
	}
	return nil
}

// markerWriter is a process log: it writes to a file, keeps the last bytes for error
// reports, and closes seen once a line containing marker was written.
type markerWriter struct {
	file   *os.File
	marker []byte
	seen   chan struct{}

	mu      sync.Mutex
	partial []byte // an unfinished line
	last    []byte // the last bytes written, at most tailKeep
	found   bool
}

const tailKeep = 64 << 10

func newMarkerWriter(f *os.File, marker string) *markerWriter {
	return &markerWriter{file: f, marker: []byte(marker), seen: make(chan struct{})}
}

func (w *markerWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.last = append(w.last, p...)
	if len(w.last) > tailKeep {
		w.last = append([]byte(nil), w.last[len(w.last)-tailKeep:]...)
	}
	if !w.found {
		w.partial = append(w.partial, p...)
		if bytes.Contains(w.partial, w.marker) {
			w.found = true
			w.partial = nil
			close(w.seen)
		} else if i := bytes.LastIndexByte(w.partial, '\n'); i >= 0 {
			w.partial = append([]byte(nil), w.partial[i+1:]...)
		}
	}
	return w.file.Write(p)
}

func (w *markerWriter) tail(max int) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	t := w.last
	if len(t) > max {
		t = t[len(t)-max:]
	}
	return string(t)
}

func (w *markerWriter) Close() error { return w.file.Close() }
