package credentials_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/credentials"
	"github.com/arsaka/puguh/provider/orgs"
	"github.com/arsaka/puguh/storage"
	"github.com/arsaka/puguh/storage/cached"
	"github.com/arsaka/puguh/storage/sqlstore/sqltest"
)

// BenchmarkVerifyWarm measures a warm verification as the server runs it:
// parse and checksum, SHA-256, the cached store's key, user and membership
// lookups (no database once warm), the checks, the permission intersection
// and the last-use record.
func BenchmarkVerifyWarm(b *testing.B) {
	ctx := context.Background()
	store := cached.New(sqltest.Open(b, sqltest.Backends()[0]), cached.Config{})
	now := time.Now().UTC()
	u := &storage.User{ID: uuid.NewString(), Email: "bench@example.com", FullName: "B", PasswordHash: "h", CreatedAt: now, UpdatedAt: now}
	org := &storage.Organization{ID: uuid.NewString(), Name: "B", Plan: storage.PlanFree, Personal: true, CreatedAt: now, UpdatedAt: now}
	if err := store.Register(ctx, u, org); err != nil {
		b.Fatal(err)
	}
	secret, err := credentials.Generate()
	if err != nil {
		b.Fatal(err)
	}
	k := &storage.APIKey{ID: uuid.NewString(), OrganizationID: org.ID, Name: "k", Prefix: secret.Display, Hash: secret.Hash,
		Permissions: authz.PermissionsOf(authz.Admin), Role: authz.Admin, CreatedBy: u.ID, CreatedAt: now}
	if err := store.CreateAPIKey(ctx, k); err != nil {
		b.Fatal(err)
	}
	v := credentials.NewVerifier(store, &orgs.Service{Store: store}, credentials.Config{})
	if _, err := v.Authenticate(ctx, secret.Key, org.ID); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := v.Authenticate(ctx, secret.Key, org.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
}
