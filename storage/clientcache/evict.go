package clientcache

import (
	"context"
	"strings"

	"github.com/arsaka/puguh/storage/redisfollow"
)

// Eviction messages on the Redis channel, "<kind> <id>":
//
//	app <client id>             an application was created, changed or deleted
//	sa <client id>              a service account was created
//	sa-id <service account id>  a service account was deleted
const (
	msgApplication      = "app"
	msgServiceAccount   = "sa"
	msgServiceAccountID = "sa-id"
)

// forget drops the client here at once, then tells the other replicas.
func (c *Cache) forget(ctx context.Context, kind, id string) {
	c.apply(kind + " " + id)
	if c.cfg.Redis == nil {
		return
	}
	if err := redisfollow.Announce(ctx, c.cfg.Redis, c.topic, kind+" "+id); err != nil {
		c.log.Warn("clientcache: could not announce a client change; other replicas apply it within the cache TTL",
			"error", err, "ttl", c.cfg.TTL)
	}
}

// Run follows other replicas' evictions until ctx ends; without Redis it
// returns at once. On every (re)subscription anything published while we were
// away is lost, so it drops the whole cache rather than trust it.
func (c *Cache) Run(ctx context.Context) {
	if c.cfg.Redis == nil {
		return
	}
	redisfollow.Follow(ctx, c.cfg.Redis, c.topic, func(context.Context) { c.evictAll() }, c.apply)
}

// apply handles one eviction message, ours or another replica's (applying
// our own again is harmless). Unknown messages are ignored, so that a newer
// replica may add kinds.
func (c *Cache) apply(payload string) {
	kind, id, ok := strings.Cut(payload, " ")
	if !ok || id == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch kind {
	case msgApplication:
		delete(c.apps, id)
	case msgServiceAccount:
		delete(c.accounts, id)
	case msgServiceAccountID:
		for k, e := range c.accounts {
			if e.v != nil && e.v.ID == id {
				delete(c.accounts, k)
			}
		}
	default:
		return
	}
	c.gen++
}

// evictAll empties the cache.
func (c *Cache) evictAll() {
	c.mu.Lock()
	clear(c.apps)
	clear(c.accounts)
	c.gen++
	c.mu.Unlock()
}
