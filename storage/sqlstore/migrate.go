package sqlstore

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

//go:embed migrations
var migrationFiles embed.FS

// Migration is one versioned schema change.
type Migration struct {
	Version   int
	Name      string
	SQL       string
	AppliedAt *time.Time
}

// migrationLockID is the PostgreSQL advisory lock key that serialises replicas
// migrating the same database at once ("puguh" in ASCII).
const migrationLockID = 0x7075677568

// Migrations lists the embedded migrations of the store's dialect with the time
// each was applied (nil: pending). It only reads: a database never migrated
// has every migration pending.
func (s *Store) Migrations(ctx context.Context) ([]Migration, error) {
	all, err := embeddedMigrations(s.dialect)
	if err != nil {
		return nil, err
	}
	exists, err := s.tableExists(ctx, "schema_migrations")
	if err != nil || !exists {
		return all, err
	}
	applied, err := s.appliedMigrations(ctx, s.db)
	if err != nil {
		return nil, err
	}
	for i := range all {
		if at, ok := applied[all[i].Version]; ok {
			at := at
			all[i].AppliedAt = &at
		}
	}
	return all, nil
}

// Migrate applies every pending migration, each in its own transaction. On
// PostgreSQL a session advisory lock makes replicas that start together take
// turns: the second one finds nothing left to do.
func (s *Store) Migrate(ctx context.Context) (applied int, err error) {
	all, err := embeddedMigrations(s.dialect)
	if err != nil {
		return 0, err
	}
	conn, err := s.db.Connx(ctx)
	if err != nil {
		return 0, mapError(fmt.Errorf("migrate: connect: %w", err))
	}
	defer conn.Close()
	if s.dialect == Postgres {
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, migrationLockID); err != nil {
			return 0, mapError(fmt.Errorf("migrate: lock: %w", err))
		}
		defer func() {
			// A fresh context: the unlock must run even if ctx was cancelled.
			_, _ = conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock($1)`, migrationLockID)
		}()
	}
	if err := s.ensureMigrationTable(ctx, conn); err != nil {
		return 0, err
	}
	done, err := s.appliedMigrations(ctx, conn)
	if err != nil {
		return 0, err
	}
	for _, m := range all {
		if _, ok := done[m.Version]; ok {
			continue
		}
		ok, err := s.applyMigration(ctx, conn, m)
		if err != nil {
			return applied, err
		}
		if ok {
			applied++
		}
	}
	return applied, nil
}

// applyMigration runs m unless it is recorded already. The check is repeated inside
// the transaction: on SQLite the immediate transaction is what serialises two
// processes migrating one file, so only there is the answer final.
func (s *Store) applyMigration(ctx context.Context, conn *sqlx.Conn, m Migration) (bool, error) {
	tx, err := conn.BeginTxx(ctx, nil)
	if err != nil {
		return false, mapError(fmt.Errorf("migrate %04d: begin: %w", m.Version, err))
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	var done int
	if err := tx.GetContext(ctx, &done, s.rebind(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`), m.Version); err != nil {
		return false, mapError(fmt.Errorf("migrate %04d: check: %w", m.Version, err))
	}
	if done > 0 {
		return false, nil
	}
	// SQLite's driver runs one statement per Exec; PostgreSQL accepts the script whole,
	// but splitting keeps one code path.
	for _, stmt := range splitStatements(m.SQL) {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return false, fmt.Errorf("migrate %04d_%s: %w", m.Version, m.Name, err)
		}
	}
	if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`),
		m.Version, m.Name, utc(time.Now())); err != nil {
		return false, mapError(fmt.Errorf("migrate %04d: record: %w", m.Version, err))
	}
	if err := tx.Commit(); err != nil {
		return false, mapError(fmt.Errorf("migrate %04d: commit: %w", m.Version, err))
	}
	return true, nil
}

type execQueryer interface {
	sqlx.ExecerContext
	sqlx.QueryerContext
}

func (s *Store) ensureMigrationTable(ctx context.Context, db execQueryer) error {
	ts := "TIMESTAMP"
	if s.dialect == Postgres {
		ts = "TIMESTAMPTZ"
	}
	_, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at `+ts+` NOT NULL)`)
	if err != nil {
		return mapError(fmt.Errorf("create schema_migrations: %w", err))
	}
	return nil
}

// tableExists reports whether the database has the table (on PostgreSQL, in
// the schemas of the search path).
func (s *Store) tableExists(ctx context.Context, table string) (bool, error) {
	query := `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?`
	if s.dialect == Postgres {
		query = `SELECT COUNT(*) FROM (SELECT to_regclass(?) AS t) r WHERE t IS NOT NULL`
	}
	var n int
	if err := s.db.GetContext(ctx, &n, s.rebind(query), table); err != nil {
		return false, mapError(fmt.Errorf("look for table %s: %w", table, err))
	}
	return n > 0, nil
}

// SchemaVersion is the version of the newest migration this build carries:
// the schema a database has once Migrate has run.
func SchemaVersion() int {
	all, err := embeddedMigrations(SQLite)
	if err != nil || len(all) == 0 {
		return 0 // the embedded files are checked by the tests
	}
	return all[len(all)-1].Version
}

// AppliedVersion is the newest migration applied to the database, 0 for a
// database never migrated. It only reads.
func (s *Store) AppliedVersion(ctx context.Context) (int, error) {
	exists, err := s.tableExists(ctx, "schema_migrations")
	if err != nil || !exists {
		return 0, err
	}
	var v int
	if err := s.db.GetContext(ctx, &v, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`); err != nil {
		return 0, mapError(fmt.Errorf("read schema_migrations: %w", err))
	}
	return v, nil
}

// EmbeddedMigrations lists the migrations this build carries for a dialect,
// all pending: what `migrate status` shows before a database exists.
func EmbeddedMigrations(d Dialect) ([]Migration, error) { return embeddedMigrations(d) }

func (s *Store) appliedMigrations(ctx context.Context, db execQueryer) (map[int]time.Time, error) {
	var rows []struct {
		Version   int       `db:"version"`
		AppliedAt time.Time `db:"applied_at"`
	}
	if err := sqlx.SelectContext(ctx, db, &rows, `SELECT version, applied_at FROM schema_migrations`); err != nil {
		return nil, mapError(fmt.Errorf("read schema_migrations: %w", err))
	}
	out := make(map[int]time.Time, len(rows))
	for _, r := range rows {
		out[r.Version] = r.AppliedAt
	}
	return out, nil
}

// embeddedMigrations reads migrations/<dialect>/NNNN_name.sql in version order.
func embeddedMigrations(d Dialect) ([]Migration, error) {
	dir := path.Join("migrations", string(d))
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, fmt.Errorf("read embedded migrations: %w", err)
	}
	var out []Migration
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, rest, ok := strings.Cut(strings.TrimSuffix(name, ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration file %q is not named NNNN_name.sql", name)
		}
		body, err := fs.ReadFile(migrationFiles, path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("read migration %q: %w", name, err)
		}
		out = append(out, Migration{Version: v, Name: rest, SQL: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("two migrations have version %d", out[i].Version)
		}
	}
	return out, nil
}

// splitStatements splits a migration script on semicolons that end a line,
// dropping comment-only lines. Migrations keep to that form.
func splitStatements(script string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(script, "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(trimmed, ";") {
			out = append(out, strings.TrimSpace(cur.String()))
			cur.Reset()
		}
	}
	if rest := strings.TrimSpace(cur.String()); rest != "" {
		out = append(out, rest)
	}
	return out
}
