package watcher

import "time"

// needsReconcile is the handlers' filter: a finished build whose analysis is not over, or
// one on which a person asked for a new analysis. Everything else is decided in sync.
func needsReconcile(b *Build) bool {
	if b.Phase == "" {
		return false
	}
	if !b.Done() {
		return true
	}
	_, asked := b.Annotations[AnnotationReanalyze]
	return asked
}

// wanted reports whether a finished build that has no analysis run yet is to be analysed:
// its phase is chosen and it finished after the watcher was first installed (unless
// --analyze-existing). An analysis a person asked for, or one already past its first
// attempt, is always wanted.
func (w *Watcher) wanted(b *Build, a analysis) bool {
	if a.requested || a.attempt > 1 {
		return true
	}
	if !w.phases[b.Phase] {
		return false
	}
	// Kubernetes timestamps have whole seconds: a build that finished in the second of the
	// installation counts as new.
	return w.cfg.AnalyzeExisting || !b.Finished.Before(w.installedAt.Truncate(time.Second))
}
