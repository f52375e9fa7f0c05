package app_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

// Every token response says token_type "Bearer", the API guide's spelling,
// at /oauth/token as at the REST login and refresh.
func TestTokenTypeIsBearer(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	user := e.NewUser()
	app := registerApp(t, e, user, appOptions{Trusted: true})
	form := func(v url.Values, headers ...string) *apptest.Response {
		return e.Do(http.MethodPost, "/oauth/token", v.Encode(), append([]string{"Content-Type", "application/x-www-form-urlencoded"}, headers...)...)
	}
	tokenType := func(t *testing.T, r *apptest.Response) string {
		t.Helper()
		if r.Status != http.StatusOK {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		var tok struct {
			TokenType string `json:"token_type"`
		}
		r.JSON(t, &tok)
		return tok.TokenType
	}
	var refresh string
	for _, tc := range []struct {
		name string
		send func() *apptest.Response
	}{
		// The guide's "Exchange Code for Token", parameter for parameter.
		{"authorization_code", func() *apptest.Response {
			code := codeFrom(t, e, app, newBrowser(t, e).authorize(codeQuery(app, "openid offline_access"), user))
			r := form(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {app.ID},
				"client_secret": {app.Secret}, "redirect_uri": {app.RedirectURI}})
			var tok struct {
				RefreshToken string `json:"refresh_token"`
			}
			r.JSON(t, &tok)
			refresh = tok.RefreshToken
			return r
		}},
		{"refresh_token", func() *apptest.Response {
			return form(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}, "client_id": {app.ID}, "client_secret": {app.Secret}})
		}},
		{"client_credentials", func() *apptest.Response {
			return form(url.Values{"grant_type": {"client_credentials"}, "client_id": {app.ID}, "client_secret": {app.Secret}})
		}},
		// The guide's login and refresh.
		{"REST login", func() *apptest.Response {
			return e.Do(http.MethodPost, "/api/v1/auth/login", map[string]string{"email": user.Email, "password": user.Password})
		}},
		{"REST refresh", func() *apptest.Response {
			return e.Do(http.MethodPost, "/api/v1/auth/refresh", map[string]string{"refresh_token": user.RefreshToken})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tokenType(t, tc.send()); got != "Bearer" {
				t.Fatalf("token_type %q, want Bearer", got)
			}
		})
	}

	// golang.org/x/oauth2 keeps the server's spelling in TokenType, and
	// go-oidc sends the token back with it.
	t.Run("x/oauth2 and go-oidc", func(t *testing.T) {
		ctx := context.Background()
		rp := newOIDCClient(t, e, app, oidc.ScopeOpenID, "email", oidc.ScopeOfflineAccess)
		verifier := oauth2.GenerateVerifier()
		authURL, _ := url.Parse(rp.config.AuthCodeURL("state-0123456789", oauth2.S256ChallengeOption(verifier)))
		code := codeFrom(t, e, app, newBrowser(t, e).authorize(authURL.Query(), user))
		tok, err := rp.config.Exchange(ctx, code, oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatalf("exchange: %v", err)
		}
		if tok.TokenType != "Bearer" {
			t.Fatalf("exchange: token_type %q", tok.TokenType)
		}
		raw, _ := tok.Extra("id_token").(string)
		if _, err := rp.verifier.Verify(ctx, raw); err != nil {
			t.Fatalf("verify ID token: %v", err)
		}
		if info, err := rp.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err != nil || info.Subject != user.ID {
			t.Fatalf("userinfo with the token as issued: %v %+v", err, info)
		}
		refreshed, err := rp.config.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
		if err != nil || refreshed.TokenType != "Bearer" {
			t.Fatalf("refresh: %v, token_type %q", err, refreshed.TokenType)
		}
		cc := clientcredentials.Config{ClientID: app.ID, ClientSecret: app.Secret, TokenURL: e.URL + "/oauth/token"}
		if ct, err := cc.Token(ctx); err != nil || ct.TokenType != "Bearer" {
			t.Fatalf("client credentials: %v, token_type %q", err, ct.TokenType)
		}
	})
}
