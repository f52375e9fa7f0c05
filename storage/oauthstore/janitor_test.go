package oauthstore

import (
	"context"
	"testing"
	"time"

	"github.com/arsaka/puguh/storage/sqlstore/sqltest"
)

// The janitor deletes expired rows of every table, in batches, and nothing
// else; a refresh family goes only once its tokens are gone.
func TestCleanupDeletesOnlyExpiredRows(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b, func(c *Config) { c.MaxRefreshFamilyLifetime = 2 * time.Hour })
			ctx := context.Background()
			now := e.clock.Now()
			expired, live := now.Add(-time.Minute), now.Add(time.Hour)
			const perTable = 7
			for i := range perTable {
				for _, g := range []struct {
					prefix string
					exp    time.Time
				}{{"old", expired}, {"new", live}} {
					id := g.prefix + string(rune('a'+i))
					r := newRequest(t, e, id, g.exp)
					steps := []error{
						e.store.CreateAuthorizeCodeSession(ctx, id, r),
						e.store.CreatePKCERequestSession(ctx, id, r),
						e.store.CreateOpenIDConnectSession(ctx, id, r),
						e.store.CreateRefreshTokenSession(ctx, id, id, r),
						e.store.SetClientAssertionJWT(ctx, id, g.exp),
					}
					for _, err := range steps {
						if err != nil {
							t.Fatal(err)
						}
					}
				}
			}
			tables := []string{tableCodes, tablePKCE, tableOIDC, tableRefresh, "oauth_jtis", "oauth_refresh_families"}
			count := func(table string) int {
				var n int
				if err := e.store.db.GetContext(ctx, &n, "SELECT COUNT(*) FROM "+table); err != nil {
					t.Fatal(err)
				}
				return n
			}

			if _, err := e.store.Cleanup(ctx, now, 0); err == nil {
				t.Error("Cleanup with batch 0 succeeded")
			}
			deleted, err := e.store.Cleanup(ctx, now, 3)
			if err != nil {
				t.Fatal(err)
			}
			if want := 5 * perTable; deleted != want {
				t.Errorf("deleted %d rows, want %d", deleted, want)
			}
			for _, table := range tables {
				want := perTable
				if table == "oauth_refresh_families" {
					want = 2 * perTable // all still inside their absolute lifetime
				}
				if got := count(table); got != want {
					t.Errorf("%s: %d rows left, want %d", table, got, want)
				}
			}
			if _, err := e.store.GetRefreshTokenSession(ctx, "newa", nil); err != nil {
				t.Errorf("live refresh token after cleanup: %v", err)
			}

			// Past the families' absolute lifetime every token has expired too
			// (refresh rows are capped by it); then the families go as well.
			deleted, err = e.store.Cleanup(ctx, now.Add(3*time.Hour), 2)
			if err != nil {
				t.Fatal(err)
			}
			if want := 5*perTable + 2*perTable; deleted != want {
				t.Errorf("deleted %d rows, want %d", deleted, want)
			}
			for _, table := range tables {
				if got := count(table); got != 0 {
					t.Errorf("%s: %d rows left, want 0", table, got)
				}
			}
		})
	}
}

// RunJanitor returns when its context ends.
func TestRunJanitorStopsWithContext(t *testing.T) {
	e := newEnv(t, sqltest.Backends()[0], nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		e.store.RunJanitor(ctx, 10*time.Millisecond)
		close(done)
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("RunJanitor did not stop after its context was cancelled")
	}
}
