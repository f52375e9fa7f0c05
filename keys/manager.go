// Package keys owns Puguh's token signing keys: it generates RS256 keys (and
// ES256 and EdDSA keys where enabled, each algorithm a chain of its own), keeps
// them sealed in the database, rotates them on schedule and on demand without
// breaking resource servers that cache our JWKS, and signs and verifies JWTs.
//
// A key moves next → active → retired → removed. A next key is published in
// the JWKS (RFC 7517) for Config.PrePublish before it signs, longer than the
// JWKS cache lifetime, so every cached copy already holds it; a retired key
// stays published until the last token it signed has expired. Replicas share
// the keys through the database and each reloads them every
// Config.RefreshInterval: a replica follows another's rotation within one
// interval plus a database round trip (about 5 s with the defaults).
package keys

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arsaka/puguh/storage"
)

// Store is the persistence the Manager needs; storage/sqlstore implements it.
type Store interface {
	SigningKeys(ctx context.Context) ([]storage.SigningKey, error)
	InsertSigningKey(ctx context.Context, k *storage.SigningKey) error
	PromoteSigningKey(ctx context.Context, nextKID, activeKID string, at, retiredRemoveAfter time.Time) error
	DeleteSigningKeysRemovableBefore(ctx context.Context, t time.Time) (int64, error)
}

// Manager keeps the keys of one replica in memory and in step with the
// database. It is safe for concurrent use.
type Manager struct {
	store    Store
	sealer   *sealer
	cfg      Config
	generate func(bits int) (*rsa.PrivateKey, error)

	set atomic.Pointer[keySet]
	// mu serialises this replica's maintenance; other replicas are kept in
	// line by the database's compare-and-swap.
	mu sync.Mutex
}

// Open builds a Manager and loads the keys once. On an empty database it
// creates a key that signs immediately (no resource server can have cached
// anything yet) and a next key. It fails if secret does not open the stored
// keys (ErrWrongSecret) rather than signing tokens nobody can verify.
func Open(ctx context.Context, store Store, secret []byte, cfg Config) (*Manager, error) {
	return open(ctx, store, secret, cfg, generateRSA)
}

func open(ctx context.Context, store Store, secret []byte, cfg Config, generate func(int) (*rsa.PrivateKey, error)) (*Manager, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s, err := newSealer(secret)
	if err != nil {
		return nil, err
	}
	m := &Manager{store: store, sealer: s, cfg: cfg.withDefaults(), generate: generate}
	if err := m.Refresh(ctx); err != nil {
		return nil, err
	}
	return m, nil
}

func generateRSA(bits int) (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, bits) }

// now truncates to microseconds, the precision both databases keep, so
// instants compare equal after a round trip.
func (m *Manager) now() time.Time { return m.cfg.Now().UTC().Truncate(time.Microsecond) }

// Run reloads and maintains the keys every RefreshInterval until ctx ends.
// Errors (a database outage) are logged and retried on the next tick; the
// replica keeps signing with the keys it has.
func (m *Manager) Run(ctx context.Context) error {
	t := time.NewTicker(m.cfg.RefreshInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := m.Refresh(ctx); err != nil && ctx.Err() == nil {
				m.cfg.Logger.Error("signing keys: refresh failed", "err", err)
			}
		}
	}
}

// Refresh reloads the keys and does any maintenance that is due: create the
// first key or the next key, promote the next key when the active key has
// served RotationPeriod, delete retired keys past their RemoveAfter.
func (m *Manager) Refresh(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.refreshLocked(ctx)
}

func (m *Manager) refreshLocked(ctx context.Context) error {
	// Each pass does at most one write and then reloads; the longest chain
	// (activate, create next, rotate, create next, delete) takes five per
	// algorithm.
	for range 5*len(m.cfg.Algorithms) + 1 {
		rows, err := m.store.SigningKeys(ctx)
		if err != nil {
			return fmt.Errorf("keys: load: %w", err)
		}
		now := m.now()
		wrote, err := m.maintainStep(ctx, rows, now)
		if err != nil {
			return err
		}
		if !wrote {
			return m.install(rows, now)
		}
	}
	return errors.New("keys: maintenance did not settle; is another replica misconfigured?")
}

// install swaps in a new snapshot built from rows.
func (m *Manager) install(rows []storage.SigningKey, now time.Time) error {
	set, err := buildKeySet(rows, now, m.set.Load(), m.sealer, m.cfg.JWKSMaxAge)
	if err != nil {
		return err
	}
	m.set.Store(set)
	return nil
}

// maintainStep performs the first due write, if any. A lost race with another
// replica (ErrConflict, ErrPrecondition) counts as a write: the other replica
// did the work, and the caller reloads to see it.
func (m *Manager) maintainStep(ctx context.Context, rows []storage.SigningKey, now time.Time) (bool, error) {
	// Every enabled algorithm has its own chain; the first one with work due
	// gets this step.
	for _, alg := range m.cfg.Algorithms {
		if wrote, err := m.maintainChain(ctx, rows, alg, now); wrote || err != nil {
			return wrote, err
		}
	}
	if !hasRemovable(rows, now) {
		return false, nil
	}
	if _, err := m.store.DeleteSigningKeysRemovableBefore(ctx, now); err != nil && !lostRace(err) {
		return false, err
	}
	return true, nil
}

// maintainChain performs the first due write of alg's chain, if any.
func (m *Manager) maintainChain(ctx context.Context, rows []storage.SigningKey, alg string, now time.Time) (bool, error) {
	active, next := findActiveNext(rows, alg)
	var err error
	switch {
	case active == nil && next != nil:
		// Only reachable if the active row was deleted by hand: signing with an
		// unannounced key beats not signing at all.
		m.cfg.Logger.Warn("signing keys: no active key; promoting the next key now", "kid", next.KID)
		err = m.store.PromoteSigningKey(ctx, next.KID, "", now, time.Time{})
	case active == nil:
		err = m.insertNewKey(ctx, alg, storage.KeyStateActive, now)
	case next == nil:
		err = m.insertNewKey(ctx, alg, storage.KeyStateNext, now)
	case active.ActivatedAt != nil && !now.Before(active.ActivatedAt.Add(m.cfg.RotationPeriod)) &&
		!now.Before(next.CreatedAt.Add(m.cfg.PrePublish)):
		err = m.store.PromoteSigningKey(ctx, next.KID, active.KID, now, now.Add(m.cfg.retireGrace()))
		if err == nil {
			m.cfg.Logger.Info("signing keys: rotated", "algorithm", alg, "active", next.KID, "retired", active.KID)
		}
	default:
		return false, nil
	}
	if err != nil && !lostRace(err) {
		return false, err
	}
	return true, nil
}

// lostRace reports an error meaning another replica changed the keys first.
func lostRace(err error) bool {
	return errors.Is(err, storage.ErrConflict) || errors.Is(err, storage.ErrPrecondition)
}

// findActiveNext finds the active and next keys of alg's chain.
func findActiveNext(rows []storage.SigningKey, alg string) (active, next *storage.SigningKey) {
	for i := range rows {
		if rows[i].Algorithm != alg {
			continue
		}
		switch rows[i].State {
		case storage.KeyStateActive:
			active = &rows[i]
		case storage.KeyStateNext:
			next = &rows[i]
		}
	}
	return active, next
}

func hasRemovable(rows []storage.SigningKey, now time.Time) bool {
	for i := range rows {
		if rows[i].State == storage.KeyStateRetired && rows[i].RemoveAfter != nil && rows[i].RemoveAfter.Before(now) {
			return true
		}
	}
	return false
}

// insertNewKey generates, seals and stores a key of alg in state.
func (m *Manager) insertNewKey(ctx context.Context, alg, state string, now time.Time) error {
	priv, err := generateKey(alg, m.cfg.KeySize, m.generate)
	if err != nil {
		return fmt.Errorf("keys: generate %s key: %w", alg, err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(priv.Public())
	if err != nil {
		return fmt.Errorf("keys: encode public key: %w", err)
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return fmt.Errorf("keys: encode private key: %w", err)
	}
	kid := thumbprint(priv.Public())
	sealed, err := m.sealer.seal(kid, privDER)
	if err != nil {
		return err
	}
	row := &storage.SigningKey{
		KID: kid, Algorithm: alg, State: state,
		PrivateKeySealed: sealed, PublicKeyDER: pubDER, CreatedAt: now,
	}
	if state == storage.KeyStateActive {
		row.ActivatedAt = &now
	}
	if err := m.store.InsertSigningKey(ctx, row); err != nil {
		return fmt.Errorf("keys: store new %s %s key: %w", state, alg, err)
	}
	return nil
}
