package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/arsaka/puguh/storage"
)

// SessionsOfUser lists the user's unexpired browser sessions, most recently
// used first, for the account page's "active sessions" list.
func (s *Store) SessionsOfUser(ctx context.Context, userID string, now time.Time) ([]storage.BrowserSession, error) {
	var out []storage.BrowserSession
	if err := s.db.SelectContext(ctx, &out, s.rebind(`SELECT `+sessionColumns+` FROM sessions
		WHERE user_id = ? AND expires_at > ? ORDER BY last_seen_at DESC, id LIMIT 100`), userID, utc(now)); err != nil {
		return nil, fmt.Errorf("sessions of user: %w", mapError(err))
	}
	return out, nil
}
