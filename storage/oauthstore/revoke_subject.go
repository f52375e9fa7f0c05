package oauthstore

import (
	"context"
	"fmt"
	"slices"

	"github.com/jmoiron/sqlx"
)

// RevokeSubject ends every token grant of one subject (a user id): each
// refresh family that is not yet revoked, its refresh tokens, and every
// access token still active, whichever client they were issued to. It returns
// the request ids (family ids) it revoked, so the caller can deny their JWT
// access tokens at once through the denylist (oauth.Provider.DenyFamily):
// a JWT stays verifiable until it expires unless its family is denied.
//
// A password change uses it (SECURITY 17): whoever held the old password
// may hold tokens too, and they must stop working with it.
func (s *Store) RevokeSubject(ctx context.Context, subject string) ([]string, error) {
	var ids []string
	err := s.inTx(ctx, func(q sqlx.ExtContext) error {
		ids = ids[:0]
		// The family rows first, with their row locks on PostgreSQL, so a
		// concurrent rotation either commits before (and its new pair is
		// revoked below) or sees the family revoked (refresh.go).
		var families []string
		if err := sqlx.SelectContext(ctx, q, &families, s.db.Rebind(
			`SELECT request_id FROM oauth_refresh_families WHERE subject = ? AND NOT revoked`+s.forUpdate()), subject); err != nil {
			return err
		}
		var access []string
		if err := sqlx.SelectContext(ctx, q, &access, s.db.Rebind(
			`SELECT DISTINCT request_id FROM oauth_access_tokens WHERE subject = ? AND active`), subject); err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, s.db.Rebind(`UPDATE oauth_refresh_families SET revoked = TRUE WHERE subject = ?`), subject); err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, s.db.Rebind(`UPDATE oauth_refresh_tokens SET active = FALSE WHERE subject = ?`), subject); err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, s.db.Rebind(`UPDATE oauth_access_tokens SET active = FALSE WHERE subject = ?`), subject); err != nil {
			return err
		}
		ids = append(ids, families...)
		ids = append(ids, access...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("oauthstore: revoke subject: %w", err)
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
}
