package app_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

// guideRefresh is the API guide's "Refreshing Tokens" request:
//
//	curl -X POST …/api/v1/auth/refresh -H "Content-Type: application/json" \
//	  -d '{"refresh_token": "dGhpcyBpcyBhIHJlZnJl..."}'
//
// It returns the response and its refresh_token.
func guideRefresh(t *testing.T, e *apptest.Env, refreshToken string) (*apptest.Response, string) {
	t.Helper()
	r := e.Do(http.MethodPost, "/api/v1/auth/refresh", `{"refresh_token": "`+refreshToken+`"}`)
	if r.Status != http.StatusOK {
		return r, ""
	}
	var body map[string]any
	r.JSON(t, &body)
	keys := make([]string, 0, len(body))
	for k := range body {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	// The guide shows three keys; the fourth, refresh_token, is always there.
	if want := []string{"access_token", "expires_in", "refresh_token", "token_type"}; !slices.Equal(keys, want) {
		t.Fatalf("refresh response keys %v, want %v: %s", keys, want, r.Body)
	}
	next, _ := body["refresh_token"].(string)
	return r, next
}

const invalidRefresh = `{"detail":"Invalid or expired refresh token"}`

// With rotation (the default), every refresh answers a new refresh token: a
// client that stores it keeps working, and one that keeps the login's token,
// as a client written from the guide's response example would, is logged out
// by its second refresh after the grace period (reuse detection).
func TestRefreshRotatesByDefault(t *testing.T) {
	e := apptest.Start(t, apptest.Options{Env: map[string]string{"PUGUH_REFRESH_GRACE_PERIOD": "1ms"}})
	u := e.NewUser()

	// Storing the new token every time works indefinitely.
	token := u.RefreshToken
	for i := range 3 {
		_, next := guideRefresh(t, e, token)
		if next == "" || next == token {
			t.Fatalf("refresh %d: refresh_token %q, want a new one", i+1, next)
		}
		token = next
	}

	// Keeping the login's token: the first refresh works, the second revokes the login.
	e.Login(u)
	r, rotated := guideRefresh(t, e, u.RefreshToken)
	if r.Status != http.StatusOK {
		t.Fatalf("first refresh: %d %s", r.Status, r.Body)
	}
	var pair struct {
		AccessToken string `json:"access_token"`
	}
	r.JSON(t, &pair)
	time.Sleep(10 * time.Millisecond) // past the 1 ms grace period
	if r, _ := guideRefresh(t, e, u.RefreshToken); r.Status != http.StatusUnauthorized || string(r.Body) != invalidRefresh {
		t.Fatalf("second refresh with the login's token: %d %s", r.Status, r.Body)
	}
	if r, _ := guideRefresh(t, e, rotated); r.Status != http.StatusUnauthorized {
		t.Fatalf("the rotated token survived the replay: %d %s", r.Status, r.Body)
	}
	if r := e.Do(http.MethodGet, "/api/v1/iam/users/me", nil, "Authorization", "Bearer "+pair.AccessToken); r.Status != http.StatusUnauthorized {
		t.Fatalf("the login's access token survived the replay: %d %s", r.Status, r.Body)
	}
}

// With PUGUH_REFRESH_TOKEN_ROTATION=false a refresh answers the same refresh
// token: the guide's client, which keeps the login's token, stays signed in,
// and logout, a password change and RFC 7009 revocation still end it.
func TestRefreshWithoutRotation(t *testing.T) {
	for _, d := range apptest.Deployments() {
		t.Run(d.Name, func(t *testing.T) {
			opts := d.Options
			opts.Env = map[string]string{"PUGUH_REFRESH_TOKEN_ROTATION": "false", "PUGUH_REFRESH_GRACE_PERIOD": "1ms"}
			e := apptest.Start(t, opts)
			u := e.NewUser()

			t.Run("the guide's client keeps the login's token", func(t *testing.T) {
				for i := range 3 {
					r, next := guideRefresh(t, e, u.RefreshToken)
					if r.Status != http.StatusOK || next != u.RefreshToken {
						t.Fatalf("refresh %d: %d %s, want the same refresh token", i+1, r.Status, r.Body)
					}
					var pair struct {
						AccessToken string `json:"access_token"`
						TokenType   string `json:"token_type"`
						ExpiresIn   int    `json:"expires_in"`
					}
					r.JSON(t, &pair)
					if pair.TokenType != "Bearer" || pair.ExpiresIn != 3600 {
						t.Fatalf("refresh %d: %s", i+1, r.Body)
					}
					if r := e.Do(http.MethodGet, "/api/v1/iam/users/me", nil, "Authorization", "Bearer "+pair.AccessToken); r.Status != http.StatusOK {
						t.Fatalf("refresh %d: its access token: %d %s", i+1, r.Status, r.Body)
					}
					time.Sleep(5 * time.Millisecond) // past the grace period, which no longer matters
				}
			})

			t.Run("logout ends it", func(t *testing.T) {
				r, _ := guideRefresh(t, e, u.RefreshToken)
				var pair struct {
					AccessToken string `json:"access_token"`
				}
				r.JSON(t, &pair)
				// curl -X POST …/api/v1/auth/logout -H "Authorization: Bearer YOUR_TOKEN"
				if r := e.Do(http.MethodPost, "/api/v1/auth/logout", nil, "Authorization", "Bearer "+pair.AccessToken); r.Status != http.StatusNoContent {
					t.Fatalf("logout: %d %s", r.Status, r.Body)
				}
				if r, _ := guideRefresh(t, e, u.RefreshToken); r.Status != http.StatusUnauthorized || string(r.Body) != invalidRefresh {
					t.Fatalf("refresh after logout: %d %s", r.Status, r.Body)
				}
			})

			t.Run("a password change ends it", func(t *testing.T) {
				e.Login(u)
				if r, next := guideRefresh(t, e, u.RefreshToken); r.Status != http.StatusOK || next != u.RefreshToken {
					t.Fatalf("refresh before the change: %d %s", r.Status, r.Body)
				}
				b := newBrowser(t, e)
				signIn(t, b, u.Email, u.Password)
				p := postForm(t, b, "/account", "/account/password", url.Values{
					"current_password": {u.Password}, "new_password": {"a brand new passphrase"}, "confirm_password": {"a brand new passphrase"}})
				if p.Status != http.StatusSeeOther {
					t.Fatalf("change password: %d %.500s", p.Status, p.Body)
				}
				if r, _ := guideRefresh(t, e, u.RefreshToken); r.Status != http.StatusUnauthorized || string(r.Body) != invalidRefresh {
					t.Fatalf("refresh after the password change: %d %s", r.Status, r.Body)
				}
				u.Password = "a brand new passphrase"
			})

			t.Run("/oauth/token answers the same token until it is revoked", func(t *testing.T) {
				app := registerApp(t, e, u, appOptions{Trusted: true})
				_, refresh := exchangeCode(t, e, app, u, "openid offline_access")
				form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}, "client_id": {app.ID}, "client_secret": {app.Secret}}
				for i := range 2 {
					r := tokenRequest(e, form)
					var tok struct {
						RefreshToken string `json:"refresh_token"`
						IDToken      string `json:"id_token"`
						TokenType    string `json:"token_type"`
					}
					if r.Status == http.StatusOK {
						_ = json.Unmarshal(r.Body, &tok)
					}
					if r.Status != http.StatusOK || tok.RefreshToken != refresh || tok.IDToken == "" || tok.TokenType != "Bearer" {
						t.Fatalf("refresh %d: %d %s", i+1, r.Status, r.Body)
					}
				}
				revoke := url.Values{"token": {refresh}, "client_id": {app.ID}, "client_secret": {app.Secret}}
				if r := e.Do(http.MethodPost, "/oauth/revoke", revoke.Encode(), "Content-Type", "application/x-www-form-urlencoded"); r.Status != http.StatusOK {
					t.Fatalf("revoke: %d %s", r.Status, r.Body)
				}
				r := tokenRequest(e, form)
				if want := `{"error":"invalid_grant","error_description":"The provided authorization grant (e.g., authorization code, resource owner credentials) or refresh token is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client. The refresh token was already used."}`; r.Status != http.StatusBadRequest || string(r.Body) != want {
					t.Fatalf("refresh after revocation: %d %s\nwant 400 %s", r.Status, r.Body, want)
				}
			})
		})
	}
}
