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
	"github.com/arsaka/puguh/storage"
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

// oneMembership is a MembershipSource with one member, counting its reads.
type oneMembership struct {
	org, user, role string
	reads           int
}

func (m *oneMembership) Membership(_ context.Context, orgID, userID string) (*storage.Membership, error) {
	m.reads++
	if orgID == m.org && userID == m.user {
		return &storage.Membership{OrganizationID: orgID, UserID: userID, Role: m.role}, nil
	}
	return nil, storage.ErrNotFound
}

func (m *oneMembership) OrganizationByID(_ context.Context, id string) (*storage.Organization, error) {
	if id == m.org {
		return &storage.Organization{ID: id}, nil
	}
	return nil, storage.ErrNotFound
}

// BenchmarkBearerMiddleware measures what every authenticated REST request
// pays: parsing and RS256-verifying a real access token, checking its claims
// and the denylist, and the membership lookup, with a warm membership cache
// (no database read).
func BenchmarkBearerMiddleware(b *testing.B) {
	ctx := context.Background()
	km, err := keys.Open(ctx, sqltest.Open(b, sqltest.Backends()[0]), []byte("bench-secret-0123456789-abcdefghijklmnop"),
		keys.Config{MaxTokenLifetime: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	members := &oneMembership{org: uuid.NewString(), user: uuid.NewString(), role: "owner"}
	a := auth.NewAuthenticator(auth.Config{Issuer: benchIssuer, Audience: benchAudience, Leeway: 30 * time.Second},
		km.Verifier(), denylist{revocation.NewMemory(nil)}, auth.NewMembershipCache(members, nil), oneUser{id: members.user}, nil, nil)
	now := time.Now()
	token, err := km.Sign(map[string]any{
		"iss": benchIssuer, "sub": members.user, "aud": []string{benchAudience},
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "jti": uuid.NewString(),
		"client_id": "puguh", "scope": "offline_access", "org_id": members.org, "sid": uuid.NewString(), "kind": "user",
	}, "at+jwt")
	if err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, "/api/v1/iam/users/me", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	if p, err := a.Authenticate(r); err != nil || p.Role != "owner" { // warms the cache
		b.Fatalf("authenticate: %v %+v", err, p)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := a.Authenticate(r); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if members.reads != 1 {
		b.Fatalf("%d membership reads, want 1: the cache was not warm", members.reads)
	}
}

// oneUser is a user store holding one enabled user.
type oneUser struct{ id string }

func (u oneUser) UserByID(_ context.Context, id string) (*storage.User, error) {
	if id != u.id {
		return nil, storage.ErrNotFound
	}
	return &storage.User{ID: id}, nil
}
