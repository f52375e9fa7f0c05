// Command puguh is the Puguh identity provider: `puguh serve` runs it,
// `puguh migrate` manages its schema, `puguh version` says which build it is.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/arsaka/puguh/cmd/puguh/config"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = "dev"

const usage = `usage: puguh [command]

commands:
  serve              run the server (the default)
  migrate up         apply pending database migrations
  migrate status     list migrations and when they were applied
  keys list          list signing keys and their states
  keys rotate        promote the next signing key (--force for a compromised key)
  clients create     register an OAuth application (see puguh clients --help)
  clients list       list an organization's OAuth applications
  orgs set-plan      set an organization's plan: free, pro, business or enterprise --limit N
  users disable      disable a user by email, ending their sessions and tokens (users enable: undo)
  secret generate    print a new PUGUH_SECRET (--env-file .env: write it there once)
  healthcheck        exit 0 if this host's server is ready (GET /readyz on PUGUH_ADMIN_ADDR)
  version            print the version

Configuration comes from PUGUH_* environment variables; see README.md.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is main without the process: tests call it directly.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	if cmd == "version" || cmd == "--version" {
		fmt.Fprintln(stdout, "puguh", buildVersion())
		return 0
	}
	if cmd == "help" || cmd == "-h" || cmd == "--help" {
		fmt.Fprint(stdout, usage)
		return 0
	}
	if cmdFn, ok := standaloneCommands[cmd]; ok {
		return cmdFn(ctx, args, getenv, stdout, stderr)
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	log := newLogger(cfg, stderr)
	switch cmd {
	case "serve":
		err = serve(ctx, cfg, log, args)
	case "migrate":
		err = migrate(ctx, cfg, args, stdout)
	case "keys":
		err = keysCommand(ctx, cfg, log, args, stdout)
	default:
		if cmdFn, ok := extraCommands[cmd]; ok {
			err = cmdFn(ctx, cfg, log, args, stdout)
			break
		}
		fmt.Fprintf(stderr, "puguh: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, "puguh:", err)
		return 1
	}
	return 0
}

// commandFunc is a subcommand; files such as clients.go and orgs.go register
// theirs in extraCommands from an init function.
type commandFunc func(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string, stdout io.Writer) error

var extraCommands = map[string]commandFunc{}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel)) // validated by config.Load
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func buildVersion() string {
	if version != "dev" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return version
}
