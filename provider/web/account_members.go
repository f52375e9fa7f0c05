package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/orgs"
	"github.com/arsaka/puguh/storage"
)

// membersPage is the data of account_members.html.
type membersPage struct {
	frame
	Members []memberLine
	Roles   []string // the roles this user may give
	Email   string
	Role    string
	Errors  map[string]string
	// CanInvite shows the invitation form; Invitations are the pending ones.
	CanInvite   bool
	Invitations []invitationLine
	InviteEmail string
	InviteRole  string
}

// invitationLine is one pending invitation as listed, with whether the
// viewer may revoke it.
type invitationLine struct {
	storage.Invitation
	CanRevoke bool
}

// memberLine is one member as listed, with what the viewer may do to them.
type memberLine struct {
	storage.Member
	Self      bool
	CanChange bool
}

// membersPageLimit bounds the listing; larger organizations page through the
// REST API (GET /api/v1/organizations/{id}/members).
const membersPageLimit = 200

// members lists the organization's members (GET /account/members).
func (a *Account) members(w http.ResponseWriter, r *http.Request) {
	ac, ok := a.signedIn(w, r)
	if !ok || !a.allowed(w, r, ac, permMembersPage) {
		return
	}
	data := membersPage{frame: a.frame(w, r, ac, "members"), Role: authz.Member}
	data.Notice = noticeOf(r)
	a.renderMembers(w, r, http.StatusOK, ac, data)
}

func (a *Account) renderMembers(w http.ResponseWriter, r *http.Request, status int, ac *accountContext, data membersPage) {
	p := ac.principal()
	list, err := a.d.Members.Members(r.Context(), p, ac.org.ID, storage.Page{Limit: membersPageLimit})
	if err != nil {
		a.p.unavailable(w, r, err)
		return
	}
	for _, m := range list {
		data.Members = append(data.Members, memberLine{Member: m, Self: m.UserID == ac.user.ID,
			CanChange: p.MayGrant(m.Role) && ac.perms.Has(authz.MembersUpdate)})
	}
	for _, role := range authz.Roles() {
		if p.MayGrant(role) {
			data.Roles = append(data.Roles, role)
		}
	}
	invitations, err := a.pendingInvitations(r.Context(), ac)
	if err != nil {
		a.p.unavailable(w, r, err)
		return
	}
	data.CanInvite = a.d.Invitations != nil
	if data.InviteRole == "" {
		data.InviteRole = authz.Member
	}
	for _, inv := range invitations {
		data.Invitations = append(data.Invitations, invitationLine{Invitation: inv, CanRevoke: p.MayGrant(inv.Role)})
	}
	a.render(w, r, status, "account_members", data, false)
}

// inviteMember adds an existing user by email (POST /account/members), with
// the REST endpoint's rules (orgs.Service.AddMember).
func (a *Account) inviteMember(w http.ResponseWriter, r *http.Request) {
	ac, ok := a.postForm(w, r)
	if !ok || !a.allowed(w, r, ac, authz.MembersCreate) {
		return
	}
	// Emails are stored lower-cased; lookups fold case anyway, but the page
	// shows back what it will look up.
	email, role := strings.ToLower(strings.TrimSpace(r.PostForm.Get("email"))), r.PostForm.Get("role")
	fail := func(status int, field, msg string) {
		data := membersPage{frame: a.frame(w, r, ac, "members"), Email: email, Role: role, Errors: map[string]string{field: msg}}
		a.renderMembers(w, r, status, ac, data)
	}
	if !authz.ValidRole(role) {
		fail(http.StatusUnprocessableEntity, "role", "Choose a role.")
		return
	}
	_, err := a.d.Members.AddMember(r.Context(), ac.principal(), ac.org.ID, &email, &role)
	if err != nil {
		fields, msg, status, ok := fieldErrors(err)
		switch {
		case !ok:
			a.p.unavailable(w, r, err)
		case fields["email"] != "":
			fail(status, "email", fields["email"])
		case status == http.StatusForbidden:
			fail(status, "role", msg)
		default:
			fail(status, "email", msg)
		}
		return
	}
	a.afterPost(w, "/account/members", "invited")
}

// target loads the member a change names, refusing (403/404 pages) members
// the user may not manage: changing someone needs rank over their role.
func (a *Account) target(w http.ResponseWriter, r *http.Request, ac *accountContext) (*storage.Membership, bool) {
	m, err := a.d.Members.Manageable(r.Context(), ac.principal(), ac.org.ID, mux.Vars(r)["user"])
	if err != nil {
		a.memberChangeFailed(w, r, err)
		return nil, false
	}
	return m, true
}

// changeRole changes a member's role (POST /account/members/{user}/role).
func (a *Account) changeRole(w http.ResponseWriter, r *http.Request) {
	ac, ok := a.postForm(w, r)
	if !ok || !a.allowed(w, r, ac, authz.MembersUpdate) {
		return
	}
	role := r.PostForm.Get("role")
	if _, err := a.d.Members.ChangeRole(r.Context(), ac.principal(), ac.org.ID, mux.Vars(r)["user"], &role); err != nil {
		a.memberChangeFailed(w, r, err)
		return
	}
	a.afterPost(w, "/account/members", "role")
}

// confirmRemoveMember asks before removing (GET /account/members/{user}/remove).
func (a *Account) confirmRemoveMember(w http.ResponseWriter, r *http.Request) {
	ac, ok := a.signedIn(w, r)
	if !ok || !a.allowed(w, r, ac, authz.MembersDelete) {
		return
	}
	m, ok := a.target(w, r, ac)
	if !ok {
		return
	}
	who := m.UserID
	if u, err := a.d.Store.UserByID(r.Context(), m.UserID); err == nil {
		who = u.Email
	}
	a.render(w, r, http.StatusOK, "account_confirm", confirmPage{
		frame: a.frame(w, r, ac, "members"), Title: "Remove member?",
		Message: "Remove " + who + " from " + ac.org.Name + "? Their API keys for this organization stop working.",
		Action:  "/account/members/" + m.UserID + "/remove", Button: "Remove member", Back: "/account/members",
	}, false)
}

// removeMember removes a member after confirmation (POST /account/members/{user}/remove).
func (a *Account) removeMember(w http.ResponseWriter, r *http.Request) {
	ac, ok := a.postForm(w, r)
	if !ok || !a.allowed(w, r, ac, authz.MembersDelete) {
		return
	}
	if err := a.d.Members.RemoveMember(r.Context(), ac.principal(), ac.org.ID, mux.Vars(r)["user"]); err != nil {
		a.memberChangeFailed(w, r, err)
		return
	}
	a.afterPost(w, "/account/members", "removed")
}

// memberChangeFailed shows why a membership change was refused: the
// membership rules' own words, on the error page.
func (a *Account) memberChangeFailed(w http.ResponseWriter, r *http.Request, err error) {
	_, msg, status, ok := fieldErrors(err)
	switch {
	case !ok:
		a.p.unavailable(w, r, err)
	case errors.Is(err, orgs.ErrNoMember):
		a.p.RenderError(w, r, http.StatusNotFound, "Member not found", "This person is not a member of the organization.", "", "")
	case errors.Is(err, orgs.ErrLastOwner):
		a.p.RenderError(w, r, http.StatusConflict, "Not changed", "An organization must keep at least one owner", "", "")
	case status == http.StatusForbidden:
		a.p.RenderError(w, r, status, "Access denied", msg, "", "")
	default:
		if msg == "" {
			msg = "The change was refused."
		}
		a.p.RenderError(w, r, status, "Not changed", msg, "", "")
	}
}
