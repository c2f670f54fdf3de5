// Package tektontest runs Tekton Pipelines for real in tests: the controller built from the
// github.com/tektoncd/pipeline module (`make testenv`) against the test control plane, and a
// pod runner that stands in for the kubelet, running each step's command (a locally built
// binary in place of the ko-built image) the way Tekton's entrypoint would, in a root
// filesystem of its own with the pod's volumes, and writing the pod status back. With
// MainOptions.Argo it runs Argo Workflows' workflow-controller too, and the pod runner plays
// the kubelet and Argo's executor (argoexec) for the pods of Workflows.
//
// The controller listens on all interfaces, so Main runs the whole test binary in a private
// network namespace (as root, or as root of a user namespace of its own) where only loopback
// exists. On a machine where no such namespace can be made, the tests fail with the cause,
// unless BUILD_WATCHER_E2E=skip is set (developer machines only: refused when CI is set).
package tektontest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/thoth-station/build-watcher/internal/testenv/controlplane"
)

// MainOptions configures Main.
type MainOptions struct {
	// Packages are the main packages to build for the steps; each runs where a step's
	// command is /ko-app/<last element of the package path>, as ko builds them.
	Packages []string
	// Controller configures the Tekton controller.
	Controller ControllerOptions
	// Argo also installs Argo Workflows' CRDs and runs its workflow-controller; the pod
	// runner then runs the pods of Workflows too.
	Argo bool
}

// Env is what Main started for a test package.
type Env struct {
	// CP is the control plane, with Tekton's, OpenShift's and Shipwright's CRDs.
	CP *controlplane.ControlPlane
	// Front serves build and pod logs in front of CP; steps talk to the cluster through it.
	Front *controlplane.LogFront
	// Controller is Tekton's controller.
	Controller *Controller
	// Argo is Argo's workflow-controller, when MainOptions.Argo is set.
	Argo *ArgoController
	// Runner runs the pods of TaskRuns.
	Runner *Runner
	// Commands maps /ko-app/<name> to the binaries built from MainOptions.Packages.
	Commands map[string]string
	// SingleUser says that steps run as root whatever user they ask for: the tests run in a
	// user namespace that maps no other ID (a developer machine without root).
	SingleUser bool
	// Startup says how long each part of the start took, for the tests' logs.
	Startup string

	skip string
}

// Require skips the test when Main was told to skip (BUILD_WATCHER_E2E=skip on a machine
// without namespaces) and returns e.
func (e *Env) Require(t testing.TB) *Env {
	t.Helper()
	if e == nil {
		t.Fatal("tektontest: no environment: call tektontest.Main from TestMain")
	}
	if e.skip != "" {
		t.Skip(e.skip)
	}
	return e
}

// Main runs a test package against a real Tekton: call it from TestMain,
//
//	var env *tektontest.Env
//	func TestMain(m *testing.M) { os.Exit(tektontest.Main(m, &env, tektontest.MainOptions{...})) }
//
// It re-runs the test binary in a private network namespace, builds the step binaries,
// starts the control plane, the log front, the Tekton controller and the pod runner, runs
// the tests and stops everything, whatever their outcome; child processes also die with the
// test binary. Start-up times go to stderr. The same binary also serves as the runner's step
// shim, which is why Main must be the first thing TestMain does.
func Main(m *testing.M, env **Env, opts MainOptions) int {
	if spec := os.Getenv(envShim); spec != "" {
		return runShim(spec)
	}
	ctx := context.Background()
	private, _, err := privateNetwork()
	if err != nil {
		fmt.Fprintf(os.Stderr, "tektontest: %v\n", err)
		return 1
	}
	if !private {
		if os.Getenv(envNetns) != "" {
			fmt.Fprintln(os.Stderr, "tektontest: re-run in a new network namespace, but it has interfaces besides lo")
			return 1
		}
		if v := os.Getenv(EnvE2E); v == "skip" {
			if os.Getenv("CI") != "" {
				fmt.Fprintf(os.Stderr, "tektontest: %s=skip is for developer machines and CI is set: these tests must run in CI\n", EnvE2E)
				return 1
			}
			*env = &Env{skip: fmt.Sprintf("%s=skip: not running Tekton's controller (it needs a private network namespace)", EnvE2E)}
			return m.Run()
		} else if v != "" {
			fmt.Fprintf(os.Stderr, "tektontest: %s=%q: the only value is skip\n", EnvE2E, v)
			return 1
		}
		// What the tests install from modules go.mod does not require must be fetched
		// while the network is there.
		if err := controlplane.DownloadCRDModules(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "tektontest: %v\n", err)
			return 1
		}
		code, err := reexecInNetns()
		if err != nil {
			fmt.Fprintf(os.Stderr, "tektontest: %v\n"+
				"tektontest: the Tekton controller listens on all interfaces, so these tests run in a private network namespace;\n"+
				"tektontest: run them as root (CI does) or where user namespaces are allowed (sysctl kernel.unprivileged_userns_clone=1),\n"+
				"tektontest: or, on a developer machine only, set %s=skip to skip them\n", err, EnvE2E)
		}
		return code
	}
	if err := loopbackUp(); err != nil {
		fmt.Fprintf(os.Stderr, "tektontest: %v\n", err)
		return 1
	}
	e, stop, err := start(ctx, opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "tektontest: %v\n", err)
		return 1
	}
	*env = e
	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "tektontest: the tests failed; the Tekton controller's last log lines:\n%s\n", e.Controller.Log(4<<10))
		if e.Argo != nil {
			fmt.Fprintf(os.Stderr, "tektontest: the Argo workflow-controller's last log lines:\n%s\n", e.Argo.Log(4<<10))
		}
	}
	if err := stop(); err != nil {
		fmt.Fprintf(os.Stderr, "tektontest: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// start builds the binaries and starts everything; stop ends it in reverse order and
// reports a controller that died during the tests.
func start(ctx context.Context, opts MainOptions) (env *Env, stop func() error, err error) {
	began := time.Now()
	var stops []func()
	defer func() {
		if err != nil {
			for i := len(stops) - 1; i >= 0; i-- {
				stops[i]()
			}
		}
	}()
	binDir, err := os.MkdirTemp("", "build-watcher-e2e-bin-")
	if err != nil {
		return nil, nil, err
	}
	stops = append(stops, func() { os.RemoveAll(binDir) })
	type built struct {
		commands map[string]string
		took     time.Duration
		err      error
	}
	builds := make(chan built, 1)
	go func() { // compiling and starting the control plane overlap
		t0 := time.Now()
		commands, err := BuildCommands(ctx, binDir, opts.Packages...)
		builds <- built{commands, time.Since(t0), err}
	}()
	cp, err := controlplane.Start(ctx, controlplane.Options{})
	if err != nil {
		<-builds
		return nil, nil, err
	}
	stops = append(stops, cp.Stop)
	tekton, err := controlplane.TektonCRDs(ctx)
	if err == nil {
		var openshift, shipwright [][]byte
		if openshift, err = controlplane.OpenShiftCRDs(); err == nil {
			if shipwright, err = controlplane.ShipwrightCRDs(ctx); err == nil {
				var argo [][]byte
				if opts.Argo {
					argo, err = controlplane.ArgoCRDs(ctx)
				}
				if err == nil {
					err = cp.InstallCRDs(ctx, slices.Concat(tekton, openshift, shipwright, argo)...)
				}
			}
		}
	}
	if err != nil {
		<-builds
		return nil, nil, err
	}
	crds := time.Since(began)
	front, err := cp.StartLogFront()
	if err != nil {
		<-builds
		return nil, nil, err
	}
	stops = append(stops, func() { front.Close() })
	ctrl, err := StartController(ctx, cp, opts.Controller)
	if err != nil {
		<-builds
		return nil, nil, err
	}
	stops = append(stops, ctrl.Stop)
	var argo *ArgoController
	if opts.Argo {
		if argo, err = StartArgoController(ctx, cp); err != nil {
			<-builds
			return nil, nil, err
		}
		stops = append(stops, argo.Stop)
	}
	b := <-builds
	if b.err != nil {
		return nil, nil, b.err
	}
	shim, err := os.Executable()
	if err != nil {
		return nil, nil, fmt.Errorf("finding the test binary for the step shim: %w", err)
	}
	runner, err := StartRunner(ctx, cp.Config(), RunnerOptions{
		Commands: b.commands,
		Shim:     shim,
		Cluster:  front.Config(cp.Config()),
		PodLogs:  front.SetPodLog,
	})
	if err != nil {
		return nil, nil, err
	}
	stops = append(stops, runner.Stop)
	var names []string
	for c := range b.commands {
		names = append(names, strings.TrimPrefix(c, "/ko-app/"))
	}
	sort.Strings(names)
	startup := fmt.Sprintf("control plane ready in %s (CRDs installed after %s); Tekton %s controller synced after %s more (its config applied in %s); %s built in %s; all ready after %s",
		cp.StartupTime().Round(time.Millisecond), crds.Round(time.Millisecond), ctrl.Version(),
		ctrl.StartupTime().Round(time.Millisecond), ctrl.ConfigTime().Round(time.Millisecond),
		strings.Join(names, ", "), b.took.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
	if argo != nil {
		startup += fmt.Sprintf("; Argo %s workflow-controller healthy after %s", controlplane.ArgoVersion, argo.StartupTime().Round(time.Millisecond))
	}
	fmt.Fprintf(os.Stderr, "tektontest: %s\n", startup)
	mapped, err := uidMapped(DefaultUser)
	if err != nil {
		return nil, nil, err
	}
	if !mapped {
		fmt.Fprintf(os.Stderr, "tektontest: this user namespace maps no user but root: steps run as root whatever user they ask for\n")
	}
	env = &Env{CP: cp, Front: front, Controller: ctrl, Argo: argo, Runner: runner, Commands: b.commands, SingleUser: !mapped, Startup: startup}
	stop = func() error {
		var died []error
		if err := ctrl.Exited(); err != nil {
			died = append(died, fmt.Errorf("the Tekton controller died during the tests: %w", err))
		}
		if argo != nil {
			if err := argo.Exited(); err != nil {
				died = append(died, fmt.Errorf("the Argo workflow-controller died during the tests: %w", err))
			}
		}
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
		return errors.Join(died...)
	}
	return env, stop, nil
}
