package app_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
	"github.com/arsaka/puguh/provider/credentials"
	"github.com/arsaka/puguh/storage"
)

// testApp is a registered OAuth application and its secret.
type testApp struct {
	ID, Secret, RedirectURI, PostLogoutURI string
	Public, Trusted                        bool
	OrganizationID                         string
}

// appOptions shape registerApp.
type appOptions struct {
	Public, Trusted bool
	Scopes          []string
	RedirectURI     string // default https://app.example.com/callback
}

// registerApp creates an application in the organization of owner directly
// through the store (the applications REST API belongs to another issue).
func registerApp(t testing.TB, e *apptest.Env, owner *apptest.User, opts appOptions) *testApp {
	t.Helper()
	var b [8]byte
	_, _ = rand.Read(b[:])
	id := uuid.NewString() // like the applications REST API

	secret := "secret-" + hex.EncodeToString(b[:]) + "-0123456789abcdef0123456789abcdef"
	scopes := opts.Scopes
	if scopes == nil {
		scopes = []string{"openid", "profile", "email", "offline_access", "read:user", "read:resources"}
	}
	a := &storage.Application{
		ID: id, OrganizationID: owner.OrganizationID, Name: "Acme Dashboard",
		RedirectURIs:            []string{"https://app.example.com/callback"},
		PostLogoutRedirectURIs:  []string{"https://app.example.com/signed-out"},
		GrantTypes:              []string{"authorization_code", "refresh_token", "client_credentials"},
		ResponseTypes:           []string{"code"},
		Scopes:                  scopes,
		TokenEndpointAuthMethod: "client_secret_post",
		Public:                  opts.Public, Trusted: opts.Trusted,
	}
	if opts.RedirectURI != "" {
		a.RedirectURIs = []string{opts.RedirectURI}
	}
	if opts.Public {
		a.TokenEndpointAuthMethod = "none"
		a.GrantTypes = []string{"authorization_code", "refresh_token"}
	} else {
		a.SecretHash = credentials.HashClientSecret(secret)
	}
	if err := e.App.Store().CreateApplication(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	return &testApp{ID: id, Secret: secret, RedirectURI: a.RedirectURIs[0], PostLogoutURI: a.PostLogoutRedirectURIs[0],
		Public: opts.Public, Trusted: opts.Trusted, OrganizationID: owner.OrganizationID}
}

// browser is a cookie-keeping HTTP client that never follows redirects by
// itself, so every hop can be inspected.
type browser struct {
	t      testing.TB
	base   string
	client *http.Client
	// origin is the Origin of form posts; empty: base. A server whose
	// issuer is not base expects the issuer's origin.
	origin string
	// observe, when set, sees every response.
	observe func(*page)
}

func newBrowser(t testing.TB, e *apptest.Env) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, base: e.URL, client: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// page is one response of the browser.
type page struct {
	Status   int
	Header   http.Header
	Body     string
	Location *url.URL
}

func (b *browser) do(req *http.Request) *page {
	b.t.Helper()
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	p := &page{Status: resp.StatusCode, Header: resp.Header, Body: string(body)}
	if loc := resp.Header.Get("Location"); loc != "" {
		u, err := req.URL.Parse(loc)
		if err != nil {
			b.t.Fatalf("bad Location %q", loc)
		}
		p.Location = u
	}
	if b.observe != nil {
		b.observe(p)
	}
	return p
}

func (b *browser) get(rawURL string) *page {
	b.t.Helper()
	if strings.HasPrefix(rawURL, "/") {
		rawURL = b.base + rawURL
	}
	req, _ := http.NewRequest(http.MethodGet, rawURL, nil)
	return b.do(req)
}

// post sends a same-origin form post, as a browser would (with Origin).
func (b *browser) post(path string, form url.Values, headers ...string) *page {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	origin := b.origin
	if origin == "" {
		origin = b.base
	}
	req.Header.Set("Origin", origin)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return b.do(req)
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)

// formFields returns the hidden fields of a page's form.
func formFields(t testing.TB, body string) url.Values {
	t.Helper()
	v := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(body, -1) {
		v.Set(m[1], html.UnescapeString(m[2]))
	}
	if v.Get("csrf_token") == "" {
		t.Fatalf("page has no CSRF token:\n%s", body)
	}
	return v
}

// authorize runs the browser through /oauth/authorize, signing in and
// consenting as needed, until Puguh redirects off-site (the client's
// redirect URI) or shows a page it cannot get past. At most 8 hops.
func (b *browser) authorize(query url.Values, user *apptest.User) *page {
	b.t.Helper()
	p := b.get("/oauth/authorize?" + query.Encode())
	for hop := 0; hop < 8; hop++ {
		if p.Status != http.StatusSeeOther || p.Location == nil {
			return p
		}
		if p.Location.Host != strings.TrimPrefix(b.base, "http://") {
			return p // off to the client
		}
		switch p.Location.Path {
		case "/login":
			form := b.get(p.Location.String())
			if form.Status != http.StatusOK {
				return form
			}
			fields := formFields(b.t, form.Body)
			fields.Set("email", user.Email)
			fields.Set("password", user.Password)
			p = b.post("/login", fields)
		case "/consent":
			form := b.get(p.Location.String())
			if form.Status != http.StatusOK {
				return form
			}
			fields := formFields(b.t, form.Body)
			fields.Set("decision", "allow")
			fields.Set("remember", "1")
			p = b.post("/consent", fields)
		default:
			p = b.get(p.Location.String())
		}
	}
	b.t.Fatal("authorize: too many redirects")
	return nil
}

// codeQuery is an authorization request for app.
func codeQuery(app *testApp, scope string, extra ...string) url.Values {
	q := url.Values{
		"client_id": {app.ID}, "redirect_uri": {app.RedirectURI}, "response_type": {"code"},
		"scope": {scope}, "state": {"state-0123456789"},
	}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return q
}

// codeFrom returns the code of an authorization response, failing unless it
// is a redirect to the client with code, the state sent and our iss.
func codeFrom(t testing.TB, e *apptest.Env, app *testApp, p *page) string {
	t.Helper()
	if p.Status != http.StatusSeeOther || p.Location == nil || !strings.HasPrefix(p.Location.String(), app.RedirectURI+"?") {
		t.Fatalf("want 303 to %s, got %d Location %v body %.500s", app.RedirectURI, p.Status, p.Location, p.Body)
	}
	q := p.Location.Query()
	if q.Get("code") == "" || q.Get("state") != "state-0123456789" || q.Get("iss") != e.URL {
		t.Fatalf("authorization response %v: want code, state and iss=%s", q, e.URL)
	}
	return q.Get("code")
}

// callbackServer is an application's redirect URI for browser tests: a
// loopback listener on /callback that hands each response's query to the
// returned channel (room for four; more are dropped) and answers "signed in".
// Other paths (the browser's /favicon.ico) are 404. It stops when t ends.
func callbackServer(t testing.TB) (redirectURI string, callbacks <-chan url.Values) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan url.Values, 4)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/callback" {
			http.NotFound(w, r)
			return
		}
		select {
		case ch <- r.URL.Query():
		default:
		}
		_, _ = w.Write([]byte("signed in"))
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String() + "/callback", ch
}
