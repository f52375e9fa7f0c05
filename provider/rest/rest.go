// Package rest serves Puguh's REST API under /api/v1: identity (register,
// login, refresh, logout), organizations and their members, IAM users, API
// keys, service accounts and applications. Each area is a small struct with a
// Mount method; every handler names the permission it needs.
package rest

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/storage"
)

// principal returns the authenticated caller; the auth middleware guarantees one.
func principal(r *http.Request) *authz.Principal {
	return authz.FromContext(r.Context())
}

// pathID reads a UUID path variable, 422 when malformed.
func pathID(r *http.Request, name string) (string, error) {
	v := mux.Vars(r)[name]
	if _, err := uuid.Parse(v); err != nil || len(v) != 36 {
		return "", httpapi.Invalid(httpapi.Issue{Loc: []any{"path", name}, Msg: "value is not a valid uuid", Type: "type_error.uuid"})
	}
	return strings.ToLower(v), nil
}

// RoleSource tells a user's role in an organization (see auth.MembershipCache).
type RoleSource interface {
	Role(ctx context.Context, orgID, userID string) (string, error)
	Forget(orgID, userID string)
}

// principalIn is the caller as seen in orgID, for endpoints that name an
// organization in their path. Users act with their role there; API keys and
// service accounts exist in one organization only, and any other is 404 to
// them, so a key cannot even learn which organizations exist (docs/security.md, "Tenant isolation").
func principalIn(ctx context.Context, roles RoleSource, p *authz.Principal, orgID string) (*authz.Principal, error) {
	if p.OrganizationID == orgID {
		return p, nil
	}
	if !p.IsUser() {
		return nil, httpapi.NotFound("Organization not found")
	}
	role, err := roles.Role(ctx, orgID, p.ID)
	if err != nil {
		return nil, err
	}
	q := *p
	q.OrganizationID, q.Role, q.Permissions = orgID, role, authz.ForRole(role)
	return &q, nil
}

// notFoundAs turns storage.ErrNotFound into a 404 with detail.
func notFoundAs(err error, detail string) error {
	if errors.Is(err, storage.ErrNotFound) {
		return httpapi.NotFound(detail)
	}
	return err
}
