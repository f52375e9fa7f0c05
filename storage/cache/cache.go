// Package cache is Puguh's one in-process cache: a bounded map whose entries
// live for a TTL, with one eviction policy and one way of telling the other
// replicas that an entry changed (Bus, over Redis pub/sub).
//
// Every cache in Puguh is one of these: users, OAuth clients, API keys,
// service accounts, memberships and organizations behind the cached store
// (storage/cached), and verified Bearer tokens in the authentication
// middleware. Bounds follow from three numbers per cache: a change made on
// one replica applies there at once (the writer invalidates before it
// answers), on the others as soon as the Bus message arrives (milliseconds),
// and at the latest after TTL when Redis is not configured or a message is
// lost.
package cache

import (
	"context"
	"sync"
	"time"
)

// Config shapes one cache.
type Config struct {
	// Name identifies the cache on the Bus; unique per process.
	Name string
	// TTL is how long a found value lives.
	TTL time.Duration
	// MissTTL is how long an absent value (load reported not found) lives;
	// 0: absence is not cached.
	MissTTL time.Duration
	// MaxEntries bounds the map; at it, storing evicts one entry.
	MaxEntries int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Bus carries invalidations to the other replicas; nil: none (they see a
	// change within TTL).
	Bus *Bus
}

// Cache maps string keys to values of type V. Values are returned as they
// were stored: cache values that are never modified after loading (copies,
// or structs whose slices nobody changes in place).
type Cache[V any] struct {
	cfg Config
	now func() time.Time

	mu      sync.RWMutex
	entries map[string]entry[V]
	// gen counts invalidations. A load stores what it read only if no
	// invalidation ran meanwhile: its read may predate the write that caused it.
	gen uint64
}

type entry[V any] struct {
	v       V
	found   bool
	expires time.Time
}

// New returns an empty cache, registered on cfg.Bus when there is one.
func New[V any](cfg Config) *Cache[V] {
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = 10_000
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	c := &Cache[V]{cfg: cfg, now: now, entries: make(map[string]entry[V])}
	if cfg.Bus != nil {
		cfg.Bus.register(cfg.Name, c)
	}
	return c
}

// LoadFunc reads a value from the source; found false means there is none.
type LoadFunc[V any] func(ctx context.Context) (v V, found bool, err error)

// Get returns the value of key, from memory while it is fresh, else from
// load. Errors of load are returned and never cached.
func (c *Cache[V]) Get(ctx context.Context, key string, load LoadFunc[V]) (V, bool, error) {
	now := c.now()
	c.mu.RLock()
	e, ok := c.entries[key]
	gen := c.gen
	c.mu.RUnlock()
	if ok && now.Before(e.expires) {
		return e.v, e.found, nil
	}
	v, found, err := load(ctx)
	if err != nil {
		var zero V
		return zero, false, err
	}
	ttl := c.cfg.TTL
	if !found {
		ttl = c.cfg.MissTTL
	}
	if ttl > 0 {
		// The entry expires TTL after the moment before the read, never later.
		c.store(key, entry[V]{v: v, found: found, expires: now.Add(ttl)}, gen)
	}
	return v, found, nil
}

// Peek returns the value of key while it is fresh, without loading.
func (c *Cache[V]) Peek(key string) (V, bool) {
	c.mu.RLock()
	e, ok := c.entries[key]
	c.mu.RUnlock()
	if !ok || !e.found || !c.now().Before(e.expires) {
		var zero V
		return zero, false
	}
	return e.v, true
}

// Put stores a found value until the earlier of TTL from now and until
// (zero: TTL), for values computed rather than loaded.
func (c *Cache[V]) Put(key string, v V, until time.Time) {
	c.mu.RLock()
	gen := c.gen
	c.mu.RUnlock()
	expires := c.now().Add(c.cfg.TTL)
	if !until.IsZero() && until.Before(expires) {
		expires = until
	}
	c.store(key, entry[V]{v: v, found: true, expires: expires}, gen)
}

// store keeps e unless an invalidation happened since gen was read, making
// room by dropping an expired or, failing that, an arbitrary entry.
func (c *Cache[V]) store(key string, e entry[V], gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if _, ok := c.entries[key]; !ok && len(c.entries) >= c.cfg.MaxEntries {
		c.makeRoom()
	}
	c.entries[key] = e
}

// makeRoom drops one entry: the first expired one among a few, else the
// first seen. Go's map iteration starts at a random place, so this is random
// eviction in O(1), which bounds memory without bookkeeping on every read.
// Called with mu held.
func (c *Cache[V]) makeRoom() {
	const sample = 8
	now := c.now()
	var victim string
	n := 0
	for k, e := range c.entries {
		if n == 0 {
			victim = k
		}
		if !now.Before(e.expires) {
			victim = k
			break
		}
		if n++; n == sample {
			break
		}
	}
	delete(c.entries, victim)
}

// Invalidate forgets keys here at once and tells the other replicas to do the
// same. Call it after a write to what the keys name has committed (or failed:
// a failed commit may still have applied).
func (c *Cache[V]) Invalidate(ctx context.Context, keys ...string) {
	c.Evict(keys...)
	if c.cfg.Bus != nil {
		c.cfg.Bus.Publish(ctx, c.cfg.Name, keys...)
	}
}

// Evict forgets keys on this replica only.
func (c *Cache[V]) Evict(keys ...string) {
	c.mu.Lock()
	for _, k := range keys {
		delete(c.entries, k)
	}
	c.gen++
	c.mu.Unlock()
}

// Purge forgets everything, after a gap in the Bus subscription during which
// messages may have been missed.
func (c *Cache[V]) Purge() {
	c.mu.Lock()
	clear(c.entries)
	c.gen++
	c.mu.Unlock()
}

// Len is the number of entries, expired ones included.
func (c *Cache[V]) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}

// TTL is the cache's lifetime of a found value: the bound on how long
// another replica may serve it after a change when no Bus message reaches it.
func (c *Cache[V]) TTL() time.Duration { return c.cfg.TTL }
