package app_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
	"github.com/arsaka/puguh/storage/sqlstore/sqltest"
)

var (
	totpSecretInput = regexp.MustCompile(`id="totp-secret" type="text" readonly value="([A-Z2-7]+)"`)
	recoveryArea    = regexp.MustCompile(`(?s)<textarea id="recovery-codes"[^>]*>(.*?)</textarea>`)
)

// totpCode is the code of the step d steps from now.
func totpCode(t testing.TB, secret string, d int) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, time.Now().Add(time.Duration(d)*30*time.Second),
		totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// enrolTOTP turns an authenticator app on for user from /account/security
// and returns its secret and the recovery codes the page showed.
func enrolTOTP(t testing.TB, e *apptest.Env, user *apptest.User) (string, []string) {
	t.Helper()
	b := newBrowser(t, e)
	signIn(t, b, user.Email, user.Password)
	p := postForm(t, b, "/account/security", "/account/security/totp", url.Values{})
	m := totpSecretInput.FindStringSubmatch(p.Body)
	if p.Status != http.StatusOK || m == nil || !strings.Contains(p.Body, `<svg xmlns="http://www.w3.org/2000/svg"`) {
		t.Fatalf("enrolment page: %d %.1500s", p.Status, p.Body)
	}
	secret := m[1]
	// A wrong code keeps the enrolment and says why.
	p = b.post("/account/security/totp/confirm", url.Values{"csrf_token": {csrfOf(t, p.Body)}, "code": {"000000"}})
	if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "the code is not correct") || !strings.Contains(p.Body, secret) {
		t.Fatalf("wrong confirmation code: %d %.1500s", p.Status, p.Body)
	}
	p = b.post("/account/security/totp/confirm", url.Values{"csrf_token": {csrfOf(t, p.Body)}, "code": {totpCode(t, secret, 0)}})
	cm := recoveryArea.FindStringSubmatch(p.Body)
	if p.Status != http.StatusOK || cm == nil {
		t.Fatalf("confirmation: %d %.1500s", p.Status, p.Body)
	}
	codes := strings.Fields(html.UnescapeString(cm[1]))
	if len(codes) != 10 {
		t.Fatalf("recovery codes %v", codes)
	}
	// Shown once: the page does not show them again.
	if again := b.get("/account/security"); strings.Contains(again.Body, codes[0]) || !strings.Contains(again.Body, `id="codes-left">10<`) {
		t.Fatalf("security page after enrolment: %.1500s", again.Body)
	}
	return secret, codes
}

// mfaLogin posts the REST login of a user with a second factor and
// returns the challenge, checking the whole mfa_required answer.
func mfaLogin(t testing.TB, e *apptest.Env, user *apptest.User) string {
	t.Helper()
	r := e.Do(http.MethodPost, "/api/v1/auth/login", map[string]string{"email": user.Email, "password": user.Password})
	var body struct {
		Detail      string   `json:"detail"`
		MFARequired bool     `json:"mfa_required"`
		Challenge   string   `json:"challenge"`
		Methods     []string `json:"methods"`
		ExpiresIn   int      `json:"expires_in"`
	}
	r.JSON(t, &body)
	if r.Status != http.StatusUnauthorized || body.Detail != "A second factor is required" || !body.MFARequired ||
		len(body.Challenge) != 43 || !slices.Equal(body.Methods, []string{"totp", "recovery_code"}) || body.ExpiresIn != 300 ||
		r.Header.Get("WWW-Authenticate") != `Bearer realm="puguh"` {
		t.Fatalf("login of an MFA user: %d %s", r.Status, r.Body)
	}
	return body.Challenge
}

func wantDetail(t testing.TB, r *apptest.Response, status int, body string) {
	t.Helper()
	if r.Status != status || strings.TrimSpace(string(r.Body)) != body {
		t.Fatalf("got %d %s, want %d %s", r.Status, r.Body, status, body)
	}
}

const (
	badCode      = `{"detail":"Invalid authentication code"}`
	badChallenge = `{"detail":"The sign-in challenge is invalid or has expired; sign in again"}`
)

// TestMFARESTLogin: a TOTP user is asked for a code at the REST login; the
// code, then each recovery code, works once; every bad input is refused.
func TestMFARESTLogin(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, e *apptest.Env) {
		user := e.NewUser()
		secret, codes := enrolTOTP(t, e, user)
		challenge := mfaLogin(t, e, user)

		wantDetail(t, e.Do(http.MethodPost, "/api/v1/auth/mfa", map[string]string{}), http.StatusUnprocessableEntity,
			`{"detail":[{"loc":["body","challenge"],"msg":"field required","type":"value_error.missing"},{"loc":["body","code"],"msg":"field required","type":"value_error.missing"}]}`)
		wantDetail(t, e.Do(http.MethodPost, "/api/v1/auth/mfa", map[string]string{"challenge": challenge, "code": "000000"}), http.StatusUnauthorized, badCode)
		wantDetail(t, e.Do(http.MethodPost, "/api/v1/auth/mfa", map[string]string{"challenge": strings.Repeat("A", 43), "code": totpCode(t, secret, 1)}),
			http.StatusUnauthorized, badChallenge)
		wantDetail(t, e.Do(http.MethodPost, "/api/v1/auth/mfa", map[string]string{"challenge": "short", "code": totpCode(t, secret, 1)}),
			http.StatusUnauthorized, badChallenge)

		// The next step's code (the enrolment spent the current one).
		code := totpCode(t, secret, 1)
		r := e.Do(http.MethodPost, "/api/v1/auth/mfa", map[string]string{"challenge": challenge, "code": code})
		var tok struct {
			AccessToken string `json:"access_token"`
			TokenType   string `json:"token_type"`
		}
		r.JSON(t, &tok)
		if r.Status != http.StatusOK || tok.AccessToken == "" || tok.TokenType != "Bearer" || r.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("mfa: %d %s", r.Status, r.Body)
		}
		if me := e.Do(http.MethodGet, "/api/v1/iam/users/me", nil, "Authorization", "Bearer "+tok.AccessToken); me.Status != http.StatusOK {
			t.Fatalf("the token of an MFA login: %d %s", me.Status, me.Body)
		}
		// The challenge is spent; the code is spent.
		wantDetail(t, e.Do(http.MethodPost, "/api/v1/auth/mfa", map[string]string{"challenge": challenge, "code": code}), http.StatusUnauthorized, badChallenge)
		second := mfaLogin(t, e, user)
		wantDetail(t, e.Do(http.MethodPost, "/api/v1/auth/mfa", map[string]string{"challenge": second, "code": code}), http.StatusUnauthorized, badCode)

		// A recovery code works once.
		if r := e.Do(http.MethodPost, "/api/v1/auth/mfa", map[string]string{"challenge": second, "code": codes[0]}); r.Status != http.StatusOK {
			t.Fatalf("recovery code: %d %s", r.Status, r.Body)
		}
		third := mfaLogin(t, e, user)
		wantDetail(t, e.Do(http.MethodPost, "/api/v1/auth/mfa", map[string]string{"challenge": third, "code": codes[0]}), http.StatusUnauthorized, badCode)

		// An expired challenge, even with a good code.
		db := sqltest.OpenURL(t, e.DatabaseURL)
		if _, err := db.DB().ExecContext(context.Background(), db.DB().Rebind(`UPDATE mfa_challenges SET expires_at = ?`), time.Now().Add(-time.Second).UTC()); err != nil {
			t.Fatal(err)
		}
		wantDetail(t, e.Do(http.MethodPost, "/api/v1/auth/mfa", map[string]string{"challenge": third, "code": codes[1]}), http.StatusUnauthorized, badChallenge)

		// Five wrong codes use a challenge up.
		fourth := mfaLogin(t, e, user)
		for range 5 {
			wantDetail(t, e.Do(http.MethodPost, "/api/v1/auth/mfa", map[string]string{"challenge": fourth, "code": "111111"}), http.StatusUnauthorized, badCode)
		}
		wantDetail(t, e.Do(http.MethodPost, "/api/v1/auth/mfa", map[string]string{"challenge": fourth, "code": codes[1]}), http.StatusUnauthorized, badChallenge)

		// The audit trail names each factor used, never a code.
		logs := e.Logs()
		for _, want := range []string{`"event":"mfa.factor_added"`, `"event":"mfa.factor_used"`, `"factor":"recovery_code"`, `"event":"mfa.failed"`} {
			if !strings.Contains(logs, want) {
				t.Errorf("logs lack %s", want)
			}
		}
		if strings.Contains(logs, codes[0]) || strings.Contains(logs, secret) {
			t.Error("the logs hold a recovery code or the TOTP secret")
		}
	})
}

// TestMFABrowserSignInAndIDToken: the sign-in page asks a TOTP user for a
// code; an application asking acr_values for multi-factor steps a
// password-only session up, and gets an ID token whose amr and acr show it.
func TestMFABrowserSignInAndIDToken(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, e *apptest.Env) {
		ctx := context.Background()
		user := e.NewUser()
		app := registerApp(t, e, user, appOptions{Trusted: true})
		rp := newOIDCClient(t, e, app, oidc.ScopeOpenID)
		idToken := func(p *page) (amr []string, acr string) {
			t.Helper()
			tok, err := rp.config.Exchange(ctx, codeFrom(t, e, app, p))
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := tok.Extra("id_token").(string)
			idt, err := rp.verifier.Verify(ctx, raw)
			if err != nil {
				t.Fatal(err)
			}
			var c struct {
				AMR []string `json:"amr"`
				ACR string   `json:"acr"`
			}
			if err := idt.Claims(&c); err != nil {
				t.Fatal(err)
			}
			return c.AMR, c.ACR
		}

		// Without a second factor: amr pwd; asking for mfa signs in again
		// once, then answers with what the sign-in reached.
		b := newBrowser(t, e)
		amr, acr := idToken(b.authorize(codeQuery(app, "openid"), user))
		if !slices.Equal(amr, []string{"pwd"}) || acr != "urn:puguh:acr:pwd" {
			t.Fatalf("password sign-in: amr %v acr %q", amr, acr)
		}
		p := b.get("/oauth/authorize?" + codeQuery(app, "openid", "acr_values", "urn:puguh:acr:mfa").Encode())
		if p.Status != http.StatusSeeOther || p.Location.Path != "/login" {
			t.Fatalf("acr_values mfa on a password session: %d %v, want the sign-in page", p.Status, p.Location)
		}
		if amr, acr = idToken(b.authorize(codeQuery(app, "openid", "acr_values", "urn:puguh:acr:mfa"), user)); acr != "urn:puguh:acr:pwd" {
			t.Fatalf("user without a factor: amr %v acr %q", amr, acr)
		}

		// With TOTP: the password leads to the code form.
		secret, codes := enrolTOTP(t, e, user)
		b = newBrowser(t, e)
		p = b.get("/oauth/authorize?" + codeQuery(app, "openid", "acr_values", "urn:puguh:acr:mfa").Encode())
		form := b.get(p.Location.String())
		fields := formFields(t, form.Body)
		fields.Set("email", user.Email)
		fields.Set("password", user.Password)
		p = b.post("/login", fields)
		if p.Status != http.StatusOK || !strings.Contains(p.Body, `action="/login/mfa"`) || !strings.Contains(p.Body, `autocomplete="one-time-code"`) {
			t.Fatalf("password of a TOTP user: %d %.1000s", p.Status, p.Body)
		}
		mfaFields := formFields(t, p.Body)
		if mfaFields.Get("challenge") == "" {
			t.Fatal("the code form lost the authorization request")
		}
		// A wrong code: the form again, 401.
		mfaFields.Set("code", "000000")
		p = b.post("/login/mfa", mfaFields)
		if p.Status != http.StatusUnauthorized || !strings.Contains(p.Body, "Invalid authentication code") || !strings.Contains(p.Body, `action="/login/mfa"`) {
			t.Fatalf("wrong code: %d %.1000s", p.Status, p.Body)
		}
		// Without the CSRF token: refused.
		noCSRF := url.Values{"code": {totpCode(t, secret, 1)}, "challenge": {mfaFields.Get("challenge")}}
		if p = b.post("/login/mfa", noCSRF); p.Status != http.StatusForbidden || !strings.Contains(p.Body, "Request refused") {
			t.Fatalf("code without CSRF: %d %.1000s", p.Status, p.Body)
		}
		mfaFields = formFields(t, b.post("/login", fields).Body) // a fresh challenge
		mfaFields.Set("code", totpCode(t, secret, 1))
		p = b.post("/login/mfa", mfaFields)
		if p.Status != http.StatusSeeOther || p.Location.Path != "/oauth/authorize" {
			t.Fatalf("right code: %d %v %.500s", p.Status, p.Location, p.Body)
		}
		amr, acr = idToken(b.get(p.Location.String()))
		if !slices.Equal(amr, []string{"pwd", "otp", "mfa"}) || acr != "urn:puguh:acr:mfa" {
			t.Fatalf("TOTP sign-in: amr %v acr %q", amr, acr)
		}
		// The multi-factor session satisfies acr_values without a page.
		amr, _ = idToken(b.get("/oauth/authorize?" + codeQuery(app, "openid", "acr_values", "urn:puguh:acr:mfa").Encode()))
		if !slices.Contains(amr, "mfa") {
			t.Fatalf("SSO after MFA: amr %v", amr)
		}
		// Changing the password replaces the session, which stays multi-factor.
		newPassword := "a brand new passphrase"
		if p = postForm(t, b, "/account", "/account/password", url.Values{"current_password": {user.Password},
			"new_password": {newPassword}, "confirm_password": {newPassword}}); p.Status != http.StatusSeeOther {
			t.Fatalf("change password: %d %.500s", p.Status, p.Body)
		}
		user.Password = newPassword
		amr, _ = idToken(b.get("/oauth/authorize?" + codeQuery(app, "openid", "acr_values", "urn:puguh:acr:mfa").Encode()))
		if !slices.Contains(amr, "mfa") {
			t.Fatalf("after a password change: amr %v", amr)
		}

		// A recovery code signs in at the page once; a code without a
		// pending challenge (no cookie) starts over at the password.
		b2 := newBrowser(t, e)
		login := b2.get("/login")
		p = b2.post("/login", url.Values{"csrf_token": {csrfOf(t, login.Body)}, "email": {user.Email}, "password": {user.Password}})
		p = b2.post("/login/mfa", url.Values{"csrf_token": {csrfOf(t, p.Body)}, "code": {codes[4]}})
		if p.Status != http.StatusSeeOther || p.Location.Path != "/account" {
			t.Fatalf("recovery code at the page: %d %v", p.Status, p.Location)
		}
		b3 := newBrowser(t, e)
		login = b3.get("/login")
		p = b3.post("/login/mfa", url.Values{"csrf_token": {csrfOf(t, login.Body)}, "code": {codes[5]}})
		if p.Status != http.StatusUnauthorized || !strings.Contains(p.Body, `action="/login"`) || !strings.Contains(p.Body, "sign in again") {
			t.Fatalf("code without a challenge: %d %.800s", p.Status, p.Body)
		}

		// Removing the app asks for the password.
		p = postForm(t, b2, "/account/security", "/account/security/totp/remove", url.Values{"password": {"wrong password"}})
		if p.Status != http.StatusForbidden || !strings.Contains(p.Body, "The password is not correct") {
			t.Fatalf("remove with a wrong password: %d %.800s", p.Status, p.Body)
		}
		p = postForm(t, b2, "/account/security", "/account/security/totp/remove", url.Values{"password": {user.Password}})
		if p.Status != http.StatusSeeOther {
			t.Fatalf("remove: %d %.800s", p.Status, p.Body)
		}
		e.Login(user) // the REST login no longer asks
	})
}
