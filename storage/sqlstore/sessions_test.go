package sqlstore_test

import (
	"context"
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
