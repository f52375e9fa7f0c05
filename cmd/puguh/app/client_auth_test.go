package app_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

// restApp registers an application through POST /api/v1/applications with
// body (plus a redirect URI) and returns it with its secret and the method
// it was registered with.
func restApp(t *testing.T, e *apptest.Env, owner *apptest.User, body map[string]any) (*testApp, string) {
	t.Helper()
	body["name"] = "Acme Dashboard"
	body["redirect_uris"] = []string{"https://app.example.com/callback"}
	r := e.Do(http.MethodPost, "/api/v1/applications", body, owner.Bearer()...)
	if r.Status != http.StatusCreated {
		t.Fatalf("register: %d %s", r.Status, r.Body)
	}
	var a struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
		Method       string `json:"token_endpoint_auth_method"`
		Public       bool   `json:"public"`
	}
	r.JSON(t, &a)
	return &testApp{ID: a.ClientID, Secret: a.ClientSecret, RedirectURI: "https://app.example.com/callback",
		Public: a.Public, OrganizationID: owner.OrganizationID}, a.Method
}

// tokenRequest posts form to /oauth/token, with HTTP Basic credentials
// when basic is set (curl -u id:secret).
func tokenRequest(e *apptest.Env, form url.Values, basic ...string) *apptest.Response {
	h := []string{"Content-Type", "application/x-www-form-urlencoded"}
	if len(basic) == 2 {
		h = append(h, "Authorization", basicAuth(basic[0], basic[1]))
	}
	return e.Do(http.MethodPost, "/oauth/token", form.Encode(), h...)
}

// A confidential client authenticates at /oauth/token and /oauth/revoke with
// its secret in the form (the guide's "Exchange Code for Token") or with HTTP
// Basic (curl -u), whichever method it registered; its registration still
// shows the method it declared. A public client cannot present a secret, and
// a request cannot send its secret both ways.
func TestTokenEndpointAcceptsEitherSecretMethod(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, e *apptest.Env) {
		owner := e.NewUser()
		// The two registrations a new user makes: without the field
		// (client_secret_post) and with "public": false (client_secret_basic).
		post, postMethod := restApp(t, e, owner, map[string]any{})
		basic, basicMethod := restApp(t, e, owner, map[string]any{"public": false})
		if postMethod != "client_secret_post" || basicMethod != "client_secret_basic" {
			t.Fatalf("registered %q and %q", postMethod, basicMethod)
		}
		b := newBrowser(t, e)
		for _, app := range []*testApp{post, basic} {
			for _, via := range []string{"form", "basic"} {
				t.Run(map[*testApp]string{post: postMethod, basic: basicMethod}[app]+" via "+via, func(t *testing.T) {
					code := codeFrom(t, e, app, b.authorize(codeQuery(app, "openid offline_access"), owner))
					// curl -X POST …/oauth/token -d grant_type=authorization_code -d code=…
					//   -d client_id=… -d client_secret=… -d redirect_uri=…
					form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {app.RedirectURI}}
					var creds []string
					if via == "form" {
						form.Set("client_id", app.ID)
						form.Set("client_secret", app.Secret)
					} else {
						creds = []string{app.ID, app.Secret}
					}
					r := tokenRequest(e, form, creds...)
					if r.Status != http.StatusOK {
						t.Fatalf("exchange: %d %s", r.Status, r.Body)
					}
					var tok struct {
						RefreshToken string `json:"refresh_token"`
					}
					r.JSON(t, &tok)

					// The refresh grant and RFC 7009 revocation take it alike.
					refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}
					if via == "form" {
						refresh.Set("client_id", app.ID)
						refresh.Set("client_secret", app.Secret)
					}
					if r := tokenRequest(e, refresh, creds...); r.Status != http.StatusOK {
						t.Fatalf("refresh: %d %s", r.Status, r.Body)
					}
					revoke := url.Values{"token": {tok.RefreshToken}}
					if via == "form" {
						revoke.Set("client_id", app.ID)
						revoke.Set("client_secret", app.Secret)
					}
					h := []string{"Content-Type", "application/x-www-form-urlencoded"}
					if creds != nil {
						h = append(h, "Authorization", basicAuth(app.ID, app.Secret))
					}
					if r := e.Do(http.MethodPost, "/oauth/revoke", revoke.Encode(), h...); r.Status != http.StatusOK {
						t.Fatalf("revoke: %d %s", r.Status, r.Body)
					}
				})
			}
		}

		// The registration keeps the declared method.
		for app, want := range map[*testApp]string{post: "client_secret_post", basic: "client_secret_basic"} {
			r := e.Do(http.MethodGet, "/api/v1/applications/"+app.ID, nil, owner.Bearer()...)
			var got struct {
				Method string `json:"token_endpoint_auth_method"`
			}
			r.JSON(t, &got)
			if r.Status != http.StatusOK || got.Method != want {
				t.Fatalf("GET application: %d %s, want %s", r.Status, r.Body, want)
			}
		}

		// A service account (registered client_secret_basic) may post its secret too.
		r := e.Do(http.MethodPost, "/api/v1/service-accounts", map[string]string{"name": "CI deployer", "role": "member"}, owner.Bearer()...)
		var sa struct {
			ClientID     string `json:"client_id"`
			ClientSecret string `json:"client_secret"`
		}
		r.JSON(t, &sa)
		for _, via := range []string{"form", "basic"} {
			form := url.Values{"grant_type": {"client_credentials"}}
			var creds []string
			if via == "form" {
				form.Set("client_id", sa.ClientID)
				form.Set("client_secret", sa.ClientSecret)
			} else {
				creds = []string{sa.ClientID, sa.ClientSecret}
			}
			if r := tokenRequest(e, form, creds...); r.Status != http.StatusOK {
				t.Fatalf("service account via %s: %d %s", via, r.Status, r.Body)
			}
		}

		public, publicMethod := restApp(t, e, owner, map[string]any{"public": true})
		if publicMethod != "none" {
			t.Fatalf("public client registered %q", publicMethod)
		}
		const refused = `{"error":"invalid_client","error_description":"Client authentication failed (e.g., unknown client, no client authentication included, or unsupported authentication method).`
		for _, tc := range []struct {
			name  string
			form  url.Values
			basic []string
			want  string
		}{
			{"public client with a secret in the form",
				url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}, "client_id": {public.ID}, "client_secret": {"pghs_made-up"}}, nil,
				refused + ` The OAuth 2.0 Client supports client authentication method 'none', but method 'client_secret_post' was requested. You must configure the OAuth 2.0 client's 'token_endpoint_auth_method' value to accept 'client_secret_post'."}`},
			{"public client with HTTP Basic",
				url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}, []string{public.ID, "pghs_made-up"},
				refused + ` The OAuth 2.0 Client supports client authentication method 'none', but method 'client_secret_basic' was requested. You must configure the OAuth 2.0 client's 'token_endpoint_auth_method' value to accept 'client_secret_basic'."}`},
			{"both ways at once",
				url.Values{"grant_type": {"client_credentials"}, "client_id": {basic.ID}, "client_secret": {basic.Secret}}, []string{basic.ID, basic.Secret},
				refused + ` The request sends a client secret both with HTTP Basic and in the form; use one of them."}`},
			{"wrong secret in the form",
				url.Values{"grant_type": {"client_credentials"}, "client_id": {basic.ID}, "client_secret": {"pghs_wrong"}}, nil,
				refused + `"}`},
			{"wrong secret with HTTP Basic",
				url.Values{"grant_type": {"client_credentials"}}, []string{post.ID, "pghs_wrong"},
				refused + `"}`},
			{"confidential client without its secret",
				url.Values{"grant_type": {"client_credentials"}, "client_id": {post.ID}}, nil,
				refused + `"}`},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := tokenRequest(e, tc.form, tc.basic...)
				if r.Status != http.StatusUnauthorized || string(r.Body) != tc.want {
					t.Fatalf("got %d %s\nwant 401 %s", r.Status, r.Body, tc.want)
				}
				if h := r.Header.Get("WWW-Authenticate"); h != `Basic realm="puguh"` {
					t.Fatalf("WWW-Authenticate = %q, want the Basic challenge of RFC 6749 §5.2", h)
				}
			})
		}
	})
}

// A revocation request with a wrong client secret is 401 invalid_client
// with the Basic challenge, like the token endpoint (RFC 7009 §2.2.1 points
// to RFC 6749 §5.2), and revokes nothing.
func TestRevocationRefusesAWrongClientSecret(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	owner := e.NewUser()
	app := registerApp(t, e, owner, appOptions{})
	form := url.Values{"token": {owner.AccessToken}}.Encode()
	r := e.Do(http.MethodPost, "/oauth/revoke", form, "Content-Type", "application/x-www-form-urlencoded",
		"Authorization", basicAuth(app.ID, "wrong"))
	const want = `{"error":"invalid_client","error_description":"Client authentication failed (e.g., unknown client, no client authentication included, or unsupported authentication method)."}`
	if r.Status != http.StatusUnauthorized || strings.TrimSpace(string(r.Body)) != want {
		t.Fatalf("got %d %s\nwant 401 %s", r.Status, r.Body, want)
	}
	if h := r.Header.Get("WWW-Authenticate"); h != `Basic realm="puguh"` {
		t.Fatalf("WWW-Authenticate = %q, want the Basic challenge", h)
	}
}
