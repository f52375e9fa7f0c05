package sqlstore_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/arsaka/puguh/storage"
	"github.com/arsaka/puguh/storage/sqlstore/sqltest"
)

// BenchmarkRoundTrips measures the lookups on the request path and one
// write, on SQLite and (with PUGUH_TEST_DATABASE_URL) PostgreSQL.
func BenchmarkRoundTrips(b *testing.B) {
	for _, be := range sqltest.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			s := sqltest.Open(b, be)
			ctx := context.Background()
			now := time.Now()
			u := &storage.User{ID: uuid.NewString(), Email: uuid.NewString() + "@example.com", FullName: "B", PasswordHash: "x", CreatedAt: now, UpdatedAt: now}
			org := &storage.Organization{ID: uuid.NewString(), Name: "B", Plan: storage.PlanFree, Personal: true, CreatedAt: now, UpdatedAt: now}
			if err := s.Register(ctx, u, org); err != nil {
				b.Fatal(err)
			}
			hash := sha256.Sum256([]byte(uuid.NewString()))
			key := &storage.APIKey{ID: uuid.NewString(), OrganizationID: org.ID, Name: "k", Prefix: "pgh_x", Hash: hash[:], Permissions: []string{"a"}, CreatedBy: u.ID, CreatedAt: now}
			if err := s.CreateAPIKey(ctx, key); err != nil {
				b.Fatal(err)
			}
			b.Run("UserByID", func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					if _, err := s.UserByID(ctx, u.ID); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("Membership", func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					if _, err := s.Membership(ctx, org.ID, u.ID); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("APIKeyByHash", func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					if _, err := s.APIKeyByHash(ctx, hash[:]); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("UpdateUserProfile", func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					if err := s.UpdateUserProfile(ctx, u.ID, "B"); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// Lookup keys that come from headers or paths may hold bytes PostgreSQL
// refuses (invalid UTF-8): no row can match them, so it is ErrNotFound, never
// an error the API would turn into a 500.
func TestLookupWithInvalidUTF8IsNotFound(t *testing.T) {
	for _, be := range sqltest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := sqltest.Open(t, be)
			ctx := context.Background()
			if _, err := s.UserByID(ctx, "\xff\xfe"); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("UserByID(invalid utf-8) = %v, want ErrNotFound", err)
			}
			if _, err := s.ApplicationByID(ctx, "app-\xc3\x28"); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("ApplicationByID(invalid utf-8) = %v, want ErrNotFound", err)
			}
		})
	}
}
