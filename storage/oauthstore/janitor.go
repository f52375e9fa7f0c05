package oauthstore

import (
	"context"
	"errors"
	"time"
)

// expiring lists the tables whose rows the janitor removes once expires_at has
// passed, with each table's key. Used refresh tokens stay until they expire:
// until then a replay must still be recognised as reuse.
var expiring = []struct{ table, key string }{
	{tableCodes, "signature"},
	{tablePKCE, "signature"},
	{tableOIDC, "signature"},
	{tableRefresh, "signature"},
	{"oauth_jtis", "jti"},
}

// Cleanup deletes rows that expired before now, at most batch rows per
// statement so no DELETE holds locks on a large part of a table, repeating
// until none are left or ctx ends. A refresh family goes last, once it is past
// its absolute lifetime and none of its refresh tokens remain (they expire
// with it at the latest). The denial of a revoked family's access tokens is
// not kept here but in the denylist, which sweeps its own entries. Rows
// without an expiry are kept (fosite sets one for every token type it stores).
func (s *Store) Cleanup(ctx context.Context, now time.Time, batch int) (deleted int, err error) {
	if batch <= 0 {
		return 0, errors.New("oauthstore: cleanup: batch must be positive")
	}
	now = dbTime(now)
	for _, t := range expiring {
		n, err := s.deleteInBatches(ctx, batch, "DELETE FROM "+t.table+" WHERE "+t.key+" IN (SELECT "+t.key+" FROM "+t.table+
			" WHERE expires_at < ? LIMIT ?)", now)
		deleted += n
		if err != nil {
			return deleted, fail("cleanup "+t.table, err)
		}
	}
	n, err := s.deleteInBatches(ctx, batch, `DELETE FROM oauth_refresh_families WHERE request_id IN (
		SELECT f.request_id FROM oauth_refresh_families f WHERE f.expires_at < ?
		AND NOT EXISTS (SELECT 1 FROM oauth_refresh_tokens r WHERE r.request_id = f.request_id)
		LIMIT ?)`, now)
	deleted += n
	if err != nil {
		return deleted, fail("cleanup oauth_refresh_families", err)
	}
	return deleted, nil
}

// deleteInBatches runs query (whose last two parameters are the cut-off time
// and the batch size) until it deletes fewer than batch rows. Each run is its
// own statement and transaction.
func (s *Store) deleteInBatches(ctx context.Context, batch int, query string, now time.Time) (int, error) {
	query = s.db.Rebind(query)
	total := 0
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		res, err := s.db.ExecContext(ctx, query, now, batch)
		if err != nil {
			return total, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, err
		}
		total += int(n)
		if n < int64(batch) {
			return total, nil
		}
	}
}

// RunJanitor calls Cleanup every interval until ctx ends, so the token tables
// do not grow forever. Failures are logged and retried at the next tick: the
// database may be restarting, and expired rows are harmless for a while.
func (s *Store) RunJanitor(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n, err := s.Cleanup(ctx, s.now(), janitorBatch)
			if err != nil && ctx.Err() == nil {
				s.log.WarnContext(ctx, "oauth janitor failed", "err", err, "deleted", n)
			} else if n > 0 {
				s.log.DebugContext(ctx, "oauth janitor deleted expired rows", "deleted", n)
			}
		}
	}
}
