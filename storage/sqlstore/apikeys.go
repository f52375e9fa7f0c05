package sqlstore

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/arsaka/puguh/storage"
)

var _ storage.APIKeyStore = (*Store)(nil)

const apiKeyColumns = `id, organization_id, name, prefix, hash, permissions, role, created_by, service_account_id,
	created_at, last_used_at, expires_at, revoked_at, replaced_by, rotation_ends_at`

// apiKeyRow is an api_keys row: the key with its permissions still as JSON text.
type apiKeyRow struct {
	storage.APIKey
	Permissions string `db:"permissions"`
}

func (r *apiKeyRow) key() (*storage.APIKey, error) {
	k := r.APIKey
	perms, err := decodeList(r.Permissions)
	if err != nil {
		return nil, fmt.Errorf("api key %s: permissions: %w", k.ID, err)
	}
	k.Permissions = perms
	return &k, nil
}

// CreateAPIKey stores k. ErrConflict if the id or the hash exists; ErrNotFound if
// its organization or service account does not.
func (s *Store) CreateAPIKey(ctx context.Context, k *storage.APIKey) error {
	stamp(time.Now(), &k.CreatedAt)
	perms, err := encodeList(k.Permissions)
	if err != nil {
		return fmt.Errorf("create api key: permissions: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO api_keys (`+apiKeyColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		k.ID, k.OrganizationID, k.Name, k.Prefix, k.Hash, perms, k.Role, k.CreatedBy, k.ServiceAccountID,
		utc(k.CreatedAt), utcPtr(k.LastUsedAt), utcPtr(k.ExpiresAt), utcPtr(k.RevokedAt), k.ReplacedBy,
		utcPtr(k.RotationEndsAt)); err != nil {
		return fmt.Errorf("create api key: %w", mapError(err))
	}
	return nil
}

// APIKeyByHash finds a key by the hash of its secret, revoked or not: the caller
// decides, and can tell "revoked" from "unknown" in its logs.
func (s *Store) APIKeyByHash(ctx context.Context, hash []byte) (*storage.APIKey, error) {
	var r apiKeyRow
	if err := s.get(ctx, &r, s.rebind(`SELECT `+apiKeyColumns+` FROM api_keys WHERE hash = ?`), hash); err != nil {
		return nil, fmt.Errorf("api key by hash: %w", mapError(err))
	}
	return r.key()
}

// APIKeyByID finds one of the organization's keys, revoked or not. A key of
// another organization is ErrNotFound, as if it did not exist.
func (s *Store) APIKeyByID(ctx context.Context, orgID, id string) (*storage.APIKey, error) {
	var r apiKeyRow
	if err := s.get(ctx, &r, s.rebind(`SELECT `+apiKeyColumns+` FROM api_keys
		WHERE organization_id = ? AND id = ?`), orgID, id); err != nil {
		return nil, fmt.Errorf("api key by id: %w", mapError(err))
	}
	return r.key()
}

// ListAPIKeys lists the organization's keys that are not revoked, newest first.
func (s *Store) ListAPIKeys(ctx context.Context, orgID string) ([]storage.APIKey, error) {
	var rows []apiKeyRow
	if err := s.db.SelectContext(ctx, &rows, s.rebind(`SELECT `+apiKeyColumns+` FROM api_keys
		WHERE organization_id = ? AND revoked_at IS NULL
		ORDER BY created_at DESC, id DESC`), orgID); err != nil {
		return nil, fmt.Errorf("list api keys: %w", mapError(err))
	}
	out := make([]storage.APIKey, 0, len(rows))
	for i := range rows {
		k, err := rows[i].key()
		if err != nil {
			return nil, fmt.Errorf("list api keys: %w", err)
		}
		out = append(out, *k)
	}
	return out, nil
}

// RevokeAPIKey marks one of the organization's keys revoked at the given time.
// ErrNotFound if there is no such key or it is revoked already: the first
// revocation time is the one kept.
func (s *Store) RevokeAPIKey(ctx context.Context, orgID, id string, at time.Time) error {
	res, err := s.db.ExecContext(ctx, s.rebind(`UPDATE api_keys SET revoked_at = ?
		WHERE organization_id = ? AND id = ? AND revoked_at IS NULL`), utc(at), orgID, id)
	if err != nil {
		return fmt.Errorf("revoke api key: %w", mapError(err))
	}
	if err := oneRow(res); err != nil {
		return fmt.Errorf("revoke api key: %w", err)
	}
	return nil
}

// TouchAPIKeys records the last use of many keys in one transaction. A time never
// moves last_used_at backwards, so batches flushed out of order by different
// replicas settle on the latest use. Ids that match no key are skipped: a key
// may be deleted between its use and the flush, and that must not fail the batch.
func (s *Store) TouchAPIKeys(ctx context.Context, lastUsed map[string]time.Time) error {
	if len(lastUsed) == 0 {
		return nil
	}
	// Update in id order: two replicas flushing overlapping batches then lock the
	// rows in the same order and cannot deadlock on PostgreSQL.
	ids := make([]string, 0, len(lastUsed))
	for id := range lastUsed {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	query := s.rebind(`UPDATE api_keys SET last_used_at = ?
		WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`)
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		stmt, err := tx.PreparexContext(ctx, query)
		if err != nil {
			return fmt.Errorf("touch api keys: %w", mapError(err))
		}
		defer stmt.Close()
		for _, id := range ids {
			at := utc(lastUsed[id])
			if _, err := stmt.ExecContext(ctx, at, id, at); err != nil {
				return fmt.Errorf("touch api key %s: %w", id, mapError(err))
			}
		}
		return nil
	})
}
