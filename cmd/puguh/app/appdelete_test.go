package app_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

// Deleting an application ends what it was issued: its users' access tokens
// stop at userinfo at once, its refresh tokens with it.
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
			AccessToken string `json:"access_token"`
		}
		r.JSON(t, &tok)
		if r := e.Do(http.MethodGet, "/oauth/userinfo", nil, "Authorization", "Bearer "+tok.AccessToken); r.Status != http.StatusOK {
			t.Fatalf("userinfo before delete: %d %s", r.Status, r.Body)
		}
		if r := e.Do(http.MethodDelete, "/api/v1/applications/"+app.ID, nil, user.Bearer()...); r.Status != http.StatusNoContent {
			t.Fatalf("delete application: %d %s", r.Status, r.Body)
		}
		if r := e.Do(http.MethodGet, "/oauth/userinfo", nil, "Authorization", "Bearer "+tok.AccessToken); r.Status != http.StatusUnauthorized {
			t.Fatalf("userinfo after delete: %d %s, want 401", r.Status, r.Body)
		}
	})
}
