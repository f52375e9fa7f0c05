// Package auth authenticates REST API requests: a Bearer JWT (a user, or a
// service account through client_credentials) or an API key, and the
// organization the request acts in. Handlers read the resulting Principal
// from the context and name the permission they need.
package auth

import (
	"context"
	"time"

	"github.com/arsaka/puguh/authz"
	"github.com/arsaka/puguh/provider/httpapi"
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
	Role           string // empty for API keys, which hold explicit permissions
	Permissions    authz.Set
	// For API keys: the user who created the key, or its service account, and
	// that owner's current role, which bounds the roles the key may hand out.
	OwnerID   string
	OwnerRole string

	// Set for Bearer tokens, for logout.
	TokenID   string
	FamilyID  string
	ExpiresAt time.Time
	// OrganizationFromToken is the organization the token was issued for.
	OrganizationFromToken string
}

// RankRole is the role that bounds which roles this principal may grant or
// manage: its own, or for an API key its owner's.
func (p *Principal) RankRole() string {
	if p.Role != "" {
		return p.Role
	}
	return p.OwnerRole
}

// IsUser reports whether a human user is calling with a Bearer token.
func (p *Principal) IsUser() bool { return p.Type == TypeUser }

// Require returns 403 "Missing permission: perm" unless p holds perm.
func (p *Principal) Require(perm string) error {
	if p == nil || !p.Permissions.Has(perm) {
		return httpapi.MissingPermission(perm)
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
