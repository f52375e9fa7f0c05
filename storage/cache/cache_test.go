package cache

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// source counts loads and answers from a map.
type source struct {
	mu    sync.Mutex
	vals  map[string]string
	loads int
	err   error
}

func (s *source) load(key string) LoadFunc[string] {
	return func(context.Context) (string, bool, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.loads++
		if s.err != nil {
			return "", false, s.err
		}
		v, ok := s.vals[key]
		return v, ok, nil
	}
}

func newFixture(cfg Config) (*Cache[string], *source, *clock) {
	clk := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	cfg.Now = clk.Now
	return New[string](cfg), &source{vals: map[string]string{"a": "1"}}, clk
}

func TestGetTTLAndMisses(t *testing.T) {
	for _, tc := range []struct {
		name       string
		missTTL    time.Duration
		wantLoads  int // after three lookups of a missing key within a second
		missCached bool
	}{
		{"misses not cached", 0, 3, false},
		{"misses cached", 5 * time.Second, 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, src, clk := newFixture(Config{Name: "t", TTL: 10 * time.Second, MissTTL: tc.missTTL})
			ctx := context.Background()
			for range 3 {
				if v, found, err := c.Get(ctx, "a", src.load("a")); err != nil || !found || v != "1" {
					t.Fatalf("Get(a) = %q %v %v", v, found, err)
				}
			}
			if src.loads != 1 {
				t.Fatalf("three warm lookups loaded %d times, want 1", src.loads)
			}
			src.loads = 0
			for range 3 {
				if _, found, err := c.Get(ctx, "missing", src.load("missing")); err != nil || found {
					t.Fatalf("Get(missing) found %v, err %v", found, err)
				}
			}
			if src.loads != tc.wantLoads {
				t.Fatalf("loads of a missing key = %d, want %d", src.loads, tc.wantLoads)
			}
			// A value changed at the source is seen once the TTL has passed.
			src.vals["a"] = "2"
			clk.Add(9 * time.Second)
			if v, _, _ := c.Get(ctx, "a", src.load("a")); v != "1" {
				t.Fatalf("within the TTL: %q, want the cached 1", v)
			}
			clk.Add(time.Second)
			if v, _, _ := c.Get(ctx, "a", src.load("a")); v != "2" {
				t.Fatalf("after the TTL: %q, want 2", v)
			}
		})
	}
}

func TestErrorsAreNotCached(t *testing.T) {
	c, src, _ := newFixture(Config{Name: "t", TTL: time.Minute, MissTTL: time.Minute})
	src.err = errors.New("database down")
	if _, _, err := c.Get(context.Background(), "a", src.load("a")); err == nil {
		t.Fatal("the load's error was swallowed")
	}
	src.err = nil
	if v, found, err := c.Get(context.Background(), "a", src.load("a")); v != "1" || !found || err != nil {
		t.Fatalf("after the database returned: %q %v %v", v, found, err)
	}
}

func TestInvalidateAndALoadRacingIt(t *testing.T) {
	c, src, _ := newFixture(Config{Name: "t", TTL: time.Hour})
	ctx := context.Background()
	c.Get(ctx, "a", src.load("a"))
	src.vals["a"] = "2"
	c.Invalidate(ctx, "a")
	if v, _, _ := c.Get(ctx, "a", src.load("a")); v != "2" {
		t.Fatalf("after Invalidate: %q, want 2", v)
	}
	// A load that read before an invalidation must not store its stale value.
	stale := func(context.Context) (string, bool, error) {
		c.Invalidate(ctx, "b") // the write lands while the load is in flight
		return "old", true, nil
	}
	if v, _, _ := c.Get(ctx, "b", stale); v != "old" {
		t.Fatalf("the racing load still answers its caller: %q", v)
	}
	if _, ok := c.Peek("b"); ok {
		t.Fatal("a load that raced an invalidation stored its value")
	}
}

func TestBoundedWithPreferenceForExpired(t *testing.T) {
	c, _, clk := newFixture(Config{Name: "t", TTL: time.Minute, MaxEntries: 50})
	for i := range 200 {
		c.Put(fmt.Sprint(i), "v", time.Time{})
		if n := c.Len(); n > 50 {
			t.Fatalf("%d entries, cap 50", n)
		}
	}
	c.Put("old", "v", clk.Now().Add(time.Second))
	clk.Add(2 * time.Second)
	c.Put("new", "v", time.Time{})
	if _, ok := c.Peek("new"); !ok {
		t.Fatal("the newest entry was not kept")
	}
}

func TestPutUntil(t *testing.T) {
	c, _, clk := newFixture(Config{Name: "t", TTL: 30 * time.Second})
	c.Put("short", "v", clk.Now().Add(5*time.Second))
	c.Put("long", "v", clk.Now().Add(time.Hour))
	clk.Add(6 * time.Second)
	if _, ok := c.Peek("short"); ok {
		t.Fatal("an entry outlived its own expiry")
	}
	if _, ok := c.Peek("long"); !ok {
		t.Fatal("an entry expired before its TTL")
	}
	clk.Add(30 * time.Second)
	if _, ok := c.Peek("long"); ok {
		t.Fatal("an entry outlived the TTL")
	}
}

// TestBusAcrossReplicas: an invalidation on one replica reaches the other as
// soon as the Redis message arrives, long before the TTL.
func TestBusAcrossReplicas(t *testing.T) {
	url := os.Getenv("PUGUH_TEST_REDIS_URL")
	if url == "" {
		t.Skip("set PUGUH_TEST_REDIS_URL to run the Redis case")
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	r1, r2 := redis.NewClient(opts), redis.NewClient(opts)
	t.Cleanup(func() { r1.Close(); r2.Close() })
	ns := "test:" + t.Name() + ":" + time.Now().Format("150405.000000000") + ":"
	b1, b2 := NewBus(r1, ns, nil), NewBus(r2, ns, nil)
	one := New[string](Config{Name: "users", TTL: time.Hour, Bus: b1})
	two := New[string](Config{Name: "users", TTL: time.Hour, Bus: b2})
	other := New[string](Config{Name: "clients", TTL: time.Hour, Bus: b2})
	// Each bus purges its caches once subscribed: a marker in each shows
	// when that has happened, so the entries below are not purged with it.
	one.Put("subscribed?", "not yet", time.Time{})
	other.Put("subscribed?", "not yet", time.Time{})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); b1.Run(ctx) }()
	go func() { defer wg.Done(); b2.Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	for i := 0; ; i++ {
		_, waiting1 := one.Peek("subscribed?")
		_, waiting2 := other.Peek("subscribed?")
		if !waiting1 && !waiting2 {
			break
		}
		if i == 500 {
			t.Fatal("subscriptions did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	two.Put("u1", "old", time.Time{})
	two.Put("u2", "old", time.Time{})
	other.Put("u1", "client", time.Time{})
	one.Invalidate(ctx, "u1", "u2")
	deadline := time.Now().Add(2 * time.Second)
	for {
		_, ok1 := two.Peek("u1")
		_, ok2 := two.Peek("u2")
		if !ok1 && !ok2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("replica two still holds the invalidated users after 2s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, ok := other.Peek("u1"); !ok {
		t.Fatal("an invalidation of one cache evicted another cache's entry")
	}
}
