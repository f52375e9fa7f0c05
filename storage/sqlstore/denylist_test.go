package sqlstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/arsaka/puguh/storage"
	"github.com/arsaka/puguh/storage/sqlstore"
	"github.com/arsaka/puguh/storage/sqlstore/sqltest"
)

func byKey(rows []storage.Denial) map[string]storage.Denial {
	out := make(map[string]storage.Denial, len(rows))
	for _, r := range rows {
		out[r.Key] = r
	}
	return out
}

// The denylist table: an entry is only ever extended, and each write that
// changes it gives it a Seq above every earlier one, so DenialsAfter finds
// it; expired entries are not returned, and they are deleted at most limit at
// a time. On SQLite and PostgreSQL.
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
		active := func(after int64, now time.Time) map[string]storage.Denial {
			t.Helper()
			rows, err := s.DenialsAfter(ctx, after, now)
			if err != nil {
				t.Fatal(err)
			}
			for i := 1; i < len(rows); i++ {
				if rows[i].Seq <= rows[i-1].Seq {
					t.Fatalf("rows not in Seq order: %v", rows)
				}
			}
			return byKey(rows)
		}
		put("jti:a", t0.Add(time.Hour))
		put("sid:b", t0.Add(time.Minute))
		first := active(0, t0)
		put("jti:a", t0.Add(time.Minute)) // earlier: kept at an hour, Seq unchanged
		put("sid:b", t0.Add(2*time.Hour)) // later: extended, new Seq
		put("client:c", t0.Add(-time.Second))

		got := active(0, t0)
		want := map[string]time.Time{"jti:a": t0.Add(time.Hour), "sid:b": t0.Add(2 * time.Hour)}
		if len(got) != len(want) {
			t.Fatalf("active denials = %v, want %v", got, want)
		}
		for k, w := range want {
			if !got[k].Until.Equal(w) {
				t.Errorf("%s until %v, want %v", k, got[k].Until, w)
			}
		}
		if got["jti:a"].Seq != first["jti:a"].Seq {
			t.Errorf("a write that changed nothing moved jti:a from Seq %d to %d", first["jti:a"].Seq, got["jti:a"].Seq)
		}
		if got["sid:b"].Seq <= first["jti:a"].Seq || got["sid:b"].Seq <= first["sid:b"].Seq {
			t.Errorf("the extended sid:b has Seq %d, not above the earlier writes %v", got["sid:b"].Seq, first)
		}
		if after := active(first["sid:b"].Seq, t0); len(after) != 1 || after["sid:b"].Key == "" {
			t.Errorf("after Seq %d: %v, want only the extended sid:b", first["sid:b"].Seq, after)
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
		if got := active(0, t0); len(got) != 2 {
			t.Fatalf("after sweeping: %v; want the 2 live entries", got)
		}
		// An entry expiring exactly now is expired: not active, swept.
		if got := active(0, t0.Add(time.Hour)); len(got) != 1 {
			t.Fatalf("at jti:a's expiry: %v, want only sid:b", got)
		}
		if n, err := s.DeleteExpiredDenials(ctx, t0.Add(time.Hour), 10); err != nil || n != 1 {
			t.Fatalf("delete at jti:a's expiry = %d, %v; want 1", n, err)
		}

		// Seq never goes back, even when the entry with the highest one is
		// swept: a reader that has seen it would miss the next denial.
		high := active(0, t0)["sid:b"].Seq
		if n, err := s.DeleteExpiredDenials(ctx, t0.Add(3*time.Hour), 10); err != nil || n != 1 {
			t.Fatalf("delete sid:b = %d, %v", n, err)
		}
		put("jti:next", t0.Add(5*time.Hour))
		if got := active(high, t0); got["jti:next"].Key == "" {
			t.Fatalf("after the highest entry was swept, a new one has Seq %d, not above %d", got["jti:next"].Seq, high)
		}
	})
}

// PutDenial joins the transaction ctx carries: it commits or rolls back with
// it, and on SQLite it does not wait for the transaction's own write lock
// (a write on another connection would wait until the busy timeout, then
// fail). On SQLite and PostgreSQL.
func TestPutDenialJoinsTheTransaction(t *testing.T) {
	sqltest.ForEach(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		until := time.Now().Add(time.Hour)
		for _, tc := range []struct {
			name   string
			commit bool
		}{
			{"commit", true},
			{"rollback", false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				tx, err := s.DB().BeginTxx(ctx, nil) // on SQLite: BEGIN IMMEDIATE, the write lock
				if err != nil {
					t.Fatal(err)
				}
				defer tx.Rollback() //nolint:errcheck // a no-op after Commit
				wctx, cancel := context.WithTimeout(sqlstore.WithTx(ctx, tx), 5*time.Second)
				defer cancel()
				key := "sid:" + tc.name
				if err := s.PutDenial(wctx, key, until); err != nil {
					t.Fatalf("put inside the transaction: %v", err)
				}
				if rows, err := s.DenialsAfter(ctx, 0, time.Now()); err != nil || byKey(rows)[key].Key != "" {
					t.Fatalf("visible outside before the transaction ended: %v, %v", rows, err)
				}
				if tc.commit {
					err = tx.Commit()
				} else {
					err = tx.Rollback()
				}
				if err != nil {
					t.Fatal(err)
				}
				rows, err := s.DenialsAfter(ctx, 0, time.Now())
				if err != nil {
					t.Fatal(err)
				}
				if got := byKey(rows)[key].Key != ""; got != tc.commit {
					t.Fatalf("recorded = %v after %s", got, tc.name)
				}
			})
		}
	})
}
