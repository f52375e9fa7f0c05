package app_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

// Introspection answers only for the caller's own organization: another
// tenant's client learns {"active":false}, not the token's owner and email;
// an access token is not accepted as the caller's credentials.
func TestIntrospectionStaysInTheTenant(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	alice, bob := e.NewUser(), e.NewUser()
	aliceApp := registerApp(t, e, alice, appOptions{})
	bobApp := registerApp(t, e, bob, appOptions{})
	basic := func(a *testApp) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(a.ID)+":"+url.QueryEscape(a.Secret)))
	}
	form := "token=" + url.QueryEscape(alice.AccessToken)
	for _, tc := range []struct {
		name   string
		auth   string
		status int
		body   string
	}{
		{"own organization", basic(aliceApp), http.StatusOK, ""},
		{"other organization", basic(bobApp), http.StatusOK, `{"active":false}`},
		{"access token as credentials", "Bearer " + bob.AccessToken, http.StatusUnauthorized, ""},
		{"no credentials", "", http.StatusUnauthorized, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := []string{"Content-Type", "application/x-www-form-urlencoded"}
			if tc.auth != "" {
				h = append(h, "Authorization", tc.auth)
			}
			r := e.Do(http.MethodPost, "/oauth/introspect", form, h...)
			if r.Status != tc.status {
				t.Fatalf("%d %s, want %d", r.Status, r.Body, tc.status)
			}
			if tc.body != "" && string(r.Body) != tc.body && string(r.Body) != tc.body+"\n" {
				t.Fatalf("body %s, want %s", r.Body, tc.body)
			}
			if tc.name == "own organization" {
				var got struct {
					Active bool   `json:"active"`
					Sub    string `json:"sub"`
				}
				r.JSON(t, &got)
				if !got.Active || got.Sub != alice.ID {
					t.Fatalf("own token: %s", r.Body)
				}
			}
		})
	}
}

// fosite would take an access_token parameter as the caller's credentials
// and never check the Basic secret; another tenant's token plus a victim
// client's id and a wrong secret must not read the victim's tokens.
func TestIntrospectionNeedsTheClientSecret(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	alice, mallory := e.NewUser(), e.NewUser()
	aliceApp := registerApp(t, e, alice, appOptions{})
	wrong := "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(aliceApp.ID)+":wrong"))
	const (
		onlyBasic = `{"error":"request_unauthorized","error_description":"The request could not be authorized. Authenticate with HTTP Basic client credentials only."}`
		badSecret = `{"error":"request_unauthorized","error_description":"The request could not be authorized. OAuth 2.0 Client credentials are invalid."}`
	)
	for _, tc := range []struct{ name, path, form, body string }{
		{"access_token in the body", "/oauth/introspect", "token=" + url.QueryEscape(alice.AccessToken) + "&access_token=" + url.QueryEscape(mallory.AccessToken), onlyBasic},
		{"access_token in the query", "/oauth/introspect?access_token=" + url.QueryEscape(mallory.AccessToken), "token=" + url.QueryEscape(alice.AccessToken), onlyBasic},
		{"wrong secret alone", "/oauth/introspect", "token=" + url.QueryEscape(alice.AccessToken), badSecret},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.Do(http.MethodPost, tc.path, tc.form, "Content-Type", "application/x-www-form-urlencoded", "Authorization", wrong)
			if r.Status != http.StatusUnauthorized || strings.TrimSpace(string(r.Body)) != tc.body {
				t.Fatalf("%d %s, want 401 %s", r.Status, r.Body, tc.body)
			}
			if h := r.Header.Get("WWW-Authenticate"); h != `Basic realm="puguh"` {
				t.Fatalf("WWW-Authenticate = %q, want the Basic challenge", h)
			}
		})
	}
	// With its own secret and no access_token, the client reads its tenant's token.
	r := e.Do(http.MethodPost, "/oauth/introspect", "token="+url.QueryEscape(alice.AccessToken),
		"Content-Type", "application/x-www-form-urlencoded", "Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(aliceApp.ID)+":"+url.QueryEscape(aliceApp.Secret))))
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"active":true`) {
		t.Fatalf("own secret: %d %s", r.Status, r.Body)
	}
}
