package oauthstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ory/fosite"

	"github.com/arsaka/puguh/storage/sqlstore"
	"github.com/arsaka/puguh/storage/sqlstore/sqltest"
)

// Access tokens are not stored: creating one succeeds and writes nothing,
// and no access token is ever found, not even inside the transaction that
// created it, so fosite's storage-backed handlers see none.
func TestAccessTokensAreNotStored(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b, nil)
			ctx := context.Background()
			r := newRequest(t, e, "grant-1", time.Now().Add(time.Hour))
			txCtx, err := e.store.BeginTX(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := e.store.CreateAccessTokenSession(txCtx, "at-1", r); err != nil {
				t.Fatalf("create: %v", err)
			}
			if _, err := e.store.GetAccessTokenSession(txCtx, "at-1", &testSession{}); !errors.Is(err, fosite.ErrNotFound) {
				t.Errorf("get inside the transaction: %v, want ErrNotFound", err)
			}
			if err := e.store.Commit(txCtx); err != nil {
				t.Fatal(err)
			}
			for name, get := range map[string]func() (fosite.Requester, error){
				"the key it was created with": func() (fosite.Requester, error) { return e.store.GetAccessTokenSession(ctx, "at-1", nil) },
				"a real token's signature": func() (fosite.Requester, error) {
					p := e.login(t)
					return e.store.GetAccessTokenSession(ctx, e.strategy.AccessTokenSignature(ctx, p.access), nil)
				},
			} {
				if got, err := get(); got != nil || !errors.Is(err, fosite.ErrNotFound) {
					t.Errorf("get by %s: %v, %v; want nothing and ErrNotFound", name, got, err)
				}
			}
			if err := e.store.DeleteAccessTokenSession(ctx, "at-1"); err != nil {
				t.Errorf("delete: %v, want nil", err)
			}
			// Nor is there anywhere to store them (migration 0010).
			var tables int
			query := "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name LIKE '%access_token%'"
			if e.store.dialect == sqlstore.Postgres {
				query = "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name LIKE '%access_token%'"
			}
			if err := e.store.db.GetContext(ctx, &tables, query); err != nil {
				t.Fatal(err)
			}
			if tables != 0 {
				t.Errorf("%d tables for access tokens, want none", tables)
			}
		})
	}
}
