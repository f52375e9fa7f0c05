package ratelimit

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// flaky is a shared store that fails while down is set.
type flaky struct {
	down  atomic.Bool
	calls atomic.Int64
	inner Store
}

func (f *flaky) Allow(ctx context.Context, key string, l Limit) (Result, error) {
	f.calls.Add(1)
	if f.down.Load() {
		return Result{}, errors.New("dial tcp 127.0.0.1:6379: connect: connection refused")
	}
	return f.inner.Allow(ctx, key, l)
}

func (f *flaky) Refund(ctx context.Context, key string, l Limit) error {
	if f.down.Load() {
		return errors.New("dial tcp 127.0.0.1:6379: connect: connection refused")
	}
	return f.inner.Refund(ctx, key, l)
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// While the shared store fails, decisions are local, never errors; Redis is
// probed once per RetryInterval, failures are counted and logged once per
// LogInterval, and the shared store takes over again when it answers.
func TestFallback(t *testing.T) {
	c := newClock()
	shared := &flaky{inner: NewMemory(c.Now)}
	var logs lockedBuffer
	reg := prometheus.NewRegistry()
	metrics := NewMetrics(reg)
	f := NewFallback(shared, NewMemory(c.Now), slog.New(slog.NewTextHandler(&logs, nil)), metrics, c.Now)
	ctx := context.Background()
	l := PerMinute(60)

	for range 5 {
		if res, err := f.Allow(ctx, "k", l); err != nil || !res.Allowed {
			t.Fatalf("healthy: %+v %v", res, err)
		}
	}
	shared.down.Store(true)
	before := shared.calls.Load()
	for i := range 100 {
		res, err := f.Allow(ctx, "k", l)
		if err != nil || !res.Allowed && i < 60 {
			t.Fatalf("down, request %d: %+v %v", i, res, err)
		}
	}
	if n := shared.calls.Load() - before; n != 1 {
		t.Fatalf("redis tried %d times within one retry interval, want 1", n)
	}
	if n := metric(t, reg, "puguh_ratelimit_redis_failures_total"); n != 1 {
		t.Fatalf("failures metric %v, want 1", n)
	}
	if metric(t, reg, "puguh_ratelimit_local_fallback") != 1 {
		t.Fatal("fallback gauge not set")
	}
	for range 3 { // still down: one probe per interval, one log line per LogInterval
		c.Advance(f.RetryInterval)
		_, _ = f.Allow(ctx, "k", l)
	}
	if n := metric(t, reg, "puguh_ratelimit_redis_failures_total"); n != 4 {
		t.Fatalf("failures metric %v, want 4", n)
	}
	if n := strings.Count(logs.String(), "redis unavailable"); n != 1 {
		t.Fatalf("%d warnings logged, want 1:\n%s", n, logs.String())
	}
	shared.down.Store(false)
	c.Advance(f.RetryInterval)
	res, err := f.Allow(ctx, "k", l)
	// The shared budget is where it was before the outage: 5 taken then, this
	// one the 6th, and 4 s of refill on the fake clock.
	if err != nil || !res.Allowed || res.Remaining != 60-6+4 {
		t.Fatalf("after recovery: %+v %v", res, err)
	}
	if metric(t, reg, "puguh_ratelimit_local_fallback") != 0 || !strings.Contains(logs.String(), "shared limits resumed") {
		t.Fatalf("recovery not reported:\n%s", logs.String())
	}
}

// metric reads a counter or gauge from reg.
func metric(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name {
			m := f.GetMetric()[0]
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("metric %s not registered", name)
	return 0
}

// redisForTest returns a client on PUGUH_TEST_REDIS_URL and a namespace of
// this test's own, or skips.
func redisForTest(tb testing.TB) (*redis.Client, string) {
	tb.Helper()
	u := os.Getenv("PUGUH_TEST_REDIS_URL")
	if u == "" {
		tb.Skip("Redis case skipped: set PUGUH_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/15) to run it")
	}
	opts, err := redis.ParseURL(u)
	if err != nil {
		tb.Fatal(err)
	}
	client := redis.NewClient(opts)
	tb.Cleanup(func() { client.Close() })
	var b [6]byte
	_, _ = rand.Read(b[:])
	return client, "test-" + hex.EncodeToString(b[:]) + ":"
}

// redis_rate and Memory agree: the same budget, Remaining and RetryAfter.
func TestRedisGCRA(t *testing.T) {
	client, ns := redisForTest(t)
	r := NewRedis(client, ns)
	ctx := context.Background()
	l := PerMinute(60)
	start := time.Now()
	allowed, remaining := 0, 60
	var refused Result
	for range 70 {
		res, err := r.Allow(ctx, "org:x", l)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Allowed {
			refused = res
			break
		}
		if res.Remaining > remaining-1+int(time.Since(start)/time.Second) || res.Remaining < 0 {
			t.Fatalf("request %d: remaining %d after %d", allowed+1, res.Remaining, remaining)
		}
		allowed++
		remaining = res.Remaining
	}
	elapsed := time.Since(start)
	// GCRA refills one request a second while the loop runs.
	if allowed < 60 || allowed > 60+int(elapsed/time.Second)+1 {
		t.Fatalf("%d allowed in %s", allowed, elapsed)
	}
	if refused.Remaining != 0 || refused.RetryAfter <= 0 || refused.RetryAfter > time.Second || refused.ResetAfter <= 58*time.Second {
		t.Fatalf("refusal: %+v", refused)
	}
	if n, err := client.Exists(ctx, r.Key("org:x")).Result(); err != nil || n != 1 {
		t.Fatalf("key %s not in redis: %d %v", r.Key("org:x"), n, err)
	}
	if ttl := client.TTL(ctx, r.Key("org:x")).Val(); ttl <= 0 || ttl > 61*time.Second {
		t.Fatalf("key TTL %s: state must expire once the budget is whole", ttl)
	}
}

func benchmarkLimiter(b *testing.B, s Store) {
	ctx := context.Background()
	l := PerMinute(1 << 30) // never refuses: measure the decision, not the refusal
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Allow(ctx, "org:bench", l); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkLimiterLocal is the in-process decision.
func BenchmarkLimiterLocal(b *testing.B) { benchmarkLimiter(b, NewMemory(nil)) }

// BenchmarkLimiterRedis is the shared decision: one EVALSHA round trip.
func BenchmarkLimiterRedis(b *testing.B) {
	client, ns := redisForTest(b)
	benchmarkLimiter(b, NewRedis(client, ns))
}

// The shared store refunds like Memory: one event back, never beyond the
// burst, and the key goes once the budget is whole.
func TestRedisRefund(t *testing.T) {
	client, ns := redisForTest(t)
	r := NewRedis(client, ns)
	ctx := context.Background()
	l := PerMinute(60)
	if err := r.Refund(ctx, "k", l); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := r.Allow(ctx, "k", l); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Refund(ctx, "k", l); err != nil {
		t.Fatal(err)
	}
	// 3 taken, 1 given back, 1 taken: 57 left (58 if a second of refill passed).
	if res, err := r.Allow(ctx, "k", l); err != nil || res.Remaining < 57 || res.Remaining > 58 {
		t.Fatalf("after a refund: %+v %v", res, err)
	}
	for range 10 {
		if err := r.Refund(ctx, "k", l); err != nil {
			t.Fatal(err)
		}
	}
	if n := client.Exists(ctx, r.Key("k")).Val(); n != 0 {
		t.Fatal("a whole budget is still held in Redis")
	}
	allowed := 0
	for range 70 {
		res, err := r.Allow(ctx, "k", l)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Allowed {
			break
		}
		allowed++
	}
	if allowed < 60 || allowed > 62 {
		t.Fatalf("%d allowed after the refunds, want the burst of 60", allowed)
	}

	checkFailuresOnly(t, NewAccounts(r, AccountLimit), "owner@example.com")
}
