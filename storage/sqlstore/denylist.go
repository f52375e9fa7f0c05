package sqlstore

import (
	"context"
	"fmt"
	"time"
)

// The denylist table keeps revocations of access tokens (which are never
// stored) across restarts when there is no Redis; storage/revocation owns the
// meaning of the keys.

// PutDenial denies key until the given time, or extends an existing entry to
// it; an entry is never shortened.
func (s *Store) PutDenial(ctx context.Context, key string, until time.Time) error {
	if _, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO denylist (key, expires_at) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at WHERE denylist.expires_at < excluded.expires_at`),
		key, utc(until)); err != nil {
		return fmt.Errorf("put denial: %w", mapError(err))
	}
	return nil
}

// ActiveDenials returns every entry that has not expired at now, with its expiry.
func (s *Store) ActiveDenials(ctx context.Context, now time.Time) (map[string]time.Time, error) {
	rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT key, expires_at FROM denylist WHERE expires_at > ?`), utc(now))
	if err != nil {
		return nil, fmt.Errorf("active denials: %w", mapError(err))
	}
	defer rows.Close()
	out := make(map[string]time.Time)
	for rows.Next() {
		var (
			key   string
			until time.Time
		)
		if err := rows.Scan(&key, &until); err != nil {
			return nil, fmt.Errorf("active denials: %w", mapError(err))
		}
		out[key] = until
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("active denials: %w", mapError(err))
	}
	return out, nil
}

// DeleteExpiredDenials deletes at most limit entries that expired at or
// before now and reports how many it deleted; the caller repeats while that
// is limit, so no statement holds locks on a large part of the table.
func (s *Store) DeleteExpiredDenials(ctx context.Context, now time.Time, limit int) (int, error) {
	res, err := s.db.ExecContext(ctx, s.rebind(`DELETE FROM denylist WHERE key IN
		(SELECT key FROM denylist WHERE expires_at <= ? LIMIT ?)`), utc(now), limit)
	if err != nil {
		return 0, fmt.Errorf("delete expired denials: %w", mapError(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete expired denials: %w", mapError(err))
	}
	return int(n), nil
}
