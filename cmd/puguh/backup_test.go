package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
	"github.com/arsaka/puguh/storage/sqlstore"
)

// TestExportImportCommands: `puguh export -o FILE` and `puguh import FILE`
// between two SQLite databases, and every refusal as one line on stderr,
// exit 1, with the target's rows unchanged.
func TestExportImportCommands(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	e.NewUser()
	dir := t.TempDir()
	source := map[string]string{"PUGUH_DATABASE_URL": e.DatabaseURL, "PUGUH_DATA_DIR": filepath.Join(dir, "source")}
	file := filepath.Join(dir, "puguh.jsonl")

	code, out, errOut := runCmd(t, source, "export", "-o", file)
	if m := regexp.MustCompile(`^exported \d+ rows to ` + regexp.QuoteMeta(file) + `: users 1, organizations 1, memberships 1, signing_keys 4, oauth_refresh_families 1, oauth_refresh_tokens 1\n$`); code != 0 || errOut != "" || !m.MatchString(out) {
		t.Fatalf("export -o: %d %q %q", code, out, errOut)
	}
	fi, err := os.Stat(file)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("export file: %v, mode %v; want 0600", err, fi.Mode())
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, ".puguh.jsonl.*")); len(leftovers) > 0 {
		t.Fatalf("temporary files left: %v", leftovers)
	}
	good, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(good), "\n")
	lines = lines[:len(lines)-1]
	n := len(lines)

	// The target: the embedded default in its own data directory, which
	// import creates, with the exporting server's secret.
	targetDir := filepath.Join(dir, "target")
	target := map[string]string{"PUGUH_DATA_DIR": targetDir, "PUGUH_SECRET": apptest.Secret}
	code, out, errOut = runCmd(t, target, "import", file)
	if want := "imported " + fmt.Sprint(n-2) + " rows into sqlite: users 1, organizations 1, memberships 1, signing_keys 4, oauth_refresh_families 1, oauth_refresh_tokens 1\n"; code != 0 || errOut != "" || out != want {
		t.Fatalf("import: %d %q %q\nwant %q", code, out, errOut, want)
	}
	// The import exports as the source did, but for its header.
	_, again, _ := runCmd(t, target, "export")
	if _, rest, _ := strings.Cut(again, "\n"); rest != strings.Join(lines[1:], "") {
		t.Fatalf("the imported database exports\n%s\nwant\n%s", again, good)
	}
	before := again

	bad := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	truncated := bad("truncated.jsonl", strings.Join(lines[:n-1], ""))
	for _, tc := range []struct {
		name  string
		env   map[string]string
		stdin string
		args  []string
		line  string
	}{
		{"garbage on stdin", target, "garbage\n", []string{"import", "--force"},
			`puguh: import: stdin: line 1: not a Puguh export (no "puguh-export" header)`},
		{"garbage line", target, "", []string{"import", "--force", bad("garbage.jsonl", lines[0]+"{]\n"+strings.Join(lines[1:], ""))},
			"puguh: import: " + filepath.Join(dir, "garbage.jsonl") + ": line 2: not an export line (a JSON object with table and row, or end)"},
		{"newer format", target, strings.Replace(string(good), `"version":1`, `"version":7`, 1), []string{"import", "--force", "-"},
			"puguh: import: stdin: line 1: the export's format version 7 is newer than this Puguh reads (1): import it with the Puguh version that made it"},
		{"other schema", target, strings.Replace(string(good), fmt.Sprintf(`"schema":%d`, sqlstore.SchemaVersion()), `"schema":1`, 1), []string{"import", "--force"},
			fmt.Sprintf("puguh: import: stdin: line 1: the export is of schema version 1, this Puguh's is %d: import it with the Puguh version that made it (then upgrade), or export again with this one", sqlstore.SchemaVersion())},
		{"truncated", target, "", []string{"import", "--force", truncated},
			fmt.Sprintf("puguh: import: %s: the export ends after line %d without its end line: it is truncated", truncated, n-1)},
		{"empty", target, "", []string{"import", "--force"}, "puguh: import: stdin: the input is empty, not an export"},
		{"another secret", map[string]string{"PUGUH_DATA_DIR": targetDir, "PUGUH_SECRET": "another-secret-0123456789-abcdefghij"}, string(good), []string{"import", "--force"},
			""}, // checked below: names the key
		{"not empty", target, string(good), []string{"import"}, "puguh: import: the database is not empty: users, organizations, memberships, signing_keys, " +
			"oauth_refresh_families, oauth_refresh_tokens hold rows; import into an empty database, or pass --force to replace everything in it"},
		{"no such file", target, "", []string{"import", filepath.Join(dir, "missing.jsonl")},
			"puguh: import: open " + filepath.Join(dir, "missing.jsonl") + ": no such file or directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCmdInput(t, tc.env, tc.stdin, tc.args...)
			if tc.line == "" {
				tc.line = regexp.MustCompile(`^puguh: import: stdin: line \d+: signing key \S+: cannot be decrypted with this PUGUH_SECRET: set the PUGUH_SECRET of the Puguh that made the export$`).FindString(strings.TrimSuffix(errOut, "\n"))
			}
			if code != 1 || out != "" || tc.line == "" || errOut != tc.line+"\n" {
				t.Fatalf("got %d %q %q\nwant 1 and %q", code, out, errOut, tc.line+"\n")
			}
			if _, after, _ := runCmd(t, target, "export"); bodyOf(after) != bodyOf(before) {
				t.Fatal("the refused import changed the database")
			}
		})
	}

	// --force replaces, and gives the same database again.
	if code, _, errOut := runCmdInput(t, target, string(good), "import", "--force"); code != 0 {
		t.Fatalf("import --force: %d %q", code, errOut)
	}
	if _, after, _ := runCmd(t, target, "export"); bodyOf(after) != bodyOf(before) {
		t.Fatal("import --force of the same export changed the database")
	}
}

// An import needs the exporting Puguh's secret: without PUGUH_SECRET (and
// no secret kept in the data directory) it refuses rather than make one.
func TestImportWithoutSecret(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := runCmdInput(t, map[string]string{"PUGUH_DATA_DIR": dir}, "irrelevant", "import")
	want := "puguh: import: PUGUH_SECRET is not set: set it to the PUGUH_SECRET of the Puguh that made the export (its signing keys are sealed with it)\n"
	if code != 1 || out != "" || errOut != want {
		t.Fatalf("got %d %q %q\nwant %q", code, out, errOut, want)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("created %v", entries)
	}
}

// Export only reads: a database that does not exist is an error, and is
// not created.
func TestExportWithoutDatabase(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		env  map[string]string
		line string
	}{
		{"no data directory", map[string]string{"PUGUH_DATA_DIR": filepath.Join(dir, "data")},
			"puguh: export: no database at " + filepath.Join(dir, "data", "puguh.db") + ": nothing to export"},
		{"no file", map[string]string{"PUGUH_DATA_DIR": dir, "PUGUH_DATABASE_URL": "sqlite:" + filepath.Join(dir, "other.db")},
			"puguh: export: no database at " + filepath.Join(dir, "other.db") + ": nothing to export"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, tc.env, "export")
			if code != 1 || out != "" || errOut != tc.line+"\n" {
				t.Fatalf("got %d %q %q\nwant 1 and %q", code, out, errOut, tc.line+"\n")
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Fatalf("created %v", entries)
			}
		})
	}
}

// bodyOf is an export without its header.
func bodyOf(export string) string {
	_, rest, _ := strings.Cut(export, "\n")
	return rest
}
