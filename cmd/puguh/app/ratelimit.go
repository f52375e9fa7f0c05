package app

import (
	"fmt"
	"net/http"

	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/provider/ratelimit"
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

// ipPolicies are the per-IP budgets by route. Browsers open
// /oauth/authorize, so its refusal is a page, not JSON.
func (a *App) ipPolicies() map[string]httpapi.IPPolicy {
	authorize := httpapi.IPPolicy{Name: "authorize", Limit: authorizePerIP, Refuse: a.refuseAuthorize}
	return map[string]httpapi.IPPolicy{
		"POST /api/v1/auth/login":    signInPerIP,
		"POST /login":                signInPerIP,
		"POST /api/v1/auth/register": registerPerIP,
		"POST /signup":               registerPerIP,
		"POST /oauth/token":          tokenPerIP,
		"GET /oauth/authorize":       authorize,
		"POST /oauth/authorize":      authorize,
	}
}

// refuseAuthorize is the 429 of /oauth/authorize: the error page
// (Retry-After is already set).
func (a *App) refuseAuthorize(w http.ResponseWriter, r *http.Request, retryAfter int) {
	a.s.pages.RenderError(w, r, http.StatusTooManyRequests, "Too many requests",
		fmt.Sprintf("Too many sign-in requests came from your network. Try again in %d seconds.", retryAfter), "", "")
}
