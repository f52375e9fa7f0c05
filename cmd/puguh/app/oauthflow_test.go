package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

// TestSeedGuideOAuth runs the guide's "OAuth Integration (Enterprise)": its
// Authorization URL (organization scopes, state) through sign-in and consent,
// then its "Exchange Code for Token" curl, parameter for parameter.
func TestSeedGuideOAuth(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, e *apptest.Env) {
		owner := e.NewUser()
		app := registerApp(t, e, owner, appOptions{})
		b := newBrowser(t, e)

		// https://api-puguh.arsaka.io/oauth/authorize?client_id=…&redirect_uri=…
		// &response_type=code&scope=read:user read:resources&state=RANDOM_STATE
		authURL := "/oauth/authorize?client_id=" + app.ID + "&redirect_uri=" + url.QueryEscape(app.RedirectURI) +
			"&response_type=code&scope=" + url.QueryEscape("read:user read:resources") + "&state=RANDOM_STATE"
		p := b.get(authURL)
		if p.Status != http.StatusSeeOther || p.Location.Path != "/login" {
			t.Fatalf("authorize without a session: want 303 to /login, got %d %v", p.Status, p.Location)
		}
		q, _ := url.ParseQuery(strings.TrimPrefix(authURL, "/oauth/authorize?"))
		p = b.authorize(q, owner)
		if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location.String(), app.RedirectURI+"?") {
			t.Fatalf("want redirect to the client, got %d %v %.300s", p.Status, p.Location, p.Body)
		}
		got := p.Location.Query()
		if got.Get("state") != "RANDOM_STATE" || got.Get("iss") != e.URL || got.Get("code") == "" {
			t.Fatalf("authorization response %v", got)
		}

		// curl -X POST …/oauth/token -H "Content-Type: application/x-www-form-urlencoded"
		//   -d "grant_type=authorization_code" -d "code=…" -d "client_id=…"
		//   -d "client_secret=…" -d "redirect_uri=…"
		body := "grant_type=authorization_code" + "&code=" + got.Get("code") + "&client_id=" + app.ID +
			"&client_secret=" + app.Secret + "&redirect_uri=" + app.RedirectURI
		r := e.Do(http.MethodPost, "/oauth/token", body, "Content-Type", "application/x-www-form-urlencoded")
		if r.Status != http.StatusOK {
			t.Fatalf("token: %d %s", r.Status, r.Body)
		}
		if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("token response Cache-Control = %q, want no-store", cc)
		}
		var tok struct {
			AccessToken string `json:"access_token"`
			TokenType   string `json:"token_type"`
			ExpiresIn   int    `json:"expires_in"`
			Scope       string `json:"scope"`
		}
		r.JSON(t, &tok)
		if tok.AccessToken == "" || tok.TokenType != "Bearer" || tok.ExpiresIn < 3590 || tok.ExpiresIn > 3600 || tok.Scope != "read:user read:resources" {
			t.Fatalf("token response %s", r.Body)
		}
	})
}

// oidcClient is a relying party built only from the discovery document.
type oidcClient struct {
	provider *oidc.Provider
	config   oauth2.Config
	verifier *oidc.IDTokenVerifier
}

func newOIDCClient(t *testing.T, e *apptest.Env, app *testApp, scopes ...string) *oidcClient {
	t.Helper()
	provider, err := oidc.NewProvider(context.Background(), e.URL)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	cfg := oauth2.Config{ClientID: app.ID, ClientSecret: app.Secret, Endpoint: provider.Endpoint(),
		RedirectURL: app.RedirectURI, Scopes: scopes}
	if app.Public {
		cfg.ClientSecret = ""
	}
	return &oidcClient{provider: provider, config: cfg, verifier: provider.Verifier(&oidc.Config{ClientID: app.ID})}
}

// TestOIDCRelyingParty drives Puguh with golang.org/x/oauth2 and
// github.com/coreos/go-oidc/v3: discovery, code + PKCE (S256), ID token with
// nonce, auth_time, at_hash and the scope's claims, userinfo, refresh; then a
// second application signs in through the SSO session without a password.
func TestOIDCRelyingParty(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, e *apptest.Env) {
		ctx := context.Background()
		user := e.NewUser()
		for _, public := range []bool{false, true} {
			name := map[bool]string{false: "confidential", true: "public"}[public]
			t.Run(name, func(t *testing.T) {
				app := registerApp(t, e, user, appOptions{Public: public})
				rp := newOIDCClient(t, e, app, oidc.ScopeOpenID, "profile", "email", oidc.ScopeOfflineAccess)
				verifier := oauth2.GenerateVerifier()
				nonce := "nonce-0123456789abcdef"
				authURL, _ := url.Parse(rp.config.AuthCodeURL("state-0123456789", oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce)))
				b := newBrowser(t, e)
				code := codeFrom(t, e, app, b.authorize(authURL.Query(), user))

				tok, err := rp.config.Exchange(ctx, code, oauth2.VerifierOption(verifier))
				if err != nil {
					t.Fatalf("exchange: %v", err)
				}
				raw, _ := tok.Extra("id_token").(string)
				idt, err := rp.verifier.Verify(ctx, raw)
				if err != nil {
					t.Fatalf("verify ID token: %v", err)
				}
				if idt.Nonce != nonce || idt.Subject != user.ID || idt.Issuer != e.URL {
					t.Fatalf("ID token nonce %q sub %q iss %q", idt.Nonce, idt.Subject, idt.Issuer)
				}
				if err := idt.VerifyAccessToken(tok.AccessToken); err != nil || idt.AccessTokenHash == "" {
					t.Fatalf("at_hash %q: %v", idt.AccessTokenHash, err)
				}
				var claims struct {
					AuthTime      int64  `json:"auth_time"`
					Email         string `json:"email"`
					EmailVerified *bool  `json:"email_verified"`
					Name          string `json:"name"`
				}
				if err := idt.Claims(&claims); err != nil {
					t.Fatal(err)
				}
				if claims.AuthTime == 0 || claims.Email != user.Email || claims.EmailVerified == nil || claims.Name != "Test User" {
					t.Fatalf("ID token claims %+v", claims)
				}

				info, err := rp.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
				if err != nil {
					t.Fatalf("userinfo: %v", err)
				}
				if info.Subject != user.ID || info.Email != user.Email {
					t.Fatalf("userinfo %+v", info)
				}

				// Refresh rotates the refresh token and keeps working.
				refreshed, err := rp.config.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
				if err != nil {
					t.Fatalf("refresh: %v", err)
				}
				if refreshed.AccessToken == tok.AccessToken || refreshed.RefreshToken == tok.RefreshToken || refreshed.RefreshToken == "" {
					t.Fatal("refresh did not rotate the tokens")
				}

				// SSO: a second application in the same browser gets a code
				// without the sign-in page (one hop per consent, none for login).
				other := registerApp(t, e, user, appOptions{Trusted: true})
				p := b.get("/oauth/authorize?" + codeQuery(other, "openid", "nonce", nonce).Encode())
				codeFrom(t, e, other, p)
			})
		}
	})
}

// TestClientCredentials uses golang.org/x/oauth2/clientcredentials.
func TestClientCredentials(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	app := registerApp(t, e, e.NewUser(), appOptions{})
	cc := clientcredentials.Config{ClientID: app.ID, ClientSecret: app.Secret, TokenURL: e.URL + "/oauth/token",
		Scopes: []string{"read:resources"}}
	tok, err := cc.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r := e.Do(http.MethodPost, "/oauth/introspect", "token="+tok.AccessToken,
		"Content-Type", "application/x-www-form-urlencoded", "Authorization", basicAuth(app.ID, app.Secret))
	var in struct {
		Active bool   `json:"active"`
		Scope  string `json:"scope"`
		Sub    string `json:"sub"`
	}
	r.JSON(t, &in)
	if r.Status != http.StatusOK || !in.Active || in.Scope != "read:resources" || in.Sub != app.ID {
		t.Fatalf("introspection: %d %s", r.Status, r.Body)
	}
}

func basicAuth(id, secret string) string {
	req, _ := http.NewRequest(http.MethodGet, "/", nil)
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	return req.Header.Get("Authorization")
}

// decodeJSON decodes a JSON body or fails.
func decodeJSON(t testing.TB, body string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("not JSON (%v): %s", err, body)
	}
}
