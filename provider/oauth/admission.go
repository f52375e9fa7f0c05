package oauth

import (
	"context"
	"fmt"

	"golang.org/x/sync/semaphore"
)

// admission runs at most a fixed number of client_credentials requests at
// once and admits the rest first come, first served.
//
// Such a request is CPU work and nothing else: the client comes from the
// cache, the token is not stored, and most of the time goes to the RS256
// signature. Under saturation, with one goroutine per connection all
// runnable at once, Go's scheduler serves them in no particular order: a
// request whose signature (a cgo call with OpenSSL) has returned waits in
// the global run queue behind goroutines that arrived after it, and the p99
// at 32 connections was three to four times the median. Parked in this
// queue instead, waiting requests are not runnable; the admitted few
// finish in bounded time, and the queue is FIFO. docs/performance.md has
// the measurements.
//
// Grants that read or write storage (authorization_code, refresh_token) do
// not pass through it: holding a slot while waiting for the database would
// cap them at the slots divided by the database's latency.
type admission struct {
	slots *semaphore.Weighted
}

// newAdmission admits n requests at once; n <= 0 admits every request
// immediately.
func newAdmission(n int) *admission {
	if n <= 0 {
		return nil
	}
	return &admission{slots: semaphore.NewWeighted(int64(n))}
}

// enter waits for a slot, or until ctx is done (the client went away), and
// returns the function that gives the slot back. A nil admission admits at
// once.
func (a *admission) enter(ctx context.Context) (release func(), err error) {
	if a == nil {
		return func() {}, nil
	}
	if err := a.slots.Acquire(ctx, 1); err != nil {
		return nil, fmt.Errorf("oauth: waiting to be admitted: %w", err)
	}
	return func() { a.slots.Release(1) }, nil
}
