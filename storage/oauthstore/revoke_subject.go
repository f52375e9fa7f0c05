package oauthstore

import (
	"context"
	"fmt"
)

// RevokeSubject ends every token grant of one subject (a user id): each
// refresh family that is not yet revoked, its refresh tokens, and every
// access token still active, whichever client they were issued to. It returns
// the request ids (family ids) it revoked, so the caller can deny their JWT
// access tokens at once through the denylist (oauth.Provider.DenyFamily):
// a JWT stays verifiable until it expires unless its family is denied.
//
// A password change uses it (docs/security.md, "Accounts and sessions"): whoever held the old password
// may hold tokens too, and they must stop working with it.
func (s *Store) RevokeSubject(ctx context.Context, subject string) ([]string, error) {
	ids, err := s.revokeWhere(ctx, "subject", subject)
	if err != nil {
		return nil, fmt.Errorf("oauthstore: revoke subject: %w", err)
	}
	return ids, nil
}
