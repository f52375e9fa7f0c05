package storagetest

import (
	"context"
	"testing"
	"time"

	"github.com/arsaka/puguh/storage"
)

func normAPIKey(k *storage.APIKey) {
	k.CreatedAt = micro(k.CreatedAt)
	k.LastUsedAt = microPtr(k.LastUsedAt)
	k.ExpiresAt = microPtr(k.ExpiresAt)
	k.RevokedAt = microPtr(k.RevokedAt)
	k.RotationEndsAt = microPtr(k.RotationEndsAt)
}

func normAPIKeys(ks *[]storage.APIKey) {
	for i := range *ks {
		normAPIKey(&(*ks)[i])
	}
}

// newAPIKey returns an unsaved key of orgID with a unique id and hash.
func newAPIKey(t *testing.T, orgID, createdBy string, createdAt time.Time) *storage.APIKey {
	t.Helper()
	id := newID(t)
	return &storage.APIKey{
		ID:             id,
		OrganizationID: orgID,
		Name:           "key " + id,
		Prefix:         "pgh_" + id[:6],
		Hash:           []byte("hash-of-" + id),
		Permissions:    []string{"iam.users.read", "organization.members.read"},
		CreatedBy:      createdBy,
		CreatedAt:      createdAt,
	}
}

// createAPIKey stores a new key of orgID created at createdAt.
func createAPIKey(t *testing.T, s storage.APIKeyStore, orgID, createdBy string, createdAt time.Time) *storage.APIKey {
	t.Helper()
	k := newAPIKey(t, orgID, createdBy, createdAt)
	if err := s.CreateAPIKey(context.Background(), k); err != nil {
		t.Fatalf("CreateAPIKey: %v", err)
	}
	return k
}

func timePtr(t time.Time) *time.Time { return &t }

// TestAPIKeyStore checks a storage.APIKeyStore; newStore returns a fresh, empty store.
func TestAPIKeyStore(t *testing.T, newStore func(t *testing.T) APIKeyStores) {
	ctx := context.Background()

	t.Run("round trip", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			edit func(k *storage.APIKey)
		}{
			{"every field", func(k *storage.APIKey) {
				k.LastUsedAt = timePtr(baseTime().Add(time.Minute))
				k.ExpiresAt = timePtr(baseTime().Add(90 * 24 * time.Hour))
				k.Role = "admin"
			}},
			{"no permissions", func(k *storage.APIKey) { k.Permissions = nil }},
			{"empty permissions", func(k *storage.APIKey) { k.Permissions = []string{} }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				s := newStore(t)
				u, org := registerUser(t, s)
				k := newAPIKey(t, org.ID, u.ID, baseTime())
				tc.edit(k)
				want := *k
				if want.Permissions == nil {
					want.Permissions = []string{} // read back as an empty list, never nil
				}
				wantErr(t, "CreateAPIKey", s.CreateAPIKey(ctx, k), nil)
				got, err := s.APIKeyByID(ctx, org.ID, k.ID)
				wantErr(t, "APIKeyByID", err, nil)
				wantEqual(t, "APIKeyByID", *got, want, normAPIKey)
				got, err = s.APIKeyByHash(ctx, k.Hash)
				wantErr(t, "APIKeyByHash", err, nil)
				wantEqual(t, "APIKeyByHash", *got, want, normAPIKey)
				list, err := s.ListAPIKeys(ctx, org.ID)
				wantErr(t, "ListAPIKeys", err, nil)
				wantEqual(t, "ListAPIKeys", list, []storage.APIKey{want}, normAPIKeys)
			})
		}
	})

	t.Run("create errors", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			edit func(k, existing *storage.APIKey)
			want error
		}{
			{"taken id", func(k, existing *storage.APIKey) { k.ID = existing.ID }, storage.ErrConflict},
			{"taken hash", func(k, existing *storage.APIKey) { k.Hash = existing.Hash }, storage.ErrConflict},
			{"unknown organization", func(k, _ *storage.APIKey) { k.OrganizationID = "missing" }, storage.ErrNotFound},
			{"unknown service account", func(k, _ *storage.APIKey) { sa := "missing"; k.ServiceAccountID = &sa }, storage.ErrNotFound},
		} {
			t.Run(tc.name, func(t *testing.T) {
				s := newStore(t)
				u, org := registerUser(t, s)
				existing := createAPIKey(t, s, org.ID, u.ID, baseTime())
				k := newAPIKey(t, org.ID, u.ID, baseTime())
				tc.edit(k, existing)
				wantErr(t, "CreateAPIKey", s.CreateAPIKey(ctx, k), tc.want)
			})
		}
	})

	t.Run("not found", func(t *testing.T) {
		s := newStore(t)
		u, org := registerUser(t, s)
		_, other := registerUser(t, s)
		k := createAPIKey(t, s, org.ID, u.ID, baseTime())
		for _, tc := range []struct {
			name string
			call func() error
		}{
			{"APIKeyByHash", func() error { _, err := s.APIKeyByHash(ctx, []byte("unknown")); return err }},
			{"APIKeyByID", func() error { _, err := s.APIKeyByID(ctx, org.ID, "missing"); return err }},
			{"APIKeyByID of another organization", func() error { _, err := s.APIKeyByID(ctx, other.ID, k.ID); return err }},
			{"RevokeAPIKey", func() error { return s.RevokeAPIKey(ctx, org.ID, "missing", baseTime()) }},
			{"RevokeAPIKey of another organization", func() error { return s.RevokeAPIKey(ctx, other.ID, k.ID, baseTime()) }},
		} {
			t.Run(tc.name, func(t *testing.T) { wantErr(t, tc.name, tc.call(), storage.ErrNotFound) })
		}
		got, err := s.APIKeyByID(ctx, org.ID, k.ID)
		wantErr(t, "APIKeyByID", err, nil)
		if got.RevokedAt != nil {
			t.Fatal("another organization revoked the key")
		}
	})

	t.Run("list hides revoked keys, newest first", func(t *testing.T) {
		s := newStore(t)
		u, org := registerUser(t, s)
		_, other := registerUser(t, s)
		oldest := createAPIKey(t, s, org.ID, u.ID, baseTime())
		revoked := createAPIKey(t, s, org.ID, u.ID, baseTime().Add(time.Second))
		newest := createAPIKey(t, s, org.ID, u.ID, baseTime().Add(2*time.Second))
		createAPIKey(t, s, other.ID, u.ID, baseTime().Add(3*time.Second))

		revokedAt := baseTime().Add(time.Hour)
		wantErr(t, "RevokeAPIKey", s.RevokeAPIKey(ctx, org.ID, revoked.ID, revokedAt), nil)
		wantErr(t, "RevokeAPIKey again", s.RevokeAPIKey(ctx, org.ID, revoked.ID, revokedAt.Add(time.Hour)), storage.ErrNotFound)

		list, err := s.ListAPIKeys(ctx, org.ID)
		wantErr(t, "ListAPIKeys", err, nil)
		wantEqual(t, "ListAPIKeys", list, []storage.APIKey{*newest, *oldest}, normAPIKeys)

		// Lookups still see the revoked key, with the first revocation time.
		got, err := s.APIKeyByHash(ctx, revoked.Hash)
		wantErr(t, "APIKeyByHash", err, nil)
		if got.RevokedAt == nil || !sameTime(*got.RevokedAt, revokedAt) {
			t.Fatalf("RevokedAt = %v, want %v", got.RevokedAt, revokedAt)
		}

		empty, err := s.ListAPIKeys(ctx, "missing")
		wantErr(t, "ListAPIKeys of unknown organization", err, nil)
		if empty == nil || len(empty) != 0 {
			t.Fatalf("ListAPIKeys of unknown organization = %#v, want an empty list", empty)
		}
	})

	t.Run("touch never moves last use backwards", func(t *testing.T) {
		t0 := baseTime()
		for _, tc := range []struct {
			name    string
			initial *time.Time
			touch   time.Time
			want    time.Time
		}{
			{"first use", nil, t0, t0},
			{"later use", timePtr(t0), t0.Add(time.Minute), t0.Add(time.Minute)},
			{"earlier use", timePtr(t0), t0.Add(-time.Minute), t0},
			// Sub-second steps catch a backend comparing times as text of varying length.
			{"later by a fraction of a second", timePtr(t0.Truncate(time.Second)), t0.Truncate(time.Second).Add(500 * time.Millisecond), t0.Truncate(time.Second).Add(500 * time.Millisecond)},
			{"earlier by a fraction of a second", timePtr(t0.Truncate(time.Second).Add(500 * time.Millisecond)), t0.Truncate(time.Second), t0.Truncate(time.Second).Add(500 * time.Millisecond)},
			{"later by a microsecond", timePtr(t0), t0.Add(time.Microsecond), t0.Add(time.Microsecond)},
		} {
			t.Run(tc.name, func(t *testing.T) {
				s := newStore(t)
				u, org := registerUser(t, s)
				k := newAPIKey(t, org.ID, u.ID, t0)
				k.LastUsedAt = tc.initial
				wantErr(t, "CreateAPIKey", s.CreateAPIKey(ctx, k), nil)
				untouched := createAPIKey(t, s, org.ID, u.ID, t0)
				// An unknown id in the batch is skipped, not an error.
				wantErr(t, "TouchAPIKeys", s.TouchAPIKeys(ctx, map[string]time.Time{k.ID: tc.touch, "missing": tc.touch}), nil)
				got, err := s.APIKeyByID(ctx, org.ID, k.ID)
				wantErr(t, "APIKeyByID", err, nil)
				if got.LastUsedAt == nil || !sameTime(*got.LastUsedAt, tc.want) {
					t.Fatalf("LastUsedAt = %v, want %v", got.LastUsedAt, tc.want)
				}
				other, err := s.APIKeyByID(ctx, org.ID, untouched.ID)
				wantErr(t, "APIKeyByID", err, nil)
				if other.LastUsedAt != nil {
					t.Fatalf("a key outside the batch was touched: %v", other.LastUsedAt)
				}
			})
		}
	})

	t.Run("touch many keys", func(t *testing.T) {
		s := newStore(t)
		u, org := registerUser(t, s)
		batch := map[string]time.Time{}
		for i := 0; i < 20; i++ {
			k := createAPIKey(t, s, org.ID, u.ID, baseTime())
			batch[k.ID] = baseTime().Add(time.Duration(i) * time.Second)
		}
		wantErr(t, "TouchAPIKeys", s.TouchAPIKeys(ctx, batch), nil)
		wantErr(t, "TouchAPIKeys with nothing", s.TouchAPIKeys(ctx, nil), nil)
		for id, at := range batch {
			got, err := s.APIKeyByID(ctx, org.ID, id)
			wantErr(t, "APIKeyByID", err, nil)
			if got.LastUsedAt == nil || !sameTime(*got.LastUsedAt, at) {
				t.Fatalf("key %s: LastUsedAt = %v, want %v", id, got.LastUsedAt, at)
			}
		}
	})
}
