// Package backoff is commpulse's one retry delay: exponential from Min,
// doubling per attempt, capped at Max, with jitter, and a context-aware
// wait. Every retry loop uses it (ingest's writes, commits, fetches, topic
// followers and start-up; the binary's migrations), so one policy and one
// set of tests cover them all.
//
// Jitter matters when many workers fail together (a ClickHouse restart seen
// by every ingest replica): without it they retry in lock-step and hit the
// server at the same instants. "Equal jitter" (AWS Architecture Blog,
// "Exponential Backoff And Jitter") keeps half the delay and draws the rest
// at random, so a delay is never shorter than half the nominal one and the
// retries spread. A Policy with Jitter 0 is deterministic, for thresholds
// rather than sleeps (the stall watchdog's escalation).
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Policy is a retry delay schedule.
type Policy struct {
	Min, Max time.Duration
	// Jitter is the share of each delay drawn at random, in [0, 1]:
	// 0.5 (Equal) keeps at least half of it.
	Jitter float64
}

// Equal is the share of Equal jitter.
const Equal = 0.5

// New is a Policy from min to max with equal jitter.
func New(min, max time.Duration) Policy { return Policy{Min: min, Max: max, Jitter: Equal} }

// Delay is the wait before retry attempt n (0-based).
func (p Policy) Delay(n int) time.Duration {
	d := p.Min
	for i := 0; i < n && d < p.Max; i++ {
		d *= 2
	}
	d = min(d, p.Max)
	if j := min(max(p.Jitter, 0), 1); j > 0 && d > 0 {
		d -= time.Duration(j * rand.Float64() * float64(d))
	}
	return d
}

// Wait sleeps the delay of attempt n, or until ctx ends; it reports whether
// it slept fully.
func (p Policy) Wait(ctx context.Context, n int) bool { return Sleep(ctx, p.Delay(n)) }

// Sleep waits d or until ctx is done; it reports whether it slept fully.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
