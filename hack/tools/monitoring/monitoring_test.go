// Package monitoring checks config/monitoring with Prometheus' own parsers: the
// PrometheusRule's groups as Prometheus loads a rules file, and every query of the Grafana
// dashboard as PromQL naming only build-watcher's metrics. Whether a running watcher exports
// every metric they name is checked in internal/watcher (TestMonitoringMetricsExported).
package monitoring

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"
)

// dir is config/monitoring, from this package's directory.
var dir = filepath.Join("..", "..", "..", "config", "monitoring")

// metricPrefix starts the name of every metric the rules and the dashboard may use: the
// scrape test in internal/watcher finds them by it.
const metricPrefix = "build_watcher_"

func newParser() parser.Parser { return parser.NewParser(parser.Options{}) }

// checkRules checks a PrometheusRule: its spec must be a rules file that Prometheus loads,
// unknown fields refused, and every vector selector must name a build-watcher metric.
func checkRules(doc []byte) []error {
	var rule struct {
		APIVersion string    `yaml:"apiVersion"`
		Kind       string    `yaml:"kind"`
		Metadata   yaml.Node `yaml:"metadata"`
		Spec       yaml.Node `yaml:"spec"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(doc))
	dec.KnownFields(true)
	if err := dec.Decode(&rule); err != nil {
		return []error{fmt.Errorf("decoding the PrometheusRule: %w", err)}
	}
	if rule.APIVersion != "monitoring.coreos.com/v1" || rule.Kind != "PrometheusRule" {
		return []error{fmt.Errorf("the document is a %s %s, not a monitoring.coreos.com/v1 PrometheusRule", rule.APIVersion, rule.Kind)}
	}
	spec, err := yaml.Marshal(&rule.Spec)
	if err != nil {
		return []error{fmt.Errorf("encoding the PrometheusRule's spec: %w", err)}
	}
	groups, errs := rulefmt.Parse(spec, false, model.UTF8Validation, newParser(), slog.New(slog.DiscardHandler))
	if len(errs) > 0 {
		return errs
	}
	n := 0
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			n++
			name := r.Alert + r.Record
			if r.Alert != "" && !strings.HasPrefix(r.Alert, "BuildWatcher") {
				errs = append(errs, fmt.Errorf("group %s: alert %s: name alerts BuildWatcher...", g.Name, r.Alert))
			}
			if r.Alert != "" && r.Labels["severity"] == "" {
				errs = append(errs, fmt.Errorf("group %s: alert %s has no severity label: give it one (warning, critical)", g.Name, name))
			}
			for _, a := range []string{"summary", "description", "runbook_url"} {
				if r.Alert != "" && r.Annotations[a] == "" {
					errs = append(errs, fmt.Errorf("group %s: alert %s has no %s annotation", g.Name, name, a))
				}
			}
			expr, err := newParser().ParseExpr(r.Expr)
			if err != nil {
				continue // rulefmt reported it
			}
			for _, err := range ownMetrics(expr) {
				errs = append(errs, fmt.Errorf("group %s: rule %s: %w", g.Name, name, err))
			}
		}
	}
	if n == 0 {
		errs = append(errs, errors.New("the PrometheusRule has no rule"))
	}
	return errs
}

// ownMetrics checks that every vector selector of expr names a metric of build-watcher.
func ownMetrics(expr parser.Expr) []error {
	var errs []error
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		vs, ok := node.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		name := vs.Name
		for _, m := range vs.LabelMatchers {
			if m.Name == model.MetricNameLabel && m.Type == labels.MatchEqual {
				name = m.Value
			}
		}
		if !strings.HasPrefix(name, metricPrefix) {
			errs = append(errs, fmt.Errorf("%s selects %q, not a metric named %s...: use build-watcher's own metrics, which the scrape test checks", vs, name, metricPrefix))
		}
		return nil
	})
	return errs
}

// variables are what the dashboard's Grafana variables stand for in a query.
var variables = map[string]string{
	"__rate_interval": "2m", "__interval": "1m", "__range": "6h", "__range_s": "21600", "__interval_ms": "60000",
	"namespace": "build-watcher",
}

// variableRef is a Grafana variable in a query: $name, ${name} or ${name:format}.
var variableRef = regexp.MustCompile(`\$(\w+)|\$\{(\w+)(?::\w+)?\}`)

// expand replaces the Grafana variables of a query.
func expand(query string) (string, error) {
	var unknown []string
	out := variableRef.ReplaceAllStringFunc(query, func(ref string) string {
		m := variableRef.FindStringSubmatch(ref)
		name := m[1] + m[2]
		v, ok := variables[name]
		if !ok {
			unknown = append(unknown, ref)
		}
		return v
	})
	if len(unknown) > 0 {
		return "", fmt.Errorf("unknown Grafana variables %v: add them to the test's variables", unknown)
	}
	return out, nil
}

type panel struct {
	Title   string  `json:"title"`
	Panels  []panel `json:"panels"` // of a row
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
}

// checkDashboard checks a Grafana dashboard: a datasource variable of type prometheus, and
// every panel's query is PromQL naming only build-watcher's metrics.
func checkDashboard(doc []byte) []error {
	var dash struct {
		Templating struct {
			List []struct {
				Name  string `json:"name"`
				Type  string `json:"type"`
				Query any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
		Panels []panel `json:"panels"`
	}
	if err := json.Unmarshal(doc, &dash); err != nil {
		return []error{fmt.Errorf("decoding the dashboard: %w", err)}
	}
	var errs []error
	datasource := false
	for _, v := range dash.Templating.List {
		datasource = datasource || v.Name == "datasource" && v.Type == "datasource" && v.Query == "prometheus"
	}
	if !datasource {
		errs = append(errs, errors.New(`the dashboard has no variable "datasource" of type datasource, query prometheus: add it, and use ${datasource} in the panels`))
	}
	n := 0
	var walk func([]panel)
	walk = func(panels []panel) {
		for _, p := range panels {
			walk(p.Panels)
			for _, t := range p.Targets {
				n++
				query, err := expand(t.Expr)
				if err == nil {
					var expr parser.Expr
					if expr, err = newParser().ParseExpr(query); err == nil {
						err = errors.Join(ownMetrics(expr)...)
					}
				}
				if err != nil {
					errs = append(errs, fmt.Errorf("panel %q, query %s: %w", p.Title, t.RefID, err))
				}
			}
		}
	}
	walk(dash.Panels)
	if n == 0 {
		errs = append(errs, errors.New("the dashboard has no query"))
	}
	return errs
}

func read(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatalf("reading config/monitoring/%s: %v", name, err)
	}
	return data
}

// checkErrs compares the errors of a check with the one wanted (a part of its text; "" for none).
func checkErrs(t *testing.T, errs []error, want string) {
	t.Helper()
	if want == "" {
		said := map[string]bool{} // rulefmt decodes twice, and says a decoding error twice
		for _, err := range errs {
			if !said[err.Error()] {
				t.Error(err)
			}
			said[err.Error()] = true
		}
		return
	}
	for _, err := range errs {
		if strings.Contains(err.Error(), want) {
			return
		}
	}
	t.Errorf("got errors %v, want one containing %q", errs, want)
}

const goodRule = `apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: test
spec:
  groups:
    - name: test
      rules:
        - alert: BuildWatcherTest
          expr: sum(rate(build_watcher_api_errors_total[5m])) > 1
          for: 5m
          labels:
            severity: warning
          annotations:
            summary: s
            description: d
            runbook_url: r
`

func TestRules(t *testing.T) {
	for _, tc := range []struct {
		name string
		doc  string
		want string // part of an error; "" for none
	}{
		{name: "config/monitoring/prometheusrule.yaml", doc: string(read(t, "prometheusrule.yaml"))},
		{name: "a good rule", doc: goodRule},
		{name: "an expression that does not parse", want: "could not parse expression",
			doc: strings.Replace(goodRule, "[5m])) > 1", "[5m]) > 1", 1)},
		{name: "an unknown field of a rule", want: "field fore not found",
			doc: strings.Replace(goodRule, "for: 5m", "fore: 5m", 1)},
		{name: "a duration that is not one", want: `unknown unit " minutes"`,
			doc: strings.Replace(goodRule, "for: 5m", "for: 5 minutes", 1)},
		{name: "a template that does not parse", want: "template",
			doc: strings.Replace(goodRule, "summary: s", "summary: '{{ $labels.x '", 1)},
		{name: "an alert without severity", want: "no severity label",
			doc: strings.Replace(goodRule, "severity: warning", "team: thoth", 1)},
		{name: "a metric not build-watcher's", want: `selects "up"`,
			doc: strings.Replace(goodRule, "sum(rate(build_watcher_api_errors_total[5m]))", "up", 1)},
		{name: "not a PrometheusRule", want: "not a monitoring.coreos.com/v1 PrometheusRule",
			doc: strings.Replace(goodRule, "kind: PrometheusRule", "kind: ConfigMap", 1)},
	} {
		t.Run(tc.name, func(t *testing.T) { checkErrs(t, checkRules([]byte(tc.doc)), tc.want) })
	}
}

const goodDashboard = `{
  "templating": {"list": [{"name": "datasource", "type": "datasource", "query": "prometheus"}]},
  "panels": [
    {"type": "row", "title": "row", "panels": [
      {"title": "nested", "targets": [{"refId": "A", "expr": "sum(build_watcher_runs{namespace=~\"$namespace\"})"}]}
    ]},
    {"title": "errors", "targets": [{"refId": "A", "expr": "sum(rate(build_watcher_api_errors_total[$__rate_interval]))"}]}
  ]
}`

func TestDashboard(t *testing.T) {
	for _, tc := range []struct {
		name string
		doc  string
		want string // part of an error; "" for none
	}{
		{name: "config/monitoring/dashboard.json", doc: string(read(t, "dashboard.json"))},
		{name: "a good dashboard", doc: goodDashboard},
		{name: "a query that does not parse", want: `panel "errors", query A: 1:`,
			doc: strings.Replace(goodDashboard, "[$__rate_interval]))", "[$__rate_interval])", 1)},
		{name: "a query in a row that does not parse", want: `panel "nested"`,
			doc: strings.Replace(goodDashboard, `sum(build_watcher_runs`, `sum(build_watcher_runs{`, 1)},
		{name: "an unknown variable", want: "unknown Grafana variables [${team}]",
			doc: strings.Replace(goodDashboard, "$namespace", "${team}", 1)},
		{name: "a metric not build-watcher's", want: `selects "process_resident_memory_bytes"`,
			doc: strings.Replace(goodDashboard, "build_watcher_runs", "process_resident_memory_bytes", 1)},
		{name: "no datasource variable", want: `no variable "datasource"`,
			doc: strings.Replace(goodDashboard, `"type": "datasource"`, `"type": "query"`, 1)},
		{name: "no query", want: "no query", doc: `{"templating": {"list": [{"name": "datasource", "type": "datasource", "query": "prometheus"}]}}`},
	} {
		t.Run(tc.name, func(t *testing.T) { checkErrs(t, checkDashboard([]byte(tc.doc)), tc.want) })
	}
}
