package oauth

import (
	"context"
	"fmt"

	"golang.org/x/sync/semaphore"
)

// admission runs at most a fixed number of requests of one kind at once and
// admits the rest first come, first served. It guards requests that are CPU
// work and nothing else: client_credentials (the client comes from the
// cache, the token is not stored, most of the time is the signature) and the
// introspection of a JWT (a signature check and the claims).
//
// Under saturation, with one goroutine per connection all runnable at once,
// Go's scheduler serves them in no particular order: goroutines woken by the
// network poller or returning from a cgo call (an OpenSSL signature gives up
// its processor) wait in the global run queue, which a busy processor looks
// at only every 61st turn, behind goroutines that arrived after them. At 32
// connections the p99 was 3 to 16 times the median. Parked in this queue
// instead, waiting requests are not runnable; the admitted few finish in
// bounded time, and the queue is FIFO. docs/performance.md has the
// measurements.
//
// Requests that wait for storage (authorization_code, refresh_token, the
// introspection of a refresh token) do not pass through it: holding a slot
// while waiting for the database would cap them at the slots divided by the
// database's latency, and let one slow query hold up the rest.
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
