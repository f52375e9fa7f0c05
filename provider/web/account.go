package web

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/clients"
	"github.com/arsaka/puguh/provider/credentials"
	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/provider/identity"
	"github.com/arsaka/puguh/provider/password"
	"github.com/arsaka/puguh/storage"
	"github.com/arsaka/puguh/templates"
)

// AccountStore is what the sign-up page and the account area read and
// write themselves; every rule lives in the domain services below.
type AccountStore interface {
	UserByID(ctx context.Context, id string) (*storage.User, error)
	UserByEmail(ctx context.Context, email string) (*storage.User, error)
	UpdateUserProfile(ctx context.Context, id, fullName string) error
	UpdateUserPassword(ctx context.Context, id, passwordHash string) error
	OrganizationsOfUser(ctx context.Context, userID string) ([]storage.UserOrganization, error)
	SessionsOfUser(ctx context.Context, userID string, now time.Time) ([]storage.BrowserSession, error)
}

// Registrar creates accounts with the REST register endpoint's own rules and
// messages (identity.SignIn).
type Registrar interface {
	Register(ctx context.Context, email, password, fullName *string) (*identity.Registration, error)
	// RegisterInvited registers without mailing a confirmation link: the
	// invitation being accepted proves the address.
	RegisterInvited(ctx context.Context, email, password, fullName *string) (*identity.Registration, error)
}

// PasswordChanger changes a signed-in user's password (identity.Changes),
// ending every session but keepSession and every token grant of the user.
type PasswordChanger interface {
	ChangePassword(ctx context.Context, userID, keepSession, method string, current, next *string) error
}

// EmailChanger asks for a new sign-in address (identity.Changes, as the REST
// API does): the password checked, a link mailed to the new address.
type EmailChanger interface {
	RequestEmailChange(ctx context.Context, userID string, pw, newEmail *string) (string, error)
}

// GrantEnder ends every session but one and every token grant of a user
// (identity.Service.EndGrants).
type GrantEnder interface {
	EndGrants(ctx context.Context, userID, keepSession string) error
}

// Members is the membership rules (orgs.Service).
type Members interface {
	Members(ctx context.Context, p *authz.Principal, orgID string, page storage.Page) ([]storage.Member, error)
	AddMember(ctx context.Context, p *authz.Principal, orgID string, email, role *string) (*storage.Member, error)
	ChangeRole(ctx context.Context, p *authz.Principal, orgID, userID string, role *string) (*storage.Member, error)
	RemoveMember(ctx context.Context, p *authz.Principal, orgID, userID string) error
	Manageable(ctx context.Context, p *authz.Principal, orgID, userID string) (*storage.Membership, error)
}

// APIKeys is the API-key rules (credentials.Service): permission ceilings,
// validation, cache eviction.
type APIKeys interface {
	CreateKey(ctx context.Context, p *authz.Principal, req credentials.KeyRequest) (*credentials.CreatedKey, error)
	ListKeys(ctx context.Context, p *authz.Principal) ([]storage.APIKey, error)
	RevokeKey(ctx context.Context, p *authz.Principal, id string) error
	RotateKey(ctx context.Context, p *authz.Principal, id string, overlap *string) (*credentials.RotatedKey, error)
}

// Applications is the application rules (clients.Service).
type Applications interface {
	Create(ctx context.Context, p *authz.Principal, f clients.ApplicationFields) (*storage.Application, string, error)
	List(ctx context.Context, p *authz.Principal) ([]storage.Application, error)
	Get(ctx context.Context, p *authz.Principal, id string) (*storage.Application, error)
	Update(ctx context.Context, p *authz.Principal, id string, f clients.ApplicationFields) (*storage.Application, string, error)
	RotateSecret(ctx context.Context, p *authz.Principal, id string) (string, error)
}

// AccountDeps are the account area's dependencies beyond the shared Pages.
type AccountDeps struct {
	Store  AccountStore
	SignIn Registrar
	Hasher *password.Hasher
	Grants GrantEnder
	// Passwords is the password change the REST API makes too.
	Passwords PasswordChanger
	Members   Members
	// Invitations is the invitation rules (orgs.Invitations); nil: the
	// members page only adds existing accounts.
	Invitations Invitations
	APIKeys     APIKeys
	Apps        Applications
	// Connections is the federation rules (federation.Service); nil: no
	// single sign-on tab.
	Connections Connections
	// MFA is the second-factor rules; nil: no security tab.
	MFA AccountMFA
	// Passkeys is the passkey rules; nil: no passkeys on the security tab.
	Passkeys AccountPasskeys

	// MFAPolicies is the organization second-factor policy, on the security
	// tab for owners and admins; nil: not shown.
	MFAPolicies AccountMFAPolicies
	// Audit reads the audit log (audit.Service); nil: the activity page
	// shows nothing.
	Audit AuditLog
	// Consents are the user's connected applications (clients.Service);
	// nil: no connected-apps tab.
	Consents Consents
	// Lifecycle deletes accounts and serves the operator page
	// (identity.Service), finding users in Directory; nil: neither page.
	Lifecycle Lifecycle
	Directory Directory
	// ServiceAccounts is the service-account rules (credentials.Service);
	// nil: no service accounts tab.
	ServiceAccounts ServiceAccounts
	// RequireVerifiedEmail (PUGUH_REQUIRE_VERIFIED_EMAIL): sign-up does not
	// sign in; it asks the new user to open the confirmation link first.
	RequireVerifiedEmail bool
	// EmailChanges is the email change the REST API makes too; nil: the
	// profile page shows no form for it.
	EmailChanges EmailChanger
}

// Account serves sign-up (/signup) and the account area (/account…): profile,
// password, organizations, sessions, API keys, and, for organization admins,
// members and applications. It reuses the sign-in pages' layout, session,
// CSRF and header helpers.
type Account struct {
	p     *Pages
	d     AccountDeps
	pages map[string]*template.Template
}

// accountTemplates are the page files of sign-up and the account area; each
// is parsed with layout.html and, but for sign-up, account_nav.html.
var accountTemplates = []string{"signup", "account", "account_apikeys", "account_members", "account_apps", "account_app", "account_confirm", "account_security", "account_audit", "account_sso", "account_service_accounts", "invitation", "account_connected", "account_delete", "account_operator"}

// NewAccount parses the account area's templates.
func NewAccount(p *Pages, d AccountDeps) (*Account, error) {
	a := &Account{p: p, d: d, pages: map[string]*template.Template{}}
	funcs := template.FuncMap{"when": formatTime, "whenPtr": formatTimePtr}
	for _, name := range accountTemplates {
		files := []string{"layout.html", "account_nav.html", name + ".html"}
		if name == "signup" || name == "invitation" {
			files = []string{"layout.html", name + ".html"} // nobody is signed in yet
		}
		if name == "account_security" {
			files = append(files, "account_mfa_policy.html")
		}
		t, err := template.New("").Funcs(funcs).ParseFS(templates.FS, files...)
		if err != nil {
			return nil, fmt.Errorf("web: parse %s: %w", name, err)
		}
		a.pages[name] = t
	}
	return a, nil
}

// Mount registers sign-up and the account area.
func (a *Account) Mount(r *mux.Router) {
	r = a.p.limitBodies(r)
	r.HandleFunc("/signup", a.signupForm).Methods(http.MethodGet)
	r.HandleFunc("/signup", a.signup).Methods(http.MethodPost)
	r.HandleFunc("/account", a.profile).Methods(http.MethodGet)
	r.HandleFunc("/account/profile", a.updateProfile).Methods(http.MethodPost)
	r.HandleFunc("/account/password", a.changePassword).Methods(http.MethodPost)
	r.HandleFunc("/account/email", a.changeEmail).Methods(http.MethodPost)
	r.HandleFunc("/account/organization", a.switchOrganization).Methods(http.MethodPost)
	r.HandleFunc("/account/sessions/end", a.endSession).Methods(http.MethodPost)
	r.HandleFunc("/account/api-keys", a.apiKeys).Methods(http.MethodGet)
	r.HandleFunc("/account/api-keys", a.createAPIKey).Methods(http.MethodPost)
	r.HandleFunc("/account/api-keys/{id}/revoke", a.confirmRevokeAPIKey).Methods(http.MethodGet)
	r.HandleFunc("/account/api-keys/{id}/revoke", a.revokeAPIKey).Methods(http.MethodPost)
	r.HandleFunc("/account/api-keys/{id}/rotate", a.rotateAPIKey).Methods(http.MethodPost)
	r.HandleFunc("/account/members", a.members).Methods(http.MethodGet)
	r.HandleFunc("/account/members", a.inviteMember).Methods(http.MethodPost)
	r.HandleFunc("/account/members/{user}/role", a.changeRole).Methods(http.MethodPost)
	r.HandleFunc("/account/members/{user}/remove", a.confirmRemoveMember).Methods(http.MethodGet)
	r.HandleFunc("/account/members/{user}/remove", a.removeMember).Methods(http.MethodPost)
	r.HandleFunc("/account/sso", a.sso).Methods(http.MethodGet)
	r.HandleFunc("/account/sso", a.createConnection).Methods(http.MethodPost)
	r.HandleFunc("/account/sso/{id}/delete", a.confirmDeleteConnection).Methods(http.MethodGet)
	r.HandleFunc("/account/sso/{id}/delete", a.deleteConnection).Methods(http.MethodPost)
	r.HandleFunc("/account/applications", a.applications).Methods(http.MethodGet)
	r.HandleFunc("/account/applications", a.createApplication).Methods(http.MethodPost)
	r.HandleFunc("/account/applications/{id}", a.application).Methods(http.MethodGet)
	r.HandleFunc("/account/applications/{id}", a.updateApplication).Methods(http.MethodPost)
	r.HandleFunc("/account/applications/{id}/secret", a.rotateSecret).Methods(http.MethodPost)
	r.HandleFunc("/account/service-accounts", a.serviceAccounts).Methods(http.MethodGet)
	r.HandleFunc("/account/service-accounts", a.createServiceAccount).Methods(http.MethodPost)
	r.HandleFunc("/account/service-accounts/{id}/rotate-secret", a.rotateServiceAccountSecret).Methods(http.MethodPost)
	r.HandleFunc("/account/service-accounts/{id}/delete", a.confirmDeleteServiceAccount).Methods(http.MethodGet)
	r.HandleFunc("/account/service-accounts/{id}/delete", a.deleteServiceAccount).Methods(http.MethodPost)
	a.mountSecurity(r)
	a.mountLifecycle(r)
	a.mountPasskeys(r)
	a.mountMFAPolicy(r)
	a.mountInvitations(r)
	r.HandleFunc("/account/audit", a.auditLog).Methods(http.MethodGet)
}

// render writes an account page with the shared security headers. scripts
// allows our own /static/ scripts (the copy button); inline script stays
// forbidden.
func (a *Account) render(w http.ResponseWriter, r *http.Request, status int, page string, data any, scripts bool) {
	var buf bytes.Buffer
	if err := a.pages[page].ExecuteTemplate(&buf, "layout", data); err != nil {
		httpapi.Logger(r.Context()).Error("web: render page", "page", page, "error", err)
		a.p.Headers(w)
		http.Error(w, "Internal server error", http.StatusInternalServerError)
		return
	}
	a.p.Headers(w)
	if scripts {
		h := w.Header()
		h.Set("Content-Security-Policy", strings.Replace(h.Get("Content-Security-Policy"),
			"default-src 'none';", "default-src 'none'; script-src 'self'; connect-src 'self';", 1))
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// frame is what every account page shows around its content: who is signed
// in, the organization switcher and the tabs the user may open.
type frame struct {
	CSRF   string
	Tab    string
	User   *storage.User
	Orgs   []storage.UserOrganization
	Org    storage.UserOrganization
	Notice string
	Error  string

	CanKeys, CanMembers, CanApps bool
	CanSSO                       bool
	// CanConnected shows the connected-apps tab, CanOperate the operator's.
	CanConnected, CanOperate bool
	// CanSecurity shows the security tab (second factors).
	CanSecurity bool
	// CanServiceAccounts shows the service accounts tab.
	CanServiceAccounts bool
}

// accountContext is the signed-in user as one request sees them.
type accountContext struct {
	sess  *storage.BrowserSession
	user  *storage.User
	orgs  []storage.UserOrganization
	org   storage.UserOrganization
	perms authz.Set
}

// Permissions of the admin pages: each page needs the permission to change
// what it lists; a member who may only read members has the REST API.
const (
	permMembersPage = authz.MembersCreate
	permAppsPage    = authz.ApplicationsCreate
	permKeysPage    = authz.APIKeysRead
)

// frame builds the page frame for tab.
func (a *Account) frame(w http.ResponseWriter, r *http.Request, ac *accountContext, tab string) frame {
	return frame{
		CSRF: a.p.CSRFToken(w, r), Tab: tab, User: ac.user, Orgs: ac.orgs, Org: ac.org,
		CanKeys: ac.perms.Has(permKeysPage), CanMembers: ac.perms.Has(permMembersPage), CanApps: ac.perms.Has(permAppsPage),
		CanSSO:      a.d.Connections != nil && ac.perms.Has(permSSOPage),
		CanSecurity: a.d.MFA != nil,
		// The service accounts tab (account_serviceaccounts.go).
		CanServiceAccounts: a.d.ServiceAccounts != nil && ac.perms.Has(permServiceAccountsPage),
		CanConnected:       a.d.Consents != nil,
		CanOperate:         a.isOperator(r, ac),
	}
}

// isOperator reports whether the signed-in user is a platform operator, for
// the operator tab; an error hides the tab (the page itself checks again).
func (a *Account) isOperator(r *http.Request, ac *accountContext) bool {
	if a.d.Lifecycle == nil {
		return false
	}
	op, err := a.d.Lifecycle.IsOperator(r.Context(), ac.user.ID)
	return err == nil && op
}

// orgCookie keeps the organization the user is acting in. It is only a
// preference: every request checks the user's membership again, so a forged
// value selects nothing the user could not select themselves.
const orgCookie = "puguh_org"

// signedIn loads the signed-in user and the organization they act in. Without
// a session it sends the browser to sign in (and back) and answers false.
// Form posts must have passed CheckForm first.
func (a *Account) signedIn(w http.ResponseWriter, r *http.Request) (*accountContext, bool) {
	sess, err := a.p.CurrentSession(r)
	if err != nil {
		a.p.unavailable(w, r, err)
		return nil, false
	}
	if sess == nil {
		a.p.Headers(w)
		target := r.URL.Path
		if r.Method != http.MethodGet {
			target = "/account"
		}
		redirect(w, "/login?return_to="+url.QueryEscape(target))
		return nil, false
	}
	ctx := r.Context()
	user, err := a.d.Store.UserByID(ctx, sess.UserID)
	if err != nil || user.Disabled {
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			a.p.unavailable(w, r, err)
			return nil, false
		}
		// The account is gone or disabled: end the session.
		if err := a.p.endSessionByID(ctx, sess.ID); err != nil {
			httpapi.Logger(ctx).Warn("web: end session of a disabled user", "error", err)
		}
		a.p.clearSession(w)
		a.p.Headers(w)
		redirect(w, "/login")
		return nil, false
	}
	orgs, err := a.d.Store.OrganizationsOfUser(ctx, user.ID)
	if err != nil {
		a.p.unavailable(w, r, err)
		return nil, false
	}
	ac := &accountContext{sess: sess, user: user, orgs: orgs}
	ac.org = pickOrganization(orgs, a.p.cookie(r, orgCookie))
	ac.perms = authz.ForRole(ac.org.Role)
	return ac, true
}

// pickOrganization is the chosen organization if the user belongs to it, else
// the personal one, else the oldest.
func pickOrganization(orgs []storage.UserOrganization, chosen string) storage.UserOrganization {
	var personal *storage.UserOrganization
	for i := range orgs {
		if orgs[i].ID == chosen && chosen != "" {
			return orgs[i]
		}
		if orgs[i].Personal && personal == nil {
			personal = &orgs[i]
		}
	}
	switch {
	case personal != nil:
		return *personal
	case len(orgs) > 0:
		return orgs[0]
	}
	return storage.UserOrganization{}
}

// allowed answers 403 with the error page unless the user holds perm in the
// organization they act in. Pages hide what a user may not do; this is the
// server refusing it regardless.
func (a *Account) allowed(w http.ResponseWriter, r *http.Request, ac *accountContext, perm string) bool {
	if ac.org.ID != "" && ac.perms.Has(perm) {
		return true
	}
	a.p.RenderError(w, r, http.StatusForbidden, "Access denied",
		"Your role in this organization does not allow this. Ask an owner or admin of the organization.",
		"Missing permission: "+perm, "")
	return false
}

// principal is the user acting in their current organization, as the REST
// API would see them with a Bearer token.
func (ac *accountContext) principal() *authz.Principal {
	return &authz.Principal{Type: authz.TypeUser, ID: ac.user.ID, OrganizationID: ac.org.ID, Role: ac.org.Role, Permissions: ac.perms}
}

// postForm checks a form post (origin and CSRF token) and the session.
func (a *Account) postForm(w http.ResponseWriter, r *http.Request) (*accountContext, bool) {
	if !a.p.CheckForm(w, r) {
		return nil, false
	}
	return a.signedIn(w, r)
}

// sessionHandle names a session on the page without revealing its stored id.
func (a *Account) sessionHandle(id string) string {
	m := hmac.New(sha256.New, a.p.csrfKey)
	m.Write([]byte("session handle\x00" + id))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

// afterPost ends a successful form post: 303 to a GET page (Post/Redirect/Get)
// with a short notice code in the query; never a secret.
func (a *Account) afterPost(w http.ResponseWriter, target, notice string) {
	a.p.Headers(w)
	if notice != "" {
		target += "?done=" + url.QueryEscape(notice)
	}
	redirect(w, target)
}

// notices are the messages a redirect may ask a page to show.
var notices = map[string]string{
	"profile":            "Your profile was saved.",
	"password":           "Your password was changed. Your other sessions were signed out.",
	"org":                "Organization switched.",
	"session":            "The session was signed out.",
	"revoked":            "The API key was revoked. It no longer works.",
	"invited":            "The member was added.",
	"role":               "The role was changed.",
	"removed":            "The member was removed.",
	"saved":              "The application was saved.",
	"connected":          "The identity provider was connected. Register the redirect URI shown below with it.",
	"disconnected":       "The identity provider was disconnected. Its domains sign in with passwords again.",
	"totp-removed":       "The authenticator app was removed. Sign-ins no longer ask for a code.",
	"sa-deleted":         "The service account was deleted. Its secret, API keys and tokens no longer work.",
	"passkey-new":        "The passkey was added. You can sign in with it.",
	"passkey-gone":       "The passkey was removed.",
	"invitation-sent":    "The invitation was sent.",
	"invitation-revoked": "The invitation was revoked. Its link no longer works.",
	"joined":             "You joined the organization.",
}

func noticeOf(r *http.Request) string { return notices[r.URL.Query().Get("done")] }

// formatTime shows a time in UTC, to the minute.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func formatTimePtr(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return formatTime(*t)
}

// fieldErrors turns a domain problem (or the REST API's 422) into messages
// by field name, with the status the REST API would answer. ok is false for
// anything but a client error (4xx).
func fieldErrors(err error) (fields map[string]string, msg string, status int, ok bool) {
	he, ok := httpapi.AsError(err)
	if !ok || he.Status >= 500 {
		return nil, "", 0, false
	}
	out := map[string]string{}
	if issues, ok := he.Detail.([]httpapi.Issue); ok {
		for _, is := range issues {
			// The field is the last name in loc: ["body", "redirect_uris", 2].
			for i := len(is.Loc) - 1; i >= 0; i-- {
				if f, ok := is.Loc[i].(string); ok {
					if out[f] == "" {
						out[f] = is.Msg
					}
					break
				}
			}
		}
		return out, "", he.Status, true
	}
	msg, _ = he.Detail.(string)
	return out, msg, he.Status, true
}
