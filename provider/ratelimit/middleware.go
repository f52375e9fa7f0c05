package ratelimit

import (
	"net/http"
	"strconv"
	"time"

	"github.com/arsaka/puguh/provider/httpapi"
)

// Policy is a per-client-IP limit shared by the routes that name it.
type Policy struct {
	Name  string // key component: routes with one Name share one budget
	Limit Limit
	// Refuse answers a refused request after the middleware has set
	// Retry-After (retryAfter seconds) and the X-RateLimit-* headers. Nil:
	// the API's JSON 429 (Refusal). Routes that browsers open use it to
	// answer with a page instead.
	Refuse func(w http.ResponseWriter, r *http.Request, retryAfter int)
}

// Middleware limits unauthenticated endpoints per client IP. Authenticated
// routes are limited per organization by Organizations instead.
type Middleware struct {
	store  Store
	ips    *ClientIP
	routes map[string]Policy // "METHOD /path" → policy
	now    func() time.Time
}

// NewMiddleware limits each route in routes ("POST /api/v1/auth/login") by its policy.
func NewMiddleware(store Store, ips *ClientIP, routes map[string]Policy, now func() time.Time) *Middleware {
	if now == nil {
		now = time.Now
	}
	return &Middleware{store: store, ips: ips, routes: routes, now: now}
}

// Wrap returns next behind the per-IP limits. Routes without a policy pass
// untouched, at the cost of one map lookup.
func (m *Middleware) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		policy, ok := m.routes[r.Method+" "+r.URL.Path]
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		res, err := m.store.Allow(r.Context(), "ip:"+policy.Name+":"+Key(m.ips.Of(r)), policy.Limit)
		if err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
		SetHeaders(w.Header(), res, m.now())
		if !res.Allowed {
			if policy.Refuse != nil {
				secs := int(ceilSeconds(res.RetryAfter))
				w.Header().Set("Retry-After", strconv.Itoa(secs))
				policy.Refuse(w, r, secs)
				return
			}
			httpapi.WriteError(w, r, Refusal(res))
			return
		}
		// The sign-in throttle (Accounts) keys its strict budget by client IP.
		next.ServeHTTP(w, r.WithContext(withClientIP(r.Context(), Key(m.ips.Of(r)))))
	})
}
