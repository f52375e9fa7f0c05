package app_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"golang.org/x/oauth2/clientcredentials"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

// Deleting an application ends what it was issued: its users' access tokens
// stop at userinfo at once, its refresh families are revoked in the database,
// and its client_credentials tokens, which belong to no family, are denied
// with the client.
func TestDeletingApplicationRevokesItsTokens(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, e *apptest.Env) {
		user := e.NewUser()
		app := registerApp(t, e, user, appOptions{Trusted: true})
		code := codeFrom(t, e, app, newBrowser(t, e).authorize(codeQuery(app, "openid offline_access"), user))
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {app.ID},
			"client_secret": {app.Secret}, "redirect_uri": {app.RedirectURI}}.Encode()
		r := e.Do(http.MethodPost, "/oauth/token", form, "Content-Type", "application/x-www-form-urlencoded")
		if r.Status != http.StatusOK {
			t.Fatalf("token: %d %s", r.Status, r.Body)
		}
		var tok struct {
			AccessToken  string `json:"access_token"`
			RefreshToken string `json:"refresh_token"`
		}
		r.JSON(t, &tok)
		if tok.RefreshToken == "" {
			t.Fatalf("no refresh token: %s", r.Body)
		}
		cc := clientcredentials.Config{ClientID: app.ID, ClientSecret: app.Secret, TokenURL: e.URL + "/oauth/token"}
		service, err := cc.Token(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		provider := e.App.OAuthProvider()
		if _, err := provider.VerifyAccessToken(service.AccessToken); err != nil {
			t.Fatalf("client_credentials token before delete: %v", err)
		}
		if r := e.Do(http.MethodGet, "/oauth/userinfo", nil, "Authorization", "Bearer "+tok.AccessToken); r.Status != http.StatusOK {
			t.Fatalf("userinfo before delete: %d %s", r.Status, r.Body)
		}
		if r := e.Do(http.MethodDelete, "/api/v1/applications/"+app.ID, nil, user.Bearer()...); r.Status != http.StatusNoContent {
			t.Fatalf("delete application: %d %s", r.Status, r.Body)
		}
		if r := e.Do(http.MethodGet, "/oauth/userinfo", nil, "Authorization", "Bearer "+tok.AccessToken); r.Status != http.StatusUnauthorized {
			t.Fatalf("userinfo after delete: %d %s, want 401", r.Status, r.Body)
		}
		if _, err := provider.VerifyAccessToken(service.AccessToken); err == nil || err.Error() != "token revoked" {
			t.Fatalf("client_credentials token after delete: %v, want it revoked", err)
		}
		db := e.App.Store().DB()
		var live int
		if err := db.Get(&live, db.Rebind(`SELECT COUNT(*) FROM oauth_refresh_families f JOIN oauth_refresh_tokens r
			ON r.request_id = f.request_id WHERE f.client_id = ? AND (NOT f.revoked OR r.active)`), app.ID); err != nil {
			t.Fatal(err)
		}
		if live != 0 {
			t.Fatalf("%d refresh tokens of the deleted application still live", live)
		}
	})
}
