package app_test

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

// federation is a Puguh (sp) whose organization Acme signs the people of
// acme.test in through its corporate identity provider: a second, real Puguh
// (idp) with an application registered for sp's callback.
type federation struct {
	sp, idp    *apptest.Env
	owner      *apptest.User // owns Acme on sp
	acme       string        // Acme's organization id on sp
	connection string        // the connection id on sp
	app        *testApp      // an application on sp that users sign in to
}

const corporatePassword = "corporate password 123"

func newFederation(t *testing.T) *federation {
	t.Helper()
	f := &federation{sp: apptest.Start(t, apptest.Options{}), idp: apptest.Start(t, apptest.Options{})}
	f.owner = f.sp.NewUser()
	r := f.sp.Do(http.MethodPost, "/api/v1/organizations", map[string]string{"name": "Acme"}, f.owner.Bearer()...)
	if r.Status != http.StatusCreated {
		t.Fatalf("create Acme: %d %s", r.Status, r.Body)
	}
	var org struct{ ID string }
	r.JSON(t, &org)
	f.acme = org.ID
	acting := append(f.owner.Bearer(), "X-Organization-ID", f.acme)

	// The connection first (its id is in the redirect URI), then the
	// application at the IdP, then the connection gets its credentials.
	r = f.sp.Do(http.MethodPost, "/api/v1/organizations/"+f.acme+"/connections", map[string]any{
		"name": "Acme corporate IdP", "issuer": f.idp.URL, "client_id": "pending", "client_secret": "pending",
		"domains": []string{"acme.test"}, "default_role": "viewer",
		// Puguh as an IdP sends no groups claim; the name claim stands in for one.
		"groups_claim": "name", "role_mapping": map[string]string{"Alice Engineer": "admin"},
	}, acting...)
	if r.Status != http.StatusCreated {
		t.Fatalf("create connection: %d %s", r.Status, r.Body)
	}
	var conn struct {
		ID          string `json:"id"`
		RedirectURI string `json:"redirect_uri"`
	}
	r.JSON(t, &conn)
	f.connection = conn.ID
	idpOwner := f.idp.NewUser()
	upstream := registerApp(t, f.idp, idpOwner, appOptions{Trusted: true, RedirectURI: conn.RedirectURI})
	r = f.sp.Do(http.MethodPatch, "/api/v1/organizations/"+f.acme+"/connections/"+f.connection,
		map[string]string{"client_id": upstream.ID, "client_secret": upstream.Secret}, acting...)
	if r.Status != http.StatusOK {
		t.Fatalf("patch connection: %d %s", r.Status, r.Body)
	}
	f.app = registerApp(t, f.sp, f.owner, appOptions{})
	return f
}

// signIn follows a browser from start through both servers, signing in at
// the IdP with email and password and consenting where asked, until it
// leaves both (the application's redirect) or stops at a page.
func (f *federation) signIn(b *browser, start, email, password string) *page {
	b.t.Helper()
	p := b.get(start)
	for hop := 0; hop < 16; hop++ {
		if p.Status != http.StatusSeeOther || p.Location == nil {
			return p
		}
		loc := p.Location
		base := "http://" + loc.Host
		if base != f.sp.URL && base != f.idp.URL {
			return p
		}
		switch loc.Path {
		case "/login", "/consent":
			form := b.get(loc.String())
			if form.Status == http.StatusSeeOther { // home-realm discovery: on to the IdP
				p = form
				continue
			}
			if form.Status != http.StatusOK {
				return form
			}
			fields := formFields(b.t, form.Body)
			if loc.Path == "/login" {
				if base == f.sp.URL {
					b.t.Fatalf("asked for a Puguh password on the service provider:\n%.800s", form.Body)
				}
				fields.Set("email", email)
				fields.Set("password", password)
			} else {
				fields.Set("decision", "allow")
			}
			p = b.postTo(base+loc.Path, fields)
		default:
			p = b.get(loc.String())
		}
	}
	b.t.Fatal("too many redirects")
	return nil
}

// postTo is post to another server, with its origin.
func (b *browser) postTo(target string, form url.Values) *page {
	b.t.Helper()
	u, _ := url.Parse(target)
	saved, savedOrigin := b.base, b.origin
	b.base, b.origin = u.Scheme+"://"+u.Host, u.Scheme+"://"+u.Host
	defer func() { b.base, b.origin = saved, savedOrigin }()
	return b.post(u.Path, form)
}

// idTokenClaims redeems a code at sp and returns the ID token's claims.
func (f *federation) idTokenClaims(t *testing.T, code, verifier string) map[string]any {
	t.Helper()
	ctx := context.Background()
	rp := newOIDCClient(t, f.sp, f.app, oidc.ScopeOpenID, "email", "profile")
	tok, err := rp.config.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := rp.verifier.Verify(ctx, raw)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	claims := map[string]any{}
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

func (f *federation) role(t *testing.T, email string) string {
	t.Helper()
	r := f.sp.Do(http.MethodGet, "/api/v1/organizations/"+f.acme+"/members?limit=100", nil, f.owner.Bearer()...)
	var page struct {
		Items []struct{ Email, Role string }
	}
	r.JSON(t, &page)
	for _, m := range page.Items {
		if m.Email == email {
			return m.Role
		}
	}
	return ""
}

// TestFederatedSignIn: a member of Acme signs in to an application on sp
// through Acme's own identity provider without ever choosing a Puguh
// password (login_hint skips the email question), is provisioned into Acme
// with the mapped role, and the ID token says how (amr fed, idp); a second
// sign-in is the same user; logout ends the upstream session too.
func TestFederatedSignIn(t *testing.T) {
	t.Parallel()
	f := newFederation(t)
	alice := f.idp.RegisterAndLogin("alice@acme.test", corporatePassword, "Alice Engineer")

	b := newBrowser(t, f.sp)
	verifier := oauth2.GenerateVerifier()
	q := codeQuery(f.app, "openid email profile", "nonce", "nonce-0123456789", "login_hint", alice.Email,
		"code_challenge", oauth2.S256ChallengeFromVerifier(verifier), "code_challenge_method", "S256")
	// The redirect to the IdP carries PKCE S256, a state and a nonce.
	var upstream *url.URL
	b.observe = func(p *page) {
		if p.Location != nil && "http://"+p.Location.Host == f.idp.URL && p.Location.Path == "/oauth/authorize" && upstream == nil {
			upstream = p.Location
		}
	}
	code := codeFrom(t, f.sp, f.app, f.signIn(b, f.sp.URL+"/oauth/authorize?"+q.Encode(), alice.Email, alice.Password))
	if upstream == nil {
		t.Fatal("never sent to the identity provider")
	}
	uq := upstream.Query()
	if uq.Get("code_challenge_method") != "S256" || len(uq.Get("code_challenge")) != 43 || len(uq.Get("state")) != 43 ||
		len(uq.Get("nonce")) != 43 || uq.Get("login_hint") != alice.Email || uq.Get("redirect_uri") != f.sp.URL+"/federation/"+f.connection+"/callback" {
		t.Fatalf("upstream authorization request %v", uq)
	}
	claims := f.idTokenClaims(t, code, verifier)
	amr, _ := json.Marshal(claims["amr"])
	if string(amr) != `["fed"]` || claims["idp"] != f.idp.URL || claims["email"] != alice.Email || claims["name"] != "Alice Engineer" {
		t.Fatalf("ID token claims %v", claims)
	}
	if role := f.role(t, alice.Email); role != "admin" {
		t.Fatalf("Alice's role in Acme %q, want the mapped admin", role)
	}
	// She never chose a Puguh password: hers at the IdP does not work here.
	if r := f.sp.Do(http.MethodPost, "/api/v1/auth/login", map[string]string{"email": alice.Email, "password": alice.Password}); r.Status != 401 {
		t.Fatalf("password login on sp: %d %s", r.Status, r.Body)
	}

	// A new browser and the email question: the sign-in page sends her upstream.
	b2 := newBrowser(t, f.sp)
	p := b2.get("/oauth/authorize?" + codeQuery(f.app, "openid").Encode())
	form := b2.get(p.Location.String())
	if form.Status != 200 || !strings.Contains(form.Body, `id="sso-note"`) {
		t.Fatalf("sign-in page %d", form.Status)
	}
	fields := formFields(t, form.Body)
	fields.Set("email", "ALICE@acme.test")
	fields.Set("password", "ignored")
	p = b2.post("/login", fields)
	// The sign-in page's CSP (form-action 'self') governs the redirects after
	// its post, so the answer is a page that moves on by itself.
	m := regexp.MustCompile(`<meta http-equiv="refresh" content="0;url=([^"]+)">`).FindStringSubmatch(p.Body)
	if p.Status != http.StatusOK || m == nil || !strings.Contains(p.Body, `id="continue" href="`+m[1]+`"`) {
		t.Fatalf("POST /login for a connected domain: %d %.1500s", p.Status, p.Body)
	}
	next := html.UnescapeString(m[1])
	if !strings.HasPrefix(next, f.idp.URL+"/oauth/authorize?") {
		t.Fatalf("continues to %s", next)
	}
	p = f.signIn(b2, next, alice.Email, alice.Password)
	codeFrom(t, f.sp, f.app, p)
	r := f.sp.Do(http.MethodGet, "/api/v1/organizations/"+f.acme+"/members?limit=100", nil, f.owner.Bearer()...)
	if n := strings.Count(string(r.Body), alice.Email); n != 1 {
		t.Fatalf("Alice appears %d times among Acme's members: %s", n, r.Body)
	}

	// Logout ends the sp session and sends the browser to the IdP's end_session_endpoint.
	lo := b2.get("/logout")
	fields = formFields(t, lo.Body)
	p = b2.post("/logout", fields)
	if p.Status != http.StatusSeeOther || p.Location == nil || !strings.HasPrefix(p.Location.String(), f.idp.URL+"/oauth/logout?") ||
		p.Location.Query().Get("id_token_hint") == "" {
		t.Fatalf("logout: %d %v", p.Status, p.Location)
	}
	if again := b2.get("/oauth/authorize?" + codeQuery(f.app, "openid").Encode()); again.Location == nil || again.Location.Path != "/login" {
		t.Fatalf("still signed in on sp after logout: %d %v", again.Status, again.Location)
	}
}

// TestFederatedSignInRefusals: every way an upstream sign-in must not work,
// each an exact page, never a 500 (docs/federation.md, "Account takeover").
func TestFederatedSignInRefusals(t *testing.T) {
	t.Parallel()
	f := newFederation(t)
	start := func(b *browser, hint string) *url.URL {
		t.Helper()
		p := b.get("/oauth/authorize?" + codeQuery(f.app, "openid", "login_hint", hint).Encode())
		p = b.get(p.Location.String())
		if p.Status != http.StatusSeeOther || "http://"+p.Location.Host != f.idp.URL {
			t.Fatalf("not sent upstream: %d %v", p.Status, p.Location)
		}
		return p.Location
	}
	callback := f.sp.URL + "/federation/" + f.connection + "/callback"
	wantPage := func(t *testing.T, p *page, status int, texts ...string) {
		t.Helper()
		if p.Status != status {
			t.Fatalf("status %d, want %d: %.1500s", p.Status, status, p.Body)
		}
		for _, s := range texts {
			if !strings.Contains(p.Body, s) {
				t.Fatalf("page lacks %q:\n%.1500s", s, p.Body)
			}
		}
	}

	t.Run("another domain cannot take over an account", func(t *testing.T) {
		victim := f.sp.RegisterAndLogin("victim@other.test", "victim password 123", "Victim")
		// The IdP vouches for the victim's address, but other.test is not Acme's domain.
		f.idp.RegisterAndLogin(victim.Email, corporatePassword, "Mallory")
		b := newBrowser(t, f.sp)
		p := f.signIn(b, f.sp.URL+"/oauth/authorize?"+codeQuery(f.app, "openid", "connection", f.connection).Encode(), victim.Email, corporatePassword)
		wantPage(t, p, 403, "Sign-in refused", "Your email address is not in a domain this organization signs in through its identity provider.")
		if f.role(t, victim.Email) != "" {
			t.Fatal("the victim was added to Acme")
		}
	})
	t.Run("an existing account is not linked on an unverified email", func(t *testing.T) {
		bob := f.sp.RegisterAndLogin("bob@acme.test", "bob password 12345", "Bob")
		f.idp.RegisterAndLogin(bob.Email, corporatePassword, "Bob at the IdP")
		b := newBrowser(t, f.sp)
		p := f.signIn(b, f.sp.URL+"/oauth/authorize?"+codeQuery(f.app, "openid", "login_hint", bob.Email).Encode(), bob.Email, corporatePassword)
		wantPage(t, p, 403, "the identity provider did not confirm the address: the accounts were not linked")
		// Bob's own password still works.
		if r := f.sp.Do(http.MethodPost, "/api/v1/auth/login", map[string]string{"email": bob.Email, "password": bob.Password}); r.Status != 200 {
			t.Fatalf("Bob's password: %d", r.Status)
		}
	})
	t.Run("state from another sign-in", func(t *testing.T) {
		b := newBrowser(t, f.sp)
		up := start(b, "carol@acme.test")
		wantPage(t, b.get(callback+"?code=x&state=forged"+up.Query().Get("state")[6:]), 400, "Sign-in expired")
	})
	t.Run("a callback in another browser", func(t *testing.T) {
		up := start(newBrowser(t, f.sp), "carol@acme.test")
		wantPage(t, newBrowser(t, f.sp).get(callback+"?code=x&state="+up.Query().Get("state")), 400, "Sign-in expired")
	})
	t.Run("the IdP's error is a page", func(t *testing.T) {
		b := newBrowser(t, f.sp)
		up := start(b, "carol@acme.test")
		p := b.get(callback + "?error=access_denied&error_description=" + url.QueryEscape("<b>nope</b>") + "&state=" + up.Query().Get("state"))
		wantPage(t, p, 403, "Sign-in refused", `<code id="error-code">access_denied</code>`, "&lt;b&gt;nope&lt;/b&gt;")
		// The state is spent: the same callback again is expired.
		wantPage(t, b.get(callback+"?code=x&state="+up.Query().Get("state")), 400, "Sign-in expired")
	})
	t.Run("a code the IdP never issued", func(t *testing.T) {
		b := newBrowser(t, f.sp)
		up := start(b, "carol@acme.test")
		wantPage(t, b.get(callback+"?code=forged&state="+up.Query().Get("state")), 502, "the code was not accepted")
	})
	t.Run("no code", func(t *testing.T) {
		b := newBrowser(t, f.sp)
		up := start(b, "carol@acme.test")
		wantPage(t, b.get(callback+"?state="+up.Query().Get("state")), 400, "carries no authorization code")
	})
	t.Run("unknown connection", func(t *testing.T) {
		b := newBrowser(t, f.sp)
		p := b.get("/oauth/authorize?" + codeQuery(f.app, "openid", "connection", "00000000-0000-4000-8000-000000000000").Encode())
		wantPage(t, b.get(p.Location.String()), 404, "Unknown sign-in connection")
	})
	t.Run("unreachable IdP", func(t *testing.T) {
		acting := append(f.owner.Bearer(), "X-Organization-ID", f.acme)
		r := f.sp.Do(http.MethodPost, "/api/v1/organizations/"+f.acme+"/connections", map[string]any{
			"name": "Down", "issuer": "http://127.0.0.1:1", "client_id": "c", "client_secret": "s", "domains": []string{"down.test"},
		}, acting...)
		if r.Status != 201 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		b := newBrowser(t, f.sp)
		p := b.get("/oauth/authorize?" + codeQuery(f.app, "openid", "login_hint", "x@down.test").Encode())
		wantPage(t, b.get(p.Location.String()), 502, "Identity provider unavailable")
	})
}
