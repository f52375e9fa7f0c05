package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/arsaka/puguh/storage"
)

var _ storage.EmailTokenStore = (*Store)(nil)

// CreateEmailToken stores t.
func (s *Store) CreateEmailToken(ctx context.Context, t *storage.EmailToken) error {
	if _, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO email_tokens (token_hash, purpose, user_id, email, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?)`), t.Hash, t.Purpose, t.UserID, t.Email, utc(t.CreatedAt), utc(t.ExpiresAt)); err != nil {
		return fmt.Errorf("create email token: %w", mapError(err))
	}
	return nil
}

// ConsumeEmailToken deletes and returns the token in one transaction, so two
// requests racing with one link cannot both use it: only the one whose
// DELETE removed the row gets it.
func (s *Store) ConsumeEmailToken(ctx context.Context, purpose string, hash []byte, now time.Time) (*storage.EmailToken, error) {
	var t storage.EmailToken
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := tx.GetContext(ctx, &t, s.rebind(`SELECT token_hash, purpose, user_id, email, created_at, expires_at
			FROM email_tokens WHERE token_hash = ? AND purpose = ?`), hash, purpose); err != nil {
			return mapError(err)
		}
		res, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM email_tokens WHERE token_hash = ?`), hash)
		if err != nil {
			return mapError(err)
		}
		return oneRow(res)
	})
	if err != nil {
		return nil, fmt.Errorf("consume email token: %w", err)
	}
	if !t.ExpiresAt.After(now) {
		return nil, fmt.Errorf("consume email token: expired: %w", storage.ErrNotFound)
	}
	return &t, nil
}

// EmailToken returns the unexpired token of purpose with hash without using
// it; ErrNotFound if there is none.
func (s *Store) EmailToken(ctx context.Context, purpose string, hash []byte, now time.Time) (*storage.EmailToken, error) {
	var t storage.EmailToken
	if err := s.get(ctx, &t, s.rebind(`SELECT token_hash, purpose, user_id, email, created_at, expires_at
		FROM email_tokens WHERE token_hash = ? AND purpose = ? AND expires_at > ?`), hash, purpose, utc(now)); err != nil {
		return nil, fmt.Errorf("email token: %w", mapError(err))
	}
	return &t, nil
}

// DeleteEmailTokens deletes the user's tokens for purpose.
func (s *Store) DeleteEmailTokens(ctx context.Context, userID, purpose string) error {
	if _, err := s.db.ExecContext(ctx, s.rebind(`DELETE FROM email_tokens WHERE user_id = ? AND purpose = ?`), userID, purpose); err != nil {
		return fmt.Errorf("delete email tokens: %w", mapError(err))
	}
	return nil
}

// DeleteExpiredEmailTokens deletes the tokens expired before now.
func (s *Store) DeleteExpiredEmailTokens(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, s.rebind(`DELETE FROM email_tokens WHERE expires_at < ?`), utc(now))
	if err != nil {
		return 0, fmt.Errorf("delete expired email tokens: %w", mapError(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, errors.Join(errors.New("delete expired email tokens"), err)
	}
	return n, nil
}

// SetEmailVerified marks the user's address verified, if it is still email.
func (s *Store) SetEmailVerified(ctx context.Context, userID, email string, at time.Time) error {
	res, err := s.db.ExecContext(ctx, s.rebind(`UPDATE users SET email_verified_at = ?, updated_at = ?
		WHERE id = ? AND lower(email) = lower(?)`), utc(at), utc(time.Now()), userID, email)
	if err != nil {
		return fmt.Errorf("set email verified: %w", mapError(err))
	}
	if err := oneRow(res); err != nil {
		return fmt.Errorf("set email verified: %w", err)
	}
	return nil
}
