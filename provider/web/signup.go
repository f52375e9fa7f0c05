package web

import (
	"net/http"
	"strconv"

	"github.com/arsaka/puguh/provider/httpapi"
)

// signupPage is the data of signup.html. Errors are keyed by form field.
type signupPage struct {
	CSRF     string
	Email    string
	FullName string
	Errors   map[string]string
	Error    string
}

// signupForm shows the sign-up form (GET /signup).
func (a *Account) signupForm(w http.ResponseWriter, r *http.Request) {
	a.render(w, r, http.StatusOK, "signup", signupPage{CSRF: a.p.CSRFToken(w, r)}, false)
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
	reg, err := a.d.SignIn.Register(ctx, &email, &pw, &name)
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
	if a.d.RequireVerifiedEmail {
		httpapi.Logger(ctx).Info("user registered", "user_id", reg.UserID, "via", "signup page")
		a.p.Render(w, r, http.StatusOK, "verify_email", verifyPage{CSRF: data.CSRF, State: "sent", Email: reg.Email})
		return
	}
	user, err := a.d.Store.UserByID(ctx, reg.UserID)
	if err != nil {
		a.p.unavailable(w, r, err)
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
	a.p.setCookie(w, orgCookie, "", -1)
	a.afterPost(w, "/account", "")
}
