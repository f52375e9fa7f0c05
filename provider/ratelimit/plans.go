package ratelimit

import (
	"context"
	"errors"
	"fmt"

	"github.com/arsaka/puguh/storage"
)

// planLimits are requests per minute per organization (the API guide's "Rate Limiting" table).
// Enterprise takes the organization's own RateLimit.
var planLimits = map[string]int{
	storage.PlanFree:     60,
	storage.PlanPro:      300,
	storage.PlanBusiness: 1000,
}

// PlanLimit is the requests per minute org may make. An unknown plan, or an
// enterprise plan without a positive RateLimit, gets the free plan's limit:
// a bad row must not lift the limit.
func PlanLimit(org *storage.Organization) int {
	if org.Plan == storage.PlanEnterprise && org.RateLimit > 0 {
		return org.RateLimit
	}
	if n, ok := planLimits[org.Plan]; ok {
		return n
	}
	return planLimits[storage.PlanFree]
}

// ValidPlan reports whether plan with rateLimit can be stored: enterprise
// needs a positive custom limit, the other plans none.
func ValidPlan(plan string, rateLimit int) error {
	if plan == storage.PlanEnterprise {
		if rateLimit < 1 || rateLimit > 1_000_000 {
			return errors.New("the enterprise plan needs a rate limit between 1 and 1000000 requests per minute")
		}
		return nil
	}
	if _, ok := planLimits[plan]; !ok {
		return fmt.Errorf("unknown plan %q (free, pro, business or enterprise)", plan)
	}
	if rateLimit != 0 {
		return fmt.Errorf("only the enterprise plan takes a custom rate limit")
	}
	return nil
}

// OrganizationLookup reads an organization's plan; hand it the cached store,
// whose organization cache bounds how long a plan change takes to apply
// (cached.OrganizationTTL without Redis, milliseconds with it).
type OrganizationLookup interface {
	OrganizationByID(ctx context.Context, id string) (*storage.Organization, error)
}

// Plans reads each organization's requests-per-minute figure.
type Plans struct {
	store OrganizationLookup
}

// NewPlans returns the plan lookup over store.
func NewPlans(store OrganizationLookup) *Plans { return &Plans{store: store} }

// PerMinute returns orgID's limit in requests per minute.
func (p *Plans) PerMinute(ctx context.Context, orgID string) (int, error) {
	org, err := p.store.OrganizationByID(ctx, orgID)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		// Authentication found the organization a moment ago; if it is gone
		// now, the request is about to fail anyway. Count it as free.
		return planLimits[storage.PlanFree], nil
	case err != nil:
		return 0, fmt.Errorf("ratelimit: plan of %s: %w", orgID, err)
	}
	return PlanLimit(org), nil
}

// Organizations is the per-organization limit of authenticated REST
// requests: the authentication middleware takes one request from the
// budget of the organization every authenticated request acts in.
type Organizations struct {
	store Store
	plans *Plans
}

// NewOrganizations returns the per-organization limiter.
func NewOrganizations(store Store, plans *Plans) *Organizations {
	return &Organizations{store: store, plans: plans}
}

// Take takes one request from orgID's budget and reports the decision.
func (o *Organizations) Take(ctx context.Context, orgID string) (Result, error) {
	perMinute, err := o.plans.PerMinute(ctx, orgID)
	if err != nil {
		return Result{}, err
	}
	return o.store.Allow(ctx, "org:"+orgID, PerMinute(perMinute))
}
