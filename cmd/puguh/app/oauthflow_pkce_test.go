package app_test

import (
	"html"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

// TestAuthorizeRefusesMalformedCodeChallenge: a code_challenge must be an
// S256 challenge, BASE64URL(SHA256(verifier)) (RFC 7636 §4.2), sent with
// code_challenge_method=S256, from public and confidential clients alike. It
// is refused with invalid_request before the sign-in page is shown.
func TestAuthorizeRefusesMalformedCodeChallenge(t *testing.T) {
	apptest.ForEachDeployment(t, func(t *testing.T, e *apptest.Env) {
		user := e.NewUser()
		clients := map[string]*testApp{
			"public":       registerApp(t, e, user, appOptions{Public: true}),
			"confidential": registerApp(t, e, user, appOptions{}),
		}
		const invalidRequest = "The request is missing a required parameter, includes an invalid parameter value, " +
			"includes a parameter more than once, or is otherwise malformed. "
		const badChallenge = invalidRequest + "code_challenge must be the S256 challenge of the code verifier: " +
			"43 characters of base64url without padding (RFC 7636 §4.2)."
		valid := oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())
		cases := []struct {
			name, challenge, method string
			// error_description for each kind of client; "" for the sign-in page
			public, confidential string
		}{
			{"valid", valid, "S256", "", ""},
			{"42 characters", valid[:42], "S256", badChallenge, badChallenge},
			{"44 characters", valid + "A", "S256", badChallenge, badChallenge},
			{"padded", valid[:42] + "=", "S256", badChallenge, badChallenge},
			{"standard base64 alphabet", "+/" + valid[2:], "S256", badChallenge, badChallenge},
			{"space", valid[:21] + " " + valid[22:], "S256", badChallenge, badChallenge},
			{"invalid UTF-8", "\xff" + valid[1:], "S256", badChallenge, badChallenge},
			{"NUL", valid[:42] + "\x00", "S256", badChallenge, badChallenge},
			{"non-ASCII", "é" + valid[2:], "S256", badChallenge, badChallenge},
			{"stray bits in the last character", valid[:42] + "B", "S256", badChallenge, badChallenge},
			{"a verifier, 128 characters", strings.Repeat("a", 128), "S256", badChallenge, badChallenge},
			{"valid without a method", valid, "",
				invalidRequest + "Public clients must send a PKCE code_challenge with code_challenge_method=S256.",
				invalidRequest + "A code_challenge must come with code_challenge_method=S256."},
		}
		for _, tc := range cases {
			for kind, want := range map[string]string{"public": tc.public, "confidential": tc.confidential} {
				t.Run(tc.name+"/"+kind, func(t *testing.T) {
					app := clients[kind]
					q := codeQuery(app, "read:user", "code_challenge", tc.challenge, "code_challenge_method", tc.method)
					p := newBrowser(t, e).get("/oauth/authorize?" + q.Encode())
					if want == "" {
						if p.Status != http.StatusSeeOther || p.Location == nil || p.Location.Path != "/login" {
							t.Fatalf("want the sign-in page, got %d %v %.300s", p.Status, p.Location, p.Body)
						}
						return
					}
					assertAuthorizeRefused(t, e, app, p, want)
				})
			}
		}
	})
}

// assertAuthorizeRefused fails unless p refuses the authorization request
// with invalid_request and exactly this description on the 400 error page,
// before any page of the flow, without a code and without redirecting: an
// invalid request never goes back to the client (docs/oauth.md, "What still
// redirects").
func assertAuthorizeRefused(t *testing.T, e *apptest.Env, app *testApp, p *page, description string) {
	t.Helper()
	if p.Status != http.StatusBadRequest || p.Location != nil || p.Header.Get("Location") != "" {
		t.Fatalf("want the 400 error page for invalid_request, got %d %v %.300s", p.Status, p.Location, p.Body)
	}
	for _, want := range []string{"<title>Authorization failed", `<code id="error-code">invalid_request</code>`,
		`<dd id="error-description">` + html.EscapeString(description) + `</dd>`} {
		if !strings.Contains(p.Body, want) {
			t.Fatalf("error page lacks %q:\n%s", want, p.Body)
		}
	}
	assertPageHeaders(t, p)
}
