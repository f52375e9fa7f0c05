package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/arsaka/puguh/storage"
)

var _ storage.ServiceAccountStore = (*Store)(nil)

const serviceAccountColumns = `id, organization_id, name, role, client_id, secret_hash, created_by, created_at,
	previous_secret_hash, previous_secret_ends_at, secret_rotated_at`

// serviceAccountInsertColumns are what a new account has: no rotation yet.
const serviceAccountInsertColumns = `id, organization_id, name, role, client_id, secret_hash, created_by, created_at`

// CreateServiceAccount stores sa. ErrConflict if the id or the client id exists;
// ErrNotFound if its organization does not.
func (s *Store) CreateServiceAccount(ctx context.Context, sa *storage.ServiceAccount) error {
	stamp(time.Now(), &sa.CreatedAt)
	if _, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO service_accounts (`+serviceAccountInsertColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
		sa.ID, sa.OrganizationID, sa.Name, sa.Role, sa.ClientID, sa.SecretHash, sa.CreatedBy, utc(sa.CreatedAt)); err != nil {
		return fmt.Errorf("create service account: %w", mapError(err))
	}
	return nil
}

// ServiceAccountByID returns one of the organization's service accounts, or
// ErrNotFound (also when it belongs to another organization).
func (s *Store) ServiceAccountByID(ctx context.Context, orgID, id string) (*storage.ServiceAccount, error) {
	var sa storage.ServiceAccount
	if err := s.get(ctx, &sa, s.rebind(`SELECT `+serviceAccountColumns+` FROM service_accounts
		WHERE organization_id = ? AND id = ?`), orgID, id); err != nil {
		return nil, fmt.Errorf("service account by id: %w", mapError(err))
	}
	return &sa, nil
}

// ServiceAccountByClientID finds the account behind an OAuth client_credentials
// client id, whatever its organization.
func (s *Store) ServiceAccountByClientID(ctx context.Context, clientID string) (*storage.ServiceAccount, error) {
	var sa storage.ServiceAccount
	if err := s.get(ctx, &sa, s.rebind(`SELECT `+serviceAccountColumns+` FROM service_accounts
		WHERE client_id = ?`), clientID); err != nil {
		return nil, fmt.Errorf("service account by client id: %w", mapError(err))
	}
	return &sa, nil
}

// ListServiceAccounts lists the organization's service accounts, oldest first.
func (s *Store) ListServiceAccounts(ctx context.Context, orgID string) ([]storage.ServiceAccount, error) {
	out := []storage.ServiceAccount{}
	if err := s.db.SelectContext(ctx, &out, s.rebind(`SELECT `+serviceAccountColumns+` FROM service_accounts
		WHERE organization_id = ? ORDER BY created_at, id`), orgID); err != nil {
		return nil, fmt.Errorf("list service accounts: %w", mapError(err))
	}
	return out, nil
}

// DeleteServiceAccount revokes the account's API keys at the given time and
// deletes the account, in one transaction: no key may outlive its account and
// still authenticate. The revoked keys stay, for audit; the schema then clears
// their service_account_id. ErrNotFound if the organization has no such account.
func (s *Store) DeleteServiceAccount(ctx context.Context, orgID, id string, at time.Time) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		// Lock the account first. On PostgreSQL a key being created for it at the same
		// moment then waits for us and fails its foreign key, instead of slipping in
		// between the revocation and the delete and surviving unrevoked.
		var found string
		if err := tx.GetContext(ctx, &found, s.rebind(`SELECT id FROM service_accounts
			WHERE organization_id = ? AND id = ?`+s.forUpdate()), orgID, id); err != nil {
			return fmt.Errorf("delete service account: %w", mapError(err))
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE api_keys SET revoked_at = ?
			WHERE service_account_id = ? AND revoked_at IS NULL`), utc(at), id); err != nil {
			return fmt.Errorf("delete service account: revoke keys: %w", mapError(err))
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM service_accounts WHERE id = ?`), id); err != nil {
			return fmt.Errorf("delete service account: %w", mapError(err))
		}
		return nil
	})
}
