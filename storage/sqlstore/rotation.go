package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/arsaka/puguh/storage"
)

// RotateAPIKey marks the organization's key oldID as replaced by next, working
// until endsAt, and stores next, in one transaction. ErrNotFound if oldID is
// not a key of the organization that is unrevoked and was never rotated (so
// two rotations of one key at once make one successor).
func (s *Store) RotateAPIKey(ctx context.Context, orgID, oldID string, next *storage.APIKey, endsAt time.Time) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, s.rebind(`UPDATE api_keys SET replaced_by = ?, rotation_ends_at = ?
			WHERE organization_id = ? AND id = ? AND revoked_at IS NULL AND replaced_by IS NULL`),
			next.ID, utc(endsAt), orgID, oldID)
		if err != nil {
			return fmt.Errorf("rotate api key: %w", mapError(err))
		}
		if err := oneRow(res); err != nil {
			return fmt.Errorf("rotate api key: %w", err)
		}
		perms, err := encodeList(next.Permissions)
		if err != nil {
			return fmt.Errorf("rotate api key: permissions: %w", err)
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO api_keys (`+apiKeyColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			next.ID, next.OrganizationID, next.Name, next.Prefix, next.Hash, perms, next.Role, next.CreatedBy,
			next.ServiceAccountID, utc(next.CreatedAt), utcPtr(next.LastUsedAt), utcPtr(next.ExpiresAt),
			utcPtr(next.RevokedAt), next.ReplacedBy, utcPtr(next.RotationEndsAt)); err != nil {
			return fmt.Errorf("rotate api key: new key: %w", mapError(err))
		}
		return nil
	})
}

// RotateServiceAccountSecret makes newHash the organization's account id's
// secret, made at at, and keeps the secret it replaces as the previous one
// until endsAt (a secret rotated earlier and still in its window is dropped:
// one previous secret at a time). ErrNotFound if there is no such account.
func (s *Store) RotateServiceAccountSecret(ctx context.Context, orgID, id string, newHash []byte, at, endsAt time.Time) error {
	res, err := s.db.ExecContext(ctx, s.rebind(`UPDATE service_accounts
		SET previous_secret_hash = secret_hash, previous_secret_ends_at = ?, secret_hash = ?, secret_rotated_at = ?
		WHERE organization_id = ? AND id = ?`), utc(endsAt), newHash, utc(at), orgID, id)
	if err != nil {
		return fmt.Errorf("rotate service account secret: %w", mapError(err))
	}
	if err := oneRow(res); err != nil {
		return fmt.Errorf("rotate service account secret: %w", err)
	}
	return nil
}
