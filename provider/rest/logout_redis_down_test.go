package rest_test

import (
	"net/http"
	"testing"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

// With Redis unreachable, logout still ends the session: the token is denied
// on this replica and the refresh family is revoked in the database; only
// the announcement to other replicas fails, and that is logged, not a 500.
func TestLogoutWithRedisDown(t *testing.T) {
	e := apptest.Start(t, apptest.Options{Env: map[string]string{"PUGUH_REDIS_URL": "redis://127.0.0.1:1/0"}})
	u := e.NewUser()
	if r := e.Do(http.MethodPost, "/api/v1/auth/logout", nil, u.Bearer()...); r.Status != http.StatusNoContent {
		t.Fatalf("logout with Redis down: %d %s", r.Status, r.Body)
	}
	if r := e.Do(http.MethodGet, "/api/v1/iam/users/me", nil, u.Bearer()...); r.Status != http.StatusUnauthorized {
		t.Fatalf("token after logout: %d %s", r.Status, r.Body)
	}
	r := e.Do(http.MethodPost, "/api/v1/auth/refresh", map[string]string{"refresh_token": u.RefreshToken})
	if r.Status != http.StatusUnauthorized || string(r.Body) != `{"detail":"Invalid or expired refresh token"}` {
		t.Fatalf("refresh after logout: %d %s", r.Status, r.Body)
	}
}
