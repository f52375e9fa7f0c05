// Package cached is the SQL store with the lookups of the request hot paths
// served from memory: users by id, OAuth clients (applications and service
// accounts), API keys by hash, service accounts by id, memberships and
// organizations. It is the one store the composition root hands to every
// component, so no write can bypass the caches: every method that writes a
// cached row invalidates it here before it returns and, through the cache
// Bus, on every other replica (TestEveryCachedWriteInvalidates holds this).
//
// Bounds (docs/architecture.md, "Caches"): a change is seen at once on the
// replica that made it, within milliseconds on the others with Redis, and
// within the cache's TTL without it (or for a row changed behind Puguh's
// back). Values handed out are copies of the cached ones; the slices inside
// them are shared and must not be changed in place.
package cached

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/arsaka/puguh/storage"
	"github.com/arsaka/puguh/storage/cache"
	"github.com/arsaka/puguh/storage/sqlstore"
)

// TTLs: how long another replica may serve a value after it changed when no
// invalidation reaches it (no Redis, or a lost message).
const (
	// UserTTL bounds a changed profile, password or disabled flag.
	UserTTL = 30 * time.Second
	// ClientTTL bounds a changed or deleted OAuth client (an application's
	// redirect URIs or secret, a deleted service account's credentials).
	ClientTTL = 30 * time.Second
	// ClientMissTTL bounds how long a client that did not exist yet is
	// answered "not found" after it was created on another replica.
	ClientMissTTL = 5 * time.Second
	// APIKeyTTL bounds a revoked API key.
	APIKeyTTL = 10 * time.Second
	// RoleTTL bounds a membership change (a removed member, a new role) and a
	// deleted service account's Bearer tokens.
	RoleTTL = 5 * time.Second
	// OrganizationTTL bounds a plan change.
	OrganizationTTL = 5 * time.Second
)

// maxKeyLength: longer keys are passed through uncached, so that nobody can
// fill a cache with large keys (the lookups refuse them anyway).
const maxKeyLength = 256

// Config tunes the caches.
type Config struct {
	// Bus carries invalidations to the other replicas; nil without Redis.
	Bus *cache.Bus
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Store is sqlstore.Store with cached lookups. Every method of the SQL store
// is available; those that read or write a cached row are overridden here.
type Store struct {
	*sqlstore.Store

	users         *cache.Cache[storage.User]
	applications  *cache.Cache[storage.Application]
	accountsByCID *cache.Cache[storage.ServiceAccount]
	accountsByID  *cache.Cache[storage.ServiceAccount]
	apiKeys       *cache.Cache[*storage.APIKey]
	memberships   *cache.Cache[storage.Membership]
	organizations *cache.Cache[storage.Organization]
}

// New decorates base.
func New(base *sqlstore.Store, cfg Config) *Store {
	c := func(name string, ttl, miss time.Duration, maxEntries int) cache.Config {
		return cache.Config{Name: name, TTL: ttl, MissTTL: miss, MaxEntries: maxEntries, Now: cfg.Now, Bus: cfg.Bus}
	}
	return &Store{
		Store:         base,
		users:         cache.New[storage.User](c("users", UserTTL, 0, 10_000)),
		applications:  cache.New[storage.Application](c("applications", ClientTTL, ClientMissTTL, 10_000)),
		accountsByCID: cache.New[storage.ServiceAccount](c("service-accounts-by-client", ClientTTL, ClientMissTTL, 10_000)),
		accountsByID:  cache.New[storage.ServiceAccount](c("service-accounts", RoleTTL, RoleTTL, 10_000)),
		apiKeys:       cache.New[*storage.APIKey](c("api-keys", APIKeyTTL, 0, 10_000)),
		memberships:   cache.New[storage.Membership](c("memberships", RoleTTL, RoleTTL, 100_000)),
		organizations: cache.New[storage.Organization](c("organizations", OrganizationTTL, 0, 100_000)),
	}
}

// get reads key from c through load, answering ErrNotFound for an absent
// value (cached or not, as c's MissTTL says) and a copy of a found one.
func get[V any](ctx context.Context, c *cache.Cache[V], key string, load func(context.Context) (*V, error)) (*V, error) {
	if len(key) > maxKeyLength {
		return load(ctx)
	}
	v, found, err := c.Get(ctx, key, func(ctx context.Context) (V, bool, error) {
		p, err := load(ctx)
		var zero V
		switch {
		case errors.Is(err, storage.ErrNotFound):
			return zero, false, nil
		case err != nil:
			return zero, false, err
		}
		return *p, true, nil
	})
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("cached: %w", storage.ErrNotFound)
	}
	return &v, nil
}

func pair(a, b string) string { return a + "/" + b }

// Users.

// UserByID answers from the cache; a missing user is not cached.
func (s *Store) UserByID(ctx context.Context, id string) (*storage.User, error) {
	return get(ctx, s.users, id, func(ctx context.Context) (*storage.User, error) { return s.Store.UserByID(ctx, id) })
}

// UpdateUserProfile writes, then invalidates the user.
func (s *Store) UpdateUserProfile(ctx context.Context, id, fullName string) error {
	defer s.users.Invalidate(ctx, id)
	return s.Store.UpdateUserProfile(ctx, id, fullName)
}

// UpdateUserPassword writes, then invalidates the user.
func (s *Store) UpdateUserPassword(ctx context.Context, id, passwordHash string) error {
	defer s.users.Invalidate(ctx, id)
	return s.Store.UpdateUserPassword(ctx, id, passwordHash)
}

// SetEmailVerified writes, then invalidates the user.
func (s *Store) SetEmailVerified(ctx context.Context, userID, email string, at time.Time) error {
	defer s.users.Invalidate(ctx, userID)
	return s.Store.SetEmailVerified(ctx, userID, email, at)
}

// ChangeUserEmail writes, then invalidates the user.
func (s *Store) ChangeUserEmail(ctx context.Context, userID, email string, at time.Time) error {
	defer s.users.Invalidate(ctx, userID)
	return s.Store.ChangeUserEmail(ctx, userID, email, at)
}

// SetUserDisabled writes, then invalidates the user.
func (s *Store) SetUserDisabled(ctx context.Context, id string, disabled bool) error {
	defer s.users.Invalidate(ctx, id)
	return s.Store.SetUserDisabled(ctx, id, disabled)
}

// Register creates the user with its personal organization, then
// invalidates the owner membership it made.
func (s *Store) Register(ctx context.Context, u *storage.User, personal *storage.Organization) error {
	defer s.memberships.Invalidate(ctx, pair(personal.ID, u.ID))
	return s.Store.Register(ctx, u, personal)
}

// Organizations and memberships.

// OrganizationByID answers from the cache; a missing organization is not cached.
func (s *Store) OrganizationByID(ctx context.Context, id string) (*storage.Organization, error) {
	return get(ctx, s.organizations, id, func(ctx context.Context) (*storage.Organization, error) {
		return s.Store.OrganizationByID(ctx, id)
	})
}

// CreateOrganization writes, then invalidates the owner membership it made.
func (s *Store) CreateOrganization(ctx context.Context, org *storage.Organization, ownerUserID string) error {
	defer s.memberships.Invalidate(ctx, pair(org.ID, ownerUserID))
	defer s.organizations.Invalidate(ctx, org.ID)
	return s.Store.CreateOrganization(ctx, org, ownerUserID)
}

// SetPlan writes, then invalidates the organization.
func (s *Store) SetPlan(ctx context.Context, orgID, plan string, rateLimit int) error {
	defer s.organizations.Invalidate(ctx, orgID)
	return s.Store.SetPlan(ctx, orgID, plan, rateLimit)
}

// Membership answers from the cache, "not a member" included.
func (s *Store) Membership(ctx context.Context, orgID, userID string) (*storage.Membership, error) {
	return get(ctx, s.memberships, pair(orgID, userID), func(ctx context.Context) (*storage.Membership, error) {
		return s.Store.Membership(ctx, orgID, userID)
	})
}

// AddMember writes, then invalidates the membership.
func (s *Store) AddMember(ctx context.Context, m *storage.Membership) error {
	defer s.memberships.Invalidate(ctx, pair(m.OrganizationID, m.UserID))
	return s.Store.AddMember(ctx, m)
}

// AcceptInvitation adds the member, then invalidates the membership.
func (s *Store) AcceptInvitation(ctx context.Context, id string, m *storage.Membership, at time.Time) error {
	defer s.memberships.Invalidate(ctx, pair(m.OrganizationID, m.UserID))
	return s.Store.AcceptInvitation(ctx, id, m, at)
}

// UpdateMemberRole writes, then invalidates the membership.
func (s *Store) UpdateMemberRole(ctx context.Context, orgID, userID, role string) error {
	defer s.memberships.Invalidate(ctx, pair(orgID, userID))
	return s.Store.UpdateMemberRole(ctx, orgID, userID, role)
}

// RemoveMember writes, then invalidates the membership.
func (s *Store) RemoveMember(ctx context.Context, orgID, userID string) error {
	defer s.memberships.Invalidate(ctx, pair(orgID, userID))
	return s.Store.RemoveMember(ctx, orgID, userID)
}

// OAuth clients.

// ApplicationByID answers from the cache, "not found" included for a while.
func (s *Store) ApplicationByID(ctx context.Context, id string) (*storage.Application, error) {
	return get(ctx, s.applications, id, func(ctx context.Context) (*storage.Application, error) {
		return s.Store.ApplicationByID(ctx, id)
	})
}

// CreateApplication writes, then invalidates a cached "not found".
func (s *Store) CreateApplication(ctx context.Context, a *storage.Application) error {
	defer s.applications.Invalidate(ctx, a.ID)
	return s.Store.CreateApplication(ctx, a)
}

// UpdateApplication writes, then invalidates the application.
func (s *Store) UpdateApplication(ctx context.Context, a *storage.Application) error {
	defer s.applications.Invalidate(ctx, a.ID)
	return s.Store.UpdateApplication(ctx, a)
}

// DeleteApplication deletes, then invalidates the application.
func (s *Store) DeleteApplication(ctx context.Context, orgID, id string) error {
	defer s.applications.Invalidate(ctx, id)
	return s.Store.DeleteApplication(ctx, orgID, id)
}

// ServiceAccountByClientID answers from the cache, "not found" included for a while.
func (s *Store) ServiceAccountByClientID(ctx context.Context, clientID string) (*storage.ServiceAccount, error) {
	return get(ctx, s.accountsByCID, clientID, func(ctx context.Context) (*storage.ServiceAccount, error) {
		return s.Store.ServiceAccountByClientID(ctx, clientID)
	})
}

// ServiceAccountByID answers from the cache, "not found" (a deleted account) included.
func (s *Store) ServiceAccountByID(ctx context.Context, orgID, id string) (*storage.ServiceAccount, error) {
	return get(ctx, s.accountsByID, pair(orgID, id), func(ctx context.Context) (*storage.ServiceAccount, error) {
		return s.Store.ServiceAccountByID(ctx, orgID, id)
	})
}

// CreateServiceAccount writes, then invalidates cached "not found" answers.
func (s *Store) CreateServiceAccount(ctx context.Context, sa *storage.ServiceAccount) error {
	defer s.accountsByCID.Invalidate(ctx, sa.ClientID)
	defer s.accountsByID.Invalidate(ctx, pair(sa.OrganizationID, sa.ID))
	return s.Store.CreateServiceAccount(ctx, sa)
}

// DeleteServiceAccount deletes the account and revokes its keys, then
// invalidates the account (by id and by client id) and each of its keys.
func (s *Store) DeleteServiceAccount(ctx context.Context, orgID, id string, at time.Time) error {
	sa, err := s.Store.ServiceAccountByID(ctx, orgID, id)
	if err != nil {
		return err
	}
	keys, err := s.Store.ListAPIKeys(ctx, orgID)
	if err != nil {
		return err
	}
	var hashes []string
	for _, k := range keys {
		if k.ServiceAccountID != nil && *k.ServiceAccountID == id {
			hashes = append(hashes, hex.EncodeToString(k.Hash))
		}
	}
	defer func() {
		s.accountsByID.Invalidate(ctx, pair(orgID, id))
		s.accountsByCID.Invalidate(ctx, sa.ClientID)
		s.apiKeys.Invalidate(ctx, hashes...)
	}()
	return s.Store.DeleteServiceAccount(ctx, orgID, id, at)
}

// API keys.

// APIKeyByHash answers from the cache; an unknown key is not cached (the
// checksum keeps random guesses away from the database). It runs on every
// API-key request, so it hands out the cached record itself rather than a
// copy: its one reader, the API-key verifier, never changes it.
func (s *Store) APIKeyByHash(ctx context.Context, hash []byte) (*storage.APIKey, error) {
	k, found, err := s.apiKeys.Get(ctx, hex.EncodeToString(hash), func(ctx context.Context) (*storage.APIKey, bool, error) {
		k, err := s.Store.APIKeyByHash(ctx, hash)
		if errors.Is(err, storage.ErrNotFound) {
			return nil, false, nil
		}
		return k, err == nil, err
	})
	switch {
	case err != nil:
		return nil, err
	case !found:
		return nil, fmt.Errorf("cached: api key: %w", storage.ErrNotFound)
	}
	return k, nil
}

// RevokeAPIKey revokes, then invalidates the key.
func (s *Store) RevokeAPIKey(ctx context.Context, orgID, id string, at time.Time) error {
	k, err := s.Store.APIKeyByID(ctx, orgID, id)
	if err != nil {
		return err
	}
	defer s.apiKeys.Invalidate(ctx, hex.EncodeToString(k.Hash))
	return s.Store.RevokeAPIKey(ctx, orgID, id, at)
}

// RotateAPIKey rotates, then invalidates the old key (its record now names
// its successor and when it stops working).
func (s *Store) RotateAPIKey(ctx context.Context, orgID, oldID string, next *storage.APIKey, endsAt time.Time) error {
	k, err := s.Store.APIKeyByID(ctx, orgID, oldID)
	if err != nil {
		return err
	}
	defer s.apiKeys.Invalidate(ctx, hex.EncodeToString(k.Hash))
	return s.Store.RotateAPIKey(ctx, orgID, oldID, next, endsAt)
}

// RotateServiceAccountSecret rotates, then invalidates the account by id and
// by client id.
func (s *Store) RotateServiceAccountSecret(ctx context.Context, orgID, id string, newHash []byte, at, endsAt time.Time) error {
	sa, err := s.Store.ServiceAccountByID(ctx, orgID, id)
	if err != nil {
		return err
	}
	defer func() {
		s.accountsByID.Invalidate(ctx, pair(orgID, id))
		s.accountsByCID.Invalidate(ctx, sa.ClientID)
	}()
	return s.Store.RotateServiceAccountSecret(ctx, orgID, id, newHash, at, endsAt)
}
