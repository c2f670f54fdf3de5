package watcher_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	buildv1 "github.com/openshift/api/build/v1"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/thoth-station/build-watcher/internal/testenv/controlplane"
	"github.com/thoth-station/build-watcher/internal/testenv/modroot"
	"github.com/thoth-station/build-watcher/internal/testenv/testproc"
)

// monitoringFiles reads config/monitoring/kustomization.yaml: the manifests it applies and
// the files its ConfigMap generator packs (the dashboard), as paths.
func monitoringFiles(t *testing.T) (resources, generated []string) {
	t.Helper()
	root, err := modroot.Find()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "config", "monitoring")
	data, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		t.Fatalf("reading config/monitoring's kustomization: %v", err)
	}
	var k struct {
		Resources          []string `json:"resources"`
		ConfigMapGenerator []struct {
			Files []string `json:"files"`
		} `json:"configMapGenerator"`
	}
	if err := yaml.Unmarshal(data, &k); err != nil {
		t.Fatalf("decoding config/monitoring/kustomization.yaml: %v", err)
	}
	for _, r := range k.Resources {
		resources = append(resources, filepath.Join(dir, r))
	}
	for _, g := range k.ConfigMapGenerator {
		for _, f := range g.Files {
			generated = append(generated, filepath.Join(dir, f[strings.Index(f, "=")+1:])) // KEY=FILE or FILE
		}
	}
	if len(resources) == 0 || len(generated) == 0 {
		t.Fatalf("config/monitoring/kustomization.yaml lists resources %v and generates from %v: want the ServiceMonitor, the PrometheusRule and the dashboard", resources, generated)
	}
	return resources, generated
}

// metricName is a name of ours in a rule, a query or a description.
var metricName = regexp.MustCompile(`build_watcher_[a-z0-9_]+`)

// scrape reads a watcher's /metrics as Prometheus does.
func scrape(ctx context.Context, addr string) (map[string]*dto.MetricFamily, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scraping %s: %w", addr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scraping %s: %s", addr, resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("parsing the metrics of %s: %w", addr, err)
	}
	return families, nil
}

// value sums a family's series whose labels include labels.
func value(families map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	sum := 0.0
	for _, m := range families[name].GetMetric() {
		if matches(m, labels) {
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return sum
}

// exported reports whether a name used in a rule or a query is exported: a family, or a
// histogram's _bucket, _sum or _count series.
func exported(families map[string]*dto.MetricFamily, name string) bool {
	if _, ok := families[name]; ok {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if f, ok := families[strings.TrimSuffix(name, suffix)]; ok && strings.HasSuffix(name, suffix) && f.GetType() == dto.MetricType_HISTOGRAM {
			return true
		}
	}
	return false
}

// TestMonitoringMetricsExported: every metric that config/monitoring's alerts and dashboard
// name is exported by a running watcher, scraped over HTTP as Prometheus does, after runs
// that succeed, fail and are run again, and fail for good (the reasons of those series are
// Tekton's, so they exist only once used). A standby replica exports build_watcher_leader 0
// and no queue gauge, as the alerts assume.
func TestMonitoringMetricsExported(t *testing.T) {
	resources, generated := monitoringFiles(t)
	e := newEnv(t)
	ctx := t.Context()
	// Runs take 300 ms, so that with one slot the others queue.
	r := newRunner(t, e.tekton, 300*time.Millisecond)
	r.policy = func(pr *pipelinev1.PipelineRun) runEnd {
		switch b, attempt := runBuild(pr); buildIndex(b) {
		case 0: // run again, then fine
			if attempt == 1 {
				return endFail
			}
		case 1: // fails for good: no attempt left
			return endFail
		}
		return endSucceed
	}
	r.watch(ctx, e.ns)
	ports, err := testproc.FreePorts(2)
	if err != nil {
		t.Fatal(err)
	}
	leaderAddr, standbyAddr := fmt.Sprintf("127.0.0.1:%d", ports[0]), fmt.Sprintf("127.0.0.1:%d", ports[1])
	// One slot: the other runs queue, and start as it frees.
	p := e.newProc(true, "--analysis-attempts", "2", "--analysis-retry-backoff", "300ms", "--workers-count", "1")
	p.start("--metrics-address", leaderAddr, "--leader-elect-identity", "leader")
	waitFor(t, ctx, time.Minute, "the first replica leading", func() (bool, string) {
		m, err := scrape(ctx, leaderAddr)
		if err != nil {
			return false, err.Error()
		}
		return value(m, "build_watcher_leader", nil) == 1 && m["build_watcher_runs"] != nil, "not leading yet"
	})
	p.start("--metrics-address", standbyAddr, "--leader-elect-identity", "standby")
	e.waitInstalled(ctx)
	e.finishBuilds(ctx, "mon", 3, buildv1.BuildPhaseComplete)

	var leader map[string]*dto.MetricFamily
	waitFor(t, ctx, 2*time.Minute, "two analyses written back as succeeded and one as failed", func() (bool, string) {
		var err error
		if leader, err = scrape(ctx, leaderAddr); err != nil {
			return false, err.Error()
		}
		ok, failed := value(leader, "build_watcher_write_backs_total", map[string]string{"outcome": "succeeded"}),
			value(leader, "build_watcher_write_backs_total", map[string]string{"outcome": "failed"})
		return ok == 2 && failed == 1, fmt.Sprintf("%v succeeded, %v failed", ok, failed)
	})
	// The families with what the three builds made of them (exact), or at least (not exact).
	for _, f := range []struct {
		name  string
		want  float64
		exact bool
	}{
		{"build_watcher_builds_seen_total", 3, true},
		{"build_watcher_builds_finished_total", 3, true},
		{"build_watcher_runs_created_total", 5, true},  // 1 + 2 + 2 attempts
		{"build_watcher_runs_started_total", 1, false}, // queued runs started: some queued
		{"build_watcher_runs_completed_total", 5, true},
		{"build_watcher_redeliveries_total", 2, true},    // builds 0 and 1, after their first run
		{"build_watcher_analyses_failed_total", 1, true}, // build 1, after its second
		{"build_watcher_write_backs_total", 3, true},
		{"build_watcher_runs", 0, true}, // all ended
		{"build_watcher_target_max_concurrent", 1, true},
		{"build_watcher_leader", 1, true},
		{"build_watcher_runs_refused_total", 0, false},
		{"build_watcher_api_errors_total", 0, false},
		{"build_watcher_targets_reloads_total", 0, false},
	} {
		got := value(leader, f.name, nil)
		switch {
		case leader[f.name] == nil:
			t.Errorf("the leader does not export %s", f.name)
		case f.exact && got != f.want:
			t.Errorf("the leader exports %s = %v, want %v", f.name, got, f.want)
		case got < f.want:
			t.Errorf("the leader exports %s = %v, want at least %v", f.name, got, f.want)
		}
	}
	if n := leader["build_watcher_event_to_run_seconds"].GetMetric(); len(n) != 1 || n[0].GetHistogram().GetSampleCount() != 3 {
		t.Errorf("build_watcher_event_to_run_seconds: %v, want one histogram of 3 first runs", n)
	}

	// Every name the alerts and the dashboard use, in their queries and in their texts.
	used := map[string][]string{} // name -> files
	for _, f := range slices.Concat(resources, generated) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range metricName.FindAllString(string(data), -1) {
			if !slices.Contains(used[name], filepath.Base(f)) {
				used[name] = append(used[name], filepath.Base(f))
			}
		}
	}
	if exported(leader, "build_watcher_event_to_run_seconds_x") || exported(leader, "build_watcher_write_backs_total_count") {
		t.Fatal("exported() accepts names that are not exported")
	}
	if len(used) < 10 {
		t.Fatalf("config/monitoring names only %d metrics of ours (%v): the regexp or the files are wrong", len(used), used)
	}
	var missing []string
	for name, files := range used {
		if !exported(leader, name) {
			missing = append(missing, fmt.Sprintf("%s (in %s)", name, strings.Join(files, ", ")))
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("config/monitoring uses %s, which a running watcher does not export: fix the name, or export it", m)
	}

	standby, err := scrape(ctx, standbyAddr)
	if err != nil {
		t.Fatal(err)
	}
	if v := value(standby, "build_watcher_leader", nil); standby["build_watcher_leader"] == nil || v != 0 {
		t.Errorf("the standby exports build_watcher_leader %v (present: %t), want 0", v, standby["build_watcher_leader"] != nil)
	}
	for _, name := range []string{"build_watcher_runs", "build_watcher_target_max_concurrent"} {
		if standby[name] != nil {
			t.Errorf("the standby exports %s: the alerts sum the queue gauges over replicas, assuming only the leader exports them", name)
		}
	}
	if v := value(standby, "build_watcher_write_backs_total", nil); standby["build_watcher_write_backs_total"] == nil || v != 0 {
		t.Errorf("the standby exports build_watcher_write_backs_total %v (present: %t), want its series at 0", v, standby["build_watcher_write_backs_total"] != nil)
	}
}

// monitoringResources are the API resources of config/monitoring's manifests.
var monitoringResources = map[string]schema.GroupVersionResource{
	"ServiceMonitor": {Group: "monitoring.coreos.com", Version: "v1", Resource: "servicemonitors"},
	"PrometheusRule": {Group: "monitoring.coreos.com", Version: "v1", Resource: "prometheusrules"},
}

// TestMonitoringManifestsApply: config/monitoring's ServiceMonitor and PrometheusRule are
// accepted, server-side applied with strict field validation, by an API server with the
// Prometheus Operator's own CRDs; broken copies are refused.
func TestMonitoringManifestsApply(t *testing.T) {
	ctx := t.Context()
	began := time.Now()
	crds, err := controlplane.PrometheusOperatorCRDs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := cp.InstallCRDs(ctx, crds...); err != nil {
		t.Fatal(err)
	}
	t.Logf("the Prometheus Operator's CRDs installed in %s", time.Since(began).Round(time.Millisecond))
	ns, err := cp.CreateNamespace(ctx, "monitoring")
	if err != nil {
		t.Fatal(err)
	}
	client := dynamic.NewForConfigOrDie(cp.Config())
	resources, _ := monitoringFiles(t)
	manifests := map[string]map[string]any{} // kind -> object
	for _, f := range resources {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var obj map[string]any
		if err := yaml.Unmarshal(data, &obj); err != nil {
			t.Fatalf("decoding %s: %v", f, err)
		}
		kind, _ := obj["kind"].(string)
		if _, ok := monitoringResources[kind]; !ok {
			t.Fatalf("%s is a %q: this test knows how to apply %v only; add its resource", f, kind, slices.Sorted(maps.Keys(monitoringResources)))
		}
		manifests[kind] = obj
	}
	// item returns list[i] of an object, as an object.
	item := func(list any, i int) map[string]any { return list.([]any)[i].(map[string]any) }
	spec := func(obj map[string]any) map[string]any { return obj["spec"].(map[string]any) }
	rule := func(obj map[string]any) map[string]any { return item(item(spec(obj)["groups"], 0)["rules"], 0) }
	type tc struct {
		name   string
		kind   string
		change func(obj map[string]any)
		want   string // part of the refusal; "" for none
	}
	cases := []tc{
		{name: "a rule's for an integer", kind: "PrometheusRule", change: func(o map[string]any) { rule(o)["for"] = 15 },
			want: `.rules[0].for: expected string`},
		{name: "a rule's for not a duration", kind: "PrometheusRule", change: func(o map[string]any) { rule(o)["for"] = "15 minutes" },
			want: "spec.groups[0].rules[0].for: Invalid value"},
		{name: "an unknown field of a rule", kind: "PrometheusRule", change: func(o map[string]any) { rule(o)["fore"] = "15m" },
			want: `.rules[0].fore: field not declared in schema`},
		{name: "a scrape interval not a duration", kind: "ServiceMonitor",
			change: func(o map[string]any) { item(spec(o)["endpoints"], 0)["interval"] = "30 seconds" },
			want:   "spec.endpoints[0].interval: Invalid value"},
	}
	for _, kind := range slices.Sorted(maps.Keys(manifests)) {
		cases = append([]tc{{name: kind + " as shipped", kind: kind}}, cases...)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			shipped, ok := manifests[c.kind]
			if !ok {
				t.Fatalf("config/monitoring has no %s", c.kind)
			}
			var obj map[string]any
			data, _ := json.Marshal(shipped)
			if err := json.Unmarshal(data, &obj); err != nil {
				t.Fatal(err)
			}
			if c.change != nil {
				c.change(obj)
			}
			meta := obj["metadata"].(map[string]any)
			meta["namespace"] = ns
			body, err := json.Marshal(obj)
			if err != nil {
				t.Fatal(err)
			}
			_, err = client.Resource(monitoringResources[c.kind]).Namespace(ns).Patch(ctx, meta["name"].(string), types.ApplyPatchType, body,
				metav1.PatchOptions{FieldManager: "build-watcher-tests", Force: new(true), FieldValidation: "Strict"})
			switch {
			case c.want == "" && err != nil:
				t.Errorf("applying config/monitoring's %s: %v", c.kind, err)
			case c.want != "" && err == nil:
				t.Errorf("the API server accepted the %s with %s; want a refusal containing %q", c.kind, c.name, c.want)
			case c.want != "" && !strings.Contains(err.Error(), c.want):
				t.Errorf("the API server refused the %s with %v; want a refusal containing %q", c.kind, err, c.want)
			}
		})
	}
}

// TestMonitoringKustomization: `kubectl apply -k config/monitoring` as documented. The
// kustomization builds (kustomize's own krusty: kustomize-build of make testenv) into the
// ServiceMonitor and the PrometheusRule as written and the dashboard's ConfigMap, all in the
// watcher's namespace; the ConfigMap holds dashboard.json byte for byte under a name without
// a hash, labelled for Grafana's sidecar, small enough for a client-side apply's annotation;
// and the API server (with the Prometheus Operator's CRDs) accepts all three with strict
// field validation.
func TestMonitoringKustomization(t *testing.T) {
	ctx := t.Context()
	root, err := modroot.Find()
	if err != nil {
		t.Fatal(err)
	}
	kustomizeBuild, err := controlplane.Tool(ctx, "kustomize-build")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "config", "monitoring")
	cmd := exec.CommandContext(ctx, kustomizeBuild, dir)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kustomize-build config/monitoring: %v\n%s", err, stderr.String())
	}
	var objs []map[string]any
	for _, doc := range strings.Split(string(out), "\n---\n") {
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			t.Fatalf("kustomize-build config/monitoring printed a document that does not decode: %v\n%s", err, doc)
		}
		objs = append(objs, obj)
	}
	byKind := map[string]map[string]any{}
	for _, obj := range objs {
		kind, _ := obj["kind"].(string)
		meta, _ := obj["metadata"].(map[string]any)
		if meta["namespace"] != "build-watcher" {
			t.Errorf("%s %v is in namespace %v, not the watcher's (build-watcher)", kind, meta["name"], meta["namespace"])
		}
		byKind[kind] = obj
	}
	if got := slices.Sorted(maps.Keys(byKind)); len(objs) != 3 || !slices.Equal(got, []string{"ConfigMap", "PrometheusRule", "ServiceMonitor"}) {
		t.Fatalf("config/monitoring builds %d objects of kinds %v; want a ConfigMap, a PrometheusRule and a ServiceMonitor", len(objs), got)
	}
	resources, _ := monitoringFiles(t)
	for _, f := range resources {
		var written map[string]any
		if err := yaml.Unmarshal(readTestFile(t, f), &written); err != nil {
			t.Fatal(err)
		}
		kind, _ := written["kind"].(string)
		built, ok := byKind[kind]
		if !ok {
			t.Errorf("%s (a %s) is not in the build", f, kind)
			continue
		}
		if got, want := mustJSON(t, built["spec"]), mustJSON(t, written["spec"]); got != want {
			t.Errorf("the built %s's spec is not %s's:\n%s\n%s", kind, f, got, want)
		}
	}
	cm := byKind["ConfigMap"]
	meta := cm["metadata"].(map[string]any)
	if meta["name"] != "build-watcher-dashboard" {
		t.Errorf("the dashboard's ConfigMap is %v; want build-watcher-dashboard (no hash suffix: each apply updates the one the sidecar loaded)", meta["name"])
	}
	if labels, _ := meta["labels"].(map[string]any); labels["grafana_dashboard"] != "1" {
		t.Errorf("the dashboard's ConfigMap has labels %v; Grafana's sidecar looks for grafana_dashboard: \"1\"", labels)
	}
	data, _ := cm["data"].(map[string]any)
	if got, want := data["build-watcher.json"], string(readTestFile(t, filepath.Join(dir, "dashboard.json"))); got != want {
		t.Errorf("the ConfigMap's build-watcher.json is not dashboard.json (%d and %d bytes)", len(fmt.Sprint(got)), len(want))
	}
	// A client-side kubectl apply keeps the whole object in one annotation, whose limit
	// (all annotations of an object) is 256 KiB.
	if n := len(mustJSON(t, cm)); n >= 256<<10 {
		t.Errorf("the dashboard's ConfigMap is %d bytes: kubectl apply -k (client-side) would refuse its last-applied annotation above 256 KiB", n)
	}

	crds, err := controlplane.PrometheusOperatorCRDs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := cp.InstallCRDs(ctx, crds...); err != nil {
		t.Fatal(err)
	}
	ns, err := cp.CreateNamespace(ctx, "monitoring-k")
	if err != nil {
		t.Fatal(err)
	}
	client := dynamic.NewForConfigOrDie(cp.Config())
	gvrs := maps.Clone(monitoringResources)
	gvrs["ConfigMap"] = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	for _, kind := range slices.Sorted(maps.Keys(byKind)) {
		obj := byKind[kind]
		meta := obj["metadata"].(map[string]any)
		meta["namespace"] = ns
		if _, err := client.Resource(gvrs[kind]).Namespace(ns).Patch(ctx, meta["name"].(string), types.ApplyPatchType, []byte(mustJSON(t, obj)),
			metav1.PatchOptions{FieldManager: "build-watcher-tests", Force: new(true), FieldValidation: "Strict"}); err != nil {
			t.Errorf("applying the built %s: %v", kind, err)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func readTestFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
