package main

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var secretOut = regexp.MustCompile(`^[A-Za-z0-9+/]{64}\n$`)

// `puguh secret generate` needs no configuration at all: not even a database
// URL that would otherwise demand the secret it is about to make.
func TestSecretGenerate(t *testing.T) {
	env := map[string]string{"PUGUH_DATABASE_URL": "postgres://nobody@127.0.0.1:1/none"}
	seen := map[string]bool{}
	for i := range 3 {
		code, out, errOut := runCmd(t, env, "secret", "generate")
		if code != 0 || !secretOut.MatchString(out) || errOut != "" {
			t.Fatalf("run %d: got %d %q %q, want 0 and 64 base64 characters", i, code, out, errOut)
		}
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(out))
		if err != nil || len(raw) != secretBytes {
			t.Fatalf("run %d: %q decodes to %d bytes (%v), want %d", i, out, len(raw), err, secretBytes)
		}
		if seen[out] {
			t.Fatalf("run %d repeated a secret: %q", i, out)
		}
		seen[out] = true
		// What it prints is a secret the server accepts.
		if code, _, errOut := runCmd(t, map[string]string{"PUGUH_SECRET": strings.TrimSpace(out), "PUGUH_DATA_DIR": t.TempDir()}, "migrate", "status"); code != 0 {
			t.Fatalf("the server refuses the generated secret: %d %s", code, errOut)
		}
	}
}

func TestSecretGenerateEnvFile(t *testing.T) {
	const line = `PUGUH_SECRET=[A-Za-z0-9+/]{64}\n`
	for _, tc := range []struct {
		name     string
		existing *string // nil: no file
		code     int
		want     string // regexp of the whole file afterwards
		errText  string
	}{
		{"new file", nil, 0, `^` + line + `$`, ""},
		{"appended", ptr("PUGUH_ISSUER=https://id.example.com\n"), 0, `^PUGUH_ISSUER=https://id\.example\.com\n` + line + `$`, ""},
		{"appended after a last line without newline", ptr("PUGUH_PORT=8080"), 0, `^PUGUH_PORT=8080\n` + line + `$`, ""},
		{"commented example left alone", ptr("# PUGUH_SECRET=\nA=1\n"), 0, `^# PUGUH_SECRET=\nA=1\n` + line + `$`, ""},
		{"empty assignment filled in place", ptr("A=1\nPUGUH_SECRET=\nB=2\n"), 0, `^A=1\n` + line + `B=2\n$`, ""},
		{"empty quoted assignment filled", ptr("PUGUH_SECRET=\"\"\n"), 0, `^` + line + `$`, ""},
		{"already set", ptr("PUGUH_SECRET=keep-this-one-it-encrypts-the-signing-keys\n"), 1,
			`^PUGUH_SECRET=keep-this-one-it-encrypts-the-signing-keys\n$`, "already sets PUGUH_SECRET; keep it"},
		{"already set with export", ptr("export PUGUH_SECRET='keep-this-one-it-encrypts-the-keys'\n"), 1,
			`^export PUGUH_SECRET='keep-this-one-it-encrypts-the-keys'\n$`, "already sets PUGUH_SECRET; keep it"},
		{"set after an empty one", ptr("PUGUH_SECRET=\nPUGUH_SECRET=keep-this-one-it-encrypts-the-keys\n"), 1,
			`^PUGUH_SECRET=\nPUGUH_SECRET=keep-this-one-it-encrypts-the-keys\n$`, "already sets PUGUH_SECRET; keep it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), ".env")
			if tc.existing != nil {
				if err := os.WriteFile(path, []byte(*tc.existing), 0o640); err != nil {
					t.Fatal(err)
				}
			}
			code, out, errOut := runCmd(t, nil, "secret", "generate", "--env-file", path)
			if code != tc.code || !strings.Contains(errOut, tc.errText) {
				t.Fatalf("got %d %q %q, want %d and stderr with %q", code, out, errOut, tc.code, tc.errText)
			}
			if code == 0 && out != "wrote a new PUGUH_SECRET to "+path+"; keep it (and back it up) for as long as the database lives\n" {
				t.Fatalf("stdout %q", out)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !regexp.MustCompile(tc.want).Match(b) {
				t.Fatalf("file is now %q, want %s", b, tc.want)
			}
			if strings.Contains(out+errOut, strings.TrimPrefix(strings.TrimSpace(lastLine(string(b))), "PUGUH_SECRET=")) {
				t.Fatalf("the secret was printed: %q %q", out, errOut)
			}
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			wantMode := os.FileMode(0o640) // an existing file keeps its mode
			if tc.existing == nil {
				wantMode = 0o600
			}
			if st.Mode().Perm() != wantMode {
				t.Fatalf("mode %v, want %v", st.Mode().Perm(), wantMode)
			}
		})
	}
}

func TestSecretUsage(t *testing.T) {
	for _, tc := range []struct{ args, want string }{
		{"secret", "puguh secret: missing command: one of generate; run 'puguh help secret'\n"},
		{"secret rotate", "puguh secret: unknown command \"rotate\"; run 'puguh help secret'\n"},
		{"secret generate extra", "puguh secret generate: unexpected argument \"extra\"; run 'puguh help secret generate'\n"},
		{"secret generate --bits 5", "puguh secret generate: unknown flag --bits; run 'puguh help secret generate'\n"},
		{"secret generate --env-file", "puguh secret generate: flag --env-file needs a value; run 'puguh help secret generate'\n"},
	} {
		t.Run(tc.args, func(t *testing.T) {
			code, out, errOut := runCmd(t, nil, strings.Fields(tc.args)...)
			if code != 2 || out != "" || errOut != tc.want {
				t.Fatalf("got %d %q %q, want 2 and %q", code, out, errOut, tc.want)
			}
		})
	}
}

func ptr(s string) *string { return &s }

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}
