package app_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
	"github.com/arsaka/puguh/storage/sqlstore"
)

// dbOutage is a running Puguh whose database a test can take away and
// bring back.
type dbOutage struct {
	env  *apptest.Env
	down func(t *testing.T)
	up   func(t *testing.T)
}

// sqliteOutage: another process holds SQLite's write lock, as a stuck writer
// would. Reads go on; every write waits out the busy timeout (10 s) and fails
// with SQLITE_BUSY.
func sqliteOutage(t *testing.T) dbOutage {
	e := apptest.Start(t, apptest.Options{})
	holder, err := sqlstore.Open(context.Background(), e.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { holder.Close() })
	var lock *sqlx.Tx
	return dbOutage{env: e,
		down: func(t *testing.T) {
			// BEGIN IMMEDIATE (sqlstore's _txlock): the write lock, at once.
			if lock, err = holder.DB().BeginTxx(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
		},
		up: func(t *testing.T) {
			if err := lock.Rollback(); err != nil {
				t.Fatal(err)
			}
		},
	}
}

// postgresOutage: kill -9 of a private PostgreSQL cluster, then a start on
// the same port.
func postgresOutage(t *testing.T) dbOutage {
	pg := newPGCluster(t)
	e := apptest.Start(t, apptest.Options{DatabaseURL: pg.url()})
	return dbOutage{env: e, down: pg.killNine, up: func(t *testing.T) {
		pg.start(t)
		waitFor(t, e.URL+"/api/v1/health", http.StatusOK, 15*time.Second)
	}}
}

// send is Env.Do for other goroutines: it reports errors instead of failing the test.
func send(e *apptest.Env, method, path, body string, headers ...string) (*apptest.Response, error) {
	req, err := http.NewRequest(method, e.URL+path, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := e.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return &apptest.Response{Status: resp.StatusCode, Header: resp.Header, Body: b}, err
}

const (
	formType = "application/x-www-form-urlencoded"
	// revokeUnavailable is RFC 6749's error body for /oauth/revoke when the
	// revocation could not be recorded (RFC 7009 §2.2.1).
	revokeUnavailable = `{"error":"temporarily_unavailable","error_description":"The authorization server is currently unable to handle the request due to a temporary overloading or maintenance of the server."}`
	restUnavailable   = `{"detail":"Service temporarily unavailable"}`
)

// With the database down, RFC 7009 revocation (of a refresh token, of an
// access token) and logout answer 503 with Retry-After, never a success that
// was not recorded; so do refreshes, never an invalid grant. When the database is back, nothing was half-done: the
// tokens still work, and the retries the 503s asked for revoke them. On
// SQLite (its write lock held elsewhere) and PostgreSQL (killed).
func TestRevocationWhileTheDatabaseIsDown(t *testing.T) {
	for _, tc := range []struct {
		name   string
		outage func(t *testing.T) dbOutage
	}{
		{"sqlite", sqliteOutage},
		{"postgres", postgresOutage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.outage(t)
			e := o.env
			user := e.NewUser() // a REST session, for logout
			app := registerApp(t, e, user, appOptions{Trusted: true})
			_, refresh := exchangeCode(t, e, app, user, "openid offline_access")
			access, _ := exchangeCode(t, e, app, user, "openid offline_access") // another grant
			_, third := exchangeCode(t, e, app, user, "openid offline_access")  // refreshed during the outage
			revoke := func(token string) string {
				return url.Values{"token": {token}, "client_id": {app.ID}, "client_secret": {app.Secret}}.Encode()
			}
			refreshThird := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {third},
				"client_id": {app.ID}, "client_secret": {app.Secret}}.Encode()
			requests := []struct {
				name, path, body string
				headers          []string
				status           int
				want             string
			}{
				{"RFC 7009, refresh token", "/oauth/revoke", revoke(refresh), []string{"Content-Type", formType},
					http.StatusServiceUnavailable, revokeUnavailable},
				{"RFC 7009, access token", "/oauth/revoke", revoke(access), []string{"Content-Type", formType},
					http.StatusServiceUnavailable, revokeUnavailable},
				{"logout", "/api/v1/auth/logout", "", user.Bearer(), http.StatusServiceUnavailable, restUnavailable},
				// A refresh is temporarily refused, never an invalid grant:
				// the client keeps its refresh token and retries.
				{"refresh_token grant", "/oauth/token", refreshThird, []string{"Content-Type", formType},
					http.StatusServiceUnavailable, revokeUnavailable},
				{"REST refresh", "/api/v1/auth/refresh", `{"refresh_token":"` + user.RefreshToken + `"}`, []string{"Content-Type", "application/json"},
					http.StatusServiceUnavailable, restUnavailable},
			}

			// The membership cache (5 s) lets the logout through the Bearer
			// check with the database down, to fail where it records.
			wantMe(t, e, user, http.StatusOK, "before the outage")
			o.down(t)
			got := make([]*apptest.Response, len(requests))
			errs := make([]error, len(requests))
			var wg sync.WaitGroup
			for i, r := range requests {
				wg.Add(1)
				go func() {
					defer wg.Done()
					got[i], errs[i] = send(e, http.MethodPost, r.path, r.body, r.headers...)
				}()
			}
			wg.Wait()
			o.up(t)
			for i, r := range requests {
				if errs[i] != nil {
					t.Fatalf("%s: %v", r.name, errs[i])
				}
				if got[i].Status != r.status || string(got[i].Body) != r.want || got[i].Header.Get("Retry-After") != "5" {
					t.Errorf("%s with the database down: %d %s (Retry-After %q), want %d %s (Retry-After 5)",
						r.name, got[i].Status, got[i].Body, got[i].Header.Get("Retry-After"), r.status, r.want)
				}
			}
			if t.Failed() {
				t.FailNow()
			}

			// Nothing was revoked, and nothing half-revoked: every token works.
			refreshed := e.Do(http.MethodPost, "/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh},
				"client_id": {app.ID}, "client_secret": {app.Secret}}.Encode(), "Content-Type", formType)
			if refreshed.Status != http.StatusOK {
				t.Fatalf("the refresh token after a failed revocation: %d %s, want 200", refreshed.Status, refreshed.Body)
			}
			var pair struct {
				AccessToken  string `json:"access_token"`
				RefreshToken string `json:"refresh_token"`
			}
			refreshed.JSON(t, &pair)
			if got := userinfoStatus(e, access); got != http.StatusOK {
				t.Fatalf("the access token after a failed revocation: userinfo %d, want 200", got)
			}
			if r := e.Do(http.MethodPost, "/oauth/token", refreshThird, "Content-Type", formType); r.Status != http.StatusOK {
				t.Fatalf("the refresh token refused during the outage, retried: %d %s, want 200", r.Status, r.Body)
			}
			wantMe(t, e, user, http.StatusOK, "the REST token after a failed logout")

			// The retries do it all.
			for _, tok := range []string{pair.RefreshToken, access} {
				if r := e.Do(http.MethodPost, "/oauth/revoke", revoke(tok), "Content-Type", formType); r.Status != http.StatusOK {
					t.Fatalf("revocation retried: %d %s", r.Status, r.Body)
				}
			}
			for _, tok := range []string{pair.RefreshToken, access} {
				if active, body := introspect(t, e, app, tok); active {
					t.Fatalf("revoked, still active: %s", body)
				}
			}
			if got := userinfoStatus(e, pair.AccessToken); got != http.StatusUnauthorized {
				t.Fatalf("an access token of the revoked refresh token's family: userinfo %d, want 401", got)
			}
			if r := e.Do(http.MethodPost, "/api/v1/auth/logout", nil, user.Bearer()...); r.Status != http.StatusNoContent {
				t.Fatalf("logout retried: %d %s", r.Status, r.Body)
			}
			wantMe(t, e, user, http.StatusUnauthorized, "after the logout")
			if r := e.Do(http.MethodPost, "/api/v1/auth/refresh", map[string]string{"refresh_token": user.RefreshToken}); r.Status != http.StatusUnauthorized {
				t.Fatalf("the logged-out session's refresh token: %d %s, want 401", r.Status, r.Body)
			}
		})
	}
}
