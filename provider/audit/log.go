package audit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"time"
	"unicode/utf8"
)

// maxUserAgent bounds the User-Agent kept with an event: enough to tell
// browsers and libraries apart, not a place to store a caller's payload.
const maxUserAgent = 256

// Log is the Recorder that writes each event as one structured log line,
// message "audit", with the same field names everywhere (docs/operations.md).
type Log struct {
	log *slog.Logger
	now func() time.Time
}

// NewLog returns a Log writing to log. now is the clock (time.Now when nil).
func NewLog(log *slog.Logger, now func() time.Time) *Log {
	if now == nil {
		now = time.Now
	}
	return &Log{log: log, now: now}
}

// Record completes e (Complete) and logs it.
func (l *Log) Record(ctx context.Context, e Event) {
	Complete(ctx, &e, l.now)
	l.log.LogAttrs(ctx, slog.LevelInfo, "audit", Attrs(e)...)
}

// Complete fills what the recorder knows and the caller need not say: a new
// ID, the time, and the request's source (WithSource), each only when empty.
// It bounds the User-Agent's length.
func Complete(ctx context.Context, e *Event, now func() time.Time) {
	if e.ID == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		e.ID = "evt_" + hex.EncodeToString(b[:])
	}
	if e.At.IsZero() {
		e.At = now().UTC()
	}
	if e.IP == "" && e.UserAgent == "" {
		e.IP, e.UserAgent = Source(ctx)
	}
	e.UserAgent = truncate(e.UserAgent, maxUserAgent)
}

// Attrs are the log fields of e.
func Attrs(e Event) []slog.Attr {
	attrs := make([]slog.Attr, 0, 8+len(e.Details))
	attrs = append(attrs,
		slog.String("event", string(e.Type)),
		slog.String("event_id", e.ID),
		slog.String("actor_type", e.Actor.Type),
		slog.String("actor_id", e.Actor.ID))
	if e.OrganizationID != "" {
		attrs = append(attrs, slog.String("organization_id", e.OrganizationID))
	}
	if e.Subject.Type != "" {
		attrs = append(attrs, slog.String("subject_type", e.Subject.Type), slog.String("subject_id", e.Subject.ID))
	}
	if e.IP != "" {
		attrs = append(attrs, slog.String("ip", e.IP))
	}
	if e.UserAgent != "" {
		attrs = append(attrs, slog.String("user_agent", e.UserAgent))
	}
	if len(e.Details) > 0 {
		group := make([]any, 0, 2*len(e.Details))
		for k, v := range e.Details {
			group = append(group, slog.String(k, v))
		}
		attrs = append(attrs, slog.Group("details", group...))
	}
	return attrs
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
