package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/arsaka/puguh/storage"
)

var _ storage.LifecycleStore = (*Store)(nil)

// ConsentsOfUser lists the user's consent grants with their applications'
// names and last use. Last use is read from records the token flows write
// anyway: each authorization's family record (session_families.created_at)
// and each refresh family's last rotation (oauth_refresh_families.rotated_at).
// Nothing is written per request to know it.
func (s *Store) ConsentsOfUser(ctx context.Context, userID string) ([]storage.UserConsent, error) {
	var rows []struct {
		grantRow
		Name string `db:"name"`
	}
	if err := s.db.SelectContext(ctx, &rows, s.rebind(`SELECT g.user_id, g.application_id, g.scopes, '' AS email, g.created_at, g.updated_at, a.name
		FROM consent_grants g JOIN applications a ON a.id = g.application_id
		WHERE g.user_id = ? ORDER BY g.created_at, g.application_id`), userID); err != nil {
		return nil, fmt.Errorf("consents of user: %w", mapError(err))
	}
	if len(rows) == 0 {
		return []storage.UserConsent{}, nil
	}
	last := map[string]time.Time{}
	seen := func(app string, t *time.Time) {
		if t != nil && t.After(last[app]) {
			last[app] = t.UTC()
		}
	}
	var families []struct {
		App string    `db:"application_id"`
		At  time.Time `db:"created_at"`
	}
	if err := s.db.SelectContext(ctx, &families, s.rebind(`SELECT application_id, created_at FROM session_families WHERE user_id = ?`), userID); err != nil {
		return nil, fmt.Errorf("consents of user: %w", mapError(err))
	}
	for i := range families {
		seen(families[i].App, &families[i].At)
	}
	var refresh []struct {
		Client  string     `db:"client_id"`
		Issued  time.Time  `db:"issued_at"`
		Rotated *time.Time `db:"rotated_at"`
	}
	if err := s.db.SelectContext(ctx, &refresh, s.rebind(`SELECT client_id, issued_at, rotated_at FROM oauth_refresh_families WHERE subject = ?`), userID); err != nil {
		return nil, fmt.Errorf("consents of user: %w", mapError(err))
	}
	for i := range refresh {
		seen(refresh[i].Client, &refresh[i].Issued)
		seen(refresh[i].Client, refresh[i].Rotated)
	}
	out := make([]storage.UserConsent, 0, len(rows))
	for i := range rows {
		g, err := rows[i].grant()
		if err != nil {
			return nil, err
		}
		c := storage.UserConsent{ApplicationID: g.ApplicationID, ApplicationName: rows[i].Name, Scopes: g.Scopes,
			GrantedAt: g.CreatedAt, UpdatedAt: g.UpdatedAt}
		if t, ok := last[g.ApplicationID]; ok {
			c.LastUsedAt = &t
		}
		out = append(out, c)
	}
	return out, nil
}

// OwnershipOfUser describes the user's organizations (storage.LifecycleStore).
func (s *Store) OwnershipOfUser(ctx context.Context, userID string) ([]storage.Ownership, error) {
	out := []storage.Ownership{}
	if err := s.db.SelectContext(ctx, &out, s.rebind(`SELECT o.id, o.name, o.personal, m.role,
		(SELECT COUNT(*) FROM memberships x WHERE x.organization_id = o.id) AS members,
		(SELECT COUNT(*) FROM memberships x WHERE x.organization_id = o.id AND x.role = ?) AS owners
		FROM memberships m JOIN organizations o ON o.id = m.organization_id
		WHERE m.user_id = ? ORDER BY o.created_at, o.id`), storage.RoleOwner, userID); err != nil {
		return nil, fmt.Errorf("ownership of user: %w", mapError(err))
	}
	return out, nil
}

// userRecords are the statements that erase what references a user without
// a foreign key (the rest goes with the users row, ON DELETE CASCADE).
var userRecords = []string{
	`DELETE FROM session_families WHERE user_id = ?`,
	`DELETE FROM login_challenges WHERE user_id = ?`,
	`DELETE FROM mfa_challenges WHERE user_id = ?`,
	// Refresh tokens through their families (indexed), as revocation does.
	`DELETE FROM oauth_refresh_tokens WHERE request_id IN (SELECT request_id FROM oauth_refresh_families WHERE subject = ?)`,
	`DELETE FROM oauth_refresh_families WHERE subject = ?`,
	`DELETE FROM oauth_authorize_codes WHERE subject = ?`,
	`DELETE FROM oauth_pkce_requests WHERE subject = ?`,
	`DELETE FROM oauth_oidc_requests WHERE subject = ?`,
	// The audit log keeps what happened, by id; the address and user agent
	// of the requests are the person's, so they go.
	`UPDATE audit_events SET ip = '', user_agent = '' WHERE actor_id = ? OR subject_id = ?`,
}

// DeleteUser erases the user (storage.LifecycleStore).
func (s *Store) DeleteUser(ctx context.Context, userID string, deleteOrgs []string) error {
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var n int
		if err := tx.GetContext(ctx, &n, s.rebind(`SELECT COUNT(*) FROM users WHERE id = ?`), userID); err != nil {
			return mapError(err)
		}
		if n == 0 {
			return storage.ErrNotFound
		}
		for _, org := range deleteOrgs {
			if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM organizations WHERE id = ?`), org); err != nil {
				return mapError(err)
			}
		}
		for _, q := range userRecords {
			args := []any{userID}
			if q[0] == 'U' {
				args = append(args, userID)
			}
			if _, err := tx.ExecContext(ctx, s.rebind(q), args...); err != nil {
				return mapError(err)
			}
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM users WHERE id = ?`), userID); err != nil {
			return mapError(err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	return nil
}
