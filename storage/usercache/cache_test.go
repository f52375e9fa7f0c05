package usercache

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/arsaka/puguh/storage"
)

// source is a fake database that counts its reads.
type source struct {
	mu    sync.Mutex
	users map[string]storage.User
	loads map[string]int
	// during, when set, runs inside a read, as a write racing it would.
	during func(id string)
}

func newSource(ids ...string) *source {
	s := &source{users: map[string]storage.User{}, loads: map[string]int{}}
	for _, id := range ids {
		s.users[id] = storage.User{ID: id, Email: id + "@example.com", FullName: "Name of " + id}
	}
	return s
}

func (s *source) load(_ context.Context, id string) (*storage.User, error) {
	s.mu.Lock()
	s.loads[id]++
	u, ok := s.users[id]
	during := s.during
	s.mu.Unlock()
	if during != nil {
		during(id)
	}
	if !ok {
		return nil, fmt.Errorf("user by id: %w", storage.ErrNotFound)
	}
	return &u, nil
}

func (s *source) rename(id, name string) {
	s.mu.Lock()
	u := s.users[id]
	u.FullName = name
	s.users[id] = u
	s.mu.Unlock()
}

func (s *source) count(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loads[id]
}

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func get(t *testing.T, c *Cache, src *source, id string) *storage.User {
	t.Helper()
	u, err := c.Get(context.Background(), id, src.load)
	if err != nil {
		t.Fatalf("Get(%s): %v", id, err)
	}
	return u
}

func TestCache(t *testing.T) {
	const ttl = 30 * time.Second
	tests := []struct {
		name string
		max  int
		run  func(t *testing.T, c *Cache, src *source, clk *clock)
	}{
		{"a second read is a hit", 0, func(t *testing.T, c *Cache, src *source, _ *clock) {
			first, second := get(t, c, src, "a"), get(t, c, src, "a")
			if *first != *second || second.FullName != "Name of a" {
				t.Fatalf("got %+v then %+v", first, second)
			}
			if n := src.count("a"); n != 1 {
				t.Fatalf("database read %d times, want 1", n)
			}
		}},
		{"a caller changing its copy changes nothing cached", 0, func(t *testing.T, c *Cache, src *source, _ *clock) {
			get(t, c, src, "a").FullName = "changed by the first caller" // the loaded value
			get(t, c, src, "a").FullName = "changed by a later caller"   // a cached copy
			if u := get(t, c, src, "a"); u.FullName != "Name of a" {
				t.Fatalf("cached user changed through a caller's pointer: %+v", u)
			}
		}},
		{"invalidate makes the next read see the change", 0, func(t *testing.T, c *Cache, src *source, _ *clock) {
			get(t, c, src, "a")
			get(t, c, src, "b")
			src.rename("a", "New Name")
			c.Invalidate(context.Background(), "a")
			if u := get(t, c, src, "a"); u.FullName != "New Name" {
				t.Fatalf("after Invalidate: %+v", u)
			}
			get(t, c, src, "b")
			if a, b := src.count("a"), src.count("b"); a != 2 || b != 1 {
				t.Fatalf("database reads a=%d b=%d, want 2 and 1 (only a evicted)", a, b)
			}
		}},
		{"an entry expires after the TTL", 0, func(t *testing.T, c *Cache, src *source, clk *clock) {
			get(t, c, src, "a")
			src.rename("a", "Changed elsewhere")
			clk.advance(ttl - time.Nanosecond)
			if u := get(t, c, src, "a"); u.FullName != "Name of a" {
				t.Fatalf("before the TTL: %+v, want the cached value", u)
			}
			clk.advance(time.Nanosecond)
			if u := get(t, c, src, "a"); u.FullName != "Changed elsewhere" {
				t.Fatalf("at the TTL: %+v, want a fresh read", u)
			}
		}},
		{"not found is not cached", 0, func(t *testing.T, c *Cache, src *source, _ *clock) {
			if _, err := c.Get(context.Background(), "late", src.load); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("missing user: %v, want ErrNotFound", err)
			}
			src.mu.Lock()
			src.users["late"] = storage.User{ID: "late", FullName: "Late"}
			src.mu.Unlock()
			if u := get(t, c, src, "late"); u.FullName != "Late" {
				t.Fatalf("after it was created: %+v", u)
			}
			if c.Len() != 1 {
				t.Fatalf("Len = %d, want 1", c.Len())
			}
		}},
		{"the size is bounded", 3, func(t *testing.T, c *Cache, src *source, _ *clock) {
			for i := range 10 {
				get(t, c, src, fmt.Sprint("u", i))
				if c.Len() > 3 {
					t.Fatalf("Len = %d after %d users, want at most 3", c.Len(), i+1)
				}
			}
			get(t, c, src, "u9")
			if n := src.count("u9"); n != 1 {
				t.Fatalf("the newest entry was evicted (%d reads)", n)
			}
		}},
		{"expired entries make room first", 2, func(t *testing.T, c *Cache, src *source, clk *clock) {
			get(t, c, src, "u0")
			clk.advance(ttl)
			get(t, c, src, "u1")
			get(t, c, src, "u2") // full: u0 is expired and goes, u1 stays
			get(t, c, src, "u1")
			if n := src.count("u1"); n != 1 {
				t.Fatalf("a live entry was evicted while an expired one was there (%d reads)", n)
			}
		}},
		{"a read racing an invalidation does not store its stale answer", 0, func(t *testing.T, c *Cache, src *source, _ *clock) {
			// The write commits and evicts after the read saw the old row.
			src.during = func(id string) { c.Invalidate(context.Background(), id) }
			get(t, c, src, "a")
			src.during = nil
			if c.Len() != 0 {
				t.Fatal("the answer of a read overtaken by an eviction was cached")
			}
			get(t, c, src, "a")
			get(t, c, src, "a")
			if n := src.count("a"); n != 2 {
				t.Fatalf("database reads = %d, want 2", n)
			}
		}},
		{"a message from another replica evicts", 0, func(t *testing.T, c *Cache, src *source, _ *clock) {
			get(t, c, src, "a")
			src.rename("a", "Renamed elsewhere")
			c.apply("a")
			if u := get(t, c, src, "a"); u.FullName != "Renamed elsewhere" {
				t.Fatalf("after a message: %+v", u)
			}
		}},
		{"a (re)subscription empties the cache", 0, func(t *testing.T, c *Cache, src *source, _ *clock) {
			get(t, c, src, "a")
			get(t, c, src, "b")
			c.evictAll()
			if c.Len() != 0 {
				t.Fatalf("Len = %d after evictAll", c.Len())
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &clock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
			c := NewCache(Config{TTL: ttl, MaxEntries: tt.max, Now: clk.Now})
			tt.run(t, c, newSource("a", "b", "u0", "u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "u9"), clk)
		})
	}
}

// TestCacheConcurrent runs reads, evictions and fills at once (under -race).
func TestCacheConcurrent(t *testing.T) {
	src := newSource("a", "b", "c")
	c := NewCache(Config{MaxEntries: 2})
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				id := string(rune('a' + (g+i)%3))
				if i%7 == 0 {
					c.Invalidate(ctx, id)
					continue
				}
				u, err := c.Get(ctx, id, src.load)
				if err != nil || u.ID != id {
					t.Errorf("Get(%s) = %+v, %v", id, u, err)
					return
				}
				u.FullName = "scribbled"
			}
		}()
	}
	wg.Wait()
	if n := c.Len(); n > 2 {
		t.Fatalf("Len = %d, want at most 2", n)
	}
	for _, id := range []string{"a", "b", "c"} {
		if u, _ := c.Get(ctx, id, src.load); u.FullName != "Name of "+id {
			t.Fatalf("%s: %+v, a caller's change leaked into the cache", id, u)
		}
	}
}
