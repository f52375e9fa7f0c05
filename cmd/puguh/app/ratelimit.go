package app

import (
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/provider/ratelimit"
	"github.com/arsaka/puguh/provider/rest"
)

// Per-client-IP limits of the unauthenticated endpoints (docs/rate-limits.md).
// Sign-in and sign-up are where guessing and account farming happen; the
// token endpoint serves client backends that redeem codes for many users from
// one address, so its budget is ten times larger. The authorization endpoint
// stores a pending request for every browser it sends to sign in; a sign-in
// passes it two or three times, so 300 a minute lets a whole office behind
// one address sign in while bounding what one client can make it store.
var (
	signInPerIP    = httpapi.IPPolicy{Name: "signin", Limit: ratelimit.PerMinute(60)}
	registerPerIP  = httpapi.IPPolicy{Name: "register", Limit: ratelimit.PerMinute(60)}
	tokenPerIP     = httpapi.IPPolicy{Name: "token", Limit: ratelimit.PerMinute(600)}
	authorizePerIP = ratelimit.PerMinute(300)
)

// rateLimits are the limiters, built once in build.
type rateLimits struct {
	ips      *httpapi.IPLimits
	accounts *ratelimit.Accounts
}

// buildRateLimits wires the limiters on one store — Redis with a local
// fallback when PUGUH_REDIS_URL is set, else in process — and installs the
// per-organization limiter in the Authenticator, which runs it right after
// authenticating every REST request.
func (a *App) buildRateLimits(now func() time.Time) *rateLimits {
	var store ratelimit.Store = ratelimit.NewMemory(now)
	if a.redis != nil {
		store = ratelimit.NewFallback(ratelimit.NewRedis(a.redis, a.cfg.RateLimitNamespace), store,
			a.log, ratelimit.NewMetrics(a.registry), now)
	}
	a.authn.SetLimiter(ratelimit.NewOrganizations(store, ratelimit.NewPlans(a.store, now)))
	// Browsers open /oauth/authorize: its refusal is a page, not JSON.
	authorize := httpapi.IPPolicy{Name: "authorize", Limit: authorizePerIP, Refuse: a.refuseAuthorize}
	return &rateLimits{
		ips: httpapi.NewIPLimits(store, httpapi.NewClientIP(a.cfg.TrustedProxies), map[string]httpapi.IPPolicy{
			"POST /api/v1/auth/login":    signInPerIP,
			"POST /login":                signInPerIP,
			"POST /api/v1/auth/register": registerPerIP,
			"POST /signup":               registerPerIP,
			"POST /oauth/token":          tokenPerIP,
			"GET /oauth/authorize":       authorize,
			"POST /oauth/authorize":      authorize,
		}, now),
		accounts: ratelimit.NewAccounts(store, ratelimit.AccountLimit),
	}
}

// rateLimit mounts the plan API and wraps the router with the per-IP limits.
func (a *App) rateLimit(r *mux.Router) http.Handler {
	(&rest.PlanAPI{Store: a.users, Auth: a.authn, Operators: a.cfg.PlatformOperators, MaxBody: a.cfg.MaxBodyBytes}).Mount(r)
	return a.limits.ips.Wrap(r)
}

// refuseAuthorize is the 429 of /oauth/authorize: the error page, which the
// pages mounted by routes render (Retry-After is already set).
func (a *App) refuseAuthorize(w http.ResponseWriter, r *http.Request, retryAfter int) {
	a.pages.RenderError(w, r, http.StatusTooManyRequests, "Too many requests",
		fmt.Sprintf("Too many sign-in requests came from your network. Try again in %d seconds.", retryAfter), "", "")
}
