package sqlstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/arsaka/puguh/storage"
	"github.com/arsaka/puguh/storage/sqlstore"
	"github.com/arsaka/puguh/storage/sqlstore/sqltest"
)

// The contract of the session, login challenge and consent stores is checked
// by storagetest (conformance_test.go). SessionsOfUser is the SQL store's own:
// the account page and package identity declare it themselves.

// SessionsOfUser lists the user's unexpired sessions, most recently used
// first (id breaking ties), at most 100, and nobody else's.
func TestSessionsOfUser(t *testing.T) {
	sqltest.ForEach(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
		register := func(id string) {
			t.Helper()
			u := &storage.User{ID: id, Email: id + "@example.com", FullName: id, PasswordHash: "x", CreatedAt: now, UpdatedAt: now}
			org := &storage.Organization{ID: "org-" + id, Name: id, Plan: storage.PlanFree, Personal: true, CreatedAt: now, UpdatedAt: now}
			if err := s.Register(ctx, u, org); err != nil {
				t.Fatal(err)
			}
		}
		register("u1")
		register("u2")
		create := func(id, userID string, lastSeen, expires time.Time) {
			t.Helper()
			if err := s.CreateSession(ctx, &storage.BrowserSession{ID: id, UserID: userID, AuthTime: now.Add(-time.Hour),
				CreatedAt: now.Add(-time.Hour), ExpiresAt: expires, LastSeenAt: lastSeen, UserAgent: "ua-" + id}); err != nil {
				t.Fatal(err)
			}
		}
		// Sub-second steps catch a backend ordering times as text of varying length.
		create("older", "u1", now.Add(-time.Minute), now.Add(time.Hour))
		create("recent-b", "u1", now.Add(-500*time.Millisecond), now.Add(time.Hour))
		create("recent-a", "u1", now.Add(-500*time.Millisecond), now.Add(time.Hour))
		create("newest", "u1", now.Add(-time.Millisecond), now.Add(time.Hour))
		create("expired", "u1", now, now)
		create("stranger", "u2", now, now.Add(time.Hour))

		got, err := s.SessionsOfUser(ctx, "u1", now)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, bs := range got {
			ids = append(ids, bs.ID)
		}
		if want := []string{"newest", "recent-a", "recent-b", "older"}; fmt.Sprint(ids) != fmt.Sprint(want) {
			t.Fatalf("SessionsOfUser = %v, want %v", ids, want)
		}
		if got[0].UserAgent != "ua-newest" || !got[0].LastSeenAt.Equal(now.Add(-time.Millisecond)) {
			t.Fatalf("SessionsOfUser[0] = %+v, want the session as stored", got[0])
		}

		// The list is bounded: a user with more sessions sees the 100 most recent.
		for i := range 101 {
			create(fmt.Sprintf("many-%03d", i), "u2", now.Add(-time.Duration(i+1)*time.Second), now.Add(time.Hour))
		}
		got, err = s.SessionsOfUser(ctx, "u2", now)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 100 {
			t.Fatalf("SessionsOfUser of a user with 102 sessions = %d sessions, want 100", len(got))
		}
		if got[0].ID != "stranger" || got[99].ID != "many-098" {
			t.Fatalf("SessionsOfUser of a user with 102 sessions runs from %s to %s, want from stranger to many-098", got[0].ID, got[99].ID)
		}
	})
}
