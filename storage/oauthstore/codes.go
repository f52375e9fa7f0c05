package oauthstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/ory/fosite"
)

// CreateAuthorizeCodeSession implements oauth2.AuthorizeCodeStorage.
func (s *Store) CreateAuthorizeCodeSession(ctx context.Context, signature string, r fosite.Requester) error {
	return s.createRequest(ctx, tableCodes, signature, r, fosite.AuthorizeCode)
}

// GetAuthorizeCodeSession implements oauth2.AuthorizeCodeStorage. A used code
// returns its request together with fosite.ErrInvalidatedAuthorizeCode: fosite
// needs the request's id to revoke every token the first redemption issued
// (RFC 6749 §4.1.2, RFC 9700 §4.4.1.1).
func (s *Store) GetAuthorizeCodeSession(ctx context.Context, signature string, session fosite.Session) (fosite.Requester, error) {
	row, r, err := s.getRequest(ctx, tableCodes, signature, session)
	if err != nil {
		return nil, err
	}
	if !row.Active {
		return r, fmt.Errorf("oauthstore: authorization code: %w", fosite.ErrInvalidatedAuthorizeCode)
	}
	return r, nil
}

// InvalidateAuthorizeCodeSession implements oauth2.AuthorizeCodeStorage. The
// update is conditional on the code still being active, so of two concurrent
// redemptions exactly one succeeds (docs/security.md, "Token endpoint"): the other's update matches no
// row (PostgreSQL re-checks the condition after the winner's row lock is
// released; SQLite runs the transactions one at a time) and its transaction is
// rolled back. fosite reports that as server_error wrapping
// fosite.ErrInvalidatedAuthorizeCode; the token endpoint should answer
// invalid_grant for it.
func (s *Store) InvalidateAuthorizeCodeSession(ctx context.Context, signature string) error {
	if !storable(signature) {
		return fmt.Errorf("oauthstore: invalidate authorization code: %w", fosite.ErrNotFound)
	}
	res, err := s.q(ctx).ExecContext(ctx,
		s.db.Rebind("UPDATE "+tableCodes+" SET active = FALSE WHERE signature = ? AND active"), signature)
	if err != nil {
		return fail("invalidate authorization code", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fail("invalidate authorization code", err)
	} else if n == 1 {
		return nil
	}
	var active bool
	err = s.q(ctx).QueryRowxContext(ctx, s.db.Rebind("SELECT active FROM "+tableCodes+" WHERE signature = ?"), signature).Scan(&active)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("oauthstore: invalidate authorization code: %w", fosite.ErrNotFound)
	}
	if err != nil {
		return fail("invalidate authorization code", err)
	}
	return fmt.Errorf("oauthstore: authorization code redeemed concurrently: %w", fosite.ErrInvalidatedAuthorizeCode)
}

// CreatePKCERequestSession implements pkce.PKCERequestStorage. The row is keyed
// by the code's signature and lives as long as the code.
func (s *Store) CreatePKCERequestSession(ctx context.Context, signature string, r fosite.Requester) error {
	return s.createRequest(ctx, tablePKCE, signature, r, fosite.AuthorizeCode)
}

// GetPKCERequestSession implements pkce.PKCERequestStorage.
func (s *Store) GetPKCERequestSession(ctx context.Context, signature string, session fosite.Session) (fosite.Requester, error) {
	_, r, err := s.getRequest(ctx, tablePKCE, signature, session)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// DeletePKCERequestSession implements pkce.PKCERequestStorage.
func (s *Store) DeletePKCERequestSession(ctx context.Context, signature string) error {
	return s.deleteRequest(ctx, tablePKCE, signature)
}

// CreateOpenIDConnectSession implements openid.OpenIDConnectRequestStorage.
// Unlike every other method, fosite passes the raw authorization code here, not
// its signature; the row is keyed by oidcKey(code) so the code is not stored.
func (s *Store) CreateOpenIDConnectSession(ctx context.Context, authorizeCode string, r fosite.Requester) error {
	return s.createRequest(ctx, tableOIDC, oidcKey(authorizeCode), r, fosite.AuthorizeCode)
}

// GetOpenIDConnectSession implements openid.OpenIDConnectRequestStorage. A
// missing row is openid.ErrNoSessionFound (fosite.ErrNotFound).
func (s *Store) GetOpenIDConnectSession(ctx context.Context, authorizeCode string, r fosite.Requester) (fosite.Requester, error) {
	var session fosite.Session
	if r != nil {
		session = r.GetSession()
	}
	_, req, err := s.getRequest(ctx, tableOIDC, oidcKey(authorizeCode), session)
	if err != nil {
		return nil, err
	}
	return req, nil
}

// DeleteOpenIDConnectSession implements openid.OpenIDConnectRequestStorage.
func (s *Store) DeleteOpenIDConnectSession(ctx context.Context, authorizeCode string) error {
	return s.deleteRequest(ctx, tableOIDC, oidcKey(authorizeCode))
}

// oidcKey is the key of an OpenID Connect request: the SHA-256 of the raw
// authorization code. The code carries at least 256 bits of entropy, so an
// unkeyed hash is enough to keep a database reader from redeeming it.
func oidcKey(authorizeCode string) string {
	sum := sha256.Sum256([]byte(authorizeCode))
	return "sha256:" + hex.EncodeToString(sum[:])
}
