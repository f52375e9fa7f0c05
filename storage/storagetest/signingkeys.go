package storagetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/arsaka/puguh/storage"
)

func normSigningKey(k *storage.SigningKey) {
	k.CreatedAt = micro(k.CreatedAt)
	k.ActivatedAt = microPtr(k.ActivatedAt)
	k.RetiredAt = microPtr(k.RetiredAt)
	k.RemoveAfter = microPtr(k.RemoveAfter)
}

func normSigningKeys(ks *[]storage.SigningKey) {
	for i := range *ks {
		normSigningKey(&(*ks)[i])
	}
	if *ks == nil {
		*ks = []storage.SigningKey{} // no keys: nil or empty, both mean none
	}
}

// newSigningKey returns an unsaved key in state, created at createdAt. Its key
// material holds a zero byte and bytes that are not UTF-8, which a store must
// keep as they are. An active key was activated when it was created, a retired
// one retired an hour later and removable a day after that.
func newSigningKey(kid, state string, createdAt time.Time) *storage.SigningKey {
	k := &storage.SigningKey{
		KID:              kid,
		Algorithm:        "RS256",
		State:            state,
		PrivateKeySealed: []byte("sealed\x00\xff\xfe-" + kid),
		PublicKeyDER:     []byte("\x30\x82\x01\x22\x00der-" + kid),
		CreatedAt:        createdAt,
	}
	switch state {
	case storage.KeyStateActive:
		k.ActivatedAt = timePtr(createdAt)
	case storage.KeyStateRetired:
		k.ActivatedAt = timePtr(createdAt)
		k.RetiredAt = timePtr(createdAt.Add(time.Hour))
		k.RemoveAfter = timePtr(createdAt.Add(25 * time.Hour))
	}
	return k
}

// insertSigningKey stores k and returns it.
func insertSigningKey(t *testing.T, s storage.SigningKeyStore, k *storage.SigningKey) *storage.SigningKey {
	t.Helper()
	if err := s.InsertSigningKey(context.Background(), k); err != nil {
		t.Fatalf("InsertSigningKey(%s, %s): %v", k.KID, k.State, err)
	}
	return k
}

// wantSigningKeys fails the test unless the store lists exactly want, in order.
func wantSigningKeys(t *testing.T, what string, s storage.SigningKeyStore, want ...storage.SigningKey) {
	t.Helper()
	got, err := s.SigningKeys(context.Background())
	wantErr(t, what+": SigningKeys", err, nil)
	wantEqual(t, what, got, want, normSigningKeys)
}

// TestSigningKeyStore checks a storage.SigningKeyStore; newStore returns a fresh, empty store.
func TestSigningKeyStore(t *testing.T, newStore func(t *testing.T) storage.SigningKeyStore) {
	ctx := context.Background()
	t0 := baseTime()

	t.Run("round trip", func(t *testing.T) {
		for _, state := range []string{storage.KeyStateNext, storage.KeyStateActive, storage.KeyStateRetired} {
			t.Run(state, func(t *testing.T) {
				s := newStore(t)
				wantSigningKeys(t, "empty store", s)
				k := newSigningKey(newID(t), state, t0)
				want := *k
				insertSigningKey(t, s, k)
				wantSigningKeys(t, "after insert", s, want)
			})
		}
	})

	// Every replica must list the keys in one order (it is the order of the
	// published JWKS, and so of its ETag): oldest first, then by kid. The kids
	// here sort the same in every collation.
	t.Run("list oldest first, kid breaking ties", func(t *testing.T) {
		s := newStore(t)
		sec := t0.Truncate(time.Second)
		// Inserted out of order; the sub-second steps catch a backend comparing
		// times as text of varying length.
		late := insertSigningKey(t, s, newSigningKey("k-late", storage.KeyStateNext, sec.Add(time.Second)))
		tieB := insertSigningKey(t, s, newSigningKey("k-tie-b", storage.KeyStateRetired, sec))
		half := insertSigningKey(t, s, newSigningKey("k-half", storage.KeyStateActive, sec.Add(500*time.Millisecond)))
		tieA := insertSigningKey(t, s, newSigningKey("k-tie-a", storage.KeyStateRetired, sec))
		first := insertSigningKey(t, s, newSigningKey("k-z-first", storage.KeyStateRetired, sec.Add(-time.Microsecond)))
		wantSigningKeys(t, "SigningKeys", s, *first, *tieA, *tieB, *half, *late)
	})

	t.Run("insert", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			key  *storage.SigningKey
			want error
		}{
			{"taken kid", newSigningKey("active", storage.KeyStateRetired, t0), storage.ErrConflict},
			{"taken kid in another state", newSigningKey("next", storage.KeyStateActive, t0), storage.ErrConflict},
			{"a second active key", newSigningKey("active-2", storage.KeyStateActive, t0), storage.ErrConflict},
			{"a second next key", newSigningKey("next-2", storage.KeyStateNext, t0), storage.ErrConflict},
			{"another retired key", newSigningKey("retired-2", storage.KeyStateRetired, t0.Add(time.Second)), nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				s := newStore(t)
				existing := []storage.SigningKey{
					*insertSigningKey(t, s, newSigningKey("retired", storage.KeyStateRetired, t0.Add(-2*time.Hour))),
					*insertSigningKey(t, s, newSigningKey("active", storage.KeyStateActive, t0.Add(-time.Hour))),
					*insertSigningKey(t, s, newSigningKey("next", storage.KeyStateNext, t0)),
				}
				want := *tc.key
				wantErr(t, "InsertSigningKey", s.InsertSigningKey(ctx, tc.key), tc.want)
				if tc.want == nil {
					existing = append(existing, want)
				}
				wantSigningKeys(t, "keys after the insert", s, existing...)
			})
		}
	})

	t.Run("promote", func(t *testing.T) {
		at := t0.Add(30 * 24 * time.Hour)
		removeAfter := at.Add(48 * time.Hour)
		for _, tc := range []struct {
			name      string
			hasActive bool
		}{
			{"over the active key", true},
			{"with no active key", false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				s := newStore(t)
				retired := *insertSigningKey(t, s, newSigningKey("retired", storage.KeyStateRetired, t0.Add(-time.Hour)))
				var active storage.SigningKey
				activeKID := ""
				if tc.hasActive {
					active = *insertSigningKey(t, s, newSigningKey("active", storage.KeyStateActive, t0))
					activeKID = active.KID
				}
				next := *insertSigningKey(t, s, newSigningKey("next", storage.KeyStateNext, t0.Add(time.Minute)))

				wantErr(t, "PromoteSigningKey", s.PromoteSigningKey(ctx, next.KID, activeKID, at, removeAfter), nil)

				promoted := next
				promoted.State = storage.KeyStateActive
				promoted.ActivatedAt = timePtr(at)
				want := []storage.SigningKey{retired}
				if tc.hasActive {
					old := active
					old.State = storage.KeyStateRetired
					old.RetiredAt = timePtr(at)
					old.RemoveAfter = timePtr(removeAfter)
					want = append(want, old)
				}
				want = append(want, promoted)
				wantSigningKeys(t, "keys after the promotion", s, want...)

				// The same promotion again finds the keys changed: it is refused.
				wantErr(t, "PromoteSigningKey again", s.PromoteSigningKey(ctx, next.KID, activeKID, at, removeAfter), storage.ErrPrecondition)
				wantSigningKeys(t, "keys after the refused repeat", s, want...)
			})
		}
	})

	// A refused promotion changes nothing, not even the half of it that alone
	// would have succeeded.
	t.Run("promote refused", func(t *testing.T) {
		for _, tc := range []struct {
			name            string
			next, activeKID string
		}{
			{"active key is not the one read", "next", "retired"},
			{"active key unknown", "next", "missing"},
			{"next key unknown", "missing", "active"},
			{"next key is retired", "retired", "active"},
			{"next key is the active key", "active", "active"},
			{"active key is the next key", "next", "next"},
			{"keys swapped", "active", "next"},
			{"an active key exists, none was read", "next", ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				s := newStore(t)
				want := []storage.SigningKey{
					*insertSigningKey(t, s, newSigningKey("retired", storage.KeyStateRetired, t0.Add(-time.Hour))),
					*insertSigningKey(t, s, newSigningKey("active", storage.KeyStateActive, t0)),
					*insertSigningKey(t, s, newSigningKey("next", storage.KeyStateNext, t0.Add(time.Minute))),
				}
				at := t0.Add(time.Hour)
				wantErr(t, "PromoteSigningKey", s.PromoteSigningKey(ctx, tc.next, tc.activeKID, at, at.Add(time.Hour)), storage.ErrPrecondition)
				wantSigningKeys(t, "keys after the refused promotion", s, want...)
			})
		}
	})

	t.Run("concurrent promoters: exactly one wins", func(t *testing.T) {
		for _, tc := range []struct {
			name      string
			hasActive bool
		}{
			{"over the active key", true},
			{"with no active key", false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				// Several rounds: one race may by chance run the promotions one after the other.
				for round := range 3 {
					s := newStore(t)
					activeKID := ""
					if tc.hasActive {
						activeKID = insertSigningKey(t, s, newSigningKey("active", storage.KeyStateActive, t0)).KID
					}
					next := insertSigningKey(t, s, newSigningKey("next", storage.KeyStateNext, t0.Add(time.Minute)))
					at := t0.Add(time.Hour)
					const n = 8
					errs := race(n, func(i int) error {
						// Each racer asks for its own RemoveAfter, to see whose write stayed.
						return s.PromoteSigningKey(ctx, next.KID, activeKID, at, at.Add(time.Duration(i+1)*time.Hour))
					})
					if ok := countNil(t, errs, storage.ErrPrecondition); ok != 1 {
						t.Fatalf("round %d: %d of %d concurrent promotions succeeded (errors %v), want exactly 1", round, ok, n, errs)
					}
					winner := 0
					for i, err := range errs {
						if err == nil {
							winner = i
						}
					}
					promoted := *next
					promoted.State = storage.KeyStateActive
					promoted.ActivatedAt = timePtr(at)
					var want []storage.SigningKey
					if tc.hasActive {
						old := *newSigningKey("active", storage.KeyStateActive, t0)
						old.State = storage.KeyStateRetired
						old.RetiredAt = timePtr(at)
						old.RemoveAfter = timePtr(at.Add(time.Duration(winner+1) * time.Hour))
						want = append(want, old)
					}
					want = append(want, promoted)
					wantSigningKeys(t, fmt.Sprintf("round %d: keys after the race", round), s, want...)
				}
			})
		}
	})

	// Replicas that find no active (or no next) key each create one at once:
	// the store keeps exactly one and refuses the others with ErrConflict.
	t.Run("concurrent inserts keep one key per state", func(t *testing.T) {
		for _, state := range []string{storage.KeyStateActive, storage.KeyStateNext} {
			t.Run(state, func(t *testing.T) {
				s := newStore(t)
				const n = 8
				keys := make([]*storage.SigningKey, n)
				for i := range keys {
					keys[i] = newSigningKey(newID(t), state, t0)
				}
				errs := race(n, func(i int) error { return s.InsertSigningKey(ctx, keys[i]) })
				if ok := countNil(t, errs, storage.ErrConflict); ok != 1 {
					t.Fatalf("%d of %d concurrent inserts succeeded (errors %v), want exactly 1", ok, n, errs)
				}
				for i, err := range errs {
					if err == nil {
						wantSigningKeys(t, "keys after the race", s, *keys[i])
					}
				}
			})
		}
	})

	t.Run("delete removable keys", func(t *testing.T) {
		sec := t0.Truncate(time.Second)
		withRemoveAfter := func(k *storage.SigningKey, at *time.Time) *storage.SigningKey {
			k.RemoveAfter = at
			return k
		}
		for _, tc := range []struct {
			name   string
			before time.Time
			want   []string // the kids deleted
		}{
			{"before every RemoveAfter", sec.Add(-time.Hour), nil},
			{"at a RemoveAfter", sec, nil},
			{"a microsecond after one", sec.Add(time.Microsecond), []string{"r-whole"}},
			// Sub-second instants catch a backend comparing times as text of varying length.
			{"between two within a second", sec.Add(600 * time.Millisecond), []string{"r-whole", "r-half"}},
			{"after every RemoveAfter", sec.Add(time.Hour), []string{"r-whole", "r-half", "r-later"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				s := newStore(t)
				var kept []storage.SigningKey
				deleted := map[string]bool{}
				for _, kid := range tc.want {
					deleted[kid] = true
				}
				for _, k := range []*storage.SigningKey{
					withRemoveAfter(newSigningKey("r-whole", storage.KeyStateRetired, t0.Add(-4*time.Hour)), timePtr(sec)),
					withRemoveAfter(newSigningKey("r-half", storage.KeyStateRetired, t0.Add(-3*time.Hour)), timePtr(sec.Add(500*time.Millisecond))),
					withRemoveAfter(newSigningKey("r-later", storage.KeyStateRetired, t0.Add(-2*time.Hour)), timePtr(sec.Add(time.Minute))),
					// Never deleted: a retired key without RemoveAfter, and keys
					// that are not retired whatever their RemoveAfter says.
					withRemoveAfter(newSigningKey("r-forever", storage.KeyStateRetired, t0.Add(-time.Hour)), nil),
					withRemoveAfter(newSigningKey("active", storage.KeyStateActive, t0), timePtr(sec.Add(-2*time.Hour))),
					withRemoveAfter(newSigningKey("next", storage.KeyStateNext, t0.Add(time.Minute)), timePtr(sec.Add(-2*time.Hour))),
				} {
					insertSigningKey(t, s, k)
					if !deleted[k.KID] {
						kept = append(kept, *k)
					}
				}
				n, err := s.DeleteSigningKeysRemovableBefore(ctx, tc.before)
				wantErr(t, "DeleteSigningKeysRemovableBefore", err, nil)
				if n != int64(len(tc.want)) {
					t.Fatalf("DeleteSigningKeysRemovableBefore = %d, want %d", n, len(tc.want))
				}
				wantSigningKeys(t, "keys left", s, kept...)
				n, err = s.DeleteSigningKeysRemovableBefore(ctx, tc.before)
				wantErr(t, "DeleteSigningKeysRemovableBefore again", err, nil)
				if n != 0 {
					t.Fatalf("DeleteSigningKeysRemovableBefore again = %d, want 0", n)
				}
			})
		}
	})
}
