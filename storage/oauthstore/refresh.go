package oauthstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/ory/fosite"
)

// Refresh token rotation (RFC 6749 §6, RFC 9700 §4.14.2) with a grace period.
//
// fosite v0.49 refreshes in two steps: HandleTokenEndpointRequest reads the
// presented token with GetRefreshTokenSession (outside any transaction), then
// PopulateTokenEndpointResponse opens a transaction and calls
// RotateRefreshToken, CreateAccessTokenSession (which stores nothing, see
// access.go) and CreateRefreshTokenSession. If GetRefreshTokenSession answers
// fosite.ErrInactiveToken together with the request, fosite treats the token
// as reused and calls DeleteRefreshTokenSession, RevokeRefreshToken and
// RevokeAccessToken with the grant's request id.
//
// The grace period lives in those methods:
//   - RotateRefreshToken marks the token used (used_at, the first use only).
//     The access token issued with it is not stored and stays valid until it
//     expires, like every JWT access token after a refresh.
//   - A used token presented again before used_at+grace reads as valid, and
//     rotating it again succeeds: the client gets a new pair with the same
//     request id, so it joins the same family. The sibling pairs other repeats
//     received stay valid: nothing in a rotation revokes by request id.
//   - After the grace period it reads as inactive, so fosite revokes the family;
//     every token of the grant shares the request id, including the pairs minted
//     inside the grace window, and the family row's revoked flag also ends them.
//
// The decision that counts is made in RotateRefreshToken, inside fosite's
// transaction, by conditional updates checked by rows affected: the family must
// be neither revoked nor past its absolute lifetime, and the token must be
// active or used within the grace period. The family row is updated first, so
// on PostgreSQL its row lock serialises every rotation and revocation of one
// family across replicas (revocations take it first too, so no pair minted by a
// concurrent rotation escapes a revocation); on SQLite each write transaction
// holds the database's write lock. All times come from the store's clock.

// refreshRow is a refresh token with the state of its family.
type refreshRow struct {
	requestRow
	UsedAt          *time.Time `db:"used_at"`
	FamilyExpiresAt time.Time  `db:"family_expires_at"`
	FamilyRevoked   bool       `db:"family_revoked"`
}

// family is the part of a refresh family's row the store decides on.
type family struct {
	ExpiresAt time.Time `db:"expires_at"`
	Revoked   bool      `db:"revoked"`
}

// CreateRefreshTokenSession implements oauth2.RefreshTokenStorage. The first
// refresh token of a grant starts its family; the family's absolute expiry caps
// the row's expiry whatever the sliding lifetime says (ASVS 10.4.8). The
// signature of the access token issued with it is not kept: access tokens are
// not stored, so there is nothing it could name.
func (s *Store) CreateRefreshTokenSession(ctx context.Context, signature, _ string, r fosite.Requester) error {
	row, err := newRequestRow(signature, r, fosite.RefreshToken)
	if err != nil {
		return fail("store refresh token", err)
	}
	now := s.clock()
	err = s.inTx(ctx, func(q sqlx.ExtContext) error {
		if _, err := q.ExecContext(ctx, s.db.Rebind(`INSERT INTO oauth_refresh_families
			(request_id, client_id, subject, issued_at, expires_at, revoked) VALUES (?, ?, ?, ?, ?, FALSE)
			ON CONFLICT (request_id) DO NOTHING`),
			row.RequestID, row.ClientID, row.Subject, now, now.Add(s.maxFamily)); err != nil {
			return err
		}
		fam, err := s.lockFamily(ctx, q, row.RequestID)
		if err != nil {
			return err
		}
		if row.ExpiresAt == nil || row.ExpiresAt.After(fam.ExpiresAt) {
			row.ExpiresAt = &fam.ExpiresAt
		}
		return s.insertRequest(ctx, q, tableRefresh, row, "", "")
	})
	if err != nil {
		return fail("store refresh token", err)
	}
	return nil
}

// GetRefreshTokenSession implements oauth2.RefreshTokenStorage. It answers:
//   - the request, for an active token or one used within the grace period;
//   - the request with fosite.ErrInactiveToken for a token used earlier or a
//     revoked family, so fosite revokes the family (reuse detection);
//   - fosite.ErrNotFound for an unknown token or a family past its absolute
//     lifetime (fosite: invalid_grant).
//
// The session's refresh expiry is lowered to the family's absolute expiry, so
// fosite's own expiry check also enforces the cap.
func (s *Store) GetRefreshTokenSession(ctx context.Context, signature string, session fosite.Session) (fosite.Requester, error) {
	var row refreshRow
	if !storable(signature) {
		return nil, fmt.Errorf("oauthstore: refresh token: %w", fosite.ErrNotFound)
	}
	err := sqlx.GetContext(ctx, s.q(ctx), &row, s.db.Rebind(`SELECT `+prefixed("r.", requestColumns)+`,
		r.used_at, f.expires_at AS family_expires_at, f.revoked AS family_revoked
		FROM oauth_refresh_tokens r JOIN oauth_refresh_families f ON f.request_id = r.request_id
		WHERE r.signature = ?`), signature)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("oauthstore: refresh token: %w", fosite.ErrNotFound)
	}
	if err != nil {
		return nil, fail("read refresh token", err)
	}
	r, err := s.toRequest(ctx, row.requestRow, session)
	if err != nil {
		return nil, fail("read refresh token", err)
	}
	capped := row.FamilyExpiresAt.UTC()
	if exp := r.Session.GetExpiresAt(fosite.RefreshToken); exp.IsZero() || exp.After(capped) {
		r.Session.SetExpiresAt(fosite.RefreshToken, capped)
	}
	now := s.clock()
	switch {
	case row.FamilyRevoked:
		return r, fmt.Errorf("oauthstore: refresh family revoked: %w", fosite.ErrInactiveToken)
	case !now.Before(capped):
		return nil, fmt.Errorf("oauthstore: refresh family past its absolute lifetime: %w", fosite.ErrNotFound)
	case row.Active, s.withinGrace(row.UsedAt, now):
		return r, nil
	default:
		return r, fmt.Errorf("oauthstore: refresh token already used: %w", fosite.ErrInactiveToken)
	}
}

func (s *Store) withinGrace(usedAt *time.Time, now time.Time) bool {
	return usedAt != nil && s.grace > 0 && now.Before(usedAt.Add(s.grace))
}

// RotateRefreshToken implements oauth2.RefreshTokenStorage; fosite calls it
// inside its transaction before storing the new pair. See the comment at the
// top of this file. A refusal is fosite.ErrInactiveToken, which fosite answers
// with invalid_request ("retry") after rolling back; the retry then reads the
// token as reused and revokes the family.
func (s *Store) RotateRefreshToken(ctx context.Context, requestID, signature string) error {
	if !storable(signature) {
		return fmt.Errorf("oauthstore: rotate refresh token: %w", fosite.ErrInactiveToken)
	}
	now := s.clock()
	err := s.inTx(ctx, func(q sqlx.ExtContext) error {
		// First statement: takes the family's row lock on PostgreSQL.
		res, err := q.ExecContext(ctx, s.db.Rebind(`UPDATE oauth_refresh_families SET rotated_at = ?
			WHERE request_id = ? AND NOT revoked AND expires_at > ?`), now, requestID, now)
		if err := oneRow(res, err, "family revoked or expired"); err != nil {
			return err
		}
		// COALESCE keeps the first use: repeats cannot stretch the grace period.
		res, err = q.ExecContext(ctx, s.db.Rebind(`UPDATE oauth_refresh_tokens SET active = FALSE, used_at = COALESCE(used_at, ?)
			WHERE signature = ? AND request_id = ? AND (active OR used_at > ?)`),
			now, signature, requestID, now.Add(-s.grace))
		return oneRow(res, err, "token used outside the grace period")
	})
	if err != nil {
		return fail("rotate refresh token", err)
	}
	return nil
}

// KeepRefreshToken is RotateRefreshToken for a deployment that does not
// rotate (PUGUH_REFRESH_TOKEN_ROTATION=false): the presented token stays
// active and is answered again, so it must still be good when the new access
// token is issued. Inside one transaction it takes the family's lock (as a
// rotation does, so a concurrent revocation is either seen or comes after)
// and checks that the family is neither revoked nor past its absolute
// lifetime and that the token is still active; it writes nothing. A refusal
// is fosite.ErrInactiveToken.
func (s *Store) KeepRefreshToken(ctx context.Context, requestID, signature string) error {
	if !storable(signature) {
		return fmt.Errorf("oauthstore: keep refresh token: %w", fosite.ErrInactiveToken)
	}
	now := s.clock()
	err := s.inTx(ctx, func(q sqlx.ExtContext) error {
		fam, err := s.lockFamily(ctx, q, requestID)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && (fam.Revoked || !now.Before(fam.ExpiresAt))) {
			return fmt.Errorf("family revoked or expired: %w", fosite.ErrInactiveToken)
		}
		if err != nil {
			return err
		}
		var active bool
		err = sqlx.GetContext(ctx, q, &active, s.db.Rebind(`SELECT active FROM oauth_refresh_tokens
			WHERE signature = ? AND request_id = ?`), signature, requestID)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && !active) {
			return fmt.Errorf("token no longer active: %w", fosite.ErrInactiveToken)
		}
		return err
	})
	if err != nil {
		return fail("keep refresh token", err)
	}
	return nil
}

// oneRow turns an update that matched no row into fosite.ErrInactiveToken,
// saying why.
func oneRow(res sql.Result, err error, why string) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", why, fosite.ErrInactiveToken)
	}
	return nil
}

// DeleteRefreshTokenSession implements oauth2.RefreshTokenStorage. fosite calls
// it on the reused token before revoking its family; the family lock is taken
// first so the lock order is the same as in RotateRefreshToken.
func (s *Store) DeleteRefreshTokenSession(ctx context.Context, signature string) error {
	if !storable(signature) {
		return nil
	}
	err := s.inTx(ctx, func(q sqlx.ExtContext) error {
		var requestID string
		err := sqlx.GetContext(ctx, q, &requestID, s.db.Rebind("SELECT request_id FROM oauth_refresh_tokens WHERE signature = ?"), signature)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := s.lockFamily(ctx, q, requestID); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		_, err = q.ExecContext(ctx, s.db.Rebind("DELETE FROM oauth_refresh_tokens WHERE signature = ?"), signature)
		return err
	})
	if err != nil {
		return fail("delete refresh token", err)
	}
	return nil
}

// RevokeRefreshToken implements oauth2.TokenRevocationStorage: the whole family
// ends (RFC 7009 §2.1, RFC 9700 §4.14.2), including tokens a concurrent
// rotation is about to commit, because the family row's revoked flag is what
// GetRefreshTokenSession and RotateRefreshToken check. The family's access
// tokens end in the composition's denylist (RevokeAccessToken).
func (s *Store) RevokeRefreshToken(ctx context.Context, requestID string) error {
	err := s.inTx(ctx, func(q sqlx.ExtContext) error {
		if _, err := q.ExecContext(ctx, s.db.Rebind("UPDATE oauth_refresh_families SET revoked = TRUE WHERE request_id = ?"), requestID); err != nil {
			return err
		}
		_, err := q.ExecContext(ctx, s.db.Rebind("UPDATE oauth_refresh_tokens SET active = FALSE WHERE request_id = ?"), requestID)
		return err
	})
	if err != nil {
		return fail("revoke refresh tokens", err)
	}
	return nil
}

// lockFamily reads a family row, locking it on PostgreSQL until the
// transaction ends. A missing family is sql.ErrNoRows.
func (s *Store) lockFamily(ctx context.Context, q sqlx.ExtContext, requestID string) (family, error) {
	var f family
	err := sqlx.GetContext(ctx, q, &f, s.db.Rebind("SELECT expires_at, revoked FROM oauth_refresh_families WHERE request_id = ?"+s.forUpdate()), requestID)
	f.ExpiresAt = f.ExpiresAt.UTC()
	return f, err
}
