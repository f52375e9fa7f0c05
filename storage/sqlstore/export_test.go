package sqlstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/arsaka/puguh/storage/sqlstore"
	"github.com/arsaka/puguh/storage/sqlstore/sqltest"
)

// TestExportCoversEveryTable: the export names every table of the migrated
// schema but schema_migrations, on both dialects. A migration that adds a
// table fails here until the table is placed in the export order.
func TestExportCoversEveryTable(t *testing.T) {
	sqltest.ForEach(t, func(t *testing.T, s *sqlstore.Store) {
		query := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`
		if s.Dialect() == sqlstore.Postgres {
			query = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`
		}
		var tables []string
		if err := s.DB().SelectContext(context.Background(), &tables, query); err != nil {
			t.Fatal(err)
		}
		tables = slices.DeleteFunc(tables, func(n string) bool { return n == "schema_migrations" })
		slices.Sort(tables)
		exported := sqlstore.ExportTables()
		slices.Sort(exported)
		if !slices.Equal(tables, exported) {
			t.Fatalf("the schema has tables %v\nthe export has %v", tables, exported)
		}
	})
}

// fillEveryTable writes two rows into every exported table, with values of
// every kind: text with quotes, newlines and non-ASCII, booleans both ways,
// timestamps with microseconds and in another zone, bytes outside ASCII,
// NULLs, rows that refer to each other.
func fillEveryTable(t *testing.T, s *sqlstore.Store) {
	t.Helper()
	ctx := context.Background()
	ref := map[string][2]string{
		"organization_id": {"org-a", "org-b"}, "user_id": {"user-a", "user-b"},
		"application_id": {"app-a", "app-b"}, "service_account_id": {"sa-a", "sa-b"},
		"connection_id": {"conn-a", "conn-b"}, "session_id": {"sess-a", "sess-b"},
	}
	ids := map[string]map[string][2]string{ // the key column of a table others refer to
		"users": {"id": ref["user_id"]}, "organizations": {"id": ref["organization_id"]},
		"applications": {"id": ref["application_id"]}, "service_accounts": {"id": ref["service_account_id"]},
		"federation_connections": {"id": ref["connection_id"]}, "sessions": {"id": ref["session_id"]},
	}
	nullInSecond := map[string][]string{
		"api_keys":               {"expires_at", "revoked_at", "last_used_at", "service_account_id"},
		"signing_keys":           {"activated_at", "retired_at", "remove_after"},
		"applications":           {"secret_hash"},
		"oauth_refresh_families": {"rotated_at"},
		"oauth_refresh_tokens":   {"used_at", "expires_at"},
		"login_challenges":       {"consented_at"},
		"users":                  {"email_verified_at"},
	}
	stamps := [2]time.Time{
		time.Date(2025, 5, 6, 7, 8, 9, 123456000, time.UTC),
		time.Date(2025, 12, 31, 23, 59, 59, 0, time.FixedZone("WIB", 7*3600)),
	}
	for _, table := range sqlstore.ExportTables() {
		rows, err := s.DB().QueryxContext(ctx, `SELECT * FROM `+table+` WHERE 1 = 0`)
		if err != nil {
			t.Fatal(err)
		}
		types, err := rows.ColumnTypes()
		rows.Close()
		if err != nil {
			t.Fatal(err)
		}
		for i := range 2 {
			var names, marks []string
			var args []any
			for _, ct := range types {
				name := ct.Name()
				if table == "denylist" && name == "seq" {
					continue
				}
				var v any
				switch typ := strings.ToUpper(ct.DatabaseTypeName()); {
				case ids[table][name] != [2]string{}:
					v = ids[table][name][i]
				case ref[name] != [2]string{}:
					v = ref[name][i]
				case table == "signing_keys" && name == "state":
					v = []string{"active", "retired"}[i]
				case typ == "BOOLEAN" || typ == "BOOL":
					v = i == 0
				case strings.HasPrefix(typ, "INT") || typ == "BIGINT":
					v = int64(7 - i*1000)
				case strings.HasPrefix(typ, "TIMESTAMP"):
					v = stamps[i]
				case typ == "BLOB" || typ == "BYTEA":
					v = []byte{0, 1, 0xfe, 0xff, byte(i)}
				default:
					v = fmt.Sprintf("%s %s %d: it's \"quoted\"\n✓ ünïcode", table, name, i)
				}
				if i == 1 && slices.Contains(nullInSecond[table], name) {
					v = nil
				}
				names, marks, args = append(names, name), append(marks, "?"), append(args, v)
			}
			// Keys sort in reverse of insertion in the second row, so the
			// denylist's order (by seq) is not also alphabetical.
			if table == "denylist" {
				args[slices.Index(names, "key")] = []string{"zzz:first", "aaa:second"}[i]
			}
			query := s.DB().Rebind(`INSERT INTO ` + table + ` (` + strings.Join(names, ", ") + `) VALUES (` + strings.Join(marks, ", ") + `)`)
			if _, err := s.DB().ExecContext(ctx, query, args...); err != nil {
				t.Fatalf("fill %s: %v", table, err)
			}
		}
	}
}

func export(t *testing.T, s *sqlstore.Store) string {
	t.Helper()
	var buf bytes.Buffer
	if _, err := s.Export(context.Background(), &buf, time.Now()); err != nil {
		t.Fatalf("export: %v", err)
	}
	return buf.String()
}

// body is an export without its header line (dialect and time differ).
func body(export string) string {
	_, rest, _ := strings.Cut(export, "\n")
	return rest
}

func importString(s *sqlstore.Store, in string, opts sqlstore.ImportOptions) (sqlstore.ExportCounts, error) {
	er, err := sqlstore.NewExportReader(strings.NewReader(in))
	if err != nil {
		return sqlstore.ExportCounts{}, err
	}
	return s.Import(context.Background(), er, opts)
}

// TestExportImportRoundTrip: an export imported into a fresh database of
// either dialect exports again to the same rows, byte for byte.
func TestExportImportRoundTrip(t *testing.T) {
	for _, from := range sqltest.Backends() {
		for _, to := range sqltest.Backends() {
			t.Run(from.Name+" to "+to.Name, func(t *testing.T) {
				src := sqltest.Open(t, from)
				fillEveryTable(t, src)
				out := export(t, src)
				header := fmt.Sprintf(`{"format":"puguh-export","version":1,"schema":%d,"dialect":"%s","exported_at":"`, sqlstore.SchemaVersion(), from.Name)
				if !strings.HasPrefix(out, header) {
					t.Fatalf("header %q, want it to start %q", firstLine(out), header)
				}
				dst := sqltest.Open(t, to)
				counts, err := importString(dst, out, sqlstore.ImportOptions{})
				if err != nil {
					t.Fatalf("import: %v", err)
				}
				if want := int64(2 * len(sqlstore.ExportTables())); counts.Rows != want || counts.Tables["users"] != 2 {
					t.Fatalf("imported %+v, want %d rows", counts, want)
				}
				again := export(t, dst)
				if body(again) != body(out) {
					t.Fatalf("the import exports differently:\n%s\nwant\n%s", body(again), body(out))
				}
				if !strings.Contains(out, `{"table":"denylist","row":{"key":"zzz:first",`) ||
					strings.Index(out, `"zzz:first"`) > strings.Index(out, `"aaa:second"`) {
					t.Fatalf("denylist entries out of their seq order:\n%s", out)
				}
				// Again with Replace: the same database, so imports are repeatable.
				if _, err := importString(dst, out, sqlstore.ImportOptions{Replace: true}); err != nil {
					t.Fatalf("import again with Replace: %v", err)
				}
				if body(export(t, dst)) != body(out) {
					t.Fatal("a second import with Replace changed the rows")
				}
			})
		}
	}
}

// TestImportRefuses: bad inputs fail with one line and change nothing, even
// with Replace (which would empty the database first): the whole import is
// one transaction.
func TestImportRefuses(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			src := sqltest.Open(t, b)
			fillEveryTable(t, src)
			good := export(t, src)
			lines := strings.SplitAfter(good, "\n")
			lines = lines[:len(lines)-1] // the empty string after the last newline
			n := len(lines)
			header, end := lines[0], lines[n-1]
			users1 := lines[1]
			without := func(i int) string { return strings.Join(slices.Delete(slices.Clone(lines), i, i+1), "") }
			replace := func(i int, s string) string {
				l := slices.Clone(lines)
				l[i] = s
				return strings.Join(l, "")
			}
			schema := sqlstore.SchemaVersion()
			for _, tc := range []struct {
				name, in, err string
			}{
				{"empty input", "", "the input is empty, not an export"},
				{"garbage", "hello\n", `line 1: not a Puguh export (no "puguh-export" header)`},
				{"another JSON document", `{"users":[]}` + "\n", `line 1: not a Puguh export (no "puguh-export" header)`},
				{"newer format", strings.Replace(good, `"version":1`, `"version":2`, 1),
					"line 1: the export's format version 2 is newer than this Puguh reads (1): import it with the Puguh version that made it"},
				{"other schema", strings.Replace(good, fmt.Sprintf(`"schema":%d`, schema), `"schema":3`, 1),
					fmt.Sprintf("line 1: the export is of schema version 3, this Puguh's is %d: import it with the Puguh version that made it (then upgrade), or export again with this one", schema)},
				{"garbage line", replace(3, "{not json\n"), "line 4: not an export line (a JSON object with table and row, or end)"},
				{"blank line", replace(3, "\n"), "line 4: not an export line (a JSON object with table and row, or end)"},
				{"unknown field", replace(2, `{"table":"users","row":{},"extra":1}`+"\n"), "line 3: not an export line (a JSON object with table and row, or end)"},
				{"truncated at a line", strings.Join(lines[:n-1], ""), fmt.Sprintf("the export ends after line %d without its end line: it is truncated", n-1)},
				{"truncated in a line", good[:len(header)+len(users1)/2], "line 2: not an export line (a JSON object with table and row, or end)"},
				{"truncated end line", good[:len(good)-len(end)/2], fmt.Sprintf("line %d: not an export line (a JSON object with table and row, or end)", n)},
				{"a row missing", without(n - 2), fmt.Sprintf("line %d: the end line counts %d rows, the export holds %d: it is damaged", n-1, n-2, n-3)},
				{"after the end", good + users1, fmt.Sprintf("line %d: nothing may follow the end line", n+1)},
				{"unknown table", replace(1, `{"table":"groups","row":{"id":"x"}}`+"\n"), `line 2: unknown table "groups"`},
				{"out of order", header + lines[3] + users1 + strings.Join(lines[2:3], "") + strings.Join(lines[4:], ""),
					"line 3: users rows after organizations rows: the export is out of order"},
				{"unknown column", replace(1, strings.Replace(users1, `"email":`, `"e_mail":`, 1)), `line 2: users has no column "e_mail"`},
				{"missing column", replace(1, strings.Replace(users1, `"disabled":true,`, ``, 1)), `line 2: the users row lacks column "disabled"`},
				{"wrong type", replace(1, strings.Replace(users1, `"disabled":true`, `"disabled":"yes"`, 1)), `line 2: users.disabled: want a boolean, got "yes"`},
				{"bad time", replace(1, strings.Replace(users1, `"created_at":"2025-05-06T07:08:09.123456Z"`, `"created_at":"yesterday"`, 1)),
					`line 2: users.created_at: want a timestamp (RFC 3339), got "yesterday"`},
				{"bad base64", strings.Replace(good, `"secret_hash":"AAH+/wA="`, `"secret_hash":"%%%"`, 1),
					`line 8: service_accounts.secret_hash: want base64, got "%%%"`},
				{"duplicate row", header + users1 + users1 + strings.Join(lines[2:], ""), "line 3: insert into users: "},
				{"broken reference", header + lines[3] + lines[4] + strings.Join(lines[5:], ""), "line 4: insert into memberships: "},
			} {
				t.Run(tc.name, func(t *testing.T) {
					// The target holds other rows: a refused import keeps them.
					dst := sqltest.Open(t, b)
					if _, err := importString(dst, good, sqlstore.ImportOptions{}); err != nil {
						t.Fatal(err)
					}
					before := export(t, dst)
					_, err := importString(dst, tc.in, sqlstore.ImportOptions{Replace: true})
					switch {
					case err == nil:
						t.Fatal("import succeeded")
					case strings.Contains(err.Error(), "\n"):
						t.Fatalf("error spans lines: %q", err)
					case strings.HasSuffix(tc.err, ": ") && !strings.HasPrefix(err.Error(), tc.err):
						t.Fatalf("error %q, want it to start %q", err, tc.err)
					case tc.err != "" && !strings.HasSuffix(tc.err, ": ") && err.Error() != tc.err:
						t.Fatalf("error %q\nwant  %q", err, tc.err)
					}
					if body(export(t, dst)) != body(before) {
						t.Fatal("the refused import changed the database")
					}
				})
			}
		})
	}
}

// An import into a database with rows is refused unless Replace; a key the
// check refuses rolls everything back.
func TestImportTarget(t *testing.T) {
	sqltest.ForEach(t, func(t *testing.T, src *sqlstore.Store) {
		fillEveryTable(t, src)
		good := export(t, src)
		dst := sqltest.OpenURL(t, sqltest.SQLiteURL(t))
		if _, err := importString(dst, good, sqlstore.ImportOptions{}); err != nil {
			t.Fatal(err)
		}
		_, err := importString(dst, good, sqlstore.ImportOptions{})
		// fillEveryTable put rows in every table, so every one is named, in export order.
		want := "the database is not empty: " + strings.Join(sqlstore.ExportTables(), ", ") + " hold rows"
		if !errors.Is(err, sqlstore.ErrNotEmpty) || err.Error() != want {
			t.Fatalf("second import = %v\nwant %s", err, want)
		}

		empty := sqltest.OpenURL(t, sqltest.SQLiteURL(t))
		var asked []string
		_, err = importString(empty, good, sqlstore.ImportOptions{CheckSigningKey: func(kid string, sealed []byte) error {
			asked = append(asked, kid)
			if len(asked) == 2 {
				return errors.New("cannot be decrypted")
			}
			return nil
		}})
		if err == nil || !strings.HasPrefix(err.Error(), "line 15: signing key ") || !strings.HasSuffix(err.Error(), ": cannot be decrypted") {
			t.Fatalf("import with a refused key = %v", err)
		}
		if len(asked) != 2 {
			t.Fatalf("asked about %d keys, want 2", len(asked))
		}
		if out := export(t, empty); strings.Count(out, "\n") != 2 {
			t.Fatalf("a refused import left rows:\n%s", out)
		}
	})
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
