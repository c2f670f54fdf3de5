package thoth

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Default retry policy values, used when an option does not set them.
const (
	// DefaultMaxAttempts is how many times one request is tried at most.
	DefaultMaxAttempts = 6
	// DefaultMaxElapsed bounds the time spent on one request, waits included.
	DefaultMaxElapsed = 5 * time.Minute
	// DefaultInitialDelay is the wait before the first retry.
	DefaultInitialDelay = time.Second
	// DefaultMaxDelay caps the wait between two attempts.
	DefaultMaxDelay = 30 * time.Second
	// DefaultRequestTimeout bounds one attempt: connect, upload and answer.
	DefaultRequestTimeout = 60 * time.Second
)

// RetryPolicy says how often and how long a request that failed transiently is tried again.
// Waits grow exponentially from InitialDelay, doubling up to MaxDelay, with jitter: each wait
// is drawn from [d/2, d]. A Retry-After from the server replaces the computed wait.
type RetryPolicy struct {
	// MaxAttempts is the number of attempts, the first included (at least 1).
	MaxAttempts int
	// MaxElapsed bounds the whole request, waits included (positive).
	MaxElapsed time.Duration
	// InitialDelay is the wait before the first retry (positive).
	InitialDelay time.Duration
	// MaxDelay caps every computed wait (at least InitialDelay).
	MaxDelay time.Duration
}

// DefaultRetryPolicy returns the policy used when none is given.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{
		MaxAttempts:  DefaultMaxAttempts,
		MaxElapsed:   DefaultMaxElapsed,
		InitialDelay: DefaultInitialDelay,
		MaxDelay:     DefaultMaxDelay,
	}
}

// Validate reports a policy that cannot work.
func (p RetryPolicy) Validate() error {
	switch {
	case p.MaxAttempts < 1:
		return fmt.Errorf("retry attempts must be at least 1, not %d", p.MaxAttempts)
	case p.MaxElapsed <= 0:
		return fmt.Errorf("retry time must be positive, not %s", p.MaxElapsed)
	case p.InitialDelay <= 0:
		return fmt.Errorf("initial retry delay must be positive, not %s", p.InitialDelay)
	case p.MaxDelay < p.InitialDelay:
		return fmt.Errorf("maximum retry delay %s is below the initial delay %s", p.MaxDelay, p.InitialDelay)
	}
	return nil
}

// delay returns the jittered wait after the given failed attempt (1-based).
func (p RetryPolicy) delay(attempt int, rnd *rand.Rand) time.Duration {
	d := p.InitialDelay
	for i := 1; i < attempt && d < p.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, p.MaxDelay)
	half := d / 2
	return half + time.Duration(rnd.Int64N(int64(d-half)+1))
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date. Missing,
// malformed or past values give 0 (no hint).
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 || secs > int64(24*time.Hour/time.Second) {
			return 0
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// sleepContext waits for d or until ctx ends.
func sleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}
