package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/arsaka/puguh/storage"
)

var _ storage.MFAStore = (*Store)(nil)

const totpColumns = `user_id, secret_sealed, last_step, created_at, confirmed_at`

// SaveTOTP stores an unconfirmed factor, replacing the user's unconfirmed one.
func (s *Store) SaveTOTP(ctx context.Context, f *storage.TOTPFactor) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		var confirmed []sql.NullTime
		if err := tx.SelectContext(ctx, &confirmed, s.rebind(`SELECT confirmed_at FROM mfa_totp WHERE user_id = ?`+s.forUpdate()), f.UserID); err != nil {
			return fmt.Errorf("save totp: %w", mapError(err))
		}
		if len(confirmed) > 0 && confirmed[0].Valid {
			return fmt.Errorf("save totp: %w", storage.ErrConflict)
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM mfa_totp WHERE user_id = ?`), f.UserID); err != nil {
			return fmt.Errorf("save totp: %w", mapError(err))
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO mfa_totp (`+totpColumns+`) VALUES (?, ?, ?, ?, ?)`),
			f.UserID, f.SecretSealed, f.LastStep, utc(f.CreatedAt), utcPtr(f.ConfirmedAt)); err != nil {
			return fmt.Errorf("save totp: %w", mapError(err))
		}
		return nil
	})
}

// TOTPByUser returns the user's factor.
func (s *Store) TOTPByUser(ctx context.Context, userID string) (*storage.TOTPFactor, error) {
	var f storage.TOTPFactor
	if err := s.get(ctx, &f, s.rebind(`SELECT `+totpColumns+` FROM mfa_totp WHERE user_id = ?`), userID); err != nil {
		return nil, fmt.Errorf("totp by user: %w", mapError(err))
	}
	return &f, nil
}

// ConfirmTOTP confirms the factor and replaces the recovery codes at once.
func (s *Store) ConfirmTOTP(ctx context.Context, userID string, step int64, at time.Time, codeHashes []string) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, s.rebind(`UPDATE mfa_totp SET confirmed_at = ?, last_step = ?
			WHERE user_id = ? AND confirmed_at IS NULL`), utc(at), step, userID)
		if err != nil {
			return fmt.Errorf("confirm totp: %w", mapError(err))
		}
		if err := oneRow(res); err != nil {
			return fmt.Errorf("confirm totp: %w", err)
		}
		return s.replaceRecoveryCodes(ctx, tx, userID, codeHashes, at)
	})
}

// UseTOTPStep is a compare-and-swap on last_step: of two requests presenting
// the same code at once, exactly one succeeds.
func (s *Store) UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error) {
	res, err := s.db.ExecContext(ctx, s.rebind(`UPDATE mfa_totp SET last_step = ?
		WHERE user_id = ? AND confirmed_at IS NOT NULL AND last_step < ?`), step, userID, step)
	if err != nil {
		return false, fmt.Errorf("use totp step: %w", mapError(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("use totp step: %w", mapError(err))
	}
	return n == 1, nil
}

// DeleteTOTP deletes the factor and the recovery codes.
func (s *Store) DeleteTOTP(ctx context.Context, userID string) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM mfa_totp WHERE user_id = ?`), userID)
		if err != nil {
			return fmt.Errorf("delete totp: %w", mapError(err))
		}
		if err := oneRow(res); err != nil {
			return fmt.Errorf("delete totp: %w", err)
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM mfa_recovery_codes WHERE user_id = ?`), userID); err != nil {
			return fmt.Errorf("delete totp: recovery codes: %w", mapError(err))
		}
		return nil
	})
}

// ReplaceRecoveryCodes replaces the user's recovery codes.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID string, codeHashes []string, at time.Time) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error { return s.replaceRecoveryCodes(ctx, tx, userID, codeHashes, at) })
}

func (s *Store) replaceRecoveryCodes(ctx context.Context, tx *sqlx.Tx, userID string, codeHashes []string, at time.Time) error {
	if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM mfa_recovery_codes WHERE user_id = ?`), userID); err != nil {
		return fmt.Errorf("replace recovery codes: %w", mapError(err))
	}
	for _, h := range codeHashes {
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO mfa_recovery_codes (user_id, code_hash, created_at) VALUES (?, ?, ?)`),
			userID, h, utc(at)); err != nil {
			return fmt.Errorf("replace recovery codes: %w", mapError(err))
		}
	}
	return nil
}

// UseRecoveryCode spends an unused code; of two requests spending it at
// once, one succeeds.
func (s *Store) UseRecoveryCode(ctx context.Context, userID, codeHash string, at time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, s.rebind(`UPDATE mfa_recovery_codes SET used_at = ?
		WHERE user_id = ? AND code_hash = ? AND used_at IS NULL`), utc(at), userID, codeHash)
	if err != nil {
		return false, fmt.Errorf("use recovery code: %w", mapError(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("use recovery code: %w", mapError(err))
	}
	return n == 1, nil
}

// RecoveryCodesLeft counts the unused codes.
func (s *Store) RecoveryCodesLeft(ctx context.Context, userID string) (int, error) {
	var n int
	if err := s.get(ctx, &n, s.rebind(`SELECT COUNT(*) FROM mfa_recovery_codes WHERE user_id = ? AND used_at IS NULL`), userID); err != nil {
		return 0, fmt.Errorf("recovery codes left: %w", mapError(err))
	}
	return n, nil
}

const mfaChallengeColumns = `id, user_id, kind, amr, data, attempts, created_at, expires_at`

// CreateMFAChallenge stores c.
func (s *Store) CreateMFAChallenge(ctx context.Context, c *storage.MFAChallenge) error {
	if _, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO mfa_challenges (`+mfaChallengeColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
		c.ID, c.UserID, c.Kind, c.AMR, c.Data, c.Attempts, utc(c.CreatedAt), utc(c.ExpiresAt)); err != nil {
		return fmt.Errorf("create mfa challenge: %w", mapError(err))
	}
	return nil
}

// MFAChallengeByID returns the challenge unless it has expired.
func (s *Store) MFAChallengeByID(ctx context.Context, id string, now time.Time) (*storage.MFAChallenge, error) {
	var c storage.MFAChallenge
	if err := s.get(ctx, &c, s.rebind(`SELECT `+mfaChallengeColumns+` FROM mfa_challenges WHERE id = ? AND expires_at > ?`),
		id, utc(now)); err != nil {
		return nil, fmt.Errorf("mfa challenge by id: %w", mapError(err))
	}
	return &c, nil
}

// CountMFAChallengeAttempt adds an attempt and returns the count.
func (s *Store) CountMFAChallengeAttempt(ctx context.Context, id string) (int, error) {
	var n int
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, s.rebind(`UPDATE mfa_challenges SET attempts = attempts + 1 WHERE id = ?`), id)
		if err != nil {
			return mapError(err)
		}
		if err := oneRow(res); err != nil {
			return err
		}
		return mapError(tx.GetContext(ctx, &n, s.rebind(`SELECT attempts FROM mfa_challenges WHERE id = ?`), id))
	})
	if err != nil {
		return 0, fmt.Errorf("count mfa challenge attempt: %w", err)
	}
	return n, nil
}

// ConsumeMFAChallenge deletes the challenge; false if it was gone.
func (s *Store) ConsumeMFAChallenge(ctx context.Context, id string) (bool, error) {
	res, err := s.db.ExecContext(ctx, s.rebind(`DELETE FROM mfa_challenges WHERE id = ?`), id)
	if err != nil {
		return false, fmt.Errorf("consume mfa challenge: %w", mapError(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("consume mfa challenge: %w", mapError(err))
	}
	return n == 1, nil
}

const webauthnColumns = `id, user_id, name, public_key, attestation_type, aaguid, sign_count, transports,
	backup_eligible, backup_state, clone_warning, created_at, last_used_at`

// CreateWebAuthnCredential stores c.
func (s *Store) CreateWebAuthnCredential(ctx context.Context, c *storage.WebAuthnCredential) error {
	stamp(time.Now(), &c.CreatedAt)
	if _, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO webauthn_credentials (`+webauthnColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		c.ID, c.UserID, c.Name, c.PublicKey, c.AttestationType, nonNilBytes(c.AAGUID), int64(c.SignCount), c.Transports,
		c.BackupEligible, c.BackupState, c.CloneWarning, utc(c.CreatedAt), utcPtr(c.LastUsedAt)); err != nil {
		return fmt.Errorf("create webauthn credential: %w", mapError(err))
	}
	return nil
}

func nonNilBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// WebAuthnCredentialByID returns the credential.
func (s *Store) WebAuthnCredentialByID(ctx context.Context, id string) (*storage.WebAuthnCredential, error) {
	var c storage.WebAuthnCredential
	if err := s.get(ctx, &c, s.rebind(`SELECT `+webauthnColumns+` FROM webauthn_credentials WHERE id = ?`), id); err != nil {
		return nil, fmt.Errorf("webauthn credential by id: %w", mapError(err))
	}
	return &c, nil
}

// WebAuthnCredentialsOfUser lists the user's credentials, oldest first.
func (s *Store) WebAuthnCredentialsOfUser(ctx context.Context, userID string) ([]storage.WebAuthnCredential, error) {
	out := []storage.WebAuthnCredential{}
	if err := s.db.SelectContext(ctx, &out, s.rebind(`SELECT `+webauthnColumns+` FROM webauthn_credentials
		WHERE user_id = ? ORDER BY created_at, id`), userID); err != nil {
		return nil, fmt.Errorf("webauthn credentials of user: %w", mapError(err))
	}
	return out, nil
}

// UseWebAuthnCredential records a sign-in with the credential.
func (s *Store) UseWebAuthnCredential(ctx context.Context, id string, signCount uint32, backupState, cloneWarning bool, at time.Time) error {
	res, err := s.db.ExecContext(ctx, s.rebind(`UPDATE webauthn_credentials
		SET sign_count = ?, backup_state = ?, clone_warning = ?, last_used_at = ? WHERE id = ?`),
		int64(signCount), backupState, cloneWarning, utc(at), id)
	if err != nil {
		return fmt.Errorf("use webauthn credential: %w", mapError(err))
	}
	if err := oneRow(res); err != nil {
		return fmt.Errorf("use webauthn credential: %w", err)
	}
	return nil
}

// DeleteWebAuthnCredential deletes one of the user's credentials.
func (s *Store) DeleteWebAuthnCredential(ctx context.Context, userID, id string) error {
	res, err := s.db.ExecContext(ctx, s.rebind(`DELETE FROM webauthn_credentials WHERE user_id = ? AND id = ?`), userID, id)
	if err != nil {
		return fmt.Errorf("delete webauthn credential: %w", mapError(err))
	}
	if err := oneRow(res); err != nil {
		return fmt.Errorf("delete webauthn credential: %w", err)
	}
	return nil
}

type mfaPolicyRow struct {
	storage.MFAPolicy
	GraceSeconds int64 `db:"grace_period_seconds"`
}

// MFAPolicy returns the organization's policy, or a zero one.
func (s *Store) MFAPolicy(ctx context.Context, orgID string) (*storage.MFAPolicy, error) {
	var r mfaPolicyRow
	err := s.get(ctx, &r, s.rebind(`SELECT organization_id, required, grace_period_seconds, required_since, updated_at
		FROM organization_mfa_policies WHERE organization_id = ?`), orgID)
	if errors.Is(mapError(err), storage.ErrNotFound) {
		return &storage.MFAPolicy{OrganizationID: orgID}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("mfa policy: %w", mapError(err))
	}
	p := r.MFAPolicy
	p.GracePeriod = time.Duration(r.GraceSeconds) * time.Second
	return &p, nil
}

// SaveMFAPolicy creates or replaces the policy.
func (s *Store) SaveMFAPolicy(ctx context.Context, p *storage.MFAPolicy) error {
	stamp(time.Now(), &p.UpdatedAt)
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM organization_mfa_policies WHERE organization_id = ?`), p.OrganizationID); err != nil {
			return fmt.Errorf("save mfa policy: %w", mapError(err))
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO organization_mfa_policies
			(organization_id, required, grace_period_seconds, required_since, updated_at) VALUES (?, ?, ?, ?, ?)`),
			p.OrganizationID, p.Required, int64(p.GracePeriod/time.Second), utcPtr(p.RequiredSince), utc(p.UpdatedAt)); err != nil {
			return fmt.Errorf("save mfa policy: %w", mapError(err))
		}
		return nil
	})
}
