package app_test

import (
	"net/http"
	"net/url"
	"sync"
	"testing"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

const hstsValue = "max-age=31536000; includeSubDomains"

// httpsIssuer is the issuer of the https cases. The test server still
// listens on plain http on 127.0.0.1: TLS ends at a proxy in front of Puguh,
// and what Puguh sends depends only on the issuer's scheme.
const httpsIssuer = "https://puguh.test"

// TestStrictTransportSecurity: with an https issuer every response carries
// HSTS (RFC 6797 §7.1: the JSON API, OAuth endpoints, JWKS, errors, 404s and
// redirects, not only the HTML pages); with an http issuer none does, since
// a browser would ignore it over http and it would pin a development host.
func TestStrictTransportSecurity(t *testing.T) {
	for _, issuer := range []struct {
		name, url, want string
	}{
		{"https issuer", httpsIssuer, hstsValue},
		{"http issuer", "", ""},
	} {
		t.Run(issuer.name, func(t *testing.T) {
			opts := apptest.Options{}
			if issuer.url != "" {
				opts.Env = map[string]string{"PUGUH_ISSUER": issuer.url}
			}
			e := apptest.Start(t, opts)
			user := e.NewUser()
			app := registerApp(t, e, user, appOptions{})
			form := "application/x-www-form-urlencoded"
			cases := []struct {
				name, method, path string
				body               string
				headers            []string
				status             int
			}{
				{name: "health", method: "GET", path: "/api/v1/health", status: 200},
				{name: "REST 200", method: "GET", path: "/api/v1/iam/users/me", headers: user.Bearer(), status: 200},
				{name: "REST 401", method: "GET", path: "/api/v1/iam/users/me", status: 401},
				{name: "REST 422", method: "POST", path: "/api/v1/auth/login", body: "{", status: 422},
				{name: "404", method: "GET", path: "/no-such-page", status: 404},
				{name: "405", method: "DELETE", path: "/api/v1/health", status: 405},
				{name: "JWKS", method: "GET", path: "/.well-known/jwks.json", status: 200},
				{name: "discovery", method: "GET", path: "/.well-known/openid-configuration", status: 200},
				{name: "token error", method: "POST", path: "/oauth/token", body: "grant_type=password",
					headers: []string{"Content-Type", form}, status: 400},
				{name: "introspection 401", method: "POST", path: "/oauth/introspect", body: "token=x",
					headers: []string{"Content-Type", form}, status: 401},
				{name: "authorize redirect", method: "GET", path: "/oauth/authorize?" + codeQuery(app, "read:user").Encode(), status: 303},
				{name: "authorize error page", method: "GET", path: "/oauth/authorize?client_id=nope", status: 401},
				{name: "sign-in page", method: "GET", path: "/login", status: 200},
				{name: "stylesheet", method: "GET", path: "/static/style.css", status: 200},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					var body any
					if tc.body != "" {
						body = tc.body
					}
					r := e.Do(tc.method, tc.path, body, tc.headers...)
					if r.Status != tc.status {
						t.Fatalf("status %d, want %d: %.300s", r.Status, tc.status, r.Body)
					}
					if got := r.Header.Get("Strict-Transport-Security"); got != issuer.want {
						t.Fatalf("Strict-Transport-Security = %q, want %q", got, issuer.want)
					}
				})
			}
		})
	}
}

// TestCookieFlags: every cookie Puguh sets — the pre-session (CSRF) cookie,
// the SSO session, the organization preference, and their deletions — is
// HttpOnly, SameSite=Lax, Path=/ and host-only (no Domain); with an https
// issuer it is Secure and carries the __Host- prefix (RFC 6265bis §4.1.3.2),
// with an http one neither.
func TestCookieFlags(t *testing.T) {
	for _, issuer := range []struct {
		name, url string
		secure    bool
	}{
		{"https issuer", httpsIssuer, true},
		{"http issuer", "", false},
	} {
		t.Run(issuer.name, func(t *testing.T) {
			opts := apptest.Options{}
			if issuer.url != "" {
				opts.Env = map[string]string{"PUGUH_ISSUER": issuer.url}
			}
			e := apptest.Start(t, opts)
			user := e.NewUser()
			b := newBrowser(t, e)
			// Secure cookies over the test's plain http: a jar that keeps
			// them, as the browser behind a TLS-terminating proxy would.
			b.client.Jar = &plainJar{}
			if issuer.url != "" {
				b.origin = issuer.url
			}
			prefix := ""
			if issuer.secure {
				prefix = "__Host-"
			}

			var seen []*http.Cookie
			b.observe = func(p *page) { seen = append(seen, (&http.Response{Header: p.Header}).Cookies()...) }
			signIn(t, b, user.Email, user.Password) // sets the pre-session cookie, then the session
			postForm(t, b, "/account", "/account/organization", url.Values{"organization_id": {user.OrganizationID}})
			if p := postForm(t, b, "/logout", "/logout", url.Values{}); p.Status != http.StatusSeeOther {
				t.Fatalf("sign-out: %d %.300s", p.Status, p.Body)
			}
			// Sign-up clears the organization preference of whoever used the browser before.
			if p := postForm(t, b, "/signup", "/signup", url.Values{"email": {"cookie-" + randomHex(4) + "@example.com"},
				"password": {"correct horse battery"}, "full_name": {"Cookie Test"}}); p.Status != http.StatusSeeOther {
				t.Fatalf("sign-up: %d %.300s", p.Status, p.Body)
			}

			want := map[string]bool{}
			for _, name := range []string{"puguh_browser", "puguh_session", "puguh_org"} {
				want[prefix+name] = false
			}
			deleted := map[string]bool{}
			for _, c := range seen {
				if _, ok := want[c.Name]; !ok {
					t.Errorf("unexpected cookie %q (%s)", c.Name, c.Raw)
					continue
				}
				want[c.Name] = true
				if c.MaxAge < 0 {
					deleted[c.Name] = true
				}
				if c.Secure != issuer.secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" {
					t.Errorf("cookie %s: Secure=%v HttpOnly=%v SameSite=%v Path=%q Domain=%q, want Secure=%v HttpOnly SameSite=Lax Path=/ no Domain",
						c.Raw, c.Secure, c.HttpOnly, c.SameSite, c.Path, c.Domain, issuer.secure)
				}
			}
			for name, ok := range want {
				if !ok {
					t.Errorf("cookie %s was never set", name)
				}
			}
			for _, name := range []string{prefix + "puguh_session", prefix + "puguh_org"} {
				if !deleted[name] {
					t.Errorf("cookie %s was never deleted (sign-out, sign-up)", name)
				}
			}
		})
	}
}

// plainJar keeps cookies by name and sends them all on every request,
// whatever their Secure flag: the test speaks http to a server whose issuer
// is https.
type plainJar struct {
	mu      sync.Mutex
	cookies map[string]*http.Cookie
}

func (j *plainJar) SetCookies(_ *url.URL, cookies []*http.Cookie) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.cookies == nil {
		j.cookies = map[string]*http.Cookie{}
	}
	for _, c := range cookies {
		if c.MaxAge < 0 {
			delete(j.cookies, c.Name)
			continue
		}
		j.cookies[c.Name] = &http.Cookie{Name: c.Name, Value: c.Value}
	}
}

func (j *plainJar) Cookies(*url.URL) []*http.Cookie {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []*http.Cookie
	for _, c := range j.cookies {
		out = append(out, c)
	}
	return out
}
