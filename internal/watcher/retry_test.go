package watcher

import (
	"testing"
	"time"
)

func TestRetryPolicy(t *testing.T) {
	p := newRetryPolicy(3, time.Minute)
	for _, tc := range []struct {
		name                string
		attempt, budgetFrom int
		reason              string
		want                bool
	}{
		{"first failure", 1, 1, "Failed", true},
		{"second failure", 2, 1, "PipelineRunTimeout", true},
		{"third failure ends the budget", 3, 1, "Failed", false},
		{"a run deleted mid-way", 1, 1, ReasonRunDeleted, true},
		{"unknown reasons are retried", 1, 1, "SomethingNew", true},
		{"a missing Pipeline is final", 1, 1, "CouldntGetPipeline", false},
		{"a missing Task is final", 1, 1, "CouldntGetTask", false},
		{"a bad param is final", 1, 1, "InvalidParamValue", false},
		{"a missing param is final", 1, 1, "ParameterMissing", false},
		{"cancelled by a person is final", 1, 1, "Cancelled", false},
		{"cancelled (v1beta1 spelling) is final", 1, 1, "PipelineRunCancelled", false},
		{"Thoth refused the local analysis", 1, 1, ReasonLocalPermanent, false},
		{"a new analysis has a budget of its own", 5, 4, "Failed", true},
		{"a new analysis's budget ends too", 6, 4, "Failed", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := p.retry(tc.attempt, tc.budgetFrom, tc.reason); got != tc.want {
				t.Errorf("retry(%d, %d, %q) = %t, want %t", tc.attempt, tc.budgetFrom, tc.reason, got, tc.want)
			}
		})
	}
	if newRetryPolicy(1, time.Minute).retry(1, 1, "Failed") {
		t.Error("one attempt in all: a failure must be final")
	}
}

func TestRetryWait(t *testing.T) {
	for _, tc := range []struct {
		name    string
		backoff time.Duration
		n       int
		jitter  float64
		want    time.Duration
	}{
		{"first wait", time.Minute, 1, 0, time.Minute},
		{"doubles", time.Minute, 2, 0, 2 * time.Minute},
		{"doubles again", time.Minute, 3, 0, 4 * time.Minute},
		{"capped at an hour", time.Minute, 10, 0, time.Hour},
		{"no overflow far out", time.Minute, 1000, 0, time.Hour},
		{"jitter adds up to a fifth", time.Minute, 1, 1, 72 * time.Second},
		{"the cap holds before jitter", time.Minute, 10, 0.5, 66 * time.Minute},
		{"a backoff above the cap is kept", 2 * time.Hour, 3, 0, 2 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newRetryPolicy(3, tc.backoff)
			p.jitter = func() float64 { return tc.jitter }
			if got := p.wait(tc.n); got != tc.want {
				t.Errorf("wait(%d) with backoff %s = %s, want %s", tc.n, tc.backoff, got, tc.want)
			}
		})
	}
}

func TestRunName(t *testing.T) {
	for _, tc := range []struct {
		attempt int
		want    string
	}{{1, "thoth-0a1b-c2"}, {2, "thoth-0a1b-c2-2"}, {12, "thoth-0a1b-c2-12"}} {
		if got := RunName("0A1B-C2", tc.attempt); got != tc.want {
			t.Errorf("RunName(attempt %d) = %q, want %q", tc.attempt, got, tc.want)
		}
	}
}
