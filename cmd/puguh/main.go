// Command puguh is the Puguh identity provider: `puguh serve` runs it, the
// other commands manage its database, keys, clients and accounts; `puguh
// help` lists them. The command table, parsing and help pages are in
// commands.go and help.go.
package main

import (
	"context"
	"flag"
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

func init() {
	// Filled here rather than in commands' declaration: help's action reads
	// the table, which would make the declaration refer to itself.
	commands = []*command{serveCommand, migrateCommand, keysCommand, clientsCommand, orgsCommand, usersCommand,
		exportCommand, importCommand, secretCommand, healthcheckCommand, helpCommand, versionCommand}
}

var versionCommand = &command{
	name:    "version",
	summary: "print the version",
	about:   "Needs no configuration. `puguh --version` does the same.",
	setup: func(*flag.FlagSet) action {
		return func(_ context.Context, in *invocation, _ []string) error {
			fmt.Fprintln(in.stdout, "puguh", buildVersion())
			return nil
		}
	},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is main without the process: tests call it directly.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	in := &invocation{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	switch {
	case len(args) == 0:
		args = []string{"serve"}
	case args[0] == "--version":
		args = []string{"version"}
	case isHelpFlag(args[0]):
		args = append([]string{"help"}, args[1:]...)
	case len(args[0]) > 1 && args[0][0] == '-':
		return in.fail(usagef("unknown flag %s (flags follow the command)", args[0]))
	}
	return execute(ctx, in, args)
}

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
