package watcher_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	buildv1 "github.com/openshift/api/build/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/thoth-station/build-watcher/internal/testenv/controlplane"
)

// TestTargets: three targets with max 4/2/1, the last disabled: runs go to the least
// loaded enabled target and never over its limit; disabling and enabling targets in the
// file, live, moves new placements.
func TestTargets(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	var nss []string
	for range 3 {
		ns, err := cp.CreateNamespace(ctx, "target")
		if err != nil {
			t.Fatal(err)
		}
		nss = append(nss, ns)
	}
	r := newRunner(t, e.tekton, 300*time.Millisecond)
	for _, ns := range nss {
		r.watch(ctx, ns)
	}
	dir := t.TempDir()
	kc := filepath.Join(dir, "kubeconfig")
	if err := controlplane.WriteKubeconfig(cp.Config(), kc, e.ns); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "targets.yaml")
	write := func(enabled ...bool) {
		t.Helper()
		// east uses its own kubeconfig file, as a remote cluster would; the others the
		// watcher's cluster.
		doc := fmt.Sprintf(`targets:
- {name: east, kubeconfig: %s, namespace: %s, max_concurrent: 4, enabled: %t}
- {name: west, namespace: %s, max_concurrent: 2, enabled: %t}
- {name: north, namespace: %s, max_concurrent: 1, enabled: %t}
`, kc, nss[0], enabled[0], nss[1], enabled[1], nss[2], enabled[2])
		tmp := file + ".tmp"
		if err := os.WriteFile(tmp, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, file); err != nil {
			t.Fatal(err)
		}
	}
	write(true, true, false)
	cfg := e.config()
	cfg.TargetsFile = file
	_, metrics := e.startWatcher(cfg)
	reloaded := func(n float64) {
		t.Helper()
		waitFor(t, ctx, time.Minute, fmt.Sprintf("%v reloads of the targets file applied", n), func() (bool, string) {
			got := gauge(t, metrics, "build_watcher_targets_reloads_total", map[string]string{"outcome": "applied"})
			return got >= n, fmt.Sprintf("%v applied", got)
		})
	}

	first := e.finishBuilds(ctx, "first", 30, buildv1.BuildPhaseComplete)
	waitFor(t, ctx, 2*time.Minute, "the first builds analysed", func() (bool, string) {
		return e.checkBuilds(ctx, first, nss...)
	})
	counts := func() []int {
		var out []int
		for _, ns := range nss {
			prs, err := e.tekton.TektonV1().PipelineRuns(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, len(prs.Items))
		}
		return out
	}
	c1 := counts()
	t.Logf("runs per target (east 4, west 2, north 1 disabled): %v", c1)
	if c1[2] != 0 {
		t.Errorf("the disabled target got %d runs", c1[2])
	}
	if c1[0] <= c1[1] || c1[1] == 0 {
		t.Errorf("runs per target %v: the least-loaded placement should give east (4 slots) more than west (2), and west some", c1)
	}
	r.mu.Lock()
	if r.maxByNS[nss[0]] > 4 || r.maxByNS[nss[1]] > 2 {
		t.Errorf("runs at once per target %v exceed the limits 4/2", r.maxByNS)
	}
	r.mu.Unlock()

	// Disable west, enable north, live.
	write(true, false, true)
	reloaded(1)
	second := e.finishBuilds(ctx, "second", 20, buildv1.BuildPhaseComplete)
	waitFor(t, ctx, 2*time.Minute, "the second builds analysed", func() (bool, string) {
		return e.checkBuilds(ctx, append(first, second...), nss...)
	})
	c2 := counts()
	t.Logf("after disabling west and enabling north: %v", c2)
	if c2[1] != c1[1] {
		t.Errorf("west got %d new runs after it was disabled", c2[1]-c1[1])
	}
	if c2[2] == 0 {
		t.Errorf("north got no runs after it was enabled")
	}
	r.mu.Lock()
	if r.maxByNS[nss[2]] > 1 {
		t.Errorf("north ran %d at once; its limit is 1", r.maxByNS[nss[2]])
	}
	r.mu.Unlock()
}
