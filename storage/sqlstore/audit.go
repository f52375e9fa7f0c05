package sqlstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/arsaka/puguh/storage"
)

var _ storage.AuditStore = (*Store)(nil)

// auditRow is an audit_events row with details still as JSON text.
type auditRow struct {
	storage.AuditEvent
	Details string `db:"details"`
}

const auditColumns = `id, occurred_at, type, organization_id, actor_type, actor_id, subject_type, subject_id, ip, user_agent, details`

// InsertAuditEvent stores one event.
func (s *Store) InsertAuditEvent(ctx context.Context, e *storage.AuditEvent) error {
	details := "{}"
	if len(e.Details) > 0 {
		b, err := json.Marshal(e.Details)
		if err != nil {
			return fmt.Errorf("insert audit event: %w", err)
		}
		details = string(b)
	}
	if _, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO audit_events (`+auditColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		e.ID, utc(e.At), e.Type, e.OrganizationID, e.ActorType, e.ActorID, e.SubjectType, e.SubjectID,
		e.IP, e.UserAgent, details); err != nil {
		return fmt.Errorf("insert audit event: %w", mapError(err))
	}
	return nil
}

// AuditEvents lists the events q selects, newest first.
func (s *Store) AuditEvents(ctx context.Context, q storage.AuditQuery) ([]storage.AuditEvent, error) {
	query, args, err := s.auditQuery(q)
	if err != nil {
		return nil, err
	}
	var rows []auditRow
	if err := s.db.SelectContext(ctx, &rows, query, args...); err != nil {
		return nil, fmt.Errorf("audit events: %w", mapError(err))
	}
	out := make([]storage.AuditEvent, len(rows))
	for i := range rows {
		e := rows[i].AuditEvent
		e.At = e.At.UTC()
		e.Details = map[string]string{}
		if err := json.Unmarshal([]byte(rows[i].Details), &e.Details); err != nil {
			return nil, fmt.Errorf("audit event %s details: %w", e.ID, err)
		}
		out[i] = e
	}
	return out, nil
}

// auditQuery is the SELECT of AuditEvents and its arguments.
func (s *Store) auditQuery(q storage.AuditQuery) (string, []any, error) {
	var where []string
	var args []any
	switch {
	case q.OrganizationID != "":
		where, args = append(where, "organization_id = ?"), append(args, q.OrganizationID)
	case q.UserID != "":
		where, args = append(where, "(actor_id = ? OR subject_id = ?)"), append(args, q.UserID, q.UserID)
	default:
		return "", nil, errors.New("audit events: the query names neither an organization nor a user")
	}
	if len(q.Types) > 0 {
		where = append(where, "type IN (?"+strings.Repeat(", ?", len(q.Types)-1)+")")
		for _, t := range q.Types {
			args = append(args, t)
		}
	}
	if q.ActorID != "" {
		where, args = append(where, "actor_id = ?"), append(args, q.ActorID)
	}
	if !q.Since.IsZero() {
		where, args = append(where, "occurred_at >= ?"), append(args, utc(q.Since))
	}
	if !q.Until.IsZero() {
		where, args = append(where, "occurred_at < ?"), append(args, utc(q.Until))
	}
	if q.After != "" {
		at, id, ok := storage.ParseAuditPosition(q.After)
		if !ok {
			return "", nil, fmt.Errorf("audit events: %q is not a position", q.After)
		}
		where = append(where, "(occurred_at < ? OR (occurred_at = ? AND id < ?))")
		args = append(args, utc(at), utc(at), id)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 50
	}
	args = append(args, limit)
	return s.rebind(`SELECT ` + auditColumns + ` FROM audit_events WHERE ` +
		strings.Join(where, " AND ") + ` ORDER BY occurred_at DESC, id DESC LIMIT ?`), args, nil
}

// DeleteAuditEventsBefore deletes at most limit events older than t.
func (s *Store) DeleteAuditEventsBefore(ctx context.Context, t time.Time, limit int) (int, error) {
	res, err := s.db.ExecContext(ctx, s.rebind(`DELETE FROM audit_events WHERE id IN
		(SELECT id FROM audit_events WHERE occurred_at < ? ORDER BY occurred_at LIMIT ?)`), utc(t), limit)
	if err != nil {
		return 0, fmt.Errorf("delete audit events: %w", mapError(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete audit events: %w", mapError(err))
	}
	return int(n), nil
}
