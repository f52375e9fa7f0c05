package main

import (
	"context"
	"io"
)

// standaloneFunc is a subcommand that runs without the server's
// configuration: config.Load demands a secret and a reachable database that
// `puguh secret generate` (run before there is a secret) and `puguh
// healthcheck` (run by the container engine every few seconds) never use.
// It returns the process's exit code itself.
type standaloneFunc func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int

// standaloneCommands are run before config.Load; secret.go and
// healthcheck.go register theirs from an init function.
var standaloneCommands = map[string]standaloneFunc{}
