package cache

import (
	"context"
	"log/slog"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/arsaka/puguh/storage/redisfollow"
)

// evicter is the part of a Cache the Bus drives.
type evicter interface {
	Evict(keys ...string)
	Purge()
}

// Bus carries invalidations between replicas on one Redis pub/sub channel,
// "<namespace>cache:evict", for every cache of the process. A message is the
// cache's name and the keys, separated by spaces (keys never hold one).
type Bus struct {
	client  *redis.Client
	channel string
	log     *slog.Logger

	mu     sync.RWMutex
	caches map[string]evicter
}

// NewBus returns a bus over client; namespace separates deployments sharing
// one Redis. Start Run to apply the other replicas' invalidations.
func NewBus(client *redis.Client, namespace string, log *slog.Logger) *Bus {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Bus{client: client, channel: namespace + "cache:evict", log: log, caches: map[string]evicter{}}
}

func (b *Bus) register(name string, c evicter) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, dup := b.caches[name]; dup {
		panic("cache: two caches named " + name) // a wiring defect every test catches
	}
	b.caches[name] = c
}

// Publish tells the other replicas (and this one: applying our own message
// again is harmless) that keys of the named cache changed. It never blocks
// longer than redisfollow.AnnounceTimeout; a failure is logged, and the
// other replicas see the change within the cache's TTL.
func (b *Bus) Publish(ctx context.Context, name string, keys ...string) {
	if len(keys) == 0 {
		return
	}
	msg := name + " " + strings.Join(keys, " ")
	if err := redisfollow.Announce(ctx, b.client, b.channel, msg); err != nil {
		b.log.WarnContext(ctx, "cache: could not announce a change; other replicas see it within the cache's TTL",
			"cache", name, "error", err)
	}
}

// Run applies the other replicas' invalidations until ctx ends. On every
// (re)subscription messages published meanwhile are lost, so it purges every
// cache rather than trust them.
func (b *Bus) Run(ctx context.Context) {
	redisfollow.Follow(ctx, b.client, b.channel, func(context.Context) { b.purgeAll() }, b.apply)
}

func (b *Bus) apply(payload string) {
	fields := strings.Fields(payload)
	if len(fields) < 2 {
		return
	}
	b.mu.RLock()
	c := b.caches[fields[0]]
	b.mu.RUnlock()
	if c != nil {
		c.Evict(fields[1:]...)
	}
}

func (b *Bus) purgeAll() {
	b.mu.RLock()
	defer b.mu.RUnlock()
	for _, c := range b.caches {
		c.Purge()
	}
}
