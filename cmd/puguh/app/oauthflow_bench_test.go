package app_test

import (
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gorilla/mux"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
	"github.com/arsaka/puguh/provider/oauth"
)

// BenchmarkClientCredentialsToken measures /oauth/token with client_credentials
// (client authentication, JWT signing, storage) on a loopback listener. The
// endpoint is served without the per-IP rate limiter, which would otherwise
// answer 429 after the first minute's budget: this measures the endpoint.
func BenchmarkClientCredentialsToken(b *testing.B) {
	e := apptest.Start(b, apptest.Options{})
	app := registerApp(b, e, e.NewUser(), appOptions{})
	r := mux.NewRouter()
	(&oauth.Endpoints{P: e.App.OAuthProvider(), Users: e.App.Store(), MaxBody: 1 << 20}).Mount(r)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: r}
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { _ = srv.Close() })
	base := "http://" + ln.Addr().String()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {app.ID}, "client_secret": {app.Secret}}.Encode()
	b.ResetTimer()
	for b.Loop() {
		resp, err := e.Client.Post(base+"/oauth/token", "application/x-www-form-urlencoded", strings.NewReader(form))
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("token: %d", resp.StatusCode)
		}
	}
}

// BenchmarkAuthorizationCodeExchange measures the whole code flow for a
// signed-in user: /oauth/authorize with an SSO session (trusted app, no
// consent page), then the code exchange at /oauth/token.
func BenchmarkAuthorizationCodeExchange(b *testing.B) {
	e := apptest.Start(b, apptest.Options{})
	user := e.NewUser()
	app := registerApp(b, e, user, appOptions{Trusted: true})
	br := newBrowser(b, e)
	codeFrom(b, e, app, br.authorize(codeQuery(app, "openid", "nonce", "nonce-0123456789"), user))
	authorize := "/oauth/authorize?" + codeQuery(app, "openid", "nonce", "nonce-0123456789").Encode()
	b.ResetTimer()
	for b.Loop() {
		code := codeFrom(b, e, app, br.get(authorize))
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {app.ID},
			"client_secret": {app.Secret}, "redirect_uri": {app.RedirectURI}}.Encode()
		resp, err := e.Client.Post(e.URL+"/oauth/token", "application/x-www-form-urlencoded", strings.NewReader(form))
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("token: %d", resp.StatusCode)
		}
	}
}
