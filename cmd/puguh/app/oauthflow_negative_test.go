package app_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

// TestAuthorizeRedirectURIMismatch: a redirect URI that is not registered
// exactly, or an unknown client, shows the error page and never redirects
// (docs/security.md, "Authorization endpoint"; RFC 6749 §4.1.2.1).
func TestAuthorizeRedirectURIMismatch(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	app := registerApp(t, e, e.NewUser(), appOptions{})
	cases := []struct{ name, clientID, redirectURI string }{
		{"extra path segment", app.ID, "https://app.example.com/callback/evil"},
		{"trailing slash", app.ID, "https://app.example.com/callback/"},
		{"different port", app.ID, "https://app.example.com:8443/callback"},
		{"extra query", app.ID, "https://app.example.com/callback?next=evil"},
		{"other host", app.ID, "https://evil.example.com/callback"},
		{"upper case", app.ID, "https://APP.example.com/callback"},
		{"userinfo", app.ID, "https://user@app.example.com/callback"},
		{"fragment", app.ID, "https://app.example.com/callback#x"},
		{"unknown client", "no-such-client", app.RedirectURI},
		{"script in client id", `"><script>alert(1)</script>`, app.RedirectURI},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := url.Values{"client_id": {tc.clientID}, "redirect_uri": {tc.redirectURI}, "response_type": {"code"},
				"scope": {"read:user"}, "state": {"state-0123456789"}}
			p := newBrowser(t, e).get("/oauth/authorize?" + q.Encode())
			if p.Status < 400 || p.Location != nil {
				t.Fatalf("want an error page, got %d Location %v", p.Status, p.Location)
			}
			if !strings.Contains(p.Body, "Authorization failed") || strings.Contains(p.Body, "<script>") {
				t.Fatalf("error page body: %s", p.Body)
			}
			assertPageHeaders(t, p)
		})
	}
}

// assertPageHeaders checks the security headers every page carries (docs/security.md, "Authorization endpoint", "Accounts and sessions").
func assertPageHeaders(t *testing.T, p *page) {
	t.Helper()
	want := map[string]string{
		"Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
		"X-Frame-Options":         "DENY",
		"Referrer-Policy":         "no-referrer",
		"X-Content-Type-Options":  "nosniff",
		"Cache-Control":           "no-store",
	}
	for k, v := range want {
		got := p.Header.Get(k)
		if k == "Content-Security-Policy" {
			got = strings.Replace(got, " https://app.example.com", "", 1) // a page may allow the client's origin
		}
		if got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}

// TestAuthorizeErrorsRedirect: the errors that are a valid request's outcome
// — the prompt=none answers a client needs for silent authentication, and
// the user's own refusal — go back to the client with error, state and iss
// (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6, RFC 9207).
func TestAuthorizeErrorsRedirect(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	user := e.NewUser()
	confidential := registerApp(t, e, user, appOptions{})
	public := registerApp(t, e, user, appOptions{Public: true})
	signedIn := newBrowser(t, e)
	codeFrom(t, e, confidential, signedIn.authorize(codeQuery(confidential, "read:user"), user))
	challenge := oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())
	pkce := []string{"code_challenge", challenge, "code_challenge_method", "S256"}

	cases := []struct {
		name    string
		respond func() *page
		wantErr string
	}{
		{"prompt=none without session", func() *page {
			return newBrowser(t, e).get("/oauth/authorize?" + codeQuery(confidential, "openid", "prompt", "none", "nonce", "nonce-0123456789").Encode())
		}, "login_required"},
		{"prompt=none without consent", func() *page {
			return signedIn.get("/oauth/authorize?" + codeQuery(public, "read:user", append([]string{"prompt", "none"}, pkce...)...).Encode())
		}, "consent_required"},
		{"the user denies consent", func() *page {
			p := signedIn.get("/oauth/authorize?" + codeQuery(public, "read:user", pkce...).Encode())
			if p.Status != http.StatusSeeOther || p.Location.Path != "/consent" {
				t.Fatalf("want 303 to /consent, got %d %v", p.Status, p.Location)
			}
			fields := formFields(t, signedIn.get(p.Location.String()).Body)
			fields.Set("decision", "deny")
			return signedIn.post("/consent", fields)
		}, "access_denied"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.respond()
			if p.Status != http.StatusSeeOther || p.Location == nil || !strings.HasPrefix(p.Location.String(), "https://app.example.com/callback?") {
				t.Fatalf("want 303 to the client, got %d %v %.300s", p.Status, p.Location, p.Body)
			}
			got := p.Location.Query()
			if got.Get("error") != tc.wantErr || got.Get("state") != "state-0123456789" || got.Get("iss") != e.URL || got.Get("code") != "" {
				t.Fatalf("error response %v, want error=%s with state and iss", got, tc.wantErr)
			}
		})
	}
}

// TestAuthorizeErrorsShowPage: every other error — a request the client got
// wrong, or our own failure — shows the error page and never redirects, even
// to a registered redirect URI. Tenants register their own clients, so a
// redirect on an error anyone can provoke (scope=bogus) would make Puguh an
// open redirector to any URI an attacker registered (RFC 9700 §4.11.2).
func TestAuthorizeErrorsShowPage(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	user := e.NewUser()
	confidential := registerApp(t, e, user, appOptions{})
	public := registerApp(t, e, user, appOptions{Public: true})
	signedIn := newBrowser(t, e)
	codeFrom(t, e, confidential, signedIn.authorize(codeQuery(confidential, "read:user"), user))
	challenge := oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())

	// The attack: any tenant registers a client through the API with a
	// redirect URI of its choosing.
	r := e.Do(http.MethodPost, "/api/v1/applications", map[string]any{"name": "Totally Legit",
		"redirect_uris": []string{"https://evil.example/landing"}, "grant_types": []string{"authorization_code"},
		"token_endpoint_auth_method": "client_secret_post"}, e.NewUser().Bearer()...)
	if r.Status != http.StatusCreated {
		t.Fatalf("register the attacker's client: %d %s", r.Status, r.Body)
	}
	var evil struct {
		ClientID string `json:"client_id"`
	}
	r.JSON(t, &evil)
	evilQuery := func(extra ...string) url.Values {
		return codeQuery(&testApp{ID: evil.ClientID, RedirectURI: "https://evil.example/landing"}, "openid", extra...)
	}

	cases := []struct {
		name     string
		b        *browser
		q        url.Values
		wantCode string
		wantDesc string // a part of the description the page shows
	}{
		{"open redirector: unknown scope", newBrowser(t, e), evilQuery("scope", "bogus"), "invalid_scope", "bogus"},
		{"open redirector: unsupported response type", newBrowser(t, e), evilQuery("response_type", "token"), "unsupported_response_type", "token"},
		{"open redirector: bad prompt", newBrowser(t, e), evilQuery("prompt", "select_account"), "invalid_request", "select_account"},
		{"response_type=token", signedIn, codeQuery(confidential, "read:user", "response_type", "token"), "unsupported_response_type", "token"},
		{"response_type=id_token token", signedIn, codeQuery(confidential, "openid", "response_type", "id_token token", "nonce", "nonce-0123456789"), "unsupported_response_type", "id_token token"},
		{"response_type=code token", signedIn, codeQuery(confidential, "read:user", "response_type", "code token"), "unsupported_response_type", "code token"},
		{"public client without PKCE", signedIn, codeQuery(public, "read:user"), "invalid_request", "code_challenge_method=S256"},
		{"plain PKCE", signedIn, codeQuery(public, "read:user", "code_challenge", "plain-challenge-0123456789012345678901234567890", "code_challenge_method", "plain"), "invalid_request", "code_challenge_method=S256"},
		{"PKCE without method", signedIn, codeQuery(public, "read:user", "code_challenge", challenge), "invalid_request", "code_challenge_method=S256"},
		{"scope not allowed", signedIn, codeQuery(confidential, "admin:everything"), "invalid_scope", "admin:everything"},
		{"unknown prompt", signedIn, codeQuery(confidential, "openid", "prompt", "select_account", "nonce", "nonce-0123456789"), "invalid_request", "select_account"},
		{"prompt=none with another value", signedIn, codeQuery(confidential, "openid", "prompt", "none login", "nonce", "nonce-0123456789"), "invalid_request", "prompt=none cannot be combined"},
		{"bad max_age", signedIn, codeQuery(confidential, "read:user", "max_age", "-1"), "invalid_request", "max_age must be a non-negative integer"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.b.get("/oauth/authorize?" + tc.q.Encode())
			if p.Status != http.StatusBadRequest || p.Header.Get("Location") != "" {
				t.Fatalf("want the 400 error page without Location, got %d Location %q %.300s", p.Status, p.Header.Get("Location"), p.Body)
			}
			if !strings.Contains(p.Body, `<code id="error-code">`+tc.wantCode+`</code>`) {
				t.Fatalf("error page does not show %s:\n%s", tc.wantCode, p.Body)
			}
			if desc := errorDescription(p.Body); !strings.Contains(desc, html.EscapeString(tc.wantDesc)) {
				t.Fatalf("error description %q does not mention %q", desc, tc.wantDesc)
			}
			if strings.Contains(p.Body, "evil.example") || strings.Contains(p.Body, "app.example.com") {
				t.Fatalf("error page links to the client:\n%s", p.Body)
			}
			assertPageHeaders(t, p)
		})
	}
}

// TestAuthorizeServerErrorShowsPage: our own failure after the redirect URI
// was verified is a 500 page with server_error, not a redirect.
func TestAuthorizeServerErrorShowsPage(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	user := e.NewUser()
	app := registerApp(t, e, user, appOptions{})
	b := newBrowser(t, e)
	codeFrom(t, e, app, b.authorize(codeQuery(app, "read:user"), user))
	// The session lookup fails: the table is gone.
	if _, err := e.App.Store().DB().Exec("ALTER TABLE sessions RENAME TO sessions_gone"); err != nil {
		t.Fatal(err)
	}
	p := b.get("/oauth/authorize?" + codeQuery(app, "read:user").Encode())
	if p.Status != http.StatusInternalServerError || p.Header.Get("Location") != "" {
		t.Fatalf("want the 500 error page without Location, got %d Location %q %.300s", p.Status, p.Header.Get("Location"), p.Body)
	}
	if !strings.Contains(p.Body, `<code id="error-code">server_error</code>`) || strings.Contains(p.Body, "sessions") {
		t.Fatalf("error page:\n%s", p.Body)
	}
	assertPageHeaders(t, p)
}

var errorDescriptionRE = regexp.MustCompile(`<dd id="error-description">([^<]*)</dd>`)

// errorDescription is the description the error page shows, HTML-escaped.
func errorDescription(body string) string {
	if m := errorDescriptionRE.FindStringSubmatch(body); m != nil {
		return m[1]
	}
	return ""
}

// TestPromptAndMaxAge: prompt=login and max_age force a fresh sign-in and
// yield a newer auth_time; a valid session otherwise skips the sign-in page.
func TestPromptAndMaxAge(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	user := e.NewUser()
	app := registerApp(t, e, user, appOptions{Trusted: true})
	b := newBrowser(t, e)
	codeFrom(t, e, app, b.authorize(codeQuery(app, "read:user"), user))
	cases := []struct {
		name      string
		extra     []string
		wantLogin bool
	}{
		{"session reused", nil, false},
		{"prompt=login", []string{"prompt", "login"}, true},
		{"max_age=0", []string{"max_age", "0"}, true},
		{"max_age=3600", []string{"max_age", "3600"}, false},
		{"prompt=consent on a trusted app", []string{"prompt", "consent"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := b.get("/oauth/authorize?" + codeQuery(app, "read:user", tc.extra...).Encode())
			gotLogin := p.Status == http.StatusSeeOther && p.Location.Path == "/login"
			if gotLogin != tc.wantLogin {
				t.Fatalf("sign-in page shown = %v, want %v (%d %v)", gotLogin, tc.wantLogin, p.Status, p.Location)
			}
			if tc.wantLogin {
				codeFrom(t, e, app, b.authorize(codeQuery(app, "read:user", tc.extra...), user))
			} else {
				codeFrom(t, e, app, p)
			}
		})
	}
}

// TestTokenEndpointRefusals: PKCE verifier rules, client authentication and
// unsupported grants at /oauth/token, with exact RFC 6749 §5.2 errors.
func TestTokenEndpointRefusals(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	user := e.NewUser()
	confidential := registerApp(t, e, user, appOptions{Trusted: true})
	public := registerApp(t, e, user, appOptions{Public: true, Trusted: true})
	b := newBrowser(t, e)
	verifier := oauth2.GenerateVerifier()
	pkceCode := func() string {
		return codeFrom(t, e, public, b.authorize(codeQuery(public, "read:user", "code_challenge",
			oauth2.S256ChallengeFromVerifier(verifier), "code_challenge_method", "S256"), user))
	}
	plainCode := func() string {
		return codeFrom(t, e, confidential, b.authorize(codeQuery(confidential, "read:user"), user))
	}
	token := func(form url.Values, headers ...string) *apptest.Response {
		return e.Do(http.MethodPost, "/oauth/token", form.Encode(), append([]string{"Content-Type", "application/x-www-form-urlencoded"}, headers...)...)
	}
	pkceForm := func(v string) url.Values {
		return url.Values{"grant_type": {"authorization_code"}, "code": {pkceCode()}, "client_id": {public.ID},
			"redirect_uri": {public.RedirectURI}, "code_verifier": {v}}
	}
	cases := []struct {
		name       string
		form       func() url.Values
		headers    []string
		wantStatus int
		wantErr    string
	}{
		{"wrong verifier", func() url.Values { return pkceForm(oauth2.GenerateVerifier()) }, nil, 400, "invalid_grant"},
		{"no verifier", func() url.Values { return pkceForm("") }, nil, 400, "invalid_grant"},
		{"verifier of 42 characters", func() url.Values { return pkceForm(strings.Repeat("a", 42)) }, nil, 400, "invalid_grant"},
		{"verifier of 129 characters", func() url.Values { return pkceForm(strings.Repeat("a", 129)) }, nil, 400, "invalid_grant"},
		{"verifier with no challenge", func() url.Values {
			return url.Values{"grant_type": {"authorization_code"}, "code": {plainCode()}, "client_id": {confidential.ID},
				"client_secret": {confidential.Secret}, "redirect_uri": {confidential.RedirectURI}, "code_verifier": {verifier}}
		}, nil, 400, "invalid_grant"},
		{"wrong client secret", func() url.Values {
			return url.Values{"grant_type": {"authorization_code"}, "code": {plainCode()}, "client_id": {confidential.ID},
				"client_secret": {"wrong"}, "redirect_uri": {confidential.RedirectURI}}
		}, nil, 401, "invalid_client"},
		{"code for another redirect URI", func() url.Values {
			return url.Values{"grant_type": {"authorization_code"}, "code": {plainCode()}, "client_id": {confidential.ID},
				"client_secret": {confidential.Secret}, "redirect_uri": {"https://app.example.com/other"}}
		}, nil, 400, "invalid_grant"},
		{"grant_type=password", func() url.Values {
			return url.Values{"grant_type": {"password"}, "username": {user.Email}, "password": {user.Password},
				"client_id": {confidential.ID}, "client_secret": {confidential.Secret}}
		}, nil, 400, "unsupported_grant_type"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := token(tc.form(), tc.headers...)
			var body struct {
				Error string `json:"error"`
			}
			r.JSON(t, &body)
			if r.Status != tc.wantStatus || body.Error != tc.wantErr {
				t.Fatalf("got %d %s, want %d %s", r.Status, r.Body, tc.wantStatus, tc.wantErr)
			}
			if r.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", r.Header.Get("Cache-Control"))
			}
		})
	}

	t.Run("revocation with a wrong secret is an honest 401", func(t *testing.T) {
		// CVE-2020-15223: fosite once answered 200 to revocation requests it refused.
		r := e.Do(http.MethodPost, "/oauth/revoke", "token=whatever", "Content-Type", "application/x-www-form-urlencoded",
			"Authorization", basicAuth(confidential.ID, "wrong"))
		var body struct {
			Error string `json:"error"`
		}
		r.JSON(t, &body)
		if r.Status != http.StatusUnauthorized || body.Error != "invalid_client" {
			t.Fatalf("revoke: %d %s", r.Status, r.Body)
		}
	})
}

// TestCodeReuseRevokesTokens: a second redemption of a code is invalid_grant
// and revokes what the first issued (docs/security.md, "Token endpoint"; RFC 6749 §4.1.2).
func TestCodeReuseRevokesTokens(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, e *apptest.Env) {
		user := e.NewUser()
		app := registerApp(t, e, user, appOptions{Trusted: true})
		code := codeFrom(t, e, app, newBrowser(t, e).authorize(codeQuery(app, "openid offline_access", "nonce", "nonce-0123456789"), user))
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {app.ID},
			"client_secret": {app.Secret}, "redirect_uri": {app.RedirectURI}}.Encode()
		first := e.Do(http.MethodPost, "/oauth/token", form, "Content-Type", "application/x-www-form-urlencoded")
		if first.Status != http.StatusOK {
			t.Fatalf("first redemption: %d %s", first.Status, first.Body)
		}
		var tok struct {
			AccessToken  string `json:"access_token"`
			RefreshToken string `json:"refresh_token"`
		}
		first.JSON(t, &tok)
		if r := e.Do(http.MethodGet, "/oauth/userinfo", nil, "Authorization", "Bearer "+tok.AccessToken); r.Status != http.StatusOK {
			t.Fatalf("userinfo before reuse: %d %s", r.Status, r.Body)
		}

		second := e.Do(http.MethodPost, "/oauth/token", form, "Content-Type", "application/x-www-form-urlencoded")
		var body struct {
			Error string `json:"error"`
		}
		second.JSON(t, &body)
		if second.Status != http.StatusBadRequest || body.Error != "invalid_grant" {
			t.Fatalf("second redemption: %d %s", second.Status, second.Body)
		}
		for _, token := range []string{tok.AccessToken, tok.RefreshToken} {
			r := e.Do(http.MethodPost, "/oauth/introspect", "token="+token, "Content-Type", "application/x-www-form-urlencoded",
				"Authorization", basicAuth(app.ID, app.Secret))
			if r.Status != http.StatusOK || string(r.Body) != `{"active":false}`+"\n" && string(r.Body) != `{"active":false}` {
				t.Fatalf("introspection after reuse: %d %s", r.Status, r.Body)
			}
		}
		if r := e.Do(http.MethodGet, "/oauth/userinfo", nil, "Authorization", "Bearer "+tok.AccessToken); r.Status != http.StatusUnauthorized {
			t.Fatalf("userinfo after reuse: %d %s", r.Status, r.Body)
		}
	})
}

// TestFormsRefuseCSRF: every form post needs this browser's CSRF token and a
// same-origin Origin (docs/security.md, "Authorization endpoint").
func TestFormsRefuseCSRF(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	user := e.NewUser()
	b := newBrowser(t, e)
	fields := formFields(t, b.get("/login").Body)
	fields.Set("email", user.Email)
	fields.Set("password", user.Password)
	noToken := url.Values{"email": {user.Email}, "password": {user.Password}}
	otherBrowser := formFields(t, newBrowser(t, e).get("/login").Body)
	otherBrowser.Set("email", user.Email)
	otherBrowser.Set("password", user.Password)
	cases := []struct {
		name    string
		path    string
		form    url.Values
		headers []string
	}{
		{"login without token", "/login", noToken, nil},
		{"login with another browser's token", "/login", otherBrowser, nil},
		{"login from another site", "/login", fields, []string{"Origin", "https://evil.example.com"}},
		{"login with Sec-Fetch-Site cross-site", "/login", fields, []string{"Sec-Fetch-Site", "cross-site"}},
		{"login with Origin null and no Sec-Fetch-Site", "/login", fields, []string{"Origin", "null"}},
		{"login with Origin null from another site", "/login", fields, []string{"Origin", "null", "Sec-Fetch-Site", "cross-site"}},
		{"logout without token", "/logout", url.Values{}, nil},
		{"consent without token", "/consent", url.Values{"decision": {"allow"}}, nil},
		{"RP logout without token", "/oauth/logout", url.Values{}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := b.post(tc.path, tc.form, tc.headers...)
			if p.Status != http.StatusForbidden || !strings.Contains(p.Body, "Request refused") {
				t.Fatalf("got %d %.300s", p.Status, p.Body)
			}
		})
	}
	t.Run("Origin null from our own page works (Referrer-Policy: no-referrer)", func(t *testing.T) {
		if p := b.post("/login", fields, "Origin", "null", "Sec-Fetch-Site", "same-origin"); p.Status != http.StatusSeeOther {
			t.Fatalf("got %d %.300s", p.Status, p.Body)
		}
	})
	t.Run("same form with token and origin works", func(t *testing.T) {
		if p := b.post("/login", fields); p.Status != http.StatusSeeOther || p.Location.Path != "/account" {
			t.Fatalf("got %d %v", p.Status, p.Location)
		}
	})
	t.Run("bad password re-renders the form with the REST login's message", func(t *testing.T) {
		f := formFields(t, b.get("/login").Body)
		f.Set("email", user.Email)
		f.Set("password", "wrong password here")
		p := b.post("/login", f)
		if p.Status != http.StatusUnauthorized || !strings.Contains(p.Body, "Invalid email or password") {
			t.Fatalf("got %d %.300s", p.Status, p.Body)
		}
	})
}

// TestRPInitiatedLogout: /oauth/logout verifies id_token_hint, redirects only
// to a registered post_logout_redirect_uri with state, and ends the session
// and its tokens (docs/security.md, "Accounts and sessions").
func TestRPInitiatedLogout(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	user := e.NewUser()
	app := registerApp(t, e, user, appOptions{Trusted: true})
	b := newBrowser(t, e)
	code := codeFrom(t, e, app, b.authorize(codeQuery(app, "openid", "nonce", "nonce-0123456789"), user))
	r := e.Do(http.MethodPost, "/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {app.ID},
		"client_secret": {app.Secret}, "redirect_uri": {app.RedirectURI}}.Encode(), "Content-Type", "application/x-www-form-urlencoded")
	var tok struct {
		AccessToken string `json:"access_token"`
		IDToken     string `json:"id_token"`
	}
	r.JSON(t, &tok)

	refusals := []struct {
		name string
		q    url.Values
	}{
		{"unregistered post_logout_redirect_uri", url.Values{"id_token_hint": {tok.IDToken}, "post_logout_redirect_uri": {"https://evil.example.com/"}}},
		{"redirect without hint or client", url.Values{"post_logout_redirect_uri": {app.PostLogoutURI}}},
		{"access token as hint", url.Values{"id_token_hint": {tok.AccessToken}, "post_logout_redirect_uri": {app.PostLogoutURI}}},
		{"hint for another client_id", url.Values{"id_token_hint": {tok.IDToken}, "client_id": {"other"}, "post_logout_redirect_uri": {app.PostLogoutURI}}},
		{"forged hint", url.Values{"id_token_hint": {tok.IDToken[:len(tok.IDToken)-4] + "AAAA"}}},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			p := b.get("/oauth/logout?" + tc.q.Encode())
			if p.Status != http.StatusBadRequest || p.Location != nil || !strings.Contains(p.Body, "Sign-out failed") {
				t.Fatalf("got %d %v %.300s", p.Status, p.Location, p.Body)
			}
		})
	}

	p := b.get("/oauth/logout?" + url.Values{"id_token_hint": {tok.IDToken}, "post_logout_redirect_uri": {app.PostLogoutURI}, "state": {"bye-123"}}.Encode())
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "Sign out of Puguh?") {
		t.Fatalf("confirmation page: %d %.300s", p.Status, p.Body)
	}
	if csp := p.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' https://app.example.com;") {
		t.Errorf("CSP %q does not allow the post-logout origin", csp)
	}
	p = b.post("/oauth/logout", formFields(t, p.Body))
	if p.Status != http.StatusSeeOther || p.Location.String() != app.PostLogoutURI+"?state=bye-123" {
		t.Fatalf("after confirmation: %d %v", p.Status, p.Location)
	}
	if r := e.Do(http.MethodGet, "/oauth/userinfo", nil, "Authorization", "Bearer "+tok.AccessToken); r.Status != http.StatusUnauthorized {
		t.Fatalf("userinfo after sign-out: %d %s", r.Status, r.Body)
	}
	if p := b.get("/oauth/authorize?" + codeQuery(app, "read:user").Encode()); p.Location == nil || p.Location.Path != "/login" {
		t.Fatalf("authorize after sign-out: want the sign-in page, got %d %v", p.Status, p.Location)
	}
}

// TestGrantsAPI: listing and revoking the grants users gave an application,
// addressed by X-Application-ID.
func TestGrantsAPI(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	owner := e.NewUser()
	app := registerApp(t, e, owner, appOptions{})
	user := e.NewUser()
	code := codeFrom(t, e, app, newBrowser(t, e).authorize(codeQuery(app, "openid email", "nonce", "nonce-0123456789"), user))
	r := e.Do(http.MethodPost, "/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {app.ID},
		"client_secret": {app.Secret}, "redirect_uri": {app.RedirectURI}}.Encode(), "Content-Type", "application/x-www-form-urlencoded")
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	r.JSON(t, &tok)
	stranger := e.NewUser()
	viewer := e.NewUser()
	addMember(t, e, owner, viewer, "viewer")

	cases := []struct {
		name       string
		method     string
		path       string
		headers    []string
		wantStatus int
		wantBody   string
	}{
		{"missing header", http.MethodGet, "/api/v1/applications/grants", owner.Bearer(), 422,
			`{"detail":[{"loc":["header","X-Application-ID"],"msg":"field required","type":"value_error.missing"}]}`},
		{"malformed header", http.MethodGet, "/api/v1/applications/grants", append(owner.Bearer(), "X-Application-ID", "not-a-uuid"), 422,
			`{"detail":[{"loc":["header","X-Application-ID"],"msg":"value is not a valid uuid","type":"type_error.uuid"}]}`},
		{"missing header before the permission", http.MethodDelete, "/api/v1/applications/grants/" + user.ID,
			append(viewer.Bearer(), "X-Organization-ID", owner.OrganizationID), 422,
			`{"detail":[{"loc":["header","X-Application-ID"],"msg":"field required","type":"value_error.missing"}]}`},
		{"another organization's application", http.MethodGet, "/api/v1/applications/grants",
			append(stranger.Bearer(), "X-Application-ID", app.ID), 404, `{"detail":"Application not found"}`},
		{"unauthenticated", http.MethodGet, "/api/v1/applications/grants", []string{"X-Application-ID", app.ID}, 401, `{"detail":"Invalid or expired token"}`},
		{"unknown user", http.MethodDelete, "/api/v1/applications/grants/" + stranger.ID, append(owner.Bearer(), "X-Application-ID", app.ID),
			404, `{"detail":"Grant not found"}`},
		{"revoke", http.MethodDelete, "/api/v1/applications/grants/" + user.ID, append(owner.Bearer(), "X-Application-ID", app.ID), 204, ``},
		{"listing after revoke", http.MethodGet, "/api/v1/applications/grants", append(owner.Bearer(), "X-Application-ID", app.ID), 200, `{"items":[]}`},
	}
	list := e.Do(http.MethodGet, "/api/v1/applications/grants", nil, append(owner.Bearer(), "X-Application-ID", app.ID)...)
	var grants struct {
		Items []struct {
			UserID string   `json:"user_id"`
			Email  string   `json:"email"`
			Scopes []string `json:"scopes"`
		} `json:"items"`
	}
	list.JSON(t, &grants)
	if list.Status != 200 || len(grants.Items) != 1 || grants.Items[0].UserID != user.ID || grants.Items[0].Email != user.Email ||
		strings.Join(grants.Items[0].Scopes, " ") != "openid email" {
		t.Fatalf("listing: %d %s", list.Status, list.Body)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.Do(tc.method, tc.path, nil, tc.headers...)
			if r.Status != tc.wantStatus || strings.TrimSpace(string(r.Body)) != tc.wantBody {
				t.Fatalf("got %d %s, want %d %s", r.Status, r.Body, tc.wantStatus, tc.wantBody)
			}
		})
	}
	if r := e.Do(http.MethodGet, "/oauth/userinfo", nil, "Authorization", "Bearer "+tok.AccessToken); r.Status != http.StatusUnauthorized {
		t.Fatalf("userinfo after the grant was revoked: %d %s", r.Status, r.Body)
	}
}
