package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gorilla/mux"

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
	Lookup(ctx context.Context, token string) (*orgs.Invitation, error)
	Accept(ctx context.Context, userID, token string) (*orgs.Invitation, error)
}

// mountInvitations registers the invitation pages: sending and revoking
// from the members page, and the page an invitation link opens.
func (a *Account) mountInvitations(r *mux.Router) {
	if a.d.Invitations == nil {
		return
	}
	r.HandleFunc("/account/invitations", a.invite).Methods(http.MethodPost)
	r.HandleFunc("/account/invitations/{id}/revoke", a.revokeInvitation).Methods(http.MethodPost)
	r.HandleFunc(orgs.AcceptPath, a.invitationPage).Methods(http.MethodGet)
	r.HandleFunc(orgs.AcceptPath, a.acceptInvitation).Methods(http.MethodPost)
}

// invite sends an invitation (POST /account/invitations), with the REST
// endpoint's rules (orgs.Invitations.Invite).
func (a *Account) invite(w http.ResponseWriter, r *http.Request) {
	ac, ok := a.postForm(w, r)
	if !ok || !a.allowed(w, r, ac, authz.MembersCreate) {
		return
	}
	email, role := strings.ToLower(strings.TrimSpace(r.PostForm.Get("email"))), r.PostForm.Get("role")
	fail := func(status int, field, msg string) {
		data := membersPage{frame: a.frame(w, r, ac, "members"), Role: authz.Member, InviteEmail: email, InviteRole: role,
			Errors: map[string]string{field: msg}}
		a.renderMembers(w, r, status, ac, data)
	}
	if !authz.ValidRole(role) {
		fail(http.StatusUnprocessableEntity, "invite_role", "Choose a role.")
		return
	}
	if _, err := a.d.Invitations.Invite(r.Context(), ac.principal(), ac.org.ID, &email, &role); err != nil {
		fields, msg, status, ok := fieldErrors(err)
		switch {
		case !ok:
			a.p.unavailable(w, r, err)
		case fields["email"] != "":
			fail(status, "invite_email", fields["email"])
		case status == http.StatusForbidden:
			fail(status, "invite_role", msg)
		default:
			fail(status, "invite_email", msg)
		}
		return
	}
	a.afterPost(w, "/account/members", "invitation-sent")
}

// revokeInvitation ends a pending invitation (POST /account/invitations/{id}/revoke).
func (a *Account) revokeInvitation(w http.ResponseWriter, r *http.Request) {
	ac, ok := a.postForm(w, r)
	if !ok || !a.allowed(w, r, ac, authz.MembersCreate) {
		return
	}
	if err := a.d.Invitations.Revoke(r.Context(), ac.principal(), ac.org.ID, mux.Vars(r)["id"]); err != nil {
		a.memberChangeFailed(w, r, err)
		return
	}
	a.afterPost(w, "/account/members", "invitation-revoked")
}

// pendingInvitations lists what the members page shows; nil when the
// viewer may not see them.
func (a *Account) pendingInvitations(ctx context.Context, ac *accountContext) ([]storage.Invitation, error) {
	if a.d.Invitations == nil || !ac.perms.Has(authz.MembersCreate) {
		return nil, nil
	}
	return a.d.Invitations.Pending(ctx, ac.principal(), ac.org.ID, storage.Page{Limit: membersPageLimit})
}

// invitationPage is the data of invitation.html.
type invitationPage struct {
	CSRF  string
	Token string
	// State: join (signed in with the invited address), other (signed in
	// with another), signin (signed out, the address has an account),
	// signup (signed out, no account yet), invalid.
	State        string
	Organization string
	Role         string
	Email        string
	SignedInAs   string
	SignInURL    string
	SignUpURL    string
	Error        string
}

// invitationPage shows what an invitation link offers (GET /invitations/accept):
// to join, after signing in or signing up if need be. Opening it uses up
// nothing; joining is the form's POST.
func (a *Account) invitationPage(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	data, status := a.invitationState(w, r, token)
	a.render(w, r, status, "invitation", data, false)
}

func (a *Account) invitationState(w http.ResponseWriter, r *http.Request, token string) (invitationPage, int) {
	ctx := r.Context()
	data := invitationPage{CSRF: a.p.CSRFToken(w, r), Token: token}
	inv, err := a.d.Invitations.Lookup(ctx, token)
	if err != nil {
		_, msg, status, ok := fieldErrors(err)
		if !ok {
			httpapi.Logger(ctx).Error("web: invitation", "error", err)
			msg, status = "Puguh could not read this invitation right now. Try again in a moment.", http.StatusServiceUnavailable
		}
		data.State, data.Error = "invalid", msg
		return data, status
	}
	data.Organization, data.Role, data.Email = inv.Organization.Name, inv.Role, inv.Email
	here := orgs.AcceptPath + "?token=" + url.QueryEscape(token)
	data.SignInURL = "/login?return_to=" + url.QueryEscape(here)
	data.SignUpURL = "/signup?invitation=" + url.QueryEscape(token)
	sess, err := a.p.CurrentSession(r)
	if err != nil {
		httpapi.Logger(ctx).Warn("web: read session", "error", err)
	}
	if sess != nil {
		if u, err := a.d.Store.UserByID(ctx, sess.UserID); err == nil && !u.Disabled {
			data.SignedInAs = u.Email
			if strings.EqualFold(u.Email, inv.Email) {
				data.State = "join"
			} else {
				data.State = "other"
			}
			return data, http.StatusOK
		}
	}
	data.State = "signup"
	if _, err := a.d.Store.UserByEmail(ctx, inv.Email); err == nil {
		data.State = "signin"
	} else if !errors.Is(err, storage.ErrNotFound) {
		httpapi.Logger(ctx).Warn("web: invitation account lookup", "error", err)
		data.State = "signin"
	}
	return data, http.StatusOK
}

// acceptInvitation joins the signed-in user (POST /invitations/accept) and
// switches the account pages to the organization joined.
func (a *Account) acceptInvitation(w http.ResponseWriter, r *http.Request) {
	if !a.p.CheckForm(w, r) {
		return
	}
	token := r.PostForm.Get("token")
	sess, err := a.p.CurrentSession(r)
	if err != nil {
		a.p.unavailable(w, r, err)
		return
	}
	if sess == nil {
		data, status := a.invitationState(w, r, token)
		a.render(w, r, status, "invitation", data, false)
		return
	}
	inv, err := a.d.Invitations.Accept(r.Context(), sess.UserID, token)
	if err != nil {
		_, msg, status, ok := fieldErrors(err)
		if !ok {
			a.p.unavailable(w, r, err)
			return
		}
		data := invitationPage{CSRF: a.p.CSRFToken(w, r), Token: token, State: "invalid", Error: msg}
		a.render(w, r, status, "invitation", data, false)
		return
	}
	a.joined(w, inv)
}

// joined ends a successful acceptance on the account page, acting in the
// organization joined.
func (a *Account) joined(w http.ResponseWriter, inv *orgs.Invitation) {
	a.p.setCookie(w, orgCookie, inv.OrganizationID, int(SessionLifetime.Seconds()))
	a.afterPost(w, "/account", "joined")
}
