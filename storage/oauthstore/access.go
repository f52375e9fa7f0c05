package oauthstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/ory/fosite"
)

// accessRow is an access token joined with the revocation state of its refresh
// family, if it has one (client_credentials tokens do not).
type accessRow struct {
	requestRow
	FamilyRevoked bool `db:"family_revoked"`
}

// Puguh's compositions do not call the access-token methods below: their
// access tokens are JWTs that are introspected and revoked from their claims
// (provider/oauth/stateless.go). They stay so that the store remains a
// complete fosite storage, for a composition with opaque access tokens.

// CreateAccessTokenSession implements oauth2.AccessTokenStorage.
func (s *Store) CreateAccessTokenSession(ctx context.Context, signature string, r fosite.Requester) error {
	return s.createRequest(ctx, tableAccess, signature, r, fosite.AccessToken)
}

// GetAccessTokenSession implements oauth2.AccessTokenStorage. A revoked token,
// or one whose refresh family was revoked, returns its request with
// fosite.ErrInactiveToken, which introspection and revocation treat as
// inactive. Expiry is left to fosite's strategy, as for every token type.
func (s *Store) GetAccessTokenSession(ctx context.Context, signature string, session fosite.Session) (fosite.Requester, error) {
	var row accessRow
	if !storable(signature) {
		return nil, fmt.Errorf("oauthstore: access token: %w", fosite.ErrNotFound)
	}
	err := sqlx.GetContext(ctx, s.q(ctx), &row, s.db.Rebind(`SELECT `+prefixed("a.", requestColumns)+`,
		COALESCE(f.revoked, FALSE) AS family_revoked
		FROM oauth_access_tokens a LEFT JOIN oauth_refresh_families f ON f.request_id = a.request_id
		WHERE a.signature = ?`), signature)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("oauthstore: access token: %w", fosite.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("oauthstore: read access token: %w", err)
	}
	r, err := s.toRequest(ctx, row.requestRow, session)
	if err != nil {
		return nil, fmt.Errorf("oauthstore: read access token: %w", err)
	}
	if !row.Active || row.FamilyRevoked {
		return r, fmt.Errorf("oauthstore: access token revoked: %w", fosite.ErrInactiveToken)
	}
	return r, nil
}

// DeleteAccessTokenSession implements oauth2.AccessTokenStorage.
func (s *Store) DeleteAccessTokenSession(ctx context.Context, signature string) error {
	return s.deleteRequest(ctx, tableAccess, signature)
}

// RevokeAccessToken implements oauth2.TokenRevocationStorage: every access token
// of the grant becomes inactive (RFC 7009 §2.1). fosite calls it when a code or
// refresh token is reused and from the revocation endpoint; a normal refresh
// goes through RotateRefreshToken instead, which revokes only the access token
// issued with the rotated refresh token.
//
// The family's row lock is taken first, as RotateRefreshToken does, so on
// PostgreSQL a rotation that is committing at the same moment finishes first
// and the update below, a new statement with a new snapshot, sees its token.
func (s *Store) RevokeAccessToken(ctx context.Context, requestID string) error {
	err := s.inTx(ctx, func(q sqlx.ExtContext) error {
		if _, err := s.lockFamily(ctx, q, requestID); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		_, err := q.ExecContext(ctx, s.db.Rebind("UPDATE oauth_access_tokens SET active = FALSE WHERE request_id = ?"), requestID)
		return err
	})
	if err != nil {
		return fmt.Errorf("oauthstore: revoke access tokens: %w", err)
	}
	return nil
}

// prefixed qualifies each column of a comma-separated list with prefix.
func prefixed(prefix, columns string) string {
	parts := strings.Split(columns, ",")
	for i, c := range parts {
		parts[i] = prefix + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}
