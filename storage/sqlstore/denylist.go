package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/arsaka/puguh/storage"
)

// The denylist table is the record of revoked access tokens (which are never
// stored themselves): every denial is written here before it is reported
// done, replicas load it at start and read what is new in it periodically.
// storage/revocation owns the meaning of the keys.

// PutDenial denies key until the given time, or extends an existing entry to
// it; an entry is never shortened. A new or extended entry gets a new Seq.
// It runs inside the transaction ctx carries (WithTx), if any: a denial made
// while fosite revokes a family commits, or rolls back, with that revocation.
func (s *Store) PutDenial(ctx context.Context, key string, until time.Time) error {
	var query string
	var args []any
	switch s.dialect {
	case SQLite:
		// REPLACE deletes the older entry and inserts a new row, which takes
		// the next AUTOINCREMENT seq; the single writer makes the check and the
		// write atomic.
		query = `INSERT OR REPLACE INTO denylist (key, expires_at) SELECT ?, ?
			WHERE NOT EXISTS (SELECT 1 FROM denylist WHERE key = ? AND expires_at >= ?)`
		args = []any{key, utc(until), key, utc(until)}
	default:
		// excluded.seq is the next value of the sequence, drawn for the insert.
		query = `INSERT INTO denylist (key, expires_at) VALUES (?, ?)
			ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at, seq = excluded.seq
			WHERE denylist.expires_at < excluded.expires_at`
		args = []any{key, utc(until)}
	}
	if _, err := s.execer(ctx).ExecContext(ctx, s.rebind(query), args...); err != nil {
		return fmt.Errorf("put denial: %w", mapError(err))
	}
	return nil
}

// DenialsAfter returns the entries with a Seq above after that have not
// expired at now, in Seq order; after 0 returns every unexpired entry.
func (s *Store) DenialsAfter(ctx context.Context, after int64, now time.Time) ([]storage.Denial, error) {
	var out []storage.Denial
	if err := s.db.SelectContext(ctx, &out, s.rebind(`SELECT seq, key, expires_at FROM denylist
		WHERE seq > ? AND expires_at > ? ORDER BY seq`), after, utc(now)); err != nil {
		return nil, fmt.Errorf("denials after %d: %w", after, mapError(err))
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
