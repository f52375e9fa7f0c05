package app_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

// badTokenBytes are codes and tokens whose signature part is not UTF-8 or
// holds NUL, percent-encoded as a client would send them. PostgreSQL refuses
// such text, which made every one of them a 500.
var badTokenBytes = map[string]string{
	"invalid byte":          "x.%ff",
	"invalid bytes":         "x.%ff%fe",
	"NUL":                   "x.%00",
	"NUL inside":            "x.abc%00def",
	"overlong NUL":          "x.%c0%80",
	"encoded surrogate":     "x.%ed%a0%80",
	"overlong, 12 KiB long": "x." + strings.Repeat("%c0%af", 4096),
}

const (
	invalidGrantCode = `{"error":"invalid_grant","error_description":"The provided authorization grant (e.g., authorization code, ` +
		`resource owner credentials) or refresh token is invalid, expired, revoked, does not match the redirection URI used ` +
		`in the authorization request, or was issued to another client."}`
	invalidGrantRefresh = `{"error":"invalid_grant","error_description":"The provided authorization grant (e.g., authorization code, ` +
		`resource owner credentials) or refresh token is invalid, expired, revoked, does not match the redirection URI used ` +
		`in the authorization request, or was issued to another client. The refresh token is malformed or not valid."}`
)

// TestOAuthTokensWithUnstorableBytes: such a code or refresh token is
// invalid_grant at /oauth/token (RFC 6749 §5.2), inactive at
// /oauth/introspect (RFC 7662 §2.2) and nothing to revoke at /oauth/revoke
// (RFC 7009 §2.2), and nothing fails on the way.
func TestOAuthTokensWithUnstorableBytes(t *testing.T) {
	apptest.ForEachDeployment(t, func(t *testing.T, e *apptest.Env) {
		app := registerApp(t, e, e.NewUser(), appOptions{Trusted: true})
		public := registerApp(t, e, e.NewUser(), appOptions{Public: true, Trusted: true})
		clientAuth := "&client_id=" + app.ID + "&client_secret=" + app.Secret
		type exchange struct {
			name, path, body string
			headers          []string
			wantStatus       int
			wantBody         string
		}
		var cases []exchange
		for name, tok := range badTokenBytes {
			cases = append(cases,
				exchange{"code " + name, "/oauth/token", "grant_type=authorization_code&code=" + tok +
					"&redirect_uri=" + url.QueryEscape(app.RedirectURI) + clientAuth, nil, 400, invalidGrantCode},
				exchange{"code with PKCE " + name, "/oauth/token", "grant_type=authorization_code&code=" + tok +
					"&redirect_uri=" + url.QueryEscape(public.RedirectURI) + "&client_id=" + public.ID +
					"&code_verifier=" + strings.Repeat("v", 43), nil, 400, invalidGrantCode},
				exchange{"refresh token " + name, "/oauth/token", "grant_type=refresh_token&refresh_token=" + tok + clientAuth,
					nil, 400, invalidGrantRefresh},
				exchange{"introspection " + name, "/oauth/introspect", "token=" + tok,
					[]string{"Authorization", basicAuth(app.ID, app.Secret)}, 200, `{"active":false}`},
				exchange{"introspection with a hint " + name, "/oauth/introspect", "token_type_hint=refresh_token&token=" + tok,
					[]string{"Authorization", basicAuth(app.ID, app.Secret)}, 200, `{"active":false}`},
				exchange{"revocation " + name, "/oauth/revoke", "token=" + tok + clientAuth, nil, 200, ``},
				exchange{"revocation as an access token " + name, "/oauth/revoke", "token_type_hint=access_token&token=" + tok + clientAuth,
					nil, 200, ``},
			)
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				r := e.Do(http.MethodPost, tc.path, tc.body, append([]string{"Content-Type", "application/x-www-form-urlencoded"}, tc.headers...)...)
				if r.Status != tc.wantStatus || strings.TrimSpace(string(r.Body)) != tc.wantBody {
					t.Fatalf("got %d %s\nwant %d %s", r.Status, r.Body, tc.wantStatus, tc.wantBody)
				}
				if r.Header.Get("Cache-Control") != "no-store" {
					t.Errorf("Cache-Control = %q, want no-store", r.Header.Get("Cache-Control"))
				}
			})
		}
		// Revocation answered 200 before too, but only after a failed query
		// it reported as temporarily_unavailable.
		for _, line := range strings.Split(e.Logs(), "\n") {
			if strings.Contains(line, `"level":"ERROR"`) {
				t.Errorf("the server logged an error: %s", line)
			}
		}
	})
}
