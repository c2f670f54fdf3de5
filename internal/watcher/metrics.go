package watcher

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are the watcher's Prometheus metrics, in a registry of their own.
type Metrics struct {
	Registry *prometheus.Registry

	buildsSeen     *prometheus.CounterVec
	buildsFinished *prometheus.CounterVec
	runsCreated    *prometheus.CounterVec
	runsStarted    *prometheus.CounterVec
	runsCompleted  *prometheus.CounterVec
	runs           *prometheus.GaugeVec
	targetMax      *prometheus.GaugeVec
	latency        prometheus.Histogram
	apiErrors      *prometheus.CounterVec
	writeBacks     *prometheus.CounterVec
}

// NewMetrics makes and registers the metrics.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		buildsSeen: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "build_watcher_builds_seen_total", Help: "Build objects seen (added), by kind.",
		}, []string{"kind"}),
		buildsFinished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "build_watcher_builds_finished_total", Help: "Finished builds queued for analysis, by kind and phase.",
		}, []string{"kind", "phase"}),
		runsCreated: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "build_watcher_runs_created_total", Help: "Analysis runs created, by target and initial state (running, pending).",
		}, []string{"target", "state"}),
		runsStarted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "build_watcher_runs_started_total", Help: "Queued analysis runs started, by target.",
		}, []string{"target"}),
		runsCompleted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "build_watcher_runs_completed_total", Help: "Analysis runs written back, by target and outcome (succeeded, failed).",
		}, []string{"target", "outcome"}),
		runs: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "build_watcher_runs", Help: "Analysis runs now, by target and state (running, pending).",
		}, []string{"target", "state"}),
		targetMax: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "build_watcher_target_max_concurrent", Help: "Runs allowed at once, by target.",
		}, []string{"target"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "build_watcher_event_to_run_seconds",
			Help:    "Time from seeing a build finish to creating its analysis run.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}),
		apiErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "build_watcher_api_errors_total", Help: "Failed API calls, by verb and resource.",
		}, []string{"verb", "resource"}),
		writeBacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "build_watcher_write_backs_total", Help: "Analysis outcomes written onto builds, by outcome.",
		}, []string{"outcome"}),
	}
	m.Registry.MustRegister(m.buildsSeen, m.buildsFinished, m.runsCreated, m.runsStarted,
		m.runsCompleted, m.runs, m.targetMax, m.latency, m.apiErrors, m.writeBacks,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
