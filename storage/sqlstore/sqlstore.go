// Package sqlstore implements Puguh's store interfaces on SQL with sqlx, in two
// dialects with one behaviour: SQLite (modernc.org/sqlite, the embedded default)
// and PostgreSQL (pgx). Schema changes are embedded, versioned migrations.
package sqlstore

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/jmoiron/sqlx"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Dialect names the SQL flavour behind a Store.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Store is the SQL backend. It is safe for concurrent use.
type Store struct {
	db      *sqlx.DB
	dialect Dialect
	stmts   stmtCache
}

// Open connects to databaseURL: "postgres://…" or "postgresql://…" selects
// PostgreSQL; "sqlite:PATH" or a plain file path selects SQLite. It does not
// migrate; call Migrate.
func Open(ctx context.Context, databaseURL string) (*Store, error) {
	dialect, dsn, err := parseDatabaseURL(databaseURL)
	if err != nil {
		return nil, err
	}
	var db *sqlx.DB
	switch dialect {
	case Postgres:
		db, err = sqlx.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		db.SetMaxOpenConns(20)
		db.SetMaxIdleConns(20)
		db.SetConnMaxIdleTime(5 * time.Minute)
	case SQLite:
		db, err = sqlx.Open("sqlite", dsn)
		if err != nil {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		// WAL lets readers run beside the one writer; the busy timeout makes
		// concurrent writers wait for each other instead of failing.
		db.SetMaxOpenConns(8)
		db.SetMaxIdleConns(8)
	}
	s := &Store{db: db, dialect: dialect}
	if err := s.Ping(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// parseDatabaseURL returns the dialect and the driver's DSN. For SQLite it makes
// sure the directory exists and turns on WAL, a busy timeout, foreign keys and
// synchronous=NORMAL (durable across process crashes; see the README).
func parseDatabaseURL(raw string) (Dialect, string, error) {
	if raw == "" {
		return "", "", fmt.Errorf("database URL is empty")
	}
	if strings.HasPrefix(raw, "postgres://") || strings.HasPrefix(raw, "postgresql://") {
		if _, err := url.Parse(raw); err != nil {
			return "", "", fmt.Errorf("database URL is not a valid URL")
		}
		return Postgres, raw, nil
	}
	path := strings.TrimPrefix(strings.TrimPrefix(raw, "sqlite://"), "sqlite:")
	if strings.Contains(path, "://") {
		return "", "", fmt.Errorf("database URL scheme is not supported (want postgres:// or sqlite:)")
	}
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i] // our pragmas are fixed; callers do not tune them
	}
	if path == "" {
		return "", "", fmt.Errorf("sqlite database path is empty")
	}
	if path != ":memory:" {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return "", "", fmt.Errorf("create database directory: %w", err)
		}
		// The file holds password hashes and sealed keys: readable by its owner only.
		// SQLite gives the -wal and -shm files the same mode.
		f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600)
		if err != nil {
			return "", "", fmt.Errorf("create database file: %w", err)
		}
		f.Close()
	}
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate") // writers take the lock up front: no upgrade deadlocks
	q.Set("_time_format", "sqlite")
	return SQLite, "file:" + path + "?" + q.Encode(), nil
}

// Dialect reports which SQL flavour the store speaks.
func (s *Store) Dialect() Dialect { return s.dialect }

// DB exposes the handle to packages that keep their own tables in this database.
func (s *Store) DB() *sqlx.DB { return s.db }

// Close closes the connection pool.
func (s *Store) Close() error {
	s.closeStmts()
	return s.db.Close()
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return mapError(fmt.Errorf("ping %s: %w", s.dialect, err))
	}
	return nil
}

// inTx runs fn in a transaction, committing if it returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return mapError(fmt.Errorf("begin: %w", err))
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return mapError(fmt.Errorf("commit: %w", err))
	}
	return nil
}

// rebind turns ?-placeholders into the dialect's own.
func (s *Store) rebind(query string) string { return s.db.Rebind(query) }

// utc normalises times before they are written, so SQLite's text timestamps
// compare correctly and both dialects read back the same instant: UTC, to the
// microsecond (PostgreSQL's precision).
func utc(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// utcPtr is utc for nullable columns.
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := utc(*t)
	return &u
}
