package oauthstore

import (
	"context"
	"slices"
	"testing"

	"github.com/ory/fosite"

	"github.com/arsaka/puguh/storage/sqlstore/sqltest"
)

// RevokeSubject ends every grant of its subject, rotated ones included,
// returns each family once, leaves other subjects alone, and finds nothing
// the second time.
func TestRevokeSubject(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b, nil)
			ctx := context.Background()
			first := e.login(t) // subject user-1
			second := e.login(t)
			rotated, err := e.refresh(ctx, second.refresh)
			if err != nil {
				t.Fatal(err)
			}
			fam1, err := e.requestIDOf(first.access, fosite.AccessToken)
			if err != nil {
				t.Fatal(err)
			}
			fam2, err := e.requestIDOf(rotated.access, fosite.AccessToken)
			if err != nil {
				t.Fatal(err)
			}

			ids, err := e.store.RevokeSubject(ctx, "user-2")
			if err != nil || len(ids) != 0 {
				t.Fatalf("RevokeSubject(user-2) = %v, %v; want nothing", ids, err)
			}
			e.assertActive(t, first, fam1)
			e.assertActive(t, rotated, fam2)

			ids, err = e.store.RevokeSubject(ctx, "user-1")
			if err != nil {
				t.Fatal(err)
			}
			want := []string{fam1, fam2}
			slices.Sort(want)
			if !slices.Equal(ids, want) {
				t.Fatalf("RevokeSubject(user-1) = %v, want %v", ids, want)
			}
			e.assertRevoked(t, first)
			e.assertRevoked(t, rotated)
			if _, err := e.refresh(ctx, rotated.refresh); errorName(err) != "invalid_grant" {
				t.Fatalf("refresh after RevokeSubject: %v, want invalid_grant", err)
			}
			if ids, err := e.store.RevokeSubject(ctx, "user-1"); err != nil || len(ids) != 0 {
				t.Fatalf("second RevokeSubject = %v, %v; want nothing", ids, err)
			}
		})
	}
}
