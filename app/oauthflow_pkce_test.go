package app_test

import (
	"net/http"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/arsaka/puguh/app/apptest"
)

// TestAuthorizeRefusesMalformedCodeChallenge: a code_challenge must be an
// S256 challenge, BASE64URL(SHA256(verifier)) (RFC 7636 §4.2), sent with
// code_challenge_method=S256, from public and confidential clients alike. It
// is refused before the sign-in page is shown, back to the client with
// invalid_request, state and iss.
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
			want                    string // error_description; "" for the sign-in page
		}{
			{"valid", valid, "S256", ""},
			{"42 characters", valid[:42], "S256", badChallenge},
			{"44 characters", valid + "A", "S256", badChallenge},
			{"padded", valid[:42] + "=", "S256", badChallenge},
			{"standard base64 alphabet", "+/" + valid[2:], "S256", badChallenge},
			{"space", valid[:21] + " " + valid[22:], "S256", badChallenge},
			{"invalid UTF-8", "\xff" + valid[1:], "S256", badChallenge},
			{"NUL", valid[:42] + "\x00", "S256", badChallenge},
			{"non-ASCII", "é" + valid[2:], "S256", badChallenge},
			{"stray bits in the last character", valid[:42] + "B", "S256", badChallenge},
			{"a verifier, 128 characters", strings.Repeat("a", 128), "S256", badChallenge},
			{"valid without a method", valid, "", "public:" + invalidRequest +
				"Public clients must send a PKCE code_challenge with code_challenge_method=S256.|confidential:" + invalidRequest +
				"A code_challenge must come with code_challenge_method=S256."},
		}
		for _, tc := range cases {
			for _, kind := range []string{"public", "confidential"} {
				t.Run(tc.name+"/"+kind, func(t *testing.T) {
					app := clients[kind]
					want := tc.want
					if strings.HasPrefix(want, "public:") {
						pub, conf, _ := strings.Cut(strings.TrimPrefix(want, "public:"), "|confidential:")
						want = map[string]string{"public": pub, "confidential": conf}[kind]
					}
					q := codeQuery(app, "read:user", "code_challenge", tc.challenge, "code_challenge_method", tc.method)
					p := newBrowser(t, e).get("/oauth/authorize?" + q.Encode())
					if want == "" {
						if p.Status != http.StatusSeeOther || p.Location == nil || p.Location.Path != "/login" {
							t.Fatalf("want the sign-in page, got %d %v %.300s", p.Status, p.Location, p.Body)
						}
						return
					}
					if p.Status != http.StatusSeeOther || p.Location == nil || !strings.HasPrefix(p.Location.String(), app.RedirectURI+"?") {
						t.Fatalf("want 303 to the client, got %d %v %.300s", p.Status, p.Location, p.Body)
					}
					got := p.Location.Query()
					if got.Get("error") != "invalid_request" || got.Get("error_description") != want ||
						got.Get("state") != "state-0123456789" || got.Get("iss") != e.URL || got.Has("code") {
						t.Fatalf("error response %v\nwant error=invalid_request, error_description=%q, state and iss", got, want)
					}
				})
			}
		}
	})
}
