package sqlstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/arsaka/puguh/storage/sqlstore"
	"github.com/arsaka/puguh/storage/sqlstore/sqltest"
)

// The denylist table: an entry is only ever extended, expired entries are not
// returned, and they are deleted at most limit at a time. On SQLite and PostgreSQL.
func TestDenylistStore(t *testing.T) {
	sqltest.ForEach(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		t0 := time.Date(2030, 1, 1, 0, 0, 0, 123456000, time.UTC)
		put := func(key string, until time.Time) {
			t.Helper()
			if err := s.PutDenial(ctx, key, until); err != nil {
				t.Fatalf("put %s: %v", key, err)
			}
		}
		put("jti:a", t0.Add(time.Hour))
		put("jti:a", t0.Add(time.Minute)) // earlier: kept at an hour
		put("sid:b", t0.Add(time.Minute))
		put("sid:b", t0.Add(2*time.Hour)) // later: extended
		put("client:c", t0.Add(-time.Second))

		got, err := s.ActiveDenials(ctx, t0)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]time.Time{"jti:a": t0.Add(time.Hour), "sid:b": t0.Add(2 * time.Hour)}
		if len(got) != len(want) {
			t.Fatalf("active denials = %v, want %v", got, want)
		}
		for k, w := range want {
			if !got[k].Equal(w) {
				t.Errorf("%s until %v, want %v", k, got[k], w)
			}
		}

		for i := range 5 {
			put(fmt.Sprintf("jti:old%d", i), t0.Add(-time.Duration(i+1)*time.Minute))
		}
		// Six expired rows, limit 4: 4, then 2, then none; live rows stay.
		for _, wantN := range []int{4, 2, 0} {
			n, err := s.DeleteExpiredDenials(ctx, t0, 4)
			if err != nil || n != wantN {
				t.Fatalf("delete expired = %d, %v; want %d", n, err, wantN)
			}
		}
		if got, err := s.ActiveDenials(ctx, t0); err != nil || len(got) != 2 {
			t.Fatalf("after sweeping: %v, %v; want the 2 live entries", got, err)
		}
		// An entry expiring exactly now is expired: not active, swept.
		if got, _ := s.ActiveDenials(ctx, t0.Add(time.Hour)); len(got) != 1 {
			t.Fatalf("at jti:a's expiry: %v, want only sid:b", got)
		}
		if n, err := s.DeleteExpiredDenials(ctx, t0.Add(time.Hour), 10); err != nil || n != 1 {
			t.Fatalf("delete at jti:a's expiry = %d, %v; want 1", n, err)
		}
	})
}
