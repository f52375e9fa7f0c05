package oauthstore

import (
	"context"
	"fmt"

	"github.com/ory/fosite"
)

// Access tokens are not stored. Puguh's access tokens are RFC 9068 JWTs that
// carry everything introspection and the REST API need, so they are checked
// from their claims, and revoked through a denylist of token ids, families
// and clients that the composition keeps (provider/oauth/stateless.go). The
// methods below are fosite's AccessTokenStorage and the access-token half of
// its TokenRevocationStorage, as a store without access tokens answers them:
// issuing a token writes nothing, and no token is ever found.

// CreateAccessTokenSession implements oauth2.AccessTokenStorage. It stores
// nothing, so issuing an access token costs no database write and cannot fail
// for the database's sake.
func (s *Store) CreateAccessTokenSession(context.Context, string, fosite.Requester) error {
	return nil
}

// GetAccessTokenSession implements oauth2.AccessTokenStorage. It finds
// nothing (fosite.ErrNotFound): fosite's storage-backed introspection and
// revocation never see one of our access tokens, the composition handles
// them from their claims first.
func (s *Store) GetAccessTokenSession(context.Context, string, fosite.Session) (fosite.Requester, error) {
	return nil, fmt.Errorf("oauthstore: access tokens are not stored: %w", fosite.ErrNotFound)
}

// DeleteAccessTokenSession implements oauth2.AccessTokenStorage; there is
// nothing to delete.
func (s *Store) DeleteAccessTokenSession(context.Context, string) error { return nil }

// RevokeAccessToken implements oauth2.TokenRevocationStorage. fosite calls it
// with a grant's request id when the grant is revoked (RFC 7009 revocation of
// a refresh token, a reused refresh token or authorization code). The store
// has nothing to mark: ending the grant's access tokens is denying the family
// in the denylist, which the composition does in its own RevokeAccessToken.
func (s *Store) RevokeAccessToken(context.Context, string) error { return nil }
