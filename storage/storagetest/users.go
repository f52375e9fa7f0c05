package storagetest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arsaka/puguh/storage"
)

func normUser(u *storage.User) {
	u.CreatedAt = micro(u.CreatedAt)
	u.UpdatedAt = micro(u.UpdatedAt)
}

// TestUserStore checks a storage.UserStore; newStore returns a fresh, empty store.
func TestUserStore(t *testing.T, newStore func(t *testing.T) storage.UserStore) {
	ctx := context.Background()

	t.Run("register round trip", func(t *testing.T) {
		s := newStore(t)
		u, org := newUser(t, "alice@example.com")
		u.Disabled = true
		want := *u
		if err := s.Register(ctx, u, org); err != nil {
			t.Fatalf("Register: %v", err)
		}
		got, err := s.UserByID(ctx, u.ID)
		wantErr(t, "UserByID", err, nil)
		wantEqual(t, "UserByID", *got, want, normUser)
		got, err = s.UserByEmail(ctx, u.Email)
		wantErr(t, "UserByEmail", err, nil)
		wantEqual(t, "UserByEmail", *got, want, normUser)
	})

	t.Run("email lookup ignores case", func(t *testing.T) {
		s := newStore(t)
		u, _ := registerUser(t, s)
		for _, email := range []string{u.Email, strings.ToUpper(u.Email), strings.ToUpper(u.Email[:1]) + u.Email[1:]} {
			got, err := s.UserByEmail(ctx, email)
			wantErr(t, fmt.Sprintf("UserByEmail(%q)", email), err, nil)
			if got.ID != u.ID {
				t.Fatalf("UserByEmail(%q) = user %s, want %s", email, got.ID, u.ID)
			}
		}
	})

	t.Run("duplicate email conflicts", func(t *testing.T) {
		for _, tc := range []struct {
			name, first, second string
		}{
			{"same", "bob@example.com", "bob@example.com"},
			{"different case", "bob@example.com", "BOB@Example.com"},
			{"stored upper case", "Carol@Example.com", "carol@example.com"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				s := newStore(t)
				u1, org1 := newUser(t, tc.first)
				wantErr(t, "first Register", s.Register(ctx, u1, org1), nil)
				u2, org2 := newUser(t, tc.second)
				wantErr(t, "second Register", s.Register(ctx, u2, org2), storage.ErrConflict)
				_, err := s.UserByID(ctx, u2.ID)
				wantErr(t, "UserByID of the refused user", err, storage.ErrNotFound)
			})
		}
	})

	t.Run("not found", func(t *testing.T) {
		s := newStore(t)
		registerUser(t, s) // a row that must not match
		for _, tc := range []struct {
			name string
			call func() error
		}{
			{"UserByID", func() error { _, err := s.UserByID(ctx, "missing"); return err }},
			{"UserByEmail", func() error { _, err := s.UserByEmail(ctx, "missing@example.com"); return err }},
			{"UpdateUserProfile", func() error { return s.UpdateUserProfile(ctx, "missing", "Name") }},
			{"UpdateUserPassword", func() error { return s.UpdateUserPassword(ctx, "missing", "hash") }},
			{"SetUserDisabled", func() error { return s.SetUserDisabled(ctx, "missing", true) }},
		} {
			t.Run(tc.name, func(t *testing.T) { wantErr(t, tc.name, tc.call(), storage.ErrNotFound) })
		}
	})

	t.Run("updates", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			update func(s storage.UserStore, id string) error
			check  func(u *storage.User) bool
		}{
			{"profile", func(s storage.UserStore, id string) error { return s.UpdateUserProfile(ctx, id, "New Name") },
				func(u *storage.User) bool { return u.FullName == "New Name" }},
			{"password", func(s storage.UserStore, id string) error { return s.UpdateUserPassword(ctx, id, "new-hash") },
				func(u *storage.User) bool { return u.PasswordHash == "new-hash" }},
			{"disable", func(s storage.UserStore, id string) error { return s.SetUserDisabled(ctx, id, true) },
				func(u *storage.User) bool { return u.Disabled }},
			{"disable and enable", func(s storage.UserStore, id string) error {
				if err := s.SetUserDisabled(ctx, id, true); err != nil {
					return err
				}
				return s.SetUserDisabled(ctx, id, false)
			}, func(u *storage.User) bool { return !u.Disabled }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				s := newStore(t)
				u, _ := registerUser(t, s)
				before := time.Now().Add(-time.Second)
				wantErr(t, "update", tc.update(s, u.ID), nil)
				got, err := s.UserByID(ctx, u.ID)
				wantErr(t, "UserByID", err, nil)
				if !tc.check(got) {
					t.Fatalf("update not stored: %+v", got)
				}
				if got.UpdatedAt.Before(before) {
					t.Fatalf("UpdatedAt = %v, want the time of the update", got.UpdatedAt)
				}
				if !sameTime(got.CreatedAt, u.CreatedAt) || got.Email != u.Email {
					t.Fatalf("update changed other fields: %+v", got)
				}
			})
		}
	})

	t.Run("concurrent register of one email", func(t *testing.T) {
		s := newStore(t)
		const n = 10
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			// Vary the case too: uniqueness holds on lower(email).
			email := "race@example.com"
			if i%2 == 1 {
				email = "RACE@example.com"
			}
			u, org := newUser(t, email)
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[i] = s.Register(ctx, u, org)
			}()
		}
		close(start)
		wg.Wait()
		if ok := countNil(t, errs, storage.ErrConflict); ok != 1 {
			t.Fatalf("%d of %d concurrent registrations succeeded, want exactly 1", ok, n)
		}
	})
}
