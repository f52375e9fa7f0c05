package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	puguh "github.com/arsaka/puguh/sdk/go"
	"github.com/arsaka/puguh/sdk/go/internal/puguhtest"
	"github.com/arsaka/puguh/sdk/go/oauth"
)

func TestMain(m *testing.M) {
	code := m.Run()
	puguhtest.RemoveBinary()
	os.Exit(code)
}

const redirect = "http://127.0.0.1:9/callback"

type answer struct {
	status int
	www    string
	body   map[string]any
}

func get(t *testing.T, url, token string) answer {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	a := answer{status: res.StatusCode, www: res.Header.Get("WWW-Authenticate")}
	if err := json.Unmarshal(b, &a.body); err != nil {
		t.Fatalf("GET %s: %d %s", url, res.StatusCode, b)
	}
	return a
}

// TestResourceServer is the quick start of README.md, end to end against a
// real Puguh: the example accepts a token Puguh issued for it, refuses an ID
// token, a token for another audience and (on /account, through
// introspection) a token whose user signed out, and keeps accepting tokens
// across `puguh keys rotate --force`.
func TestResourceServer(t *testing.T) {
	ctx := context.Background()
	srv := puguhtest.StartT(t)
	owner := srv.NewUser(t, "rs-owner")
	srv.CLI(t, "orgs", "set-plan", owner.OrganizationID, "business")
	admin, err := puguh.NewClient(puguh.WithBaseURL(srv.BaseURL), puguh.WithAccessToken(owner.AccessToken, nil))
	if err != nil {
		t.Fatal(err)
	}
	newApp := func(name string) *puguh.Application {
		app, err := admin.Applications.Create(ctx, puguh.ApplicationFields{
			Name: name, RedirectURIs: []string{redirect}, Scopes: []string{"openid", "profile", "read:resources"},
			GrantTypes: []string{"authorization_code", "refresh_token", "client_credentials"},
		})
		if err != nil {
			t.Fatal(err)
		}
		return app
	}
	app := newApp("Reports API")
	other := newApp("Another API")

	// The service, as `go run .` would start it, on a loopback port.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() {
		served <- Serve(sctx, Config{Issuer: srv.BaseURL, Audience: app.ClientID,
			IntrospectionClientID: app.ClientID, IntrospectionClientSecret: app.ClientSecret}, ln)
	}()
	t.Cleanup(func() {
		stop()
		if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	base := "http://" + ln.Addr().String()
	for i := 0; i < 100; i++ {
		if res, err := http.Get(base + "/healthz"); err == nil {
			res.Body.Close()
			break
		}
		time.Sleep(50 * time.Millisecond)
	}

	// A user signs in to the application through the code flow.
	user := srv.NewUser(t, "rs-user")
	sso, err := oauth.New(ctx, oauth.Config{Issuer: srv.BaseURL, ClientID: app.ClientID, ClientSecret: app.ClientSecret, RedirectURL: redirect})
	if err != nil {
		t.Fatal(err)
	}
	req, err := sso.AuthorizationURL(oauth.AuthorizationParams{Scopes: []string{"openid", "profile", "read:resources"}})
	if err != nil {
		t.Fatal(err)
	}
	browser := puguhtest.NewBrowser(t, srv.BaseURL)
	tokens, err := sso.HandleCallback(ctx, browser.Authorize(t, req.URL, user, "allow").String(), *req)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("accepts a token Puguh issued for it", func(t *testing.T) {
		a := get(t, base+"/reports", tokens.AccessToken)
		if a.status != 200 || a.body["subject"] != user.UserID || a.body["client_id"] != app.ClientID {
			t.Fatalf("%+v", a)
		}
		if a := get(t, base+"/account", tokens.AccessToken); a.status != 200 {
			t.Fatalf("/account: %+v", a)
		}
	})

	refused := func(t *testing.T, path, token string) {
		t.Helper()
		a := get(t, base+path, token)
		if a.status != 401 || a.www != `Bearer realm="resource-server", error="invalid_token"` || a.body["detail"] != "Invalid or expired token" {
			t.Fatalf("%s: %+v", path, a)
		}
	}
	t.Run("refuses an ID token", func(t *testing.T) {
		refused(t, "/reports", tokens.IDToken)
	})
	t.Run("refuses a token for another audience", func(t *testing.T) {
		refused(t, "/reports", owner.AccessToken) // Puguh's REST API: <issuer>/api
		otherClient, err := oauth.New(ctx, oauth.Config{Issuer: srv.BaseURL, ClientID: other.ClientID, ClientSecret: other.ClientSecret})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := otherClient.ClientCredentials(ctx, "read:resources")
		if err != nil {
			t.Fatal(err)
		}
		refused(t, "/reports", tok.AccessToken)
	})
	t.Run("no token, and a token without the scope", func(t *testing.T) {
		a := get(t, base+"/reports", "")
		if a.status != 401 || a.www != `Bearer realm="resource-server"` || a.body["detail"] != "Not authenticated" {
			t.Fatalf("%+v", a)
		}
		tok, err := sso.ClientCredentials(ctx, "profile")
		if err != nil {
			t.Fatal(err)
		}
		a = get(t, base+"/reports", tok.AccessToken)
		if a.status != 403 || a.www != `Bearer realm="resource-server", error="insufficient_scope", scope="read:resources"` {
			t.Fatalf("%+v", a)
		}
	})
	t.Run("refuses a signed-out user's token on the introspected route", func(t *testing.T) {
		browser.SignOut(t)
		// Offline verification cannot know: the token verifies until it expires.
		if a := get(t, base+"/reports", tokens.AccessToken); a.status != 200 {
			t.Fatalf("/reports: %+v", a)
		}
		refused(t, "/account", tokens.AccessToken)
	})
	t.Run("keeps accepting tokens across puguh keys rotate --force", func(t *testing.T) {
		first, err := sso.ClientCredentials(ctx, "read:resources")
		if err != nil {
			t.Fatal(err)
		}
		oldKid := puguhtest.KeyID(t, first.AccessToken)
		rotated, newKids := false, 0
		// Bounded: at most 300 requests, about 15 s; each with a fresh token.
		for i := 0; i < 300 && newKids < 5; i++ {
			if i == 5 {
				srv.CLI(t, "keys", "rotate", "--force")
				rotated = true
			}
			tok, err := sso.ClientCredentials(ctx, "read:resources")
			if err != nil {
				t.Fatal(err)
			}
			if a := get(t, base+"/reports", tok.AccessToken); a.status != 200 {
				t.Fatalf("request %d (kid %s) refused: %+v", i, puguhtest.KeyID(t, tok.AccessToken), a)
			}
			if rotated && puguhtest.KeyID(t, tok.AccessToken) != oldKid {
				newKids++
			}
			time.Sleep(50 * time.Millisecond)
		}
		if newKids < 5 {
			t.Fatalf("Puguh never signed with the new key")
		}
		// The token signed before the rotation is still accepted here: the
		// service trusts its cached keys until their max-age (docs/keys.md).
		if a := get(t, base+"/reports", first.AccessToken); a.status != 200 {
			t.Fatalf("the pre-rotation token: %+v", a)
		}
	})
}
