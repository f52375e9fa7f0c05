package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/arsaka/puguh/provider/audit"
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

// IPLimits limits what no organization pays for, per client IP: the routes
// of its table (sign-in, sign-up, the authorization endpoint) before their
// handler runs, and every other request under /api/v1 that turns out not to
// be authenticated (LimitAnonymous). Authenticated REST requests are limited
// per organization (LimitOrganization) instead, and the token endpoint per
// client or address (ClientLimits).
type IPLimits struct {
	store     ratelimit.Store
	ips       *ClientIP
	routes    map[string]IPPolicy // "METHOD /path" → policy
	anonymous IPPolicy
	now       func() time.Time
}

// IPLimitsConfig configures IPLimits.
type IPLimitsConfig struct {
	// Routes are limited by their policy before the handler runs
	// ("POST /api/v1/auth/login").
	Routes map[string]IPPolicy
	// Anonymous is the budget of the other /api/v1 requests that carry no
	// valid credentials: 401s, a missing X-Organization-ID, health without
	// credentials, refresh, unknown paths. Its Refuse is not used. A zero
	// Limit turns it off.
	Anonymous IPPolicy
	// Now is the clock of X-RateLimit-Reset; nil: time.Now.
	Now func() time.Time
}

// NewIPLimits returns the per-IP limits of cfg, drawn from store.
func NewIPLimits(store ratelimit.Store, ips *ClientIP, cfg IPLimitsConfig) *IPLimits {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &IPLimits{store: store, ips: ips, routes: cfg.Routes, anonymous: cfg.Anonymous, now: now}
}

// APIPrefix is where the REST API lives: requests under it that authenticate
// nothing draw on the anonymous budget.
const APIPrefix = "/api/v1/"

// Wrap returns next behind the per-IP limits. Routes without a policy pass
// untouched, at the cost of one map lookup; under /api/v1 they carry the
// anonymous budget in their context for LimitAnonymous. Every request
// carries its client's address and User-Agent for the audit events recorded
// while serving it (audit.WithSource).
func (m *IPLimits) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip := ""
		if addr := m.ips.Of(r); addr.IsValid() {
			ip = addr.String()
		}
		r = r.WithContext(audit.WithSource(r.Context(), ip, r.UserAgent()))
		policy, ok := m.routes[r.Method+" "+r.URL.Path]
		if !ok {
			if m.anonymous.Limit.Rate > 0 && (strings.HasPrefix(r.URL.Path, APIPrefix) || r.URL.Path == strings.TrimSuffix(APIPrefix, "/")) {
				r = r.WithContext(context.WithValue(r.Context(), anonymousKey{}, &anonymousBudget{limits: m}))
			}
			next.ServeHTTP(w, r)
			return
		}
		res, err := m.take(w, r, "ip:"+policy.Name+":"+ClientKey(m.ips.Of(r)), policy.Limit)
		if err != nil {
			WriteError(w, r, err)
			return
		}
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

// take takes one request from key's budget and sets the X-RateLimit-*
// headers of the answer.
func (m *IPLimits) take(w http.ResponseWriter, r *http.Request, key string, l ratelimit.Limit) (ratelimit.Result, error) {
	res, err := m.store.Allow(r.Context(), key, l)
	if err != nil {
		return res, err
	}
	SetRateLimitHeaders(w.Header(), res, m.now())
	return res, nil
}

type anonymousKey struct{}

// anonymousBudget is an /api/v1 request's claim on its address's anonymous
// budget, taken at most once.
type anonymousBudget struct {
	limits *IPLimits
	taken  bool
}

// LimitAnonymous takes an /api/v1 request that authenticates nothing (no
// credentials, or bad ones, or no route) from its client IP's anonymous
// budget and sets the X-RateLimit-* headers, so that every REST response
// shows the budget it drew on; it returns the Throttled problem when that is
// spent. Whoever learns that the request is anonymous calls it (the
// authentication middleware, the 404 and 405 handlers). It does nothing
// outside /api/v1, when IPLimits has no anonymous budget, or the second time.
func LimitAnonymous(w http.ResponseWriter, r *http.Request) error {
	b, _ := r.Context().Value(anonymousKey{}).(*anonymousBudget)
	if b == nil || b.taken {
		return nil
	}
	b.taken = true
	m := b.limits
	res, err := m.take(w, r, "ip:"+m.anonymous.Name+":"+ClientKey(m.ips.Of(r)), m.anonymous.Limit)
	if err != nil {
		return err
	}
	if !res.Allowed {
		return ratelimit.Refusal(res)
	}
	return nil
}

// ClientLimits are the token endpoint's budgets: a confidential client that
// authenticated draws on a budget of its own, wherever it calls from (a
// backend redeeming codes for a whole company from one NAT address is one
// client, not one address), and every other request on its client IP's
// (unauthenticated floods, and public clients, whose id anyone may send and
// whose users call from their own addresses).
type ClientLimits struct {
	limits    *IPLimits
	perIP     IPPolicy
	perClient IPPolicy
}

// ClientLimits returns the budgets of an endpoint that authenticates
// clients: perIP keyed by client IP, perClient by client id.
func (m *IPLimits) ClientLimits(perIP, perClient IPPolicy) *ClientLimits {
	return &ClientLimits{limits: m, perIP: perIP, perClient: perClient}
}

// LimitClient takes one request from clientID's budget and sets the
// X-RateLimit-* headers; the Throttled problem when it is spent.
func (c *ClientLimits) LimitClient(w http.ResponseWriter, r *http.Request, clientID string) error {
	return c.limit(w, r, "client:"+c.perClient.Name+":"+clientID, c.perClient.Limit)
}

// LimitAddress takes one request from the client IP's budget and sets the
// X-RateLimit-* headers; the Throttled problem when it is spent.
func (c *ClientLimits) LimitAddress(w http.ResponseWriter, r *http.Request) error {
	return c.limit(w, r, "ip:"+c.perIP.Name+":"+ClientKey(c.limits.ips.Of(r)), c.perIP.Limit)
}

func (c *ClientLimits) limit(w http.ResponseWriter, r *http.Request, key string, l ratelimit.Limit) error {
	res, err := c.limits.take(w, r, key, l)
	if err != nil {
		return err
	}
	if !res.Allowed {
		return ratelimit.Refusal(res)
	}
	return nil
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
