package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"

	"github.com/arsaka/puguh/cmd/puguh/config"
	"github.com/arsaka/puguh/storage/sqlstore"
)

// command is one row of the command table: a leaf that runs, or a group of
// subcommands (keys list, keys rotate). Parsing, usage errors and help pages
// are written once, in this file, from the table: a command added to it gets
// `puguh help CMD`, `--help` and one-line errors for unknown flags with no
// code of its own.
type command struct {
	name    string // one word: "keys", "rotate"
	summary string // one line in `puguh help`, starting in lower case
	// usage is the synopsis after "puguh <path>": positional arguments and
	// flags, e.g. "ORG_ID PLAN [--limit N]". Empty: the command takes none.
	usage string
	// about is the help page's text between the synopsis and the flags.
	about string
	// args names the required positional arguments, optArg an optional one
	// after them; anything beyond is a usage error unless anyArgs.
	args    []string
	optArg  string
	anyArgs bool
	// setup defines the command's flags on fs and returns what runs once
	// they are parsed. Groups have subs instead.
	setup func(fs *flag.FlagSet) action
	subs  []*command
}

// action runs a parsed command with its positional arguments. A usageError
// exits 2 with a pointer to the help page; an exitCode exits quietly with
// its code (the command has said why already); a config failure exits 2 with
// its one line; anything else exits 1 as "puguh: <error>".
type action func(ctx context.Context, in *invocation, args []string) error

// invocation is what a running command may use of the process.
type invocation struct {
	path   string // the command's words, "keys rotate"
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer

	cfg *config.Config
	log *slog.Logger
}

// config loads the configuration on first use: commands such as `secret
// generate` and `healthcheck` never ask, so a configuration they do not need
// cannot stop them.
func (in *invocation) config() (*config.Config, *slog.Logger, error) {
	if in.cfg == nil {
		cfg, err := config.Load(in.getenv)
		if err != nil {
			return nil, nil, configFailure{err}
		}
		// Every command that reads the configuration opens the database:
		// a SQLite path in a directory that does not exist is refused now,
		// before a secret is generated or anything else written. (The data
		// directory is Puguh's own; it is created when needed.)
		if !cfg.DatabaseInDataDir() {
			if _, _, err := sqlstore.ParseDatabaseURL(cfg.DatabaseURL); err != nil {
				return nil, nil, configFailure{&config.Error{Var: "PUGUH_DATABASE_URL", Msg: err.Error()}}
			}
		}
		in.cfg, in.log = cfg, newLogger(cfg, in.stderr)
	}
	return in.cfg, in.log, nil
}

// usageError is a command line that does not fit the command: an unknown
// command or flag, a bad flag value, a missing or extra argument.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

// exitCode ends the process with a code once the command has reported why.
type exitCode int

func (c exitCode) Error() string { return fmt.Sprintf("exit status %d", int(c)) }

// configFailure is an invalid configuration: its own line, exit 2.
type configFailure struct{ err error }

func (c configFailure) Error() string { return c.err.Error() }
func (c configFailure) Unwrap() error { return c.err }

// commands is the table; main.go fills it in order from the command files'
// variables, so `puguh help` lists them in a stable order.
var commands []*command

// find returns the command at path and the arguments after it. A group
// followed by a word that is not one of its subcommands is an error.
func find(args []string) (cmd *command, path []string, rest []string, err error) {
	list := commands
	for {
		if len(args) == 0 || strings.HasPrefix(args[0], "-") {
			if cmd == nil {
				return nil, nil, nil, usagef("missing command")
			}
			return cmd, path, args, nil
		}
		var next *command
		for _, c := range list {
			if c.name == args[0] {
				next = c
			}
		}
		if next == nil {
			if cmd != nil && cmd.subs == nil {
				return cmd, path, args, nil // a leaf's positional arguments
			}
			return cmd, path, nil, usagef("unknown command %q", args[0])
		}
		cmd, path, args, list = next, append(path, args[0]), args[1:], next.subs
	}
}

// execute runs args (without the program name) and returns the exit code.
func execute(ctx context.Context, in *invocation, args []string) int {
	cmd, path, rest, err := find(args)
	in.path = strings.Join(path, " ")
	if err != nil {
		return in.fail(err)
	}
	if cmd.subs != nil {
		if len(rest) > 0 && isHelpFlag(rest[0]) {
			writeHelp(in.stdout, cmd, in.path)
			return 0
		}
		if len(rest) > 0 {
			return in.fail(usagef("unknown flag %s (%s takes a command first)", rest[0], in.path))
		}
		return in.fail(usagef("missing command: one of %s", strings.Join(names(cmd.subs), ", ")))
	}
	fs := newFlagSet(in.path)
	run := cmd.setup(fs)
	pos, err := parseFlags(fs, rest)
	if errors.Is(err, flag.ErrHelp) {
		writeHelp(in.stdout, cmd, in.path)
		return 0
	}
	if err == nil {
		err = checkArgs(cmd, pos)
	}
	if err == nil {
		err = run(ctx, in, pos)
	}
	return in.fail(err)
}

// fail reports err and returns the exit code for it (0 for nil).
func (in *invocation) fail(err error) int {
	var usage usageError
	var code exitCode
	var cfgErr configFailure
	switch {
	case err == nil:
		return 0
	case errors.As(err, &usage):
		name := "puguh"
		if in.path != "" {
			name += " " + in.path
		}
		fmt.Fprintf(in.stderr, "%s: %s; run '%s'\n", name, usage.msg, strings.TrimSpace("puguh help "+in.path))
		return 2
	case errors.As(err, &code):
		return int(code)
	case errors.As(err, &cfgErr):
		fmt.Fprintln(in.stderr, cfgErr.err)
		return 2
	default:
		fmt.Fprintln(in.stderr, "puguh:", err)
		return 1
	}
}

func isHelpFlag(arg string) bool {
	switch arg {
	case "-h", "--h", "-help", "--help":
		return true
	}
	return false
}

func names(cmds []*command) []string {
	out := make([]string, len(cmds))
	for i, c := range cmds {
		out[i] = c.name
	}
	return out
}

func newFlagSet(path string) *flag.FlagSet {
	fs := flag.NewFlagSet(path, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported once, by fail; help by writeHelp
	fs.Usage = func() {}
	return fs
}

// parseFlags parses flags and positional arguments in any order
// ("orgs set-plan ORG pro --limit 5" and "orgs set-plan --limit 5 ORG pro");
// after "--" everything is positional.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{flagMessage(err)}
		}
		left := fs.Args()
		if consumed := len(args) - len(left); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, left...), nil
		}
		if len(left) == 0 {
			return pos, nil
		}
		pos, args = append(pos, left[0]), left[1:]
	}
}

var (
	flagUndefined = regexp.MustCompile(`^flag provided but not defined: -(.*)$`)
	flagNoValue   = regexp.MustCompile(`^flag needs an argument: -(.*)$`)
	flagBadValue  = regexp.MustCompile(`^invalid (?:boolean )?value (".*") for (?:flag )?-([^:]*): (.*)$`)
)

// flagMessage rewords the flag package's errors in the --name form the help
// pages use.
func flagMessage(err error) string {
	msg := err.Error()
	if m := flagUndefined.FindStringSubmatch(msg); m != nil {
		return "unknown flag " + dashed(m[1])
	}
	if m := flagNoValue.FindStringSubmatch(msg); m != nil {
		return "flag " + dashed(m[1]) + " needs a value"
	}
	if m := flagBadValue.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("invalid value %s for %s: %s", m[1], dashed(m[2]), m[3])
	}
	return msg
}

func dashed(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// checkArgs holds the positional arguments to the command's args and optArg.
func checkArgs(cmd *command, pos []string) error {
	if len(pos) < len(cmd.args) {
		return usagef("missing %s", strings.Join(cmd.args[len(pos):], " "))
	}
	max := len(cmd.args)
	if cmd.optArg != "" {
		max++
	}
	if len(pos) > max && !cmd.anyArgs {
		return usagef("unexpected argument %q", pos[max])
	}
	return nil
}
