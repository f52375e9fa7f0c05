package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/arsaka/puguh/storage/sqlstore"
)

var migrateCommand = &command{
	name:    "migrate",
	summary: "manage the database schema",
	about:   "`puguh serve` applies pending migrations itself; these commands do it, or show it, on their own.",
	subs: []*command{
		{
			name:    "up",
			summary: "apply pending database migrations",
			about:   "Each migration runs in its own transaction; on PostgreSQL replicas that migrate at once take turns.",
			setup: func(*flag.FlagSet) action {
				return func(ctx context.Context, in *invocation, _ []string) error {
					cfg, _, err := in.config()
					if err != nil {
						return err
					}
					if err := cfg.EnsureDataDir(); err != nil {
						return err
					}
					store, err := sqlstore.Open(ctx, cfg.DatabaseURL)
					if err != nil {
						return fmt.Errorf("open database: %w", err)
					}
					defer store.Close()
					n, err := store.Migrate(ctx)
					if err != nil {
						return err
					}
					fmt.Fprintf(in.stdout, "applied %d migration(s)\n", n)
					return nil
				}
			},
		},
		{
			name:    "status",
			summary: "list migrations and when each was applied",
			about: `It only reads: a SQLite file that does not exist yet is not created (every migration is then
pending), and nothing is written to PostgreSQL.`,
			setup: func(*flag.FlagSet) action {
				return func(ctx context.Context, in *invocation, _ []string) error {
					cfg, _, err := in.config()
					if err != nil {
						return err
					}
					if _, err := os.Stat(cfg.DataDir); cfg.DatabaseInDataDir() && errors.Is(err, fs.ErrNotExist) {
						// Not even the data directory yet.
						return noDatabaseStatus(in.stdout, fmt.Errorf("%w at %s", sqlstore.ErrNoDatabase, filepath.Join(cfg.DataDir, "puguh.db")))
					}
					store, err := sqlstore.OpenReadOnly(ctx, cfg.DatabaseURL)
					if errors.Is(err, sqlstore.ErrNoDatabase) {
						return noDatabaseStatus(in.stdout, err)
					}
					if err != nil {
						return fmt.Errorf("open database: %w", err)
					}
					defer store.Close()
					ms, err := store.Migrations(ctx)
					if err != nil {
						return err
					}
					return writeMigrations(in.stdout, ms)
				}
			},
		},
	},
}

func writeMigrations(w io.Writer, ms []sqlstore.Migration) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tNAME\tAPPLIED")
	for _, m := range ms {
		applied := "pending"
		if m.AppliedAt != nil {
			applied = m.AppliedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%04d\t%s\t%s\n", m.Version, m.Name, applied)
	}
	return tw.Flush()
}

// noDatabaseStatus is `migrate status` before the SQLite file exists: every
// migration pending, and a line saying so.
func noDatabaseStatus(w io.Writer, missing error) error {
	ms, err := sqlstore.EmbeddedMigrations(sqlstore.SQLite)
	if err != nil {
		return err
	}
	if err := writeMigrations(w, ms); err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "(%s yet: `puguh migrate up` or `puguh serve` creates it)\n", missing)
	return err
}
