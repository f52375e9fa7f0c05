package keys

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/arsaka/puguh/storage"
)

// ErrNotReady means the next key has not been published for PrePublish yet,
// so signing with it now could fail at resource servers holding a cached JWKS.
var ErrNotReady = errors.New("keys: the next key has not been published long enough to sign")

// NotReadyError says when an on-demand rotation becomes safe. It wraps ErrNotReady.
type NotReadyError struct {
	KID         string    // the next key
	PublishedAt time.Time // when it entered the JWKS
	ReadyAt     time.Time // PublishedAt + PrePublish
}

// Error says when the rotation becomes safe and what the alternatives are.
func (e *NotReadyError) Error() string {
	return fmt.Sprintf("keys: next key %s was published at %s and may sign from %s (every cached JWKS holds it by then); rotate again then, or force it for a compromised key",
		e.KID, e.PublishedAt.Format(time.RFC3339), e.ReadyAt.Format(time.RFC3339))
}

// Unwrap makes errors.Is(err, ErrNotReady) true.
func (e *NotReadyError) Unwrap() error { return ErrNotReady }

// Rotation reports what Rotate did.
type Rotation struct {
	ActiveKID  string // the key that signs from now on
	RetiredKID string // the key that stopped signing
	// RetiredRemoveAfter is when the retired key leaves the JWKS: after its
	// last token expires, or immediately for a forced rotation.
	RetiredRemoveAfter time.Time
	NextKID            string // the new next key, published from now on
}

// Rotate promotes the next key now, for `puguh keys rotate`.
//
// Without force it only promotes a next key that has been published for
// PrePublish, which is the usual case: a next key is created right after each
// rotation and ages for a whole RotationPeriod. Otherwise (two rotations
// within PrePublish) it returns a *NotReadyError saying when it will be safe,
// rather than breaking resource servers with a cached JWKS. The retired key
// stays published until its last token has expired, so no token breaks.
//
// force is for a compromised active key. The next key signs at once and the
// old key is unpublished at once, on this replica now and on the others
// within RefreshInterval. The consequences: every token the old key signed
// stops verifying (users sign in again, clients fetch new tokens); resource
// servers whose cached JWKS predates the next key reject new tokens until they
// refetch (most refetch on an unknown kid, the rest after JWKSMaxAge); and
// resource servers keep trusting the old key until their cache expires, which
// no issuer can prevent.
//
// If another replica rotates at the same moment, one of the two wins and the
// other returns an error wrapping storage.ErrPrecondition or ErrConflict.
func (m *Manager) Rotate(ctx context.Context, force bool) (Rotation, error) {
	return m.RotateAlgorithm(ctx, AlgRS256, force)
}

// RotateAlgorithm is Rotate for the chain of keys of alg (one of
// Config.Algorithms); Rotate rotates the RS256 chain.
func (m *Manager) RotateAlgorithm(ctx context.Context, alg string, force bool) (Rotation, error) {
	if !slices.Contains(m.cfg.Algorithms, alg) {
		return Rotation{}, fmt.Errorf("keys: %q is not an enabled signing algorithm (enabled: %v)", alg, m.cfg.Algorithms)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.refreshLocked(ctx); err != nil {
		return Rotation{}, err
	}
	active, next := findActiveNext(m.set.Load().rows, alg)
	if active == nil || next == nil {
		return Rotation{}, errors.New("keys: no active or next key after refresh")
	}
	now := m.now()
	readyAt := next.CreatedAt.Add(m.cfg.PrePublish)
	if !force && now.Before(readyAt) {
		return Rotation{}, &NotReadyError{KID: next.KID, PublishedAt: next.CreatedAt, ReadyAt: readyAt}
	}
	removeAfter := now.Add(m.cfg.retireGrace())
	if force {
		removeAfter = now
	}
	if err := m.store.PromoteSigningKey(ctx, next.KID, active.KID, now, removeAfter); err != nil {
		if lostRace(err) {
			_ = m.refreshLocked(ctx)
			return Rotation{}, fmt.Errorf("keys: another replica rotated first; see `puguh keys list`: %w", err)
		}
		return Rotation{}, fmt.Errorf("keys: rotate: %w", err)
	}
	m.cfg.Logger.Info("signing keys: rotated on demand", "algorithm", alg, "active", next.KID, "retired", active.KID, "force", force)
	// Reload so this replica signs with the new key now, and create the next key.
	if err := m.refreshLocked(ctx); err != nil {
		return Rotation{}, err
	}
	r := Rotation{ActiveKID: next.KID, RetiredKID: active.KID, RetiredRemoveAfter: removeAfter}
	if _, n := findActiveNext(m.set.Load().rows, alg); n != nil {
		r.NextKID = n.KID
	}
	return r, nil
}

// KeyInfo describes a key for `puguh keys list`. It has no key material.
type KeyInfo struct {
	KID         string
	State       string // next, active or retired
	Algorithm   string
	CreatedAt   time.Time // also when it was first published
	ActivatedAt *time.Time
	RetiredAt   *time.Time
	RemoveAfter *time.Time // when a retired key leaves the JWKS
}

// List reads the keys from the database, oldest first.
func (m *Manager) List(ctx context.Context) ([]KeyInfo, error) {
	rows, err := m.store.SigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("keys: list: %w", err)
	}
	out := make([]KeyInfo, 0, len(rows))
	for _, r := range rows {
		out = append(out, KeyInfo{
			KID: r.KID, State: r.State, Algorithm: r.Algorithm, CreatedAt: r.CreatedAt,
			ActivatedAt: r.ActivatedAt, RetiredAt: r.RetiredAt, RemoveAfter: r.RemoveAfter,
		})
	}
	return out, nil
}

// ActiveKID is the kid this replica signs with by default (RS256).
func (m *Manager) ActiveKID() string { return m.set.Load().active.kid }

// Algorithms are the algorithms this Manager keeps keys for and signs with.
func (m *Manager) Algorithms() []string { return slices.Clone(m.cfg.Algorithms) }

// The storage interface must keep satisfying ours: a change there fails this build.
var _ Store = (storage.SigningKeyStore)(nil)
