package storagetest

import (
	"context"
	"testing"
	"time"

	"github.com/arsaka/puguh/storage"
)

func normServiceAccount(sa *storage.ServiceAccount) {
	sa.CreatedAt = micro(sa.CreatedAt)
	sa.PreviousSecretEndsAt = microPtr(sa.PreviousSecretEndsAt)
	sa.SecretRotatedAt = microPtr(sa.SecretRotatedAt)
}

func normServiceAccounts(sas *[]storage.ServiceAccount) {
	for i := range *sas {
		normServiceAccount(&(*sas)[i])
	}
}

// newServiceAccount returns an unsaved service account of orgID.
func newServiceAccount(t *testing.T, orgID, createdBy string, createdAt time.Time) *storage.ServiceAccount {
	t.Helper()
	id := newID(t)
	return &storage.ServiceAccount{
		ID:             id,
		OrganizationID: orgID,
		Name:           "ci-" + id[:6],
		Role:           storage.RoleAdmin,
		ClientID:       "sa_" + id,
		SecretHash:     []byte("secret-hash-" + id),
		CreatedBy:      createdBy,
		CreatedAt:      createdAt,
	}
}

func createServiceAccount(t *testing.T, s storage.ServiceAccountStore, orgID, createdBy string, createdAt time.Time) *storage.ServiceAccount {
	t.Helper()
	sa := newServiceAccount(t, orgID, createdBy, createdAt)
	if err := s.CreateServiceAccount(context.Background(), sa); err != nil {
		t.Fatalf("CreateServiceAccount: %v", err)
	}
	return sa
}

// TestServiceAccountStore checks a storage.ServiceAccountStore; newStore returns a fresh, empty store.
func TestServiceAccountStore(t *testing.T, newStore func(t *testing.T) ServiceAccountStores) {
	ctx := context.Background()

	t.Run("round trip", func(t *testing.T) {
		s := newStore(t)
		u, org := registerUser(t, s)
		sa := newServiceAccount(t, org.ID, u.ID, baseTime())
		want := *sa
		wantErr(t, "CreateServiceAccount", s.CreateServiceAccount(ctx, sa), nil)
		got, err := s.ServiceAccountByID(ctx, org.ID, sa.ID)
		wantErr(t, "ServiceAccountByID", err, nil)
		wantEqual(t, "ServiceAccountByID", *got, want, normServiceAccount)
		got, err = s.ServiceAccountByClientID(ctx, sa.ClientID)
		wantErr(t, "ServiceAccountByClientID", err, nil)
		wantEqual(t, "ServiceAccountByClientID", *got, want, normServiceAccount)
	})

	t.Run("create errors", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			edit func(sa, existing *storage.ServiceAccount)
			want error
		}{
			{"taken id", func(sa, existing *storage.ServiceAccount) { sa.ID = existing.ID }, storage.ErrConflict},
			{"taken client id", func(sa, existing *storage.ServiceAccount) { sa.ClientID = existing.ClientID }, storage.ErrConflict},
			{"unknown organization", func(sa, _ *storage.ServiceAccount) { sa.OrganizationID = "missing" }, storage.ErrNotFound},
		} {
			t.Run(tc.name, func(t *testing.T) {
				s := newStore(t)
				u, org := registerUser(t, s)
				existing := createServiceAccount(t, s, org.ID, u.ID, baseTime())
				sa := newServiceAccount(t, org.ID, u.ID, baseTime())
				tc.edit(sa, existing)
				wantErr(t, "CreateServiceAccount", s.CreateServiceAccount(ctx, sa), tc.want)
			})
		}
	})

	t.Run("not found", func(t *testing.T) {
		s := newStore(t)
		u, org := registerUser(t, s)
		_, other := registerUser(t, s)
		sa := createServiceAccount(t, s, org.ID, u.ID, baseTime())
		for _, tc := range []struct {
			name string
			call func() error
		}{
			{"ServiceAccountByID", func() error { _, err := s.ServiceAccountByID(ctx, org.ID, "missing"); return err }},
			{"ServiceAccountByID of another organization", func() error { _, err := s.ServiceAccountByID(ctx, other.ID, sa.ID); return err }},
			{"ServiceAccountByClientID", func() error { _, err := s.ServiceAccountByClientID(ctx, "missing"); return err }},
			{"DeleteServiceAccount", func() error { return s.DeleteServiceAccount(ctx, org.ID, "missing", baseTime()) }},
			{"DeleteServiceAccount of another organization", func() error { return s.DeleteServiceAccount(ctx, other.ID, sa.ID, baseTime()) }},
		} {
			t.Run(tc.name, func(t *testing.T) { wantErr(t, tc.name, tc.call(), storage.ErrNotFound) })
		}
		_, err := s.ServiceAccountByID(ctx, org.ID, sa.ID)
		wantErr(t, "ServiceAccountByID after refused deletes", err, nil)
	})

	t.Run("list oldest first", func(t *testing.T) {
		s := newStore(t)
		u, org := registerUser(t, s)
		_, other := registerUser(t, s)
		second := createServiceAccount(t, s, org.ID, u.ID, baseTime().Add(time.Minute))
		first := createServiceAccount(t, s, org.ID, u.ID, baseTime())
		createServiceAccount(t, s, other.ID, u.ID, baseTime())
		list, err := s.ListServiceAccounts(ctx, org.ID)
		wantErr(t, "ListServiceAccounts", err, nil)
		wantEqual(t, "ListServiceAccounts", list, []storage.ServiceAccount{*first, *second}, normServiceAccounts)
		empty, err := s.ListServiceAccounts(ctx, "missing")
		wantErr(t, "ListServiceAccounts of unknown organization", err, nil)
		if empty == nil || len(empty) != 0 {
			t.Fatalf("ListServiceAccounts of unknown organization = %#v, want an empty list", empty)
		}
	})

	t.Run("delete revokes the account's keys", func(t *testing.T) {
		s := newStore(t)
		u, org := registerUser(t, s)
		sa := createServiceAccount(t, s, org.ID, u.ID, baseTime())
		keep := createServiceAccount(t, s, org.ID, u.ID, baseTime())
		withAccount := func(sa *storage.ServiceAccount) *storage.APIKey {
			k := newAPIKey(t, org.ID, u.ID, baseTime())
			k.ServiceAccountID = &sa.ID
			wantErr(t, "CreateAPIKey", s.CreateAPIKey(ctx, k), nil)
			return k
		}
		live := withAccount(sa)
		earlier := withAccount(sa)
		earlierRevokedAt := baseTime().Add(time.Minute)
		wantErr(t, "RevokeAPIKey", s.RevokeAPIKey(ctx, org.ID, earlier.ID, earlierRevokedAt), nil)
		otherAccountKey := withAccount(keep)
		userKey := createAPIKey(t, s, org.ID, u.ID, baseTime())

		deletedAt := baseTime().Add(time.Hour)
		wantErr(t, "DeleteServiceAccount", s.DeleteServiceAccount(ctx, org.ID, sa.ID, deletedAt), nil)

		_, err := s.ServiceAccountByID(ctx, org.ID, sa.ID)
		wantErr(t, "ServiceAccountByID after delete", err, storage.ErrNotFound)
		_, err = s.ServiceAccountByClientID(ctx, sa.ClientID)
		wantErr(t, "ServiceAccountByClientID after delete", err, storage.ErrNotFound)
		wantErr(t, "DeleteServiceAccount again", s.DeleteServiceAccount(ctx, org.ID, sa.ID, deletedAt), storage.ErrNotFound)

		for _, tc := range []struct {
			name        string
			key         *storage.APIKey
			wantRevoked *time.Time
		}{
			{"live key of the account", live, &deletedAt},
			{"key revoked before keeps its time", earlier, &earlierRevokedAt},
			{"key of another account", otherAccountKey, nil},
			{"key of a user", userKey, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := s.APIKeyByHash(ctx, tc.key.Hash)
				wantErr(t, "APIKeyByHash", err, nil)
				switch {
				case tc.wantRevoked == nil && got.RevokedAt != nil:
					t.Fatalf("RevokedAt = %v, want not revoked", *got.RevokedAt)
				case tc.wantRevoked != nil && (got.RevokedAt == nil || !sameTime(*got.RevokedAt, *tc.wantRevoked)):
					t.Fatalf("RevokedAt = %v, want %v", got.RevokedAt, *tc.wantRevoked)
				}
			})
		}
		list, err := s.ListAPIKeys(ctx, org.ID)
		wantErr(t, "ListAPIKeys", err, nil)
		if len(list) != 2 {
			t.Fatalf("ListAPIKeys after delete has %d keys, want the 2 not of the deleted account", len(list))
		}
	})
}
