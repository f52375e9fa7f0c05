package sqlstore_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/arsaka/puguh/storage"
	"github.com/arsaka/puguh/storage/sqlstore"
	"github.com/arsaka/puguh/storage/sqlstore/sqltest"
)

// FamiliesOfUser finds the user's browser grants made after since, in every
// session, and nobody else's.
func TestFamiliesOfUser(t *testing.T) {
	sqltest.ForEach(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Second)
		for _, f := range []storage.SessionFamily{
			{FamilyID: "old", SessionID: "s1", UserID: "u1", ApplicationID: "a", CreatedAt: now.Add(-2 * time.Hour)},
			{FamilyID: "recent", SessionID: "s1", UserID: "u1", ApplicationID: "a", CreatedAt: now.Add(-time.Minute)},
			{FamilyID: "other-session", SessionID: "s2", UserID: "u1", ApplicationID: "b", CreatedAt: now},
			{FamilyID: "other-user", SessionID: "s3", UserID: "u2", ApplicationID: "a", CreatedAt: now},
		} {
			f.ExpiresAt = f.CreatedAt.Add(24 * time.Hour)
			if err := s.AddSessionFamily(ctx, &f); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.FamiliesOfUser(ctx, "u1", now.Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		if want := []string{"other-session", "recent"}; !slices.Equal(got, want) {
			t.Fatalf("FamiliesOfUser = %v, want %v", got, want)
		}
	})
}

// TrimLoginChallenges keeps a browser's most recent challenges and touches no
// other browser's.
func TestTrimLoginChallenges(t *testing.T) {
	sqltest.ForEach(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Second)
		add := func(id, browser string, age time.Duration) {
			t.Helper()
			if err := s.CreateLoginChallenge(ctx, &storage.LoginChallenge{ID: id, Browser: browser, ClientID: "c", Query: "q",
				RequestedAt: now.Add(-age), ExpiresAt: now.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 5 {
			add(fmt.Sprintf("b1-%d", i), "b1", time.Duration(i)*time.Minute) // b1-0 is the newest
		}
		add("b2-0", "b2", time.Hour)
		if err := s.TrimLoginChallenges(ctx, "b1", 2); err != nil {
			t.Fatal(err)
		}
		for id, want := range map[string]bool{"b1-0": true, "b1-1": true, "b1-2": false, "b1-3": false, "b1-4": false, "b2-0": true} {
			_, err := s.LoginChallengeByID(ctx, id, now)
			if got := err == nil; got != want {
				t.Errorf("%s kept = %v (%v), want %v", id, got, err, want)
			}
		}
	})
}

// DeleteExpiredSessions reports how many rows it removed, so a janitor knows
// when it has caught up.
func TestDeleteExpiredSessionsCounts(t *testing.T) {
	sqltest.ForEach(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Second)
		for i := range 3 {
			if err := s.CreateLoginChallenge(ctx, &storage.LoginChallenge{ID: fmt.Sprintf("old-%d", i), Browser: "b", ClientID: "c",
				Query: "q", RequestedAt: now.Add(-time.Hour), ExpiresAt: now.Add(-time.Minute)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.CreateLoginChallenge(ctx, &storage.LoginChallenge{ID: "live", Browser: "b", ClientID: "c", Query: "q",
			RequestedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		for _, want := range []int{2, 1, 0} {
			if n, err := s.DeleteExpiredSessions(ctx, now, 2); err != nil || n != want {
				t.Fatalf("DeleteExpiredSessions = %d, %v; want %d", n, err, want)
			}
		}
		if _, err := s.LoginChallengeByID(ctx, "live", now); err != nil {
			t.Fatalf("the live challenge went too: %v", err)
		}
	})
}
