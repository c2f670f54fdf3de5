package watcher

import (
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/thoth-station/build-watcher/internal/build"
)

// counterSeries lists the registry's counter series as name{label="value",...} = value.
func counterSeries(t *testing.T, m *Metrics) map[string]float64 {
	t.Helper()
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatalf("gathering the metrics: %v", err)
	}
	out := map[string]float64{}
	for _, f := range families {
		if f.GetType() != dto.MetricType_COUNTER || !strings.HasPrefix(f.GetName(), "build_watcher_") {
			continue
		}
		for _, s := range f.GetMetric() {
			var labels []string
			for _, l := range s.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			out[f.GetName()+"{"+strings.Join(labels, ",")+"}"] = s.GetCounter().GetValue()
		}
	}
	return out
}

func TestInitSeries(t *testing.T) {
	always := []string{
		"build_watcher_write_backs_total{outcome=failed}",
		"build_watcher_write_backs_total{outcome=succeeded}",
		"build_watcher_targets_reloads_total{outcome=applied}",
		"build_watcher_targets_reloads_total{outcome=failed}",
		"build_watcher_targets_reloads_total{outcome=invalid}",
	}
	target := func(name string) []string {
		return []string{
			"build_watcher_runs_created_total{state=pending,target=" + name + "}",
			"build_watcher_runs_created_total{state=running,target=" + name + "}",
			"build_watcher_runs_started_total{target=" + name + "}",
			"build_watcher_runs_completed_total{outcome=deleted,target=" + name + "}",
			"build_watcher_runs_completed_total{outcome=failed,target=" + name + "}",
			"build_watcher_runs_completed_total{outcome=succeeded,target=" + name + "}",
			"build_watcher_runs_refused_total{target=" + name + "}",
		}
	}
	for _, tc := range []struct {
		name    string
		cfg     Config
		targets []string
		want    []string // besides always
	}{
		{
			name: "Tekton, before its targets are applied",
			cfg:  Config{Executor: ExecutorTekton, Kinds: []build.Kind{build.KindBuild}, Phases: []build.Phase{build.PhaseSucceeded}},
			want: []string{
				"build_watcher_builds_seen_total{kind=build}",
				"build_watcher_builds_finished_total{kind=build,phase=Succeeded}",
				"build_watcher_api_errors_total{resource=build,verb=patch}",
				"build_watcher_api_errors_total{resource=pipelineruns,verb=create}",
				"build_watcher_api_errors_total{resource=pipelineruns,verb=patch}",
			},
		},
		{
			name: "Tekton with two kinds, two phases and two targets",
			cfg: Config{Executor: ExecutorTekton, Kinds: []build.Kind{build.KindPipelineRun, build.KindBuildRun},
				Phases: []build.Phase{build.PhaseSucceeded, build.PhaseFailed}},
			targets: []string{"east", "west"},
			want: slices.Concat([]string{
				"build_watcher_builds_seen_total{kind=pipelinerun}",
				"build_watcher_builds_seen_total{kind=buildrun}",
				"build_watcher_builds_finished_total{kind=pipelinerun,phase=Succeeded}",
				"build_watcher_builds_finished_total{kind=pipelinerun,phase=Failed}",
				"build_watcher_builds_finished_total{kind=buildrun,phase=Succeeded}",
				"build_watcher_builds_finished_total{kind=buildrun,phase=Failed}",
				"build_watcher_api_errors_total{resource=pipelinerun,verb=patch}",
				"build_watcher_api_errors_total{resource=buildrun,verb=patch}",
				"build_watcher_api_errors_total{resource=pipelineruns,verb=create}",
				"build_watcher_api_errors_total{resource=pipelineruns,verb=patch}",
			}, target("east"), target("west")),
		},
		{
			name: "local executor with --analyze-existing",
			cfg: Config{Executor: ExecutorLocal, Kinds: []build.Kind{build.KindBuild}, Phases: []build.Phase{build.PhaseError},
				AnalyzeExisting: true},
			targets: []string{LocalTarget},
			want: slices.Concat([]string{
				"build_watcher_builds_seen_total{kind=build}",
				"build_watcher_builds_finished_total{kind=build,phase=Error}",
				"build_watcher_api_errors_total{resource=build,verb=patch}",
				"build_watcher_api_errors_total{resource=imagestreams,verb=list}",
				"build_watcher_api_errors_total{resource=imagestreams,verb=patch}",
			}, target(LocalTarget)),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMetrics()
			m.initSeries(&tc.cfg, tc.targets)
			m.initSeries(&tc.cfg, tc.targets) // again, as every targets reload does: nothing changes
			got := counterSeries(t, m)
			want := slices.Concat(always, tc.want)
			for _, s := range want {
				v, ok := got[s]
				switch {
				case !ok:
					t.Errorf("series %s is missing", s)
				case v != 0:
					t.Errorf("series %s = %v, want 0", s, v)
				}
			}
			for s := range got {
				if !slices.Contains(want, s) {
					t.Errorf("series %s was made, but this configuration never counts it", s)
				}
			}
		})
	}
}
