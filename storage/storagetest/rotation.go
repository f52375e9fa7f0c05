package storagetest

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/arsaka/puguh/storage"
)

// TestCredentialRotation checks RotateAPIKey and RotateServiceAccountSecret;
// newStore returns a fresh, empty store.
func TestCredentialRotation(t *testing.T, newStore func(t *testing.T) ServiceAccountStores) {
	ctx := context.Background()

	t.Run("rotate an API key", func(t *testing.T) {
		s := newStore(t)
		u, org := registerUser(t, s)
		old := createAPIKey(t, s, org.ID, u.ID, baseTime())
		next := newAPIKey(t, org.ID, u.ID, baseTime().Add(time.Hour))
		ends := baseTime().Add(25 * time.Hour)
		wantErr(t, "RotateAPIKey", s.RotateAPIKey(ctx, org.ID, old.ID, next, ends), nil)

		got, err := s.APIKeyByHash(ctx, old.Hash)
		wantErr(t, "APIKeyByHash old", err, nil)
		if got.ReplacedBy == nil || *got.ReplacedBy != next.ID || got.RotationEndsAt == nil || !got.RotationEndsAt.Equal(micro(ends)) {
			t.Fatalf("old key after rotation: replaced_by %v, rotation_ends_at %v", got.ReplacedBy, got.RotationEndsAt)
		}
		n, err := s.APIKeyByHash(ctx, next.Hash)
		wantErr(t, "APIKeyByHash new", err, nil)
		if n.ReplacedBy != nil || n.RotationEndsAt != nil || n.Name != next.Name {
			t.Fatalf("new key: %+v", n)
		}
		// Once rotated, never again; another organization's key is not found.
		again := newAPIKey(t, org.ID, u.ID, baseTime())
		wantErr(t, "RotateAPIKey twice", s.RotateAPIKey(ctx, org.ID, old.ID, again, ends), storage.ErrNotFound)
		_, other := registerUser(t, s)
		wantErr(t, "RotateAPIKey of another organization", s.RotateAPIKey(ctx, other.ID, next.ID, again, ends), storage.ErrNotFound)
		if _, err := s.APIKeyByHash(ctx, again.Hash); err == nil {
			t.Fatal("a refused rotation stored its new key")
		}
		// A revoked key is not rotated.
		revoked := createAPIKey(t, s, org.ID, u.ID, baseTime())
		wantErr(t, "RevokeAPIKey", s.RevokeAPIKey(ctx, org.ID, revoked.ID, baseTime()), nil)
		wantErr(t, "RotateAPIKey revoked", s.RotateAPIKey(ctx, org.ID, revoked.ID, again, ends), storage.ErrNotFound)
		// Both keys are listed until revoked.
		list, err := s.ListAPIKeys(ctx, org.ID)
		wantErr(t, "ListAPIKeys", err, nil)
		if len(list) != 2 {
			t.Fatalf("listed %d keys, want the old and the new", len(list))
		}
	})

	t.Run("rotate a service account's secret", func(t *testing.T) {
		s := newStore(t)
		u, org := registerUser(t, s)
		sa := createServiceAccount(t, s, org.ID, u.ID, baseTime())
		at, ends := baseTime().Add(time.Hour), baseTime().Add(2*time.Hour)
		wantErr(t, "RotateServiceAccountSecret", s.RotateServiceAccountSecret(ctx, org.ID, sa.ID, []byte("new-hash"), at, ends), nil)
		got, err := s.ServiceAccountByClientID(ctx, sa.ClientID)
		wantErr(t, "ServiceAccountByClientID", err, nil)
		if !bytes.Equal(got.SecretHash, []byte("new-hash")) || !bytes.Equal(got.PreviousSecretHash, sa.SecretHash) ||
			got.PreviousSecretEndsAt == nil || !got.PreviousSecretEndsAt.Equal(micro(ends)) ||
			got.SecretRotatedAt == nil || !got.SecretRotatedAt.Equal(micro(at)) {
			t.Fatalf("after rotation: %+v", got)
		}
		_, other := registerUser(t, s)
		wantErr(t, "RotateServiceAccountSecret of another organization",
			s.RotateServiceAccountSecret(ctx, other.ID, sa.ID, []byte("x"), at, ends), storage.ErrNotFound)
	})
}
