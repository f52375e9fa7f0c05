package app

import (
	"context"
	"time"
)

// Browser state (SSO sessions, pending authorization requests, their family
// records) expires in the database; sign-ins delete a little of it as they
// go, and this janitor deletes the rest, so a flood of abandoned
// authorization requests is gone soon after it expires even when nobody signs
// in.
const (
	browserJanitorInterval = 5 * time.Minute
	browserJanitorBatch    = 500
	// browserJanitorMaxBatches bounds one sweep; what is left waits for the next tick.
	browserJanitorMaxBatches = 200
)

// sweepBrowserState deletes expired browser state in batches until a batch
// comes back short.
func (a *App) sweepBrowserState(ctx context.Context, now time.Time) (int, error) {
	total := 0
	for range browserJanitorMaxBatches {
		n, err := a.sql.DeleteExpiredSessions(ctx, now, browserJanitorBatch)
		total += n
		if err != nil || n < browserJanitorBatch {
			return total, err
		}
	}
	return total, nil
}

// runBrowserJanitor sweeps every browserJanitorInterval until ctx ends.
// Failures are logged and retried at the next tick: expired rows are
// harmless for a while (every read checks expires_at).
func (a *App) runBrowserJanitor(ctx context.Context, now func() time.Time) {
	t := time.NewTicker(browserJanitorInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n, err := a.sweepBrowserState(ctx, now())
			if err != nil && ctx.Err() == nil {
				a.log.Warn("browser-state janitor failed", "error", err, "deleted", n)
			} else if n > 0 {
				a.log.Debug("browser-state janitor deleted expired rows", "deleted", n)
			}
		}
	}
}
