package app_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"testing"

	"github.com/arsaka/puguh/app/apptest"
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
