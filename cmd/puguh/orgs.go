package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/arsaka/puguh/cmd/puguh/config"
	"github.com/arsaka/puguh/provider/ratelimit"
	"github.com/arsaka/puguh/storage"
	"github.com/arsaka/puguh/storage/cached"
)

func init() { extraCommands["orgs"] = orgsCommand }

const orgsUsage = "usage: puguh orgs set-plan ORG_ID free|pro|business|enterprise [--limit REQUESTS_PER_MINUTE]"

// orgsCommand is `puguh orgs set-plan ORG_ID PLAN [--limit N]`, the operator's
// side of PATCH /api/v1/organizations/{id}/plan. It writes the database only;
// every running replica applies the new limit within cached.OrganizationTTL
// (at once with Redis).
func orgsCommand(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "set-plan" {
		return errors.New(orgsUsage)
	}
	fs := flag.NewFlagSet("orgs set-plan", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	limit := fs.Int("limit", 0, "requests per minute of the enterprise plan")
	// Flags may come before or after the two arguments.
	if err := fs.Parse(args[1:]); err != nil {
		return errors.New(orgsUsage)
	}
	pos := fs.Args()
	if len(pos) < 2 {
		return errors.New(orgsUsage)
	}
	if err := fs.Parse(pos[2:]); err != nil || fs.NArg() > 0 {
		return errors.New(orgsUsage)
	}
	orgID, plan := strings.ToLower(pos[0]), strings.ToLower(pos[1])
	if err := ratelimit.ValidPlan(plan, *limit); err != nil {
		return err
	}
	a, err := openApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	store := a.Store()
	if err := store.SetPlan(ctx, orgID, plan, *limit); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("no organization %s", orgID)
		}
		return err
	}
	org, err := store.OrganizationByID(ctx, orgID)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "organization %s: plan %s, %d requests per minute (every replica applies it within %s)\n",
		org.ID, org.Plan, ratelimit.PlanLimit(org), cached.OrganizationTTL)
	return nil
}
