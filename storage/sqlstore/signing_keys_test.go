package sqlstore_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/arsaka/puguh/storage"
	"github.com/arsaka/puguh/storage/sqlstore"
	"github.com/arsaka/puguh/storage/sqlstore/sqltest"
)

func signingKeyRow(kid, state string, at time.Time) *storage.SigningKey {
	k := &storage.SigningKey{KID: kid, Algorithm: "RS256", State: state,
		PrivateKeySealed: []byte("sealed-" + kid), PublicKeyDER: []byte("der-" + kid), CreatedAt: at}
	if state == storage.KeyStateActive {
		k.ActivatedAt = &at
	}
	return k
}

func TestSigningKeyStore(t *testing.T) {
	sqltest.ForEach(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		t0 := time.Date(2030, 1, 1, 0, 0, 0, 123456000, time.UTC)
		mustInsert := func(k *storage.SigningKey) {
			t.Helper()
			if err := s.InsertSigningKey(ctx, k); err != nil {
				t.Fatalf("insert %s: %v", k.KID, err)
			}
		}
		mustInsert(signingKeyRow("a", storage.KeyStateActive, t0))
		for _, k := range []*storage.SigningKey{
			signingKeyRow("a", storage.KeyStateNext, t0),    // same kid
			signingKeyRow("a2", storage.KeyStateActive, t0), // second active
		} {
			if err := s.InsertSigningKey(ctx, k); !errors.Is(err, storage.ErrConflict) {
				t.Fatalf("insert %s/%s = %v, want ErrConflict", k.KID, k.State, err)
			}
		}
		mustInsert(signingKeyRow("b", storage.KeyStateNext, t0.Add(time.Second)))
		if err := s.InsertSigningKey(ctx, signingKeyRow("b2", storage.KeyStateNext, t0)); !errors.Is(err, storage.ErrConflict) {
			t.Fatalf("second next key = %v, want ErrConflict", err)
		}

		t1 := t0.Add(time.Hour)
		for _, tc := range []struct{ next, active string }{{"b", "x"}, {"x", "a"}, {"a", "b"}, {"b", ""}} {
			if err := s.PromoteSigningKey(ctx, tc.next, tc.active, t1, t1); !errors.Is(err, storage.ErrPrecondition) {
				t.Fatalf("promote(%s over %s) = %v, want ErrPrecondition", tc.next, tc.active, err)
			}
		}
		ks, _ := s.SigningKeys(ctx)
		if ks[0].State != storage.KeyStateActive || ks[1].State != storage.KeyStateNext {
			t.Fatalf("a failed promotion changed rows: %+v", ks)
		}

		// Racing promotions of the same pair: exactly one wins.
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Go(func() { errs[i] = s.PromoteSigningKey(ctx, "b", "a", t1, t1.Add(time.Hour)) })
		}
		wg.Wait()
		wins := 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case errors.Is(err, storage.ErrPrecondition), errors.Is(err, storage.ErrConflict):
			default:
				t.Errorf("promote: %v", err)
			}
		}
		if wins != 1 {
			t.Fatalf("%d promotions won, want 1", wins)
		}
		ks, err := s.SigningKeys(ctx)
		if err != nil || len(ks) != 2 {
			t.Fatalf("keys = %v, %v", ks, err)
		}
		a, b := ks[0], ks[1]
		if a.KID != "a" || a.State != storage.KeyStateRetired || !a.RetiredAt.Equal(t1) || !a.RemoveAfter.Equal(t1.Add(time.Hour)) {
			t.Errorf("retired key = %+v", a)
		}
		if b.KID != "b" || b.State != storage.KeyStateActive || !b.ActivatedAt.Equal(t1) || string(b.PrivateKeySealed) != "sealed-b" {
			t.Errorf("active key = %+v", b)
		}

		if n, err := s.DeleteSigningKeysRemovableBefore(ctx, t1.Add(time.Hour)); err != nil || n != 0 {
			t.Fatalf("delete at RemoveAfter = %d, %v; want nothing deleted", n, err)
		}
		if n, err := s.DeleteSigningKeysRemovableBefore(ctx, t1.Add(time.Hour+time.Microsecond)); err != nil || n != 1 {
			t.Fatalf("delete after RemoveAfter = %d, %v; want 1", n, err)
		}
	})
}

// TestSigningKeyPromoteFirst covers promotion with no active key.
func TestSigningKeyPromoteFirst(t *testing.T) {
	sqltest.ForEach(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		if err := s.InsertSigningKey(ctx, signingKeyRow("n", storage.KeyStateNext, t0)); err != nil {
			t.Fatal(err)
		}
		if err := s.PromoteSigningKey(ctx, "n", "", t0, time.Time{}); err != nil {
			t.Fatalf("promote first: %v", err)
		}
		if err := s.PromoteSigningKey(ctx, "n", "", t0, time.Time{}); !errors.Is(err, storage.ErrPrecondition) {
			t.Fatalf("promote again = %v, want ErrPrecondition", err)
		}
	})
}
