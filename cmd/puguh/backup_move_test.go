package main

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
	"github.com/arsaka/puguh/storage/sqlstore/sqltest"
)

// TestMoveSQLiteToPostgres is the move docs/deploy.md describes: a live
// SQLite deployment is exported while it serves, imported into a fresh
// PostgreSQL with the same PUGUH_SECRET, and a Puguh started there (same
// issuer) finds everyone still signed in: the access token at /userinfo and
// the REST API, the refresh token, the API key, the service account's
// client_credentials, the application's secret, the browser session, and a
// token revoked before the move still revoked.
func TestMoveSQLiteToPostgres(t *testing.T) {
	pgURL := sqltest.PostgresURL(t) // skips, saying how to run it, without PostgreSQL
	old := apptest.Start(t, apptest.Options{})

	alice := old.NewUser()
	bob := old.NewUser()
	if r := old.Do(http.MethodPost, "/api/v1/organizations/"+alice.OrganizationID+"/members",
		map[string]string{"email": bob.Email, "role": "member"}, alice.Bearer()...); r.Status != http.StatusCreated {
		t.Fatalf("add member: %d %s", r.Status, r.Body)
	}
	var app struct{ ClientID, ClientSecret string }
	r := old.Do(http.MethodPost, "/api/v1/applications", map[string]any{"name": "Reports",
		"grant_types": []string{"client_credentials"}, "token_endpoint_auth_method": "client_secret_basic"}, alice.Bearer()...)
	decode(t, r, http.StatusCreated, &struct {
		ClientID     *string `json:"client_id"`
		ClientSecret *string `json:"client_secret"`
	}{&app.ClientID, &app.ClientSecret})
	var key struct {
		Key string `json:"key"`
	}
	decode(t, old.Do(http.MethodPost, "/api/v1/api-keys", map[string]string{"name": "Production key", "role": "viewer"},
		append(alice.Bearer(), "X-Organization-ID", alice.OrganizationID)...), http.StatusCreated, &key)
	var sa struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	decode(t, old.Do(http.MethodPost, "/api/v1/service-accounts", map[string]string{"name": "CI deployer", "role": "member"},
		alice.Bearer()...), http.StatusCreated, &sa)
	var portal struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	const portalCallback = "https://portal.example.com/callback"
	decode(t, old.Do(http.MethodPost, "/api/v1/applications", map[string]any{"name": "Portal", "redirect_uris": []string{portalCallback},
		"token_endpoint_auth_method": "client_secret_basic"}, alice.Bearer()...), http.StatusCreated, &portal)
	b := newBrowser(t, old)
	session := b.signIn(alice)
	oidcAccess, oidcRefresh := b.authorize(portal.ClientID, portal.ClientSecret, portalCallback)

	// Carol signs out: her access token is denied from then on.
	carol := old.NewUser()
	if r := old.Do(http.MethodPost, "/api/v1/auth/logout", nil, carol.Bearer()...); r.Status != http.StatusNoContent {
		t.Fatalf("logout: %d %s", r.Status, r.Body)
	}
	if r := old.Do(http.MethodGet, "/api/v1/iam/users/me", nil, carol.Bearer()...); r.Status != http.StatusUnauthorized {
		t.Fatalf("carol's token after logout, before the move: %d %s", r.Status, r.Body)
	}
	jwksBefore := old.Do(http.MethodGet, "/.well-known/jwks.json", nil)

	// Export the live deployment, then stop it.
	code, export, errOut := runCmd(t, map[string]string{"PUGUH_DATABASE_URL": old.DatabaseURL, "PUGUH_DATA_DIR": t.TempDir()}, "export")
	if code != 0 || errOut != "" {
		t.Fatalf("export: %d %q", code, errOut)
	}
	<-old.Shutdown()

	target := map[string]string{"PUGUH_DATABASE_URL": pgURL, "PUGUH_SECRET": apptest.Secret, "PUGUH_DATA_DIR": t.TempDir()}
	wrong := map[string]string{"PUGUH_DATABASE_URL": pgURL, "PUGUH_SECRET": "another-secret-0123456789-abcdefghij", "PUGUH_DATA_DIR": t.TempDir()}
	code, out, errOut := runCmdInput(t, wrong, export, "import")
	if m := regexp.MustCompile(`^puguh: import: stdin: line \d+: signing key \S+: cannot be decrypted with this PUGUH_SECRET: set the PUGUH_SECRET of the Puguh that made the export\n$`); code != 1 || out != "" || !m.MatchString(errOut) {
		t.Fatalf("import with another secret: %d %q %q", code, out, errOut)
	}
	// Refused as a whole: the database is still empty, so this one is not.
	code, out, errOut = runCmdInput(t, target, export, "import")
	if m := regexp.MustCompile(`^imported \d+ rows into postgres: users 3, organizations 3, memberships 4, service_accounts 1, api_keys 1, applications 2, signing_keys 4, consent_grants 1, sessions 1, session_families 1, .*oauth_refresh_families \d+, oauth_refresh_tokens \d+, .*denylist \d+\n$`); code != 0 || errOut != "" || !m.MatchString(out) {
		t.Fatalf("import: %d %q %q", code, out, errOut)
	}
	// Twice is refused, unless --force.
	code, out, errOut = runCmdInput(t, target, export, "import")
	if code != 1 || out != "" || !strings.HasPrefix(errOut, "puguh: import: the database is not empty: users, organizations, ") ||
		!strings.HasSuffix(errOut, " hold rows; import into an empty database, or pass --force to replace everything in it\n") {
		t.Fatalf("second import: %d %q %q", code, out, errOut)
	}
	if code, _, errOut = runCmdInput(t, target, export, "import", "--force"); code != 0 {
		t.Fatalf("import --force: %d %q", code, errOut)
	}

	moved := apptest.Start(t, apptest.Options{DatabaseURL: pgURL, Env: map[string]string{"PUGUH_ISSUER": old.URL}})
	if j := moved.Do(http.MethodGet, "/.well-known/jwks.json", nil); string(j.Body) != string(jwksBefore.Body) {
		t.Fatalf("JWKS after the move:\n%s\nbefore:\n%s", j.Body, jwksBefore.Body)
	}
	for _, tc := range []struct {
		name   string
		check  func() *apptest.Response
		status int
		body   string // a regexp of the body
	}{
		{"OpenID access token at /oauth/userinfo", func() *apptest.Response {
			return moved.Do(http.MethodGet, "/oauth/userinfo", nil, "Authorization", "Bearer "+oidcAccess)
		}, http.StatusOK, `"sub":"` + alice.ID + `"`},
		{"OpenID refresh token", func() *apptest.Response {
			return tokenRequest(t, moved, portal.ClientID, portal.ClientSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {oidcRefresh}})
		}, http.StatusOK, `"access_token":"ey`},
		{"access token at the REST API", func() *apptest.Response {
			return moved.Do(http.MethodGet, "/api/v1/iam/users/me", nil, alice.Bearer()...)
		}, http.StatusOK, `"email":"` + regexp.QuoteMeta(alice.Email) + `"`},
		{"member still a member", func() *apptest.Response {
			return moved.Do(http.MethodGet, "/api/v1/organizations/"+alice.OrganizationID+"/members", nil, alice.Bearer()...)
		}, http.StatusOK, regexp.QuoteMeta(bob.Email)},
		{"REST refresh token", func() *apptest.Response {
			return moved.Do(http.MethodPost, "/api/v1/auth/refresh", map[string]string{"refresh_token": alice.RefreshToken})
		}, http.StatusOK, `"access_token":"ey`},
		{"API key", func() *apptest.Response {
			return moved.Do(http.MethodGet, "/api/v1/health", nil, "X-API-Key", key.Key, "X-Organization-ID", alice.OrganizationID)
		}, http.StatusOK, `"principal":\{"type":"api_key"`},
		{"service account's client_credentials", func() *apptest.Response {
			return clientCredentials(t, moved, sa.ClientID, sa.ClientSecret)
		}, http.StatusOK, `"access_token":"ey`},
		{"application's client_credentials", func() *apptest.Response {
			return clientCredentials(t, moved, app.ClientID, app.ClientSecret)
		}, http.StatusOK, `"access_token":"ey`},
		{"browser session", func() *apptest.Response {
			return moved.Do(http.MethodGet, "/account", nil, "Cookie", "puguh_session="+session)
		}, http.StatusOK, regexp.QuoteMeta(alice.Email)},
		{"no session without the cookie", func() *apptest.Response {
			return moved.Do(http.MethodGet, "/account", nil)
		}, http.StatusSeeOther, ``},
		{"token revoked before the move", func() *apptest.Response {
			return moved.Do(http.MethodGet, "/api/v1/iam/users/me", nil, carol.Bearer()...)
		}, http.StatusUnauthorized, ``},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.check()
			if r.Status != tc.status || !regexp.MustCompile(tc.body).Match(r.Body) {
				t.Fatalf("%d %s\nwant %d and %s", r.Status, r.Body, tc.status, tc.body)
			}
		})
	}
}

// decode checks a response's status and decodes its JSON body.
func decode(t *testing.T, r *apptest.Response, status int, v any) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d %s, want %d", r.Status, r.Body, status)
	}
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("%v: %s", err, r.Body)
	}
}

func clientCredentials(t *testing.T, e *apptest.Env, id, secret string) *apptest.Response {
	t.Helper()
	return tokenRequest(t, e, id, secret, url.Values{"grant_type": {"client_credentials"}})
}

// browser is a cookie-keeping client that stops at every redirect.
type browser struct {
	t      *testing.T
	e      *apptest.Env
	client *http.Client
	jar    http.CookieJar
}

func newBrowser(t *testing.T, e *apptest.Env) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, e: e, jar: jar, client: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) get(target string) *apptest.Response {
	b.t.Helper()
	if strings.HasPrefix(target, "/") {
		target = b.e.URL + target
	}
	return send(b.t, b.client, mustRequest(b.t, http.MethodGet, target, ""))
}

// post sends a form of the page the browser is on, with its hidden fields
// (the CSRF token among them) and the given ones.
func (b *browser) post(path string, page *apptest.Response, fields url.Values) *apptest.Response {
	b.t.Helper()
	form := url.Values{}
	for _, m := range regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`).FindAllSubmatch(page.Body, -1) {
		form.Set(string(m[1]), html.UnescapeString(string(m[2])))
	}
	if form.Get("csrf_token") == "" {
		b.t.Fatalf("%s: the page has no CSRF token: %d\n%s", path, page.Status, page.Body)
	}
	for k, v := range fields {
		form[k] = v
	}
	req := mustRequest(b.t, http.MethodPost, b.e.URL+path, form.Encode())
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.e.URL)
	return send(b.t, b.client, req)
}

// signIn signs u in through the /login page and returns the session
// cookie's value.
func (b *browser) signIn(u *apptest.User) string {
	b.t.Helper()
	if r := b.post("/login", b.get("/login"), url.Values{"email": {u.Email}, "password": {u.Password}}); r.Status != http.StatusSeeOther {
		b.t.Fatalf("POST /login: %d %s", r.Status, r.Body)
	}
	base, _ := url.Parse(b.e.URL)
	for _, c := range b.jar.Cookies(base) {
		if c.Name == "puguh_session" {
			return c.Value
		}
	}
	b.t.Fatal("signed in, but no puguh_session cookie")
	return ""
}

// authorize runs /oauth/authorize with PKCE for a signed-in browser,
// consenting, and redeems the code: the application's OpenID tokens.
func (b *browser) authorize(clientID, secret, redirectURI string) (access, refresh string) {
	b.t.Helper()
	verifier := strings.Repeat("v", 20) + "-pkce-verifier-0123456789abcdef"
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"client_id": {clientID}, "redirect_uri": {redirectURI}, "response_type": {"code"},
		"scope": {"openid profile offline_access"}, "state": {"state-0123456789"}, "nonce": {"nonce-0123456789"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	r := b.get("/oauth/authorize?" + q.Encode())
	for hop := 0; ; hop++ {
		loc := r.Header.Get("Location")
		if r.Status != http.StatusSeeOther || hop == 8 {
			b.t.Fatalf("authorize: %d %s %s", r.Status, loc, r.Body)
		}
		if strings.HasPrefix(loc, redirectURI+"?") {
			break
		}
		if strings.HasPrefix(loc, "/consent") || strings.HasPrefix(loc, b.e.URL+"/consent") {
			r = b.post("/consent", b.get(loc), url.Values{"decision": {"allow"}, "remember": {"1"}})
			continue
		}
		r = b.get(loc)
	}
	u, err := url.Parse(r.Header.Get("Location"))
	if err != nil || u.Query().Get("code") == "" {
		b.t.Fatalf("authorization response %s: %v", r.Header.Get("Location"), err)
	}
	tok := tokenRequest(b.t, b.e, clientID, secret, url.Values{"grant_type": {"authorization_code"}, "code": {u.Query().Get("code")},
		"redirect_uri": {redirectURI}, "code_verifier": {verifier}})
	var body struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	decode(b.t, tok, http.StatusOK, &body)
	return body.AccessToken, body.RefreshToken
}

func tokenRequest(t *testing.T, e *apptest.Env, id, secret string, form url.Values) *apptest.Response {
	t.Helper()
	req := mustRequest(t, http.MethodPost, e.URL+"/oauth/token", form.Encode())
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	return send(t, e.Client, req)
}

func mustRequest(t *testing.T, method, target, body string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func send(t *testing.T, client *http.Client, req *http.Request) *apptest.Response {
	t.Helper()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &apptest.Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}
