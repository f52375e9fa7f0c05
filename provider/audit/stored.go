package audit

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/arsaka/puguh/storage"
)

// Writer is where Stored keeps events (the SQL store).
type Writer interface {
	InsertAuditEvent(ctx context.Context, e *storage.AuditEvent) error
}

// storeTimeout bounds one write: an event is recorded while its request is
// served, and a slow database must not hold the request for long.
const storeTimeout = 5 * time.Second

// Stored is the Recorder of a running Puguh: it logs each event as Log does
// (the one log line per security event, docs/operations.md) and stores it in
// the audit log. A write that fails is logged at error level and counted
// (Failures); the action it records goes on regardless.
type Stored struct {
	log      *Log
	store    Writer
	failures atomic.Int64
}

// NewStored returns a Stored writing to store and logging to log. now is
// the clock (time.Now when nil).
func NewStored(store Writer, log *slog.Logger, now func() time.Time) *Stored {
	return &Stored{log: NewLog(log, now), store: store}
}

// Record logs e and stores it. The write outlives the request's
// cancellation (a client that hangs up does not erase its sign-in attempt)
// but not storeTimeout.
func (s *Stored) Record(ctx context.Context, e Event) {
	Complete(ctx, &e, s.log.now)
	s.log.log.LogAttrs(ctx, slog.LevelInfo, "audit", Attrs(e)...)
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	if err := s.store.InsertAuditEvent(wctx, Row(e)); err != nil {
		s.failures.Add(1)
		s.log.log.LogAttrs(ctx, slog.LevelError, "audit: could not store the event",
			slog.String("event", string(e.Type)), slog.String("event_id", e.ID), slog.String("error", err.Error()))
	}
}

// Failures counts the events that could not be stored.
func (s *Stored) Failures() int64 { return s.failures.Load() }

// Row is e as the audit log stores it.
func Row(e Event) *storage.AuditEvent {
	return &storage.AuditEvent{ID: e.ID, At: e.At, Type: string(e.Type), OrganizationID: e.OrganizationID,
		ActorType: e.Actor.Type, ActorID: e.Actor.ID, SubjectType: e.Subject.Type, SubjectID: e.Subject.ID,
		IP: e.IP, UserAgent: e.UserAgent, Details: e.Details}
}
