// Package ratelimit decides whether a request may proceed under a rate limit:
// per organization and plan for authenticated REST requests, per client IP for
// the unauthenticated endpoints, and per account for password sign-in. The
// algorithm is GCRA everywhere, shared across replicas through Redis
// (github.com/go-redis/redis_rate) when configured, and computed in process
// otherwise or while Redis is unreachable. See docs/rate-limits.md.
package ratelimit

import (
	"context"
	"math"
	"time"

	"github.com/arsaka/puguh/provider/problem"
)

// Limit allows Rate events per Period, at most Burst of them at once.
type Limit struct {
	Rate   int
	Burst  int
	Period time.Duration
}

// PerMinute is n requests a minute with a burst of n: a client that has been
// quiet for a minute may send n requests at once, then one every minute/n.
func PerMinute(n int) Limit { return Limit{Rate: n, Burst: n, Period: time.Minute} }

// interval is GCRA's emission interval: the time one event costs.
func (l Limit) interval() time.Duration { return l.Period / time.Duration(l.Rate) }

// Result is one decision, in the terms of redis_rate.Result.
type Result struct {
	Limit     Limit
	Allowed   bool
	Remaining int // requests that could pass right now, after this one
	// RetryAfter is how long until the next request would pass; zero when allowed.
	RetryAfter time.Duration
	// ResetAfter is how long until the budget is whole again (Remaining == Burst).
	ResetAfter time.Duration
}

// Store applies GCRA to a key. Memory, Redis and Fallback implement it.
type Store interface {
	// Allow takes one event from key's budget if it has one.
	Allow(ctx context.Context, key string, l Limit) (Result, error)
	// Refund gives one event back to key's budget, never beyond its burst:
	// for an event that was allowed and turned out not to count (a correct
	// password, for the sign-in throttle).
	Refund(ctx context.Context, key string, l Limit) error
}

// Refusal is the Throttled problem of a refused result: Retry-After and the
// answer's N are the same whole number of seconds, rounded up and at least 1,
// so a client that waits that long is let through.
func Refusal(res Result) error {
	return problem.Throttle(RetryAfterSeconds(res))
}

// RetryAfterSeconds is how long a refused client waits, in whole seconds,
// rounded up and at least 1.
func RetryAfterSeconds(res Result) int { return int(ceilSeconds(res.RetryAfter)) }

type clientIPKey struct{}

// WithClientIP records the client's address (its rate-limit key) in ctx, for
// the sign-in throttle, which budgets per account and address.
func WithClientIP(ctx context.Context, ip string) context.Context {
	return context.WithValue(ctx, clientIPKey{}, ip)
}

// ClientIPFrom returns the address WithClientIP recorded, or "".
func ClientIPFrom(ctx context.Context) string {
	ip, _ := ctx.Value(clientIPKey{}).(string)
	return ip
}

// ceilSeconds rounds d up to whole seconds, at least 1.
func ceilSeconds(d time.Duration) int64 {
	return max(int64(math.Ceil(d.Seconds())), 1)
}
