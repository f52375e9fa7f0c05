package app_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

// fullNameOnMe returns the full_name GET /api/v1/iam/users/me answers.
func fullNameOnMe(t testing.TB, e *apptest.Env, u *apptest.User) string {
	t.Helper()
	r := e.Do(http.MethodGet, "/api/v1/iam/users/me", nil, u.Bearer()...)
	if r.Status != http.StatusOK {
		t.Fatalf("/iam/users/me: %d %s", r.Status, r.Body)
	}
	var me struct {
		FullName string `json:"full_name"`
	}
	r.JSON(t, &me)
	return me.FullName
}

// renameOnAccountPage changes the user's full name through /account/profile.
func renameOnAccountPage(t testing.TB, e *apptest.Env, u *apptest.User, name string) {
	t.Helper()
	b := newBrowser(t, e)
	signIn(t, b, u.Email, u.Password)
	p := postForm(t, b, "/account", "/account/profile", url.Values{"full_name": {name}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("update profile: %d\n%.1500s", p.Status, p.Body)
	}
}

// /iam/users/me is served from the user cache, and a profile change on the
// account page shows there on the next request, not after the cache's TTL.
func TestProfileChangeShowsOnMeAtOnce(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, e *apptest.Env) {
		u := e.NewUser()
		for range 2 { // the second answer comes from the cache
			if got := fullNameOnMe(t, e, u); got != "Test User" {
				t.Fatalf("full_name = %q, want Test User", got)
			}
		}
		renameOnAccountPage(t, e, u, "Renamed User")
		if got := fullNameOnMe(t, e, u); got != "Renamed User" {
			t.Fatalf("right after the change, full_name = %q, want Renamed User", got)
		}
	})
}

// Two replicas on one database and one Redis: a profile change on one is
// served by the other within milliseconds (the Redis eviction), not after the
// cache's 30 s TTL.
func TestProfileChangeReachesOtherReplica(t *testing.T) {
	one := apptest.Start(t, apptest.Options{Redis: true})
	two := apptest.Start(t, apptest.Options{Redis: true, DatabaseURL: one.DatabaseURL})
	u := one.NewUser()
	onTwo := *u
	two.Login(&onTwo) // a token of two's issuer
	if got := fullNameOnMe(t, two, &onTwo); got != "Test User" {
		t.Fatalf("replica two: full_name = %q, want Test User", got)
	}
	renameOnAccountPage(t, one, u, "Renamed Elsewhere")
	// Every 50 ms for 2 s stays within the free plan's burst of 60 requests.
	deadline := time.Now().Add(2 * time.Second)
	for fullNameOnMe(t, two, &onTwo) != "Renamed Elsewhere" {
		if time.Now().After(deadline) {
			t.Fatal("replica two still serves the old full_name 2 s after the change")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
