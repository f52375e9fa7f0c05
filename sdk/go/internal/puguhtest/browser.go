package puguhtest

import (
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// Browser is a user's browser for the OAuth code flow, with a cookie jar:
// it follows Puguh's redirects by hand, signs in on /login and answers the
// consent page, until Puguh sends it back to the application.
type Browser struct {
	base   *url.URL
	client *http.Client
}

// NewBrowser is a browser with no cookies.
func NewBrowser(t testing.TB, baseURL string) *Browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	base, err := url.Parse(baseURL)
	if err != nil {
		t.Fatal(err)
	}
	return &Browser{base: base, client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

type page struct {
	status   int
	body     string
	location *url.URL
}

func (b *Browser) do(t testing.TB, req *http.Request) page {
	t.Helper()
	res, err := b.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	p := page{status: res.StatusCode, body: string(body)}
	if loc := res.Header.Get("Location"); loc != "" {
		u, err := req.URL.Parse(loc)
		if err != nil {
			t.Fatal(err)
		}
		p.location = u
	}
	return p
}

func (b *Browser) get(t testing.TB, u string) page {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b.do(t, req)
}

func (b *Browser) post(t testing.TB, path string, form url.Values) page {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.base.ResolveReference(&url.URL{Path: path}).String(), strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.base.Scheme+"://"+b.base.Host)
	return b.do(t, req)
}

var hidden = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)

func hiddenFields(t testing.TB, body string) url.Values {
	t.Helper()
	form := url.Values{}
	for _, m := range hidden.FindAllStringSubmatch(body, -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	if form.Get("csrf_token") == "" {
		t.Fatalf("the page has no csrf_token:\n%.500s", body)
	}
	return form
}

// Authorize opens an authorization URL and gets through sign-in and consent
// (decision "allow" or "deny"); it returns the URL Puguh sends the browser
// back to. At most 8 hops.
func (b *Browser) Authorize(t testing.TB, authorizationURL string, u *User, decision string) *url.URL {
	t.Helper()
	p := b.get(t, authorizationURL)
	for hop := 0; hop < 8; hop++ {
		if p.status != http.StatusSeeOther || p.location == nil {
			t.Fatalf("authorize: stuck at %d:\n%.800s", p.status, p.body)
		}
		if p.location.Host != b.base.Host {
			return p.location
		}
		switch p.location.Path {
		case "/login":
			form := hiddenFields(t, b.get(t, p.location.String()).body)
			form.Set("email", u.Email)
			form.Set("password", u.Password)
			p = b.post(t, "/login", form)
		case "/consent":
			form := hiddenFields(t, b.get(t, p.location.String()).body)
			form.Set("decision", decision)
			form.Set("remember", "1")
			p = b.post(t, "/consent", form)
		default:
			p = b.get(t, p.location.String())
		}
	}
	t.Fatal("authorize: too many redirects")
	return nil
}

// SignOut confirms /logout: the SSO session ends, and with it the tokens of
// every application it signed into.
func (b *Browser) SignOut(t testing.TB) {
	t.Helper()
	form := hiddenFields(t, b.get(t, b.base.String()+"/logout").body)
	p := b.post(t, "/logout", form)
	if p.status != http.StatusSeeOther {
		t.Fatalf("sign out: %d\n%.500s", p.status, p.body)
	}
	if p := b.get(t, b.base.String()+"/logout"); !strings.Contains(p.body, "You are signed out") {
		t.Fatal(fmt.Sprintf("still signed in after signing out:\n%.500s", p.body))
	}
}
