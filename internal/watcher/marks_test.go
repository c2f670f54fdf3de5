package watcher

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/thoth-station/build-watcher/internal/build"
	"github.com/thoth-station/build-watcher/internal/hint"
)

func TestReadAnalysis(t *testing.T) {
	const uid = "u1"
	at := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		ann     map[string]string
		want    analysis
		wantErr string
	}{
		{name: "nothing yet", want: analysis{attempt: 1, budgetFrom: 1}},
		{name: "claimed", ann: map[string]string{AnnotationRun: "east/thoth/thoth-u1"},
			want: analysis{claim: &Claim{"east", "thoth", "thoth-u1"}, attempt: 1, budgetFrom: 1}},
		{name: "second attempt waiting", ann: map[string]string{AnnotationAttempt: "2", AnnotationRetryAt: at.Format(time.RFC3339)},
			want: analysis{attempt: 2, budgetFrom: 1, retryAt: at}},
		{name: "asked for again", ann: map[string]string{AnnotationAttempt: "4", AnnotationBudgetFrom: "4", AnnotationRun: "local/-/thoth-u1-4"},
			want: analysis{claim: &Claim{"local", "-", "thoth-u1-4"}, attempt: 4, budgetFrom: 4, requested: true}},
		{name: "claim not TARGET/NAMESPACE/NAME", ann: map[string]string{AnnotationRun: "thoth-u1"}, wantErr: "is not TARGET/NAMESPACE/NAME"},
		{name: "claim of another attempt", ann: map[string]string{AnnotationRun: "east/thoth/thoth-u1", AnnotationAttempt: "2"}, wantErr: "does not name attempt 2's run thoth-u1-2"},
		{name: "attempt not a number", ann: map[string]string{AnnotationAttempt: "two"}, wantErr: `analysis-attempt="two" is not a number`},
		{name: "attempt zero", ann: map[string]string{AnnotationAttempt: "0"}, wantErr: "is not a number from 1"},
		{name: "budget after the attempt", ann: map[string]string{AnnotationBudgetFrom: "3"}, wantErr: "is after"},
		{name: "retry time not a time", ann: map[string]string{AnnotationRetryAt: "soon"}, wantErr: "is not an RFC 3339 time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &Build{Ref: build.Ref{Kind: build.KindBuild, Namespace: "a", Name: "b"}, UID: uid, Annotations: tc.ann}
			got, err := readAnalysis(b)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("readAnalysis = %v, want an error saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (got.claim == nil) != (tc.want.claim == nil) || (got.claim != nil && *got.claim != *tc.want.claim) ||
				got.attempt != tc.want.attempt || got.budgetFrom != tc.want.budgetFrom || got.requested != tc.want.requested ||
				!got.retryAt.Equal(tc.want.retryAt) {
				t.Errorf("readAnalysis = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestMarks(t *testing.T) {
	at := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	retry := retryMarks(3, at, strings.Repeat("x", 2000))
	if *retry[AnnotationAttempt] != "3" || *retry[AnnotationRetryAt] != "2026-12-05T10:00:00Z" || retry[AnnotationRun] != nil {
		t.Errorf("retryMarks: %v", retry)
	}
	if _, ok := retry[AnnotationRun]; !ok {
		t.Error("retryMarks must remove the previous attempt's claim")
	}
	if n := len(*retry[AnnotationLastError]); n > 1030 {
		t.Errorf("retryMarks kept an error of %d bytes", n)
	}
	failed := outcomeMarks(Outcome{Err: errors.New("PipelineRun x: Failed: boom"), IDs: map[string]string{AnnotationBuildLogDocumentID: "d"}}, hint.WatcherCluster)
	if *failed[AnnotationStatus] != "Failed: PipelineRun x: Failed: boom" || *failed[AnnotationBuildLogDocumentID] != "d" {
		t.Errorf("outcomeMarks: %v", failed)
	}
	again := reanalyzeMarks(5)
	for _, k := range []string{AnnotationStatus, AnnotationReanalyze, AnnotationRun, AnnotationBaseImageAnalysisID, AnnotationBuildLogDocumentID} {
		if v, ok := again[k]; !ok || v != nil {
			t.Errorf("reanalyzeMarks must remove %s", k)
		}
	}
	if *again[AnnotationAttempt] != "5" || *again[AnnotationBudgetFrom] != "5" {
		t.Errorf("reanalyzeMarks: %v", again)
	}
}
