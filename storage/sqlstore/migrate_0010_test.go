package sqlstore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/arsaka/puguh/storage/sqlstore"
	"github.com/arsaka/puguh/storage/sqlstore/sqltest"
)

// Migration 0010 on a database as earlier versions left it: the access-token
// table goes with its indexes and rows, the refresh tokens' access_signature
// column goes, and every refresh token stays as it was.
func TestMigration0010DropsStoredAccessTokens(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			s := sqltest.Open(t, b)
			db := s.DB()
			now := time.Now().UTC().Truncate(time.Second)

			// Put back what 0002 created and 0010 removes, with rows in it.
			for _, stmt := range []string{
				`CREATE TABLE oauth_access_tokens (
					signature TEXT PRIMARY KEY, request_id TEXT NOT NULL, client_id TEXT NOT NULL, subject TEXT NOT NULL,
					requested_at TIMESTAMP NOT NULL, requested_scopes TEXT NOT NULL, granted_scopes TEXT NOT NULL,
					requested_audience TEXT NOT NULL, granted_audience TEXT NOT NULL, form TEXT NOT NULL,
					session BYTEA NOT NULL, active BOOLEAN NOT NULL DEFAULT TRUE, expires_at TIMESTAMP)`,
				`CREATE INDEX oauth_access_tokens_request_idx ON oauth_access_tokens (request_id)`,
				`CREATE INDEX oauth_access_tokens_expires_idx ON oauth_access_tokens (expires_at)`,
				`ALTER TABLE oauth_refresh_tokens ADD COLUMN access_signature TEXT NOT NULL DEFAULT ''`,
				`DELETE FROM schema_migrations WHERE version = 10`,
			} {
				if s.Dialect() == sqlstore.SQLite {
					stmt = strings.ReplaceAll(stmt, "BYTEA", "BLOB")
				}
				if _, err := db.ExecContext(ctx, stmt); err != nil {
					t.Fatalf("%s: %v", stmt, err)
				}
			}
			row := []any{"grant-1", "app-1", "user-1", now, "[]", "[]", "[]", "[]", "", []byte("{}"), true, now.Add(time.Hour)}
			if _, err := db.ExecContext(ctx, db.Rebind(`INSERT INTO oauth_access_tokens (signature, request_id, client_id, subject,
				requested_at, requested_scopes, granted_scopes, requested_audience, granted_audience, form, session, active, expires_at)
				VALUES ('at-1', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`), row...); err != nil {
				t.Fatal(err)
			}
			if _, err := db.ExecContext(ctx, db.Rebind(`INSERT INTO oauth_refresh_tokens (signature, request_id, client_id, subject,
				requested_at, requested_scopes, granted_scopes, requested_audience, granted_audience, form, session, active, expires_at,
				access_signature) VALUES ('rt-1', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'at-1')`), row...); err != nil {
				t.Fatal(err)
			}

			n, err := s.Migrate(ctx)
			if err != nil || n != 1 {
				t.Fatalf("migrate: applied %d (err %v), want 0010 alone", n, err)
			}
			checks := map[string]string{
				"the table":   "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'oauth_access_tokens'",
				"its indexes": "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name LIKE 'oauth_access_tokens%'",
				"the column":  "SELECT COUNT(*) FROM pragma_table_info('oauth_refresh_tokens') WHERE name = 'access_signature'",
			}
			if s.Dialect() == sqlstore.Postgres {
				checks = map[string]string{
					"the table":   "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'oauth_access_tokens'",
					"its indexes": "SELECT COUNT(*) FROM pg_indexes WHERE schemaname = current_schema() AND indexname LIKE 'oauth_access_tokens%'",
					"the column": `SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = current_schema()
						AND table_name = 'oauth_refresh_tokens' AND column_name = 'access_signature'`,
				}
			}
			for what, query := range checks {
				var left int
				if err := db.GetContext(ctx, &left, query); err != nil {
					t.Fatal(err)
				}
				if left != 0 {
					t.Errorf("%s is still there after 0010", what)
				}
			}
			var kept struct {
				RequestID string `db:"request_id"`
				Active    bool   `db:"active"`
			}
			if err := db.GetContext(ctx, &kept, "SELECT request_id, active FROM oauth_refresh_tokens WHERE signature = 'rt-1'"); err != nil {
				t.Fatalf("the refresh token after 0010: %v", err)
			}
			if kept.RequestID != "grant-1" || !kept.Active {
				t.Errorf("the refresh token after 0010: %+v, want grant-1, active", kept)
			}
		})
	}
}
