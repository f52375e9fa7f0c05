package app_test

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gorilla/mux"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
	"github.com/arsaka/puguh/provider/oauth"
	"github.com/arsaka/puguh/storage/sqlstore/sqltest"
)

// BenchmarkRefreshToken measures the refresh_token grant at /oauth/token on
// each backend: read the refresh token, rotate it inside fosite's
// transaction, sign a new access token, store the new refresh token. Each
// iteration presents the token the previous one returned, as a client does.
// As in BenchmarkClientCredentialsToken, the endpoint is served without the
// per-IP rate limiter.
func BenchmarkRefreshToken(b *testing.B) {
	for _, backend := range sqltest.Backends() {
		b.Run(backend.Name, func(b *testing.B) {
			e := apptest.Start(b, apptest.Options{Backend: backend})
			user := e.NewUser()
			app := registerApp(b, e, user, appOptions{Trusted: true})
			code := codeFrom(b, e, app, newBrowser(b, e).authorize(codeQuery(app, "openid offline_access"), user))
			base := unlimitedEndpoints(b, e)
			refresh := benchToken(b, e, base, url.Values{"grant_type": {"authorization_code"}, "code": {code},
				"client_id": {app.ID}, "client_secret": {app.Secret}, "redirect_uri": {app.RedirectURI}})
			b.ResetTimer()
			for b.Loop() {
				refresh = benchToken(b, e, base, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh},
					"client_id": {app.ID}, "client_secret": {app.Secret}})
			}
		})
	}
}

// unlimitedEndpoints serves e's OAuth endpoints on a listener of their own,
// without the per-IP rate limiter, and returns its base URL.
func unlimitedEndpoints(b *testing.B, e *apptest.Env) string {
	b.Helper()
	r := mux.NewRouter()
	(&oauth.Endpoints{P: e.App.OAuthProvider(), Users: e.App.Store(), MaxBody: 1 << 20}).Mount(r)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: r}
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

// benchToken posts form to base's /oauth/token and returns the refresh token
// of the answer.
func benchToken(b *testing.B, e *apptest.Env, base string, form url.Values) string {
	b.Helper()
	resp, err := e.Client.Post(base+"/oauth/token", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		b.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("token: %d %s %v", resp.StatusCode, body, err)
	}
	var tok struct {
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal(body, &tok); err != nil || tok.RefreshToken == "" {
		b.Fatalf("no refresh token in %s", body)
	}
	return tok.RefreshToken
}
