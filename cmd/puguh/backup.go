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
	"strings"
	"time"

	"github.com/arsaka/puguh/cmd/puguh/config"
	"github.com/arsaka/puguh/keys"
	"github.com/arsaka/puguh/storage/sqlstore"
)

// exportCommand is `puguh export [-o FILE]`: the whole database as JSON
// lines (storage/sqlstore/dump.go), for backups and for moving from the
// embedded SQLite to PostgreSQL with `puguh import`.
var exportCommand = &command{
	name:    "export",
	summary: "write the whole database as JSON lines, to stdout or a file (secrets stay hashed or sealed)",
	usage:   "[-o FILE]",
	about: `Users (with password hashes), organizations, members, service accounts, API keys and application
secrets (hashes), signing keys (sealed under PUGUH_SECRET: the importing side needs the same secret),
consent, sessions, refresh tokens, the denylist of revoked tokens: everything, read in one read-only
transaction, so a running Puguh can be exported. Nothing in it is in clear, but it holds what the database
holds: password hashes that can be attacked offline, and keys anyone with PUGUH_SECRET can open. Keep it as
you keep the database.
The database must be at this Puguh's schema version. See docs/deploy.md, "Moving from SQLite to PostgreSQL".`,
	setup: func(fs *flag.FlagSet) action {
		out := fs.String("o", "", "write to `FILE` (mode 0600, replaced only once complete) instead of stdout")
		return func(ctx context.Context, in *invocation, _ []string) error {
			cfg, _, err := in.config()
			if err != nil {
				return err
			}
			return exportDatabase(ctx, cfg, *out, in.stdout)
		}
	},
}

// importCommand is `puguh import [--force] [FILE]`.
var importCommand = &command{
	name:    "import",
	summary: "load an export into an empty database (--force: replace everything in it)",
	usage:   "[--force] [FILE]",
	optArg:  "FILE",
	about: `Reads an export from FILE, or stdin without one (or with -). The database is migrated first, then
every row is written in one transaction: anything wrong in the input (not an export, a newer format,
another schema version, a damaged or truncated file, a signing key PUGUH_SECRET cannot open) refuses the
whole import and the rows stay as they were. A database that holds any row is refused unless --force,
which replaces all of it with the export's rows; importing the same export again with --force gives the
same database. PUGUH_SECRET must be the exporting Puguh's. Stop every Puguh on the database first.`,
	setup: func(fs *flag.FlagSet) action {
		force := fs.Bool("force", false, "replace every row of a database that is not empty")
		return func(ctx context.Context, in *invocation, args []string) error {
			cfg, _, err := in.config()
			if err != nil {
				return err
			}
			src, name := in.stdin, "stdin"
			if len(args) == 1 && args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return fmt.Errorf("import: %w", err)
				}
				defer f.Close()
				src, name = f, args[0]
			}
			return importDatabase(ctx, cfg, src, name, *force, in.stdout)
		}
	},
}

func exportDatabase(ctx context.Context, cfg *config.Config, path string, stdout io.Writer) error {
	if _, err := os.Stat(cfg.DataDir); cfg.DatabaseInDataDir() && errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("export: no database at %s: nothing to export", filepath.Join(cfg.DataDir, "puguh.db"))
	}
	store, err := sqlstore.OpenReadOnly(ctx, cfg.DatabaseURL)
	if errors.Is(err, sqlstore.ErrNoDatabase) {
		return fmt.Errorf("export: %w: nothing to export", err)
	}
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer store.Close()
	if path == "" {
		_, err := store.Export(ctx, stdout, time.Now())
		return err
	}
	// Written beside the target and renamed once complete: a failed export
	// never leaves a partial file under the name.
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	counts, err := store.Export(ctx, tmp, time.Now())
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	fmt.Fprintf(stdout, "exported %d rows to %s: %s\n", counts.Rows, path, describeCounts(counts))
	return nil
}

func importDatabase(ctx context.Context, cfg *config.Config, src io.Reader, name string, force bool, stdout io.Writer) error {
	found, err := cfg.ReadSecret()
	if err != nil {
		return err
	}
	if !found {
		// A generated secret could not open the export's signing keys.
		return errors.New("import: PUGUH_SECRET is not set: set it to the PUGUH_SECRET of the Puguh that made the export (its signing keys are sealed with it)")
	}
	check, err := keys.SealCheck(cfg.Secret)
	if err != nil {
		return err
	}
	er, err := sqlstore.NewExportReader(src)
	if err != nil {
		return fmt.Errorf("import: %s: %w", name, err)
	}
	if err := cfg.EnsureDataDir(); err != nil {
		return err
	}
	store, err := sqlstore.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer store.Close()
	if _, err := store.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate database: %w", err)
	}
	counts, err := store.Import(ctx, er, sqlstore.ImportOptions{
		Replace: force,
		CheckSigningKey: func(kid string, sealed []byte) error {
			if err := check(kid, sealed); errors.Is(err, keys.ErrWrongSecret) {
				return errors.New("cannot be decrypted with this PUGUH_SECRET: set the PUGUH_SECRET of the Puguh that made the export")
			} else if err != nil {
				return err
			}
			return nil
		},
	})
	if errors.Is(err, sqlstore.ErrNotEmpty) {
		return fmt.Errorf("import: %w; import into an empty database, or pass --force to replace everything in it", err)
	}
	if err != nil {
		return fmt.Errorf("import: %s: %w", name, err)
	}
	fmt.Fprintf(stdout, "imported %d rows into %s: %s\n", counts.Rows, store.Dialect(), describeCounts(counts))
	return nil
}

// describeCounts lists the tables that have rows, in export order.
func describeCounts(c sqlstore.ExportCounts) string {
	var parts []string
	for _, t := range sqlstore.ExportTables() {
		if n := c.Tables[t]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", t, n))
		}
	}
	if len(parts) == 0 {
		return "no rows"
	}
	return strings.Join(parts, ", ")
}
