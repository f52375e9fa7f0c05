package main

import (
	"context"
	"errors"
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

// keysCommand is `puguh keys list|rotate [--force]`. It opens the same
// database and secret as the server; running servers pick a rotation up
// within the key manager's refresh interval (5 s), without a restart.
func keysCommand(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string, stdout io.Writer) error {
	if len(args) == 0 || (args[0] != "list" && args[0] != "rotate") {
		return errors.New("usage: puguh keys list | puguh keys rotate [--force]")
	}
	fs := flag.NewFlagSet("keys "+args[0], flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	force := fs.Bool("force", false, "rotate now even if resource servers may not have the next key yet (compromised key)")
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 || (*force && args[0] != "rotate") {
		return errors.New("usage: puguh keys list | puguh keys rotate [--force]")
	}
	a, err := openApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	m := a.Keys()
	if args[0] == "rotate" {
		rot, err := m.Rotate(ctx, *force)
		var notReady *keys.NotReadyError
		if errors.As(err, &notReady) {
			return err
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "rotated: %s now signs; %s retired (published until %s); %s is the next key\n",
			rot.ActiveKID, orNone(rot.RetiredKID), rot.RetiredRemoveAfter.UTC().Format(time.RFC3339), rot.NextKID)
	}
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
