// Package clientcache keeps OAuth clients (applications and service
// accounts) in process for the token and introspection endpoints, which
// authenticate the client on every request.
//
// A Cache reads through to the store and writes through to it: its own write
// methods forget what they change before they return, here at once and, with
// Redis, on every other replica as soon as the message arrives (redisfollow).
// Without Redis, or while it is unreachable, other replicas follow within the
// TTL. See docs/oauth.md, "Client cache".
package clientcache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/arsaka/puguh/storage"
)

// Store is what the cache reads and writes through: the client lookups it
// caches and every write that changes what they return.
type Store interface {
	ApplicationByID(ctx context.Context, id string) (*storage.Application, error)
	ServiceAccountByClientID(ctx context.Context, clientID string) (*storage.ServiceAccount, error)

	CreateApplication(ctx context.Context, a *storage.Application) error
	UpdateApplication(ctx context.Context, a *storage.Application) error
	DeleteApplication(ctx context.Context, orgID, id string) error
	CreateServiceAccount(ctx context.Context, sa *storage.ServiceAccount) error
	DeleteServiceAccount(ctx context.Context, orgID, id string, at time.Time) error
}

// Defaults.
const (
	// DefaultTTL bounds how long another replica may still use a changed or
	// deleted client when Redis is not configured (or a message is lost).
	DefaultTTL = 30 * time.Second
	// DefaultNotFoundTTL bounds how long a replica that was asked for a client
	// before it existed keeps answering "not found" when the creation was not
	// announced to it (no Redis, or a write outside a Cache).
	DefaultNotFoundTTL = 5 * time.Second
	// DefaultMaxEntries bounds each of the two tables (applications, service
	// accounts), found and not-found entries together.
	DefaultMaxEntries = 10_000
)

// maxIDLength: longer ids are passed through uncached, so that nobody can
// fill the cache with large keys (the OAuth lookup refuses them anyway).
const maxIDLength = 128

// Config tunes a Cache; zero values take the defaults.
type Config struct {
	TTL         time.Duration
	NotFoundTTL time.Duration
	MaxEntries  int
	Now         func() time.Time
	Logger      *slog.Logger
	// Redis, when set, carries evictions between replicas; Run follows them.
	Redis *redis.Client
	// Namespace prefixes the Redis channel ("puguh:").
	Namespace string
}

// Cache is a read-through, write-through cache of OAuth clients by id. It is
// safe for concurrent use.
type Cache struct {
	store Store
	cfg   Config
	log   *slog.Logger
	topic string

	mu sync.RWMutex
	// gen counts invalidations. A lookup stores what it read only if no
	// invalidation ran meanwhile: its read may predate the write that caused it.
	gen      uint64
	apps     map[string]entry[storage.Application]
	accounts map[string]entry[storage.ServiceAccount]
}

// entry is a cached lookup; v nil means the store answered ErrNotFound.
type entry[T any] struct {
	v       *T
	expires time.Time
}

// New returns a cache in front of store.
func New(store Store, cfg Config) *Cache {
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.NotFoundTTL <= 0 {
		cfg.NotFoundTTL = DefaultNotFoundTTL
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
	return &Cache{
		store:    store,
		cfg:      cfg,
		log:      log,
		topic:    cfg.Namespace + "clientcache:evict",
		apps:     make(map[string]entry[storage.Application]),
		accounts: make(map[string]entry[storage.ServiceAccount]),
	}
}

// ApplicationByID returns a copy of the application, from the cache when a
// lookup within the TTL found it (or found nothing: ErrNotFound, within
// NotFoundTTL). Errors other than ErrNotFound are not cached.
func (c *Cache) ApplicationByID(ctx context.Context, id string) (*storage.Application, error) {
	if len(id) > maxIDLength {
		return c.store.ApplicationByID(ctx, id)
	}
	v, found, hit, gen := lookup(c, c.apps, id)
	if hit {
		if !found {
			return nil, fmt.Errorf("application by id: %w", storage.ErrNotFound)
		}
		return cloneApplication(v), nil
	}
	a, err := c.store.ApplicationByID(ctx, id)
	switch {
	case err == nil:
		store(c, c.apps, id, cloneApplication(a), c.cfg.TTL, gen)
	case errors.Is(err, storage.ErrNotFound):
		store(c, c.apps, id, nil, c.cfg.NotFoundTTL, gen)
	}
	return a, err
}

// ServiceAccountByClientID is ApplicationByID for service accounts.
func (c *Cache) ServiceAccountByClientID(ctx context.Context, clientID string) (*storage.ServiceAccount, error) {
	if len(clientID) > maxIDLength {
		return c.store.ServiceAccountByClientID(ctx, clientID)
	}
	v, found, hit, gen := lookup(c, c.accounts, clientID)
	if hit {
		if !found {
			return nil, fmt.Errorf("service account by client id: %w", storage.ErrNotFound)
		}
		return cloneServiceAccount(v), nil
	}
	sa, err := c.store.ServiceAccountByClientID(ctx, clientID)
	switch {
	case err == nil:
		store(c, c.accounts, clientID, cloneServiceAccount(sa), c.cfg.TTL, gen)
	case errors.Is(err, storage.ErrNotFound):
		store(c, c.accounts, clientID, nil, c.cfg.NotFoundTTL, gen)
	}
	return sa, err
}

// The write methods write through and then forget the client here and on the
// other replicas. They forget even when the write fails: a failure may come
// after the commit (a timeout), and forgetting is always safe.

// CreateApplication stores a and forgets a cached "not found" for its id.
func (c *Cache) CreateApplication(ctx context.Context, a *storage.Application) error {
	err := c.store.CreateApplication(ctx, a)
	c.forget(ctx, msgApplication, a.ID)
	return err
}

// UpdateApplication stores a (a rotated secret, changed redirect URIs, scopes
// or grant types...) and forgets the cached copy.
func (c *Cache) UpdateApplication(ctx context.Context, a *storage.Application) error {
	err := c.store.UpdateApplication(ctx, a)
	c.forget(ctx, msgApplication, a.ID)
	return err
}

// DeleteApplication deletes the application and forgets it.
func (c *Cache) DeleteApplication(ctx context.Context, orgID, id string) error {
	err := c.store.DeleteApplication(ctx, orgID, id)
	c.forget(ctx, msgApplication, id)
	return err
}

// CreateServiceAccount stores sa and forgets a cached "not found" for its
// client id.
func (c *Cache) CreateServiceAccount(ctx context.Context, sa *storage.ServiceAccount) error {
	err := c.store.CreateServiceAccount(ctx, sa)
	c.forget(ctx, msgServiceAccount, sa.ClientID)
	return err
}

// DeleteServiceAccount deletes the account (the store revokes its API keys in
// the same transaction) and forgets it. The caller names it by id, the cache
// holds it by client id: every cached account with this id is dropped.
func (c *Cache) DeleteServiceAccount(ctx context.Context, orgID, id string, at time.Time) error {
	err := c.store.DeleteServiceAccount(ctx, orgID, id, at)
	c.forget(ctx, msgServiceAccountID, id)
	return err
}

// lookup returns the live entry for key, if any, and the generation to pass
// to store after a miss.
func lookup[T any](c *Cache, m map[string]entry[T], key string) (v *T, found, hit bool, gen uint64) {
	now := c.cfg.Now()
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := m[key]
	if ok && now.Before(e.expires) {
		return e.v, e.v != nil, true, c.gen
	}
	return nil, false, false, c.gen
}

// store caches v (nil: not found) unless an invalidation ran since gen.
func store[T any](c *Cache, m map[string]entry[T], key string, v *T, ttl time.Duration, gen uint64) {
	now := c.cfg.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if _, ok := m[key]; !ok && len(m) >= c.cfg.MaxEntries {
		shrink(m, now, c.cfg.MaxEntries*9/10)
	}
	m[key] = entry[T]{v: v, expires: now.Add(ttl)}
}

// shrink drops every expired entry, then not-found ones, then any, until
// fewer than target remain. Found clients go last: the hot path needs them,
// and a flood of unknown ids must not push them out first.
func shrink[T any](m map[string]entry[T], now time.Time, target int) {
	for k, e := range m {
		if !now.Before(e.expires) {
			delete(m, k)
		}
	}
	for _, drop := range []func(entry[T]) bool{
		func(e entry[T]) bool { return e.v == nil },
		func(entry[T]) bool { return true },
	} {
		for k, e := range m {
			if len(m) < target {
				return
			}
			if drop(e) {
				delete(m, k)
			}
		}
	}
}

// Len reports how many entries (found or not) each table holds, for tests.
func (c *Cache) Len() (applications, serviceAccounts int) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.apps), len(c.accounts)
}

func cloneApplication(a *storage.Application) *storage.Application {
	if a == nil {
		return nil
	}
	b := *a
	b.SecretHash = bytes.Clone(a.SecretHash)
	b.RedirectURIs = slices.Clone(a.RedirectURIs)
	b.PostLogoutRedirectURIs = slices.Clone(a.PostLogoutRedirectURIs)
	b.GrantTypes = slices.Clone(a.GrantTypes)
	b.ResponseTypes = slices.Clone(a.ResponseTypes)
	b.Scopes = slices.Clone(a.Scopes)
	return &b
}

func cloneServiceAccount(sa *storage.ServiceAccount) *storage.ServiceAccount {
	if sa == nil {
		return nil
	}
	b := *sa
	b.SecretHash = bytes.Clone(sa.SecretHash)
	return &b
}
