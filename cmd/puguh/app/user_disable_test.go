package app_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

const operatorEmail = "operator@example.com"

// forEachDeploymentWith starts Puguh with extra configuration on SQLite
// alone and on PostgreSQL + Redis.
func forEachDeploymentWith(t *testing.T, env map[string]string, fn func(t *testing.T, e *apptest.Env)) {
	for _, d := range apptest.Deployments() {
		t.Run(d.Name, func(t *testing.T) {
			o := d.Options
			o.Env = env
			fn(t, apptest.Start(t, o))
		})
	}
}

// Disabling a user ends everything the user holds before the request
// answers: REST tokens, refresh tokens, the browser session, OAuth tokens of
// an application, a code not yet redeemed, and the API keys the user made
// (until enabled again). On SQLite and PostgreSQL.
func TestDisablingAUserEndsEverythingTheyHold(t *testing.T) {
	forEachDeploymentWith(t, map[string]string{"PUGUH_PLATFORM_OPERATORS": operatorEmail}, func(t *testing.T, e *apptest.Env) {
		operator := e.RegisterAndLogin(operatorEmail, "operator passphrase", "Operator")
		owner := e.NewUser()
		app := registerApp(t, e, owner, appOptions{})
		victim := e.NewUser() // holds REST tokens
		r := e.Do(http.MethodPost, "/api/v1/api-keys", map[string]string{"name": "victim's"}, victim.Bearer()...)
		if r.Status != http.StatusCreated {
			t.Fatalf("key: %d %s", r.Status, r.Body)
		}
		var key struct {
			Key string `json:"key"`
		}
		r.JSON(t, &key)
		keyHeaders := []string{"X-API-Key", key.Key, "X-Organization-ID", victim.OrganizationID}
		browser := newBrowser(t, e)
		signIn(t, browser, victim.Email, victim.Password)
		oauthAccess, oauthRefresh := exchangeCode(t, e, app, victim, "openid offline_access")
		pendingCode := codeFrom(t, e, app, newBrowser(t, e).authorize(codeQuery(app, "openid offline_access"), victim))
		if s := e.Do(http.MethodGet, "/api/v1/health", nil, keyHeaders...).Status; s != http.StatusOK {
			t.Fatalf("key before: %d", s)
		}

		r = e.Do(http.MethodPost, "/api/v1/iam/users/"+victim.ID+"/disable", nil, operator.Bearer()...)
		if r.Status != http.StatusOK {
			t.Fatalf("disable: %d %s", r.Status, r.Body)
		}
		var state struct {
			ID       string `json:"id"`
			Email    string `json:"email"`
			Disabled bool   `json:"disabled"`
		}
		r.JSON(t, &state)
		if state.ID != victim.ID || state.Email != victim.Email || !state.Disabled {
			t.Fatalf("disable answered %s", r.Body)
		}

		if r := e.Do(http.MethodGet, "/api/v1/iam/users/me", nil, victim.Bearer()...); r.Status != 401 || string(r.Body) != `{"detail":"Invalid or expired token"}` {
			t.Errorf("REST access token: %d %s, want 401", r.Status, r.Body)
		}
		if r := e.Do(http.MethodPost, "/api/v1/auth/refresh", map[string]string{"refresh_token": victim.RefreshToken}); r.Status != 401 ||
			string(r.Body) != `{"detail":"Invalid or expired refresh token"}` {
			t.Errorf("REST refresh: %d %s, want 401 Invalid or expired refresh token", r.Status, r.Body)
		}
		if r := e.Do(http.MethodPost, "/api/v1/auth/login", map[string]string{"email": victim.Email, "password": victim.Password}); r.Status != 401 ||
			string(r.Body) != `{"detail":"Invalid email or password"}` {
			t.Errorf("login: %d %s, want the ordinary 401", r.Status, r.Body)
		}
		if r := e.Do(http.MethodGet, "/api/v1/health", nil, keyHeaders...); r.Status != 401 || string(r.Body) != `{"detail":"Invalid API key"}` {
			t.Errorf("API key: %d %s, want 401", r.Status, r.Body)
		}
		if p := browser.get("/account"); p.Status != http.StatusSeeOther || p.Location.Path != "/login" {
			t.Errorf("browser session: %d %v, want 303 to /login", p.Status, p.Location)
		}
		if s := userinfoStatus(e, oauthAccess); s != http.StatusUnauthorized {
			t.Errorf("OAuth access token at userinfo: %d, want 401", s)
		}
		token := func(form url.Values) *apptest.Response {
			form.Set("client_id", app.ID)
			form.Set("client_secret", app.Secret)
			return e.Do(http.MethodPost, "/oauth/token", form.Encode(), "Content-Type", "application/x-www-form-urlencoded")
		}
		if r := token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {oauthRefresh}}); r.Status != 400 ||
			!strings.Contains(string(r.Body), `"error":"invalid_grant"`) {
			t.Errorf("OAuth refresh: %d %s, want 400 invalid_grant", r.Status, r.Body)
		}
		r = token(url.Values{"grant_type": {"authorization_code"}, "code": {pendingCode}, "redirect_uri": {app.RedirectURI}})
		if r.Status != 400 || !strings.Contains(string(r.Body), `"error":"invalid_grant"`) {
			t.Errorf("a code issued before the user was disabled: %d %s, want 400 invalid_grant", r.Status, r.Body)
		}

		r = e.Do(http.MethodPost, "/api/v1/iam/users/"+victim.ID+"/enable", nil, operator.Bearer()...)
		if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"disabled":false`) {
			t.Fatalf("enable: %d %s", r.Status, r.Body)
		}
		oldRefresh := victim.RefreshToken
		e.Login(victim)
		if r := e.Do(http.MethodGet, "/api/v1/iam/users/me", nil, victim.Bearer()...); r.Status != http.StatusOK {
			t.Errorf("after enabling, a new login: %d %s", r.Status, r.Body)
		}
		if s := e.Do(http.MethodGet, "/api/v1/health", nil, keyHeaders...).Status; s != http.StatusOK {
			t.Errorf("after enabling, the user's API key: %d, want 200", s)
		}
		// What disabling ended stays ended.
		if r := token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {oauthRefresh}}); r.Status != 400 ||
			!strings.Contains(string(r.Body), `"error":"invalid_grant"`) {
			t.Errorf("enabling revived a revoked OAuth refresh token: %d %s", r.Status, r.Body)
		}
		if r := e.Do(http.MethodPost, "/api/v1/auth/refresh", map[string]string{"refresh_token": oldRefresh}); r.Status != 401 ||
			string(r.Body) != `{"detail":"Invalid or expired refresh token"}` {
			t.Errorf("enabling revived a revoked REST refresh token: %d %s", r.Status, r.Body)
		}
		if p := browser.get("/account"); p.Status != http.StatusSeeOther || p.Location.Path != "/login" {
			t.Errorf("enabling revived the browser session: %d %v", p.Status, p.Location)
		}
	})
}

// Who may disable whom: operators anyone but themselves; owners (and owner
// credentials) only users their organization manages.
func TestWhoMayDisableAUser(t *testing.T) {
	forEachDeploymentWith(t, map[string]string{"PUGUH_PLATFORM_OPERATORS": operatorEmail}, func(t *testing.T, e *apptest.Env) {
		operator := e.RegisterAndLogin(operatorEmail, "operator passphrase", "Operator")
		owner := e.NewUser()
		org := owner.OrganizationID
		join := func(role string) *apptest.User {
			u := e.NewUser()
			r := e.Do(http.MethodPost, "/api/v1/organizations/"+org+"/members", map[string]string{"email": u.Email, "role": role}, owner.Bearer()...)
			if r.Status != http.StatusCreated {
				t.Fatalf("join: %d %s", r.Status, r.Body)
			}
			return u
		}
		admin, managed, managedToo := join("admin"), join("member"), join("viewer")
		elsewhere := join("member")
		other := e.NewUser()
		if r := e.Do(http.MethodPost, "/api/v1/organizations/"+other.OrganizationID+"/members",
			map[string]string{"email": elsewhere.Email, "role": "viewer"}, other.Bearer()...); r.Status != http.StatusCreated {
			t.Fatalf("join elsewhere: %d %s", r.Status, r.Body)
		}
		r := e.Do(http.MethodPost, "/api/v1/api-keys", map[string]string{"name": "owner's"}, owner.Bearer()...)
		var key struct {
			Key string `json:"key"`
		}
		r.JSON(t, &key)
		ownerKey := []string{"X-API-Key", key.Key, "X-Organization-ID", org}
		inOrg := func(u *apptest.User) []string { return append(u.Bearer(), "X-Organization-ID", org) }

		for _, tc := range []struct {
			name    string
			headers []string
			target  string
			status  int
			body    string
		}{
			{"admin lacks the permission", inOrg(admin), managed.ID, 403, `{"detail":"Missing permission: iam.users.disable"}`},
			{"owner, a user who also belongs elsewhere", inOrg(owner), elsewhere.ID, 403,
				`{"detail":"The user belongs to other organizations; only a platform operator can change their account"}`},
			{"owner, a user of another organization", inOrg(owner), other.ID, 404, `{"detail":"User not found"}`},
			{"owner, an unknown user", inOrg(owner), "00000000-0000-4000-8000-000000000000", 404, `{"detail":"User not found"}`},
			{"owner, themselves", inOrg(owner), owner.ID, 409, `{"detail":"You cannot disable or enable your own account"}`},
			{"operator, themselves", operator.Bearer(), operator.ID, 409, `{"detail":"You cannot disable or enable your own account"}`},
			{"not a uuid", inOrg(owner), "nope", 422,
				`{"detail":[{"loc":["path","id"],"msg":"value is not a valid uuid","type":"type_error.uuid"}]}`},
			{"owner, a managed member", inOrg(owner), managed.ID, 200, ""},
			{"owner's API key, a managed member", ownerKey, managedToo.ID, 200, ""},
			{"operator, a user of any organization", operator.Bearer(), elsewhere.ID, 200, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := e.Do(http.MethodPost, "/api/v1/iam/users/"+tc.target+"/disable", nil, tc.headers...)
				if r.Status != tc.status || (tc.body != "" && string(r.Body) != tc.body) {
					t.Fatalf("%d %s, want %d %s", r.Status, r.Body, tc.status, tc.body)
				}
			})
		}
	})
}
