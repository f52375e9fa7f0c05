package oauthstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ory/fosite"
)

// ClientAssertionJWTValid implements fosite.ClientManager: a JTI seen before
// and not yet expired is fosite.ErrJTIKnown (RFC 7523 §3: a client assertion
// is used once).
func (s *Store) ClientAssertionJWTValid(ctx context.Context, jti string) error {
	var exp time.Time
	err := s.q(ctx).QueryRowxContext(ctx, s.db.Rebind("SELECT expires_at FROM oauth_jtis WHERE jti = ?"), jti).Scan(&exp)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fail("check jti", err)
	}
	if exp.After(s.clock()) {
		return fmt.Errorf("oauthstore: jti: %w", fosite.ErrJTIKnown)
	}
	return nil
}

// SetClientAssertionJWT implements fosite.ClientManager. Recording is one
// conditional upsert: a new JTI is inserted, an expired one is renewed, a live
// one matches nothing and is fosite.ErrJTIKnown, so two replicas racing with
// the same assertion cannot both accept it. Expired JTIs are removed by the
// janitor rather than on every call.
func (s *Store) SetClientAssertionJWT(ctx context.Context, jti string, exp time.Time) error {
	res, err := s.q(ctx).ExecContext(ctx, s.db.Rebind(`INSERT INTO oauth_jtis (jti, expires_at) VALUES (?, ?)
		ON CONFLICT (jti) DO UPDATE SET expires_at = excluded.expires_at WHERE oauth_jtis.expires_at <= ?`),
		jti, dbTime(exp), s.clock())
	if err != nil {
		return fail("record jti", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fail("record jti", err)
	}
	if n == 0 {
		return fmt.Errorf("oauthstore: jti: %w", fosite.ErrJTIKnown)
	}
	return nil
}
