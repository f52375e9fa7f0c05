package storagetest

import (
	"context"
	"testing"
	"time"

	"github.com/arsaka/puguh/storage"
)

func normApplication(a *storage.Application) {
	a.CreatedAt = micro(a.CreatedAt)
	a.UpdatedAt = micro(a.UpdatedAt)
}

func normApplications(as *[]storage.Application) {
	for i := range *as {
		normApplication(&(*as)[i])
	}
}

// newApplication returns an unsaved confidential client of orgID.
func newApplication(t *testing.T, orgID string, createdAt time.Time) *storage.Application {
	t.Helper()
	id := newID(t)
	return &storage.Application{
		ID:                      id,
		OrganizationID:          orgID,
		Name:                    "App " + id[:6],
		SecretHash:              []byte("secret-hash-" + id),
		RedirectURIs:            []string{"https://app.example.com/callback", "http://localhost:3000/cb"},
		PostLogoutRedirectURIs:  []string{"https://app.example.com/"},
		GrantTypes:              []string{"authorization_code", "refresh_token"},
		ResponseTypes:           []string{"code"},
		Scopes:                  []string{"openid", "profile", "email", "offline_access", "read:user"},
		TokenEndpointAuthMethod: "client_secret_basic",
		Trusted:                 true,
		CreatedAt:               createdAt,
		UpdatedAt:               createdAt.Add(time.Second),
	}
}

func createApplication(t *testing.T, s storage.ApplicationStore, orgID string, createdAt time.Time) *storage.Application {
	t.Helper()
	a := newApplication(t, orgID, createdAt)
	if err := s.CreateApplication(context.Background(), a); err != nil {
		t.Fatalf("CreateApplication: %v", err)
	}
	return a
}

// TestApplicationStore checks a storage.ApplicationStore; newStore returns a fresh, empty store.
func TestApplicationStore(t *testing.T, newStore func(t *testing.T) ApplicationStores) {
	ctx := context.Background()

	t.Run("round trip", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			edit func(a *storage.Application)
			want func(a *storage.Application)
		}{
			{"confidential", func(*storage.Application) {}, func(*storage.Application) {}},
			{"public without lists", func(a *storage.Application) {
				a.SecretHash = nil
				a.Public = true
				a.Trusted = false
				a.TokenEndpointAuthMethod = "none"
				a.RedirectURIs, a.PostLogoutRedirectURIs, a.GrantTypes, a.ResponseTypes, a.Scopes = nil, nil, nil, nil, nil
			}, func(a *storage.Application) {
				// Lists read back empty, never nil.
				a.RedirectURIs, a.PostLogoutRedirectURIs, a.GrantTypes, a.ResponseTypes, a.Scopes = []string{}, []string{}, []string{}, []string{}, []string{}
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				s := newStore(t)
				_, org := registerUser(t, s)
				a := newApplication(t, org.ID, baseTime())
				tc.edit(a)
				want := *a
				tc.want(&want)
				wantErr(t, "CreateApplication", s.CreateApplication(ctx, a), nil)
				got, err := s.ApplicationByID(ctx, a.ID)
				wantErr(t, "ApplicationByID", err, nil)
				wantEqual(t, "ApplicationByID", *got, want, normApplication)
				list, err := s.ListApplications(ctx, org.ID)
				wantErr(t, "ListApplications", err, nil)
				wantEqual(t, "ListApplications", list, []storage.Application{want}, normApplications)
			})
		}
	})

	t.Run("create errors", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			edit func(a, existing *storage.Application)
			want error
		}{
			{"taken id", func(a, existing *storage.Application) { a.ID = existing.ID }, storage.ErrConflict},
			{"unknown organization", func(a, _ *storage.Application) { a.OrganizationID = "missing" }, storage.ErrNotFound},
		} {
			t.Run(tc.name, func(t *testing.T) {
				s := newStore(t)
				_, org := registerUser(t, s)
				existing := createApplication(t, s, org.ID, baseTime())
				a := newApplication(t, org.ID, baseTime())
				tc.edit(a, existing)
				wantErr(t, "CreateApplication", s.CreateApplication(ctx, a), tc.want)
			})
		}
	})

	t.Run("not found", func(t *testing.T) {
		s := newStore(t)
		_, org := registerUser(t, s)
		_, other := registerUser(t, s)
		a := createApplication(t, s, org.ID, baseTime())
		for _, tc := range []struct {
			name string
			call func() error
		}{
			{"ApplicationByID", func() error { _, err := s.ApplicationByID(ctx, "missing"); return err }},
			{"UpdateApplication", func() error {
				b := *a
				b.ID = "missing"
				return s.UpdateApplication(ctx, &b)
			}},
			{"UpdateApplication of another organization", func() error {
				b := *a
				b.OrganizationID = other.ID
				b.Name = "hijacked"
				return s.UpdateApplication(ctx, &b)
			}},
			{"DeleteApplication", func() error { return s.DeleteApplication(ctx, org.ID, "missing") }},
			{"DeleteApplication of another organization", func() error { return s.DeleteApplication(ctx, other.ID, a.ID) }},
		} {
			t.Run(tc.name, func(t *testing.T) { wantErr(t, tc.name, tc.call(), storage.ErrNotFound) })
		}
		got, err := s.ApplicationByID(ctx, a.ID)
		wantErr(t, "ApplicationByID after refused changes", err, nil)
		wantEqual(t, "ApplicationByID after refused changes", *got, *a, normApplication)
	})

	t.Run("update", func(t *testing.T) {
		s := newStore(t)
		_, org := registerUser(t, s)
		a := createApplication(t, s, org.ID, baseTime())
		b := &storage.Application{
			ID:                      a.ID,
			OrganizationID:          a.OrganizationID,
			Name:                    "Renamed",
			SecretHash:              []byte("rotated"),
			RedirectURIs:            []string{"https://new.example.com/cb"},
			PostLogoutRedirectURIs:  nil,
			GrantTypes:              []string{"client_credentials"},
			ResponseTypes:           []string{},
			Scopes:                  []string{"read:resources"},
			TokenEndpointAuthMethod: "client_secret_post",
			Public:                  false,
			Trusted:                 false,
			CreatedAt:               baseTime().Add(-time.Hour), // not mutable: ignored
			UpdatedAt:               baseTime().Add(time.Hour),
		}
		wantErr(t, "UpdateApplication", s.UpdateApplication(ctx, b), nil)
		if b.Version != 1 {
			t.Fatalf("Version after the first update = %d, want 1", b.Version)
		}
		want := *b
		want.CreatedAt = a.CreatedAt
		want.PostLogoutRedirectURIs = []string{}
		got, err := s.ApplicationByID(ctx, a.ID)
		wantErr(t, "ApplicationByID", err, nil)
		wantEqual(t, "ApplicationByID", *got, want, normApplication)
	})

	// Two writers read version 0; the first write wins, the second is
	// refused with ErrPrecondition and changes nothing, and a write from a
	// fresh read succeeds.
	t.Run("update applies only to the version read", func(t *testing.T) {
		s := newStore(t)
		_, org := registerUser(t, s)
		a := createApplication(t, s, org.ID, baseTime())
		first, second := *a, *a
		first.Name, second.Name = "first", "second"
		wantErr(t, "UpdateApplication (first)", s.UpdateApplication(ctx, &first), nil)
		wantErr(t, "UpdateApplication (stale)", s.UpdateApplication(ctx, &second), storage.ErrPrecondition)
		got, err := s.ApplicationByID(ctx, a.ID)
		wantErr(t, "ApplicationByID", err, nil)
		if got.Name != "first" || got.Version != 1 {
			t.Fatalf("after a refused stale write: name %q version %d, want first, 1", got.Name, got.Version)
		}
		got.Name = "third"
		wantErr(t, "UpdateApplication (fresh)", s.UpdateApplication(ctx, got), nil)
		missing := *a
		missing.ID = "missing"
		wantErr(t, "UpdateApplication of a missing application", s.UpdateApplication(ctx, &missing), storage.ErrNotFound)
	})

	t.Run("list oldest first", func(t *testing.T) {
		s := newStore(t)
		_, org := registerUser(t, s)
		_, other := registerUser(t, s)
		second := createApplication(t, s, org.ID, baseTime().Add(time.Minute))
		first := createApplication(t, s, org.ID, baseTime())
		createApplication(t, s, other.ID, baseTime())
		list, err := s.ListApplications(ctx, org.ID)
		wantErr(t, "ListApplications", err, nil)
		wantEqual(t, "ListApplications", list, []storage.Application{*first, *second}, normApplications)
		empty, err := s.ListApplications(ctx, "missing")
		wantErr(t, "ListApplications of unknown organization", err, nil)
		if empty == nil || len(empty) != 0 {
			t.Fatalf("ListApplications of unknown organization = %#v, want an empty list", empty)
		}
	})

	t.Run("delete", func(t *testing.T) {
		s := newStore(t)
		_, org := registerUser(t, s)
		a := createApplication(t, s, org.ID, baseTime())
		keep := createApplication(t, s, org.ID, baseTime())
		wantErr(t, "DeleteApplication", s.DeleteApplication(ctx, org.ID, a.ID), nil)
		_, err := s.ApplicationByID(ctx, a.ID)
		wantErr(t, "ApplicationByID after delete", err, storage.ErrNotFound)
		wantErr(t, "DeleteApplication again", s.DeleteApplication(ctx, org.ID, a.ID), storage.ErrNotFound)
		_, err = s.ApplicationByID(ctx, keep.ID)
		wantErr(t, "ApplicationByID of the other application", err, nil)
	})
}
