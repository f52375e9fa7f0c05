package oauthstore

import (
	"context"
	"slices"

	"github.com/jmoiron/sqlx"
)

// RevokeClient ends every refresh family of one client and its refresh
// tokens, and returns the ids of the families it revoked. Deleting an
// application uses it (oauth.Provider.RevokeClient): tokens the application
// was issued must not outlive it. Access tokens are not stored, so they are
// not here: the caller denies the client, which covers every access token it
// was issued (client_credentials tokens, which have no family, included), and
// the returned families.
func (s *Store) RevokeClient(ctx context.Context, clientID string) ([]string, error) {
	ids, err := s.revokeWhere(ctx, "client_id", clientID)
	if err != nil {
		return nil, fail("revoke client", err)
	}
	return ids, nil
}

// revokeWhere revokes every family, and its refresh tokens, whose column
// equals value, and returns the ids of the families that were not revoked
// yet, sorted. column is one of our own column names, never caller input.
func (s *Store) revokeWhere(ctx context.Context, column, value string) ([]string, error) {
	var ids []string
	err := s.inTx(ctx, func(q sqlx.ExtContext) error {
		ids = nil
		// Families first, locked on PostgreSQL, so a concurrent rotation either
		// commits before (and its new refresh token is revoked below) or sees
		// the family revoked (refresh.go).
		if err := sqlx.SelectContext(ctx, q, &ids, s.db.Rebind(
			`SELECT request_id FROM oauth_refresh_families WHERE `+column+` = ? AND NOT revoked`+s.forUpdate()), value); err != nil {
			return err
		}
		// Refresh tokens through their family (both lookups indexed, see
		// migration 0004): every refresh token belongs to one.
		for _, stmt := range []string{
			`UPDATE oauth_refresh_tokens SET active = FALSE WHERE request_id IN
				(SELECT request_id FROM oauth_refresh_families WHERE ` + column + ` = ?)`,
			`UPDATE oauth_refresh_families SET revoked = TRUE WHERE ` + column + ` = ?`,
		} {
			if _, err := q.ExecContext(ctx, s.db.Rebind(stmt), value); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(ids)
	return ids, nil
}
