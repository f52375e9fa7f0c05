package oauthstore

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/ory/fosite"

	"github.com/arsaka/puguh/storage/sqlstore/sqltest"
)

// RevokeSubject ends every refresh family of its subject, rotated ones
// included, returns each family once (the id its access tokens carry),
// leaves other subjects alone, and finds nothing the second time.
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
			// Their access tokens end when the caller denies the returned
			// families (oauth.Provider.DenyFamily): the store holds none.
			e.assertRefreshRevoked(t, first)
			e.assertRefreshRevoked(t, rotated)
			if _, err := e.refresh(ctx, rotated.refresh); errorName(err) != "invalid_grant" {
				t.Fatalf("refresh after RevokeSubject: %v, want invalid_grant", err)
			}
			if ids, err := e.store.RevokeSubject(ctx, "user-1"); err != nil || len(ids) != 0 {
				t.Fatalf("second RevokeSubject = %v, %v; want nothing", ids, err)
			}
		})
	}
}

// Revoking by subject or client finds families through an index, not by
// reading every family (migration 0004).
func TestRevokeLookupsUseIndexes(t *testing.T) {
	for _, b := range sqltest.Backends() {
		if b.Name != "sqlite" {
			continue
		}
		db := sqltest.Open(t, b).DB()
		for _, tc := range []struct{ query, index string }{
			{"SELECT request_id FROM oauth_refresh_families WHERE subject = 'u'", "oauth_refresh_families_subject_idx"},
			{"SELECT request_id FROM oauth_refresh_families WHERE client_id = 'c'", "oauth_refresh_families_client_idx"},
			{"UPDATE oauth_refresh_tokens SET active = FALSE WHERE request_id IN (SELECT request_id FROM oauth_refresh_families WHERE subject = 'u')", "oauth_refresh_tokens_request_idx"},
			{"SELECT family_id FROM session_families WHERE user_id = 'u'", "session_families_user_idx"},
		} {
			rows, err := db.Query("EXPLAIN QUERY PLAN " + tc.query)
			if err != nil {
				t.Fatal(err)
			}
			var plan []string
			for rows.Next() {
				var id, parent, notUsed int
				var detail string
				if err := rows.Scan(&id, &parent, &notUsed, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			rows.Close()
			found := slices.ContainsFunc(plan, func(d string) bool { return strings.Contains(d, tc.index) })
			if !found {
				t.Errorf("%s: plan %q does not use %s", tc.query, plan, tc.index)
			}
		}
	}
}
