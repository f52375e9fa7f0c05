package web

import (
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/provider/mfa"
	"github.com/arsaka/puguh/provider/password"
	"github.com/arsaka/puguh/storage"
)

// profilePage is the data of account.html: profile settings, password,
// organizations and active sessions.
type profilePage struct {
	frame
	FullName string
	// CanChangeEmail shows the form that changes the sign-in address;
	// NewEmail is what it was last sent with.
	CanChangeEmail bool
	NewEmail       string
	Sessions       []sessionLine
	Errors         map[string]string
}

// sessionLine is one active session as the profile page lists it.
type sessionLine struct {
	Handle    string
	UserAgent string // a short label
	FullAgent string
	Created   string
	LastSeen  string
	Current   bool
}

// profile shows the profile settings (GET /account).
func (a *Account) profile(w http.ResponseWriter, r *http.Request) {
	ac, ok := a.signedIn(w, r)
	if !ok {
		return
	}
	data := profilePage{frame: a.frame(w, r, ac, "profile"), FullName: ac.user.FullName}
	data.Notice = noticeOf(r)
	a.renderProfile(w, r, http.StatusOK, ac, data)
}

// renderProfile fills in the sessions and writes account.html.
func (a *Account) renderProfile(w http.ResponseWriter, r *http.Request, status int, ac *accountContext, data profilePage) {
	sessions, err := a.d.Store.SessionsOfUser(r.Context(), ac.user.ID, a.p.now())
	if err != nil {
		a.p.unavailable(w, r, err)
		return
	}
	data.CanChangeEmail = a.d.EmailChanges != nil
	for _, s := range sessions {
		if a.p.now().Sub(s.LastSeenAt) > SessionIdleTimeout {
			continue
		}
		data.Sessions = append(data.Sessions, sessionLine{
			Handle: a.sessionHandle(s.ID), UserAgent: describeAgent(s.UserAgent), FullAgent: s.UserAgent, Created: formatTime(s.CreatedAt),
			LastSeen: formatTime(s.LastSeenAt), Current: s.ID == ac.sess.ID,
		})
	}
	a.render(w, r, status, "account", data, false)
}

// updateProfile saves the full name (POST /account/profile). The rules are
// the REST register endpoint's for full_name.
func (a *Account) updateProfile(w http.ResponseWriter, r *http.Request) {
	ac, ok := a.postForm(w, r)
	if !ok {
		return
	}
	name := strings.TrimSpace(r.PostForm.Get("full_name"))
	if problem := nameProblem(name); problem != "" {
		data := profilePage{frame: a.frame(w, r, ac, "profile"), FullName: r.PostForm.Get("full_name"),
			Errors: map[string]string{"full_name": problem}}
		a.renderProfile(w, r, http.StatusUnprocessableEntity, ac, data)
		return
	}
	if err := a.d.Store.UpdateUserProfile(r.Context(), ac.user.ID, name); err != nil {
		a.p.unavailable(w, r, err)
		return
	}
	a.afterPost(w, "/account", "profile")
}

// nameProblem checks a full name as the REST API does (1 to 200 characters
// after trimming, no control characters), with its messages.
func nameProblem(s string) string {
	switch n := utf8.RuneCountInString(s); {
	case n == 0:
		return "ensure this value has at least 1 characters"
	case n > 200:
		return "ensure this value has at most 200 characters"
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return "control characters are not allowed"
		}
	}
	return ""
}

// changePassword replaces the password (POST /account/password). The current
// password is asked again (re-authentication: a borrowed, unlocked browser is
// not enough). On success every other session of the user ends and every
// token grant of the user is revoked, access tokens included (docs/security.md, "Accounts and sessions");
// this browser gets a fresh session id.
func (a *Account) changePassword(w http.ResponseWriter, r *http.Request) {
	ac, ok := a.postForm(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	current, next, confirm := r.PostForm.Get("current_password"), r.PostForm.Get("new_password"), r.PostForm.Get("confirm_password")
	fail := func(status int, field, msg string) {
		data := profilePage{frame: a.frame(w, r, ac, "profile"), FullName: ac.user.FullName, Errors: map[string]string{field: msg}}
		a.renderProfile(w, r, status, ac, data)
	}
	if next != confirm && password.Problem(next, ac.user.Email) == "" {
		fail(http.StatusUnprocessableEntity, "confirm_password", "The two new passwords do not match.")
		return
	}
	// The REST API's own change (identity.Changes): the same checks, and
	// every other session and every token grant of the user ends.
	if err := a.d.Passwords.ChangePassword(ctx, ac.user.ID, ac.sess.ID, "", &current, &next); err != nil {
		he, ok := httpapi.AsError(err)
		fields, _, _, _ := fieldErrors(err)
		switch {
		case ok && he.Status == http.StatusTooManyRequests:
			if v := he.Headers["Retry-After"]; v != "" {
				w.Header().Set("Retry-After", v)
			}
			detail, _ := he.Detail.(string)
			fail(http.StatusTooManyRequests, "current_password", detail)
		case ok && fields["new_password"] != "":
			fail(http.StatusUnprocessableEntity, "new_password", fields["new_password"])
		case ok && he.Status < 500:
			fail(http.StatusUnprocessableEntity, "current_password", "The current password is not correct.")
		default:
			a.p.unavailable(w, r, err)
		}
		return
	}
	// The fresh session keeps how the user signed in (a second factor stays proven).
	if _, err := a.p.startSessionAMR(w, r, ac.user, ac.sess, mfa.SplitAMR(ac.sess.AMR)); err != nil {
		a.p.unavailable(w, r, err)
		return
	}
	a.afterPost(w, "/account", "password")
}

// changeEmail asks for a new sign-in address (POST /account/email) with the
// REST API's own rules and answers (identity.Changes.RequestEmailChange):
// the current password, a valid address no other account has, the link
// budget. Nothing changes until the link mailed to the new address is
// followed (/verify-email).
func (a *Account) changeEmail(w http.ResponseWriter, r *http.Request) {
	if a.d.EmailChanges == nil {
		http.NotFound(w, r)
		return
	}
	ac, ok := a.postForm(w, r)
	if !ok {
		return
	}
	pw, addr := r.PostForm.Get("password"), r.PostForm.Get("new_email")
	page := func(status int, errs map[string]string, notice string) {
		data := profilePage{frame: a.frame(w, r, ac, "profile"), FullName: ac.user.FullName, NewEmail: addr, Errors: errs}
		data.Notice = notice
		a.renderProfile(w, r, status, ac, data)
	}
	sent, err := a.d.EmailChanges.RequestEmailChange(r.Context(), ac.user.ID, &pw, &addr)
	if err == nil {
		addr = ""
		page(http.StatusOK, nil, "We sent a link to "+sent+"; your address changes when you follow it.")
		return
	}
	he, isHTTP := httpapi.AsError(err)
	fields, _, _, _ := fieldErrors(err)
	detail := ""
	if isHTTP {
		detail, _ = he.Detail.(string)
	}
	switch {
	case !isHTTP || he.Status >= 500:
		a.p.unavailable(w, r, err)
	case he.Status == http.StatusTooManyRequests:
		if v := he.Headers["Retry-After"]; v != "" {
			w.Header().Set("Retry-After", v)
		}
		page(http.StatusTooManyRequests, map[string]string{"new_email": detail}, "")
	case fields["new_email"] != "":
		page(http.StatusUnprocessableEntity, map[string]string{"new_email": fields["new_email"]}, "")
	case fields["password"] != "":
		page(http.StatusUnprocessableEntity, map[string]string{"email_password": fields["password"]}, "")
	case he.Status == http.StatusForbidden:
		page(http.StatusForbidden, map[string]string{"email_password": detail}, "")
	default: // 409: the address is another account's
		page(he.Status, map[string]string{"new_email": detail}, "")
	}
}

// switchOrganization selects the organization the account pages act in
// (POST /account/organization); only one the user belongs to.
func (a *Account) switchOrganization(w http.ResponseWriter, r *http.Request) {
	ac, ok := a.postForm(w, r)
	if !ok {
		return
	}
	id := r.PostForm.Get("organization_id")
	if pickOrganization(ac.orgs, id).ID != id {
		a.p.RenderError(w, r, http.StatusForbidden, "Access denied", "You are not a member of that organization.", "", "")
		return
	}
	a.p.setCookie(w, orgCookie, id, int(SessionLifetime.Seconds()))
	back := localPath(r.PostForm.Get("return_to"))
	if back == "" || !strings.HasPrefix(back, "/account") {
		back = "/account"
	}
	if i := strings.IndexByte(back, '?'); i >= 0 {
		back = back[:i]
	}
	a.afterPost(w, back, "org")
}

// endSession signs out one of the user's sessions (POST /account/sessions/end).
// Ending the current one is signing out.
func (a *Account) endSession(w http.ResponseWriter, r *http.Request) {
	ac, ok := a.postForm(w, r)
	if !ok {
		return
	}
	handle := r.PostForm.Get("session")
	sessions, err := a.d.Store.SessionsOfUser(r.Context(), ac.user.ID, a.p.now())
	if err != nil {
		a.p.unavailable(w, r, err)
		return
	}
	var target *storage.BrowserSession
	for i := range sessions {
		if handle != "" && a.sessionHandle(sessions[i].ID) == handle {
			target = &sessions[i]
		}
	}
	if target == nil {
		a.p.RenderError(w, r, http.StatusNotFound, "Session not found", "That session has already ended.", "", "")
		return
	}
	if err := a.p.endSessionByID(r.Context(), target.ID); err != nil {
		a.p.unavailable(w, r, err)
		return
	}
	if target.ID == ac.sess.ID {
		a.p.clearSession(w)
		a.afterPost(w, "/logout", "")
		return
	}
	a.afterPost(w, "/account", "session")
}
