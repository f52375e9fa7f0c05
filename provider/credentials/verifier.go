package credentials

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/arsaka/puguh/provider/auth"
	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/storage"
)

// Store is what the Verifier reads and writes.
type Store interface {
	APIKeyByHash(ctx context.Context, hash []byte) (*storage.APIKey, error)
	TouchAPIKeys(ctx context.Context, lastUsed map[string]time.Time) error
	ServiceAccountByID(ctx context.Context, orgID, id string) (*storage.ServiceAccount, error)
	// UserByID finds a key's creator; hand the verifier the user cache, so a
	// warm request reads no database.
	UserByID(ctx context.Context, id string) (*storage.User, error)
}

// Roles tells a user's current role in an organization; auth.MembershipCache
// answers from memory and is evicted on the replica where a role changes. Its
// 403 and 404 errors mean "not a member (any more)".
type Roles interface {
	Role(ctx context.Context, orgID, userID string) (string, error)
}

// Defaults of Config.
const (
	// DefaultTTL bounds how long another replica may still accept a revoked key
	// when Redis is not configured (or its message is lost).
	DefaultTTL           = 10 * time.Second
	DefaultMaxEntries    = 10_000
	DefaultFlushInterval = 5 * time.Second
)

// Config tunes a Verifier. Zero values take the defaults.
type Config struct {
	TTL           time.Duration
	MaxEntries    int
	FlushInterval time.Duration
	Now           func() time.Time
	Logger        *slog.Logger
	// Redis, when set, carries evictions to every replica at once (pub/sub).
	Redis *redis.Client
	// Namespace separates deployments sharing one Redis, e.g. "puguh:".
	Namespace string
}

// Verifier implements auth.APIKeys.
//
// Bounds: a key revoked on this replica is refused by it at once (the entry is
// evicted before the DELETE answers). Other replicas refuse it as soon as the
// Redis message arrives (milliseconds), and at the latest after TTL when Redis
// is absent or unreachable. A creator's role change applies within
// auth.MembershipTTL on other replicas, at once on the replica that made it.
type Verifier struct {
	store Store
	roles Roles
	cfg   Config
	log   *slog.Logger
	topic string

	mu      sync.RWMutex
	entries map[[sha256.Size]byte]*entry
	// gen is bumped by every eviction. A lookup that read the database before
	// an eviction does not store its (possibly stale) answer.
	gen uint64

	touchMu sync.Mutex
	touched map[string]time.Time // key id → last use not yet written

	accountDeleted func(orgID, id string)
}

var _ auth.APIKeys = (*Verifier)(nil)

// entry is one cached key record. It is never modified after it is stored,
// except for the atomic memo of its effective permissions.
type entry struct {
	key     *storage.APIKey
	expires time.Time
	// For a service account's key: the account's role, or gone when it no
	// longer exists. A user's key resolves its creator's role on every use.
	accountRole string
	accountGone bool
	effective   atomic.Pointer[rolePermissions]
}

// rolePermissions memoises the key's permissions and rank for one role of its
// owner, so that a warm request allocates nothing for the intersection.
type rolePermissions struct {
	ownerRole string
	rank      string
	perms     authz.Set
}

// NewVerifier returns a Verifier. Start its Run loop for last-use writes and
// cross-replica evictions.
func NewVerifier(store Store, roles Roles, cfg Config) *Verifier {
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = DefaultMaxEntries
	}
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = DefaultFlushInterval
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Verifier{
		store: store, roles: roles, cfg: cfg, log: cfg.Logger,
		topic:   cfg.Namespace + "apikeys:evict",
		entries: make(map[[sha256.Size]byte]*entry),
		touched: make(map[string]time.Time),
	}
}

// OnServiceAccountDeleted installs f, called when a service account is
// deleted on this replica or (through Redis) on another, so that the Bearer
// middleware forgets the account too.
func (v *Verifier) OnServiceAccountDeleted(f func(orgID, id string)) { v.accountDeleted = f }

// bad wraps auth.ErrBadAPIKey with the reason, which reaches the debug log
// only: every failure answers the client the same 401.
func bad(reason string) error { return fmt.Errorf("%w: %s", auth.ErrBadAPIKey, reason) }

// Authenticate implements auth.APIKeys.
func (v *Verifier) Authenticate(ctx context.Context, key, orgID string) (*authz.Principal, error) {
	if err := Parse(key); err != nil {
		return nil, bad("malformed or bad checksum")
	}
	h := sha256.Sum256([]byte(key))
	e, err := v.lookup(ctx, h)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, bad("unknown key")
	}
	if err != nil {
		return nil, err
	}
	// The lookup found the record by this very hash, so the comparison cannot
	// fail today; it keeps the check explicit and constant-time should the
	// lookup ever become a prefix or id search.
	if subtle.ConstantTimeCompare(e.key.Hash, h[:]) != 1 {
		return nil, bad("hash mismatch")
	}
	k := e.key
	if subtle.ConstantTimeCompare([]byte(k.OrganizationID), []byte(strings.ToLower(orgID))) != 1 {
		return nil, bad("organization mismatch")
	}
	now := v.cfg.Now()
	switch {
	case k.RevokedAt != nil:
		return nil, bad("revoked")
	case k.ExpiresAt != nil && !now.Before(*k.ExpiresAt):
		return nil, bad("expired")
	}
	eff, err := v.permissions(ctx, e)
	if err != nil {
		return nil, err
	}
	v.touch(k.ID, now)
	p := &authz.Principal{
		Type:           authz.TypeAPIKey,
		ID:             k.ID,
		OrganizationID: k.OrganizationID,
		Role:           eff.rank,
		Permissions:    eff.perms,
		OwnerID:        k.CreatedBy,
	}
	if k.ServiceAccountID != nil {
		p.OwnerID = *k.ServiceAccountID
	}
	return p, nil
}

// permissions is the key's stored permissions narrowed to what its owner
// (the creating user, or the service account) holds now, and the key's rank:
// the weaker of the key's own role and the owner's. A demoted creator's keys
// lose power with them, a creator who left the organization leaves dead keys
// behind, and no key ever acts with more than it was given.
func (v *Verifier) permissions(ctx context.Context, e *entry) (*rolePermissions, error) {
	role := e.accountRole
	switch {
	case e.key.ServiceAccountID != nil && e.accountGone:
		return nil, bad("service account deleted")
	case e.key.ServiceAccountID == nil:
		// A disabled creator's keys stop with the account.
		u, err := v.store.UserByID(ctx, e.key.CreatedBy)
		if errors.Is(err, storage.ErrNotFound) || (err == nil && u.Disabled) {
			return nil, bad("creator disabled or gone")
		}
		if err != nil {
			return nil, err
		}
		r, err := v.roles.Role(ctx, e.key.OrganizationID, e.key.CreatedBy)
		var he *httpapi.Error
		if errors.As(err, &he) && (he.Status == http.StatusForbidden || he.Status == http.StatusNotFound) {
			return nil, bad("creator is no longer a member")
		}
		if err != nil {
			return nil, err
		}
		role = r
	}
	if m := e.effective.Load(); m != nil && m.ownerRole == role {
		return m, nil
	}
	held := authz.ForRole(role)
	perms := make(authz.Set, len(e.key.Permissions))
	for _, p := range e.key.Permissions {
		if held.Has(p) {
			perms[p] = struct{}{}
		}
	}
	own := e.key.Role
	if own == "" {
		own = perms.ImpliedRole()
	}
	m := &rolePermissions{ownerRole: role, rank: authz.Weaker(own, role), perms: perms}
	e.effective.Store(m)
	return m, nil
}

// lookup returns the key record with this hash, from the cache when fresh.
func (v *Verifier) lookup(ctx context.Context, h [sha256.Size]byte) (*entry, error) {
	now := v.cfg.Now()
	v.mu.RLock()
	e, gen := v.entries[h], v.gen
	v.mu.RUnlock()
	if e != nil && now.Before(e.expires) {
		return e, nil
	}
	k, err := v.store.APIKeyByHash(ctx, h[:])
	if err != nil {
		return nil, err
	}
	e = &entry{key: k, expires: now.Add(v.cfg.TTL)}
	if k.ServiceAccountID != nil && k.RevokedAt == nil {
		sa, err := v.store.ServiceAccountByID(ctx, k.OrganizationID, *k.ServiceAccountID)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			e.accountGone = true
		case err != nil:
			return nil, err
		default:
			e.accountRole = sa.Role
		}
	}
	v.mu.Lock()
	if v.gen == gen {
		if len(v.entries) >= v.cfg.MaxEntries {
			v.shrinkLocked(now)
		}
		v.entries[h] = e
	}
	v.mu.Unlock()
	return e, nil
}

// shrinkLocked makes room: expired entries first, then arbitrary ones (Go's
// map order is randomised) down to 90% of the cap. A miss only costs a read.
func (v *Verifier) shrinkLocked(now time.Time) {
	for h, e := range v.entries {
		if !now.Before(e.expires) {
			delete(v.entries, h)
		}
	}
	for h := range v.entries {
		if len(v.entries) < v.cfg.MaxEntries*9/10 {
			break
		}
		delete(v.entries, h)
	}
}

// Len is the number of cached keys.
func (v *Verifier) Len() int {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return len(v.entries)
}
