package web

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/gorilla/mux"

	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/clients"
	"github.com/arsaka/puguh/storage"
)

// appsPage is the data of account_apps.html: the organization's OAuth
// applications and the form that registers one.
type appsPage struct {
	frame
	Apps   []storage.Application
	Form   appForm
	Errors map[string]string
	// Created and Secret are set only in the response to the creating POST:
	// the secret is shown this once.
	Created *storage.Application
	Secret  string
}

// appForm is what the user typed into the registration or settings form.
type appForm struct {
	Name, Type, RedirectURIs, PostLogoutRedirectURIs string
	// Scopes is space-separated ("openid profile read:user"); GrantTypes
	// are the checked boxes. Only the settings form has them.
	Scopes     string
	GrantTypes []string
}

// HasGrant tells the template whether a grant type's box is checked.
func (f appForm) HasGrant(g string) bool { return slices.Contains(f.GrantTypes, g) }

// grantChoice is one grant type's checkbox on the settings form.
type grantChoice struct{ Value, Label string }

// grantChoices are the grant types an application may register
// (clients.ApplicationFields.GrantTypes; the service refuses any other).
var grantChoices = []grantChoice{
	{"authorization_code", "Authorization code: users sign in through /oauth/authorize"},
	{"refresh_token", "Refresh token: renew tokens without the user (needs authorization code)"},
	{"client_credentials", "Client credentials: the application acts as itself (confidential only)"},
}

// appPage is the data of account_app.html: one application.
type appPage struct {
	frame
	App    *storage.Application
	Form   appForm
	Errors map[string]string
	Secret string // a freshly rotated secret, shown once
	Grants []grantChoice
}

// applications lists the applications (GET /account/applications).
func (a *Account) applications(w http.ResponseWriter, r *http.Request) {
	ac, ok := a.signedIn(w, r)
	if !ok || !a.allowed(w, r, ac, permAppsPage) {
		return
	}
	data := appsPage{frame: a.frame(w, r, ac, "applications"), Form: appForm{Type: "confidential"}}
	a.renderApps(w, r, http.StatusOK, ac, data)
}

func (a *Account) renderApps(w http.ResponseWriter, r *http.Request, status int, ac *accountContext, data appsPage) {
	apps, err := a.d.Apps.List(r.Context(), ac.principal())
	if err != nil {
		a.p.unavailable(w, r, err)
		return
	}
	data.Apps = apps
	a.render(w, r, status, "account_apps", data, data.Secret != "")
}

// lines splits a textarea into its non-empty, trimmed lines.
func lines(s string) []string {
	out := []string{}
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// createApplication registers an application (POST /account/applications)
// with the REST API's rules (clients.Service) and shows its client secret in
// this response only.
func (a *Account) createApplication(w http.ResponseWriter, r *http.Request) {
	ac, ok := a.postForm(w, r)
	if !ok || !a.allowed(w, r, ac, authz.ApplicationsCreate) {
		return
	}
	form := appForm{Name: r.PostForm.Get("name"), Type: r.PostForm.Get("type"),
		RedirectURIs: r.PostForm.Get("redirect_uris"), PostLogoutRedirectURIs: r.PostForm.Get("post_logout_redirect_uris")}
	public := form.Type == "public"
	redirects, postLogout := lines(form.RedirectURIs), lines(form.PostLogoutRedirectURIs)
	fields := clients.ApplicationFields{Name: &form.Name, RedirectURIs: &redirects, PostLogoutRedirectURIs: &postLogout, Public: &public}
	if public {
		none := "none"
		fields.TokenEndpointAuthMethod = &none
	}
	app, secret, err := a.d.Apps.Create(r.Context(), ac.principal(), fields)
	data := appsPage{frame: a.frame(w, r, ac, "applications"), Form: form}
	if err != nil {
		errs, msg, status, ok := fieldErrors(err)
		if !ok {
			a.p.unavailable(w, r, err)
			return
		}
		if msg != "" {
			errs["name"] = msg
		}
		data.Errors = errs
		a.renderApps(w, r, status, ac, data)
		return
	}
	data.Created, data.Secret, data.Form = app, secret, appForm{Type: "confidential"}
	a.renderApps(w, r, http.StatusCreated, ac, data)
}

// orgApplication loads the application in the path if it belongs to the
// organization the user acts in; any other is 404, as in the REST API.
func (a *Account) orgApplication(w http.ResponseWriter, r *http.Request, ac *accountContext) (*storage.Application, bool) {
	app, err := a.d.Apps.Get(r.Context(), ac.principal(), mux.Vars(r)["id"])
	if errors.Is(err, clients.ErrNoApplication) {
		a.p.RenderError(w, r, http.StatusNotFound, "Application not found", "This organization has no such application.", "", "")
		return nil, false
	}
	if err != nil {
		a.p.unavailable(w, r, err)
		return nil, false
	}
	return app, true
}

func formOf(app *storage.Application) appForm {
	return appForm{Name: app.Name, RedirectURIs: strings.Join(app.RedirectURIs, "\n"),
		PostLogoutRedirectURIs: strings.Join(app.PostLogoutRedirectURIs, "\n"),
		Scopes:                 strings.Join(app.Scopes, " "), GrantTypes: slices.Clone(app.GrantTypes)}
}

// application shows one application (GET /account/applications/{id}).
func (a *Account) application(w http.ResponseWriter, r *http.Request) {
	ac, ok := a.signedIn(w, r)
	if !ok || !a.allowed(w, r, ac, permAppsPage) {
		return
	}
	app, ok := a.orgApplication(w, r, ac)
	if !ok {
		return
	}
	data := appPage{frame: a.frame(w, r, ac, "applications"), App: app, Form: formOf(app), Grants: grantChoices}
	data.Notice = noticeOf(r)
	a.render(w, r, http.StatusOK, "account_app", data, false)
}

// settingsOf reads the settings form into the fields of a REST update
// (PATCH /api/v1/applications/{id}): clients.Service validates them with the
// same rules and messages. The form has no response types, since code is the
// only one: they follow the grant types (code with authorization_code, none
// without), so switching an application to client_credentials alone works
// in one save.
func settingsOf(r *http.Request) (appForm, clients.ApplicationFields) {
	form := appForm{Name: r.PostForm.Get("name"), RedirectURIs: r.PostForm.Get("redirect_uris"),
		PostLogoutRedirectURIs: r.PostForm.Get("post_logout_redirect_uris"),
		Scopes:                 r.PostForm.Get("scopes"), GrantTypes: r.PostForm["grant_types"]}
	if form.GrantTypes == nil {
		form.GrantTypes = []string{}
	}
	redirects, postLogout := lines(form.RedirectURIs), lines(form.PostLogoutRedirectURIs)
	scopes, grants := strings.Fields(form.Scopes), slices.Clone(form.GrantTypes)
	responses := []string{}
	if slices.Contains(grants, "authorization_code") {
		responses = []string{"code"}
	}
	return form, clients.ApplicationFields{Name: &form.Name, RedirectURIs: &redirects, PostLogoutRedirectURIs: &postLogout,
		Scopes: &scopes, GrantTypes: &grants, ResponseTypes: &responses}
}

// updateApplication saves the name, redirect URIs, grant types and scopes
// (POST /account/applications/{id}) with the REST API's validation.
func (a *Account) updateApplication(w http.ResponseWriter, r *http.Request) {
	ac, ok := a.postForm(w, r)
	if !ok || !a.allowed(w, r, ac, authz.ApplicationsUpdate) {
		return
	}
	app, ok := a.orgApplication(w, r, ac)
	if !ok {
		return
	}
	form, fields := settingsOf(r)
	original := *app
	_, _, err := a.d.Apps.Update(r.Context(), ac.principal(), app.ID, fields)
	if err != nil {
		errs, msg, status, ok := fieldErrors(err)
		if !ok {
			a.p.unavailable(w, r, err)
			return
		}
		if msg != "" {
			errs["name"] = msg
		}
		data := appPage{frame: a.frame(w, r, ac, "applications"), App: &original, Form: form, Errors: errs, Grants: grantChoices}
		data.Error = unshownErrors(errs, "name", "redirect_uris", "post_logout_redirect_uris", "grant_types", "scopes")
		a.render(w, r, status, "account_app", data, false)
		return
	}
	a.afterPost(w, "/account/applications/"+app.ID, "saved")
}

// rotateSecret replaces a confidential application's secret
// (POST /account/applications/{id}/secret) and shows the new one in this
// response only. The old secret stops working at once.
func (a *Account) rotateSecret(w http.ResponseWriter, r *http.Request) {
	ac, ok := a.postForm(w, r)
	if !ok || !a.allowed(w, r, ac, authz.ApplicationsUpdate) {
		return
	}
	app, ok := a.orgApplication(w, r, ac)
	if !ok {
		return
	}
	if app.Public {
		a.p.RenderError(w, r, http.StatusConflict, "No secret", "Public applications have no client secret.", "", "")
		return
	}
	secret, err := a.d.Apps.RotateSecret(r.Context(), ac.principal(), app.ID)
	if err != nil {
		a.p.unavailable(w, r, err)
		return
	}
	data := appPage{frame: a.frame(w, r, ac, "applications"), App: app, Form: formOf(app), Secret: secret, Grants: grantChoices}
	a.render(w, r, http.StatusOK, "account_app", data, true)
}

// unshownErrors words the errors of fields the form has no input for (a
// signing algorithm this server no longer has keys for), so that no refusal
// goes unexplained.
func unshownErrors(errs map[string]string, shown ...string) string {
	var out []string
	for f, msg := range errs {
		if !slices.Contains(shown, f) {
			out = append(out, f+": "+msg)
		}
	}
	slices.Sort(out)
	return strings.Join(out, "; ")
}
