package oauthstore

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ory/fosite"

	"github.com/arsaka/puguh/storage/sqlstore/sqltest"
)

// BenchmarkRefreshStorage is the storage's part of one refresh, in the order
// and the transaction fosite's refresh handler uses: read the presented
// token, then rotate it and store the new one. The access token's storage
// is left out: the server's compositions never stored it. Each iteration
// presents the token the previous one stored, as a client does.
func BenchmarkRefreshStorage(b *testing.B) {
	for _, backend := range sqltest.Backends() {
		b.Run(backend.Name, func(b *testing.B) {
			ctx := context.Background()
			client := &fosite.DefaultClient{ID: "app-1"}
			store, err := New(sqltest.Open(b, backend), Config{
				Clients:    clientMap{client.ID: client},
				NewSession: func() fosite.Session { return &fosite.DefaultSession{} },
			})
			if err != nil {
				b.Fatal(err)
			}
			session := &fosite.DefaultSession{Subject: "user-1", Username: "user-1@example.com"}
			session.SetExpiresAt(fosite.RefreshToken, time.Now().Add(24*time.Hour))
			r := &fosite.Request{ID: "grant-1", RequestedAt: time.Now(), Client: client, Session: session,
				RequestedScope: fosite.Arguments{"openid", "offline_access"}, GrantedScope: fosite.Arguments{"openid", "offline_access"}}
			// What fosite passes as the access token's signature: an RS256 JWT's, 342 characters.
			accessSignature := strings.Repeat("s", 342)
			current := "rt-0"
			if err := store.CreateRefreshTokenSession(ctx, current, accessSignature, r); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			i := 0
			for b.Loop() {
				i++
				if _, err := store.GetRefreshTokenSession(ctx, current, &fosite.DefaultSession{}); err != nil {
					b.Fatal(err)
				}
				txCtx, err := store.BeginTX(ctx)
				if err != nil {
					b.Fatal(err)
				}
				next := fmt.Sprintf("rt-%d", i)
				if err := store.RotateRefreshToken(txCtx, r.ID, current); err != nil {
					b.Fatal(err)
				}
				if err := store.CreateRefreshTokenSession(txCtx, next, accessSignature, r); err != nil {
					b.Fatal(err)
				}
				if err := store.Commit(txCtx); err != nil {
					b.Fatal(err)
				}
				current = next
			}
		})
	}
}
