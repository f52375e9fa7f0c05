package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/arsaka/puguh/storage/sqlstore"
)

// runCmd calls run with env as the whole environment and nothing on stdin.
func runCmd(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runCmdInput(t, env, "", args...)
}

// runCmdInput is runCmd with stdin.
func runCmdInput(t *testing.T, env map[string]string, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, func(k string) string { return env[k] }, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestVersion(t *testing.T) {
	for _, arg := range []string{"version", "--version"} {
		t.Run(arg, func(t *testing.T) {
			// Even a broken configuration does not stop `puguh version`.
			code, out, errOut := runCmd(t, map[string]string{"PUGUH_ADDR": "nope"}, arg)
			if code != 0 || out != "puguh dev\n" || errOut != "" {
				t.Fatalf("got %d %q %q, want 0 \"puguh dev\\n\" \"\"", code, out, errOut)
			}
		})
	}
	t.Run("set at build time", func(t *testing.T) {
		old := version
		version = "v1.2.3"
		t.Cleanup(func() { version = old })
		if code, out, _ := runCmd(t, nil, "version"); code != 0 || out != "puguh v1.2.3\n" {
			t.Fatalf("got %d %q, want 0 \"puguh v1.2.3\\n\"", code, out)
		}
	})
}

func TestInvalidConfiguration(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		line string // the one line on stderr
	}{
		{name: "address", env: map[string]string{"PUGUH_ADDR": "8080"},
			line: `config: PUGUH_ADDR: "8080" is not host:port`},
		{name: "issuer", env: map[string]string{"PUGUH_ISSUER": "ftp://example.com"},
			line: `config: PUGUH_ISSUER: "ftp://example.com" must be an absolute http(s) URL without query, fragment or user info`},
		{name: "duration", env: map[string]string{"PUGUH_ACCESS_TOKEN_LIFETIME": "forever"},
			line: `config: PUGUH_ACCESS_TOKEN_LIFETIME: "forever" is not a positive duration (e.g. 90s, 15m, 1h, 30d)`},
		{name: "auth code lifetime", env: map[string]string{"PUGUH_AUTH_CODE_LIFETIME": "1h"},
			line: `config: PUGUH_AUTH_CODE_LIFETIME: must be at most 10m`},
		{name: "short secret", env: map[string]string{"PUGUH_SECRET": "hunter2"},
			line: `config: PUGUH_SECRET: must be at least 32 characters`},
		{name: "postgres without a secret", env: map[string]string{"PUGUH_DATABASE_URL": "postgres://127.0.0.1:5432/puguh"},
			line: `config: PUGUH_SECRET: is required with PostgreSQL (replicas must share it); generate one with: openssl rand -base64 48`},
		{name: "database scheme", env: map[string]string{"PUGUH_DATABASE_URL": "mysql://127.0.0.1/puguh"},
			line: `config: PUGUH_DATABASE_URL: must start with postgres://, postgresql:// or sqlite:`},
		{name: "redis scheme", env: map[string]string{"PUGUH_REDIS_URL": "http://127.0.0.1:6379"},
			line: `config: PUGUH_REDIS_URL: must be a redis:// or rediss:// URL`},
		{name: "log level", env: map[string]string{"PUGUH_LOG_LEVEL": "loud"},
			line: `config: PUGUH_LOG_LEVEL: "loud" is not one of debug, info, warn, error`},
		{name: "key size", env: map[string]string{"PUGUH_KEY_SIZE": "1024"},
			line: `config: PUGUH_KEY_SIZE: must be a multiple of 256 between 2048 and 8192`},
		{name: "body limit", env: map[string]string{"PUGUH_MAX_BODY_BYTES": "lots"},
			line: `config: PUGUH_MAX_BODY_BYTES: "lots" is not a whole number`},
		{name: "shutdown timeout", env: map[string]string{"PUGUH_SHUTDOWN_TIMEOUT": "10ms"},
			line: `config: PUGUH_SHUTDOWN_TIMEOUT: must be at least 1s`},
		{name: "old profiler variable", env: map[string]string{"PUGUH_PPROF_ADDR": "127.0.0.1:6060"},
			line: `config: PUGUH_PPROF_ADDR: is no longer supported; set PUGUH_ADMIN_PPROF=true to serve /debug/pprof/ on the admin listener (PUGUH_ADMIN_ADDR, default 127.0.0.1:9090)`},
		{name: "admin address", env: map[string]string{"PUGUH_ADMIN_ADDR": "9090"},
			line: `config: PUGUH_ADMIN_ADDR: "9090" is not host:port or off`},
		{name: "profiler flag", env: map[string]string{"PUGUH_ADMIN_PPROF": "on"},
			line: `config: PUGUH_ADMIN_PPROF: "on" is not true or false`},
		{name: "profiler on a public admin address", env: map[string]string{"PUGUH_ADMIN_PPROF": "true", "PUGUH_ADMIN_ADDR": "0.0.0.0:9090"},
			line: `config: PUGUH_ADMIN_PPROF: needs a loopback PUGUH_ADMIN_ADDR (e.g. 127.0.0.1:9090), not "0.0.0.0:9090"`},
	}
	for _, tc := range tests {
		for _, cmd := range []string{"serve", "migrate"} {
			t.Run(tc.name+"/"+cmd, func(t *testing.T) {
				tc.env["PUGUH_DATA_DIR"] = t.TempDir()
				args := []string{cmd}
				if cmd == "migrate" {
					args = append(args, "up")
				}
				code, out, errOut := runCmd(t, tc.env, args...)
				if code != 2 {
					t.Errorf("exit code %d, want 2", code)
				}
				if out != "" {
					t.Errorf("stdout %q, want nothing", out)
				}
				if errOut != tc.line+"\n" {
					t.Errorf("stderr =\n  %q\nwant one line\n  %q", errOut, tc.line+"\n")
				}
			})
		}
	}
}

var (
	statusHeader  = regexp.MustCompile(`^VERSION +NAME +APPLIED$`)
	statusPending = regexp.MustCompile(`^(\d{4}) +([a-z0-9_]+) +pending$`)
	statusApplied = regexp.MustCompile(`^(\d{4}) +([a-z0-9_]+) +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)
)

func TestMigrate(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	env := map[string]string{"PUGUH_DATA_DIR": dataDir}
	noDatabase := "(no database at " + filepath.Join(dataDir, "puguh.db") + " yet: `puguh migrate up` or `puguh serve` creates it)"

	status := func(t *testing.T, row *regexp.Regexp) []string {
		t.Helper()
		code, out, errOut := runCmd(t, env, "migrate", "status")
		if code != 0 || errOut != "" {
			t.Fatalf("migrate status: %d %q", code, errOut)
		}
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if last := lines[len(lines)-1]; last == noDatabase {
			lines = lines[:len(lines)-1]
		} else if row == statusPending {
			t.Fatalf("status before migrating ends %q, want %q", last, noDatabase)
		}
		if !statusHeader.MatchString(lines[0]) {
			t.Fatalf("status header %q", lines[0])
		}
		var versions []string
		for i, l := range lines[1:] {
			m := row.FindStringSubmatch(l)
			if m == nil {
				t.Fatalf("status line %q does not match %s", l, row)
			}
			// Versions increase; a branch may carry a gap that other
			// branches' migrations fill when they merge.
			if i == 0 && m[1] != "0001" || i > 0 && m[1] <= versions[i-1][:4] {
				t.Fatalf("status line %d has version %s after %v", i+1, m[1], versions)
			}
			versions = append(versions, m[1]+"_"+m[2])
		}
		if len(versions) == 0 {
			t.Fatal("migrate status lists no migrations")
		}
		return versions
	}

	pending := status(t, statusPending)
	if pending[0] != "0001_initial" {
		t.Fatalf("first migration %q, want 0001_initial", pending[0])
	}
	// Status only reads: not even the data directory is made.
	if _, err := os.Stat(dataDir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("migrate status created %s: %v", dataDir, err)
	}

	code, out, errOut := runCmd(t, env, "migrate", "up")
	if want := fmt.Sprintf("applied %d migration(s)\n", len(pending)); code != 0 || out != want || errOut != "" {
		t.Fatalf("migrate up: %d %q %q, want 0 %q", code, out, errOut, want)
	}
	if applied := status(t, statusApplied); strings.Join(applied, ",") != strings.Join(pending, ",") {
		t.Fatalf("applied %v, want %v", applied, pending)
	}
	code, out, _ = runCmd(t, env, "migrate", "up")
	if code != 0 || out != "applied 0 migration(s)\n" {
		t.Fatalf("second migrate up: %d %q, want 0 \"applied 0 migration(s)\\n\"", code, out)
	}
}

func TestMigrateUsage(t *testing.T) {
	for _, tc := range []struct{ args, want string }{
		{"migrate", "puguh migrate: missing command: one of up, status; run 'puguh help migrate'\n"},
		{"migrate down", "puguh migrate: unknown command \"down\"; run 'puguh help migrate'\n"},
		{"migrate up extra", "puguh migrate up: unexpected argument \"extra\"; run 'puguh help migrate up'\n"},
	} {
		t.Run(tc.args, func(t *testing.T) {
			code, out, errOut := runCmd(t, map[string]string{"PUGUH_DATA_DIR": t.TempDir()}, strings.Fields(tc.args)...)
			if code != 2 || out != "" || errOut != tc.want {
				t.Fatalf("got %d %q %q, want 2 and %q", code, out, errOut, tc.want)
			}
		})
	}
}

// TestDatabaseRefused: every command that opens the database refuses a URL
// of another scheme, a SQLite path whose directory does not exist and an
// unreachable PostgreSQL with one line, and creates nothing on the way
// (no directory, no file, no generated secret).
func TestDatabaseRefused(t *testing.T) {
	commandLines := [][]string{{"serve"}, {"migrate", "up"}, {"migrate", "status"}, {"keys", "list"},
		{"users", "disable", "a@example.com"}, {"orgs", "set-plan", "0b4c9b0e-3a51-4c4e-9d2e-6f7c1f0a9d11", "pro"},
		{"clients", "list", "--org", "0b4c9b0e-3a51-4c4e-9d2e-6f7c1f0a9d11"}, {"export"}, {"import"}}
	// import reads the header before it opens the database: give it one.
	header := fmt.Sprintf(`{"format":"puguh-export","version":1,"schema":%d}`+"\n", sqlstore.SchemaVersion())
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope", "puguh.db")
	for _, tc := range []struct {
		name string
		env  map[string]string
		code int
		line string
	}{
		{"unknown scheme", map[string]string{"PUGUH_DATABASE_URL": "mysql:x"}, 2,
			"config: PUGUH_DATABASE_URL: must start with postgres://, postgresql:// or sqlite:"},
		{"unknown scheme with slashes", map[string]string{"PUGUH_DATABASE_URL": "mysql://db.example.com/puguh"}, 2,
			"config: PUGUH_DATABASE_URL: must start with postgres://, postgresql:// or sqlite:"},
		{"sqlite directory missing", map[string]string{"PUGUH_DATABASE_URL": "sqlite:" + missing}, 2,
			"config: PUGUH_DATABASE_URL: sqlite database " + missing + ": directory " + filepath.Dir(missing) + " does not exist"},
		{"plain path, directory missing", map[string]string{"PUGUH_DATABASE_URL": missing}, 2,
			"config: PUGUH_DATABASE_URL: sqlite database " + missing + ": directory " + filepath.Dir(missing) + " does not exist"},
		{"postgres unreachable", map[string]string{"PUGUH_DATABASE_URL": "postgres://puguh:hunter2@127.0.0.1:1/puguh", "PUGUH_SECRET": strings.Repeat("s", 40)}, 1,
			`puguh: open database: cannot connect to PostgreSQL at 127.0.0.1:1 (database "puguh", user "puguh"): connection refused`},
	} {
		for _, args := range commandLines {
			t.Run(tc.name+"/"+strings.Join(args, " "), func(t *testing.T) {
				env := map[string]string{"PUGUH_DATA_DIR": filepath.Join(dir, "data"), "PUGUH_ADDR": "127.0.0.1:0", "PUGUH_ADMIN_ADDR": "off"}
				for k, v := range tc.env {
					env[k] = v
				}
				code, out, errOut := runCmdInput(t, env, header, args...)
				if code != tc.code || out != "" || errOut != tc.line+"\n" {
					t.Fatalf("got %d %q %q\nwant %d and %q", code, out, errOut, tc.code, tc.line+"\n")
				}
				if entries, _ := os.ReadDir(dir); len(entries) != 0 {
					t.Fatalf("created %v", entries)
				}
			})
		}
	}
}
