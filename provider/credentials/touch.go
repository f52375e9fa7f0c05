package credentials

import (
	"context"
	"time"
)

// flushTimeout bounds one last-use write, so a slow database cannot pile up flushes.
const flushTimeout = 5 * time.Second

// touch records a use of the key in memory. Writing last_used_at on every
// request would turn each authenticated read into a database write; instead
// the uses are flushed in one batch every FlushInterval. last_used_at is
// therefore up to FlushInterval behind, which is plenty for "is this key still
// in use?".
func (v *Verifier) touch(id string, at time.Time) {
	v.touchMu.Lock()
	if at.After(v.touched[id]) {
		v.touched[id] = at
	}
	v.touchMu.Unlock()
}

// Flush writes the recorded uses. On failure they are kept for the next flush.
func (v *Verifier) Flush(ctx context.Context) error {
	v.touchMu.Lock()
	batch := v.touched
	v.touched = make(map[string]time.Time, len(batch))
	v.touchMu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	err := v.store.TouchAPIKeys(ctx, batch)
	if err != nil {
		v.touchMu.Lock()
		for id, at := range batch {
			if at.After(v.touched[id]) {
				v.touched[id] = at
			}
		}
		v.touchMu.Unlock()
	}
	return err
}

// Run flushes last uses every FlushInterval until ctx ends; then it flushes
// one last time.
func (v *Verifier) Run(ctx context.Context) {
	t := time.NewTicker(v.cfg.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), flushTimeout)
			if err := v.Flush(fctx); err != nil {
				v.log.Warn("credentials: last flush of key use times failed", "error", err)
			}
			cancel()
			return
		case <-t.C:
			fctx, cancel := context.WithTimeout(ctx, flushTimeout)
			if err := v.Flush(fctx); err != nil {
				v.log.Warn("credentials: flushing key use times failed; will retry", "error", err)
			}
			cancel()
		}
	}
}
