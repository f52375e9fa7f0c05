package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/arsaka/puguh/provider/ratelimit"
)

// IPPolicy is a per-client-IP limit shared by the routes that name it.
type IPPolicy struct {
	Name  string // key component: routes with one Name share one budget
	Limit ratelimit.Limit
	// Refuse answers a refused request after the middleware has set
	// Retry-After (retryAfter seconds) and the X-RateLimit-* headers. Nil:
	// the API's JSON 429 (ratelimit.Refusal). Routes that browsers open use it to
	// answer with a page instead.
	Refuse func(w http.ResponseWriter, r *http.Request, retryAfter int)
}

// IPLimits limits unauthenticated endpoints per client IP. Authenticated
// routes are limited per organization (LimitOrganization) instead.
type IPLimits struct {
	store  ratelimit.Store
	ips    *ClientIP
	routes map[string]IPPolicy // "METHOD /path" → policy
	now    func() time.Time
}

// NewIPLimits limits each route in routes ("POST /api/v1/auth/login") by its policy.
func NewIPLimits(store ratelimit.Store, ips *ClientIP, routes map[string]IPPolicy, now func() time.Time) *IPLimits {
	if now == nil {
		now = time.Now
	}
	return &IPLimits{store: store, ips: ips, routes: routes, now: now}
}

// Wrap returns next behind the per-IP limits. Routes without a policy pass
// untouched, at the cost of one map lookup.
func (m *IPLimits) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		policy, ok := m.routes[r.Method+" "+r.URL.Path]
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		res, err := m.store.Allow(r.Context(), "ip:"+policy.Name+":"+ClientKey(m.ips.Of(r)), policy.Limit)
		if err != nil {
			WriteError(w, r, err)
			return
		}
		SetRateLimitHeaders(w.Header(), res, m.now())
		if !res.Allowed {
			if policy.Refuse != nil {
				secs := ratelimit.RetryAfterSeconds(res)
				w.Header().Set("Retry-After", strconv.Itoa(secs))
				policy.Refuse(w, r, secs)
				return
			}
			WriteError(w, r, ratelimit.Refusal(res))
			return
		}
		// The sign-in throttle (Accounts) keys its strict budget by client IP.
		next.ServeHTTP(w, r.WithContext(ratelimit.WithClientIP(r.Context(), ClientKey(m.ips.Of(r)))))
	})
}

// Response headers (the API guide's "Rate Limiting" section).
const (
	HeaderRateLimit     = "X-RateLimit-Limit"
	HeaderRateRemaining = "X-RateLimit-Remaining"
	HeaderRateReset     = "X-RateLimit-Reset"
)

// SetRateLimitHeaders writes the X-RateLimit-* headers of res.
// X-RateLimit-Reset is the unix second at which the budget is whole again,
// rounded up so that it is always in the future.
func SetRateLimitHeaders(h http.Header, res ratelimit.Result, now time.Time) {
	h.Set(HeaderRateLimit, strconv.Itoa(res.Limit.Burst))
	h.Set(HeaderRateRemaining, strconv.Itoa(max(res.Remaining, 0)))
	reset := now.Add(res.ResetAfter)
	secs := reset.Unix()
	if reset.Nanosecond() > 0 {
		secs++ // round up: never announce a reset before it happens
	}
	h.Set(HeaderRateReset, strconv.FormatInt(max(secs, now.Unix()+1), 10))
}

// OrganizationLimiter takes one request from an organization's budget
// (ratelimit.Organizations).
type OrganizationLimiter interface {
	Take(ctx context.Context, orgID string) (ratelimit.Result, error)
}

// LimitOrganization takes one request from orgID's budget and sets the
// X-RateLimit-* headers on w before the handler runs, so the response carries
// them whatever the handler answers; it returns the Throttled problem when
// the budget is spent.
func LimitOrganization(w http.ResponseWriter, r *http.Request, l OrganizationLimiter, orgID string, now time.Time) error {
	res, err := l.Take(r.Context(), orgID)
	if err != nil {
		return err
	}
	SetRateLimitHeaders(w.Header(), res, now)
	if !res.Allowed {
		return ratelimit.Refusal(res)
	}
	return nil
}
