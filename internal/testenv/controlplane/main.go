package controlplane

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// Main starts one control plane with the Tekton, OpenShift and Shipwright CRDs for a test
// package, runs its tests, and stops it whatever their outcome. Call it from TestMain:
//
//	var cp *controlplane.ControlPlane
//	func TestMain(m *testing.M) { os.Exit(controlplane.Main(context.Background(), m, &cp)) }
//
// more are further sources of CRDs (ArgoCRDs), installed with the others. Tests then make a
// namespace each with cp.CreateNamespace. The start-up time is reported on
// stderr. Child processes are also killed if the test binary dies (Pdeathsig).
func Main(ctx context.Context, m *testing.M, cp **ControlPlane, more ...func(context.Context) ([][]byte, error)) int {
	if fuzzWorker() || noTests() {
		// A fuzz worker runs only the fuzz target, and -run '^$' (hack/fuzz.sh) runs no
		// test: neither needs a control plane, and fuzz targets must not use one.
		return m.Run()
	}
	began := time.Now()
	started, err := Start(ctx, Options{})
	if err != nil {
		fmt.Fprintf(os.Stderr, "controlplane: %v\n", err)
		return 1
	}
	defer started.Stop()
	tekton, err := TektonCRDs(ctx)
	if err != nil {
		fmt.Fprintf(os.Stderr, "controlplane: %v\n", err)
		return 1
	}
	openshift, err := OpenShiftCRDs()
	if err != nil {
		fmt.Fprintf(os.Stderr, "controlplane: %v\n", err)
		return 1
	}
	shipwright, err := ShipwrightCRDs(ctx)
	if err != nil {
		fmt.Fprintf(os.Stderr, "controlplane: %v\n", err)
		return 1
	}
	crds := slices.Concat(tekton, openshift, shipwright)
	for _, source := range more {
		docs, err := source(ctx)
		if err != nil {
			fmt.Fprintf(os.Stderr, "controlplane: %v\n", err)
			return 1
		}
		crds = append(crds, docs...)
	}
	if err := started.InstallCRDs(ctx, crds...); err != nil {
		fmt.Fprintf(os.Stderr, "controlplane: %v\n", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "controlplane: etcd and kube-apiserver ready in %s, CRDs installed after %s\n",
		started.StartupTime().Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
	*cp = started
	return m.Run()
}

// noTests reports whether the binary was told to run no test: -test.run=^$.
func noTests() bool {
	args := os.Args[1:]
	for i, arg := range args {
		switch arg = strings.TrimLeft(arg, "-"); {
		case arg == "test.run=^$":
			return true
		case arg == "test.run" && i+1 < len(args) && args[i+1] == "^$":
			return true
		}
	}
	return false
}

// fuzzWorker reports whether this test binary is one of go test -fuzz's workers.
func fuzzWorker() bool {
	for _, arg := range os.Args[1:] {
		if strings.HasPrefix(arg, "-test.fuzzworker") || strings.HasPrefix(arg, "--test.fuzzworker") {
			return true
		}
	}
	return false
}

// NamespaceWithFront makes a namespace for one test (see CreateNamespace) and starts a log
// front, closed when the test ends; a failure to do either fails the test.
func (cp *ControlPlane) NamespaceWithFront(tb testing.TB, prefix string) (string, *LogFront) {
	tb.Helper()
	ns, err := cp.CreateNamespace(tb.Context(), prefix)
	if err != nil {
		tb.Fatal(err)
	}
	front, err := cp.StartLogFront()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { front.Close() })
	return ns, front
}
