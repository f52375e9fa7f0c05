package app

import (
	"fmt"
	"net/http"

	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/provider/ratelimit"
)

// The budgets no organization pays for (docs/rate-limits.md), in requests a
// minute from the configuration (PUGUH_RATE_LIMIT_*):
//   - sign-in and sign-up per client IP: where guessing and account farming
//     happen (60 by default);
//   - the token endpoint per confidential client that authenticates, and per
//     client IP for every other request (600 each by default: client
//     backends redeem codes for many users, and a whole company may sit
//     behind one address);
//   - the authorization endpoint per client IP (300): it stores a pending
//     request for every browser it sends to sign in, a sign-in passes it two
//     or three times, and 300 lets an office behind one address sign in;
//   - every other /api/v1 request that authenticates nothing (a 401, health
//     without credentials, refresh, an unknown path), per client IP (600),
//     so that every REST response shows a budget and a flood of bad
//     credentials from one address stops somewhere.
//
// JWKS, discovery, userinfo, introspection, revocation and the pages are not
// limited: a resource server refreshing its key cache or checking a token
// must never be throttled, and a limiter decision would tax the hottest paths.
var authorizePerIP = ratelimit.PerMinute(300)

// Policy names: the key component of each budget in the limiter's store.
const (
	policySignIn    = "signin"
	policyRegister  = "register"
	policyToken     = "token"
	policyAuthorize = "authorize"
	policyAnonymous = "api"
)

// ipLimitsConfig are the per-IP budgets by route, and the anonymous REST
// budget. Browsers open /oauth/authorize, so its refusal is a page, not JSON.
func (a *App) ipLimitsConfig() httpapi.IPLimitsConfig {
	rl := a.cfg.RateLimits
	signIn := httpapi.IPPolicy{Name: policySignIn, Limit: ratelimit.PerMinute(rl.SignInPerIP)}
	register := httpapi.IPPolicy{Name: policyRegister, Limit: ratelimit.PerMinute(rl.RegisterPerIP)}
	authorize := httpapi.IPPolicy{Name: policyAuthorize, Limit: authorizePerIP, Refuse: a.refuseAuthorize}
	anonymous := httpapi.IPPolicy{Name: policyAnonymous, Limit: ratelimit.PerMinute(rl.AnonymousPerIP)}
	return httpapi.IPLimitsConfig{
		Routes: map[string]httpapi.IPPolicy{
			// Refresh never authenticates a caller: always anonymous.
			"POST /api/v1/auth/refresh":            anonymous,
			"POST /api/v1/auth/login":              signIn,
			"POST /login":                          signIn,
			"POST /api/v1/auth/mfa":                signIn,
			"POST /login/mfa":                      signIn,
			"POST /api/v1/auth/mfa/enroll":         signIn,
			"POST /api/v1/auth/mfa/enroll/confirm": signIn,
			"POST /login/enroll":                   signIn,
			"POST /api/v1/auth/register":           register,
			"POST /signup":                         register,
			"GET /oauth/authorize":                 authorize,
			"POST /oauth/authorize":                authorize,
		},
		Anonymous: anonymous,
	}
}

// tokenLimits are the token endpoint's budgets: per confidential client, and
// per client IP for everything else.
func (a *App) tokenLimits(ip *httpapi.IPLimits) *httpapi.ClientLimits {
	rl := a.cfg.RateLimits
	return ip.ClientLimits(httpapi.IPPolicy{Name: policyToken, Limit: ratelimit.PerMinute(rl.TokenPerIP)},
		httpapi.IPPolicy{Name: policyToken, Limit: ratelimit.PerMinute(rl.TokenPerClient)})
}

// refuseAuthorize is the 429 of /oauth/authorize: the error page
// (Retry-After is already set).
func (a *App) refuseAuthorize(w http.ResponseWriter, r *http.Request, retryAfter int) {
	a.s.pages.RenderError(w, r, http.StatusTooManyRequests, "Too many requests",
		fmt.Sprintf("Too many sign-in requests came from your network. Try again in %d seconds.", retryAfter), "", "")
}
