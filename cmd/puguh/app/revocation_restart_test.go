package app_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
	"github.com/arsaka/puguh/storage/sqlstore/sqltest"
)

// A logged-out access token stays refused after a restart without Redis: the
// denylist is kept in the database and loaded before serving. Another user's
// token, issued before the restart and not revoked, still works, so the 401
// is the denylist's and not a new issuer's or key's. On SQLite and PostgreSQL.
func TestLogoutSurvivesRestart(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, e *apptest.Env) {
		out, kept := e.NewUser(), e.NewUser()
		if r := e.Do(http.MethodPost, "/api/v1/auth/logout", nil, out.Bearer()...); r.Status != http.StatusNoContent {
			t.Fatalf("logout: %d %s", r.Status, r.Body)
		}
		if r := e.Do(http.MethodGet, "/api/v1/iam/users/me", nil, out.Bearer()...); r.Status != http.StatusUnauthorized {
			t.Fatalf("before the restart, logged-out token: %d %s, want 401", r.Status, r.Body)
		}

		e.Restart()

		if r := e.Do(http.MethodGet, "/api/v1/iam/users/me", nil, kept.Bearer()...); r.Status != http.StatusOK {
			t.Fatalf("after the restart, a live token: %d %s, want 200", r.Status, r.Body)
		}
		if r := e.Do(http.MethodGet, "/api/v1/iam/users/me", nil, out.Bearer()...); r.Status != http.StatusUnauthorized {
			t.Errorf("after the restart, logged-out token: %d %s, want 401", r.Status, r.Body)
		}
	})
}

// Reuse of a refresh token revokes its family inside fosite's transaction,
// and the family's denial is written in that same transaction (on SQLite a
// write on another connection would wait for it): the family's access tokens
// are refused at once, and still after a restart. On SQLite and PostgreSQL.
func TestRefreshReuseSurvivesRestart(t *testing.T) {
	const badRefresh = `{"detail":"Invalid or expired refresh token"}`
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := apptest.Start(t, apptest.Options{Backend: b, Env: map[string]string{"PUGUH_REFRESH_GRACE_PERIOD": "200ms"}})
			refresh := func(token string) *apptest.Response {
				return e.Do(http.MethodPost, "/api/v1/auth/refresh", map[string]string{"refresh_token": token})
			}
			u, kept := e.NewUser(), e.NewUser()
			r := refresh(u.RefreshToken)
			if r.Status != http.StatusOK {
				t.Fatalf("refresh: %d %s", r.Status, r.Body)
			}
			var pair struct {
				AccessToken  string `json:"access_token"`
				RefreshToken string `json:"refresh_token"`
			}
			r.JSON(t, &pair)
			rotated := &apptest.User{AccessToken: pair.AccessToken, RefreshToken: pair.RefreshToken}

			// Replay the first refresh token until the grace period is over:
			// then it is refused, and its family revoked.
			deadline := time.Now().Add(10 * time.Second)
			for {
				r := refresh(u.RefreshToken)
				if r.Status == http.StatusUnauthorized && string(r.Body) == badRefresh {
					break
				}
				if r.Status != http.StatusOK || time.Now().After(deadline) {
					t.Fatalf("replayed refresh token: %d %s", r.Status, r.Body)
				}
				time.Sleep(50 * time.Millisecond)
			}
			wantMe(t, e, rotated, http.StatusUnauthorized, "the family's latest access token after the replay")

			e.Restart()

			wantMe(t, e, kept, http.StatusOK, "after the restart, another session")
			wantMe(t, e, rotated, http.StatusUnauthorized, "after the restart, the revoked family's access token")
			if r := refresh(rotated.RefreshToken); r.Status != http.StatusUnauthorized || string(r.Body) != badRefresh {
				t.Fatalf("after the restart, the revoked family's refresh token: %d %s", r.Status, r.Body)
			}
		})
	}
}
