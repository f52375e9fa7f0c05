package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/arsaka/puguh/provider/ratelimit"
	"github.com/arsaka/puguh/storage"
	"github.com/arsaka/puguh/storage/cached"
)

var orgsCommand = &command{
	name:    "orgs",
	summary: "manage organizations",
	subs: []*command{
		{
			name:    "set-plan",
			summary: "set an organization's plan: free, pro, business, or enterprise with --limit",
			usage:   "ORG_ID free|pro|business|enterprise [--limit REQUESTS_PER_MINUTE]",
			about: `The operator's side of PATCH /api/v1/organizations/{id}/plan. It writes the database only; every
running replica applies the new limit within 5 s, at once with Redis (docs/rate-limits.md).`,
			args: []string{"ORG_ID", "PLAN"},
			setup: func(fs *flag.FlagSet) action {
				limit := fs.Int("limit", 0, "the enterprise plan's rate limit in `REQUESTS_PER_MINUTE` (required with it, refused with the others)")
				return func(ctx context.Context, in *invocation, args []string) error {
					return setPlan(ctx, in, args[0], args[1], *limit)
				}
			},
		},
		connectCommand,
		connectionsCommand,
		disconnectCommand,
	},
}

// setPlan is `puguh orgs set-plan ORG_ID PLAN [--limit N]`.
func setPlan(ctx context.Context, in *invocation, orgArg, plan string, limit int) error {
	orgID, plan := strings.ToLower(orgArg), strings.ToLower(plan)
	if err := ratelimit.ValidPlan(plan, limit); err != nil {
		return err
	}
	cfg, log, err := in.config()
	if err != nil {
		return err
	}
	a, err := openApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	store := a.Store()
	if err := store.SetPlan(ctx, orgID, plan, limit); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("no organization %s", orgID)
		}
		return err
	}
	org, err := store.OrganizationByID(ctx, orgID)
	if err != nil {
		return err
	}
	fmt.Fprintf(in.stdout, "organization %s: plan %s, %d requests per minute (every replica applies it within %s)\n",
		org.ID, org.Plan, ratelimit.PlanLimit(org), cached.OrganizationTTL)
	return nil
}
