package rest

import (
	"context"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/arsaka/puguh/provider/auth"
	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/storage"
)

// Organizations is the organization and membership rules (orgs.Service).
type Organizations interface {
	List(ctx context.Context, p *authz.Principal) ([]storage.UserOrganization, error)
	Create(ctx context.Context, p *authz.Principal, name *string) (*storage.Organization, error)
	Get(ctx context.Context, p *authz.Principal, orgID string) (*storage.Organization, string, error)
	Members(ctx context.Context, p *authz.Principal, orgID string, page storage.Page) ([]storage.Member, error)
	Users(ctx context.Context, p *authz.Principal, page storage.Page) ([]storage.Member, error)
	AddMember(ctx context.Context, p *authz.Principal, orgID string, email, role *string) (*storage.Member, error)
	ChangeRole(ctx context.Context, p *authz.Principal, orgID, userID string, role *string) (*storage.Member, error)
	RemoveMember(ctx context.Context, p *authz.Principal, orgID, userID string) error
}

// UserLookup reads a user's profile.
type UserLookup interface {
	UserByID(ctx context.Context, id string) (*storage.User, error)
}

// OrganizationAPI serves /api/v1/organizations and /api/v1/iam/users.
type OrganizationAPI struct {
	Orgs    Organizations
	Users   UserLookup
	Auth    *auth.Authenticator
	Cursors *Cursors
	MaxBody int64
}

// Mount registers the routes.
func (a *OrganizationAPI) Mount(r *mux.Router) {
	h := func(f httpapi.HandlerFunc) http.Handler { return a.Auth.Required(f) }
	r.Handle("/api/v1/organizations", h(a.list)).Methods(http.MethodGet)
	r.Handle("/api/v1/organizations", h(a.create)).Methods(http.MethodPost)
	r.Handle("/api/v1/organizations/{id}", h(a.get)).Methods(http.MethodGet)
	r.Handle("/api/v1/organizations/{id}/members", h(a.listMembers)).Methods(http.MethodGet)
	r.Handle("/api/v1/organizations/{id}/members", h(a.addMember)).Methods(http.MethodPost)
	r.Handle("/api/v1/organizations/{id}/members/{user_id}", h(a.updateMember)).Methods(http.MethodPatch)
	r.Handle("/api/v1/organizations/{id}/members/{user_id}", h(a.removeMember)).Methods(http.MethodDelete)
	r.Handle("/api/v1/iam/users", h(a.listUsers)).Methods(http.MethodGet)
	r.Handle("/api/v1/iam/users/me", h(a.me)).Methods(http.MethodGet)
}

type organizationJSON struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Plan      string    `json:"plan"`
	Personal  bool      `json:"personal"`
	Role      string    `json:"role,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

func orgJSON(o *storage.Organization, role string) organizationJSON {
	return organizationJSON{ID: o.ID, Name: o.Name, Plan: o.Plan, Personal: o.Personal, Role: role, CreatedAt: o.CreatedAt}
}

type listResponse[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor,omitempty"`
}

// list answers the caller's organizations: every one a user belongs to, or
// the one organization of an API key or service account.
func (a *OrganizationAPI) list(w http.ResponseWriter, r *http.Request) error {
	orgs, err := a.Orgs.List(r.Context(), principal(r))
	if err != nil {
		return err
	}
	items := make([]organizationJSON, 0, len(orgs))
	for i := range orgs {
		items = append(items, orgJSON(&orgs[i].Organization, orgs[i].Role))
	}
	httpapi.WriteJSON(w, http.StatusOK, listResponse[organizationJSON]{Items: items})
	return nil
}

type createOrganizationRequest struct {
	Name *string `json:"name"`
}

func (a *OrganizationAPI) create(w http.ResponseWriter, r *http.Request) error {
	var req createOrganizationRequest
	if err := httpapi.DecodeJSON(w, r, a.MaxBody, &req); err != nil {
		return err
	}
	org, err := a.Orgs.Create(r.Context(), principal(r), req.Name)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, orgJSON(org, authz.Owner))
	return nil
}

func (a *OrganizationAPI) get(w http.ResponseWriter, r *http.Request) error {
	orgID, err := pathID(r, "id")
	if err != nil {
		return err
	}
	org, role, err := a.Orgs.Get(r.Context(), principal(r), orgID)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, orgJSON(org, role))
	return nil
}

type memberJSON struct {
	UserID    string    `json:"user_id"`
	Email     string    `json:"email"`
	FullName  string    `json:"full_name"`
	Role      string    `json:"role"`
	CreatedAt time.Time `json:"created_at"`
}

func toMemberJSON(m *storage.Member) memberJSON {
	return memberJSON{UserID: m.UserID, Email: m.Email, FullName: m.FullName, Role: m.Role, CreatedAt: m.CreatedAt}
}

func (a *OrganizationAPI) listMembers(w http.ResponseWriter, r *http.Request) error {
	orgID, err := pathID(r, "id")
	if err != nil {
		return err
	}
	return a.writeMembers(w, r, orgID, func(page storage.Page) ([]storage.Member, error) {
		return a.Orgs.Members(r.Context(), principal(r), orgID, page)
	})
}

// writeMembers pages through members with limit and cursor, the cursor bound
// to the organization paged through.
func (a *OrganizationAPI) writeMembers(w http.ResponseWriter, r *http.Request, orgID string,
	load func(storage.Page) ([]storage.Member, error)) error {
	page, err := a.Cursors.PageFrom(r, orgID)
	if err != nil {
		return err
	}
	members, err := load(storage.Page{After: page.After, Limit: page.Limit + 1})
	if err != nil {
		return err
	}
	resp := listResponse[memberJSON]{Items: []memberJSON{}}
	if len(members) > page.Limit {
		members = members[:page.Limit]
		next := a.Cursors.Next(orgID, members[len(members)-1].UserID)
		resp.NextCursor = &next
	}
	for i := range members {
		resp.Items = append(resp.Items, toMemberJSON(&members[i]))
	}
	httpapi.WriteJSON(w, http.StatusOK, resp)
	return nil
}

type addMemberRequest struct {
	Email *string `json:"email"`
	Role  *string `json:"role"`
}

func (a *OrganizationAPI) addMember(w http.ResponseWriter, r *http.Request) error {
	orgID, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req addMemberRequest
	if err := httpapi.DecodeJSON(w, r, a.MaxBody, &req); err != nil {
		return err
	}
	m, err := a.Orgs.AddMember(r.Context(), principal(r), orgID, req.Email, req.Role)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, toMemberJSON(m))
	return nil
}

type updateMemberRequest struct {
	Role *string `json:"role"`
}

func (a *OrganizationAPI) updateMember(w http.ResponseWriter, r *http.Request) error {
	orgID, err := pathID(r, "id")
	if err != nil {
		return err
	}
	userID, err := pathID(r, "user_id")
	if err != nil {
		return err
	}
	var req updateMemberRequest
	if err := httpapi.DecodeJSON(w, r, a.MaxBody, &req); err != nil {
		return err
	}
	m, err := a.Orgs.ChangeRole(r.Context(), principal(r), orgID, userID, req.Role)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, toMemberJSON(m))
	return nil
}

func (a *OrganizationAPI) removeMember(w http.ResponseWriter, r *http.Request) error {
	orgID, err := pathID(r, "id")
	if err != nil {
		return err
	}
	userID, err := pathID(r, "user_id")
	if err != nil {
		return err
	}
	if err := a.Orgs.RemoveMember(r.Context(), principal(r), orgID, userID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
