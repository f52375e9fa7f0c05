// Package usercache keeps users read by id in memory, so that a request that
// only needs the caller's profile (GET /api/v1/iam/users/me, userinfo, the
// account pages) reads no database once warm.
//
// Store decorates the SQL store: it answers UserByID from the cache and
// evicts a user after every write to its row. Bounds: a change is seen at
// once on the replica that made it; other replicas see it as soon as the
// Redis eviction message arrives (milliseconds), and at the latest after TTL
// (DefaultTTL, 30 s) when Redis is not configured or a message is lost. A row
// changed behind Puguh's back (by hand in SQL) is also seen within TTL.
// Nothing is cached for an id that does not exist.
package usercache

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/arsaka/puguh/storage"
	"github.com/arsaka/puguh/storage/redisfollow"
)

// Defaults of Config.
const (
	// DefaultTTL bounds how long another replica may serve a user as it was
	// before a change when no eviction message reaches it.
	DefaultTTL        = 30 * time.Second
	DefaultMaxEntries = 10_000
)

// Config tunes a Cache. Zero values take the defaults.
type Config struct {
	TTL        time.Duration
	MaxEntries int
	Now        func() time.Time
	Logger     *slog.Logger
	// Redis, when set, carries evictions to every replica (pub/sub).
	Redis *redis.Client
	// Namespace prefixes the Redis channel, e.g. "puguh:".
	Namespace string
}

// Cache is a bounded map of users by id whose entries live for TTL. Values
// are copied in and out: a caller may change the user it got without
// changing what others read.
type Cache struct {
	cfg   Config
	log   *slog.Logger
	topic string

	mu      sync.RWMutex
	entries map[string]entry
	// gen is bumped by every eviction. A lookup that read the database before
	// an eviction does not store its (possibly stale) answer.
	gen uint64
}

type entry struct {
	user    storage.User
	expires time.Time
}

// LoadFunc reads a user from the database.
type LoadFunc func(ctx context.Context, id string) (*storage.User, error)

// NewCache returns an empty cache. With cfg.Redis, call Run to follow the
// other replicas' evictions.
func NewCache(cfg Config) *Cache {
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = DefaultMaxEntries
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Cache{cfg: cfg, log: log, topic: cfg.Namespace + "users:evict", entries: map[string]entry{}}
}

// Get returns a copy of the cached user with id, or loads it and caches a
// copy. Errors of load (ErrNotFound included) are returned and not cached.
func (c *Cache) Get(ctx context.Context, id string, load LoadFunc) (*storage.User, error) {
	now := c.cfg.Now()
	c.mu.RLock()
	e, ok := c.entries[id]
	gen := c.gen
	c.mu.RUnlock()
	if ok && now.Before(e.expires) {
		u := e.user
		return &u, nil
	}
	u, err := load(ctx, id)
	if err != nil {
		return nil, err
	}
	// The entry expires TTL after the moment before the read, never later.
	c.put(id, *u, gen, now.Add(c.cfg.TTL))
	return u, nil
}

// put stores u unless an eviction happened since gen was read, making room
// by dropping an expired or, failing that, an arbitrary entry.
func (c *Cache) put(id string, u storage.User, gen uint64, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if _, ok := c.entries[id]; !ok && len(c.entries) >= c.cfg.MaxEntries {
		c.makeRoom()
	}
	c.entries[id] = entry{user: u, expires: expires}
}

// makeRoom drops one entry: the first expired one among a few, else the first
// seen. Go's map iteration starts at a random place, so this is random
// eviction at O(1). Called with mu held.
func (c *Cache) makeRoom() {
	const sample = 8
	now := c.cfg.Now()
	var victim string
	n := 0
	for id, e := range c.entries {
		if n == 0 {
			victim = id
		}
		if !now.Before(e.expires) {
			victim = id
			break
		}
		if n++; n == sample {
			break
		}
	}
	delete(c.entries, victim)
}

// Len is the number of entries, expired ones included.
func (c *Cache) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}

// Invalidate forgets the user here at once and tells the other replicas to do
// the same. Call it after a write to the user's row has committed (or failed:
// a failed commit may still have applied).
func (c *Cache) Invalidate(ctx context.Context, id string) {
	c.evict(id)
	c.publish(ctx, id)
}

func (c *Cache) evict(id string) {
	c.mu.Lock()
	delete(c.entries, id)
	c.gen++
	c.mu.Unlock()
}

// evictAll empties the cache, after a gap in the Redis subscription during
// which messages may have been missed.
func (c *Cache) evictAll() {
	c.mu.Lock()
	clear(c.entries)
	c.gen++
	c.mu.Unlock()
}

func (c *Cache) publish(ctx context.Context, id string) {
	if c.cfg.Redis == nil {
		return
	}
	if err := redisfollow.Announce(ctx, c.cfg.Redis, c.topic, id); err != nil {
		c.log.Warn("usercache: could not announce a user change; other replicas see it within the cache TTL",
			"error", err, "ttl", c.cfg.TTL)
	}
}

// Run applies the other replicas' evictions until ctx ends; without Redis it
// returns at once. On every (re)subscription messages published meanwhile
// are lost, so it empties the whole cache rather than trust it.
func (c *Cache) Run(ctx context.Context) {
	if c.cfg.Redis == nil {
		return
	}
	redisfollow.Follow(ctx, c.cfg.Redis, c.topic, func(context.Context) { c.evictAll() }, c.apply)
}

// apply handles one eviction message (our own included: evicting twice is harmless).
func (c *Cache) apply(id string) {
	if id != "" {
		c.evict(id)
	}
}
