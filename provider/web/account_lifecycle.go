package web

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/arsaka/puguh/provider/audit"
	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/provider/identity"
	"github.com/arsaka/puguh/storage"
)

// Consents is the user's own consents to applications (clients.Service).
type Consents interface {
	Consents(ctx context.Context, p *authz.Principal) ([]storage.UserConsent, error)
	RevokeConsent(ctx context.Context, p *authz.Principal, appID string) error
}

// Lifecycle is the account rules the connected-apps, delete-account and
// operator pages use (identity.Service).
type Lifecycle interface {
	IsOperator(ctx context.Context, userID string) (bool, error)
	MayManage(ctx context.Context, actor identity.Actor, target string) error
	SetDisabled(ctx context.Context, by audit.Ref, orgID, userID string, disabled bool) (*storage.User, error)
	MayDelete(ctx context.Context, actor identity.Actor, target string) error
	DeleteUser(ctx context.Context, by audit.Ref, orgID, userID string) error
	DeleteSelf(ctx context.Context, userID string, password, code *string) error
	DeletionPlan(ctx context.Context, userID string) ([]string, error)
}

// Directory finds users for the operator page.
type Directory interface {
	UserByID(ctx context.Context, id string) (*storage.User, error)
	UserByEmail(ctx context.Context, email string) (*storage.User, error)
}

// connectedPage is the data of account_connected.html.
type connectedPage struct {
	frame
	Consents []storage.UserConsent
}

// deletePage is the data of account_delete.html.
type deletePage struct {
	frame
	// AsksCode: the user has an authenticator app, so a code is asked too.
	AsksCode bool
	// Blocker is why the account cannot be deleted yet (last owner), if so.
	Blocker string
	Errors  map[string]string
}

// operatorPage is the data of account_operator.html.
type operatorPage struct {
	frame
	Query  string
	Found  *storage.User
	Errors map[string]string
}

func (a *Account) mountLifecycle(r *mux.Router) {
	if a.d.Consents != nil {
		r.HandleFunc("/account/connected-apps", a.connectedApps).Methods(http.MethodGet)
		r.HandleFunc("/account/connected-apps/{id}/revoke", a.confirmRevokeConsent).Methods(http.MethodGet)
		r.HandleFunc("/account/connected-apps/{id}/revoke", a.revokeConsent).Methods(http.MethodPost)
	}
	if a.d.Lifecycle != nil {
		r.HandleFunc("/account/delete", a.deleteAccountForm).Methods(http.MethodGet)
		r.HandleFunc("/account/delete", a.deleteAccount).Methods(http.MethodPost)
		r.HandleFunc("/account/operator", a.operator).Methods(http.MethodGet)
		r.HandleFunc("/account/operator/users/{id}/{action:disable|enable}", a.operatorSetDisabled).Methods(http.MethodPost)
		r.HandleFunc("/account/operator/users/{id}/delete", a.confirmOperatorDelete).Methods(http.MethodGet)
		r.HandleFunc("/account/operator/users/{id}/delete", a.operatorDelete).Methods(http.MethodPost)
	}
}

// connectedApps lists the applications the user consented to
// (GET /account/connected-apps).
func (a *Account) connectedApps(w http.ResponseWriter, r *http.Request) {
	ac, ok := a.signedIn(w, r)
	if !ok {
		return
	}
	list, err := a.d.Consents.Consents(r.Context(), ac.principal())
	if err != nil {
		a.p.unavailable(w, r, err)
		return
	}
	data := connectedPage{frame: a.frame(w, r, ac, "connected-apps"), Consents: list}
	data.Notice = noticeOf(r)
	a.render(w, r, http.StatusOK, "account_connected", data, false)
}

// consentNamed finds one of the user's consents by application id; the
// not-found page otherwise.
func (a *Account) consentNamed(w http.ResponseWriter, r *http.Request, ac *accountContext) (*storage.UserConsent, bool) {
	list, err := a.d.Consents.Consents(r.Context(), ac.principal())
	if err != nil {
		a.p.unavailable(w, r, err)
		return nil, false
	}
	id := mux.Vars(r)["id"]
	for i := range list {
		if list[i].ApplicationID == id {
			return &list[i], true
		}
	}
	a.p.RenderError(w, r, http.StatusNotFound, "Not found", "You have not given that application access.", "", "")
	return nil, false
}

// confirmRevokeConsent asks before revoking (GET /account/connected-apps/{id}/revoke).
func (a *Account) confirmRevokeConsent(w http.ResponseWriter, r *http.Request) {
	ac, ok := a.signedIn(w, r)
	if !ok {
		return
	}
	c, ok := a.consentNamed(w, r, ac)
	if !ok {
		return
	}
	a.render(w, r, http.StatusOK, "account_confirm", confirmPage{
		frame: a.frame(w, r, ac, "connected-apps"), Title: "Remove access?",
		Message: "Remove " + c.ApplicationName + "’s access to your account? It is signed out at once, and asks for your consent again the next time you use it.",
		Action:  "/account/connected-apps/" + c.ApplicationID + "/revoke", Button: "Remove access", Back: "/account/connected-apps",
	}, false)
}

// revokeConsent withdraws the consent (POST /account/connected-apps/{id}/revoke)
// with the REST endpoint's rules.
func (a *Account) revokeConsent(w http.ResponseWriter, r *http.Request) {
	ac, ok := a.postForm(w, r)
	if !ok {
		return
	}
	if err := a.d.Consents.RevokeConsent(r.Context(), ac.principal(), mux.Vars(r)["id"]); err != nil {
		if _, msg, status, ok := fieldErrors(err); ok {
			a.p.RenderError(w, r, status, "Not found", msg, "", "")
		} else {
			a.p.unavailable(w, r, err)
		}
		return
	}
	a.afterPost(w, "/account/connected-apps", "consent-revoked")
}

// deleteAccountForm shows what deleting the account does and asks for the
// password (and code) again (GET /account/delete).
func (a *Account) deleteAccountForm(w http.ResponseWriter, r *http.Request) {
	ac, ok := a.signedIn(w, r)
	if !ok {
		return
	}
	a.renderDelete(w, r, http.StatusOK, ac, nil)
}

func (a *Account) renderDelete(w http.ResponseWriter, r *http.Request, status int, ac *accountContext, errs map[string]string) {
	ctx := r.Context()
	data := deletePage{frame: a.frame(w, r, ac, "profile"), Errors: errs}
	if a.d.MFA != nil {
		st, err := a.d.MFA.Status(ctx, ac.principal())
		if err != nil {
			a.p.unavailable(w, r, err)
			return
		}
		data.AsksCode = st.TOTP
	}
	if _, err := a.d.Lifecycle.DeletionPlan(ctx, ac.user.ID); err != nil {
		var last *identity.LastOwnerError
		if !errors.As(err, &last) {
			a.p.unavailable(w, r, err)
			return
		}
		data.Blocker = last.Error()
	}
	a.render(w, r, status, "account_delete", data, false)
}

// deleteAccount deletes the signed-in user's account (POST /account/delete)
// with the REST endpoint's rules, and signs the browser out.
func (a *Account) deleteAccount(w http.ResponseWriter, r *http.Request) {
	ac, ok := a.postForm(w, r)
	if !ok {
		return
	}
	pw, code := r.PostForm.Get("password"), r.PostForm.Get("code")
	err := a.d.Lifecycle.DeleteSelf(r.Context(), ac.user.ID, &pw, &code)
	if err != nil {
		var last *identity.LastOwnerError
		if errors.As(err, &last) {
			err = last.Problem()
		}
		fields, msg, status, ok := fieldErrors(err)
		if !ok {
			a.p.unavailable(w, r, err)
			return
		}
		field := "password"
		switch {
		case fields["code"] != "" || msg == "The code is not correct":
			field = "code"
			msg = firstNonEmpty(msg, "Enter the code from your authenticator app.")
		case fields["password"] != "":
			msg = "Enter your password."
		case status == http.StatusConflict:
			field = "form"
		}
		if he, ok := httpapi.AsError(err); ok && he.Headers["Retry-After"] != "" {
			w.Header().Set("Retry-After", he.Headers["Retry-After"])
		}
		a.renderDelete(w, r, status, ac, map[string]string{field: msg})
		return
	}
	a.p.clearSession(w)
	a.p.RenderError(w, r, http.StatusOK, "Account deleted",
		"Your account was deleted: you are signed out everywhere, and the applications you used can no longer act for you.", "", "")
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// operatorContext is the signed-in user if they are a platform operator;
// the 403 page otherwise.
func (a *Account) operatorContext(w http.ResponseWriter, r *http.Request, post bool) (*accountContext, bool) {
	var ac *accountContext
	var ok bool
	if post {
		ac, ok = a.postForm(w, r)
	} else {
		ac, ok = a.signedIn(w, r)
	}
	if !ok {
		return nil, false
	}
	op, err := a.d.Lifecycle.IsOperator(r.Context(), ac.user.ID)
	if err != nil {
		a.p.unavailable(w, r, err)
		return nil, false
	}
	if !op {
		a.p.RenderError(w, r, http.StatusForbidden, "Access denied", "This page is for platform operators.", "", "")
		return nil, false
	}
	return ac, true
}

// operator finds a user by email or id (GET /account/operator?q=…).
func (a *Account) operator(w http.ResponseWriter, r *http.Request) {
	ac, ok := a.operatorContext(w, r, false)
	if !ok {
		return
	}
	data := operatorPage{frame: a.frame(w, r, ac, "operator"), Query: strings.TrimSpace(r.URL.Query().Get("q"))}
	data.Notice = noticeOf(r)
	status := http.StatusOK
	if data.Query != "" {
		u, err := a.findUser(r.Context(), data.Query)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			status, data.Errors = http.StatusNotFound, map[string]string{"q": "No user has that email address or id."}
		case err != nil:
			a.p.unavailable(w, r, err)
			return
		default:
			data.Found = u
		}
	}
	a.render(w, r, status, "account_operator", data, false)
}

func (a *Account) findUser(ctx context.Context, q string) (*storage.User, error) {
	if len(q) > 320 {
		return nil, storage.ErrNotFound
	}
	if strings.Contains(q, "@") {
		return a.d.Directory.UserByEmail(ctx, strings.ToLower(q))
	}
	return a.d.Directory.UserByID(ctx, strings.ToLower(q))
}

// operatorActor is the operator as the account rules see them.
func operatorActor(ac *accountContext) identity.Actor {
	return identity.Actor{UserID: ac.user.ID, OrganizationID: ac.org.ID, Rank: ac.org.Role, Permissions: ac.perms}
}

// operatorFailed shows a refusal of the account rules on the operator page.
func (a *Account) operatorFailed(w http.ResponseWriter, r *http.Request, err error) {
	var last *identity.LastOwnerError
	switch {
	case errors.As(err, &last):
		a.p.RenderError(w, r, http.StatusConflict, "Cannot delete this user", last.Error(), "", "")
	case errors.Is(err, identity.ErrSelf):
		a.p.RenderError(w, r, http.StatusConflict, "Not your own account",
			"Operators do not disable or delete their own account here; delete it from your profile.", "", "")
	case errors.Is(err, identity.ErrUserNotFound):
		a.p.RenderError(w, r, http.StatusNotFound, "Not found", "There is no such user.", "", "")
	default:
		a.p.unavailable(w, r, err)
	}
}

// operatorSetDisabled disables or enables a user
// (POST /account/operator/users/{id}/disable|enable).
func (a *Account) operatorSetDisabled(w http.ResponseWriter, r *http.Request) {
	ac, ok := a.operatorContext(w, r, true)
	if !ok {
		return
	}
	ctx, id, disable := r.Context(), mux.Vars(r)["id"], mux.Vars(r)["action"] == "disable"
	if err := a.d.Lifecycle.MayManage(ctx, operatorActor(ac), id); err != nil {
		a.operatorFailed(w, r, err)
		return
	}
	u, err := a.d.Lifecycle.SetDisabled(ctx, audit.User(ac.user.ID), "", id, disable)
	if err != nil {
		a.operatorFailed(w, r, err)
		return
	}
	notice := "user-enabled"
	if disable {
		notice = "user-disabled"
	}
	a.p.Headers(w)
	redirect(w, "/account/operator?q="+u.ID+"&done="+notice)
}

// confirmOperatorDelete asks before deleting (GET /account/operator/users/{id}/delete).
func (a *Account) confirmOperatorDelete(w http.ResponseWriter, r *http.Request) {
	ac, ok := a.operatorContext(w, r, false)
	if !ok {
		return
	}
	ctx := r.Context()
	u, err := a.d.Directory.UserByID(ctx, mux.Vars(r)["id"])
	if errors.Is(err, storage.ErrNotFound) {
		a.operatorFailed(w, r, identity.ErrUserNotFound)
		return
	} else if err != nil {
		a.p.unavailable(w, r, err)
		return
	}
	a.render(w, r, http.StatusOK, "account_confirm", confirmPage{
		frame: a.frame(w, r, ac, "operator"), Title: "Delete user?",
		Message: "Delete " + u.Email + "? Their sessions and tokens end, the organizations only they belong to are deleted, and their personal data is erased. This cannot be undone.",
		Action:  "/account/operator/users/" + u.ID + "/delete", Button: "Delete user", Back: "/account/operator?q=" + u.ID,
	}, false)
}

// operatorDelete deletes a user after confirmation (POST /account/operator/users/{id}/delete).
func (a *Account) operatorDelete(w http.ResponseWriter, r *http.Request) {
	ac, ok := a.operatorContext(w, r, true)
	if !ok {
		return
	}
	ctx, id := r.Context(), mux.Vars(r)["id"]
	if err := a.d.Lifecycle.MayDelete(ctx, operatorActor(ac), id); err != nil {
		a.operatorFailed(w, r, err)
		return
	}
	if err := a.d.Lifecycle.DeleteUser(ctx, audit.User(ac.user.ID), "", id); err != nil {
		a.operatorFailed(w, r, err)
		return
	}
	a.afterPost(w, "/account/operator", "user-deleted")
}

// The notices of these pages join the account area's.
func init() {
	for k, v := range map[string]string{
		"consent-revoked": "Access removed. The application was signed out and will ask for your consent again.",
		"user-disabled":   "The user was disabled: their sessions and tokens were ended.",
		"user-enabled":    "The user was enabled: they can sign in again.",
		"user-deleted":    "The user was deleted and their personal data erased.",
	} {
		notices[k] = v
	}
}
