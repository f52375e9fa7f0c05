package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

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

// OrganizationLookup reads an organization's plan.
type OrganizationLookup interface {
	OrganizationByID(ctx context.Context, id string) (*storage.Organization, error)
}

// PlanCacheTTL bounds how stale a plan may be: a plan change takes effect on
// every replica within this long, with no fan-out needed.
const PlanCacheTTL = 5 * time.Second

// Plans caches each organization's requests-per-minute figure for
// PlanCacheTTL, so the limiter reads the database once per organization every
// few seconds rather than on every request.
type Plans struct {
	store OrganizationLookup
	now   func() time.Time

	mu      sync.RWMutex
	entries map[string]planEntry
}

type planEntry struct {
	perMinute int
	expires   time.Time
}

// maxPlanEntries bounds the cache; past it, expired entries are dropped.
const maxPlanEntries = 100_000

// NewPlans returns an empty cache over store; now is its clock (nil: time.Now).
func NewPlans(store OrganizationLookup, now func() time.Time) *Plans {
	if now == nil {
		now = time.Now
	}
	return &Plans{store: store, now: now, entries: make(map[string]planEntry)}
}

// PerMinute returns orgID's limit in requests per minute.
func (p *Plans) PerMinute(ctx context.Context, orgID string) (int, error) {
	now := p.now()
	p.mu.RLock()
	e, ok := p.entries[orgID]
	p.mu.RUnlock()
	if ok && now.Before(e.expires) {
		return e.perMinute, nil
	}
	org, err := p.store.OrganizationByID(ctx, orgID)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		// Authentication found the organization a moment ago; if it is gone
		// now, the request is about to fail anyway. Count it as free.
		org = &storage.Organization{Plan: storage.PlanFree}
	case err != nil:
		if ok {
			return e.perMinute, nil // the database is failing: a stale figure beats a 503
		}
		return 0, fmt.Errorf("ratelimit: plan of %s: %w", orgID, err)
	}
	e = planEntry{perMinute: PlanLimit(org), expires: now.Add(PlanCacheTTL)}
	p.mu.Lock()
	if len(p.entries) >= maxPlanEntries {
		for k, old := range p.entries {
			if !now.Before(old.expires) {
				delete(p.entries, k)
			}
		}
	}
	p.entries[orgID] = e
	p.mu.Unlock()
	return e.perMinute, nil
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
