package app_test

import (
	"net/http"
	"testing"

	"github.com/arsaka/puguh/app/apptest"
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
