package auth

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/storage"
)

// MembershipSource reads memberships and organizations.
type MembershipSource interface {
	Membership(ctx context.Context, orgID, userID string) (*storage.Membership, error)
	OrganizationByID(ctx context.Context, id string) (*storage.Organization, error)
}

// MembershipCache answers "which role does this user have here" from memory
// for MembershipTTL, so an authenticated request reads no database once warm.
// Changes made on this replica are seen at once (Forget); changes made on
// another replica within MembershipTTL.
type MembershipCache struct {
	source MembershipSource
	ttl    time.Duration
	now    func() time.Time
	max    int

	mu      sync.RWMutex
	entries map[[2]string]membershipEntry
}

// MembershipTTL bounds how long another replica's role change takes to apply.
const MembershipTTL = 5 * time.Second

type membershipEntry struct {
	role    string // "" if not a member
	expires time.Time
}

// NewMembershipCache caches memberships read from source.
func NewMembershipCache(source MembershipSource, now func() time.Time) *MembershipCache {
	if now == nil {
		now = time.Now
	}
	return &MembershipCache{source: source, ttl: MembershipTTL, now: now, max: 100_000, entries: map[[2]string]membershipEntry{}}
}

// Role returns the user's role in the organization, 403 when the user is not a
// member, 404 when the organization does not exist.
func (c *MembershipCache) Role(ctx context.Context, orgID, userID string) (string, error) {
	key := [2]string{orgID, userID}
	now := c.now()
	c.mu.RLock()
	e, ok := c.entries[key]
	c.mu.RUnlock()
	if !ok || now.After(e.expires) {
		m, err := c.source.Membership(ctx, orgID, userID)
		switch {
		case err == nil:
			e = membershipEntry{role: m.Role, expires: now.Add(c.ttl)}
		case errors.Is(err, storage.ErrNotFound):
			e = membershipEntry{expires: now.Add(c.ttl)}
		default:
			return "", err
		}
		c.mu.Lock()
		if len(c.entries) >= c.max {
			clear(c.entries) // crude but bounded; a cold cache only costs reads
		}
		c.entries[key] = e
		c.mu.Unlock()
	}
	if e.role != "" {
		return e.role, nil
	}
	if _, err := c.source.OrganizationByID(ctx, orgID); errors.Is(err, storage.ErrNotFound) {
		return "", httpapi.NotFound("Organization not found")
	} else if err != nil {
		return "", err
	}
	return "", httpapi.Forbidden("Not a member of this organization")
}

// Forget drops a cached membership after it changed on this replica.
func (c *MembershipCache) Forget(orgID, userID string) {
	c.mu.Lock()
	delete(c.entries, [2]string{orgID, userID})
	c.mu.Unlock()
}
