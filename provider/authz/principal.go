package authz

import (
	"context"
	"time"

	"github.com/arsaka/puguh/provider/problem"
)

// Principal types, as echoed by GET /api/v1/health.
const (
	TypeUser           = "user"
	TypeServiceAccount = "service_account"
	TypeAPIKey         = "api_key"
)

// Principal is who is calling and in which organization.
type Principal struct {
	Type           string // TypeUser, TypeServiceAccount or TypeAPIKey
	ID             string // user, service account or API key id
	OrganizationID string
	// Role is the principal's rank: a user's role in the organization, a
	// service account's role, or for an API key the weaker of the key's own
	// role (or, for a key given permissions, the role they imply) and the
	// current role of the user or service account it acts for. It bounds the
	// roles the principal may hand out (authz.MayGrant); it is never a key
	// creator's own rank. Empty: the principal may grant no role at all.
	Role        string
	Permissions Set
	// For API keys: the user who created the key, or its service account.
	OwnerID string

	// Set for Bearer tokens, for logout.
	TokenID   string
	FamilyID  string
	ExpiresAt time.Time
	// OrganizationFromToken is the organization the token was issued for.
	OrganizationFromToken string
}

// MayGrant reports whether the principal may hand out role, or manage
// someone who holds it (authz.MayGrant on its own rank and permissions).
func (p *Principal) MayGrant(role string) bool {
	return p != nil && MayGrant(p.Role, p.Permissions, role)
}

// IsUser reports whether a human user is calling with a Bearer token.
func (p *Principal) IsUser() bool { return p.Type == TypeUser }

// Require is the Forbidden problem "Missing permission: perm" unless p
// holds perm.
func (p *Principal) Require(perm string) error {
	if p == nil || !p.Permissions.Has(perm) {
		return problem.MissingPermission(perm)
	}
	return nil
}

type ctxKey struct{}

// WithPrincipal stores p in ctx.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the request's principal, or nil when unauthenticated.
func FromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(ctxKey{}).(*Principal)
	return p
}
