// Package revocation keeps the denylist of JWT access tokens that were revoked
// before they expired (logout, RFC 7009 revocation, refresh-token reuse, a
// revoked grant, a deleted client). Entries are keyed by token id ("jti:"),
// refresh family ("sid:") or client ("client:") and expire when the tokens
// they deny would have expired anyway.
//
// The record is the SQL denylist table (storage/sqlstore): Deny writes there
// before it returns, so a denial survives restarts and every replica can read
// it; Redis, when configured, only carries it to the other replicas faster.
// Lookups are in-process map reads, so the Bearer middleware never waits on
// the network. Each replica loads the table into its map before serving and
// keeps it current two ways:
//   - with Redis, the denying replica publishes each denial and the others
//     apply it within milliseconds; whenever a replica's subscription
//     (re)connects it reloads the table, so nothing published while it was cut
//     off, or denied while Redis was down, is missed;
//   - with or without Redis, every PollInterval each replica reads the entries
//     written since the last ones it saw, so a denial reaches every replica
//     within PollInterval even when Redis is down or drops a message.
package revocation

import (
	"context"
	"sync"
	"time"
)

// List is a denylist.
type List interface {
	// Deny adds key until the given time. An error means the denial was not
	// recorded, and so is not in force: the caller reports the failure, and
	// a retry can do the whole revocation again.
	Deny(ctx context.Context, key string, until time.Time) error
	// Denied reports whether any of keys is denied now.
	Denied(keys ...string) bool
}

// Memory is an in-process denylist: the local mirror of the table that
// Denylist keeps on every replica.
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
