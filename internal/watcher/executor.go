package watcher

import (
	"context"
	"errors"
	"time"
)

// executor runs analyses: the Tekton executor (PipelineRuns on targets) or the local one
// (in this process). The reconciler decides; an executor only places, makes and reports
// runs, and keeps no decision of its own.
type executor interface {
	// unclaimed returns where attempt's run of a build goes when no claim is written: the
	// run's deterministic name is then the claim. ok is false when a claim must be written
	// first (several targets: the choice of one must be recorded before acting on it). A
	// run of that name already seen on any target is returned whatever the targets are.
	unclaimed(b *Build, attempt int) (c Claim, ok bool)
	// place chooses where attempt's run of a build goes; release must be called once, after
	// the run was made or not, to drop the placement's bookkeeping.
	place(b *Build, attempt int) (c Claim, release func(), err error)
	// lookup reports what the executor knows of a claimed run.
	lookup(c Claim) runView
	// create makes the claimed run, started when a slot is free, else queued. An existing
	// run of that name is success. A refusal no retry can fix wraps errRefused.
	create(ctx context.Context, b *Build, c Claim, attempt int, seen time.Time) (made bool, err error)
	// forget drops what the executor keeps of a run whose outcome is on its build.
	forget(c Claim)
}

// runState is where a claimed run is, as far as the watcher can see.
type runState int

const (
	// runMissing: not made yet, or gone while the watcher was not watching.
	runMissing runState = iota
	// runActive: queued or running.
	runActive
	// runFinished: done; the view holds its outcome.
	runFinished
	// runVanished: deleted before it finished.
	runVanished
	// runNoTarget: the claim names a target the watcher does not have.
	runNoTarget
)

// runView is what an executor knows of one run.
type runView struct {
	state runState
	// out is the outcome of a finished run.
	out Outcome
}

// Outcome is the end of one analysis run.
type Outcome struct {
	// IDs maps build annotations (AnnotationBaseImageAnalysisID, ...) to Thoth's ids.
	IDs map[string]string
	// Err is why the run failed; nil when it succeeded.
	Err error
	// Reason is the failed run's reason (Tekton's Succeeded condition reason, or one of the
	// watcher's Reason constants); IsFinalReason tells whether a retry can help.
	Reason string
}

// errRefused marks a refusal no retry can fix (the API server rejected the run as invalid).
var errRefused = errors.New("refused")
