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
	"net/http"
	"strconv"
	"time"

	"github.com/arsaka/puguh/provider/httpapi"
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
	Allow(ctx context.Context, key string, l Limit) (Result, error)
}

// Response headers (the API guide's "Rate Limiting" section).
const (
	HeaderLimit     = "X-RateLimit-Limit"
	HeaderRemaining = "X-RateLimit-Remaining"
	HeaderReset     = "X-RateLimit-Reset"
)

// SetHeaders writes the X-RateLimit-* headers of res. X-RateLimit-Reset is the
// unix second at which the budget is whole again, rounded up so that it is
// always in the future.
func SetHeaders(h http.Header, res Result, now time.Time) {
	h.Set(HeaderLimit, strconv.Itoa(res.Limit.Burst))
	h.Set(HeaderRemaining, strconv.Itoa(max(res.Remaining, 0)))
	reset := now.Add(res.ResetAfter)
	secs := reset.Unix()
	if reset.Nanosecond() > 0 {
		secs++ // round up: never announce a reset before it happens
	}
	h.Set(HeaderReset, strconv.FormatInt(max(secs, now.Unix()+1), 10))
}

// Refusal is the 429 for a refused result: Retry-After and the body's N are
// the same whole number of seconds, rounded up and at least 1, so a client
// that waits that long is let through.
func Refusal(res Result) error {
	return httpapi.TooManyRequests(int(ceilSeconds(res.RetryAfter)))
}

// ceilSeconds rounds d up to whole seconds, at least 1.
func ceilSeconds(d time.Duration) int64 {
	return max(int64(math.Ceil(d.Seconds())), 1)
}
