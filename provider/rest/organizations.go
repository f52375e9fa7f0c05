package rest

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/arsaka/puguh/provider/auth"
	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/storage"
)

// OrganizationStore is what the organization endpoints use.
type OrganizationStore interface {
	CreateOrganization(ctx context.Context, org *storage.Organization, ownerUserID string) error
	OrganizationByID(ctx context.Context, id string) (*storage.Organization, error)
	OrganizationsOfUser(ctx context.Context, userID string) ([]storage.UserOrganization, error)
	Membership(ctx context.Context, orgID, userID string) (*storage.Membership, error)
	AddMember(ctx context.Context, m *storage.Membership) error
	UpdateMemberRole(ctx context.Context, orgID, userID, role string) error
	RemoveMember(ctx context.Context, orgID, userID string) error
	ListMembers(ctx context.Context, orgID string, page storage.Page) ([]storage.Member, error)
	UserByEmail(ctx context.Context, email string) (*storage.User, error)
	UserByID(ctx context.Context, id string) (*storage.User, error)
}

// OrganizationAPI serves /api/v1/organizations and /api/v1/iam/users.
type OrganizationAPI struct {
	Store   OrganizationStore
	Roles   RoleSource
	Auth    *auth.Authenticator
	Cursors *Cursors
	MaxBody int64
	Now     func() time.Time
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
	p := principal(r)
	if err := p.Require(authz.OrganizationRead); err != nil {
		return err
	}
	ctx := r.Context()
	items := []organizationJSON{}
	if p.IsUser() {
		orgs, err := a.Store.OrganizationsOfUser(ctx, p.ID)
		if err != nil {
			return err
		}
		for i := range orgs {
			items = append(items, orgJSON(&orgs[i].Organization, orgs[i].Role))
		}
	} else {
		org, err := a.Store.OrganizationByID(ctx, p.OrganizationID)
		if err != nil {
			return notFoundAs(err, "Organization not found")
		}
		items = append(items, orgJSON(org, ""))
	}
	httpapi.WriteJSON(w, http.StatusOK, listResponse[organizationJSON]{Items: items})
	return nil
}

type createOrganizationRequest struct {
	Name *string `json:"name"`
}

func (a *OrganizationAPI) create(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	if !p.IsUser() {
		return httpapi.Forbidden("Only users can create organizations")
	}
	var req createOrganizationRequest
	if err := httpapi.DecodeJSON(w, r, a.MaxBody, &req); err != nil {
		return err
	}
	var v httpapi.Validator
	var name string
	checkName(&v, req.Name, 200, &name, "body", "name")
	if err := v.Err(); err != nil {
		return err
	}
	now := a.Now().UTC()
	org := &storage.Organization{ID: uuid.NewString(), Name: name, Plan: storage.PlanFree, CreatedAt: now, UpdatedAt: now}
	if err := a.Store.CreateOrganization(r.Context(), org, p.ID); err != nil {
		return err
	}
	a.Roles.Forget(org.ID, p.ID)
	httpapi.WriteJSON(w, http.StatusCreated, orgJSON(org, authz.Owner))
	return nil
}

// inPathOrg is the caller acting in the organization named by the path,
// holding perm there.
func (a *OrganizationAPI) inPathOrg(r *http.Request, perm string) (*authz.Principal, string, error) {
	orgID, err := pathID(r, "id")
	if err != nil {
		return nil, "", err
	}
	p, err := principalIn(r.Context(), a.Roles, principal(r), orgID)
	if err != nil {
		return nil, "", err
	}
	if err := p.Require(perm); err != nil {
		return nil, "", err
	}
	return p, orgID, nil
}

func (a *OrganizationAPI) get(w http.ResponseWriter, r *http.Request) error {
	p, orgID, err := a.inPathOrg(r, authz.OrganizationRead)
	if err != nil {
		return err
	}
	org, err := a.Store.OrganizationByID(r.Context(), orgID)
	if err != nil {
		return notFoundAs(err, "Organization not found")
	}
	httpapi.WriteJSON(w, http.StatusOK, orgJSON(org, p.Role))
	return nil
}

type memberJSON struct {
	UserID    string    `json:"user_id"`
	Email     string    `json:"email"`
	FullName  string    `json:"full_name"`
	Role      string    `json:"role"`
	CreatedAt time.Time `json:"created_at"`
}

func (a *OrganizationAPI) listMembers(w http.ResponseWriter, r *http.Request) error {
	_, orgID, err := a.inPathOrg(r, authz.MembersRead)
	if err != nil {
		return err
	}
	return a.writeMembers(w, r, orgID)
}

// writeMembers pages through an organization's members with limit and cursor.
func (a *OrganizationAPI) writeMembers(w http.ResponseWriter, r *http.Request, orgID string) error {
	page, err := a.Cursors.PageFrom(r, orgID)
	if err != nil {
		return err
	}
	members, err := a.Store.ListMembers(r.Context(), orgID, storage.Page{After: page.After, Limit: page.Limit + 1})
	if err != nil {
		return err
	}
	resp := listResponse[memberJSON]{Items: []memberJSON{}}
	if len(members) > page.Limit {
		members = members[:page.Limit]
		next := a.Cursors.Next(orgID, members[len(members)-1].UserID)
		resp.NextCursor = &next
	}
	for _, m := range members {
		resp.Items = append(resp.Items, memberJSON{UserID: m.UserID, Email: m.Email, FullName: m.FullName, Role: m.Role, CreatedAt: m.CreatedAt})
	}
	httpapi.WriteJSON(w, http.StatusOK, resp)
	return nil
}

type addMemberRequest struct {
	Email *string `json:"email"`
	Role  *string `json:"role"`
}

func (a *OrganizationAPI) addMember(w http.ResponseWriter, r *http.Request) error {
	p, orgID, err := a.inPathOrg(r, authz.MembersCreate)
	if err != nil {
		return err
	}
	var req addMemberRequest
	if err := httpapi.DecodeJSON(w, r, a.MaxBody, &req); err != nil {
		return err
	}
	var v httpapi.Validator
	var email string
	checkEmail(&v, req.Email, &email, "body", "email")
	role := checkRole(&v, req.Role)
	if err := v.Err(); err != nil {
		return err
	}
	if err := mayGrant(p, role); err != nil {
		return err
	}
	ctx := r.Context()
	u, err := a.Store.UserByEmail(ctx, email)
	if err != nil {
		return notFoundAs(err, "No user with this email address")
	}
	m := &storage.Membership{OrganizationID: orgID, UserID: u.ID, Role: role, CreatedAt: a.Now().UTC()}
	if err := a.Store.AddMember(ctx, m); err != nil {
		if errors.Is(err, storage.ErrConflict) {
			return httpapi.Conflict("User is already a member")
		}
		return err
	}
	a.Roles.Forget(orgID, u.ID)
	httpapi.WriteJSON(w, http.StatusCreated, memberJSON{UserID: u.ID, Email: u.Email, FullName: u.FullName, Role: role, CreatedAt: m.CreatedAt})
	return nil
}

type updateMemberRequest struct {
	Role *string `json:"role"`
}

func (a *OrganizationAPI) updateMember(w http.ResponseWriter, r *http.Request) error {
	p, orgID, err := a.inPathOrg(r, authz.MembersUpdate)
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
	var v httpapi.Validator
	role := checkRole(&v, req.Role)
	if err := v.Err(); err != nil {
		return err
	}
	ctx := r.Context()
	current, err := a.Store.Membership(ctx, orgID, userID)
	if err != nil {
		return notFoundAs(err, "Member not found")
	}
	// Changing someone's role needs rank over both the old and the new role:
	// an admin can neither demote an owner nor make one.
	if err := mayGrant(p, current.Role); err != nil {
		return err
	}
	if err := mayGrant(p, role); err != nil {
		return err
	}
	if err := a.Store.UpdateMemberRole(ctx, orgID, userID, role); err != nil {
		return memberChangeError(err)
	}
	a.Roles.Forget(orgID, userID)
	u, err := a.Store.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, memberJSON{UserID: userID, Email: u.Email, FullName: u.FullName, Role: role, CreatedAt: current.CreatedAt})
	return nil
}

func (a *OrganizationAPI) removeMember(w http.ResponseWriter, r *http.Request) error {
	p, orgID, err := a.inPathOrg(r, authz.MembersDelete)
	if err != nil {
		return err
	}
	userID, err := pathID(r, "user_id")
	if err != nil {
		return err
	}
	ctx := r.Context()
	current, err := a.Store.Membership(ctx, orgID, userID)
	if err != nil {
		return notFoundAs(err, "Member not found")
	}
	if err := mayGrant(p, current.Role); err != nil {
		return err
	}
	if err := a.Store.RemoveMember(ctx, orgID, userID); err != nil {
		return memberChangeError(err)
	}
	a.Roles.Forget(orgID, userID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func memberChangeError(err error) error {
	switch {
	case errors.Is(err, storage.ErrPrecondition):
		return httpapi.Conflict("An organization must keep at least one owner")
	case errors.Is(err, storage.ErrNotFound):
		return httpapi.NotFound("Member not found")
	}
	return err
}

func checkRole(v *httpapi.Validator, raw *string) string {
	if raw == nil {
		v.Required("body", "role")
		return ""
	}
	if !authz.ValidRole(*raw) {
		v.Add("value is not a valid enumeration member; permitted: 'owner', 'admin', 'member', 'viewer'", "type_error.enum", "body", "role")
		return ""
	}
	return *raw
}

// mayGrant refuses to let a principal hand out (or take away) a role above
// its own rank, or one with a permission it does not hold itself. The rank is
// the credential's own (a key's or service account's role), never its
// creator's: see authz.Principal.Role.
func mayGrant(p *authz.Principal, role string) error {
	if !p.MayGrant(role) {
		return httpapi.Forbidden("Cannot manage the " + role + " role")
	}
	return nil
}
