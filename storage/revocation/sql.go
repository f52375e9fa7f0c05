package revocation

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// DenialStore keeps denylist entries in the database (storage/sqlstore).
type DenialStore interface {
	// PutDenial denies key until the given time, or extends its entry to it.
	PutDenial(ctx context.Context, key string, until time.Time) error
	// ActiveDenials returns every entry not expired at now.
	ActiveDenials(ctx context.Context, now time.Time) (map[string]time.Time, error)
	// DeleteExpiredDenials deletes at most limit expired entries, returning how many.
	DeleteExpiredDenials(ctx context.Context, now time.Time, limit int) (int, error)
}

const (
	// sqlWriteTimeout bounds a denial's database write. The write outlives
	// the request that caused it: the revocation has happened.
	sqlWriteTimeout = 30 * time.Second
	// denyWait is how long Deny waits for its write before leaving it to
	// finish in the background: plenty for an insert on SQLite or a nearby
	// PostgreSQL, and short because a replayed refresh token holds SQLite's
	// only write lock (fosite's transaction) while Deny waits.
	denyWait = 20 * time.Millisecond
	// sweepInterval and sweepBatch pace the deletion of expired rows.
	sweepInterval = 10 * time.Minute
	sweepBatch    = 500
	// ReloadInterval is how often Run reads the table again, so that the
	// denials of other replicas sharing the database (without Redis) apply
	// here within it.
	ReloadInterval = 5 * time.Second
)

// SQL is the denylist of a deployment without Redis: lookups read an
// in-process map, and every denial is also written to the database, so that
// after a restart the list is loaded again and revoked tokens stay revoked.
// Other replicas sharing the database read it again every ReloadInterval;
// with Redis they learn of a denial within milliseconds instead.
type SQL struct {
	store  DenialStore
	local  *Memory
	log    *slog.Logger
	now    func() time.Time
	batch  int           // rows per DELETE when sweeping
	wait   time.Duration // how long Deny waits for its write
	reload time.Duration // how often Run loads the table again
	writes sync.WaitGroup
}

// NewSQL returns a list backed by store. Call Load before serving and Run to
// sweep expired rows and, when it ends, wait for writes still in flight.
func NewSQL(store DenialStore, log *slog.Logger, now func() time.Time) *SQL {
	if now == nil {
		now = time.Now
	}
	return &SQL{store: store, local: NewMemory(now), log: log, now: now, batch: sweepBatch, wait: denyWait, reload: ReloadInterval}
}

// Deny denies key on this replica at once, then records it in the database.
// If the write fails the key stays denied here until a restart, and the error
// is returned for the caller to log.
//
// Deny waits for the write up to denyWait only. fosite revokes a family
// inside its own transaction (refresh-token reuse), and on SQLite, which has
// one writer, the write cannot start before that transaction commits, which
// waits for Deny. Past denyWait the write goes on in the background (up to
// sqlWriteTimeout, whatever happens to ctx), Deny returns nil, and a failure
// is logged here.
func (s *SQL) Deny(ctx context.Context, key string, until time.Time) error {
	_ = s.local.Deny(ctx, key, until)
	if !until.After(s.now()) {
		return nil
	}
	result := make(chan error) // unbuffered: received only while Deny waits
	s.writes.Add(1)
	go func() {
		defer s.writes.Done()
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sqlWriteTimeout)
		defer cancel()
		err := s.store.PutDenial(wctx, key, until)
		select {
		case result <- err:
		default: // Deny has returned
			if err != nil {
				s.log.Error("revocation: deny in database failed; denied on this replica until it restarts", "error", err)
			}
		}
	}()
	timer := time.NewTimer(s.wait)
	defer timer.Stop()
	select {
	case err := <-result:
		if err != nil {
			return fmt.Errorf("revocation: deny in database: %w", err)
		}
		return nil
	case <-timer.C:
		return nil
	}
}

// Denied reads the in-process map only.
func (s *SQL) Denied(keys ...string) bool { return s.local.Denied(keys...) }

// Load copies every unexpired entry of the database into memory.
func (s *SQL) Load(ctx context.Context) error {
	entries, err := s.store.ActiveDenials(ctx, s.now())
	if err != nil {
		return fmt.Errorf("revocation: load from database: %w", err)
	}
	for key, until := range entries {
		_ = s.local.Deny(ctx, key, until)
	}
	return nil
}

// Sweep deletes every expired row, a batch per statement, and reports how
// many it deleted.
func (s *SQL) Sweep(ctx context.Context) (int, error) {
	now := s.now()
	total := 0
	for {
		n, err := s.store.DeleteExpiredDenials(ctx, now, s.batch)
		total += n
		if err != nil {
			return total, fmt.Errorf("revocation: sweep: %w", err)
		}
		if n < s.batch {
			return total, nil
		}
	}
}

// Run loads the table again every reload interval (other replicas'
// denials) and sweeps expired rows every sweepInterval until ctx ends, then
// waits for denials still being written, so that the database is not closed
// under them. Failures are logged and retried at the next tick: expired rows
// are harmless for a while, and a missed reload is caught by the next.
func (s *SQL) Run(ctx context.Context) {
	t := time.NewTicker(sweepInterval)
	defer t.Stop()
	reload := time.NewTicker(s.reload)
	defer reload.Stop()
	for {
		select {
		case <-ctx.Done():
			s.writes.Wait()
			return
		case <-reload.C:
			if err := s.Load(ctx); err != nil && ctx.Err() == nil {
				s.log.WarnContext(ctx, "revocation: reloading denials failed", "error", err)
			}
		case <-t.C:
			n, err := s.Sweep(ctx)
			if err != nil && ctx.Err() == nil {
				s.log.WarnContext(ctx, "revocation: sweeping expired denials failed", "error", err, "deleted", n)
			} else if n > 0 {
				s.log.DebugContext(ctx, "revocation: swept expired denials", "deleted", n)
			}
		}
	}
}
