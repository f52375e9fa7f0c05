package apptest

import (
	"net/http"
	"testing"
)

// The harness itself: a user can register, log in and call a protected endpoint.
func TestHarness(t *testing.T) {
	ForEachBackend(t, func(t *testing.T, e *Env) {
		u := e.NewUser()
		r := e.Do(http.MethodGet, "/api/v1/iam/users/me", nil, u.Bearer()...)
		if r.Status != http.StatusOK {
			t.Fatalf("me: %d %s", r.Status, r.Body)
		}
		var me struct {
			ID    string `json:"id"`
			Email string `json:"email"`
		}
		r.JSON(t, &me)
		if me.ID != u.ID || me.Email != u.Email {
			t.Fatalf("me = %+v, want %s %s", me, u.ID, u.Email)
		}
	})
}
