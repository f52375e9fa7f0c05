package oauthstore

import (
	"context"
)

// RevokeSubject ends every refresh family of one subject (a user id) that is
// not revoked yet, and its refresh tokens, whichever client they were issued
// to. It returns the ids of the families it revoked, so the caller can deny
// their access tokens at once through the denylist (oauth.Provider.DenyFamily):
// access tokens are not stored, and a JWT stays verifiable until it expires
// unless its family is denied.
//
// A password change uses it (docs/security.md, "Accounts and sessions"): whoever held the old password
// may hold tokens too, and they must stop working with it.
func (s *Store) RevokeSubject(ctx context.Context, subject string) ([]string, error) {
	ids, err := s.revokeWhere(ctx, "subject", subject)
	if err != nil {
		return nil, fail("revoke subject", err)
	}
	return ids, nil
}
