package credentials

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/orgs"
	"github.com/arsaka/puguh/storage"
	"github.com/arsaka/puguh/storage/cache"
)

// VerifierStore is what the Verifier reads and writes: hand it the cached
// store (storage/cached), so a warm verification reads no database and a
// revocation reaches it as that store's invalidations do.
type VerifierStore interface {
	APIKeyByHash(ctx context.Context, hash []byte) (*storage.APIKey, error)
	TouchAPIKeys(ctx context.Context, lastUsed map[string]time.Time) error
	ServiceAccountByID(ctx context.Context, orgID, id string) (*storage.ServiceAccount, error)
	UserByID(ctx context.Context, id string) (*storage.User, error)
}

// Roles tells a user's current role in an organization (orgs.Service.Role
// over the cached store): orgs.ErrNotMember and orgs.ErrNoOrganization mean
// "not a member (any more)".
type Roles interface {
	Role(ctx context.Context, orgID, userID string) (string, error)
}

// DefaultFlushInterval is how often recorded key uses are written.
const DefaultFlushInterval = 5 * time.Second

// Config tunes a Verifier. Zero values take the defaults.
type Config struct {
	FlushInterval time.Duration
	Now           func() time.Time
	Logger        *slog.Logger
}

// Verifier turns an X-API-Key header into a principal.
//
// Bounds are the cached store's (docs/architecture.md, "Caches"): a key
// revoked on this replica is refused at once, on the others as soon as the
// invalidation arrives (milliseconds with Redis) and at the latest after the
// API-key cache's TTL; a creator's role change, removal or disabling, and a
// service account's deletion, within the role and user caches' bounds.
type Verifier struct {
	store VerifierStore
	roles Roles
	cfg   Config
	log   *slog.Logger

	// effective memoises Effective per key for its owner's current role:
	// a key's own role and permissions never change after creation, so an
	// entry needs no invalidation, only a bound and a check of the role.
	effective *cache.Cache[effective]

	touchMu sync.Mutex
	touched map[string]time.Time // key id → last use not yet written
}

type effective struct {
	ownerRole string
	rank      string
	perms     authz.Set
}

// NewVerifier returns a Verifier. Start its Run loop for last-use writes.
func NewVerifier(store VerifierStore, roles Roles, cfg Config) *Verifier {
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = DefaultFlushInterval
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Verifier{store: store, roles: roles, cfg: cfg, log: cfg.Logger, touched: make(map[string]time.Time),
		effective: cache.New[effective](cache.Config{Name: "api-key-permissions", TTL: time.Hour, Now: cfg.Now})}
}

// ErrBadKey is returned by Authenticate for every kind of bad key: wrong
// organization, revoked, expired, malformed, unknown, a creator no longer a
// member. Which one is for the debug log, never for the caller.
var ErrBadKey = errors.New("invalid API key")

// bad wraps ErrBadKey with the reason, which reaches the debug log only:
// every failure answers the client the same 401.
func bad(reason string) error { return fmt.Errorf("%w: %s", ErrBadKey, reason) }

// Authenticate returns the principal of an API key presented for orgID.
func (v *Verifier) Authenticate(ctx context.Context, key, orgID string) (*authz.Principal, error) {
	if err := Parse(key); err != nil {
		return nil, bad("malformed or bad checksum")
	}
	h := sha256.Sum256([]byte(key))
	k, err := v.store.APIKeyByHash(ctx, h[:])
	if errors.Is(err, storage.ErrNotFound) {
		return nil, bad("unknown key")
	}
	if err != nil {
		return nil, err
	}
	// The lookup found the record by this very hash, so the comparison cannot
	// fail today; it keeps the check explicit and constant-time should the
	// lookup ever become a prefix or id search.
	if subtle.ConstantTimeCompare(k.Hash, h[:]) != 1 {
		return nil, bad("hash mismatch")
	}
	if subtle.ConstantTimeCompare([]byte(k.OrganizationID), []byte(strings.ToLower(orgID))) != 1 {
		return nil, bad("organization mismatch")
	}
	now := v.cfg.Now()
	switch {
	case k.RevokedAt != nil:
		return nil, bad("revoked")
	case k.ExpiresAt != nil && !now.Before(*k.ExpiresAt):
		return nil, bad("expired")
	case k.RotationEndsAt != nil && !now.Before(*k.RotationEndsAt):
		return nil, bad("rotated, overlap ended")
	}
	ownerRole, err := v.ownerRole(ctx, k)
	if err != nil {
		return nil, err
	}
	eff, ok := v.effective.Peek(k.ID)
	if !ok || eff.ownerRole != ownerRole {
		eff.ownerRole = ownerRole
		eff.rank, eff.perms = Effective(k, ownerRole)
		v.effective.Put(k.ID, eff, time.Time{})
	}
	rank, perms := eff.rank, eff.perms
	v.touch(k.ID, now)
	p := &authz.Principal{
		Type:           authz.TypeAPIKey,
		ID:             k.ID,
		OrganizationID: k.OrganizationID,
		Role:           rank,
		Permissions:    perms,
		OwnerID:        k.CreatedBy,
	}
	if k.ServiceAccountID != nil {
		p.OwnerID = *k.ServiceAccountID
	}
	return p, nil
}

// ownerRole is the current role of whom the key acts for: its service
// account, or its creator, who must still be a member and not disabled.
func (v *Verifier) ownerRole(ctx context.Context, k *storage.APIKey) (string, error) {
	if k.ServiceAccountID != nil {
		sa, err := v.store.ServiceAccountByID(ctx, k.OrganizationID, *k.ServiceAccountID)
		if errors.Is(err, storage.ErrNotFound) {
			return "", bad("service account deleted")
		}
		if err != nil {
			return "", err
		}
		return sa.Role, nil
	}
	// A disabled creator's keys stop with the account.
	u, err := v.store.UserByID(ctx, k.CreatedBy)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && u.Disabled) {
		return "", bad("creator disabled or gone")
	}
	if err != nil {
		return "", err
	}
	role, err := v.roles.Role(ctx, k.OrganizationID, k.CreatedBy)
	if errors.Is(err, orgs.ErrNotMember) || errors.Is(err, orgs.ErrNoOrganization) {
		return "", bad("creator is no longer a member")
	}
	return role, err
}

// Effective is a key's permissions narrowed to what its owner (the creating
// user, or the service account) holds in ownerRole, and the key's rank: the
// weaker of the key's own role (or, for a key given permissions, the role
// they imply) and ownerRole. A demoted creator's keys lose power with them,
// and no key ever acts with more than it was given.
func Effective(k *storage.APIKey, ownerRole string) (rank string, perms authz.Set) {
	held := authz.ForRole(ownerRole)
	perms = make(authz.Set, len(k.Permissions))
	for _, p := range k.Permissions {
		if held.Has(p) {
			perms[p] = struct{}{}
		}
	}
	own := k.Role
	if own == "" {
		own = perms.ImpliedRole()
	}
	return authz.Weaker(own, ownerRole), perms
}
