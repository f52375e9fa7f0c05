package clientcache_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/arsaka/puguh/storage"
	"github.com/arsaka/puguh/storage/clientcache"
	"github.com/arsaka/puguh/storage/sqlstore/sqltest"
)

// source is the token endpoint's view of the store.
type source interface {
	ApplicationByID(ctx context.Context, id string) (*storage.Application, error)
	ServiceAccountByClientID(ctx context.Context, clientID string) (*storage.ServiceAccount, error)
}

// BenchmarkClientLookup is what the token endpoint's client lookup costs per
// request, straight from SQL and through a warm cache, on SQLite and (with
// PUGUH_TEST_DATABASE_URL) PostgreSQL. A service account takes two lookups:
// the application table first (not found), then the account.
func BenchmarkClientLookup(b *testing.B) {
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
			hash := sha256.Sum256([]byte("secret"))
			app := &storage.Application{ID: uuid.NewString(), OrganizationID: org.ID, Name: "a", SecretHash: hash[:],
				RedirectURIs: []string{}, PostLogoutRedirectURIs: []string{}, GrantTypes: []string{"client_credentials"},
				ResponseTypes: []string{}, Scopes: []string{}, TokenEndpointAuthMethod: "client_secret_basic"}
			if err := s.CreateApplication(ctx, app); err != nil {
				b.Fatal(err)
			}
			id := uuid.NewString()
			sa := &storage.ServiceAccount{ID: id, OrganizationID: org.ID, Name: "r", Role: "member", ClientID: "sa-" + id,
				SecretHash: hash[:], CreatedBy: u.ID}
			if err := s.CreateServiceAccount(ctx, sa); err != nil {
				b.Fatal(err)
			}
			for _, src := range []struct {
				name string
				s    source
			}{{"sql", s}, {"cached", clientcache.New(s, clientcache.Config{})}} {
				b.Run(src.name+"/application", func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						if _, err := src.s.ApplicationByID(ctx, app.ID); err != nil {
							b.Fatal(err)
						}
					}
				})
				b.Run(src.name+"/service_account", func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						if _, err := src.s.ApplicationByID(ctx, sa.ClientID); !errors.Is(err, storage.ErrNotFound) {
							b.Fatal(err)
						}
						if _, err := src.s.ServiceAccountByClientID(ctx, sa.ClientID); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}
