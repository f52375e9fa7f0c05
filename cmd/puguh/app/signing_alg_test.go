package app_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

// TestSigningAlgorithmPerApplication: an application registered through the
// REST API with ES256 (or EdDSA) gets ID tokens and access tokens signed so,
// which go-oidc verifies through discovery and the JWKS alone; discovery lists
// the enabled algorithms; an RS256-only relying party refuses them; another
// application keeps RS256.
func TestSigningAlgorithmPerApplication(t *testing.T) {
	e := apptest.Start(t, apptest.Options{Env: map[string]string{"PUGUH_SIGNING_ALGORITHMS": "RS256,ES256,EdDSA"}})
	ctx := context.Background()
	user := e.NewUser()

	var disc struct {
		Algs []string `json:"id_token_signing_alg_values_supported"`
	}
	e.Do(http.MethodGet, "/.well-known/openid-configuration", nil).JSON(t, &disc)
	if !slices.Equal(disc.Algs, []string{"RS256", "ES256", "EdDSA"}) {
		t.Fatalf("id_token_signing_alg_values_supported %v", disc.Algs)
	}
	var jwks struct {
		Keys []struct{ Kty, Alg, Crv string } `json:"keys"`
	}
	e.Do(http.MethodGet, "/.well-known/jwks.json", nil).JSON(t, &jwks)
	kinds := map[string]int{}
	for _, k := range jwks.Keys {
		kinds[k.Alg+"/"+k.Kty+"/"+k.Crv]++
	}
	if kinds["RS256/RSA/"] != 2 || kinds["ES256/EC/P-256"] != 2 || kinds["EdDSA/OKP/Ed25519"] != 2 {
		t.Fatalf("JWKS keys %v, want an active and a next key of each algorithm", kinds)
	}

	for _, tc := range []struct{ idAlg, atAlg string }{
		{oidc.ES256, oidc.ES256},
		{oidc.EdDSA, oidc.ES256},
		{oidc.RS256, oidc.EdDSA},
		{"", ""}, // not given: RS256
	} {
		t.Run(tc.idAlg+"-"+tc.atAlg, func(t *testing.T) {
			body := map[string]any{}
			if tc.idAlg != "" {
				body["id_token_signed_response_alg"] = tc.idAlg
				body["access_token_signed_response_alg"] = tc.atAlg
			}
			app, _ := restApp(t, e, user, body)
			idAlg, atAlg := orDefault(tc.idAlg, oidc.RS256), orDefault(tc.atAlg, oidc.RS256)
			r := e.Do(http.MethodGet, "/api/v1/applications/"+app.ID, nil, user.Bearer()...)
			var got struct {
				ID string `json:"id_token_signed_response_alg"`
				AT string `json:"access_token_signed_response_alg"`
			}
			r.JSON(t, &got)
			if got.ID != idAlg || got.AT != atAlg {
				t.Fatalf("application reads back %+v", got)
			}

			provider, err := oidc.NewProvider(ctx, e.URL)
			if err != nil {
				t.Fatal(err)
			}
			cfg := oauth2.Config{ClientID: app.ID, ClientSecret: app.Secret, Endpoint: provider.Endpoint(),
				RedirectURL: app.RedirectURI, Scopes: []string{oidc.ScopeOpenID, "profile"}}
			verifier := oauth2.GenerateVerifier()
			authURL, _ := url.Parse(cfg.AuthCodeURL("state-0123456789", oauth2.S256ChallengeOption(verifier), oidc.Nonce("nonce-0123456789abcdef")))
			code := codeFrom(t, e, app, newBrowser(t, e).authorize(authURL.Query(), user))
			tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatalf("exchange: %v", err)
			}
			rawID, _ := tok.Extra("id_token").(string)
			if h := jwsHeader(t, rawID); h["alg"] != idAlg {
				t.Fatalf("ID token header %v, want alg %s", h, idAlg)
			}
			if h := jwsHeader(t, tok.AccessToken); h["alg"] != atAlg || h["typ"] != "at+jwt" {
				t.Fatalf("access token header %v, want alg %s, typ at+jwt", h, atAlg)
			}

			idt, err := provider.Verifier(&oidc.Config{ClientID: app.ID, SupportedSigningAlgs: []string{idAlg}}).Verify(ctx, rawID)
			if err != nil {
				t.Fatalf("go-oidc rejects the %s ID token: %v", idAlg, err)
			}
			if idt.Subject != user.ID || idt.Nonce != "nonce-0123456789abcdef" {
				t.Fatalf("ID token sub %q nonce %q", idt.Subject, idt.Nonce)
			}
			// at_hash uses the ID token's hash: SHA-512 for EdDSA.
			if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
				t.Fatalf("at_hash %s (%s): %v", idt.AccessTokenHash, jwsHeader(t, rawID), err)
			}
			// The access token through the JWKS, as a resource server checks it.
			atv := oidc.NewVerifier(e.URL, oidc.NewRemoteKeySet(ctx, e.URL+"/.well-known/jwks.json"),
				&oidc.Config{ClientID: app.ID, SupportedSigningAlgs: []string{atAlg}})
			if at, err := atv.Verify(ctx, tok.AccessToken); err != nil || at.Subject != user.ID {
				t.Fatalf("go-oidc rejects the %s access token: %v", atAlg, err)
			}
			if idAlg != oidc.RS256 {
				rsOnly := oidc.NewVerifier(e.URL, oidc.NewRemoteKeySet(ctx, e.URL+"/.well-known/jwks.json"),
					&oidc.Config{ClientID: app.ID, SupportedSigningAlgs: []string{oidc.RS256}})
				if _, err := rsOnly.Verify(ctx, rawID); err == nil {
					t.Fatalf("an RS256-only relying party accepted a %s ID token", idAlg)
				}
			}
			// Puguh itself accepts the token: introspection and userinfo.
			ir := e.Do(http.MethodPost, "/oauth/introspect", "token="+tok.AccessToken,
				"Content-Type", "application/x-www-form-urlencoded", "Authorization", basicAuth(app.ID, app.Secret))
			if ir.Status != http.StatusOK || !strings.Contains(string(ir.Body), `"active":true`) {
				t.Fatalf("introspection of the %s token: %d %s", atAlg, ir.Status, ir.Body)
			}
			if info, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err != nil || info.Subject != user.ID {
				t.Fatalf("userinfo with the %s token: %v", atAlg, err)
			}
		})
	}
}

// Unknown algorithms are refused by validation; known ones the server has
// no keys for by the service; both with the exact error body.
func TestSigningAlgorithmValidation(t *testing.T) {
	e := apptest.Start(t, apptest.Options{}) // default: RS256 and ES256
	user := e.NewUser()
	post := func(body map[string]any) *apptest.Response {
		body["name"] = "Acme"
		body["redirect_uris"] = []string{"https://app.example.com/callback"}
		return e.Do(http.MethodPost, "/api/v1/applications", body, user.Bearer()...)
	}
	for _, tc := range []struct {
		body map[string]any
		want string
	}{
		{map[string]any{"id_token_signed_response_alg": "HS256"},
			`{"detail":[{"loc":["body","id_token_signed_response_alg"],"msg":"value is not a valid enumeration member; permitted: 'RS256', 'ES256', 'EdDSA'","type":"type_error.enum"}]}`},
		{map[string]any{"access_token_signed_response_alg": "none"},
			`{"detail":[{"loc":["body","access_token_signed_response_alg"],"msg":"value is not a valid enumeration member; permitted: 'RS256', 'ES256', 'EdDSA'","type":"type_error.enum"}]}`},
		{map[string]any{"id_token_signed_response_alg": "EdDSA", "access_token_signed_response_alg": "EdDSA"},
			`{"detail":[{"loc":["body","id_token_signed_response_alg"],"msg":"this server does not sign with EdDSA; enabled: RS256, ES256 (PUGUH_SIGNING_ALGORITHMS)","type":"value_error.signing_alg"},` +
				`{"loc":["body","access_token_signed_response_alg"],"msg":"this server does not sign with EdDSA; enabled: RS256, ES256 (PUGUH_SIGNING_ALGORITHMS)","type":"value_error.signing_alg"}]}`},
	} {
		r := post(tc.body)
		if r.Status != http.StatusUnprocessableEntity || strings.TrimSpace(string(r.Body)) != tc.want {
			t.Errorf("%v: %d %s\nwant 422 %s", tc.body, r.Status, r.Body, tc.want)
		}
	}
	// PATCH: the same rules, and a good change is kept.
	app, _ := restApp(t, e, user, map[string]any{})
	r := e.Do(http.MethodPatch, "/api/v1/applications/"+app.ID, map[string]any{"access_token_signed_response_alg": "EdDSA"}, user.Bearer()...)
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), "this server does not sign with EdDSA") {
		t.Fatalf("PATCH EdDSA: %d %s", r.Status, r.Body)
	}
	r = e.Do(http.MethodPatch, "/api/v1/applications/"+app.ID, map[string]any{"access_token_signed_response_alg": "ES256"}, user.Bearer()...)
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"access_token_signed_response_alg":"ES256"`) ||
		!strings.Contains(string(r.Body), `"id_token_signed_response_alg":"RS256"`) {
		t.Fatalf("PATCH ES256: %d %s", r.Status, r.Body)
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// jwsHeader decodes a compact JWS's protected header.
func jwsHeader(t *testing.T, token string) map[string]any {
	t.Helper()
	part, _, _ := strings.Cut(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(part)
	if err != nil {
		t.Fatalf("header of %.40s: %v", token, err)
	}
	var h map[string]any
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	return h
}
