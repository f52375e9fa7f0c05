package web

import (
	"net/http"
	"strconv"

	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/provider/orgs"
)

// signupPage is the data of signup.html. Errors are keyed by form field.
type signupPage struct {
	CSRF     string
	Email    string
	FullName string
	Errors   map[string]string
	Error    string
	// Invitation is the token of the invitation the sign-up accepts, and
	// Organization what it joins; the email is then the invited one.
	Invitation   string
	Organization string
}

// signupForm shows the sign-up form (GET /signup).
// With ?invitation=TOKEN (the link of an invitation, for an address with
// no account yet) the email is the invited one and the new account joins
// the organization.
func (a *Account) signupForm(w http.ResponseWriter, r *http.Request) {
	data := signupPage{CSRF: a.p.CSRFToken(w, r)}
	status := http.StatusOK
	if token := r.URL.Query().Get("invitation"); token != "" && a.d.Invitations != nil {
		status = a.withInvitation(r, &data, token)
	}
	a.render(w, r, status, "signup", data, false)
}

// withInvitation fills in the invitation a sign-up accepts, or says why it
// no longer works (and the status to answer).
func (a *Account) withInvitation(r *http.Request, data *signupPage, token string) int {
	inv, err := a.d.Invitations.Lookup(r.Context(), token)
	if err != nil {
		_, msg, status, ok := fieldErrors(err)
		if !ok {
			msg, status = "Puguh could not read the invitation right now. Try again in a moment.", http.StatusServiceUnavailable
		}
		data.Error = msg
		return status
	}
	data.Invitation, data.Organization, data.Email = token, inv.Organization.Name, inv.Email
	return http.StatusOK
}

// signup creates the account with the REST register endpoint's own rules
// and messages (POST /signup), signs the browser in and lands on /account.
// The password is never echoed back into the form.
func (a *Account) signup(w http.ResponseWriter, r *http.Request) {
	if !a.p.CheckForm(w, r) {
		return
	}
	ctx := r.Context()
	email, pw, name := r.PostForm.Get("email"), r.PostForm.Get("password"), r.PostForm.Get("full_name")
	data := signupPage{CSRF: a.p.CSRFToken(w, r), Email: email, FullName: name}
	register := a.d.SignIn.Register
	if token := r.PostForm.Get("invitation"); token != "" && a.d.Invitations != nil {
		if status := a.withInvitation(r, &data, token); status != http.StatusOK {
			a.render(w, r, status, "signup", data, false)
			return
		}
		email, register = data.Email, a.d.SignIn.RegisterInvited
	}
	reg, err := register(ctx, &email, &pw, &name)
	if err != nil {
		fields, msg, status, ok := fieldErrors(err)
		if !ok {
			a.p.unavailable(w, r, err)
			return
		}
		if status == http.StatusConflict {
			fields["email"] = msg // "Email already registered", as POST /api/v1/auth/register says
			msg = ""
		}
		if msg == "" && len(fields) == 0 {
			msg = "Sign-up failed (" + strconv.Itoa(status) + ")."
		}
		data.Errors, data.Error = fields, msg
		a.render(w, r, status, "signup", data, false)
		return
	}
	var joined *orgs.Invitation
	if data.Invitation != "" {
		// Accepting proves the address (the link was mailed there), so the
		// new account is confirmed and signed in at once.
		if joined, err = a.d.Invitations.Accept(ctx, reg.UserID, data.Invitation); err != nil {
			// Revoked or expired since the form was shown: the account
			// stays, unconfirmed (a new confirmation link is one click away).
			httpapi.Logger(ctx).Warn("web: accept the invitation of a new account", "error", err)
		}
	}
	if a.d.RequireVerifiedEmail && joined == nil {
		httpapi.Logger(ctx).Info("user registered", "user_id", reg.UserID, "via", "signup page")
		a.p.Render(w, r, http.StatusOK, "verify_email", verifyPage{CSRF: data.CSRF, State: "sent", Email: reg.Email})
		return
	}
	user, err := a.d.Store.UserByID(ctx, reg.UserID)
	if err != nil {
		a.p.unavailable(w, r, err)
		return
	}
	// A member who joined an organization that requires a second factor
	// sets one up before the first session, as at sign-in.
	if joined != nil && a.p.askEnrolment(w, r, user, loginPage{CSRF: data.CSRF, ReturnTo: defaultReturnTo}, nil) {
		return
	}
	previous, err := a.p.CurrentSession(r)
	if err != nil {
		httpapi.Logger(ctx).Warn("web: read previous session", "error", err)
	}
	if _, err := a.p.startSession(w, r, user, previous); err != nil {
		a.p.unavailable(w, r, err)
		return
	}
	if joined != nil {
		a.joined(w, joined)
		return
	}
	a.p.setCookie(w, orgCookie, "", -1)
	a.afterPost(w, "/account", "")
}
