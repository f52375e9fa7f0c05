package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/arsaka/puguh/storage"
)

var _ storage.ApplicationStore = (*Store)(nil)

const applicationColumns = `id, organization_id, name, secret_hash, redirect_uris, post_logout_redirect_uris,
	grant_types, response_types, scopes, token_endpoint_auth_method, public, trusted, created_at, updated_at, version,
	id_token_signed_response_alg, access_token_signed_response_alg`

// applicationRow is an applications row: the client with its lists still as JSON text.
type applicationRow struct {
	storage.Application
	RedirectURIs           string `db:"redirect_uris"`
	PostLogoutRedirectURIs string `db:"post_logout_redirect_uris"`
	GrantTypes             string `db:"grant_types"`
	ResponseTypes          string `db:"response_types"`
	Scopes                 string `db:"scopes"`
}

func (r *applicationRow) application() (*storage.Application, error) {
	a := r.Application
	for _, f := range []struct {
		column string
		text   string
		dst    *[]string
	}{
		{"redirect_uris", r.RedirectURIs, &a.RedirectURIs},
		{"post_logout_redirect_uris", r.PostLogoutRedirectURIs, &a.PostLogoutRedirectURIs},
		{"grant_types", r.GrantTypes, &a.GrantTypes},
		{"response_types", r.ResponseTypes, &a.ResponseTypes},
		{"scopes", r.Scopes, &a.Scopes},
	} {
		list, err := decodeList(f.text)
		if err != nil {
			return nil, fmt.Errorf("application %s: %s: %w", a.ID, f.column, err)
		}
		*f.dst = list
	}
	return &a, nil
}

// applicationLists encodes the list fields of a in column order:
// redirect_uris, post_logout_redirect_uris, grant_types, response_types, scopes.
func applicationLists(a *storage.Application) ([]any, error) {
	out := make([]any, 0, 5)
	for _, list := range [][]string{a.RedirectURIs, a.PostLogoutRedirectURIs, a.GrantTypes, a.ResponseTypes, a.Scopes} {
		text, err := encodeList(list)
		if err != nil {
			return nil, err
		}
		out = append(out, text)
	}
	return out, nil
}

// CreateApplication stores a. ErrConflict if the client id exists; ErrNotFound if
// its organization does not.
func (s *Store) CreateApplication(ctx context.Context, a *storage.Application) error {
	stamp(time.Now(), &a.CreatedAt, &a.UpdatedAt)
	lists, err := applicationLists(a)
	if err != nil {
		return fmt.Errorf("create application: %w", err)
	}
	args := append([]any{a.ID, a.OrganizationID, a.Name, a.SecretHash}, lists...)
	args = append(args, a.TokenEndpointAuthMethod, a.Public, a.Trusted, utc(a.CreatedAt), utc(a.UpdatedAt), a.Version,
		a.IDTokenSignedResponseAlg, a.AccessTokenSignedResponseAlg)
	if _, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO applications (`+applicationColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`), args...); err != nil {
		return fmt.Errorf("create application: %w", mapError(err))
	}
	return nil
}

// ApplicationByID finds an application by client id, whatever its organization:
// the OAuth endpoints know only the client id. REST handlers must compare
// OrganizationID with the caller's organization themselves.
func (s *Store) ApplicationByID(ctx context.Context, id string) (*storage.Application, error) {
	var r applicationRow
	if err := s.get(ctx, &r, s.rebind(`SELECT `+applicationColumns+` FROM applications WHERE id = ?`), id); err != nil {
		return nil, fmt.Errorf("application by id: %w", mapError(err))
	}
	return r.application()
}

// ListApplications lists the organization's applications, oldest first.
func (s *Store) ListApplications(ctx context.Context, orgID string) ([]storage.Application, error) {
	var rows []applicationRow
	if err := s.db.SelectContext(ctx, &rows, s.rebind(`SELECT `+applicationColumns+` FROM applications
		WHERE organization_id = ? ORDER BY created_at, id`), orgID); err != nil {
		return nil, fmt.Errorf("list applications: %w", mapError(err))
	}
	out := make([]storage.Application, 0, len(rows))
	for i := range rows {
		a, err := rows[i].application()
		if err != nil {
			return nil, fmt.Errorf("list applications: %w", err)
		}
		out = append(out, *a)
	}
	return out, nil
}

// UpdateApplication overwrites every mutable field of a (all but the organization
// and CreatedAt), matching on both id and organization so that one organization
// cannot edit another's client, and only if the row is still at a.Version; it
// then raises a.Version. A zero UpdatedAt is set to now. ErrPrecondition if
// another update came first; ErrNotFound if the organization has no such
// application.
func (s *Store) UpdateApplication(ctx context.Context, a *storage.Application) error {
	stamp(time.Now(), &a.UpdatedAt)
	lists, err := applicationLists(a)
	if err != nil {
		return fmt.Errorf("update application: %w", err)
	}
	args := append([]any{a.Name, a.SecretHash}, lists...)
	args = append(args, a.TokenEndpointAuthMethod, a.Public, a.Trusted, utc(a.UpdatedAt),
		a.IDTokenSignedResponseAlg, a.AccessTokenSignedResponseAlg, a.ID, a.OrganizationID, a.Version)
	res, err := s.db.ExecContext(ctx, s.rebind(`UPDATE applications SET
		name = ?, secret_hash = ?, redirect_uris = ?, post_logout_redirect_uris = ?, grant_types = ?,
		response_types = ?, scopes = ?, token_endpoint_auth_method = ?, public = ?, trusted = ?, updated_at = ?,
		id_token_signed_response_alg = ?, access_token_signed_response_alg = ?,
		version = version + 1
		WHERE id = ? AND organization_id = ? AND version = ?`), args...)
	if err != nil {
		return fmt.Errorf("update application: %w", mapError(err))
	}
	if err := oneRow(res); err != nil {
		if !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("update application: %w", err)
		}
		// No row at that version: tell a lost race from a missing application.
		var n int
		if err := s.get(ctx, &n, s.rebind(`SELECT COUNT(*) FROM applications WHERE id = ? AND organization_id = ?`),
			a.ID, a.OrganizationID); err != nil {
			return fmt.Errorf("update application: %w", mapError(err))
		}
		if n > 0 {
			return fmt.Errorf("update application %s: changed since version %d: %w", a.ID, a.Version, storage.ErrPrecondition)
		}
		return fmt.Errorf("update application: %w", storage.ErrNotFound)
	}
	a.Version++
	return nil
}

// DeleteApplication deletes one of the organization's applications.
// ErrNotFound if the organization has no such application.
func (s *Store) DeleteApplication(ctx context.Context, orgID, id string) error {
	res, err := s.db.ExecContext(ctx, s.rebind(`DELETE FROM applications WHERE organization_id = ? AND id = ?`), orgID, id)
	if err != nil {
		return fmt.Errorf("delete application: %w", mapError(err))
	}
	if err := oneRow(res); err != nil {
		return fmt.Errorf("delete application: %w", err)
	}
	return nil
}
