package app_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

// The OAuth fuzz targets send arbitrary parameters to the OAuth endpoints of
// a real Puguh on every configured deployment (SQLite; PostgreSQL with Redis
// when the variables are set) and assert that nothing is ever a 5xx, and
// that error answers keep their shape. Their seeds run as ordinary tests;
// `go test -fuzz FuzzTokenEndpoint ./app/` explores further.
//
// An input is raw form or query text, put in front of a valid request of a
// registered, trusted application (url.Values.Get reads the first of
// repeated parameters), so a seed overrides one parameter of a request that
// otherwise gets far: "code=x.%ff" reaches the code lookup.

// badParameterSeeds are values every OAuth parameter is tried with: bytes
// that are not UTF-8 (as in the percent-encoded "x.%ff"), NUL, overlong
// encodings, encoded surrogates, and overlong values.
var badParameterSeeds = []string{
	"%ff", "x.%ff", "x.%ff%fe", "%00", "x.%00", "x.abc%00def", "%c0%80", "x.%c0%af", "x.%ed%a0%80",
	"x." + strings.Repeat("a", 16<<10), strings.Repeat("%ff", 4096), "x." + strings.Repeat("%c0%80", 2048),
	"", ".", "..", "x.y.z", "%", "%zz", "a+b%20c",
}

// fuzzDeployment is one running Puguh the fuzz targets talk to.
type fuzzDeployment struct {
	name    string
	e       *apptest.Env
	app     *testApp
	browser *browser // signed in to app's organization, for /oauth/authorize
	// sent numbers the requests: each comes from an address of its own
	// (X-Forwarded-For from a trusted proxy), so the per-IP rate limit, which
	// a fuzzer would exhaust in a second, never answers in Puguh's place.
	sent *atomic.Uint32
}

// fuzzDeployments starts Puguh on every configured deployment, with a trusted
// confidential application and a browser signed in to it.
func fuzzDeployments(f *testing.F) []fuzzDeployment {
	f.Helper()
	var out []fuzzDeployment
	for _, d := range apptest.Deployments() {
		if ok, why := d.Configured(); !ok {
			f.Logf("%s deployment skipped: %s", d.Name, why)
			continue
		}
		opts := d.Options
		opts.Env = map[string]string{"PUGUH_TRUSTED_PROXIES": "127.0.0.1/32"}
		e := apptest.Start(f, opts)
		user := e.NewUser()
		app := registerApp(f, e, user, appOptions{Trusted: true})
		b := newBrowser(f, e)
		codeFrom(f, e, app, b.authorize(codeQuery(app, "openid read:user", "nonce", "nonce-0123456789"), user))
		out = append(out, fuzzDeployment{name: d.Name, e: e, app: app, browser: b, sent: new(atomic.Uint32)})
	}
	return out
}

// addSeeds adds, for each parameter, each bad value, plus extra seeds.
func addSeeds(f *testing.F, params []string, extra ...string) {
	for _, p := range params {
		for _, v := range badParameterSeeds {
			f.Add(p + "=" + v)
		}
	}
	for _, s := range extra {
		f.Add(s)
	}
}

// fuzzResponse is one answer to a fuzz request.
type fuzzResponse struct {
	status int
	header http.Header
	body   []byte
}

// send posts body to path, or gets path?query, with client (nil: the
// deployment's plain client). query is sent as it is, but for the bytes a
// request line cannot carry, which are percent-encoded.
func (d fuzzDeployment) send(t *testing.T, client *http.Client, method, path, query, body string, headers ...string) fuzzResponse {
	t.Helper()
	var rd io.Reader
	if method == http.MethodPost {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, d.e.URL+path, rd)
	if err != nil {
		t.Fatalf("build request: %v", err)
	}
	req.URL.RawQuery = requestLineSafe(query)
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	n := d.sent.Add(1)
	req.Header.Set("X-Forwarded-For", fmt.Sprintf("10.%d.%d.%d", byte(n>>16), byte(n>>8), byte(n)))
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	if client == nil {
		client = d.e.Client
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s?%.200s: %v", method, path, query, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	return fuzzResponse{status: resp.StatusCode, header: resp.Header, body: b}
}

// requestLineSafe percent-encodes the bytes of q that cannot appear in a
// request line (controls, space, '#', non-ASCII); everything else, '%' and
// malformed escapes included, reaches the server as the fuzzer made it.
func requestLineSafe(q string) string {
	var b strings.Builder
	for i := 0; i < len(q); i++ {
		if c := q[i]; c <= ' ' || c == '#' || c >= 0x7f {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// assertOAuthAnswer fails on a 5xx, and on an error answer that is not RFC
// 6749 §5.2 JSON with an error code.
func assertOAuthAnswer(t *testing.T, where, input string, r fuzzResponse) {
	t.Helper()
	if r.status >= 500 {
		t.Fatalf("%s: %d for %q: %s", where, r.status, input, r.body)
	}
	if r.status >= 400 {
		var e struct {
			Error string `json:"error"`
		}
		if err := json.Unmarshal(r.body, &e); err != nil || e.Error == "" {
			t.Fatalf("%s: %d for %q is not an RFC 6749 error: %s", where, r.status, input, r.body)
		}
	}
}

// FuzzTokenEndpoint: /oauth/token with a confidential client's credentials
// (client_secret_post) and arbitrary grant parameters.
func FuzzTokenEndpoint(f *testing.F) {
	addSeeds(f, []string{"code", "refresh_token", "code_verifier", "redirect_uri", "client_id", "client_secret", "scope", "grant_type"},
		"grant_type=authorization_code&code=x.%ff", "grant_type=refresh_token&refresh_token=x.%ff",
		"grant_type=authorization_code&code=x.%00&code_verifier=%ff", "grant_type=refresh_token&refresh_token=x.%00&scope=%ff",
		"grant_type=client_credentials&scope=%ff", "grant_type=client_credentials&audience=%ff",
		"grant_type=authorization_code&code=%ff.%ff", "grant_type=refresh_token&refresh_token=%00.%00",
		"grant_type=%ff", "grant_type=password&username=%ff&password=%00",
	)
	deployments := fuzzDeployments(f)
	f.Fuzz(func(t *testing.T, input string) {
		for _, d := range deployments {
			base := url.Values{"redirect_uri": {d.app.RedirectURI}, "client_id": {d.app.ID}, "client_secret": {d.app.Secret}}.Encode()
			r := d.send(t, nil, http.MethodPost, "/oauth/token", "", input+"&"+base)
			assertOAuthAnswer(t, d.name+" token", input, r)
			if r.header.Get("Cache-Control") != "no-store" {
				t.Fatalf("%s token: Cache-Control %q for %q", d.name, r.header.Get("Cache-Control"), input)
			}
		}
	})
}

// FuzzRevocationEndpoint: /oauth/revoke (RFC 7009) with a confidential
// client's credentials. An unknown token is 200 (§2.2).
func FuzzRevocationEndpoint(f *testing.F) {
	addSeeds(f, []string{"token", "token_type_hint", "client_id", "client_secret"},
		"token=x.%ff&token_type_hint=refresh_token", "token=x.%ff&token_type_hint=access_token",
		"token=a.b.%ff", "token=%ff.%ff.%ff", "token=x.%00&token_type_hint=%ff",
	)
	deployments := fuzzDeployments(f)
	f.Fuzz(func(t *testing.T, input string) {
		for _, d := range deployments {
			base := url.Values{"client_id": {d.app.ID}, "client_secret": {d.app.Secret}}.Encode()
			r := d.send(t, nil, http.MethodPost, "/oauth/revoke", "", input+"&"+base)
			assertOAuthAnswer(t, d.name+" revoke", input, r)
		}
	})
}

// FuzzIntrospectionEndpoint: /oauth/introspect (RFC 7662) authenticated with
// HTTP Basic. Anything that is not an active token of the caller's
// organization is {"active":false}.
func FuzzIntrospectionEndpoint(f *testing.F) {
	addSeeds(f, []string{"token", "token_type_hint", "scope"},
		"token=x.%ff&token_type_hint=refresh_token", "token=x.%ff&token_type_hint=access_token",
		"token=a.b.%ff", "token=%ff.%ff.%ff", "token=x.%00&scope=%ff", "access_token=%ff",
	)
	deployments := fuzzDeployments(f)
	f.Fuzz(func(t *testing.T, input string) {
		for _, d := range deployments {
			r := d.send(t, nil, http.MethodPost, "/oauth/introspect", "", input, "Authorization", basicAuth(d.app.ID, d.app.Secret))
			assertOAuthAnswer(t, d.name+" introspect", input, r)
			if r.status == http.StatusOK {
				var in struct {
					Active *bool `json:"active"`
				}
				if err := json.Unmarshal(r.body, &in); err != nil || in.Active == nil {
					t.Fatalf("%s introspect: 200 for %q without \"active\": %s", d.name, input, r.body)
				}
			}
		}
	})
}

// FuzzAuthorizeQuery: /oauth/authorize from a signed-in browser, with the
// input in front of a valid query of a trusted application, or alone when it
// starts with "bare:" (a challenge id, an unknown client). Never a 5xx, and
// never a redirect anywhere but Puguh itself or the registered redirect URI.
func FuzzAuthorizeQuery(f *testing.F) {
	addSeeds(f, []string{"client_id", "redirect_uri", "response_type", "scope", "state", "nonce", "prompt", "max_age",
		"code_challenge", "code_challenge_method", "response_mode", "audience", "claims", "id_token_hint", "login_hint", "challenge"},
		"code_challenge=%ff&code_challenge_method=S256", "code_challenge="+strings.Repeat("a", 42)+"%ff&code_challenge_method=S256",
		"code_challenge="+strings.Repeat("%00", 43)+"&code_challenge_method=S256", "bare:challenge=%ff", "bare:challenge=x.%00",
		"bare:challenge="+strings.Repeat("%ff", 43), "bare:client_id=%ff&response_type=code", "bare:client_id=x%00&redirect_uri=%ff",
		"prompt=none&nonce=%00", "state=%ff%00",
	)
	deployments := fuzzDeployments(f)
	f.Fuzz(func(t *testing.T, input string) {
		for _, d := range deployments {
			query := input
			if q, bare := strings.CutPrefix(input, "bare:"); bare {
				query = q
			} else {
				query += "&" + codeQuery(d.app, "openid read:user", "nonce", "nonce-0123456789").Encode()
			}
			r := d.send(t, d.browser.client, http.MethodGet, "/oauth/authorize", query, "")
			if r.status >= 500 {
				t.Fatalf("%s authorize: %d for %q: %.500s", d.name, r.status, input, r.body)
			}
			if loc := r.header.Get("Location"); loc != "" && !safeRedirect(d, loc) {
				t.Fatalf("%s authorize: %q redirected to %q", d.name, input, loc)
			}
		}
	})
}

// safeRedirect reports whether loc stays on Puguh or goes to the
// application's registered redirect URI exactly (RFC 6749 §4.1.2.1).
func safeRedirect(d fuzzDeployment, loc string) bool {
	u, err := url.Parse(loc)
	if err != nil {
		return false
	}
	if u.Scheme == "" && u.Host == "" && strings.HasPrefix(u.Path, "/") && !strings.HasPrefix(u.Path, "//") {
		return true
	}
	self, _ := url.Parse(d.e.URL)
	if u.Scheme == self.Scheme && u.Host == self.Host && u.User == nil {
		return true
	}
	return u.Scheme+"://"+u.Host+u.Path == d.app.RedirectURI && u.User == nil
}
