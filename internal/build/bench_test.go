package build

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	buildv1 "github.com/openshift/api/build/v1"

	"github.com/thoth-station/build-watcher/internal/buildlog/buildlogtest"
	"github.com/thoth-station/build-watcher/internal/controlplane"
	"github.com/thoth-station/build-watcher/internal/modroot"
)

// bigLogBuild makes a failed OpenShift build whose log is a generated stream of size bytes
// served by a log front, and returns its namespace, the front and clients through it.
func bigLogBuild(b *testing.B, name string, size int64) (string, *controlplane.LogFront, Clients) {
	b.Helper()
	ns, err := cp.CreateNamespace(b.Context(), "bench")
	if err != nil {
		b.Fatal(err)
	}
	front, err := cp.StartLogFront()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { front.Close() })
	clients, err := NewClients(front.Config(cp.Config()))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := front.CreateBuild(b.Context(), ns, sourceBuild(name, buildv1.BuildPhaseFailed), nil); err != nil {
		b.Fatal(err)
	}
	front.SetBuildLogSource(ns, name, func() io.Reader { return buildlogtest.NewGenerated(size) })
	return ns, front, clients
}

// BenchmarkCollectLog1GiB streams a generated 1 GiB build log through the API (the log
// front) into a file with Collect, and the same bytes from the same source with a plain
// io.Copy into a file, and reports both rates, their ratio and Collect's peak heap.
func BenchmarkCollectLog1GiB(b *testing.B) {
	const size = 1 << 30
	ns, _, clients := bigLogBuild(b, "big-1", size)
	dir := b.TempDir()
	ref := Ref{Kind: KindBuild, Namespace: ns, Name: "big-1"}

	var collectTime, copyTime time.Duration
	var peak float64
	b.SetBytes(size)
	// Each copy starts from a clean page cache: written-back files do not throttle the
	// next writer (without this, whichever runs second is slowed by the first's dirty pages).
	settle := func() {
		os.Remove(filepath.Join(dir, "copy.log"))
		os.Remove(filepath.Join(dir, "collect.log"))
		syscall.Sync()
	}
	for b.Loop() {
		b.StopTimer()
		settle()
		b.StartTimer()
		start := time.Now()
		stream, err := clients.Build.BuildV1().RESTClient().Get().Namespace(ns).Resource("builds").Name("big-1").SubResource("log").Stream(b.Context())
		if err != nil {
			b.Fatal(err)
		}
		f, err := os.Create(filepath.Join(dir, "copy.log"))
		if err != nil {
			b.Fatal(err)
		}
		if n, err := io.Copy(f, stream); err != nil || n != size {
			b.Fatalf("io.Copy: %d bytes, %v", n, err)
		}
		stream.Close()
		f.Close()
		copyTime += time.Since(start)

		b.StopTimer()
		settle()
		b.StartTimer()
		runtime.GC()
		h := buildlogtest.StartHeapSampler()
		start = time.Now()
		rec, err := Collect(b.Context(), clients, ref, Options{LogFile: filepath.Join(dir, "collect.log")})
		collectTime += time.Since(start)
		peak = max(peak, h.PeakMiB())
		if err != nil || rec.Log.Bytes != size || !strings.HasSuffix(rec.FailureSummary, strings.TrimSuffix(buildlogtest.LastLine, "\n")) {
			b.Fatalf("Collect: %v, %d bytes, summary %q", err, rec.Log.Bytes, rec.FailureSummary)
		}
	}
	n := float64(b.N)
	b.ReportMetric(size/collectTime.Seconds()*n/1e6, "collect-MB/s")
	b.ReportMetric(size/copyTime.Seconds()*n/1e6, "io.Copy-MB/s")
	b.ReportMetric(copyTime.Seconds()/collectTime.Seconds(), "collect/io.Copy")
	b.ReportMetric(peak, "peak-heap-MiB")
	b.ReportMetric(vmHWM(), "peak-RSS-MiB")
}

// vmHWM is the process's peak resident set in MiB (the whole test binary: control-plane
// clients and the log front included).
func vmHWM() float64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// BenchmarkCollectBuildBinary1GiB runs the collect-build binary itself, out of process,
// on a 1 GiB build log and reports its own peak RSS (the goal is at most 50 MiB) and rate.
func BenchmarkCollectBuildBinary1GiB(b *testing.B) {
	const size = 1 << 30
	root, err := modroot.Find()
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	bin := filepath.Join(dir, "collect-build")
	if out, err := exec.CommandContext(b.Context(), "go", "build", "-o", bin, filepath.Join(root, "cmd", "collect-build")).CombinedOutput(); err != nil {
		b.Fatalf("building collect-build: %v\n%s", err, out)
	}
	ns, front, _ := bigLogBuild(b, "big-2", size)
	kubeconfig := filepath.Join(dir, "kubeconfig")
	// The front serves plain HTTP on loopback and acts as the admin for callers without a token.
	config := "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: \"" + front.URL() + "\"}}]\n" +
		"users: [{name: u, user: {}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n"
	if err := os.WriteFile(kubeconfig, []byte(config), 0o600); err != nil {
		b.Fatal(err)
	}
	var peak int64
	b.SetBytes(size)
	for b.Loop() {
		os.Remove(filepath.Join(dir, "build.log"))
		cmd := exec.CommandContext(b.Context(), bin, "--kubeconfig", kubeconfig, "--build-ref", "build/"+ns+"/big-2",
			"--log-file", filepath.Join(dir, "build.log"))
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("collect-build: %v\n%s", err, out)
		}
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			peak = max(peak, ru.Maxrss) // KiB on Linux
		}
	}
	b.ReportMetric(float64(peak)/1024, "peak-RSS-MiB")
}
