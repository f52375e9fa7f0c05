package main

import (
	"flag"
	"regexp"
	"strings"
	"testing"
)

// everyCommand walks the command table: each command's words and the command.
func everyCommand(visit func(path []string, c *command)) {
	var walk func(prefix []string, cmds []*command)
	walk = func(prefix []string, cmds []*command) {
		for _, c := range cmds {
			path := append(prefix[:len(prefix):len(prefix)], c.name)
			visit(path, c)
			walk(path, c.subs)
		}
	}
	walk(nil, commands)
}

// TestEveryCommandHasHelp: every command and group answers `puguh help
// CMD`, `puguh CMD --help` and `puguh CMD -h` with the same page on stdout,
// exit 0, nothing on stderr, no configuration read (a broken one does not
// matter); a leaf's page names each of its flags.
func TestEveryCommandHasHelp(t *testing.T) {
	broken := map[string]string{"PUGUH_ADDR": "nope", "PUGUH_DATABASE_URL": "mysql://127.0.0.1/x"}
	n := 0
	everyCommand(func(path []string, c *command) {
		n++
		name := strings.Join(path, " ")
		t.Run(name, func(t *testing.T) {
			var page string
			for i, args := range [][]string{append([]string{"help"}, path...), append(path, "--help"), append(path, "-h")} {
				code, out, errOut := runCmd(t, broken, args...)
				if code != 0 || errOut != "" {
					t.Fatalf("puguh %s: exit %d, stderr %q; want 0 and nothing", strings.Join(args, " "), code, errOut)
				}
				if i == 0 {
					page = out
				} else if out != page {
					t.Fatalf("puguh %s printed\n%s\nbut puguh help %s printed\n%s", strings.Join(args, " "), out, name, page)
				}
			}
			if want := "usage: puguh " + name; !strings.HasPrefix(page, want) {
				t.Fatalf("page starts %q, want %q", firstLine(page), want)
			}
			if strings.TrimSpace(c.summary) == "" {
				t.Fatal("no summary")
			}
			if c.subs != nil {
				for _, sub := range c.subs {
					if !strings.Contains(page, "  "+name+" "+sub.name+" ") {
						t.Errorf("group page lacks %s %s:\n%s", name, sub.name, page)
					}
				}
				return
			}
			fs := newFlagSet(name)
			c.setup(fs)
			fs.VisitAll(func(f *flag.Flag) {
				if !regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(dashed(f.Name)) + `\b.*\S`).MatchString(page) {
					t.Errorf("page does not describe %s:\n%s", dashed(f.Name), page)
				}
			})
			// After the positional arguments too.
			args := append(append([]string{}, path...), c.args...)
			if code, out, _ := runCmd(t, broken, append(args, "--help")...); code != 0 || out != page {
				t.Errorf("puguh %s --help: exit %d, page %q", strings.Join(args, " "), code, firstLine(out))
			}
		})
	})
	if n < 15 {
		t.Fatalf("walked %d commands; the table looks empty", n)
	}
}

// TestHelpListsEveryCommand: `puguh help`, `puguh --help` and `puguh -h`
// list every runnable command on one line with its summary.
func TestHelpListsEveryCommand(t *testing.T) {
	_, page, _ := runCmd(t, nil, "help")
	for _, args := range [][]string{{"--help"}, {"-h"}} {
		code, out, errOut := runCmd(t, nil, args...)
		if code != 0 || out != page || errOut != "" {
			t.Fatalf("puguh %s: %d %q %q, want the page of puguh help", args[0], code, out, errOut)
		}
	}
	everyCommand(func(path []string, c *command) {
		if c.subs != nil {
			return
		}
		line := regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(strings.Join(path, " ")) + ` +` + regexp.QuoteMeta(c.summary) + `$`)
		if !line.MatchString(page) {
			t.Errorf("puguh help has no line for %s:\n%s", strings.Join(path, " "), page)
		}
	})
}

// TestUsageErrors: a command line that does not fit exits 2 with one line
// on stderr naming what is wrong and the help page to read, before any
// configuration is read or database opened.
func TestUsageErrors(t *testing.T) {
	env := map[string]string{"PUGUH_DATABASE_URL": "postgres://nobody@127.0.0.1:1/none", "PUGUH_SECRET": strings.Repeat("s", 40)}
	for _, tc := range []struct{ args, want string }{
		{"frobnicate", `puguh: unknown command "frobnicate"; run 'puguh help'`},
		{"--verbose", `puguh: unknown flag --verbose (flags follow the command); run 'puguh help'`},
		{"help frobnicate", `puguh: unknown command "frobnicate"; run 'puguh help'`},
		{"help keys spin", `puguh keys: unknown command "spin"; run 'puguh help keys'`},
		{"keys", `puguh keys: missing command: one of list, rotate; run 'puguh help keys'`},
		{"keys spin", `puguh keys: unknown command "spin"; run 'puguh help keys'`},
		{"keys --force", `puguh keys: unknown flag --force (keys takes a command first); run 'puguh help keys'`},
		{"keys rotate --bogus", `puguh keys rotate: unknown flag --bogus; run 'puguh help keys rotate'`},
		{"keys rotate -f", `puguh keys rotate: unknown flag -f; run 'puguh help keys rotate'`},
		{"keys rotate --force=maybe", `puguh keys rotate: invalid value "maybe" for --force: parse error; run 'puguh help keys rotate'`},
		{"keys list --force", `puguh keys list: unknown flag --force; run 'puguh help keys list'`},
		{"serve --port=9", `puguh serve: unknown flag --port; run 'puguh help serve'`},
		{"serve now", `puguh serve: unexpected argument "now"; run 'puguh help serve'`},
		{"version 2", `puguh version: unexpected argument "2"; run 'puguh help version'`},
		{"clients create --name x", `puguh clients create: missing --org; run 'puguh help clients create'`},
		{"clients create --org", `puguh clients create: flag --org needs a value; run 'puguh help clients create'`},
		{"orgs set-plan org pro --limit 1e3", `puguh orgs set-plan: invalid value "1e3" for --limit: parse error; run 'puguh help orgs set-plan'`},
		{"orgs set-plan", `puguh orgs set-plan: missing ORG_ID PLAN; run 'puguh help orgs set-plan'`},
		{"users disable", `puguh users disable: missing USER; run 'puguh help users disable'`},
		{"healthcheck --timeout=-1s", `puguh healthcheck: --timeout must be positive; run 'puguh help healthcheck'`},
	} {
		t.Run(tc.args, func(t *testing.T) {
			code, out, errOut := runCmd(t, env, strings.Fields(tc.args)...)
			if code != 2 || out != "" || errOut != tc.want+"\n" {
				t.Fatalf("got %d %q %q\nwant 2 and %q", code, out, errOut, tc.want+"\n")
			}
		})
	}
}

// Flags and positional arguments mix in any order, and "--" ends the flags.
func TestParseFlagsInterspersed(t *testing.T) {
	for _, tc := range []struct {
		args  string
		limit int
		pos   string
	}{
		{"org pro", 0, "org pro"},
		{"--limit 5 org enterprise", 5, "org enterprise"},
		{"org --limit=5 enterprise", 5, "org enterprise"},
		{"org enterprise --limit 5", 5, "org enterprise"},
		{"--limit 5 -- --org enterprise", 5, "--org enterprise"},
	} {
		t.Run(tc.args, func(t *testing.T) {
			fs := newFlagSet("t")
			limit := fs.Int("limit", 0, "")
			pos, err := parseFlags(fs, strings.Fields(tc.args))
			if err != nil || *limit != tc.limit || strings.Join(pos, " ") != tc.pos {
				t.Fatalf("got %d %q %v, want %d %q", *limit, pos, err, tc.limit, tc.pos)
			}
		})
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
