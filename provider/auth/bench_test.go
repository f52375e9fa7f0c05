package auth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/arsaka/puguh/keys"
	"github.com/arsaka/puguh/provider/auth"
	"github.com/arsaka/puguh/provider/orgs"
	"github.com/arsaka/puguh/storage"
	"github.com/arsaka/puguh/storage/cached"
	"github.com/arsaka/puguh/storage/revocation"
	"github.com/arsaka/puguh/storage/sqlstore/sqltest"
)

const (
	benchIssuer   = "http://127.0.0.1:8080"
	benchAudience = benchIssuer + "/api"
)

// denylist adapts a revocation list to auth.Denylist the way oauth.Provider does.
type denylist struct{ l revocation.List }

func (d denylist) Denied(jti, sid, client string) bool {
	return d.l.Denied("jti:"+jti, "sid:"+sid, "client:"+client)
}

// BenchmarkBearerMiddleware measures what every authenticated REST request
// pays once warm: the verified-token cache (a SHA-256 and a map read instead
// of an RS256 verification), the denylist, and the cached store's user and
// membership lookups, as the server wires them (no database read).
func BenchmarkBearerMiddleware(b *testing.B) {
	ctx := context.Background()
	sql := sqltest.Open(b, sqltest.Backends()[0])
	km, err := keys.Open(ctx, sql, []byte("bench-secret-0123456789-abcdefghijklmnop"), keys.Config{MaxTokenLifetime: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	store := cached.New(sql, cached.Config{})
	now := time.Now().UTC()
	u := &storage.User{ID: uuid.NewString(), Email: "bench@example.com", FullName: "B", PasswordHash: "h", CreatedAt: now, UpdatedAt: now}
	org := &storage.Organization{ID: uuid.NewString(), Name: "B", Plan: storage.PlanFree, Personal: true, CreatedAt: now, UpdatedAt: now}
	if err := store.Register(ctx, u, org); err != nil {
		b.Fatal(err)
	}
	a := auth.NewAuthenticator(auth.Config{Issuer: benchIssuer, Audience: benchAudience, Leeway: 30 * time.Second}, auth.Deps{
		Tokens: km.Verifier(), Denylist: denylist{revocation.NewMemory(nil)}, Roles: &orgs.Service{Store: store},
		Users: store, Accounts: store,
	})
	token, err := km.Sign(map[string]any{
		"iss": benchIssuer, "sub": u.ID, "aud": []string{benchAudience},
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "jti": uuid.NewString(),
		"client_id": "puguh", "scope": "offline_access", "org_id": org.ID, "sid": uuid.NewString(), "kind": "user",
	}, "at+jwt")
	if err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, "/api/v1/iam/users/me", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	if p, err := a.Authenticate(r); err != nil || p.Role != "owner" { // warms the caches
		b.Fatalf("authenticate: %v %+v", err, p)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := a.Authenticate(r); err != nil {
			b.Fatal(err)
		}
	}
}
