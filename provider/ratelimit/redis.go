package ratelimit

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// Redis is GCRA in Redis (redis_rate's Lua script, one round trip per
// decision), so every replica draws on one budget per key.
type Redis struct {
	client    *redis.Client
	limiter   *redis_rate.Limiter
	namespace string
}

// NewRedis returns a store on client; namespace prefixes every key (redis_rate
// adds "rate:" in front), so deployments and tests sharing a Redis stay apart.
func NewRedis(client *redis.Client, namespace string) *Redis {
	return &Redis{client: client, limiter: redis_rate.NewLimiter(client), namespace: namespace}
}

// Allow takes one event from key's shared budget if it has one.
func (r *Redis) Allow(ctx context.Context, key string, l Limit) (Result, error) {
	res, err := r.limiter.Allow(ctx, r.namespace+key, redis_rate.Limit{Rate: l.Rate, Burst: l.Burst, Period: l.Period})
	if err != nil {
		return Result{}, fmt.Errorf("ratelimit: redis: %w", err)
	}
	return Result{
		Limit:      l,
		Allowed:    res.Allowed > 0,
		Remaining:  res.Remaining,
		RetryAfter: max(res.RetryAfter, 0), // -1 means "allowed"
		ResetAfter: res.ResetAfter,
	}, nil
}

// refund is Memory.Refund on redis_rate's state: the key holds the
// theoretical arrival time in seconds since 2017-01-01 (redis_rate's epoch);
// it moves back one emission interval, and the key goes once the budget is
// whole. Like redis_rate's script it reads Redis' clock, so every replica
// agrees on "now".
var refund = redis.NewScript(`
redis.replicate_commands()
local tat = redis.call("GET", KEYS[1])
if not tat then
  return 0
end
local now = redis.call("TIME")
now = (now[1] - 1483228800) + (now[2] / 1000000)
local new_tat = tonumber(tat) - tonumber(ARGV[1])
if new_tat <= now then
  redis.call("DEL", KEYS[1])
else
  redis.call("SET", KEYS[1], new_tat, "EX", math.ceil(new_tat - now))
end
return 1
`)

// Refund gives one event back to key's shared budget.
func (r *Redis) Refund(ctx context.Context, key string, l Limit) error {
	if err := refund.Run(ctx, r.client, []string{r.Key(key)}, l.interval().Seconds()).Err(); err != nil {
		return fmt.Errorf("ratelimit: redis refund: %w", err)
	}
	return nil
}

// Key is the Redis key that holds key's state, for tests and operators.
func (r *Redis) Key(key string) string { return "rate:" + r.namespace + key }

// Fallback uses a shared store (Redis) and, whenever it fails, a local one.
//
// It fails open to the local limiter rather than closed: Redis is a cache of
// counters, not a source of truth, and refusing every API call and sign-in
// because a counter store is down would turn a Redis outage into a full
// outage. Limits stay enforced during the outage, per replica instead of
// shared, so N replicas admit at most N times the budget until Redis returns.
type Fallback struct {
	shared  Store
	local   Store
	log     *slog.Logger
	metrics *Metrics
	now     func() time.Time

	// Timeout bounds one shared decision, so a hung Redis costs a request at
	// most this much once per RetryInterval, not on every request.
	Timeout time.Duration
	// RetryInterval is how long decisions stay local after a failure before
	// one request probes Redis again.
	RetryInterval time.Duration
	// LogInterval is the least time between two "redis unavailable" log lines.
	LogInterval time.Duration

	downUntil atomic.Int64 // unix nanoseconds; 0 while Redis answers
	lastLog   atomic.Int64
}

// Metrics count the shared store's failures.
type Metrics struct {
	failures prometheus.Counter
	local    prometheus.Gauge
}

// NewMetrics registers the rate limiter's metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "puguh_ratelimit_redis_failures_total",
			Help: "Rate-limit decisions that Redis failed to make; each fell back to the local limiter.",
		}),
		local: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "puguh_ratelimit_local_fallback",
			Help: "1 while rate limits are enforced per replica because Redis is unreachable, else 0.",
		}),
	}
	reg.MustRegister(m.failures, m.local)
	return m
}

// NewFallback returns a store that prefers shared and falls back to local.
func NewFallback(shared, local Store, log *slog.Logger, metrics *Metrics, now func() time.Time) *Fallback {
	if now == nil {
		now = time.Now
	}
	return &Fallback{shared: shared, local: local, log: log, metrics: metrics, now: now,
		Timeout: 250 * time.Millisecond, RetryInterval: time.Second, LogInterval: time.Minute}
}

// Allow decides on the shared store, or on the local one while the shared one
// is failing. It returns an error only if the local store does (Memory never does).
func (f *Fallback) Allow(ctx context.Context, key string, l Limit) (Result, error) {
	now := f.now().UnixNano()
	if until := f.downUntil.Load(); until != 0 {
		// While Redis is down, one request per RetryInterval probes it (the one
		// that wins the swap); every other one decides locally at once.
		if now < until || !f.downUntil.CompareAndSwap(until, now+int64(f.RetryInterval)) {
			return f.local.Allow(ctx, key, l)
		}
	}
	sctx, cancel := context.WithTimeout(ctx, f.Timeout)
	res, err := f.shared.Allow(sctx, key, l)
	cancel()
	if err == nil {
		if f.downUntil.Load() != 0 && f.downUntil.Swap(0) != 0 {
			f.metrics.local.Set(0)
			f.log.Info("ratelimit: redis is back, shared limits resumed")
		}
		return res, nil
	}
	if ctx.Err() != nil {
		// The client went away; that says nothing about Redis.
		return f.local.Allow(ctx, key, l)
	}
	f.downUntil.Store(now + int64(f.RetryInterval))
	f.metrics.failures.Inc()
	f.metrics.local.Set(1)
	if last := f.lastLog.Load(); now-last >= int64(f.LogInterval) && f.lastLog.CompareAndSwap(last, now) {
		f.log.Warn("ratelimit: redis unavailable, enforcing limits per replica until it returns", "error", err)
	}
	return f.local.Allow(ctx, key, l)
}

// Refund gives the event back where decisions are being made: to the shared
// store, or to the local one while the shared one is failing (or fails now,
// which the next Allow will notice and report).
func (f *Fallback) Refund(ctx context.Context, key string, l Limit) error {
	if until := f.downUntil.Load(); until != 0 && f.now().UnixNano() < until {
		return f.local.Refund(ctx, key, l)
	}
	sctx, cancel := context.WithTimeout(ctx, f.Timeout)
	err := f.shared.Refund(sctx, key, l)
	cancel()
	if err != nil {
		return f.local.Refund(ctx, key, l)
	}
	return nil
}
