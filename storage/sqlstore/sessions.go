package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/arsaka/puguh/storage"
)

var (
	_ storage.SessionStore        = (*Store)(nil)
	_ storage.LoginChallengeStore = (*Store)(nil)
)

const sessionColumns = `id, user_id, auth_time, created_at, expires_at, last_seen_at, user_agent, amr`

// CreateSession stores s. ErrNotFound if its user does not exist.
func (s *Store) CreateSession(ctx context.Context, bs *storage.BrowserSession) error {
	if _, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO sessions (`+sessionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
		bs.ID, bs.UserID, utc(bs.AuthTime), utc(bs.CreatedAt), utc(bs.ExpiresAt), utc(bs.LastSeenAt), storableText(bs.UserAgent), bs.AMR); err != nil {
		return fmt.Errorf("create session: %w", mapError(err))
	}
	return nil
}

// storableText is s as a text column of either dialect can hold it: PostgreSQL
// refuses bytes that are not UTF-8, and NUL, where SQLite would keep them, so
// both get U+FFFD in their place (a run of invalid bytes becomes one U+FFFD).
// It is for text that comes from a request and is only ever shown, like a
// user agent cut at a byte limit inside a character.
func storableText(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// SessionByID returns the session if it has not expired at now.
func (s *Store) SessionByID(ctx context.Context, id string, now time.Time) (*storage.BrowserSession, error) {
	var bs storage.BrowserSession
	if err := s.get(ctx, &bs, s.rebind(`SELECT `+sessionColumns+` FROM sessions WHERE id = ? AND expires_at > ?`),
		id, utc(now)); err != nil {
		return nil, fmt.Errorf("session by id: %w", mapError(err))
	}
	return &bs, nil
}

// TouchSession records activity; the caller throttles how often.
func (s *Store) TouchSession(ctx context.Context, id string, at time.Time) error {
	if _, err := s.db.ExecContext(ctx, s.rebind(`UPDATE sessions SET last_seen_at = ? WHERE id = ?`), utc(at), id); err != nil {
		return fmt.Errorf("touch session: %w", mapError(err))
	}
	return nil
}

// DeleteSession deletes the session and its family records, returning the
// families so the caller can revoke their tokens.
func (s *Store) DeleteSession(ctx context.Context, id string) ([]string, error) {
	var families []string
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := tx.SelectContext(ctx, &families, s.rebind(`SELECT family_id FROM session_families WHERE session_id = ?`+s.forUpdate()), id); err != nil {
			return mapError(err)
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM session_families WHERE session_id = ?`), id); err != nil {
			return mapError(err)
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM sessions WHERE id = ?`), id); err != nil {
			return mapError(err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("delete session: %w", err)
	}
	return families, nil
}

// AddSessionFamily records a family issued through the browser flow.
func (s *Store) AddSessionFamily(ctx context.Context, f *storage.SessionFamily) error {
	if _, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO session_families
		(family_id, session_id, user_id, application_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`),
		f.FamilyID, f.SessionID, f.UserID, f.ApplicationID, utc(f.CreatedAt), utc(f.ExpiresAt)); err != nil {
		return fmt.Errorf("add session family: %w", mapError(err))
	}
	return nil
}

// FamiliesOfUser returns the families the user's browser grants were issued
// under since a time, in every session. A grant without a refresh token has
// no other record: its access tokens are JWTs that are never stored.
func (s *Store) FamiliesOfUser(ctx context.Context, userID string, since time.Time) ([]string, error) {
	var families []string
	if err := s.db.SelectContext(ctx, &families, s.rebind(`SELECT family_id FROM session_families WHERE user_id = ? AND created_at > ?`),
		userID, utc(since)); err != nil {
		return nil, fmt.Errorf("families of user: %w", mapError(err))
	}
	return families, nil
}

// MoveSessionFamilies re-attaches the families of session from to session to.
func (s *Store) MoveSessionFamilies(ctx context.Context, from, to string) error {
	if _, err := s.db.ExecContext(ctx, s.rebind(`UPDATE session_families SET session_id = ? WHERE session_id = ?`), to, from); err != nil {
		return fmt.Errorf("move session families: %w", mapError(err))
	}
	return nil
}

// DeleteExpiredSessions deletes at most limit expired rows from each table, so
// one call never holds locks on a large part of a table.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time, limit int) (int, error) {
	deleted := 0
	for _, table := range []string{"sessions", "login_challenges", "session_families", "mfa_challenges"} {
		key := "id"
		if table == "session_families" {
			key = "family_id"
		}
		q := `DELETE FROM ` + table + ` WHERE ` + key + ` IN (SELECT ` + key + ` FROM ` + table + ` WHERE expires_at <= ? LIMIT ?)`
		res, err := s.db.ExecContext(ctx, s.rebind(q), utc(now), limit)
		if err != nil {
			return deleted, fmt.Errorf("delete expired %s: %w", table, mapError(err))
		}
		if n, err := res.RowsAffected(); err == nil {
			deleted += int(n)
		}
	}
	return deleted, nil
}

const challengeColumns = `id, browser, client_id, query, requested_at, expires_at, user_id, consented_at`

// CreateLoginChallenge stores c.
func (s *Store) CreateLoginChallenge(ctx context.Context, c *storage.LoginChallenge) error {
	if _, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO login_challenges (`+challengeColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
		c.ID, c.Browser, c.ClientID, c.Query, utc(c.RequestedAt), utc(c.ExpiresAt), c.UserID, utcPtr(c.ConsentedAt)); err != nil {
		return fmt.Errorf("create login challenge: %w", mapError(err))
	}
	return nil
}

// LoginChallengeByID returns the challenge if it has not expired at now.
func (s *Store) LoginChallengeByID(ctx context.Context, id string, now time.Time) (*storage.LoginChallenge, error) {
	var c storage.LoginChallenge
	if err := s.get(ctx, &c, s.rebind(`SELECT `+challengeColumns+` FROM login_challenges WHERE id = ? AND expires_at > ?`),
		id, utc(now)); err != nil {
		return nil, fmt.Errorf("login challenge by id: %w", mapError(err))
	}
	return &c, nil
}

// ConsentLoginChallenge records who consented and when.
func (s *Store) ConsentLoginChallenge(ctx context.Context, id, userID string, at time.Time) error {
	res, err := s.db.ExecContext(ctx, s.rebind(`UPDATE login_challenges SET user_id = ?, consented_at = ? WHERE id = ?`), userID, utc(at), id)
	if err != nil {
		return fmt.Errorf("consent login challenge: %w", mapError(err))
	}
	if err := oneRow(res); err != nil {
		return fmt.Errorf("consent login challenge: %w", err)
	}
	return nil
}

// DeleteLoginChallenge deletes the challenge; a missing one is not an error.
func (s *Store) DeleteLoginChallenge(ctx context.Context, id string) error {
	if _, err := s.db.ExecContext(ctx, s.rebind(`DELETE FROM login_challenges WHERE id = ?`), id); err != nil {
		return fmt.Errorf("delete login challenge: %w", mapError(err))
	}
	return nil
}

// TrimLoginChallenges keeps browser's keep most recent challenges and deletes
// the rest (login_challenges_browser_idx serves both halves).
func (s *Store) TrimLoginChallenges(ctx context.Context, browser string, keep int) error {
	if _, err := s.db.ExecContext(ctx, s.rebind(`DELETE FROM login_challenges WHERE browser = ? AND id NOT IN (
		SELECT id FROM login_challenges WHERE browser = ? ORDER BY requested_at DESC, id DESC LIMIT ?)`),
		browser, browser, keep); err != nil {
		return fmt.Errorf("trim login challenges: %w", mapError(err))
	}
	return nil
}
