package watcher_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	buildv1 "github.com/openshift/api/build/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/thoth-station/build-watcher/internal/testenv/controlplane"
	"github.com/thoth-station/build-watcher/internal/testenv/gobuild"
	"github.com/thoth-station/build-watcher/internal/testenv/testproc"
	"github.com/thoth-station/build-watcher/internal/watcher"
)

// binaries build cmd/build-watcher once per test binary, with and without -race.
var binaries = map[bool]func() (string, error){
	true:  sync.OnceValues(func() (string, error) { return buildBinary(true) }),
	false: sync.OnceValues(func() (string, error) { return buildBinary(false) }),
}

func buildBinary(race bool) (string, error) {
	dir, err := os.MkdirTemp("", "build-watcher-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "build-watcher")
	if err := gobuild.Build(context.Background(), race, "-o", bin, "./cmd/build-watcher"); err != nil {
		return "", fmt.Errorf("building build-watcher: %w", err)
	}
	return bin, nil
}

// proc runs build-watcher processes against the test's namespace.
type proc struct {
	e          *env
	bin        string
	kubeconfig string
	args       []string
	log        *os.File
}

func (e *env) newProc(race bool, extra ...string) *proc {
	e.t.Helper()
	bin, err := binaries[race]()
	if err != nil {
		e.t.Fatal(err)
	}
	dir := e.t.TempDir()
	kc := filepath.Join(dir, "kubeconfig")
	if err := controlplane.WriteKubeconfig(cp.Config(), kc, e.ns); err != nil {
		e.t.Fatal(err)
	}
	log, err := os.Create(filepath.Join(dir, "watcher.log"))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		log.Close()
		if e.t.Failed() {
			out, _ := os.ReadFile(log.Name())
			if len(out) > 8000 {
				out = out[len(out)-8000:]
			}
			e.t.Logf("watcher log (tail):\n%s", out)
		}
	})
	args := append([]string{
		"--kubeconfig", kc, "--state-namespace", e.ns, "--build-watcher-namespace", e.ns, "--kinds", "build",
		"--thoth-api-host", "thoth.example.com", "--workers-count", "5", "--metrics-address", "",
		// Leader election is on, as deployed; a short lease lets a restart after kill -9 lead soon.
		"--leader-elect-lease-duration", "3s",
	}, extra...)
	return &proc{e: e, bin: bin, kubeconfig: kc, args: args, log: log}
}

func (p *proc) start(extra ...string) *testproc.Process {
	p.e.t.Helper()
	pr, err := testproc.Start(testproc.Spec{Path: p.bin, Args: append(p.args[:len(p.args):len(p.args)], extra...), Log: p.log})
	if err != nil {
		p.e.t.Fatal(err)
	}
	p.e.t.Cleanup(func() {
		if pr.Exited() == nil {
			_ = pr.Stop(10 * time.Second)
		}
	})
	return pr
}

// waitInstalled waits until the watcher recorded its installation time: builds that finish
// before it are not analysed.
func (e *env) waitInstalled(ctx context.Context) {
	e.t.Helper()
	kube := kubernetes.NewForConfigOrDie(cp.Config())
	waitFor(e.t.(*testing.T), ctx, time.Minute, "the watcher's installation time", func() (bool, string) {
		_, err := kube.CoreV1().ConfigMaps(e.ns).Get(ctx, watcher.StateConfigMap, metav1.GetOptions{})
		return err == nil, fmt.Sprint(err)
	})
}

// finishWhileKilling finishes n builds while the running watcher is killed with SIGKILL
// kills times, 0.5 to 3 s apart, and started again each time; it returns the builds' names
// once all have finished.
func (p *proc) finishWhileKilling(ctx context.Context, r interface{ finishedCount() int }, current *testproc.Process, prefix string, n int, phase buildv1.BuildPhase, kills int) []string {
	t := p.e.t
	t.Helper()
	var names []string
	created := make(chan struct{})
	go func() {
		defer close(created)
		names = p.e.finishBuilds(context.WithoutCancel(ctx), prefix, n, phase)
	}()
	for i := range kills {
		time.Sleep(time.Duration(500+rand.IntN(2500)) * time.Millisecond)
		if err := current.Kill(); err != nil {
			t.Fatalf("the watcher: %v", err)
		}
		t.Logf("kill -9 #%d after %d runs ended", i+1, r.finishedCount())
		current = p.start()
	}
	<-created
	return names
}

// TestCrashes: the watcher process is killed with SIGKILL five times at random moments
// during a burst of 1,000 builds and restarted each time; still every build gets exactly
// one run, and never more than N run at once.
func TestCrashes(t *testing.T) {
	n := 1000
	if testing.Short() {
		n = 200
	}
	e := newEnv(t)
	ctx := t.Context()
	r := newRunner(t, e.tekton, 20*time.Millisecond)
	r.watch(ctx, e.ns)
	p := e.newProc(true)
	current := p.start()
	e.waitInstalled(ctx)

	names := p.finishWhileKilling(ctx, r, current, "crash", n, buildv1.BuildPhaseComplete, 5)
	waitFor(t, ctx, 5*time.Minute, "every build analysed once", func() (bool, string) {
		return e.checkBuilds(ctx, names, e.ns)
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.max > 5 {
		t.Errorf("%d PipelineRuns ran at once; the limit is 5", r.max)
	}
	if len(r.created) != n {
		t.Errorf("%d PipelineRuns were created, want %d", len(r.created), n)
	}
}

// TestLeaderElection: two replicas with leader election; the leader is killed twice during
// a burst; the other takes over and still every build gets exactly one run.
func TestLeaderElection(t *testing.T) {
	n := 300
	e := newEnv(t)
	ctx := t.Context()
	r := newRunner(t, e.tekton, 20*time.Millisecond)
	r.watch(ctx, e.ns)
	p := e.newProc(true)
	ids := []string{"replica-0", "replica-1"}
	replicas := []*testproc.Process{p.start("--leader-elect-identity", ids[0]), p.start("--leader-elect-identity", ids[1])}
	e.waitInstalled(ctx)
	started := 2

	var names []string
	created := make(chan struct{})
	go func() {
		defer close(created)
		names = e.finishBuilds(context.WithoutCancel(ctx), "leader", n, buildv1.BuildPhaseComplete)
	}()
	for i := range 2 {
		time.Sleep(time.Duration(1000+rand.IntN(2000)) * time.Millisecond)
		// After a kill the lease names the dead replica until it expires: wait for a live one.
		killed := -1
		leader := ""
		waitFor(t, ctx, 30*time.Second, "a running replica holding the lease", func() (bool, string) {
			lease, err := kubernetes.NewForConfigOrDie(cp.Config()).CoordinationV1().Leases(e.ns).Get(ctx, "build-watcher", metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			if lease.Spec.HolderIdentity != nil {
				leader = *lease.Spec.HolderIdentity
			}
			killed = slices.Index(ids, leader)
			return killed >= 0 && replicas[killed].Exited() == nil, "holder " + leader
		})
		if err := replicas[killed].Kill(); err != nil {
			t.Fatalf("the leader: %v", err)
		}
		t.Logf("killed the leader %s (#%d) after %d runs finished", leader, i+1, r.finishedCount())
		ids[killed] = fmt.Sprintf("replica-%d", started)
		started++
		replicas[killed] = p.start("--leader-elect-identity", ids[killed])
	}
	<-created
	waitFor(t, ctx, 5*time.Minute, "every build analysed once", func() (bool, string) {
		return e.checkBuilds(ctx, names, e.ns)
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.max > 5 {
		t.Errorf("%d PipelineRuns ran at once; the limit is 5", r.max)
	}
}
