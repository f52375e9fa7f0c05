package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/arsaka/puguh/storage"
)

var _ storage.ConsentGrantStore = (*Store)(nil)

// grantRow is a consent_grants row with scopes still as JSON text.
type grantRow struct {
	storage.ConsentGrant
	Scopes string `db:"scopes"`
}

func (r *grantRow) grant() (*storage.ConsentGrant, error) {
	g := r.ConsentGrant
	list, err := decodeList(r.Scopes)
	if err != nil {
		return nil, fmt.Errorf("consent grant scopes: %w", err)
	}
	g.Scopes = list
	return &g, nil
}

// ConsentGrant returns the user's remembered consent to the application.
func (s *Store) ConsentGrant(ctx context.Context, applicationID, userID string) (*storage.ConsentGrant, error) {
	var r grantRow
	if err := s.get(ctx, &r, s.rebind(`SELECT g.user_id, g.application_id, g.scopes, u.email, g.created_at, g.updated_at
		FROM consent_grants g JOIN users u ON u.id = g.user_id WHERE g.application_id = ? AND g.user_id = ?`),
		applicationID, userID); err != nil {
		return nil, fmt.Errorf("consent grant: %w", mapError(err))
	}
	return r.grant()
}

// SaveConsentGrant creates the grant or replaces its scopes, keeping CreatedAt.
func (s *Store) SaveConsentGrant(ctx context.Context, g *storage.ConsentGrant) error {
	stamp(time.Now(), &g.CreatedAt, &g.UpdatedAt)
	scopes, err := encodeList(g.Scopes)
	if err != nil {
		return fmt.Errorf("save consent grant: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO consent_grants (user_id, application_id, scopes, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (application_id, user_id) DO UPDATE SET scopes = excluded.scopes, updated_at = excluded.updated_at`),
		g.UserID, g.ApplicationID, scopes, utc(g.CreatedAt), utc(g.UpdatedAt)); err != nil {
		return fmt.Errorf("save consent grant: %w", mapError(err))
	}
	return nil
}

// ListConsentGrants lists the application's grants, oldest first.
func (s *Store) ListConsentGrants(ctx context.Context, applicationID string) ([]storage.ConsentGrant, error) {
	var rows []grantRow
	if err := s.db.SelectContext(ctx, &rows, s.rebind(`SELECT g.user_id, g.application_id, g.scopes, u.email, g.created_at, g.updated_at
		FROM consent_grants g JOIN users u ON u.id = g.user_id WHERE g.application_id = ? ORDER BY g.created_at, g.user_id`),
		applicationID); err != nil {
		return nil, fmt.Errorf("list consent grants: %w", mapError(err))
	}
	out := make([]storage.ConsentGrant, 0, len(rows))
	for i := range rows {
		g, err := rows[i].grant()
		if err != nil {
			return nil, err
		}
		out = append(out, *g)
	}
	return out, nil
}

// DeleteConsentGrant deletes the grant and the user's family records for the
// application, returning the families. ErrNotFound when there was neither a
// grant nor a family (a trusted application stores no grant, but its tokens
// are still revoked here).
func (s *Store) DeleteConsentGrant(ctx context.Context, applicationID, userID string) ([]string, error) {
	var families []string
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := tx.SelectContext(ctx, &families, s.rebind(`SELECT family_id FROM session_families
			WHERE application_id = ? AND user_id = ?`+s.forUpdate()), applicationID, userID); err != nil {
			return mapError(err)
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM session_families WHERE application_id = ? AND user_id = ?`),
			applicationID, userID); err != nil {
			return mapError(err)
		}
		res, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM consent_grants WHERE application_id = ? AND user_id = ?`),
			applicationID, userID)
		if err != nil {
			return mapError(err)
		}
		if err := oneRow(res); errors.Is(err, storage.ErrNotFound) && len(families) == 0 {
			return err
		} else if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("delete consent grant: %w", err)
	}
	return families, nil
}

// ScopeDescriptions returns the organization's descriptions of its own scopes.
func (s *Store) ScopeDescriptions(ctx context.Context, orgID string) (map[string]string, error) {
	var rows []struct {
		Name        string `db:"name"`
		Description string `db:"description"`
	}
	if err := s.db.SelectContext(ctx, &rows, s.rebind(`SELECT name, description FROM oauth_scopes WHERE organization_id = ?`), orgID); err != nil {
		return nil, fmt.Errorf("scope descriptions: %w", mapError(err))
	}
	out := make(map[string]string, len(rows))
	for _, r := range rows {
		out[r.Name] = r.Description
	}
	return out, nil
}

// SetScopeDescription creates or replaces the description of an organization's scope.
func (s *Store) SetScopeDescription(ctx context.Context, orgID, name, description string) error {
	if _, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO oauth_scopes (organization_id, name, description) VALUES (?, ?, ?)
		ON CONFLICT (organization_id, name) DO UPDATE SET description = excluded.description`), orgID, name, description); err != nil {
		return fmt.Errorf("set scope description: %w", mapError(err))
	}
	return nil
}
