package sqlstore

import "github.com/arsaka/puguh/storage"

// AuditQuery exposes the audit log's SELECT to the external tests, which
// EXPLAIN it on PostgreSQL.
func (s *Store) AuditQuery(q storage.AuditQuery) (string, []any, error) { return s.auditQuery(q) }
