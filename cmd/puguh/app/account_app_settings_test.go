package app_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

// restApplication is the part of GET /api/v1/applications/{id} the
// settings form changes.
type restApplication struct {
	Name          string   `json:"name"`
	RedirectURIs  []string `json:"redirect_uris"`
	GrantTypes    []string `json:"grant_types"`
	ResponseTypes []string `json:"response_types"`
	Scopes        []string `json:"scopes"`
}

func getApplication(t *testing.T, e *apptest.Env, owner *apptest.User, id string) restApplication {
	t.Helper()
	r := e.Do(http.MethodGet, "/api/v1/applications/"+id, nil, owner.Bearer()...)
	if r.Status != http.StatusOK {
		t.Fatalf("GET application: %d %s", r.Status, r.Body)
	}
	var a restApplication
	r.JSON(t, &a)
	return a
}

// restErrors PATCHes body through the REST API and returns its 422's first
// message per field, as the account pages show them.
func restErrors(t *testing.T, e *apptest.Env, owner *apptest.User, id string, body map[string]any) map[string]string {
	t.Helper()
	r := e.Do(http.MethodPatch, "/api/v1/applications/"+id, body, owner.Bearer()...)
	if r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("REST PATCH %v: %d %s, want 422", body, r.Status, r.Body)
	}
	var problem struct {
		Detail []struct {
			Loc []any  `json:"loc"`
			Msg string `json:"msg"`
		} `json:"detail"`
	}
	r.JSON(t, &problem)
	out := map[string]string{}
	for _, d := range problem.Detail {
		for i := len(d.Loc) - 1; i >= 0; i-- {
			if f, ok := d.Loc[i].(string); ok {
				if out[f] == "" {
					out[f] = d.Msg
				}
				break
			}
		}
	}
	return out
}

var fieldError = regexp.MustCompile(`<p class="field-error" id="(app-[a-z]+)-error">([^<]*)</p>`)

// pageErrors reads a settings page's field errors by the REST field they are for.
func pageErrors(body string) map[string]string {
	field := map[string]string{"app-name": "name", "app-redirects": "redirect_uris", "app-logout": "post_logout_redirect_uris",
		"app-grants": "grant_types", "app-scopes": "scopes"}
	out := map[string]string{}
	for _, m := range fieldError.FindAllStringSubmatch(body, -1) {
		out[field[m[1]]] = html.UnescapeString(m[2])
	}
	return out
}

// The application page edits scopes (the API guide's read:user
// read:resources), grant types and redirect URIs with the REST update's
// rules: every refusal shows, next to its field, exactly the message the
// REST API answers for the same change, with its status, and changes
// nothing. A client_credentials-only application saves in one go (the form
// derives the response types). The form needs its CSRF token, and a plain
// member of the organization is refused.
func TestAccountApplicationSettings(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	owner, member := e.NewUser(), e.NewUser()
	addMember(t, e, owner, member, "member")
	r := e.Do(http.MethodPost, "/api/v1/applications", map[string]any{"name": "Shop", "redirect_uris": []string{"https://shop.example/cb"}}, owner.Bearer()...)
	if r.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	var confidential struct{ ID string }
	r.JSON(t, &confidential)
	r = e.Do(http.MethodPost, "/api/v1/applications", map[string]any{"name": "SPA", "public": true, "redirect_uris": []string{"https://spa.example/cb"}}, owner.Bearer()...)
	if r.Status != http.StatusCreated {
		t.Fatalf("create public: %d %s", r.Status, r.Body)
	}
	var public struct{ ID string }
	r.JSON(t, &public)

	b := newBrowser(t, e)
	signIn(t, b, owner.Email, owner.Password)
	path := "/account/applications/" + confidential.ID
	p := b.get(path)
	for _, want := range []string{`name="scopes" type="text" value="openid profile email offline_access"`,
		`id="grant-authorization_code" name="grant_types" value="authorization_code" checked`,
		`id="grant-refresh_token" name="grant_types" value="refresh_token" checked`,
		`id="grant-client_credentials" name="grant_types" value="client_credentials">`} {
		if !strings.Contains(p.Body, want) {
			t.Fatalf("settings form lacks %s:\n%.5000s", want, p.Body)
		}
	}

	// The guide's scopes.
	p = postForm(t, b, path, path, url.Values{"name": {"Shop"}, "redirect_uris": {"https://shop.example/cb\nhttps://shop.example/cb2"},
		"grant_types": {"authorization_code", "refresh_token"}, "scopes": {"openid  offline_access read:user read:resources"}})
	if p.Status != http.StatusSeeOther || p.Location == nil || p.Location.Path != path {
		t.Fatalf("save: %d %v\n%.3000s", p.Status, p.Location, p.Body)
	}
	saved := getApplication(t, e, owner, confidential.ID)
	if !slices.Equal(saved.Scopes, []string{"openid", "offline_access", "read:user", "read:resources"}) ||
		!slices.Equal(saved.RedirectURIs, []string{"https://shop.example/cb", "https://shop.example/cb2"}) ||
		!slices.Equal(saved.GrantTypes, []string{"authorization_code", "refresh_token"}) {
		t.Fatalf("after save: %+v", saved)
	}
	if d := b.get(p.Location.String()); !strings.Contains(d.Body, "The application was saved.") ||
		!strings.Contains(d.Body, `value="openid offline_access read:user read:resources"`) {
		t.Errorf("page after save:\n%.3000s", d.Body)
	}

	type form struct {
		redirects string
		grants    []string
		scopes    string
	}
	cases := []struct {
		name  string
		app   string
		form  form
		field string // the field whose message the page must show
	}{
		{"scope not matching the pattern", confidential.ID, form{"https://shop.example/cb", []string{"authorization_code"}, "openid Read:User"}, "scopes"},
		{"duplicate scope", confidential.ID, form{"https://shop.example/cb", []string{"authorization_code"}, "openid openid"}, "scopes"},
		{"no grant type", confidential.ID, form{"https://shop.example/cb", nil, "openid"}, "grant_types"},
		{"unknown grant type", confidential.ID, form{"https://shop.example/cb", []string{"password"}, "openid"}, "grant_types"},
		{"refresh without code", confidential.ID, form{"", []string{"refresh_token", "client_credentials"}, "read:user"}, "grant_types"},
		{"code without redirect URI", confidential.ID, form{"", []string{"authorization_code"}, "openid"}, "redirect_uris"},
		{"plain-http redirect URI", confidential.ID, form{"http://shop.example/cb", []string{"authorization_code"}, "openid"}, "redirect_uris"},
		{"public client with client_credentials", public.ID, form{"https://spa.example/cb", []string{"authorization_code", "client_credentials"}, "openid"}, "grant_types"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := getApplication(t, e, owner, c.app)
			grants := c.form.grants
			if grants == nil {
				grants = []string{}
			}
			responses := []string{}
			if slices.Contains(grants, "authorization_code") {
				responses = []string{"code"}
			}
			redirects := []string{}
			if c.form.redirects != "" {
				redirects = []string{c.form.redirects}
			}
			want := restErrors(t, e, owner, c.app, map[string]any{"name": before.Name, "redirect_uris": redirects, "post_logout_redirect_uris": []string{},
				"grant_types": grants, "response_types": responses, "scopes": strings.Fields(c.form.scopes)})
			if want[c.field] == "" {
				t.Fatalf("REST gives no error at %s: %v", c.field, want)
			}
			at := "/account/applications/" + c.app
			p := postForm(t, b, at, at, url.Values{"name": {before.Name}, "redirect_uris": {c.form.redirects}, "grant_types": c.form.grants, "scopes": {c.form.scopes}})
			got := pageErrors(p.Body)
			if p.Status != http.StatusUnprocessableEntity || got[c.field] != want[c.field] {
				t.Fatalf("page: %d %v, want 422 with the REST API's %q at %s\n%.4000s", p.Status, got, want[c.field], c.field, p.Body)
			}
			for f, msg := range want {
				if got[f] != msg {
					t.Errorf("page %s error %q, REST %q", f, got[f], msg)
				}
			}
			if after := getApplication(t, e, owner, c.app); !slices.Equal(after.Scopes, before.Scopes) || !slices.Equal(after.GrantTypes, before.GrantTypes) ||
				!slices.Equal(after.RedirectURIs, before.RedirectURIs) {
				t.Errorf("a refused save changed the application: %+v -> %+v", before, after)
			}
		})
	}

	// client_credentials alone: no redirect URI, no response type needed.
	p = postForm(t, b, path, path, url.Values{"name": {"Shop backend"}, "redirect_uris": {""}, "grant_types": {"client_credentials"}, "scopes": {"read:resources"}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("client_credentials only: %d\n%.3000s", p.Status, p.Body)
	}
	if a := getApplication(t, e, owner, confidential.ID); !slices.Equal(a.GrantTypes, []string{"client_credentials"}) || len(a.ResponseTypes) != 0 ||
		len(a.RedirectURIs) != 0 || a.Name != "Shop backend" {
		t.Fatalf("client_credentials only: %+v", a)
	}

	// No CSRF token: refused, nothing changes.
	if p := b.post(path, url.Values{"name": {"Mallory"}, "grant_types": {"client_credentials"}, "scopes": {"openid"}}); p.Status != http.StatusForbidden ||
		!strings.Contains(p.Body, "Request refused") {
		t.Fatalf("without CSRF: %d", p.Status)
	}
	// A plain member acting in the organization: refused with the permission named.
	mb := newBrowser(t, e)
	signIn(t, mb, member.Email, member.Password)
	if p := postForm(t, mb, "/account", "/account/organization", url.Values{"organization_id": {owner.OrganizationID}}); p.Status != http.StatusSeeOther {
		t.Fatalf("switch organization: %d", p.Status)
	}
	p = postForm(t, mb, "/account", path, url.Values{"name": {"Mallory"}, "grant_types": {"client_credentials"}, "scopes": {"openid"}})
	if p.Status != http.StatusForbidden || !strings.Contains(p.Body, "Missing permission: applications.update") {
		t.Fatalf("member: %d\n%.2000s", p.Status, p.Body)
	}
	if a := getApplication(t, e, owner, confidential.ID); a.Name != "Shop backend" {
		t.Fatalf("refused posts changed the application: %+v", a)
	}
}
