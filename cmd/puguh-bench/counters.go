package main

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// backendCounters reads how much work the database and Redis did, for the
// capacity model (-count): PostgreSQL's committed and rolled-back
// transactions (pg_stat_database; every statement outside an explicit
// transaction is one) and Redis's processed commands (INFO stats). They are
// read with psql and redis-cli, so the harness needs no database drivers.
type backendCounters struct {
	databaseURL, redisURL string
}

// stats flush: a PostgreSQL backend reports its counters at most once a
// second while busy and within 10 s once idle (PostgreSQL 15).
const pgStatsFlush = 11 * time.Second

func (b backendCounters) read(ctx context.Context) (xacts, commands int64, err error) {
	if b.databaseURL != "" {
		out, err := exec.CommandContext(ctx, "psql", b.databaseURL, "-Atc",
			"SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()").Output()
		if err != nil {
			return 0, 0, fmt.Errorf("psql: %w", err)
		}
		if xacts, err = strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64); err != nil {
			return 0, 0, fmt.Errorf("psql: %q: %w", out, err)
		}
	}
	if b.redisURL != "" {
		out, err := exec.CommandContext(ctx, "redis-cli", "-u", b.redisURL, "INFO", "stats").Output()
		if err != nil {
			return 0, 0, fmt.Errorf("redis-cli: %w", err)
		}
		for _, line := range strings.Split(string(out), "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "total_commands_processed:"); ok {
				commands, _ = strconv.ParseInt(v, 10, 64)
			}
		}
	}
	return xacts, commands, nil
}
