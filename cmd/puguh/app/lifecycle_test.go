package app_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

// count runs a COUNT(*) query on the test server's database.
func count(t *testing.T, e *apptest.Env, query string, args ...any) int {
	t.Helper()
	db := e.App.Store().DB()
	var n int
	if err := db.Get(&n, db.Rebind(query), args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// userKey creates an API key of u in u's personal organization and returns
// the headers that use it.
func userKey(t *testing.T, e *apptest.Env, u *apptest.User) []string {
	t.Helper()
	r := e.Do(http.MethodPost, "/api/v1/api-keys", map[string]string{"name": "key of " + u.Email}, u.Bearer()...)
	if r.Status != http.StatusCreated {
		t.Fatalf("key: %d %s", r.Status, r.Body)
	}
	var key struct {
		Key string `json:"key"`
	}
	r.JSON(t, &key)
	return []string{"X-API-Key", key.Key, "X-Organization-ID", u.OrganizationID}
}

// Deleting a user (an operator, through REST) ends everything they hold as
// disabling does, deletes the organization only they belonged to with what it
// held, and erases their rows; the audit log keeps the events by id, without
// the addresses and user agents of their requests. The email can sign up again.
func TestDeletingAUserEndsEverythingAndErasesThem(t *testing.T) {
	forEachDeploymentWith(t, map[string]string{"PUGUH_PLATFORM_OPERATORS": operatorEmail}, func(t *testing.T, e *apptest.Env) {
		operator := e.RegisterAndLogin(operatorEmail, "operator passphrase", "Operator")
		owner := e.NewUser()
		app := registerApp(t, e, owner, appOptions{})
		victim := e.NewUser()
		victimApp := registerApp(t, e, victim, appOptions{}) // in the victim's personal organization
		keyHeaders := userKey(t, e, victim)
		browser := newBrowser(t, e)
		signIn(t, browser, victim.Email, victim.Password)
		oauthAccess, oauthRefresh := exchangeCode(t, e, app, victim, "openid offline_access")
		// The owner consented to the victim's application: that grant dies with it.
		ownerAccess, _ := exchangeCode(t, e, victimApp, owner, "openid offline_access")
		if n := count(t, e, `SELECT COUNT(*) FROM audit_events WHERE (actor_id = ? OR subject_id = ?) AND ip <> ''`, victim.ID, victim.ID); n == 0 {
			t.Fatal("no audit event of the victim carries an address: the scrub below would prove nothing")
		}

		if r := e.Do(http.MethodDelete, "/api/v1/iam/users/"+victim.ID, nil, operator.Bearer()...); r.Status != http.StatusNoContent || len(r.Body) != 0 {
			t.Fatalf("delete: %d %s", r.Status, r.Body)
		}
		if r := e.Do(http.MethodGet, "/api/v1/iam/users/me", nil, victim.Bearer()...); r.Status != 401 || string(r.Body) != `{"detail":"Invalid or expired token"}` {
			t.Errorf("REST access token: %d %s, want 401", r.Status, r.Body)
		}
		if r := e.Do(http.MethodPost, "/api/v1/auth/refresh", map[string]string{"refresh_token": victim.RefreshToken}); r.Status != 401 ||
			string(r.Body) != `{"detail":"Invalid or expired refresh token"}` {
			t.Errorf("REST refresh: %d %s, want 401", r.Status, r.Body)
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
		if s := userinfoStatus(e, ownerAccess); s != http.StatusUnauthorized {
			t.Errorf("another user's token from the deleted organization's application: %d, want 401", s)
		}
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {oauthRefresh}, "client_id": {app.ID}, "client_secret": {app.Secret}}
		if r := e.Do(http.MethodPost, "/oauth/token", form.Encode(), "Content-Type", "application/x-www-form-urlencoded"); r.Status != 400 ||
			!strings.Contains(string(r.Body), `"error":"invalid_grant"`) {
			t.Errorf("OAuth refresh: %d %s, want 400 invalid_grant", r.Status, r.Body)
		}

		for _, q := range []string{
			`SELECT COUNT(*) FROM users WHERE id = ?`,
			`SELECT COUNT(*) FROM memberships WHERE user_id = ?`,
			`SELECT COUNT(*) FROM sessions WHERE user_id = ?`,
			`SELECT COUNT(*) FROM consent_grants WHERE user_id = ?`,
			`SELECT COUNT(*) FROM session_families WHERE user_id = ?`,
			`SELECT COUNT(*) FROM oauth_refresh_families WHERE subject = ?`,
			`SELECT COUNT(*) FROM oauth_refresh_tokens WHERE subject = ?`,
			`SELECT COUNT(*) FROM api_keys WHERE created_by = ?`,
			`SELECT COUNT(*) FROM audit_events WHERE (actor_id = ? OR subject_id = ?) AND (ip <> '' OR user_agent <> '') AND type <> 'user.deleted'`,
		} {
			args := []any{victim.ID}
			if strings.Count(q, "?") == 2 {
				args = append(args, victim.ID)
			}
			if n := count(t, e, q, args...); n != 0 {
				t.Errorf("%s: %d rows left", q, n)
			}
		}
		for _, q := range []string{`SELECT COUNT(*) FROM organizations WHERE id = ?`, `SELECT COUNT(*) FROM applications WHERE organization_id = ?`} {
			if n := count(t, e, q, victim.OrganizationID); n != 0 {
				t.Errorf("the personal organization: %s: %d rows left", q, n)
			}
		}
		if n := count(t, e, `SELECT COUNT(*) FROM audit_events WHERE type = 'user.deleted' AND subject_id = ? AND actor_id = ?`, victim.ID, operator.ID); n != 1 {
			t.Errorf("%d user.deleted events by the operator, want 1", n)
		}
		if n := count(t, e, `SELECT COUNT(*) FROM audit_events WHERE subject_id = ? AND type = 'sign_in.succeeded'`, victim.ID); n == 0 {
			t.Error("the victim's sign-ins are gone from the audit log; they should stay, by id")
		}
		// Nothing of the owner's went with the victim.
		if r := e.Do(http.MethodGet, "/api/v1/iam/users/me", nil, owner.Bearer()...); r.Status != http.StatusOK {
			t.Errorf("the owner: %d %s", r.Status, r.Body)
		}
		// The address is free again.
		again := e.RegisterAndLogin(victim.Email, "a new passphrase", "New")
		if again.ID == victim.ID {
			t.Fatal("the new account has the deleted account's id")
		}
		if r := e.Do(http.MethodDelete, "/api/v1/iam/users/"+victim.ID, nil, operator.Bearer()...); r.Status != 404 || string(r.Body) != `{"detail":"User not found"}` {
			t.Errorf("delete again: %d %s", r.Status, r.Body)
		}
	})
}

// Who may delete whom through DELETE /api/v1/iam/users/{id}: platform
// operators, anyone but themselves, and nobody the last owner of an
// organization that has other members.
func TestWhoMayDeleteAUser(t *testing.T) {
	forEachDeploymentWith(t, map[string]string{"PUGUH_PLATFORM_OPERATORS": operatorEmail}, func(t *testing.T, e *apptest.Env) {
		operator := e.RegisterAndLogin(operatorEmail, "operator passphrase", "Operator")
		owner := e.NewUser()
		member := e.NewUser()
		if r := e.Do(http.MethodPost, "/api/v1/organizations/"+owner.OrganizationID+"/members",
			map[string]string{"email": member.Email, "role": "member"}, owner.Bearer()...); r.Status != http.StatusCreated {
			t.Fatalf("join: %d %s", r.Status, r.Body)
		}
		ownerKey := userKey(t, e, owner)
		lastOwner := `{"detail":"You are the last owner of the organization \"Test User\", which has other members. Make another member an owner first."}`
		for _, tc := range []struct {
			name    string
			headers []string
			target  string
			status  int
			body    string
		}{
			{"an owner is not an operator", owner.Bearer(), member.ID, 403, `{"detail":"Only platform operators can delete users"}`},
			{"an API key is not an operator", ownerKey, member.ID, 403, `{"detail":"Only platform operators can delete users"}`},
			{"no credentials", nil, member.ID, 401, `{"detail":"Invalid or expired token"}`},
			{"operator, themselves", operator.Bearer(), operator.ID, 409, `{"detail":"Delete your own account with DELETE /api/v1/users/me"}`},
			{"operator, an unknown user", operator.Bearer(), "00000000-0000-4000-8000-000000000000", 404, `{"detail":"User not found"}`},
			{"not a uuid", operator.Bearer(), "nope", 422,
				`{"detail":[{"loc":["path","id"],"msg":"value is not a valid uuid","type":"type_error.uuid"}]}`},
			{"operator, the last owner of an organization with members", operator.Bearer(), owner.ID, 409, lastOwner},
			{"operator, a member", operator.Bearer(), member.ID, 204, ""},
			{"operator, the owner once alone", operator.Bearer(), owner.ID, 204, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := e.Do(http.MethodDelete, "/api/v1/iam/users/"+tc.target, nil, tc.headers...)
				if r.Status != tc.status || string(r.Body) != tc.body {
					t.Fatalf("%d %s, want %d %s", r.Status, r.Body, tc.status, tc.body)
				}
			})
		}
	})
}

// DELETE /api/v1/users/me: every bad input with its exact answer, the
// last-owner rule, a second factor when enrolled, and then the deletion.
func TestDeleteOwnAccount(t *testing.T) {
	apptest.ForEachDeployment(t, func(t *testing.T, e *apptest.Env) {
		user := e.NewUser()
		teammate := e.NewUser()
		if r := e.Do(http.MethodPost, "/api/v1/organizations/"+user.OrganizationID+"/members",
			map[string]string{"email": teammate.Email, "role": "admin"}, user.Bearer()...); r.Status != http.StatusCreated {
			t.Fatalf("join: %d %s", r.Status, r.Body)
		}
		key := userKey(t, e, user)
		// Enrolling spends the current TOTP step: the cases below give recovery codes.
		_, recovery := enrolTOTP(t, e, user)
		pw := user.Password
		lastOwner := `{"detail":"You are the last owner of the organization \"Test User\", which has other members. Make another member an owner first."}`
		for _, tc := range []struct {
			name    string
			headers []string
			body    any
			status  int
			want    string
		}{
			{"no body", user.Bearer(), nil, 415, `{"detail":"Unsupported Media Type: send Content-Type: application/json"}`},
			{"not JSON", user.Bearer(), `{`, 422, `{"detail":[{"loc":["body"],"msg":"JSON decode error","type":"value_error.jsondecode"}]}`},
			{"no password", user.Bearer(), map[string]string{}, 422, `{"detail":[{"loc":["body","password"],"msg":"field required","type":"value_error.missing"}]}`},
			{"empty password", user.Bearer(), map[string]string{"password": ""}, 422, `{"detail":[{"loc":["body","password"],"msg":"field required","type":"value_error.missing"}]}`},
			{"wrong password", user.Bearer(), map[string]string{"password": "not it"}, 403, `{"detail":"The password is not correct"}`},
			{"no code", user.Bearer(), map[string]string{"password": pw}, 422, `{"detail":[{"loc":["body","code"],"msg":"field required","type":"value_error.missing"}]}`},
			{"wrong code", user.Bearer(), map[string]string{"password": pw, "code": "000000"}, 403, `{"detail":"The code is not correct"}`},
			{"an API key", key, map[string]string{"password": pw}, 403, `{"detail":"Only a signed-in user can delete their own account"}`},
			{"no credentials", nil, map[string]string{"password": pw}, 401, `{"detail":"Invalid or expired token"}`},
			{"last owner", user.Bearer(), map[string]string{"password": pw, "code": recovery[0]}, 409, lastOwner},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := e.Do(http.MethodDelete, "/api/v1/users/me", tc.body, tc.headers...)
				if r.Status != tc.status || string(r.Body) != tc.want {
					t.Fatalf("%d %s, want %d %s", r.Status, r.Body, tc.status, tc.want)
				}
			})
		}
		if r := e.Do(http.MethodPatch, "/api/v1/organizations/"+user.OrganizationID+"/members/"+teammate.ID,
			map[string]string{"role": "owner"}, user.Bearer()...); r.Status != http.StatusOK {
			t.Fatalf("promote: %d %s", r.Status, r.Body)
		}
		// The re-authentication comes first, so the refused attempt spent its code.
		if r := e.Do(http.MethodDelete, "/api/v1/users/me", map[string]string{"password": pw, "code": recovery[0]}, user.Bearer()...); r.Status != 403 {
			t.Fatalf("a spent recovery code: %d %s", r.Status, r.Body)
		}
		r := e.Do(http.MethodDelete, "/api/v1/users/me", map[string]string{"password": pw, "code": recovery[1]}, user.Bearer()...)
		if r.Status != http.StatusNoContent {
			t.Fatalf("delete: %d %s", r.Status, r.Body)
		}
		if r := e.Do(http.MethodGet, "/api/v1/iam/users/me", nil, user.Bearer()...); r.Status != 401 {
			t.Errorf("after deletion, the token: %d %s", r.Status, r.Body)
		}
		for _, q := range []string{`SELECT COUNT(*) FROM users WHERE id = ?`, `SELECT COUNT(*) FROM mfa_totp WHERE user_id = ?`,
			`SELECT COUNT(*) FROM mfa_recovery_codes WHERE user_id = ?`, `SELECT COUNT(*) FROM memberships WHERE user_id = ?`} {
			if n := count(t, e, q, user.ID); n != 0 {
				t.Errorf("%s: %d rows left", q, n)
			}
		}
		// The shared organization stays with its new owner.
		if r := e.Do(http.MethodGet, "/api/v1/organizations/"+user.OrganizationID, nil, teammate.Bearer()...); r.Status != http.StatusOK {
			t.Errorf("the shared organization: %d %s", r.Status, r.Body)
		}
		if n := count(t, e, `SELECT COUNT(*) FROM audit_events WHERE type = 'user.deleted' AND subject_id = ? AND actor_id = ?`, user.ID, user.ID); n != 1 {
			t.Errorf("%d user.deleted events by the user, want 1", n)
		}
	})
}

// Connected apps through a real OAuth client (golang.org/x/oauth2): the
// consent is listed with its scopes and last use; revoking it kills the
// refresh token and the access token at once, and the next authorization
// asks for consent again.
func TestRevokingAConsentEndsTheApplicationsAccess(t *testing.T) {
	apptest.ForEachDeployment(t, func(t *testing.T, e *apptest.Env) {
		ctx := context.Background()
		owner := e.NewUser()
		user := e.NewUser()
		app := registerApp(t, e, owner, appOptions{})
		rp := newOIDCClient(t, e, app, oidc.ScopeOpenID, "profile", oidc.ScopeOfflineAccess)
		verifier := oauth2.GenerateVerifier()
		b := newBrowser(t, e)
		authURL, _ := url.Parse(rp.config.AuthCodeURL("state-0123456789", oauth2.S256ChallengeOption(verifier)))
		code := codeFrom(t, e, app, b.authorize(authURL.Query(), user))
		tok, err := rp.config.Exchange(ctx, code, oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatalf("exchange: %v", err)
		}
		refreshed, err := rp.config.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
		if err != nil {
			t.Fatalf("refresh: %v", err)
		}

		r := e.Do(http.MethodGet, "/api/v1/users/me/consents", nil, user.Bearer()...)
		var list struct {
			Items []struct {
				ApplicationID   string   `json:"application_id"`
				ApplicationName string   `json:"application_name"`
				Scopes          []string `json:"scopes"`
				GrantedAt       string   `json:"granted_at"`
				LastUsedAt      *string  `json:"last_used_at"`
			} `json:"items"`
		}
		r.JSON(t, &list)
		if r.Status != http.StatusOK || len(list.Items) != 1 {
			t.Fatalf("consents: %d %s", r.Status, r.Body)
		}
		c := list.Items[0]
		if c.ApplicationID != app.ID || c.ApplicationName != "Acme Dashboard" || strings.Join(c.Scopes, " ") != "openid profile offline_access" ||
			c.GrantedAt == "" || c.LastUsedAt == nil || *c.LastUsedAt < c.GrantedAt {
			t.Fatalf("consent %s", r.Body)
		}
		// Other people's consents are not listed.
		if r := e.Do(http.MethodGet, "/api/v1/users/me/consents", nil, owner.Bearer()...); r.Status != 200 || string(r.Body) != `{"items":[]}` {
			t.Fatalf("the owner's consents: %d %s", r.Status, r.Body)
		}

		for _, tc := range []struct {
			name, method, path string
			headers            []string
			status             int
			body               string
		}{
			{"list with an API key", http.MethodGet, "/api/v1/users/me/consents", userKey(t, e, user), 403,
				`{"detail":"Only a signed-in user can manage their own connected applications"}`},
			{"revoke with an API key", http.MethodDelete, "/api/v1/users/me/consents/" + app.ID, userKey(t, e, user), 403,
				`{"detail":"Only a signed-in user can manage their own connected applications"}`},
			{"list without credentials", http.MethodGet, "/api/v1/users/me/consents", nil, 401, `{"detail":"Invalid or expired token"}`},
			{"revoke another user's", http.MethodDelete, "/api/v1/users/me/consents/" + app.ID, owner.Bearer(), 404, `{"detail":"Consent not found"}`},
			{"revoke an unknown application", http.MethodDelete, "/api/v1/users/me/consents/no-such-app", user.Bearer(), 404, `{"detail":"Consent not found"}`},
			{"revoke", http.MethodDelete, "/api/v1/users/me/consents/" + app.ID, user.Bearer(), 204, ""},
			{"revoke again", http.MethodDelete, "/api/v1/users/me/consents/" + app.ID, user.Bearer(), 404, `{"detail":"Consent not found"}`},
			{"list after", http.MethodGet, "/api/v1/users/me/consents", user.Bearer(), 200, `{"items":[]}`},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := e.Do(tc.method, tc.path, nil, tc.headers...)
				if r.Status != tc.status || string(r.Body) != tc.body {
					t.Fatalf("%d %s, want %d %s", r.Status, r.Body, tc.status, tc.body)
				}
			})
		}

		_, err = rp.config.TokenSource(ctx, &oauth2.Token{RefreshToken: refreshed.RefreshToken}).Token()
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
			t.Errorf("refresh after revocation: %v, want invalid_grant", err)
		}
		if _, err := rp.provider.UserInfo(ctx, oauth2.StaticTokenSource(refreshed)); err == nil {
			t.Error("the access token still reaches userinfo after revocation")
		}
		// The browser session survives; the consent page comes back.
		p := b.get("/oauth/authorize?" + authURL.Query().Encode())
		if p.Status != http.StatusSeeOther || p.Location == nil || p.Location.Path != "/consent" {
			t.Errorf("authorize after revocation: %d %v, want 303 to /consent", p.Status, p.Location)
		}
		if n := count(t, e, `SELECT COUNT(*) FROM audit_events WHERE type = 'consent.revoked' AND actor_id = ? AND subject_id = ? AND organization_id = ?`,
			user.ID, user.ID, owner.OrganizationID); n != 1 {
			t.Errorf("%d consent.revoked events, want 1", n)
		}
	})
}
