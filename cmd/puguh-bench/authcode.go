package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"
)

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// authorizationCode is the full code flow of a signed-in browser: authorize
// with an SSO session (trusted application: no consent), then the code
// exchange with PKCE at the token endpoint. Each worker signs in once first.
func (fx *fixtures) authorizationCode() scenario {
	sc := scenario{name: "authorization_code", skip: fx.skipApp}
	sc.newWorker = func(id int) func(context.Context, *http.Client) error {
		jar, _ := cookiejar.New(nil)
		browser := newClient(0)
		browser.Jar = jar
		u := fx.users[id%len(fx.users)]
		// Sign in during setup, outside the measured loop: the scenario is
		// the flow of a browser that already has an SSO session.
		setupCtx, cancel := context.WithTimeout(context.Background(), time.Minute)
		signInErr := fx.signIn(setupCtx, browser, u.Email)
		cancel()
		return func(ctx context.Context, c *http.Client) error {
			if signInErr != nil {
				return signInErr
			}
			verifier := randomHex(32)
			sum := sha256.Sum256([]byte(verifier))
			q := url.Values{
				"client_id": {fx.appID}, "redirect_uri": {fx.appRedirect}, "response_type": {"code"},
				"scope": {"openid profile email"}, "state": {randomHex(8)}, "nonce": {randomHex(8)},
				"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
			}
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fx.base+"/oauth/authorize?"+q.Encode(), nil)
			resp, _, err := expect(browser, req, http.StatusSeeOther)
			if err != nil {
				return err
			}
			loc, err := url.Parse(resp.Header.Get("Location"))
			if err != nil || loc.Query().Get("code") == "" {
				return fmt.Errorf("authorize: no code in %q", resp.Header.Get("Location"))
			}
			tok := form(ctx, fx.base, "/oauth/token", url.Values{
				"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
				"redirect_uri": {fx.appRedirect}, "code_verifier": {verifier},
			}, fx.appID, fx.appSecret)
			_, _, err = expect(c, tok, http.StatusOK)
			return err
		}
	}
	return sc
}

// signIn signs a browser in through the sign-in page.
func (fx *fixtures) signIn(ctx context.Context, browser *http.Client, email string) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fx.base+"/login", nil)
	_, page, err := expect(browser, req, http.StatusOK)
	if err != nil {
		return err
	}
	m := csrfField.FindSubmatch(page)
	if m == nil {
		return errors.New("sign-in page has no csrf_token")
	}
	f := url.Values{"csrf_token": {string(m[1])}, "email": {email}, "password": {fx.password}}
	req, _ = http.NewRequestWithContext(ctx, http.MethodPost, fx.base+"/login", strings.NewReader(f.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", fx.base)
	_, _, err = expect(browser, req, http.StatusSeeOther)
	return err
}

// loginWithAPIKeys saturates the REST login (argon2id) with most workers
// while four others call GET /api/v1/health with an API key: the row is the
// API-key latency, which bounded hashing must keep low.
func (fx *fixtures) loginWithAPIKeys() scenario {
	login := fx.login().newWorker
	sc := scenario{name: "apikey_during_logins", skip: fx.skipAPIKey}
	sc.newWorker = func(id int) func(context.Context, *http.Client) error {
		if id >= 4 {
			do := login(id)
			return func(ctx context.Context, c *http.Client) error {
				_ = do(ctx, c)
				return errSkipSample
			}
		}
		return func(ctx context.Context, c *http.Client) error {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fx.base+"/api/v1/health", nil)
			req.Header.Set("X-API-Key", fx.apiKey)
			req.Header.Set("X-Organization-ID", fx.apiKeyOrg)
			_, _, err := expect(c, req, http.StatusOK)
			return err
		}
	}
	sc.extra = func(r *result) { r.Note = "API-key requests while logins saturate the CPU" }
	return sc
}
