// Package revocation keeps the denylist of JWT access tokens that were revoked
// before they expired (logout, RFC 7009 revocation, refresh-token reuse).
// Entries are keyed by token id (jti) or refresh family (sid) and expire when
// the tokens they deny would have expired anyway.
//
// Lookups are in-process map reads on every replica, so the Bearer middleware
// never waits on the network. With Redis, a revocation is written to Redis and
// published; every replica mirrors it into its own map, and reloads the whole
// list whenever its subscription (re)connects. Without Redis (SQL), every
// denial is also written to the SQL database and the list is loaded from it
// at start, so a restart forgets nothing.
package revocation

import (
	"context"
	"sync"
	"time"
)

// List is a denylist.
type List interface {
	// Deny adds key until the given time.
	Deny(ctx context.Context, key string, until time.Time) error
	// Denied reports whether any of keys is denied now.
	Denied(keys ...string) bool
}

// Memory is an in-process denylist: the whole story on a single replica, and
// the local mirror of the Redis list.
type Memory struct {
	now func() time.Time

	mu      sync.RWMutex
	entries map[string]time.Time
	lastGC  time.Time
}

// NewMemory returns an empty in-process list.
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{now: now, entries: make(map[string]time.Time)}
}

// Deny adds key until the given time (keeping the later time if it is there).
func (m *Memory) Deny(_ context.Context, key string, until time.Time) error {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if until.After(m.entries[key]) {
		m.entries[key] = until
	}
	// Expired entries are dropped at most once a minute, amortised over writes.
	if now.Sub(m.lastGC) > time.Minute {
		for k, exp := range m.entries {
			if !exp.After(now) {
				delete(m.entries, k)
			}
		}
		m.lastGC = now
	}
	return nil
}

// Denied reports whether any key is denied now.
func (m *Memory) Denied(keys ...string) bool {
	now := m.now()
	m.mu.RLock()
	defer m.mu.RUnlock()
	if len(m.entries) == 0 {
		return false
	}
	for _, k := range keys {
		if exp, ok := m.entries[k]; ok && exp.After(now) {
			return true
		}
	}
	return false
}

// Len is the number of entries, expired ones included until collected.
func (m *Memory) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.entries)
}
