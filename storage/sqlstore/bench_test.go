package sqlstore_test

import (
	"context"
	"crypto/sha256"
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
