package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
	"github.com/arsaka/puguh/provider/mfa"
	"github.com/arsaka/puguh/storage"
)

// TestPasskeyPagesOverHTTP holds the passkey endpoints of the pages to
// their contract without a browser: the sign-in page runs only our own
// script (CSP), a ceremony needs the CSRF token and is bound to the browser
// that began it and spent by its first answer, and every refusal answers
// with its status and words. (The ceremonies themselves, with a real
// authenticator, are TestBrowserPasskeySignInAndStepUp's; their rules are
// provider/mfa's tests.)
func TestPasskeyPagesOverHTTP(t *testing.T) {
	e := apptest.Start(t, apptest.Options{Localhost: true})
	user := e.NewUser()
	b := newBrowser(t, e)

	login := b.get("/login")
	csp := login.Header.Get("Content-Security-Policy")
	if login.Status != http.StatusOK || !strings.Contains(login.Body, `id="passkey-sign-in"`) ||
		!strings.Contains(login.Body, `autocomplete="username webauthn"`) || !strings.Contains(login.Body, `src="/static/passkeys.js"`) ||
		!strings.Contains(csp, "script-src 'self'; connect-src 'self';") || strings.Contains(csp, "unsafe-inline") {
		t.Fatalf("sign-in page: %d CSP %q\n%.1500s", login.Status, csp, login.Body)
	}
	if js := b.get("/static/passkeys.js"); js.Status != http.StatusOK || !strings.Contains(js.Body, `mediation: "conditional"`) {
		t.Fatalf("passkeys.js: %d", js.Status)
	}
	csrf := csrfOf(t, login.Body)

	// Beginning needs the CSRF token; with it, the options and a cookie.
	if p := b.post("/login/passkey/options", url.Values{}); p.Status != http.StatusForbidden ||
		!strings.Contains(p.Body, "Your session could not be verified") {
		t.Fatalf("options without CSRF: %d %.500s", p.Status, p.Body)
	}
	p := b.post("/login/passkey/options", url.Values{"csrf_token": {csrf}})
	var opts struct {
		PublicKey struct {
			Challenge        string `json:"challenge"`
			RPID             string `json:"rpId"`
			UserVerification string `json:"userVerification"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal([]byte(p.Body), &opts); p.Status != http.StatusOK || err != nil || len(opts.PublicKey.Challenge) < 22 ||
		opts.PublicKey.RPID != "localhost" || opts.PublicKey.UserVerification != "required" || p.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("options: %d %v %s", p.Status, err, p.Body)
	}
	if c := p.Header.Get("Set-Cookie"); !strings.HasPrefix(c, "puguh_passkey=") || !strings.Contains(c, "HttpOnly") {
		t.Fatalf("the ceremony's cookie: %q", c)
	}
	// An answer that does not verify spends the ceremony; a second answer
	// finds none.
	p = b.post("/login/passkey", url.Values{"csrf_token": {csrf}, "credential": {`{"id":"x"}`}})
	if p.Status != http.StatusUnauthorized || !strings.Contains(p.Body, mfa.BadPasskey) || !strings.Contains(p.Body, `action="/login"`) {
		t.Fatalf("a bad answer: %d %.800s", p.Status, p.Body)
	}
	p = b.post("/login/passkey", url.Values{"csrf_token": {csrf}, "credential": {`{"id":"x"}`}})
	if p.Status != http.StatusUnauthorized || !strings.Contains(p.Body, "sign in again") {
		t.Fatalf("an answer without a ceremony: %d %.800s", p.Status, p.Body)
	}
	// Another browser's ceremony is not this one's.
	b.post("/login/passkey/options", url.Values{"csrf_token": {csrf}})
	b2 := newBrowser(t, e)
	csrf2 := csrfOf(t, b2.get("/login").Body)
	if p = b2.post("/login/passkey", url.Values{"csrf_token": {csrf2}, "credential": {`{"id":"x"}`}}); p.Status != http.StatusUnauthorized ||
		!strings.Contains(p.Body, "sign in again") {
		t.Fatalf("another browser's answer: %d %.800s", p.Status, p.Body)
	}

	// The second step needs the password's pending challenge.
	p = b.post("/login/mfa/passkey/options", url.Values{"csrf_token": {csrf}})
	if p.Status != http.StatusUnauthorized || strings.TrimSpace(p.Body) != `{"detail":"`+mfa.ErrChallenge+`"}` {
		t.Fatalf("step options without a password: %d %s", p.Status, p.Body)
	}
	p = b.post("/login/mfa/passkey", url.Values{"csrf_token": {csrf}, "credential": {`{}`}})
	if p.Status != http.StatusUnauthorized || !strings.Contains(p.Body, `action="/login"`) || !strings.Contains(p.Body, "sign in again") {
		t.Fatalf("step without a password: %d %.800s", p.Status, p.Body)
	}

	// The Security tab: registration needs a session and a name; removal
	// the password and one's own passkey.
	if p = b.post("/account/security/passkeys/options", url.Values{"csrf_token": {csrf}}); p.Status != http.StatusSeeOther ||
		p.Location.Path != "/login" {
		t.Fatalf("registration without a session: %d %v", p.Status, p.Location)
	}
	signIn(t, b, user.Email, user.Password)
	sec := b.get("/account/security")
	if sec.Status != http.StatusOK || !strings.Contains(sec.Body, `id="add-passkey"`) || !strings.Contains(sec.Body, `id="no-passkeys"`) ||
		!strings.Contains(sec.Header.Get("Content-Security-Policy"), "connect-src 'self'") {
		t.Fatalf("security page: %d\n%.1500s", sec.Status, sec.Body)
	}
	p = postForm(t, b, "/account/security", "/account/security/passkeys/options", url.Values{})
	if p.Status != http.StatusOK || !strings.Contains(p.Body, `"residentKey":"required"`) || !strings.Contains(p.Body, `"name":"`+user.Email+`"`) {
		t.Fatalf("registration options: %d %s", p.Status, p.Body)
	}
	p = postForm(t, b, "/account/security", "/account/security/passkeys", url.Values{"name": {" "}, "credential": {`{}`}})
	if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, `id="passkey-name-error"`) {
		t.Fatalf("registration without a name: %d %.1500s", p.Status, p.Body)
	}
	postForm(t, b, "/account/security", "/account/security/passkeys/options", url.Values{})
	p = postForm(t, b, "/account/security", "/account/security/passkeys", url.Values{"name": {"Laptop"}, "password": {"wrong password"}, "credential": {`{}`}})
	if p.Status != http.StatusForbidden || !strings.Contains(p.Body, "The password is not correct") {
		t.Fatalf("registration with a wrong password: %d %.1500s", p.Status, p.Body)
	}
	postForm(t, b, "/account/security", "/account/security/passkeys/options", url.Values{})
	p = postForm(t, b, "/account/security", "/account/security/passkeys", url.Values{"name": {"Laptop"}, "password": {user.Password}, "credential": {`{}`}})
	if p.Status != http.StatusUnauthorized || !strings.Contains(p.Body, mfa.BadPasskey) {
		t.Fatalf("registration with a bad answer: %d %.1500s", p.Status, p.Body)
	}
	p = postForm(t, b, "/account/security", "/account/security/passkeys/nope/remove", url.Values{"password": {"wrong password"}})
	if p.Status != http.StatusForbidden || !strings.Contains(p.Body, "The password is not correct") {
		t.Fatalf("removal with a wrong password: %d %.800s", p.Status, p.Body)
	}
	p = postForm(t, b, "/account/security", "/account/security/passkeys/nope/remove", url.Values{"password": {user.Password}})
	if p.Status != http.StatusNotFound || !strings.Contains(p.Body, "Passkey not found") {
		t.Fatalf("removal of an unknown passkey: %d %.800s", p.Status, p.Body)
	}

	// A user whose only second factor is a passkey: the password leads to
	// the passkey step (no code form), and the REST login, which cannot
	// answer with a passkey, offers no method.
	if err := e.App.Store().CreateWebAuthnCredential(context.Background(), &storage.WebAuthnCredential{
		ID: "cred-" + user.ID, UserID: user.ID, Name: "Key", PublicKey: []byte{1}, AttestationType: "none"}); err != nil {
		t.Fatal(err)
	}
	b3 := newBrowser(t, e)
	p = b3.post("/login", url.Values{"csrf_token": {csrfOf(t, b3.get("/login").Body)}, "email": {user.Email}, "password": {user.Password}})
	if p.Status != http.StatusOK || !strings.Contains(p.Body, `id="passkey-verify"`) || strings.Contains(p.Body, `action="/login/mfa"`) {
		t.Fatalf("password of a passkey user: %d %.1500s", p.Status, p.Body)
	}
	r := e.Do(http.MethodPost, "/api/v1/auth/login", map[string]string{"email": user.Email, "password": user.Password})
	var body struct {
		MFARequired bool     `json:"mfa_required"`
		Methods     []string `json:"methods"`
	}
	r.JSON(t, &body)
	if r.Status != http.StatusUnauthorized || !body.MFARequired || body.Methods == nil || len(body.Methods) != 0 {
		t.Fatalf("REST login of a passkey user: %d %s", r.Status, r.Body)
	}
}

// TestPasskeysOffOnAnIPIssuer: an issuer on an IP address cannot be a
// WebAuthn relying party, so the pages offer no passkeys and run no script.
func TestPasskeysOffOnAnIPIssuer(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	user := e.NewUser()
	b := newBrowser(t, e)
	login := b.get("/login")
	if strings.Contains(login.Body, "passkey") || strings.Contains(login.Header.Get("Content-Security-Policy"), "script-src") {
		t.Fatalf("sign-in page offers passkeys on %s:\n%.1500s", e.URL, login.Body)
	}
	if p := b.post("/login/passkey/options", url.Values{"csrf_token": {csrfOf(t, login.Body)}}); p.Status != http.StatusNotFound ||
		strings.TrimSpace(p.Body) != `{"detail":"Not Found"}` {
		t.Fatalf("passkey options on an IP issuer: %d %s", p.Status, p.Body)
	}
	if p := b.post("/login/passkey", url.Values{"csrf_token": {csrfOf(t, login.Body)}, "credential": {"{}"}}); p.Status != http.StatusNotFound ||
		!strings.Contains(p.Body, "Passkeys are not enabled.") {
		t.Fatalf("passkey sign-in on an IP issuer: %d %.500s", p.Status, p.Body)
	}
	signIn(t, b, user.Email, user.Password)
	if sec := b.get("/account/security"); strings.Contains(sec.Body, "passkey") {
		t.Fatalf("security page offers passkeys on %s", e.URL)
	}
	if !strings.Contains(e.Logs(), "passkeys are off") {
		t.Fatal("no warning that passkeys are off")
	}
}
