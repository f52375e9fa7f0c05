package oauth_test

import (
	"context"
	"errors"
	"net/url"
	"os"
	"strings"
	"testing"

	puguh "github.com/arsaka/puguh/sdk/go"
	"github.com/arsaka/puguh/sdk/go/internal/puguhtest"
	"github.com/arsaka/puguh/sdk/go/oauth"
)

func TestMain(m *testing.M) {
	code := m.Run()
	puguhtest.RemoveBinary()
	os.Exit(code)
}

const redirect = "http://127.0.0.1:9/callback"

func TestCodeChallengeS256(t *testing.T) {
	// RFC 7636 appendix B.
	if got := oauth.CodeChallengeS256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"); got != "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" {
		t.Fatal(got)
	}
}

// TestSSOFlow: the code flow through Puguh's sign-in and consent pages, and
// every check of the callback, refresh and revocation.
func TestSSOFlow(t *testing.T) {
	ctx := context.Background()
	srv := puguhtest.StartT(t)
	owner := srv.NewUser(t, "sso-owner")
	user := srv.NewUser(t, "sso-user")
	admin, _ := puguh.NewClient(puguh.WithBaseURL(srv.BaseURL), puguh.WithAccessToken(owner.AccessToken, nil))
	app, err := admin.Applications.Create(ctx, puguh.ApplicationFields{Name: "Intranet", RedirectURIs: []string{redirect},
		Scopes: []string{"openid", "profile", "email", "offline_access", "read:user"}})
	if err != nil {
		t.Fatal(err)
	}
	sso, err := oauth.New(ctx, oauth.Config{Issuer: srv.BaseURL, ClientID: app.ClientID, ClientSecret: app.ClientSecret, RedirectURL: redirect})
	if err != nil {
		t.Fatal(err)
	}
	if sso.AuthMethod() != oauth.ClientSecretPost {
		t.Fatal(sso.AuthMethod())
	}

	req, err := sso.AuthorizationURL(oauth.AuthorizationParams{Scopes: []string{"openid", "profile", "offline_access", "read:user"}})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(req.URL)
	q := u.Query()
	if u.Path != "/oauth/authorize" || q.Get("response_type") != "code" || q.Get("client_id") != app.ClientID || q.Get("state") != req.State ||
		q.Get("code_challenge") != oauth.CodeChallengeS256(req.CodeVerifier) || q.Get("code_challenge_method") != "S256" ||
		q.Get("nonce") != req.Nonce || len(req.State) != 43 || len(req.Nonce) != 43 || q.Get("scope") != "openid profile offline_access read:user" {
		t.Fatalf("authorization URL %s", req.URL)
	}
	if _, err := sso.AuthorizationURL(oauth.AuthorizationParams{CodeVerifier: "short"}); err == nil {
		t.Fatal("a short verifier was accepted")
	}

	browser := puguhtest.NewBrowser(t, srv.BaseURL)
	cb := browser.Authorize(t, req.URL, user, "allow")
	var oe *puguh.OAuthError
	if _, err := sso.HandleCallback(ctx, cb.String(), oauth.AuthorizationRequest{State: "another-state", CodeVerifier: req.CodeVerifier, Nonce: req.Nonce}); !errors.As(err, &oe) || oe.ErrorCode != "invalid_state" {
		t.Fatalf("state: %v", err)
	}
	foreign := *cb
	fq := foreign.Query()
	fq.Set("iss", "https://impostor.example.com")
	foreign.RawQuery = fq.Encode()
	if _, err := sso.HandleCallback(ctx, foreign.String(), *req); !errors.As(err, &oe) || oe.ErrorCode != "invalid_issuer" {
		t.Fatalf("iss: %v", err)
	}
	badNonce := *req
	badNonce.Nonce = "another nonce value"
	tokens, err := sso.HandleCallback(ctx, cb.Path+"?"+cb.RawQuery, badNonce)
	var te *puguh.TokenVerificationError
	if !errors.As(err, &te) || !strings.Contains(te.Description, "nonce") {
		t.Fatalf("nonce: %v", err)
	}
	// The code was redeemed by that call: a second redemption is refused.
	if _, err := sso.HandleCallback(ctx, cb.String(), *req); !errors.As(err, &oe) || oe.ErrorCode != "invalid_grant" || oe.Status != 400 || oe.Response.OperationID != "oauth.token" {
		t.Fatalf("second redemption: %v", err)
	}

	req, _ = sso.AuthorizationURL(oauth.AuthorizationParams{Scopes: []string{"openid", "profile", "offline_access", "read:user"}})
	tokens, err = sso.HandleCallback(ctx, browser.Authorize(t, req.URL, user, "allow").String(), *req)
	if err != nil {
		t.Fatal(err)
	}
	if tokens.IDTokenClaims.Subject != user.UserID || tokens.IDTokenClaims.Nonce != req.Nonce || tokens.RefreshToken == "" || !strings.EqualFold(tokens.TokenType, "bearer") {
		t.Fatalf("%+v", tokens.IDTokenClaims)
	}
	if _, err := sso.VerifyIDToken(ctx, tokens.AccessToken, "", ""); !errors.As(err, &te) {
		t.Fatal("an access token passed for an ID token")
	}
	if _, err := sso.VerifyIDToken(ctx, tokens.IDToken, req.Nonce, "not the access token"); !errors.As(err, &te) || !strings.Contains(te.Description, "at_hash") {
		t.Fatalf("at_hash: %v", err)
	}

	next, err := sso.Refresh(ctx, tokens.RefreshToken)
	if err != nil || next.AccessToken == "" || next.RefreshToken == tokens.RefreshToken {
		t.Fatal(err)
	}
	if err := sso.Revoke(ctx, next.RefreshToken, "refresh_token"); err != nil {
		t.Fatal(err)
	}
	if _, err := sso.Refresh(ctx, next.RefreshToken); !errors.As(err, &oe) || oe.ErrorCode != "invalid_grant" {
		t.Fatalf("a revoked refresh token: %v", err)
	}

	// A user who denies consent.
	denier := srv.NewUser(t, "denier")
	req, _ = sso.AuthorizationURL(oauth.AuthorizationParams{Scopes: []string{"openid"}})
	back := puguhtest.NewBrowser(t, srv.BaseURL).Authorize(t, req.URL, denier, "deny")
	if _, err := sso.HandleCallback(ctx, back.String(), *req); !errors.As(err, &oe) || oe.ErrorCode != "access_denied" || oe.Status != 0 {
		t.Fatalf("denied: %v", err)
	}

	// The other secret method is accepted for a confidential client (RFC 6749
	// §2.3.1), so a bogus refresh token reaches the grant check; a wrong secret
	// is refused with 401 whichever method carries it.
	basic, _ := oauth.New(ctx, oauth.Config{Issuer: srv.BaseURL, ClientID: app.ClientID, ClientSecret: app.ClientSecret, AuthMethod: oauth.ClientSecretBasic, RedirectURL: redirect})
	if _, err := basic.Refresh(ctx, "ory_rt_whatever"); !errors.As(err, &oe) || oe.ErrorCode != "invalid_grant" {
		t.Fatalf("basic: %v", err)
	}
	for _, method := range []string{oauth.ClientSecretBasic, oauth.ClientSecretPost} {
		wrong, _ := oauth.New(ctx, oauth.Config{Issuer: srv.BaseURL, ClientID: app.ClientID, ClientSecret: "not-the-secret", AuthMethod: method, RedirectURL: redirect})
		if _, err := wrong.Refresh(ctx, "ory_rt_whatever"); !errors.As(err, &oe) || oe.ErrorCode != "invalid_client" || oe.Status != 401 {
			t.Fatalf("wrong secret over %s: %v", method, err)
		}
	}

	// A public client: PKCE, no secret.
	spa, err := admin.Applications.Create(ctx, puguh.ApplicationFields{Name: "SPA", RedirectURIs: []string{redirect}, Public: puguh.Ptr(true)})
	if err != nil {
		t.Fatal(err)
	}
	public, _ := oauth.New(ctx, oauth.Config{Issuer: srv.BaseURL, ClientID: spa.ClientID, RedirectURL: redirect})
	if public.AuthMethod() != oauth.None {
		t.Fatal(public.AuthMethod())
	}
	req, _ = public.AuthorizationURL(oauth.AuthorizationParams{Scopes: []string{"openid", "profile"}})
	if got, err := public.HandleCallback(ctx, browser.Authorize(t, req.URL, user, "allow").String(), *req); err != nil || puguhtest.DecodeJWT(t, got.AccessToken).Payload["client_id"] != spa.ClientID {
		t.Fatal(err)
	}
}
