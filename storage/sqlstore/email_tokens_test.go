package sqlstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/arsaka/puguh/storage"
	"github.com/arsaka/puguh/storage/sqlstore"
	"github.com/arsaka/puguh/storage/sqlstore/sqltest"
)

// An email token works once, for its purpose only, until it expires; marking
// an address verified needs the account to still have that address.
func TestEmailTokens(t *testing.T) {
	sqltest.ForEach(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
		u := &storage.User{ID: "u1", Email: "Ada@Example.com", FullName: "Ada", PasswordHash: "x", CreatedAt: now, UpdatedAt: now}
		org := &storage.Organization{ID: "org-u1", Name: "Ada", Plan: storage.PlanFree, Personal: true, CreatedAt: now, UpdatedAt: now}
		if err := s.Register(ctx, u, org); err != nil {
			t.Fatal(err)
		}
		tok := func(h byte, purpose string, expires time.Time) []byte {
			t.Helper()
			hash := []byte{h, 0xff, 0}
			if err := s.CreateEmailToken(ctx, &storage.EmailToken{Hash: hash, Purpose: purpose, UserID: u.ID, Email: u.Email,
				CreatedAt: now, ExpiresAt: expires}); err != nil {
				t.Fatal(err)
			}
			return hash
		}
		verify := tok(1, storage.EmailTokenVerify, now.Add(time.Hour))
		if got, err := s.EmailToken(ctx, storage.EmailTokenVerify, verify, now); err != nil || got.UserID != u.ID {
			t.Fatalf("peek: %+v %v", got, err)
		}
		if _, err := s.EmailToken(ctx, storage.EmailTokenVerify, verify, now.Add(time.Hour)); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("peek expired: %v", err)
		}
		if _, err := s.ConsumeEmailToken(ctx, storage.EmailTokenReset, verify, now); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("another purpose: %v", err)
		}
		got, err := s.ConsumeEmailToken(ctx, storage.EmailTokenVerify, verify, now)
		if err != nil || got.UserID != u.ID || got.Email != u.Email || !got.ExpiresAt.Equal(now.Add(time.Hour)) {
			t.Fatalf("consume: %+v %v", got, err)
		}
		if _, err := s.ConsumeEmailToken(ctx, storage.EmailTokenVerify, verify, now); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("second use: %v", err)
		}
		expired := tok(2, storage.EmailTokenVerify, now)
		if _, err := s.ConsumeEmailToken(ctx, storage.EmailTokenVerify, expired, now); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("expired: %v", err)
		}

		tok(3, storage.EmailTokenReset, now.Add(time.Hour))
		tok(4, storage.EmailTokenReset, now.Add(-time.Minute))
		keep := tok(5, storage.EmailTokenVerify, now.Add(time.Hour))
		if n, err := s.DeleteExpiredEmailTokens(ctx, now); err != nil || n != 1 {
			t.Fatalf("delete expired: %d %v", n, err)
		}
		if err := s.DeleteEmailTokens(ctx, u.ID, storage.EmailTokenReset); err != nil {
			t.Fatal(err)
		}
		var left int
		if err := s.DB().GetContext(ctx, &left, `SELECT COUNT(*) FROM email_tokens`); err != nil || left != 1 {
			t.Fatalf("%d tokens left, %v", left, err)
		}
		if _, err := s.ConsumeEmailToken(ctx, storage.EmailTokenVerify, keep, now); err != nil {
			t.Fatal(err)
		}

		if err := s.SetEmailVerified(ctx, u.ID, "someone-else@example.com", now); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("another address: %v", err)
		}
		if err := s.SetEmailVerified(ctx, u.ID, "ada@example.COM", now); err != nil {
			t.Fatal(err)
		}
		back, err := s.UserByID(ctx, u.ID)
		if err != nil || back.EmailVerifiedAt == nil || !back.EmailVerifiedAt.Equal(now) {
			t.Fatalf("verified at: %+v %v", back, err)
		}
	})
}

// Changing an address sets it verified; an address another account has is
// a conflict, and an unknown user is not found.
func TestChangeUserEmail(t *testing.T) {
	sqltest.ForEach(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
		for _, id := range []string{"a", "b"} {
			u := &storage.User{ID: id, Email: id + "@example.com", FullName: id, PasswordHash: "x", CreatedAt: now, UpdatedAt: now}
			org := &storage.Organization{ID: "org-" + id, Name: id, Plan: storage.PlanFree, Personal: true, CreatedAt: now, UpdatedAt: now}
			if err := s.Register(ctx, u, org); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.ChangeUserEmail(ctx, "a", "B@example.com", now); !errors.Is(err, storage.ErrConflict) {
			t.Fatalf("taken address: %v", err)
		}
		if err := s.ChangeUserEmail(ctx, "nobody", "c@example.com", now); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("unknown user: %v", err)
		}
		if err := s.ChangeUserEmail(ctx, "a", "c@example.com", now); err != nil {
			t.Fatal(err)
		}
		u, err := s.UserByEmail(ctx, "c@example.com")
		if err != nil || u.ID != "a" || u.EmailVerifiedAt == nil || !u.EmailVerifiedAt.Equal(now) {
			t.Fatalf("after the change: %+v %v", u, err)
		}
	})
}
