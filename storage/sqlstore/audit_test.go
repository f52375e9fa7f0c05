package sqlstore_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/arsaka/puguh/storage"
	"github.com/arsaka/puguh/storage/sqlstore"
	"github.com/arsaka/puguh/storage/sqlstore/sqltest"
)

// The audit log's contract is checked by storagetest (conformance_test.go).
// Here: an organization's page of events and a user's are read through their
// indexes (a user's through both the actor and the subject index), not by scanning the table, once it holds many organizations.
func TestAuditQueriesUseIndexes(t *testing.T) {
	sqltest.ForEach(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		// 4000 events across 200 organizations and 400 users, in one statement.
		var values []string
		var args []any
		for i := range 4000 {
			values = append(values, "(?, ?, 'member.added', ?, 'user', ?, 'user', ?)")
			args = append(args, fmt.Sprintf("evt_%05d", i), at.Add(time.Duration(i)*time.Second),
				fmt.Sprintf("org-%03d", i%200), fmt.Sprintf("usr-%03d", i%400), fmt.Sprintf("usr-%03d", (i+1)%400))
		}
		if _, err := s.DB().ExecContext(ctx, s.DB().Rebind(`INSERT INTO audit_events
			(id, occurred_at, type, organization_id, actor_type, actor_id, subject_type, subject_id) VALUES `+
			strings.Join(values, ", ")), args...); err != nil {
			t.Fatal(err)
		}
		explain := "EXPLAIN QUERY PLAN "
		if s.Dialect() == sqlstore.Postgres {
			explain = "EXPLAIN "
			if _, err := s.DB().ExecContext(ctx, "ANALYZE audit_events"); err != nil {
				t.Fatal(err)
			}
		}
		for _, tc := range []struct {
			name    string
			q       storage.AuditQuery
			indexes []string
		}{
			{"organization", storage.AuditQuery{OrganizationID: "org-007", Limit: 50}, []string{"audit_events_org_idx"}},
			{"organization, next page", storage.AuditQuery{OrganizationID: "org-007", Limit: 50,
				After: (&storage.AuditEvent{ID: "evt_02007", At: at.Add(2007 * time.Second)}).Position()}, []string{"audit_events_org_idx"}},
			{"organization since", storage.AuditQuery{OrganizationID: "org-007", Since: at.Add(time.Hour), Limit: 50}, []string{"audit_events_org_idx"}},
			// A user's own events: those they caused and those done to them.
			{"user", storage.AuditQuery{UserID: "usr-042", Limit: 50}, []string{"audit_events_actor_idx", "audit_events_subject_idx"}},
		} {
			query, qargs, err := s.AuditQuery(tc.q)
			if err != nil {
				t.Fatal(err)
			}
			rows, err := s.DB().QueryContext(ctx, explain+query, qargs...)
			if err != nil {
				t.Fatal(err)
			}
			var plan []string
			for rows.Next() {
				// SQLite's plan has four columns, PostgreSQL's one.
				cols, _ := rows.Columns()
				vals := make([]any, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				if err := rows.Scan(ptrs...); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, fmt.Sprint(vals...))
			}
			rows.Close()
			text := strings.Join(plan, "\n")
			for _, index := range tc.indexes {
				if !strings.Contains(text, index) || strings.Contains(text, "Seq Scan") {
					t.Errorf("%s: plan does not read %s:\n%s", tc.name, index, text)
				}
			}
		}
	})
}
