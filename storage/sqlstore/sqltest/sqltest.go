// Package sqltest gives tests fresh, migrated databases of every dialect this
// machine can run: SQLite always, PostgreSQL when PUGUH_TEST_DATABASE_URL names one.
package sqltest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/jmoiron/sqlx"

	"github.com/arsaka/puguh/storage/sqlstore"
)

// EnvDatabaseURL names the PostgreSQL database the PostgreSQL cases use.
const EnvDatabaseURL = "PUGUH_TEST_DATABASE_URL"

// Backend is one database a test can run against.
type Backend struct {
	Name string // "sqlite" or "postgres"
	// URL opens a fresh, empty database (a new file, or a new schema) on each call.
	URL func(t testing.TB) string
}

// Backends lists SQLite and, when configured, PostgreSQL.
func Backends() []Backend {
	return []Backend{{Name: "sqlite", URL: SQLiteURL}, {Name: "postgres", URL: PostgresURL}}
}

// SQLiteURL returns a new SQLite database file in the test's temp dir.
func SQLiteURL(t testing.TB) string {
	t.Helper()
	return "sqlite:" + filepath.Join(t.TempDir(), "puguh.db")
}

// PostgresURL creates a schema of its own on the PostgreSQL server named by
// PUGUH_TEST_DATABASE_URL and returns a URL whose search_path selects it; the
// schema is dropped when the test ends. Without the variable the test is skipped.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvDatabaseURL)
	if base == "" {
		t.Skipf("PostgreSQL case skipped: set %s (e.g. postgres://postgres@127.0.0.1:5432/puguh_test?sslmode=disable) to run it", EnvDatabaseURL)
	}
	var buf [6]byte
	if _, err := rand.Read(buf[:]); err != nil {
		t.Fatal(err)
	}
	schema := "t_" + hex.EncodeToString(buf[:])
	admin, err := sqlx.Open("pgx", base)
	if err != nil {
		t.Fatalf("open %s: %v", EnvDatabaseURL, err)
	}
	defer admin.Close()
	if _, err := admin.ExecContext(context.Background(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create test schema: %v", err)
	}
	t.Cleanup(func() {
		db, err := sqlx.Open("pgx", base)
		if err != nil {
			return
		}
		defer db.Close()
		_, _ = db.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s is not a URL: %v", EnvDatabaseURL, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Open opens and migrates a fresh store of the backend, closed at the test's end.
func Open(t testing.TB, b Backend) *sqlstore.Store {
	t.Helper()
	return OpenURL(t, b.URL(t))
}

// OpenURL opens and migrates the store at url, closed at the test's end.
func OpenURL(t testing.TB, url string) *sqlstore.Store {
	t.Helper()
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, url)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return s
}

// ForEach runs fn as a subtest against each backend.
func ForEach(t *testing.T, fn func(t *testing.T, s *sqlstore.Store)) {
	for _, b := range Backends() {
		b := b
		t.Run(b.Name, func(t *testing.T) { fn(t, Open(t, b)) })
	}
}
