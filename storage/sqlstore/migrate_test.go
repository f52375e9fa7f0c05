package sqlstore_test

import (
	"context"
	"errors"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/arsaka/puguh/storage"
	"github.com/arsaka/puguh/storage/sqlstore"
	"github.com/arsaka/puguh/storage/sqlstore/sqltest"
)

func TestMigrateIsIdempotentAndReportsStatus(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			s, err := sqlstore.Open(ctx, b.URL(t))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			before, err := s.Migrations(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(before) == 0 || before[0].AppliedAt != nil {
				t.Fatalf("fresh database: want pending migrations, got %+v", before)
			}
			n, err := s.Migrate(ctx)
			if err != nil || n != len(before) {
				t.Fatalf("first migrate applied %d (err %v), want %d", n, err, len(before))
			}
			n, err = s.Migrate(ctx)
			if err != nil || n != 0 {
				t.Fatalf("second migrate applied %d (err %v), want 0", n, err)
			}
			after, err := s.Migrations(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range after {
				if m.AppliedAt == nil {
					t.Errorf("migration %d still pending", m.Version)
				}
			}
		})
	}
}

// Two replicas starting at once must not both run a migration (PostgreSQL).
func TestConcurrentMigrateAppliesOnce(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			url := b.URL(t)
			const replicas = 4
			stores := make([]*sqlstore.Store, replicas)
			for i := range stores {
				s, err := sqlstore.Open(ctx, url)
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				stores[i] = s
			}
			var wg sync.WaitGroup
			applied := make([]int, replicas)
			errs := make([]error, replicas)
			for i, s := range stores {
				wg.Add(1)
				go func(i int, s *sqlstore.Store) {
					defer wg.Done()
					applied[i], errs[i] = s.Migrate(ctx)
				}(i, s)
			}
			wg.Wait()
			total := 0
			for i := range stores {
				if errs[i] != nil {
					t.Fatalf("replica %d: %v", i, errs[i])
				}
				total += applied[i]
			}
			all, _ := stores[0].Migrations(ctx)
			if total != len(all) {
				t.Fatalf("replicas applied %d migrations in total, want %d (each exactly once)", total, len(all))
			}
		})
	}
}

func TestOpenRefusesBadURLs(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope", "puguh.db")
	for _, tc := range []struct{ url, err string }{
		{"", "database URL is empty"},
		{"mysql://x", `database URL scheme "mysql" is not supported: use postgres://, postgresql:// or sqlite:`},
		{"mysql:x", `database URL scheme "mysql" is not supported: use postgres://, postgresql:// or sqlite:`},
		{"sqlite:", "sqlite database path is empty"},
		{"sqlite:" + missing, "sqlite database " + missing + ": directory " + filepath.Dir(missing) + " does not exist"},
		{missing, "sqlite database " + missing + ": directory " + filepath.Dir(missing) + " does not exist"},
	} {
		t.Run(tc.url, func(t *testing.T) {
			for name, open := range map[string]func(context.Context, string) (*sqlstore.Store, error){
				"Open": sqlstore.Open, "OpenReadOnly": sqlstore.OpenReadOnly} {
				s, err := open(context.Background(), tc.url)
				if err == nil {
					s.Close()
					t.Fatalf("%s(%q) succeeded", name, tc.url)
				}
				if err.Error() != tc.err {
					t.Fatalf("%s(%q) = %q, want %q", name, tc.url, err, tc.err)
				}
			}
			if _, err := os.Stat(filepath.Dir(missing)); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("the missing directory was created: %v", err)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Fatalf("files were created: %v", entries)
			}
		})
	}
}

// A plain path whose directory exists is a SQLite file, created on Open.
func TestOpenPlainPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "plain.db")
	s, err := sqlstore.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Dialect() != sqlstore.SQLite {
		t.Fatalf("dialect %s", s.Dialect())
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
}

// OpenReadOnly and Migrations create nothing: no SQLite file, no
// schema_migrations table on either backend; writes are refused.
func TestReadOnlyCreatesNothing(t *testing.T) {
	ctx := context.Background()
	t.Run("missing sqlite file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "puguh.db")
		_, err := sqlstore.OpenReadOnly(ctx, "sqlite:"+path)
		if !errors.Is(err, sqlstore.ErrNoDatabase) || err.Error() != "no database at "+path {
			t.Fatalf("OpenReadOnly = %v, want ErrNoDatabase", err)
		}
		if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("the file was created: %v", err)
		}
	})
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			url := b.URL(t)
			if b.Name == "sqlite" {
				// An empty file, as `sqlite3 puguh.db .quit` leaves.
				if err := os.WriteFile(strings.TrimPrefix(url, "sqlite:"), nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			// Migrations reads only, even on a store that may write.
			rw, err := sqlstore.Open(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			defer rw.Close()
			ms, err := rw.Migrations(ctx)
			if err != nil || len(ms) == 0 || ms[0].AppliedAt != nil {
				t.Fatalf("Migrations = %v, %v; want every one pending", ms, err)
			}
			tables := `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'`
			if b.Name == "postgres" {
				tables = `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema()`
			}
			var n int
			if err := rw.DB().GetContext(ctx, &n, tables); err != nil || n != 0 {
				t.Fatalf("Migrations left %d tables (%v), want none", n, err)
			}
			s, err := sqlstore.OpenReadOnly(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if v, err := s.AppliedVersion(ctx); v != 0 || err != nil {
				t.Fatalf("AppliedVersion = %d, %v", v, err)
			}
			if _, err := s.Migrate(ctx); err == nil {
				t.Fatal("Migrate succeeded on a read-only store")
			}
			if _, err := rw.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			if err := s.DB().GetContext(ctx, &n, `SELECT COUNT(*) FROM schema_migrations`); err != nil || n != len(ms) {
				t.Fatalf("after migrating: %d rows, %v", n, err)
			}
			if v, err := s.AppliedVersion(ctx); v != sqlstore.SchemaVersion() || err != nil {
				t.Fatalf("AppliedVersion = %d, %v; want %d", v, err, sqlstore.SchemaVersion())
			}
		})
	}
}

// Both dialects carry the same migrations, so SchemaVersion means one thing.
func TestDialectsHaveTheSameMigrations(t *testing.T) {
	lite, err := sqlstore.EmbeddedMigrations(sqlstore.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := sqlstore.EmbeddedMigrations(sqlstore.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	if len(lite) != len(pg) {
		t.Fatalf("%d SQLite migrations, %d PostgreSQL ones", len(lite), len(pg))
	}
	for i := range lite {
		if lite[i].Version != pg[i].Version || lite[i].Name != pg[i].Name {
			t.Errorf("migration %d: %04d_%s on SQLite, %04d_%s on PostgreSQL", i, lite[i].Version, lite[i].Name, pg[i].Version, pg[i].Name)
		}
	}
	if sqlstore.SchemaVersion() != lite[len(lite)-1].Version {
		t.Fatalf("SchemaVersion %d", sqlstore.SchemaVersion())
	}
}

// An unreachable PostgreSQL is one line naming the server, and counts as
// unavailable.
func TestOpenUnreachablePostgres(t *testing.T) {
	_, err := sqlstore.Open(context.Background(), "postgres://nobody:hunter2@127.0.0.1:1/none?sslmode=prefer&connect_timeout=5")
	want := `cannot connect to PostgreSQL at 127.0.0.1:1 (database "none", user "nobody"): connection refused`
	if err == nil || err.Error() != want {
		t.Fatalf("Open = %v\nwant %s", err, want)
	}
	if !errors.Is(err, storage.ErrUnavailable) {
		t.Fatal("not storage.ErrUnavailable")
	}
}

// A server that refuses the database is one line with its own message.
func TestOpenPostgresWrongDatabase(t *testing.T) {
	base := os.Getenv(sqltest.EnvDatabaseURL)
	if base == "" {
		t.Skipf("PostgreSQL case skipped: set %s to run it", sqltest.EnvDatabaseURL)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/puguh_no_such_database"
	_, err = sqlstore.Open(context.Background(), u.String())
	if err == nil || strings.Contains(err.Error(), "\n") ||
		!regexp.MustCompile(`^cannot connect to PostgreSQL at [^ ]+ \(database "puguh_no_such_database", user "[^"]*"\): database "puguh_no_such_database" does not exist \(SQLSTATE 3D000\)$`).MatchString(err.Error()) {
		t.Fatalf("Open = %q", err)
	}
}
