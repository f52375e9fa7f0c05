package rest_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
	"github.com/arsaka/puguh/storage/sqlstore/sqltest"
)

// testGrace is the refresh grace period of these tests: long enough for 20
// concurrent refreshes under -race on a small machine, short enough to wait out.
const testGrace = 3 * time.Second

var graceEnv = apptest.Options{Env: map[string]string{"PUGUH_REFRESH_GRACE_PERIOD": testGrace.String()}}

// post sends a JSON body without touching t, for use from other goroutines.
func post(e *apptest.Env, path, body string) (*apptest.Response, error) {
	req, err := http.NewRequest(http.MethodPost, e.URL+path, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return &apptest.Response{Status: resp.StatusCode, Header: resp.Header, Body: b}, err
}

func refreshBody(rt string) string {
	b, _ := json.Marshal(map[string]string{"refresh_token": rt})
	return string(b)
}

// replayUntilRevoked replays a used refresh token until the grace period is
// over and the replay is refused (which revokes the family). Replays inside
// the grace period still succeed; their pairs are returned, as members of the
// family that the final replay must end too.
func replayUntilRevoked(t *testing.T, e *apptest.Env, rt string) []tokenPair {
	t.Helper()
	var minted []tokenPair
	eventually(t, testGrace+15*time.Second, 200*time.Millisecond, "replay refused after the grace period", func() bool {
		r := refresh(e, rt)
		if r.Status == http.StatusOK {
			minted = append(minted, pairOf(t, r))
			return false
		}
		want(t, r, http.StatusUnauthorized, bodyBadRefresh)
		return true
	})
	return minted
}

// TestRefresh checks rotation, the grace period, reuse detection revoking the
// whole family with its access tokens, the 20-refresh race and logout
// (docs/security.md, "Token endpoint" and "Reliability under failure"), on
// SQLite and PostgreSQL.
func TestRefresh(t *testing.T) {
	forEachBackend(t, graceEnv, func(t *testing.T, e *apptest.Env) {
		t.Run("rotation, grace, replay revokes family", func(t *testing.T) {
			t.Parallel()
			e := at(t, e)
			u := e.NewUser()
			roomy(t, e, u.OrganizationID)
			p0 := tokenPair{AccessToken: u.AccessToken, RefreshToken: u.RefreshToken}
			p1 := pairOf(t, refresh(e, p0.RefreshToken))
			p2 := pairOf(t, refresh(e, p1.RefreshToken))
			// A repeat of p1's refresh token inside the grace period: a second
			// tab. It gets a working pair of the same family.
			p1b := pairOf(t, refresh(e, p1.RefreshToken))
			family := []tokenPair{p0, p1, p2, p1b}
			sid := claims(t, p0.AccessToken)["sid"]
			seen := map[string]bool{}
			for i, p := range family {
				c := claims(t, p.AccessToken)
				if c["sid"] != sid || c["sub"] != u.ID {
					t.Fatalf("pair %d: sid %v sub %v, want %v %s", i, c["sid"], c["sub"], sid, u.ID)
				}
				for _, s := range []string{p.RefreshToken, p.AccessToken, c["jti"].(string)} {
					if seen[s] {
						t.Fatalf("pair %d repeats a token or jti", i)
					}
					seen[s] = true
				}
				if r := me(e, p.AccessToken); r.Status != http.StatusOK {
					t.Fatalf("pair %d access token: %d %s", i, r.Status, r.Body)
				}
			}
			// Another session of the same user: a family of its own.
			other := pairOf(t, e.Do(http.MethodPost, "/api/v1/auth/login", map[string]string{"email": u.Email, "password": u.Password}))

			family = append(family, replayUntilRevoked(t, e, p0.RefreshToken)...)
			for i, p := range family {
				if r := me(e, p.AccessToken); r.Status != http.StatusUnauthorized { // at once: no polling
					t.Fatalf("pair %d of %d (sid %v) still works after the family was revoked", i, len(family), claims(t, p.AccessToken)["sid"])
				}
				want401(t, me(e, p.AccessToken))
				r := refresh(e, p.RefreshToken)
				want(t, r, http.StatusUnauthorized, bodyBadRefresh)
				if r.Header.Get("WWW-Authenticate") == "" {
					t.Fatalf("pair %d: refused refresh without WWW-Authenticate", i)
				}
			}
			if r := me(e, other.AccessToken); r.Status != http.StatusOK {
				t.Fatalf("the other session was revoked too: %d %s", r.Status, r.Body)
			}
			pairOf(t, refresh(e, other.RefreshToken))
		})

		t.Run("20 concurrent refreshes", func(t *testing.T) {
			t.Parallel()
			e := at(t, e)
			u := e.NewUser()
			roomy(t, e, u.OrganizationID)
			sid := claims(t, u.AccessToken)["sid"]
			const n = 20
			results := make([]*apptest.Response, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			startGun := make(chan struct{})
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-startGun
					results[i], errs[i] = post(e, "/api/v1/auth/refresh", refreshBody(u.RefreshToken))
				}()
			}
			close(startGun)
			wg.Wait()
			var pairs []tokenPair
			refreshTokens := map[string]bool{}
			for i, r := range results {
				if errs[i] != nil {
					t.Fatalf("refresh %d: %v", i, errs[i])
				}
				p := pairOf(t, r) // 200, every one of them
				if got := claims(t, p.AccessToken)["sid"]; got != sid {
					t.Fatalf("refresh %d: sid %v, want the family %v", i, got, sid)
				}
				refreshTokens[p.RefreshToken] = true
				pairs = append(pairs, p)
			}
			if len(refreshTokens) != n {
				t.Fatalf("%d distinct refresh tokens from %d refreshes", len(refreshTokens), n)
			}
			for i, p := range pairs {
				if r := me(e, p.AccessToken); r.Status != http.StatusOK {
					t.Fatalf("pair %d: %d %s", i, r.Status, r.Body)
				}
			}
			pairs = append(pairs, replayUntilRevoked(t, e, u.RefreshToken)...)
			for _, p := range pairs {
				want401(t, me(e, p.AccessToken))
				want(t, refresh(e, p.RefreshToken), http.StatusUnauthorized, bodyBadRefresh)
			}
		})

		t.Run("refusals", func(t *testing.T) {
			t.Parallel()
			e := at(t, e)
			u := e.NewUser()
			for _, tc := range []struct{ name, body, status, want string }{
				{"unknown token", refreshBody("ory_rt_" + strings.Repeat("A", 43) + "." + strings.Repeat("B", 43)), "401", bodyBadRefresh},
				{"garbage", refreshBody("dGhpcyBpcyBhIHJlZnJl..."), "401", bodyBadRefresh},
				{"access token as refresh token", refreshBody(u.AccessToken), "401", bodyBadRefresh},
				{"empty", refreshBody(""), "422", invalid("field required", "value_error.missing", "body", "refresh_token")},
				{"missing", `{}`, "422", invalid("field required", "value_error.missing", "body", "refresh_token")},
				{"malformed", `{"refresh_token":`, "422", bodyJSONDecode},
			} {
				r := e.Do(http.MethodPost, "/api/v1/auth/refresh", tc.body)
				status := map[string]int{"401": 401, "422": 422}[tc.status]
				t.Run(tc.name, func(t *testing.T) { want(t, r, status, tc.want) })
			}
			r := e.Do(http.MethodPost, "/api/v1/auth/refresh", refreshBody(u.RefreshToken), "Content-Type", "text/plain")
			want(t, r, http.StatusUnsupportedMediaType, body415)
			// None of the refusals cost the real session anything.
			pairOf(t, refresh(e, u.RefreshToken))
		})

		t.Run("logout ends the session", func(t *testing.T) {
			t.Parallel()
			e := at(t, e)
			u := e.NewUser()
			roomy(t, e, u.OrganizationID)
			p0 := tokenPair{AccessToken: u.AccessToken, RefreshToken: u.RefreshToken}
			p1 := pairOf(t, refresh(e, p0.RefreshToken))
			other := pairOf(t, e.Do(http.MethodPost, "/api/v1/auth/login", map[string]string{"email": u.Email, "password": u.Password}))

			want(t, e.Do(http.MethodPost, "/api/v1/auth/logout", nil, bearer(p1.AccessToken)...), http.StatusNoContent, "")
			want401(t, me(e, p1.AccessToken))
			want401(t, me(e, p0.AccessToken)) // refreshed earlier from the same family
			want(t, refresh(e, p1.RefreshToken), http.StatusUnauthorized, bodyBadRefresh)
			// p0's refresh token is used but inside the grace period: the family's
			// revocation still ends it.
			want(t, refresh(e, p0.RefreshToken), http.StatusUnauthorized, bodyBadRefresh)
			want401(t, e.Do(http.MethodPost, "/api/v1/auth/logout", nil, bearer(p1.AccessToken)...))

			// Logging out one session leaves the user's other sessions alone.
			if r := me(e, other.AccessToken); r.Status != http.StatusOK {
				t.Fatalf("other session: %d %s", r.Status, r.Body)
			}
			next := pairOf(t, refresh(e, other.RefreshToken))
			want(t, e.Do(http.MethodPost, "/api/v1/auth/logout", nil, bearer(next.AccessToken)...), http.StatusNoContent, "")
			want401(t, me(e, other.AccessToken))
			want401(t, me(e, next.AccessToken))
		})
	})
}

// TestLogoutAcrossReplicas: two Puguh instances on one database and one
// Redis; a logout on A makes the token 401 on B within a bounded wait.
func TestLogoutAcrossReplicas(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			var ns [6]byte
			_, _ = rand.Read(ns[:])
			opts := apptest.Options{Backend: b, Redis: true,
				Env: map[string]string{"PUGUH_REDIS_NAMESPACE": "test-" + hex.EncodeToString(ns[:]) + ":"}}
			ra := start(t, opts)
			// Replicas share the database and the issuer (PUGUH_ISSUER).
			opts.DatabaseURL = ra.DatabaseURL
			opts.Env["PUGUH_ISSUER"] = ra.URL
			rb := start(t, opts)

			u := ra.NewUser()
			p1 := pairOf(t, refresh(rb, u.RefreshToken)) // B refreshes A's session
			for _, tok := range []string{u.AccessToken, p1.AccessToken} {
				if r := me(rb, tok); r.Status != http.StatusOK {
					t.Fatalf("B before logout: %d %s", r.Status, r.Body)
				}
			}
			want(t, ra.Do(http.MethodPost, "/api/v1/auth/logout", nil, bearer(u.AccessToken)...), http.StatusNoContent, "")
			want401(t, me(ra, u.AccessToken))
			for _, tok := range []string{u.AccessToken, p1.AccessToken} {
				eventually(t, 3*time.Second, 10*time.Millisecond, "B denies the logged-out session", func() bool {
					return me(rb, tok).Status == http.StatusUnauthorized
				})
				want401(t, me(rb, tok))
			}
			want(t, refresh(rb, p1.RefreshToken), http.StatusUnauthorized, bodyBadRefresh)
		})
	}
}

// TestRefreshTokensAreRandomAndStoredHashed is docs/security.md, "Tokens and keys" for
// refresh tokens and access-token ids: unique, at least 128 bits from the
// CSPRNG, and the database holds only signatures.
func TestRefreshTokensAreRandomAndStoredHashed(t *testing.T) {
	forEachBackend(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		u := e.NewUser()
		roomy(t, e, u.OrganizationID)
		rts := []string{u.RefreshToken}
		jtis := map[string]bool{claims(t, u.AccessToken)["jti"].(string): true}
		for range 20 {
			p := pairOf(t, refresh(e, rts[len(rts)-1]))
			rts = append(rts, p.RefreshToken)
			jti := wantUUID(t, "jti", claims(t, p.AccessToken)["jti"])
			if jtis[jti] {
				t.Fatalf("jti %s repeated", jti)
			}
			jtis[jti] = true
		}
		randomParts := map[string]bool{}
		for _, rt := range rts {
			key, sig, ok := strings.Cut(strings.TrimPrefix(rt, "ory_rt_"), ".")
			raw, err := base64.RawURLEncoding.DecodeString(key)
			if !ok || err != nil || len(raw) < 16 || sig == "" {
				t.Fatalf("refresh token %.12s…: want <random ≥128 bits>.<signature>", rt)
			}
			if randomParts[key] || bytes.Count(raw, raw[:1]) == len(raw) {
				t.Fatal("refresh token randomness repeats")
			}
			randomParts[key] = true
		}
		var stored []string
		db := e.App.Store().DB()
		if err := db.Select(&stored, "SELECT signature FROM oauth_refresh_tokens"); err != nil {
			t.Fatal(err)
		}
		if len(stored) < len(rts) {
			t.Fatalf("%d stored refresh tokens, want at least %d", len(stored), len(rts))
		}
		for _, s := range stored {
			for _, rt := range rts {
				key, _, _ := strings.Cut(strings.TrimPrefix(rt, "ory_rt_"), ".")
				if strings.Contains(s, key) || s == rt {
					t.Fatal("the database holds a raw refresh token")
				}
			}
		}
	})
}
