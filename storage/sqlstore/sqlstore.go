// Package sqlstore implements Puguh's store interfaces on SQL with sqlx, in two
// dialects with one behaviour: SQLite (modernc.org/sqlite, the embedded default)
// and PostgreSQL (pgx). Schema changes are embedded, versioned migrations.
package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
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

// ErrNoDatabase is OpenReadOnly finding no SQLite file at the path.
var ErrNoDatabase = errors.New("no database")

// Open connects to databaseURL: "postgres://…" or "postgresql://…" selects
// PostgreSQL; "sqlite:PATH" or a plain file path selects SQLite. A SQLite
// file is created (mode 0600) if missing, but never its directory: a path
// whose directory does not exist is refused, as is any other scheme. It does
// not migrate; call Migrate.
func Open(ctx context.Context, databaseURL string) (*Store, error) {
	return open(ctx, databaseURL, false)
}

// OpenReadOnly opens an existing database without creating or changing
// anything: a SQLite file must exist (ErrNoDatabase otherwise) and is opened
// read-only; a PostgreSQL session runs every transaction read-only. For
// `puguh migrate status` and `puguh export`.
func OpenReadOnly(ctx context.Context, databaseURL string) (*Store, error) {
	return open(ctx, databaseURL, true)
}

func open(ctx context.Context, databaseURL string, readOnly bool) (*Store, error) {
	dialect, path, err := ParseDatabaseURL(databaseURL)
	if err != nil {
		return nil, err
	}
	var db *sqlx.DB
	switch dialect {
	case Postgres:
		dsn := databaseURL
		if readOnly {
			dsn = withParam(databaseURL, "default_transaction_read_only", "on")
		}
		db, err = sqlx.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		db.SetMaxOpenConns(20)
		db.SetMaxIdleConns(20)
		db.SetConnMaxIdleTime(5 * time.Minute)
	case SQLite:
		dsn, err := sqliteDSN(path, readOnly)
		if err != nil {
			return nil, err
		}
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
		if dialect == Postgres {
			return nil, connectFailure(err)
		}
		return nil, err
	}
	return s, nil
}

// urlScheme matches a URL scheme ("mysql:", "postgres+x://"): two or more
// letters, so that a plain path is never taken for one.
var urlScheme = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]+:`)

// ParseDatabaseURL returns the dialect of a database URL and, for SQLite,
// the file's path. It refuses other schemes and a SQLite file whose directory
// does not exist; it changes nothing.
func ParseDatabaseURL(raw string) (Dialect, string, error) {
	if raw == "" {
		return "", "", fmt.Errorf("database URL is empty")
	}
	if strings.HasPrefix(raw, "postgres://") || strings.HasPrefix(raw, "postgresql://") {
		if _, err := url.Parse(raw); err != nil {
			return "", "", fmt.Errorf("database URL is not a valid URL")
		}
		return Postgres, "", nil
	}
	path, isSQLite := strings.CutPrefix(raw, "sqlite://")
	if !isSQLite {
		path, isSQLite = strings.CutPrefix(raw, "sqlite:")
	}
	if !isSQLite && urlScheme.MatchString(raw) {
		return "", "", fmt.Errorf("database URL scheme %q is not supported: use postgres://, postgresql:// or sqlite:", raw[:strings.IndexByte(raw, ':')])
	}
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i] // our pragmas are fixed; callers do not tune them
	}
	if path == "" {
		return "", "", fmt.Errorf("sqlite database path is empty")
	}
	if path != ":memory:" {
		dir := filepath.Dir(path)
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			return "", "", fmt.Errorf("sqlite database %s: directory %s does not exist", path, dir)
		}
	}
	return SQLite, path, nil
}

// sqliteDSN is the driver's DSN for the file at path, with WAL, a busy
// timeout, foreign keys and synchronous=NORMAL (durable across process
// crashes; see the README). Read-write, it creates a missing file (mode
// 0600); read-only, it wants the file to exist.
func sqliteDSN(path string, readOnly bool) (string, error) {
	q := url.Values{}
	if readOnly {
		if path != ":memory:" {
			if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
				return "", fmt.Errorf("%w at %s", ErrNoDatabase, path)
			}
		}
		// The journal mode is the file's own: setting it would be a write.
		q.Set("mode", "ro")
		q.Add("_pragma", "busy_timeout(10000)")
		q.Set("_txlock", "deferred") // a reader never takes the write lock
		q.Set("_time_format", "sqlite")
		return "file:" + path + "?" + q.Encode(), nil
	}
	if path != ":memory:" {
		// The file holds password hashes and sealed keys: readable by its owner only.
		// SQLite gives the -wal and -shm files the same mode.
		f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600)
		if err != nil {
			return "", fmt.Errorf("create database file: %w", err)
		}
		f.Close()
	}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate") // writers take the lock up front: no upgrade deadlocks
	q.Set("_time_format", "sqlite")
	return "file:" + path + "?" + q.Encode(), nil
}

// withParam sets a query parameter of a PostgreSQL URL; pgx passes unknown
// ones to the server as run-time parameters.
func withParam(raw, key, value string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw // ParseDatabaseURL has parsed it already
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
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
