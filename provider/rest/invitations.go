package rest

import (
	"context"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/arsaka/puguh/provider/auth"
	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/provider/orgs"
	"github.com/arsaka/puguh/storage"
)

// Invitations is the invitation rules (orgs.Invitations).
type Invitations interface {
	Invite(ctx context.Context, p *authz.Principal, orgID string, email, role *string) (*storage.Invitation, error)
	Pending(ctx context.Context, p *authz.Principal, orgID string, page storage.Page) ([]storage.Invitation, error)
	Revoke(ctx context.Context, p *authz.Principal, orgID, id string) error
	Accept(ctx context.Context, userID, token string) (*orgs.Invitation, error)
}

// InvitationAPI serves /api/v1/organizations/{id}/invitations… and
// POST /api/v1/invitations/accept.
type InvitationAPI struct {
	Invitations Invitations
	Auth        *auth.Authenticator
	Cursors     *Cursors
	MaxBody     int64
}

// Mount registers the routes.
func (a *InvitationAPI) Mount(r *mux.Router) {
	h := func(f httpapi.HandlerFunc) http.Handler { return a.Auth.Required(f) }
	r.Handle("/api/v1/organizations/{id}/invitations", h(a.list)).Methods(http.MethodGet)
	r.Handle("/api/v1/organizations/{id}/invitations", h(a.create)).Methods(http.MethodPost)
	r.Handle("/api/v1/organizations/{id}/invitations/{invitation_id}", h(a.revoke)).Methods(http.MethodDelete)
	r.Handle("/api/v1/invitations/accept", h(a.accept)).Methods(http.MethodPost)
}

type invitationJSON struct {
	ID             string    `json:"id"`
	OrganizationID string    `json:"organization_id"`
	Email          string    `json:"email"`
	Role           string    `json:"role"`
	Status         string    `json:"status"`
	InvitedByType  string    `json:"invited_by_type"`
	InvitedByID    string    `json:"invited_by_id"`
	CreatedAt      time.Time `json:"created_at"`
	ExpiresAt      time.Time `json:"expires_at"`
}

func toInvitationJSON(i *storage.Invitation) invitationJSON {
	return invitationJSON{ID: i.ID, OrganizationID: i.OrganizationID, Email: i.Email, Role: i.Role, Status: i.Status,
		InvitedByType: i.InvitedByType, InvitedByID: i.InvitedByID, CreatedAt: i.CreatedAt, ExpiresAt: i.ExpiresAt}
}

type createInvitationRequest struct {
	Email *string `json:"email"`
	Role  *string `json:"role"`
}

func (a *InvitationAPI) create(w http.ResponseWriter, r *http.Request) error {
	orgID, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req createInvitationRequest
	if err := httpapi.DecodeJSON(w, r, a.MaxBody, &req); err != nil {
		return err
	}
	inv, err := a.Invitations.Invite(r.Context(), principal(r), orgID, req.Email, req.Role)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, toInvitationJSON(inv))
	return nil
}

// list pages through the pending invitations with limit and cursor, the
// cursor bound to the organization.
func (a *InvitationAPI) list(w http.ResponseWriter, r *http.Request) error {
	orgID, err := pathID(r, "id")
	if err != nil {
		return err
	}
	page, err := a.Cursors.PageFrom(r, "invitations\x00"+orgID)
	if err != nil {
		return err
	}
	list, err := a.Invitations.Pending(r.Context(), principal(r), orgID, storage.Page{After: page.After, Limit: page.Limit + 1})
	if err != nil {
		return err
	}
	resp := listResponse[invitationJSON]{Items: []invitationJSON{}}
	if len(list) > page.Limit {
		list = list[:page.Limit]
		next := a.Cursors.Next("invitations\x00"+orgID, list[len(list)-1].ID)
		resp.NextCursor = &next
	}
	for i := range list {
		resp.Items = append(resp.Items, toInvitationJSON(&list[i]))
	}
	httpapi.WriteJSON(w, http.StatusOK, resp)
	return nil
}

func (a *InvitationAPI) revoke(w http.ResponseWriter, r *http.Request) error {
	orgID, err := pathID(r, "id")
	if err != nil {
		return err
	}
	id, err := pathID(r, "invitation_id")
	if err != nil {
		return err
	}
	if err := a.Invitations.Revoke(r.Context(), principal(r), orgID, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type acceptInvitationRequest struct {
	Token *string `json:"token"`
}

// accept makes the calling user a member; only people accept invitations.
func (a *InvitationAPI) accept(w http.ResponseWriter, r *http.Request) error {
	var req acceptInvitationRequest
	if err := httpapi.DecodeJSON(w, r, a.MaxBody, &req); err != nil {
		return err
	}
	if req.Token == nil {
		return httpapi.Invalid(httpapi.Issue{Loc: []any{"body", "token"}, Msg: "field required", Type: "value_error.missing"})
	}
	p := principal(r)
	if !p.IsUser() {
		return httpapi.Forbidden("Only users can accept invitations")
	}
	inv, err := a.Invitations.Accept(r.Context(), p.ID, *req.Token)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, orgJSON(&inv.Organization, inv.Role))
	return nil
}
