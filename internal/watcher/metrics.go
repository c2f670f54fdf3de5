package watcher

import (
	"sync"

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
	runsRefused    *prometheus.CounterVec
	redeliveries   *prometheus.CounterVec
	finalFailures  *prometheus.CounterVec
	latency        prometheus.Histogram
	apiErrors      *prometheus.CounterVec
	writeBacks     *prometheus.CounterVec
	targetReloads  *prometheus.CounterVec
	leader         prometheus.Gauge
	queue          *queueCollector
}

// targetCounts is one target's queue at one moment.
type targetCounts struct {
	target                string
	running, pending, max int
}

// queueCollector reports the runs of every target as the executor counts them at the
// moment of the scrape, so that the gauges can never drift from the bookkeeping.
type queueCollector struct {
	runs, max *prometheus.Desc

	mu     sync.Mutex
	counts func() []targetCounts
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.runs; ch <- c.max }

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	counts := c.counts
	c.mu.Unlock()
	if counts == nil {
		return
	}
	for _, t := range counts() {
		ch <- prometheus.MustNewConstMetric(c.runs, prometheus.GaugeValue, float64(t.running), t.target, "running")
		ch <- prometheus.MustNewConstMetric(c.runs, prometheus.GaugeValue, float64(t.pending), t.target, "pending")
		ch <- prometheus.MustNewConstMetric(c.max, prometheus.GaugeValue, float64(t.max), t.target)
	}
}

// setSource makes counts the source of the queue gauges.
func (c *queueCollector) setSource(counts func() []targetCounts) {
	c.mu.Lock()
	c.counts = counts
	c.mu.Unlock()
}

// NewMetrics makes and registers the metrics.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		buildsSeen: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "build_watcher_builds_seen_total", Help: "Build objects seen (added), by kind.",
		}, []string{"kind"}),
		buildsFinished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "build_watcher_builds_finished_total", Help: "Finished builds whose first analysis run was made, by kind and phase.",
		}, []string{"kind", "phase"}),
		runsCreated: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "build_watcher_runs_created_total", Help: "Analysis runs created, by target and initial state (running, pending).",
		}, []string{"target", "state"}),
		runsStarted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "build_watcher_runs_started_total", Help: "Queued analysis runs started, by target.",
		}, []string{"target"}),
		runsCompleted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "build_watcher_runs_completed_total", Help: "Analysis runs whose end was handled, by target and outcome (succeeded, failed, deleted).",
		}, []string{"target", "outcome"}),
		runsRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "build_watcher_runs_refused_total", Help: "Analysis runs the API server refused as invalid (not retried; an Event is on the build), by target.",
		}, []string{"target"}),
		redeliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "build_watcher_redeliveries_total", Help: "Failed analysis runs followed by a new attempt, by reason of the failure.",
		}, []string{"reason"}),
		finalFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "build_watcher_analyses_failed_total", Help: "Analyses that failed for good (no attempt left, or a reason no retry can fix), by reason.",
		}, []string{"reason"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "build_watcher_event_to_run_seconds",
			Help:    "Time from seeing a build finish to creating its first analysis run.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}),
		apiErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "build_watcher_api_errors_total", Help: "Failed API calls, by verb and resource.",
		}, []string{"verb", "resource"}),
		writeBacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "build_watcher_write_backs_total", Help: "Final analysis outcomes written onto builds, by outcome.",
		}, []string{"outcome"}),
		targetReloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "build_watcher_targets_reloads_total", Help: "Changes of the targets file, by outcome (applied; invalid or failed: the previous targets stay).",
		}, []string{"outcome"}),
		leader: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "build_watcher_leader", Help: "1 while this replica acts (it holds the Lease, or runs without leader election), else 0.",
		}),
		queue: &queueCollector{
			runs: prometheus.NewDesc("build_watcher_runs", "Analysis runs now, by target and state (running, pending).", []string{"target", "state"}, nil),
			max:  prometheus.NewDesc("build_watcher_target_max_concurrent", "Runs allowed at once, by target.", []string{"target"}, nil),
		},
	}
	m.Registry.MustRegister(m.buildsSeen, m.buildsFinished, m.runsCreated, m.runsStarted,
		m.runsCompleted, m.runsRefused, m.redeliveries, m.finalFailures, m.latency, m.apiErrors, m.writeBacks, m.targetReloads, m.leader, m.queue,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// initSeries makes the series whose label values are known in advance exist at zero, as
// controller-runtime does for its per-controller series: a counter vector shows a series
// only once it is used, so an alert on rate() or increase() of one never used sees nothing,
// and misses its first event. New calls it with the configuration, the Tekton executor again
// with the targets it applies. The reasons of redeliveries and failed analyses are Tekton's
// condition reasons, not known in advance: those series appear when first counted.
func (m *Metrics) initSeries(cfg *Config, targets []string) {
	for _, outcome := range []string{"succeeded", "failed"} {
		m.writeBacks.WithLabelValues(outcome)
	}
	for _, outcome := range []string{"applied", "invalid", "failed"} {
		m.targetReloads.WithLabelValues(outcome)
	}
	for _, kind := range cfg.Kinds {
		m.buildsSeen.WithLabelValues(string(kind))
		for _, phase := range cfg.Phases {
			m.buildsFinished.WithLabelValues(string(kind), string(phase))
		}
		m.apiErrors.WithLabelValues("patch", string(kind)) // the marks on builds
	}
	if cfg.Executor == ExecutorTekton {
		m.apiErrors.WithLabelValues("create", "pipelineruns")
		m.apiErrors.WithLabelValues("patch", "pipelineruns") // starting a queued run
	}
	if cfg.AnalyzeExisting {
		m.apiErrors.WithLabelValues("list", "imagestreams")
		m.apiErrors.WithLabelValues("patch", "imagestreams")
	}
	for _, target := range targets {
		for _, state := range []string{"running", "pending"} {
			m.runsCreated.WithLabelValues(target, state)
		}
		m.runsStarted.WithLabelValues(target)
		for _, outcome := range []string{"succeeded", "failed", "deleted"} {
			m.runsCompleted.WithLabelValues(target, outcome)
		}
		m.runsRefused.WithLabelValues(target)
	}
}
