package watcher

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/thoth-station/build-watcher/internal/build"
	"github.com/thoth-station/build-watcher/internal/hint"
)

// errStale: the cached build is older than the API server's (a write conditional on its
// resourceVersion got a Conflict). The build is reconciled again once the cache catches up.
var errStale = errors.New("the cached build is behind the API server")

// errGone: the build was deleted while it was reconciled; nothing is left to do.
var errGone = errors.New("the build is gone")

// processNext reconciles one build key; false once the queue shuts down.
func (w *Watcher) processNext(ctx context.Context) bool {
	ref, shutdown := w.queue.Get()
	if shutdown {
		return false
	}
	defer w.queue.Done(ref)
	err := w.sync(ctx, ref)
	switch {
	case err == nil || errors.Is(err, errGone) || ctx.Err() != nil:
		w.queue.Forget(ref)
		w.mu.Lock()
		delete(w.seen, ref)
		w.mu.Unlock()
	case errors.Is(err, errStale):
		w.log.Debug("the cached build is stale; reconciling it again", "build", ref.String())
		w.queue.AddRateLimited(ref)
	default:
		w.log.Error("reconciling a build failed; will retry", "build", ref.String(), "error", err,
			"retries", w.queue.NumRequeues(ref))
		w.queue.AddRateLimited(ref)
	}
	return true
}

// sync brings one build's analysis one step forward. It decides from the cache, and every
// decision is written conditional on the build's version (or is the deterministic creation of
// a run), so running it twice, or on a stale cache, never starts a second analysis. It
// returns nil when done or hopeless, an error when the step must be retried.
func (w *Watcher) sync(ctx context.Context, ref build.Ref) error {
	s, ok := w.sources[ref.Kind]
	if !ok {
		return nil
	}
	b, ok := s.get(ref.Namespace, ref.Name)
	if !ok {
		w.mu.Lock()
		delete(w.written, ref)
		w.mu.Unlock()
		return nil
	}
	if b.Phase == "" {
		return nil // not finished: a later update queues it again
	}
	a, err := readAnalysis(b)
	if err != nil {
		w.recorder.Eventf(s.object(b), corev1.EventTypeWarning, ReasonFailed,
			"%v: fix that annotation, or remove it, on the build", err)
		return nil // a person has to look; retrying cannot fix it
	}
	if b.Done() {
		w.exec.forget(Claim{Name: RunName(b.UID, a.attempt)})
		w.mu.Lock()
		delete(w.written, ref)
		w.mu.Unlock()
		if _, asked := b.Annotations[AnnotationReanalyze]; asked {
			return w.reanalyze(ctx, s, b, a)
		}
		return nil
	}
	if w.wroteOutcome(b) {
		return nil // the cache has not caught up with the outcome this process wrote
	}
	claim, release, err := w.claim(ctx, s, b, a)
	if release != nil {
		defer release()
	}
	if err != nil || claim == nil {
		return err
	}
	view := w.exec.lookup(*claim)
	switch view.state {
	case runActive:
		return nil // its end queues the build again
	case runFinished:
		return w.finish(ctx, s, b, a, *claim, view.out)
	case runVanished:
		return w.finish(ctx, s, b, a, *claim, Outcome{
			Err:    fmt.Errorf("PipelineRun %s/%s on target %s was deleted before its outcome was written", claim.Namespace, claim.Name, claim.Target),
			Reason: ReasonRunDeleted,
		})
	case runNoTarget:
		return w.finish(ctx, s, b, a, *claim, Outcome{
			Err:    fmt.Errorf("the build is claimed for target %q, which the targets file no longer lists", claim.Target),
			Reason: ReasonTargetRemoved,
		})
	}
	if wait := time.Until(a.retryAt); wait > 0 {
		w.queue.AddAfter(ref, wait)
		return nil
	}
	w.mu.Lock()
	seen, ok := w.seen[ref]
	w.mu.Unlock()
	if !ok {
		seen = time.Now()
	}
	made, err := w.exec.create(ctx, b, *claim, a.attempt, seen)
	if isRefused(err) {
		w.log.Error("the analysis run was refused; not retried until the watcher restarts", "build", ref.String(), "error", err)
		w.recorder.Eventf(s.object(b), corev1.EventTypeWarning, ReasonNotStarted,
			"%s: fix the watcher's configuration (or the Pipeline); its next start tries again", clip(w.explain(err), 900))
		return nil
	}
	if made && a.attempt == 1 {
		w.metrics.buildsFinished.WithLabelValues(string(ref.Kind), string(b.Phase)).Inc()
	}
	return err
}

// claim returns where the build's current attempt runs: the claim written on the build; the
// run's deterministic name when the executor needs no written claim (one target); or a new
// claim written conditional on the build's version. nil when the build is not to be analysed.
// release, when not nil, must be called once the run was made or not.
func (w *Watcher) claim(ctx context.Context, s *source, b *Build, a analysis) (*Claim, func(), error) {
	if a.claim != nil {
		return a.claim, nil, nil
	}
	if !w.wanted(b, a) {
		return nil, nil, nil
	}
	if c, ok := w.exec.unclaimed(b, a.attempt); ok {
		return &c, nil, nil
	}
	c, release, err := w.exec.place(b, a.attempt)
	if err != nil {
		return nil, nil, err
	}
	if err := w.mark(ctx, s, b, claimMarks(c)); err != nil {
		return nil, release, err
	}
	return &c, release, nil
}

// finish handles the end of a run: the final outcome onto the build, or, when the run failed
// and the budget allows, the next attempt after a backoff.
func (w *Watcher) finish(ctx context.Context, s *source, b *Build, a analysis, c Claim, out Outcome) error {
	ended := "succeeded"
	switch {
	case out.Reason == ReasonRunDeleted:
		ended = "deleted"
	case out.Err != nil:
		ended = "failed"
	}
	reason := out.Reason
	if reason == "" {
		reason = "Unknown"
	}
	if out.Err != nil && w.retry.retry(a.attempt, a.budgetFrom, out.Reason) {
		n := a.attempt - a.budgetFrom + 1
		wait := w.retry.wait(n)
		if err := w.mark(ctx, s, b, retryMarks(a.attempt+1, time.Now().Add(wait), w.explain(out.Err))); err != nil {
			return err
		}
		w.exec.forget(c)
		w.metrics.runsCompleted.WithLabelValues(c.Target, ended).Inc()
		w.metrics.redeliveries.WithLabelValues(reason).Inc()
		w.log.Info("analysis run failed; it runs again after a backoff", "build", b.Ref.String(), "attempt", a.attempt,
			"of", w.retry.attempts, "retry_in", wait.Round(time.Second).String(), "error", out.Err)
		w.recorder.Eventf(s.object(b), corev1.EventTypeWarning, ReasonRetrying,
			"attempt %d of %d failed: %s; attempt %d starts in %s", n, w.retry.attempts, clip(w.explain(out.Err), 700), n+1, wait.Round(time.Second))
		w.queue.AddAfter(b.Ref, wait)
		return nil
	}
	if err := w.mark(ctx, s, b, outcomeMarks(out, w.hints())); err != nil {
		return err
	}
	w.exec.forget(c)
	w.mu.Lock()
	w.written[b.Ref] = b.UID
	w.mu.Unlock()
	w.metrics.runsCompleted.WithLabelValues(c.Target, ended).Inc()
	if out.Err != nil {
		w.metrics.writeBacks.WithLabelValues("failed").Inc()
		w.metrics.finalFailures.WithLabelValues(reason).Inc()
		why := "no attempt is left"
		if IsFinalReason(out.Reason) {
			why = "a new run cannot fix " + out.Reason
		}
		w.recorder.Eventf(s.object(b), corev1.EventTypeWarning, ReasonFailed, "Thoth analysis failed (%s): %s", why, clip(w.explain(out.Err), 800))
		return nil
	}
	w.metrics.writeBacks.WithLabelValues("succeeded").Inc()
	var ids []string
	for _, ar := range analysisResults() {
		if v := out.IDs[ar.annotation]; v != "" {
			ids = append(ids, strings.TrimPrefix(ar.annotation, Prefix)+"="+v)
		}
	}
	w.recorder.Eventf(s.object(b), corev1.EventTypeNormal, ReasonSubmitted, "submitted to Thoth: %s", strings.Join(ids, ", "))
	return nil
}

// reanalyze honours a person's request for a new analysis of a build whose analysis is over:
// the next attempt, with a budget of its own.
func (w *Watcher) reanalyze(ctx context.Context, s *source, b *Build, a analysis) error {
	next := a.attempt + 1
	if err := w.mark(ctx, s, b, reanalyzeMarks(next)); err != nil {
		return err
	}
	w.log.Info("a new analysis was asked for", "build", b.Ref.String(), "attempt", next)
	w.recorder.Eventf(s.object(b), corev1.EventTypeNormal, ReasonRequested, "a new Thoth analysis was asked for: attempt %d", next)
	return nil
}

// wroteOutcome reports whether this process wrote the build's final outcome and the cache
// does not show it yet.
func (w *Watcher) wroteOutcome(b *Build) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	uid, ok := w.written[b.Ref]
	return ok && uid == b.UID
}

// mark writes annotations on a build, conditional on the version the decision was made on.
func (w *Watcher) mark(ctx context.Context, s *source, b *Build, set map[string]*string) error {
	err := s.mark(ctx, b, set)
	switch {
	case err == nil:
		return nil
	case apierrors.IsConflict(err):
		return fmt.Errorf("%w: %w", errStale, err)
	case apierrors.IsNotFound(err):
		return errGone
	}
	w.metrics.apiErrors.WithLabelValues("patch", string(b.Ref.Kind)).Inc()
	return err
}

// clip shortens s to at most n bytes, at a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// hints is where the watcher's users stand, for the hints of the errors it reports.
func (w *Watcher) hints() hint.Where {
	if w.cfg.Executor == ExecutorLocal {
		return hint.WatcherLocal
	}
	return hint.WatcherCluster
}

// explain returns err's text with what to do about it, in the watcher's flags and ConfigMap
// keys: what its annotations and Events show.
func (w *Watcher) explain(err error) string { return hint.Explain(err, w.hints()) }
