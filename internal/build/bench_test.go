package build

import (
	"io"
	"math"
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

	"github.com/thoth-station/build-watcher/internal/testenv/controlplane"
	"github.com/thoth-station/build-watcher/internal/testenv/modroot"
	"github.com/thoth-station/build-watcher/internal/thoth/logbudget/logbudgettest"
)

// bigLogBuild makes a failed OpenShift build whose log is a generated stream of size bytes
// served by a log front, and returns its namespace, the front and clients through it.
// With fromInLog the build is a Docker build without a from: its base image comes from
// the log, which is then scanned line by line.
func bigLogBuild(b *testing.B, name string, size int64, fromInLog bool) (string, *controlplane.LogFront, Clients) {
	b.Helper()
	ns, front := cp.NamespaceWithFront(b, "bench")
	clients, err := NewClients(front.Config(cp.Config()))
	if err != nil {
		b.Fatal(err)
	}
	build := sourceBuild(name, buildv1.BuildPhaseFailed)
	if fromInLog {
		build.Spec.Strategy = buildv1.BuildStrategy{Type: buildv1.DockerBuildStrategyType, DockerStrategy: &buildv1.DockerBuildStrategy{}}
	}
	if _, err := front.CreateBuild(b.Context(), ns, build, nil); err != nil {
		b.Fatal(err)
	}
	front.SetBuildLogSource(ns, name, func() io.Reader { return logbudgettest.NewGenerated(size) })
	return ns, front, clients
}

// BenchmarkCollectLog1GiB streams a generated 1 GiB build log through the API (the log
// front) into a file with Collect, and the same bytes from the same source with a plain
// io.Copy into a file, and reports both rates, their ratio and Collect's peak heap. The
// log is hashed and its tail kept in either case; "from-in-log" scans its lines for the
// base image as well (the generated log names none, so every line is looked at).
func BenchmarkCollectLog1GiB(b *testing.B) {
	for _, bb := range []struct {
		name      string
		fromInLog bool
	}{{"base-named", false}, {"from-in-log", true}} {
		b.Run(bb.name, func(b *testing.B) { benchmarkCollectLog(b, 1<<30, bb.fromInLog) })
	}
}

func benchmarkCollectLog(b *testing.B, size int64, fromInLog bool) {
	ns, _, clients := bigLogBuild(b, "big-1", size, fromInLog)
	dir := b.TempDir()
	ref := Ref{Kind: KindBuild, Namespace: ns, Name: "big-1"}
	collect := func() {
		rec, err := Collect(b.Context(), clients, ref, Options{LogFile: filepath.Join(dir, "collect.log")})
		if err != nil || rec.Log.Bytes != size || !strings.HasSuffix(rec.FailureSummary, strings.TrimSuffix(logbudgettest.LastLine, "\n")) {
			b.Fatalf("Collect: %v, %d bytes, summary %q", err, rec.Log.Bytes, rec.FailureSummary)
		}
	}

	var collectTime, copyTime, collectCPU, copyCPU time.Duration
	// The fastest of each: on a shared machine, the run least disturbed by others.
	bestCollect, bestCopy := time.Duration(math.MaxInt64), time.Duration(math.MaxInt64)
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
		start, cpu := time.Now(), cpuTime()
		stream, err := logRequest(clients, buildsGVR, ns, "big-1").Stream(b.Context())
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
		bestCopy = min(bestCopy, time.Since(start))
		copyCPU += cpuTime() - cpu

		b.StopTimer()
		settle()
		b.StartTimer()
		start, cpu = time.Now(), cpuTime()
		collect()
		collectTime += time.Since(start)
		bestCollect = min(bestCollect, time.Since(start))
		collectCPU += cpuTime() - cpu
	}
	// The peak heap is sampled in a run of its own: sampling every millisecond disturbs
	// the copy it watches.
	b.StopTimer()
	settle()
	runtime.GC()
	h := logbudgettest.StartHeapSampler()
	collect()
	peak := h.PeakMiB()
	n := float64(b.N)
	b.ReportMetric(float64(size)/collectTime.Seconds()*n/1e6, "collect-MB/s")
	b.ReportMetric(float64(size)/copyTime.Seconds()*n/1e6, "io.Copy-MB/s")
	b.ReportMetric(copyTime.Seconds()/collectTime.Seconds(), "collect/io.Copy")
	b.ReportMetric(bestCopy.Seconds()/bestCollect.Seconds(), "best-collect/best-io.Copy")
	b.ReportMetric(peak, "peak-heap-MiB")
	b.ReportMetric(vmHWM(), "peak-RSS-MiB")
	// The CPU the whole process (the log front serving included) spent per second of each
	// copy: near 2 on this 2-core machine means the rates are bound by CPU, not I/O.
	b.ReportMetric(copyCPU.Seconds()/copyTime.Seconds(), "io.Copy-CPUs")
	b.ReportMetric(collectCPU.Seconds()/collectTime.Seconds(), "collect-CPUs")
}

// cpuTime is the user and system CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
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
	bin, peakrss := filepath.Join(dir, "collect-build"), filepath.Join(dir, "peakrss")
	for path, pkg := range map[string]string{bin: "cmd/collect-build", peakrss: "hack/peakrss"} {
		if out, err := exec.CommandContext(b.Context(), "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", path, filepath.Join(root, pkg)).CombinedOutput(); err != nil {
			b.Fatalf("building %s: %v\n%s", pkg, err, out)
		}
	}
	ns, front, _ := bigLogBuild(b, "big-2", size, false)
	kubeconfig := filepath.Join(dir, "kubeconfig")
	// The front serves plain HTTP on loopback and acts as the admin for callers without a token.
	config := "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: \"" + front.URL() + "\"}}]\n" +
		"users: [{name: u, user: {}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n"
	if err := os.WriteFile(kubeconfig, []byte(config), 0o600); err != nil {
		b.Fatal(err)
	}
	var peak int64
	b.SetBytes(size)
	rssFile := filepath.Join(dir, "rss")
	for b.Loop() {
		os.Remove(filepath.Join(dir, "build.log"))
		// Measured by peakrss: the benchmark's own peak would be counted for a child it starts.
		cmd := exec.CommandContext(b.Context(), peakrss, "-o", rssFile, bin, "--kubeconfig", kubeconfig,
			"--build-ref", "build/"+ns+"/big-2", "--log-file", filepath.Join(dir, "build.log"))
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("collect-build: %v\n%s", err, out)
		}
		raw, err := os.ReadFile(rssFile)
		if err != nil {
			b.Fatal(err)
		}
		kib, err := strconv.ParseInt(strings.TrimSpace(string(raw)), 10, 64)
		if err != nil {
			b.Fatalf("peakrss wrote %q: %v", raw, err)
		}
		peak = max(peak, kib)
	}
	b.ReportMetric(float64(peak)/1024, "peak-RSS-MiB")
}
