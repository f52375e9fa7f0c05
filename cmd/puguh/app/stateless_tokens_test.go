package app_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2/clientcredentials"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
	"github.com/arsaka/puguh/storage/sqlstore"
)

// Access tokens are JWTs that are never stored (provider/oauth/stateless.go):
// there is no table for them, and introspection, RFC 7009 revocation,
// application deletion and a password change still reach them.

// exchangeCode runs the browser flow for scope and redeems the code.
func exchangeCode(t *testing.T, e *apptest.Env, app *testApp, user *apptest.User, scope string) (access, refresh string) {
	t.Helper()
	code := codeFrom(t, e, app, newBrowser(t, e).authorize(codeQuery(app, scope), user))
	r := e.Do(http.MethodPost, "/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"client_id": {app.ID}, "client_secret": {app.Secret}, "redirect_uri": {app.RedirectURI}}.Encode(),
		"Content-Type", "application/x-www-form-urlencoded")
	if r.Status != http.StatusOK {
		t.Fatalf("token: %d %s", r.Status, r.Body)
	}
	var tok struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	r.JSON(t, &tok)
	return tok.AccessToken, tok.RefreshToken
}

// introspect returns the introspection answer for token, asked by app.
func introspect(t *testing.T, e *apptest.Env, app *testApp, token string) (active bool, body string) {
	t.Helper()
	r := e.Do(http.MethodPost, "/oauth/introspect", "token="+url.QueryEscape(token),
		"Content-Type", "application/x-www-form-urlencoded", "Authorization", basicAuth(app.ID, app.Secret))
	if r.Status != http.StatusOK {
		t.Fatalf("introspection: %d %s", r.Status, r.Body)
	}
	var in struct {
		Active bool `json:"active"`
	}
	r.JSON(t, &in)
	return in.Active, string(r.Body)
}

func userinfoStatus(e *apptest.Env, token string) int {
	return e.Do(http.MethodGet, "/oauth/userinfo", nil, "Authorization", "Bearer "+token).Status
}

func TestAccessTokensAreNotStored(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, e *apptest.Env) {
		user := e.NewUser() // a REST login
		app := registerApp(t, e, user, appOptions{Trusted: true})
		exchangeCode(t, e, app, user, "openid offline_access")
		cc := clientcredentials.Config{ClientID: app.ID, ClientSecret: app.Secret, TokenURL: e.URL + "/oauth/token"}
		if _, err := cc.Token(context.Background()); err != nil {
			t.Fatal(err)
		}
		var tables, refresh int
		db := e.App.Store().DB()
		query := "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name LIKE '%access_token%'"
		if e.App.Store().Dialect() == sqlstore.Postgres {
			query = "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name LIKE '%access_token%'"
		}
		if err := db.Get(&tables, query); err != nil {
			t.Fatal(err)
		}
		if err := db.Get(&refresh, "SELECT COUNT(*) FROM oauth_refresh_tokens"); err != nil {
			t.Fatal(err)
		}
		if tables != 0 || refresh != 2 {
			t.Fatalf("%d tables for access tokens and %d refresh-token rows, want none and 2 (login and code flow)", tables, refresh)
		}
	})
}

// RFC 7009 revocation of a JWT access token: only by the client it was issued
// to (another client's request changes nothing); afterwards it is inactive, refused at userinfo, and its grant's refresh
// token is revoked with it (§2.1).
func TestRevokeJWTAccessToken(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, e *apptest.Env) {
		user := e.NewUser()
		app := registerApp(t, e, user, appOptions{Trusted: true})
		other := registerApp(t, e, user, appOptions{Trusted: true})
		access, refresh := exchangeCode(t, e, app, user, "openid offline_access")
		if active, body := introspect(t, e, app, access); !active {
			t.Fatalf("fresh access token: %s", body)
		}
		if active, body := introspect(t, e, app, refresh); !active {
			t.Fatalf("fresh refresh token: %s", body)
		}

		revoke := func(as *testApp, token string) *apptest.Response {
			return e.Do(http.MethodPost, "/oauth/revoke", url.Values{"token": {token}, "client_id": {as.ID},
				"client_secret": {as.Secret}}.Encode(), "Content-Type", "application/x-www-form-urlencoded")
		}
		// fosite answers 200 with an empty body to every refusal but
		// invalid_request and invalid_client; the token must survive.
		if r := revoke(other, access); r.Status != http.StatusOK || len(r.Body) != 0 {
			t.Fatalf("another client revoking: %d %s", r.Status, r.Body)
		}
		if active, _ := introspect(t, e, app, access); !active {
			t.Fatal("another client's revocation request revoked the token")
		}

		if r := revoke(app, access); r.Status != http.StatusOK {
			t.Fatalf("revoke: %d %s", r.Status, r.Body)
		}
		if active, body := introspect(t, e, app, access); active {
			t.Fatalf("revoked access token: %s", body)
		}
		if active, body := introspect(t, e, app, refresh); active {
			t.Fatalf("refresh token of a revoked access token: %s", body)
		}
		if got := userinfoStatus(e, access); got != http.StatusUnauthorized {
			t.Fatalf("userinfo with a revoked token: %d, want 401", got)
		}
		r := e.Do(http.MethodPost, "/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh},
			"client_id": {app.ID}, "client_secret": {app.Secret}}.Encode(), "Content-Type", "application/x-www-form-urlencoded")
		if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), `"error":"invalid_grant"`) {
			t.Fatalf("refresh after revoking the access token: %d %s, want 400 invalid_grant", r.Status, r.Body)
		}
		// Revoking again, or revoking garbage, is still 200 (RFC 7009 §2.2).
		for _, tok := range []string{access, "a.b.c"} {
			if r := revoke(app, tok); r.Status != http.StatusOK {
				t.Fatalf("revoke %q again: %d %s", tok, r.Status, r.Body)
			}
		}

		// A client_credentials token has no refresh family: its jti is denied.
		cc := clientcredentials.Config{ClientID: app.ID, ClientSecret: app.Secret, TokenURL: e.URL + "/oauth/token"}
		tok, err := cc.Token(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if r := revoke(app, tok.AccessToken); r.Status != http.StatusOK {
			t.Fatalf("revoke client_credentials token: %d %s", r.Status, r.Body)
		}
		if active, body := introspect(t, e, app, tok.AccessToken); active {
			t.Fatalf("revoked client_credentials token: %s", body)
		}
	})
}

// A grant without offline_access has no refresh family in the database;
// deleting the application must still end its access tokens.
func TestDeletingApplicationEndsTokensWithoutRefresh(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, e *apptest.Env) {
		user := e.NewUser()
		app := registerApp(t, e, user, appOptions{Trusted: true})
		access, refresh := exchangeCode(t, e, app, user, "openid")
		if refresh != "" {
			t.Fatal("a refresh token without offline_access")
		}
		if got := userinfoStatus(e, access); got != http.StatusOK {
			t.Fatalf("userinfo before delete: %d", got)
		}
		if r := e.Do(http.MethodDelete, "/api/v1/applications/"+app.ID, nil, user.Bearer()...); r.Status != http.StatusNoContent {
			t.Fatalf("delete application: %d %s", r.Status, r.Body)
		}
		if got := userinfoStatus(e, access); got != http.StatusUnauthorized {
			t.Fatalf("userinfo after delete: %d, want 401", got)
		}
	})
}

// A password change ends the user's grants to applications too, those
// without a refresh token included.
func TestPasswordChangeEndsGrantsWithoutRefresh(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, e *apptest.Env) {
		user := e.NewUser()
		app := registerApp(t, e, user, appOptions{Trusted: true})
		b := newBrowser(t, e)
		code := codeFrom(t, e, app, b.authorize(codeQuery(app, "openid"), user))
		r := e.Do(http.MethodPost, "/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
			"client_id": {app.ID}, "client_secret": {app.Secret}, "redirect_uri": {app.RedirectURI}}.Encode(),
			"Content-Type", "application/x-www-form-urlencoded")
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		r.JSON(t, &tok)
		if got := userinfoStatus(e, tok.AccessToken); got != http.StatusOK {
			t.Fatalf("userinfo before the change: %d", got)
		}
		p := postForm(t, b, "/account", "/account/password", url.Values{
			"current_password": {user.Password}, "new_password": {"a brand new passphrase"}, "confirm_password": {"a brand new passphrase"}})
		if p.Status != http.StatusSeeOther {
			t.Fatalf("change password: %d\n%.1000s", p.Status, p.Body)
		}
		if got := userinfoStatus(e, tok.AccessToken); got != http.StatusUnauthorized {
			t.Fatalf("userinfo after the change: %d, want 401", got)
		}
	})
}

// Whatever is not one of our valid access tokens introspects as exactly
// {"active":false} (RFC 7662 §2.2), never as an error.
func TestIntrospectionRefusesWhatIsNotAValidAccessToken(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	user := e.NewUser()
	app := registerApp(t, e, user, appOptions{Trusted: true})
	code := codeFrom(t, e, app, newBrowser(t, e).authorize(codeQuery(app, "openid read:resources"), user))
	r := e.Do(http.MethodPost, "/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"client_id": {app.ID}, "client_secret": {app.Secret}, "redirect_uri": {app.RedirectURI}}.Encode(),
		"Content-Type", "application/x-www-form-urlencoded")
	var tok struct {
		AccessToken string `json:"access_token"`
		IDToken     string `json:"id_token"`
	}
	r.JSON(t, &tok)
	if tok.IDToken == "" {
		t.Fatalf("no ID token: %s", r.Body)
	}
	parts := strings.Split(tok.AccessToken, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	forged := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), `"sub":"`, `"sub":"x`, 1))) + "." + parts[2]

	for _, tc := range []struct{ name, form string }{
		{"ID token", "token=" + tok.IDToken},
		{"forged claims", "token=" + forged},
		{"three dots of nothing", "token=a.b.c"},
		{"opaque garbage", "token=ory_rt_nothing.here"},
		{"scope not granted", "token=" + tok.AccessToken + "&scope=write:everything"},
		{"empty token", "token="},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.Do(http.MethodPost, "/oauth/introspect", tc.form,
				"Content-Type", "application/x-www-form-urlencoded", "Authorization", basicAuth(app.ID, app.Secret))
			if r.Status != http.StatusOK || strings.TrimSpace(string(r.Body)) != `{"active":false}` {
				t.Fatalf("%d %s, want 200 {\"active\":false}", r.Status, r.Body)
			}
		})
	}
	// The same token with a granted scope is active: the cases above fail
	// for their own reason.
	if active, body := introspect(t, e, app, tok.AccessToken); !active {
		t.Fatalf("the valid token: %s", body)
	}
	r = e.Do(http.MethodPost, "/oauth/introspect", "token="+tok.AccessToken+"&scope=read:resources",
		"Content-Type", "application/x-www-form-urlencoded", "Authorization", basicAuth(app.ID, app.Secret))
	if !strings.Contains(string(r.Body), `"active":true`) {
		t.Fatalf("granted scope: %s", r.Body)
	}
}
