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

// The audit log keeps events for PUGUH_AUDIT_RETENTION; this janitor deletes
// older ones, in batches, every auditJanitorInterval (and once at start, so
// a lowered retention applies without waiting).
const (
	auditJanitorInterval   = time.Hour
	auditJanitorBatch      = 1000
	auditJanitorMaxBatches = 1000
)

// sweepAuditEvents deletes the events older than the retention at now.
func (a *App) sweepAuditEvents(ctx context.Context, now time.Time) (int, error) {
	cutoff := now.Add(-a.cfg.AuditRetention)
	total := 0
	for range auditJanitorMaxBatches {
		n, err := a.sql.DeleteAuditEventsBefore(ctx, cutoff, auditJanitorBatch)
		total += n
		if err != nil || n < auditJanitorBatch {
			return total, err
		}
	}
	return total, nil
}

// runAuditJanitor sweeps at start and every auditJanitorInterval until ctx
// ends. Failures are logged and retried at the next tick.
func (a *App) runAuditJanitor(ctx context.Context, now func() time.Time) {
	t := time.NewTicker(auditJanitorInterval)
	defer t.Stop()
	for {
		n, err := a.sweepAuditEvents(ctx, now())
		if err != nil && ctx.Err() == nil {
			a.log.Warn("audit janitor failed", "error", err, "deleted", n)
		} else if n > 0 {
			a.log.Info("audit janitor deleted events past their retention", "deleted", n, "retention", a.cfg.AuditRetention.String())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
