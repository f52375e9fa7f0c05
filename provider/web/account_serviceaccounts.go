package web

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/credentials"
	"github.com/arsaka/puguh/storage"
)

// ServiceAccounts is the service-account rules (credentials.Service), the
// ones POST/GET/DELETE /api/v1/service-accounts… call.
type ServiceAccounts interface {
	CreateServiceAccount(ctx context.Context, p *authz.Principal, name, role *string) (*credentials.CreatedServiceAccount, error)
	ListServiceAccounts(ctx context.Context, p *authz.Principal) ([]storage.ServiceAccount, error)
	ServiceAccount(ctx context.Context, p *authz.Principal, id string) (*storage.ServiceAccount, error)
	DeleteServiceAccount(ctx context.Context, p *authz.Principal, id string) error
	RotateServiceAccountSecret(ctx context.Context, p *authz.Principal, id string, overlap *string) (*credentials.RotatedSecret, error)
}

// permServiceAccountsPage is the tab's permission: like the other admin
// pages, the one to change what it lists (owners and admins). Members and
// viewers, who may only read service accounts, have the REST API.
const permServiceAccountsPage = authz.ServiceAccountsCreate

// serviceAccountsPage is the data of account_service_accounts.html.
type serviceAccountsPage struct {
	frame
	Accounts []serviceAccountRow
	Roles    []string
	Overlaps []overlapChoice
	Form     serviceAccountForm
	Errors   map[string]string
	// Created is set only in the response to the creating POST, Rotated
	// (with RotatedName) only in the response to a rotation: their
	// secrets are shown this once.
	Created     *credentials.CreatedServiceAccount
	Rotated     *credentials.RotatedSecret
	RotatedName string
	// PreviousWorks: the rotation left the previous secret an overlap.
	PreviousWorks bool
}

// serviceAccountForm is what the user typed into the create form.
type serviceAccountForm struct{ Name, Role string }

// serviceAccountRow is an account as the tab lists it: its secret's age,
// whether it is due for rotation (credentials.Due), and until when the
// previous secret still works, if it does.
type serviceAccountRow struct {
	storage.ServiceAccount
	SecretMadeAt   time.Time
	SecretAgeDays  int
	Due            bool
	PreviousEndsAt *time.Time
}

// secretOverlapChoices are the Rotate secret form's windows (REST's
// "overlap"): how long the previous secret keeps working.
var secretOverlapChoices = []overlapChoice{
	{"24h", "old secret works 24 hours"}, {"1h", "old secret works 1 hour"}, {"168h", "old secret works 7 days"},
	{"0s", "old secret stops now (compromised)"},
}

// serviceAccounts lists the organization's service accounts
// (GET /account/service-accounts).
func (a *Account) serviceAccounts(w http.ResponseWriter, r *http.Request) {
	ac, ok := a.signedIn(w, r)
	if !ok || !a.allowed(w, r, ac, permServiceAccountsPage) {
		return
	}
	data := a.serviceAccountsData(w, r, ac)
	data.Notice = noticeOf(r)
	a.renderServiceAccounts(w, r, http.StatusOK, ac, data)
}

func (a *Account) serviceAccountsData(w http.ResponseWriter, r *http.Request, ac *accountContext) serviceAccountsPage {
	data := serviceAccountsPage{frame: a.frame(w, r, ac, "service-accounts"), Overlaps: secretOverlapChoices}
	p := ac.principal()
	for _, role := range authz.Roles() {
		if p.MayGrant(role) {
			data.Roles = append(data.Roles, role)
		}
	}
	if slices.Contains(data.Roles, authz.Member) {
		data.Form.Role = authz.Member
	}
	return data
}

func (a *Account) renderServiceAccounts(w http.ResponseWriter, r *http.Request, status int, ac *accountContext, data serviceAccountsPage) {
	accounts, err := a.d.ServiceAccounts.ListServiceAccounts(r.Context(), ac.principal())
	if err != nil {
		a.p.unavailable(w, r, err)
		return
	}
	now := a.p.now()
	for _, sa := range accounts {
		made := credentials.SecretCreatedAt(&sa)
		data.Accounts = append(data.Accounts, serviceAccountRow{ServiceAccount: sa, SecretMadeAt: made, SecretAgeDays: int(now.Sub(made) / (24 * time.Hour)),
			Due: credentials.Due(made, now), PreviousEndsAt: credentials.PreviousSecretEndsAt(&sa, now)})
	}
	a.render(w, r, status, "account_service_accounts", data, data.Created != nil || data.Rotated != nil)
}

// createServiceAccount creates an account (POST /account/service-accounts)
// with the REST endpoint's rules and shows its client secret in this very
// response, once.
func (a *Account) createServiceAccount(w http.ResponseWriter, r *http.Request) {
	ac, ok := a.postForm(w, r)
	if !ok || !a.allowed(w, r, ac, authz.ServiceAccountsCreate) {
		return
	}
	data := a.serviceAccountsData(w, r, ac)
	data.Form = serviceAccountForm{Name: r.PostForm.Get("name"), Role: r.PostForm.Get("role")}
	var role *string
	if r.PostForm.Has("role") {
		role = &data.Form.Role
	}
	created, err := a.d.ServiceAccounts.CreateServiceAccount(r.Context(), ac.principal(), &data.Form.Name, role)
	if err != nil {
		fields, msg, status, ok := fieldErrors(err)
		if !ok {
			a.p.unavailable(w, r, err)
			return
		}
		if msg != "" && status == http.StatusForbidden {
			fields["role"] = "Your role cannot give a service account this role (" + msg + ")."
		} else if msg != "" {
			fields["name"] = msg
		}
		data.Errors = fields
		a.renderServiceAccounts(w, r, status, ac, data)
		return
	}
	data.Created = created
	data.Form.Name = ""
	a.renderServiceAccounts(w, r, http.StatusCreated, ac, data)
}

// rotateServiceAccountSecret gives an account a new client secret
// (POST /account/service-accounts/{id}/rotate-secret) with the REST
// endpoint's rules and overlap window, and shows it in this response, once.
func (a *Account) rotateServiceAccountSecret(w http.ResponseWriter, r *http.Request) {
	ac, ok := a.postForm(w, r)
	if !ok || !a.allowed(w, r, ac, authz.ServiceAccountsDelete) {
		return
	}
	p, id := ac.principal(), mux.Vars(r)["id"]
	overlap := r.PostForm.Get("overlap")
	rotated, err := a.d.ServiceAccounts.RotateServiceAccountSecret(r.Context(), p, id, &overlap)
	if err != nil {
		a.serviceAccountRefused(w, r, err, "Secret not rotated")
		return
	}
	data := a.serviceAccountsData(w, r, ac)
	data.Rotated, data.PreviousWorks = rotated, rotated.PreviousSecretEndsAt.After(a.p.now())
	if sa, err := a.d.ServiceAccounts.ServiceAccount(r.Context(), p, id); err == nil {
		data.RotatedName = sa.Name
	}
	a.renderServiceAccounts(w, r, http.StatusOK, ac, data)
}

// confirmDeleteServiceAccount asks before deleting
// (GET /account/service-accounts/{id}/delete).
func (a *Account) confirmDeleteServiceAccount(w http.ResponseWriter, r *http.Request) {
	ac, ok := a.signedIn(w, r)
	if !ok || !a.allowed(w, r, ac, authz.ServiceAccountsDelete) {
		return
	}
	sa, err := a.d.ServiceAccounts.ServiceAccount(r.Context(), ac.principal(), mux.Vars(r)["id"])
	if err != nil {
		a.serviceAccountRefused(w, r, err, "Service account not found")
		return
	}
	a.render(w, r, http.StatusOK, "account_confirm", confirmPage{
		frame: a.frame(w, r, ac, "service-accounts"), Title: "Delete service account?",
		Message: "Delete “" + sa.Name + "” (" + sa.ClientID + ")? Its client secret, its API keys and the tokens it holds stop working at once. This cannot be undone.",
		Action:  "/account/service-accounts/" + sa.ID + "/delete", Button: "Delete service account", Back: "/account/service-accounts",
	}, false)
}

// deleteServiceAccount deletes after confirmation
// (POST /account/service-accounts/{id}/delete) with the REST endpoint's rules.
func (a *Account) deleteServiceAccount(w http.ResponseWriter, r *http.Request) {
	ac, ok := a.postForm(w, r)
	if !ok || !a.allowed(w, r, ac, authz.ServiceAccountsDelete) {
		return
	}
	if err := a.d.ServiceAccounts.DeleteServiceAccount(r.Context(), ac.principal(), mux.Vars(r)["id"]); err != nil {
		a.serviceAccountRefused(w, r, err, "Service account not deleted")
		return
	}
	a.afterPost(w, "/account/service-accounts", "sa-deleted")
}

// serviceAccountRefused shows the error page with the REST API's status and
// words for a refused action (not found, rank, a bad overlap).
func (a *Account) serviceAccountRefused(w http.ResponseWriter, r *http.Request, err error, title string) {
	fields, msg, status, ok := fieldErrors(err)
	if !ok {
		a.p.unavailable(w, r, err)
		return
	}
	if msg == "" {
		msg = unshownErrors(fields)
	}
	a.p.RenderError(w, r, status, title, strings.TrimSpace(msg), "", "")
}
