package watcher

import (
	"fmt"
	"strconv"
	"time"

	"github.com/thoth-station/build-watcher/internal/hint"
)

// analysis is what a build's annotations say about its analysis.
type analysis struct {
	// claim is where the current attempt runs; nil when no claim was written (one target:
	// the run's name is the claim).
	claim *Claim
	// attempt is the current attempt's number (1 for the first).
	attempt int
	// budgetFrom is the first attempt counted against the budget.
	budgetFrom int
	// requested: a person asked for this analysis (AnnotationReanalyze was honoured).
	requested bool
	// retryAt is when the current attempt may start; zero: at once.
	retryAt time.Time
}

// readAnalysis reads the watcher's annotations of a build. A value that does not parse is
// an error a person has to look at: retrying cannot fix it.
func readAnalysis(b *Build) (analysis, error) {
	a := analysis{attempt: 1, budgetFrom: 1}
	if v := b.Annotations[AnnotationRun]; v != "" {
		c, err := ParseClaim(v)
		if err != nil {
			return a, err
		}
		a.claim = &c
	}
	for _, f := range []struct {
		key  string
		into *int
	}{{AnnotationAttempt, &a.attempt}, {AnnotationBudgetFrom, &a.budgetFrom}} {
		v, ok := b.Annotations[f.key]
		if !ok {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return a, fmt.Errorf("annotation %s=%q is not a number from 1", f.key, v)
		}
		*f.into = n
	}
	_, a.requested = b.Annotations[AnnotationBudgetFrom]
	if a.budgetFrom > a.attempt {
		return a, fmt.Errorf("annotation %s=%d is after %s=%d", AnnotationBudgetFrom, a.budgetFrom, AnnotationAttempt, a.attempt)
	}
	if v := b.Annotations[AnnotationRetryAt]; v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return a, fmt.Errorf("annotation %s=%q is not an RFC 3339 time", AnnotationRetryAt, v)
		}
		a.retryAt = t
	}
	if a.claim != nil && a.claim.Name != RunName(b.UID, a.attempt) {
		return a, fmt.Errorf("annotation %s=%q does not name attempt %d's run %s", AnnotationRun, b.Annotations[AnnotationRun], a.attempt, RunName(b.UID, a.attempt))
	}
	return a, nil
}

func str(s string) *string { return &s }

// claimMarks claim the build for a run.
func claimMarks(c Claim) map[string]*string {
	return map[string]*string{AnnotationRun: str(c.String())}
}

// retryMarks move the build to attempt next, to start at at, after a failed one.
func retryMarks(next int, at time.Time, lastError string) map[string]*string {
	return map[string]*string{
		AnnotationAttempt:   str(strconv.Itoa(next)),
		AnnotationRetryAt:   str(at.UTC().Format(time.RFC3339)),
		AnnotationLastError: str(clip(lastError, 1024)),
		AnnotationRun:       nil, // the next run is placed when it is made
	}
}

// outcomeMarks write the end of an analysis: its status (a failure explained for where) and
// Thoth's ids.
func outcomeMarks(out Outcome, where hint.Where) map[string]*string {
	set := map[string]*string{AnnotationStatus: str("Succeeded"), AnnotationRetryAt: nil}
	for k, v := range out.IDs {
		set[k] = str(v)
	}
	if out.Err != nil {
		set[AnnotationStatus] = str(clip("Failed: "+hint.Explain(out.Err, where), 1024))
	}
	return set
}

// reanalyzeMarks start a new analysis, attempt next with a budget of its own, and consume
// the request.
func reanalyzeMarks(next int) map[string]*string {
	set := map[string]*string{
		AnnotationAttempt:    str(strconv.Itoa(next)),
		AnnotationBudgetFrom: str(strconv.Itoa(next)),
		AnnotationReanalyze:  nil,
		AnnotationStatus:     nil,
		AnnotationRun:        nil,
		AnnotationRetryAt:    nil,
		AnnotationLastError:  nil,
	}
	for _, r := range analysisResults() {
		set[r.annotation] = nil
	}
	return set
}
