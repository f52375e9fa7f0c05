package storagetest

import (
	"context"
	"testing"
	"time"

	"github.com/arsaka/puguh/storage"
)

// MFAStores is what TestMFAStore needs: factors belong to users, policies to
// organizations.
type MFAStores interface {
	storage.UserStore
	storage.MFAStore
}

// TestMFAStore checks a storage.MFAStore; newStore returns a fresh, empty store.
func TestMFAStore(t *testing.T, newStore func(t *testing.T) MFAStores) {
	ctx := context.Background()
	t0 := baseTime()

	t.Run("totp enrolment, confirmation and replay", func(t *testing.T) {
		s := newStore(t)
		u, _ := registerUser(t, s)
		_, err := s.TOTPByUser(ctx, u.ID)
		wantErr(t, "TOTPByUser before enrolment", err, storage.ErrNotFound)
		wantErr(t, "SaveTOTP for an unknown user", s.SaveTOTP(ctx, &storage.TOTPFactor{UserID: newID(t), SecretSealed: []byte{1}, CreatedAt: t0}), storage.ErrNotFound)
		wantErr(t, "ConfirmTOTP without enrolment", s.ConfirmTOTP(ctx, u.ID, 5, t0, nil), storage.ErrNotFound)

		wantErr(t, "SaveTOTP", s.SaveTOTP(ctx, &storage.TOTPFactor{UserID: u.ID, SecretSealed: []byte{1, 2}, CreatedAt: t0}), nil)
		// A second enrolment replaces an unconfirmed one.
		wantErr(t, "SaveTOTP again", s.SaveTOTP(ctx, &storage.TOTPFactor{UserID: u.ID, SecretSealed: []byte{3, 4, 0}, CreatedAt: t0}), nil)
		f, err := s.TOTPByUser(ctx, u.ID)
		wantErr(t, "TOTPByUser", err, nil)
		wantEqual(t, "unconfirmed factor", *f, storage.TOTPFactor{UserID: u.ID, SecretSealed: []byte{3, 4, 0}, CreatedAt: t0}, normTOTP)
		if ok, err := s.UseTOTPStep(ctx, u.ID, 10); err != nil || ok {
			t.Fatalf("UseTOTPStep on an unconfirmed factor = %v, %v; want false", ok, err)
		}

		wantErr(t, "ConfirmTOTP", s.ConfirmTOTP(ctx, u.ID, 100, t0.Add(time.Minute), []string{"h1", "h2"}), nil)
		wantErr(t, "ConfirmTOTP twice", s.ConfirmTOTP(ctx, u.ID, 101, t0, nil), storage.ErrNotFound)
		confirmedAt := t0.Add(time.Minute)
		f, _ = s.TOTPByUser(ctx, u.ID)
		wantEqual(t, "confirmed factor", *f, storage.TOTPFactor{UserID: u.ID, SecretSealed: []byte{3, 4, 0}, LastStep: 100, CreatedAt: t0, ConfirmedAt: &confirmedAt}, normTOTP)
		wantErr(t, "SaveTOTP over a confirmed factor", s.SaveTOTP(ctx, &storage.TOTPFactor{UserID: u.ID, SecretSealed: []byte{9}, CreatedAt: t0}), storage.ErrConflict)

		for _, tc := range []struct {
			step int64
			want bool
		}{{100, false}, {99, false}, {101, true}, {101, false}, {103, true}, {102, false}} {
			ok, err := s.UseTOTPStep(ctx, u.ID, tc.step)
			if err != nil || ok != tc.want {
				t.Fatalf("UseTOTPStep(%d) = %v, %v; want %v", tc.step, ok, err, tc.want)
			}
		}
		// Of many requests presenting the same step at once, one wins.
		wins := 0
		for _, err := range race(8, func(int) error {
			ok, err := s.UseTOTPStep(ctx, u.ID, 200)
			if err == nil && !ok {
				return storage.ErrConflict
			}
			return err
		}) {
			if err == nil {
				wins++
			}
		}
		if wins != 1 {
			t.Fatalf("%d concurrent uses of one step succeeded, want 1", wins)
		}

		if n, err := s.RecoveryCodesLeft(ctx, u.ID); err != nil || n != 2 {
			t.Fatalf("RecoveryCodesLeft = %d, %v; want 2", n, err)
		}
		wantErr(t, "DeleteTOTP", s.DeleteTOTP(ctx, u.ID), nil)
		wantErr(t, "DeleteTOTP twice", s.DeleteTOTP(ctx, u.ID), storage.ErrNotFound)
		if n, err := s.RecoveryCodesLeft(ctx, u.ID); err != nil || n != 0 {
			t.Fatalf("RecoveryCodesLeft after DeleteTOTP = %d, %v; want 0", n, err)
		}
	})

	t.Run("recovery codes are spent once", func(t *testing.T) {
		s := newStore(t)
		u, _ := registerUser(t, s)
		other, _ := registerUser(t, s)
		wantErr(t, "ReplaceRecoveryCodes", s.ReplaceRecoveryCodes(ctx, u.ID, []string{"a", "b", "c"}, t0), nil)
		wantErr(t, "ReplaceRecoveryCodes other", s.ReplaceRecoveryCodes(ctx, other.ID, []string{"z"}, t0), nil)
		for _, tc := range []struct {
			user, code string
			want       bool
		}{{u.ID, "a", true}, {u.ID, "a", false}, {u.ID, "z", false}, {other.ID, "b", false}, {u.ID, "nope", false}} {
			ok, err := s.UseRecoveryCode(ctx, tc.user, tc.code, t0)
			if err != nil || ok != tc.want {
				t.Fatalf("UseRecoveryCode(%s) = %v, %v; want %v", tc.code, ok, err, tc.want)
			}
		}
		if n, _ := s.RecoveryCodesLeft(ctx, u.ID); n != 2 {
			t.Fatalf("RecoveryCodesLeft = %d, want 2", n)
		}
		wins := 0
		for _, err := range race(8, func(int) error {
			ok, err := s.UseRecoveryCode(ctx, u.ID, "b", t0)
			if err == nil && !ok {
				return storage.ErrConflict
			}
			return err
		}) {
			if err == nil {
				wins++
			}
		}
		if wins != 1 {
			t.Fatalf("%d concurrent uses of one recovery code succeeded, want 1", wins)
		}
		wantErr(t, "ReplaceRecoveryCodes again", s.ReplaceRecoveryCodes(ctx, u.ID, []string{"d"}, t0), nil)
		if n, _ := s.RecoveryCodesLeft(ctx, u.ID); n != 1 {
			t.Fatalf("RecoveryCodesLeft after replacing = %d, want 1", n)
		}
	})

	t.Run("challenges", func(t *testing.T) {
		s := newStore(t)
		c := &storage.MFAChallenge{ID: newID(t), UserID: "u1", Kind: "login", AMR: "pwd", Data: `{"x":"é\u0000"}`, CreatedAt: t0, ExpiresAt: t0.Add(5 * time.Minute)}
		wantErr(t, "CreateMFAChallenge", s.CreateMFAChallenge(ctx, c), nil)
		wantErr(t, "CreateMFAChallenge twice", s.CreateMFAChallenge(ctx, c), storage.ErrConflict)
		got, err := s.MFAChallengeByID(ctx, c.ID, t0.Add(time.Minute))
		wantErr(t, "MFAChallengeByID", err, nil)
		wantEqual(t, "challenge", *got, *c, normMFAChallenge)
		_, err = s.MFAChallengeByID(ctx, c.ID, t0.Add(5*time.Minute))
		wantErr(t, "MFAChallengeByID expired", err, storage.ErrNotFound)
		for want := 1; want <= 3; want++ {
			if n, err := s.CountMFAChallengeAttempt(ctx, c.ID); err != nil || n != want {
				t.Fatalf("CountMFAChallengeAttempt = %d, %v; want %d", n, err, want)
			}
		}
		_, err = s.CountMFAChallengeAttempt(ctx, newID(t))
		wantErr(t, "CountMFAChallengeAttempt unknown", err, storage.ErrNotFound)
		wins := 0
		for _, err := range race(8, func(int) error {
			ok, err := s.ConsumeMFAChallenge(ctx, c.ID)
			if err == nil && !ok {
				return storage.ErrConflict
			}
			return err
		}) {
			if err == nil {
				wins++
			}
		}
		if wins != 1 {
			t.Fatalf("%d concurrent consumptions succeeded, want 1", wins)
		}
		_, err = s.MFAChallengeByID(ctx, c.ID, t0)
		wantErr(t, "MFAChallengeByID after consume", err, storage.ErrNotFound)
	})

	t.Run("webauthn credentials", func(t *testing.T) {
		s := newStore(t)
		u, _ := registerUser(t, s)
		other, _ := registerUser(t, s)
		c1 := &storage.WebAuthnCredential{ID: newID(t), UserID: u.ID, Name: "Laptop", PublicKey: []byte{1, 2, 3}, AttestationType: "none",
			AAGUID: make([]byte, 16), SignCount: 4_000_000_000, Transports: "internal hybrid", BackupEligible: true, CreatedAt: t0}
		c2 := &storage.WebAuthnCredential{ID: newID(t), UserID: u.ID, Name: "Phone", PublicKey: []byte{4}, AttestationType: "packed",
			AAGUID: []byte{}, CreatedAt: t0.Add(time.Second)}
		for _, c := range []*storage.WebAuthnCredential{c1, c2} {
			wantErr(t, "CreateWebAuthnCredential", s.CreateWebAuthnCredential(ctx, c), nil)
		}
		wantErr(t, "CreateWebAuthnCredential twice", s.CreateWebAuthnCredential(ctx, c1), storage.ErrConflict)
		bad := *c1
		bad.ID, bad.UserID = newID(t), newID(t)
		wantErr(t, "CreateWebAuthnCredential for an unknown user", s.CreateWebAuthnCredential(ctx, &bad), storage.ErrNotFound)

		got, err := s.WebAuthnCredentialByID(ctx, c1.ID)
		wantErr(t, "WebAuthnCredentialByID", err, nil)
		wantEqual(t, "credential", *got, *c1, normWebAuthn)
		_, err = s.WebAuthnCredentialByID(ctx, newID(t))
		wantErr(t, "WebAuthnCredentialByID unknown", err, storage.ErrNotFound)
		list, err := s.WebAuthnCredentialsOfUser(ctx, u.ID)
		if err != nil || len(list) != 2 || list[0].ID != c1.ID || list[1].ID != c2.ID {
			t.Fatalf("WebAuthnCredentialsOfUser = %+v, %v", list, err)
		}
		if list, err := s.WebAuthnCredentialsOfUser(ctx, other.ID); err != nil || list == nil || len(list) != 0 {
			t.Fatalf("WebAuthnCredentialsOfUser(other) = %#v, %v; want empty", list, err)
		}

		used := t0.Add(time.Hour)
		wantErr(t, "UseWebAuthnCredential", s.UseWebAuthnCredential(ctx, c1.ID, 4_000_000_001, true, true, used), nil)
		got, _ = s.WebAuthnCredentialByID(ctx, c1.ID)
		want := *c1
		want.SignCount, want.BackupState, want.CloneWarning, want.LastUsedAt = 4_000_000_001, true, true, &used
		wantEqual(t, "used credential", *got, want, normWebAuthn)
		wantErr(t, "UseWebAuthnCredential unknown", s.UseWebAuthnCredential(ctx, newID(t), 1, false, false, used), storage.ErrNotFound)

		wantErr(t, "DeleteWebAuthnCredential of another user", s.DeleteWebAuthnCredential(ctx, other.ID, c1.ID), storage.ErrNotFound)
		wantErr(t, "DeleteWebAuthnCredential", s.DeleteWebAuthnCredential(ctx, u.ID, c1.ID), nil)
		wantErr(t, "DeleteWebAuthnCredential twice", s.DeleteWebAuthnCredential(ctx, u.ID, c1.ID), storage.ErrNotFound)
	})

	t.Run("organization policies", func(t *testing.T) {
		s := newStore(t)
		_, org := registerUser(t, s)
		p, err := s.MFAPolicy(ctx, org.ID)
		if err != nil || p.Required || p.OrganizationID != org.ID || p.RequiredSince != nil {
			t.Fatalf("MFAPolicy without one = %+v, %v; want not required", p, err)
		}
		since := t0
		want := storage.MFAPolicy{OrganizationID: org.ID, Required: true, GracePeriod: 72 * time.Hour, RequiredSince: &since, UpdatedAt: t0}
		wantErr(t, "SaveMFAPolicy", s.SaveMFAPolicy(ctx, &want), nil)
		p, _ = s.MFAPolicy(ctx, org.ID)
		wantEqual(t, "policy", *p, want, normPolicy)
		want = storage.MFAPolicy{OrganizationID: org.ID, Required: false, UpdatedAt: t0.Add(time.Hour)}
		wantErr(t, "SaveMFAPolicy again", s.SaveMFAPolicy(ctx, &want), nil)
		p, _ = s.MFAPolicy(ctx, org.ID)
		wantEqual(t, "replaced policy", *p, want, normPolicy)
		wantErr(t, "SaveMFAPolicy for an unknown organization",
			s.SaveMFAPolicy(ctx, &storage.MFAPolicy{OrganizationID: newID(t), UpdatedAt: t0}), storage.ErrNotFound)
	})
}

func normTOTP(f *storage.TOTPFactor) {
	f.CreatedAt = micro(f.CreatedAt)
	f.ConfirmedAt = microPtr(f.ConfirmedAt)
}

func normMFAChallenge(c *storage.MFAChallenge) {
	c.CreatedAt = micro(c.CreatedAt)
	c.ExpiresAt = micro(c.ExpiresAt)
}

func normWebAuthn(c *storage.WebAuthnCredential) {
	c.CreatedAt = micro(c.CreatedAt)
	c.LastUsedAt = microPtr(c.LastUsedAt)
}

func normPolicy(p *storage.MFAPolicy) {
	p.UpdatedAt = micro(p.UpdatedAt)
	p.RequiredSince = microPtr(p.RequiredSince)
}
