package oauthstore

import (
	"context"
	"fmt"
	"slices"

	"github.com/jmoiron/sqlx"
)

// RevokeClient ends every token grant made to one client: its refresh
// families, refresh tokens and active access tokens. It returns the family ids
// so the caller can deny their JWT access tokens at once. Deleting an
// application uses it: tokens it was issued must not outlive it.
func (s *Store) RevokeClient(ctx context.Context, clientID string) ([]string, error) {
	ids, err := s.revokeWhere(ctx, "client_id", clientID)
	if err != nil {
		return nil, fmt.Errorf("oauthstore: revoke client: %w", err)
	}
	return ids, nil
}

// revokeWhere revokes every family and token whose column equals value.
// column is one of our own column names, never caller input.
func (s *Store) revokeWhere(ctx context.Context, column, value string) ([]string, error) {
	var ids []string
	err := s.inTx(ctx, func(q sqlx.ExtContext) error {
		ids = ids[:0]
		// Families first, locked on PostgreSQL, so a concurrent rotation either
		// commits before (and its new pair is revoked below) or sees the family
		// revoked (refresh.go).
		var families []string
		if err := sqlx.SelectContext(ctx, q, &families, s.db.Rebind(
			`SELECT request_id FROM oauth_refresh_families WHERE `+column+` = ? AND NOT revoked`+s.forUpdate()), value); err != nil {
			return err
		}
		var access []string
		if err := sqlx.SelectContext(ctx, q, &access, s.db.Rebind(
			`SELECT DISTINCT request_id FROM oauth_access_tokens WHERE `+column+` = ? AND active`), value); err != nil {
			return err
		}
		// Refresh tokens through their family (both lookups indexed, see
		// migration 0004): every refresh token belongs to one.
		for _, stmt := range []string{
			`UPDATE oauth_refresh_tokens SET active = FALSE WHERE request_id IN
				(SELECT request_id FROM oauth_refresh_families WHERE ` + column + ` = ?)`,
			`UPDATE oauth_refresh_families SET revoked = TRUE WHERE ` + column + ` = ?`,
			`UPDATE oauth_access_tokens SET active = FALSE WHERE ` + column + ` = ?`,
		} {
			if _, err := q.ExecContext(ctx, s.db.Rebind(stmt), value); err != nil {
				return err
			}
		}
		ids = append(append(ids, families...), access...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
}
