package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/arsaka/puguh/cmd/puguh/app"
	"github.com/arsaka/puguh/cmd/puguh/config"
	"github.com/arsaka/puguh/keys"
)

var keysCommand = &command{
	name:    "keys",
	summary: "list and rotate the signing keys",
	about: `They use the same database and PUGUH_SECRET as the server; running servers pick a rotation up within
5 s, without a restart (docs/keys.md).`,
	subs: []*command{
		{
			name:    "list",
			summary: "list signing keys and their states",
			setup: func(*flag.FlagSet) action {
				return func(ctx context.Context, in *invocation, _ []string) error {
					return withKeys(ctx, in, func(m *keys.Manager) error { return listKeys(ctx, m, in.stdout) })
				}
			},
		},
		{
			name:    "rotate",
			summary: "promote the next signing key, then list the keys",
			usage:   "[--force] [--algorithm RS256|ES256|EdDSA]",
			about: `Refused while resource servers may not have fetched the next key yet (it has been published for less
than the JWKS cache lifetime), unless --force: for a compromised key, at the price of tokens that some
verifiers reject until they refetch the JWKS. Every algorithm in PUGUH_SIGNING_ALGORITHMS has a chain of its own;
--algorithm picks the chain (default RS256; docs/signing-algorithms.md).`,
			setup: func(fs *flag.FlagSet) action {
				force := fs.Bool("force", false, "rotate now even if resource servers may not have the next key yet (a compromised key)")
				alg := fs.String("algorithm", keys.AlgRS256, "the chain of keys to rotate: RS256, ES256 or EdDSA (an enabled one)")
				return func(ctx context.Context, in *invocation, _ []string) error {
					return withKeys(ctx, in, func(m *keys.Manager) error {
						rot, err := m.RotateAlgorithm(ctx, *alg, *force)
						if err != nil {
							return err
						}
						fmt.Fprintf(in.stdout, "rotated: %s now signs; %s retired (published until %s); %s is the next key\n",
							rot.ActiveKID, orNone(rot.RetiredKID), rot.RetiredRemoveAfter.UTC().Format(time.RFC3339), rot.NextKID)
						return listKeys(ctx, m, in.stdout)
					})
				}
			},
		},
	},
}

// withKeys runs fn with the key manager of the configured database.
func withKeys(ctx context.Context, in *invocation, fn func(*keys.Manager) error) error {
	cfg, log, err := in.config()
	if err != nil {
		return err
	}
	a, err := openApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	return fn(a.Keys())
}

func listKeys(ctx context.Context, m *keys.Manager, stdout io.Writer) error {
	list, err := m.List(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tSTATE\tALG\tCREATED\tACTIVATED\tRETIRED\tREMOVE AFTER")
	for _, k := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.KID, k.State, k.Algorithm, stamp(&k.CreatedAt), stamp(k.ActivatedAt), stamp(k.RetiredAt), stamp(k.RemoveAfter))
	}
	return tw.Flush()
}

// openApp builds the app the way serve does, for commands that use its parts.
func openApp(ctx context.Context, cfg *config.Config, log *slog.Logger) (*app.App, error) {
	if _, err := cfg.EnsureSecret(); err != nil {
		return nil, err
	}
	return app.New(ctx, cfg, log)
}

func stamp(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
