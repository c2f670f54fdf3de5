package watcher

import (
	"math/rand/v2"
	"time"
)

// Redelivery defaults: a failed analysis is run again, up to DefaultAnalysisAttempts runs in
// all, waiting DefaultRetryBackoff, then twice as long each time, up to MaxRetryBackoff.
const (
	DefaultAnalysisAttempts = 3
	DefaultRetryBackoff     = time.Minute
	MaxRetryBackoff         = time.Hour
	// retryJitter is the largest share added at random to a wait, so that builds that failed
	// together (one outage) do not all come back in the same second.
	retryJitter = 0.2
)

// Reasons of a failed attempt that are the watcher's own, beside Tekton's.
const (
	// ReasonRunDeleted: the run was deleted before its outcome was written (a pruner, a person).
	ReasonRunDeleted = "RunDeleted"
	// ReasonTargetRemoved: the claim names a target that the targets file no longer lists.
	ReasonTargetRemoved = "TargetRemoved"
	// ReasonLocalFailed: an in-process analysis failed in a way a retry may fix.
	ReasonLocalFailed = "AnalysisFailed"
	// ReasonLocalPermanent: an in-process analysis failed in a way no retry can fix
	// (Thoth refused the request, bad input).
	ReasonLocalPermanent = "AnalysisRefused"
)

// finalReasons are the Succeeded-condition reasons of a failed PipelineRun that no new run
// can fix: the Pipeline, a Task or a param is wrong (a new run would fail the same way), or
// a person cancelled the run on purpose.
var finalReasons = map[string]bool{
	"CouldntGetPipeline":              true,
	"CouldntGetTask":                  true,
	"InvalidParamValue":               true,
	"ParameterMissing":                true,
	"ParameterTypeMismatch":           true,
	"ObjectParameterMissKeys":         true,
	"ParamArrayIndexingInvalid":       true,
	"InvalidWorkspaceBindings":        true,
	"InvalidPipelineResourceBindings": true,
	"InvalidTaskRunSpecs":             true,
	"PipelineValidationFailed":        true,
	"PipelineInvalidGraph":            true,
	"InvalidMatrixParameterTypes":     true,
	"InvalidTaskResultReference":      true,
	"InvalidPipelineResultReference":  true,
	"RequiredWorkspaceMarkedOptional": true,
	"ResourceVerificationFailed":      true,
	"CELEvaluationFailed":             true,
	// Cancelled by a person (the watcher never cancels): v1 and v1beta1 spellings.
	"Cancelled":               true,
	"PipelineRunCancelled":    true,
	"CancelledRunningFinally": true,
	"StoppedRunningFinally":   true,
	ReasonLocalPermanent:      true,
	// Argo: the Workflow's spec or template is wrong, or a person stopped it.
	ReasonWorkflowInvalid: true,
	ReasonWorkflowStopped: true,
}

// IsFinalReason reports whether a failed run with this reason must not be run again.
func IsFinalReason(reason string) bool { return finalReasons[reason] }

// retryPolicy decides whether and when a failed analysis runs again.
type retryPolicy struct {
	attempts int           // runs in all per analysis
	backoff  time.Duration // wait after the first failure; doubles after each
	max      time.Duration // longest wait
	jitter   func() float64
}

func newRetryPolicy(attempts int, backoff time.Duration) retryPolicy {
	return retryPolicy{attempts: attempts, backoff: backoff, max: max(MaxRetryBackoff, backoff), jitter: rand.Float64}
}

// retry reports whether attempt (counted from budgetFrom) failing for reason may be followed
// by another run.
func (p retryPolicy) retry(attempt, budgetFrom int, reason string) bool {
	if IsFinalReason(reason) {
		return false
	}
	return attempt-budgetFrom+1 < p.attempts
}

// wait is how long to wait before the run after failed attempt n (n counted from the
// budget's first attempt, 1-based): backoff·2^(n-1), at most max, plus up to 20% jitter.
func (p retryPolicy) wait(n int) time.Duration {
	d := p.backoff
	for i := 1; i < n && d < p.max; i++ {
		d *= 2
	}
	d = min(d, p.max)
	return d + time.Duration(float64(d)*retryJitter*p.jitter())
}
