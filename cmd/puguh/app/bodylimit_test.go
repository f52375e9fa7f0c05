package app_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

const (
	defaultMaxBody = 1 << 20 // PUGUH_MAX_BODY_BYTES's default
	bodyTooLarge   = `{"error":"invalid_request","error_description":"The request body is larger than 1048576 bytes."}`
)

// oauthBodyEndpoints are the OAuth endpoints that answer in JSON (RFC 6749
// §5.2); pageBodyEndpoints answer with the error page.
var (
	oauthBodyEndpoints = []string{"/oauth/token", "/oauth/revoke", "/oauth/introspect", "/oauth/userinfo"}
	pageBodyEndpoints  = []string{"/oauth/authorize", "/oauth/logout", "/login", "/consent", "/logout", "/signup",
		"/account/profile", "/account/password", "/account/organization", "/account/sessions/end", "/account/api-keys",
		"/account/api-keys/x/revoke", "/account/members", "/account/members/x/role", "/account/members/x/remove",
		"/account/applications", "/account/applications/x", "/account/applications/x/secret", "/account/email"}
)

// TestLargeBodiesAre413: every endpoint that reads a form answers a body
// over PUGUH_MAX_BODY_BYTES with 413, as the REST API does: the OAuth
// endpoints with invalid_request, the pages with the error page. net/http's
// form parser used to read up to 10 MB and fosite answered its error with 400.
func TestLargeBodiesAre413(t *testing.T) {
	apptest.ForEachDeployment(t, func(t *testing.T, e *apptest.Env) {
		tenMB := "a=" + strings.Repeat("b", 10<<20)
		oneOver := "a=" + strings.Repeat("b", defaultMaxBody-1)
		for _, path := range oauthBodyEndpoints {
			for name, body := range map[string]string{"10 MB": tenMB, "one byte over": oneOver} {
				for _, chunked := range []bool{false, true} {
					t.Run(path+"/"+name+chunkedName(chunked), func(t *testing.T) {
						r := postRawForm(t, e, path, body, chunked)
						if r.Status != http.StatusRequestEntityTooLarge || string(r.Body) != bodyTooLarge {
							t.Fatalf("got %d %.300s, want 413 %s", r.Status, r.Body, bodyTooLarge)
						}
						for k, v := range map[string]string{"Content-Type": "application/json;charset=UTF-8", "Cache-Control": "no-store"} {
							if got := r.Header.Get(k); got != v {
								t.Errorf("%s = %q, want %q", k, got, v)
							}
						}
					})
				}
			}
		}
		for _, path := range pageBodyEndpoints {
			for name, body := range map[string]string{"10 MB": tenMB, "one byte over": oneOver} {
				t.Run(path+"/"+name, func(t *testing.T) {
					r := postRawForm(t, e, path, body, false)
					assertTooLargePage(t, r)
				})
			}
		}
		t.Run("a form over 64 KiB is 413 too", func(t *testing.T) {
			assertTooLargePage(t, postRawForm(t, e, "/login", "a="+strings.Repeat("b", 64<<10), false))
		})
		t.Run("a body of exactly the limit reaches fosite", func(t *testing.T) {
			body := "grant_type=x&pad=" + strings.Repeat("b", defaultMaxBody-len("grant_type=x&pad="))
			r := postRawForm(t, e, "/oauth/token", body, true)
			const want = `{"error":"unsupported_grant_type","error_description":"The authorization grant type is not supported ` +
				`by the authorization server. Puguh does not support grant_type 'x'."}`
			if r.Status != http.StatusBadRequest || string(r.Body) != want {
				t.Fatalf("got %d %.300s, want 400 %s", r.Status, r.Body, want)
			}
		})
	})
}

func chunkedName(chunked bool) string {
	if chunked {
		return ", chunked"
	}
	return ""
}

// postRawForm posts body as a form, with Content-Length or chunked.
func postRawForm(t *testing.T, e *apptest.Env, path, body string, chunked bool) *apptest.Response {
	t.Helper()
	var rd io.Reader = strings.NewReader(body)
	if chunked {
		rd = io.MultiReader(rd) // hides the length: Transfer-Encoding: chunked
	}
	req, err := http.NewRequest(http.MethodPost, e.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", e.URL)
	resp, err := e.Client.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &apptest.Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

func assertTooLargePage(t *testing.T, r *apptest.Response) {
	t.Helper()
	if r.Status != http.StatusRequestEntityTooLarge || !strings.Contains(string(r.Body), "<title>Request too large") ||
		!strings.Contains(string(r.Body), "What your browser sent is larger than Puguh accepts.") {
		t.Fatalf("got %d %.500s, want the 413 error page", r.Status, r.Body)
	}
	assertPageHeaders(t, &page{Status: r.Status, Header: r.Header, Body: string(r.Body)})
}
