package oauthstore

import (
	"context"
	"slices"
	"testing"

	"github.com/ory/fosite"

	"github.com/arsaka/puguh/storage/sqlstore/sqltest"
)

// RevokeClient ends every refresh family of its client, rotated ones
// included, returns each family once (the id its access tokens carry), leaves
// other clients' grants of the same user alone, and finds nothing the second
// time.
func TestRevokeClient(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b, nil)
			ctx := context.Background()
			first := e.login(t)
			second := e.login(t)
			rotated, err := e.refresh(ctx, second.refresh)
			if err != nil {
				t.Fatal(err)
			}
			other := e.loginAs(t, otherClientID) // the same user, another application
			var want []string
			for _, p := range []pair{first, rotated} {
				family, err := e.requestIDOf(p.access, fosite.AccessToken)
				if err != nil {
					t.Fatal(err)
				}
				want = append(want, family)
			}
			slices.Sort(want)
			otherFamily, err := e.requestIDOf(other.access, fosite.AccessToken)
			if err != nil {
				t.Fatal(err)
			}

			if ids, err := e.store.RevokeClient(ctx, "app-unknown"); err != nil || len(ids) != 0 {
				t.Fatalf("RevokeClient(unknown) = %v, %v; want nothing", ids, err)
			}
			ids, err := e.store.RevokeClient(ctx, testClientID)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ids, want) {
				t.Fatalf("RevokeClient(%s) = %v, want %v", testClientID, ids, want)
			}
			// Their access tokens end when the caller denies the client and
			// the returned families (oauth.Provider.RevokeClient).
			for _, p := range []pair{first, second, rotated} {
				e.assertRefreshRevoked(t, p)
			}
			if _, err := e.refresh(ctx, rotated.refresh); errorName(err) != "invalid_grant" {
				t.Fatalf("refresh after RevokeClient: %v, want invalid_grant", err)
			}
			e.assertActive(t, other, otherFamily)
			if _, err := e.refreshAs(ctx, otherClientID, other.refresh); err != nil {
				t.Fatalf("another client's refresh after RevokeClient: %v", err)
			}
			if ids, err := e.store.RevokeClient(ctx, testClientID); err != nil || len(ids) != 0 {
				t.Fatalf("second RevokeClient = %v, %v; want nothing", ids, err)
			}
		})
	}
}
