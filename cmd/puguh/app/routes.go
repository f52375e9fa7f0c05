package app

import (
	"context"
	"net/http"
	"runtime"
	"strings"

	"github.com/gorilla/mux"

	"github.com/arsaka/puguh/cmd/puguh/config"
	"github.com/arsaka/puguh/keys"
	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/health"
	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/provider/oauth"
	"github.com/arsaka/puguh/provider/rest"
)

// concurrency resolves PUGUH_CLIENT_CREDENTIALS_CONCURRENCY and
// PUGUH_INTROSPECTION_CONCURRENCY: auto is perProcessor times GOMAXPROCS.
// Measured on two cores (docs/performance.md): work that is Go code
// throughout runs best one per processor; with OpenSSL a client_credentials
// request spends most of its time in a cgo call that gives up its processor,
// so two per processor, one running Go code and one signing.
func concurrency(n, perProcessor int) int {
	if n == config.ConcurrencyAuto {
		return perProcessor * runtime.GOMAXPROCS(0)
	}
	return n
}

// signingPerProcessor is the auto bound per processor of client_credentials:
// 2 when RS256 is signed by OpenSSL (the release build), 1 with crypto/rsa
// (the standard-library build, what go run gives), where 2 per processor
// left the p99 at 80-90 ms against 60 ms.
func signingPerProcessor() int {
	if keys.SignerImplementation == "openssl" {
		return 2
	}
	return 1
}

// mounter is an HTTP area: a small struct that registers its own routes.
type mounter interface{ Mount(r *mux.Router) }

// routes is the whole public URL space in one table: each area and the
// routes it mounts. It only mounts; build made everything.
func (a *App) routes() http.Handler {
	s, body := &a.s, a.cfg.MaxBodyBytes
	var redisPing health.Pinger
	if a.redis != nil {
		redisPing = health.PingFunc(func(ctx context.Context) error { return a.redis.Ping(ctx).Err() })
	}
	areas := []mounter{
		// GET /api/v1/health
		health.New(a.sql, redisPing).WithAuth(s.authn.Optional, healthPrincipal),
		// GET /.well-known/jwks.json, /.well-known/openid-configuration,
		// POST /oauth/token, /oauth/revoke, /oauth/introspect, GET|POST /oauth/userinfo
		&oauth.Endpoints{P: s.provider, Users: s.store, JWKS: s.keys, MaxBody: body, Limits: s.tokenLimits,
			ClientCredentialsConcurrency: concurrency(a.cfg.ClientCredentialsConcurrency, signingPerProcessor()),
			IntrospectionConcurrency:     concurrency(a.cfg.IntrospectionConcurrency, 1)},
		// /api/v1/auth/{register,login,mfa,refresh,logout}
		&rest.IdentityAPI{SignIn: s.signIn, Tokens: s.provider, Auth: s.authn, MaxBody: body, MFA: s.mfa, Audit: s.audit,
			Policies: s.mfaPolicies, Enrol: s.mfa},
		// /api/v1/organizations…, /api/v1/iam/users, /api/v1/iam/users/me
		&rest.OrganizationAPI{Orgs: s.orgs, Users: s.store, Auth: s.authn, Cursors: &rest.Cursors{Key: s.cursors}, MaxBody: body},
		// PATCH /api/v1/organizations/{id}/plan
		&rest.PlanAPI{Plans: s.plans, Auth: s.authn, MaxBody: body},
		// POST /api/v1/iam/users/{id}/disable|enable
		&rest.UserAdminAPI{Users: s.accounts, Auth: s.authn},
		// DELETE /api/v1/iam/users/{id}, DELETE /api/v1/users/me, /api/v1/users/me/consents…
		&rest.LifecycleAPI{Accounts: s.accounts, Consents: s.apps, Auth: s.authn, MaxBody: body},
		// /api/v1/applications/grants… (before /api/v1/applications/{id}, which
		// would take "grants" for an id)
		&rest.GrantsAPI{Apps: s.apps, Auth: s.authn},
		// /api/v1/api-keys…
		&rest.APIKeyAPI{Credentials: s.credentials, Auth: s.authn, MaxBody: body},
		// /api/v1/service-accounts…
		&rest.ServiceAccountAPI{Credentials: s.credentials, Auth: s.authn, MaxBody: body},
		// /api/v1/applications…
		&rest.ApplicationAPI{Apps: s.apps, Auth: s.authn, MaxBody: body},
		// GET /api/v1/audit-events
		&rest.AuditAPI{Log: s.auditLog, Auth: s.authn, Cursors: &rest.Cursors{Key: s.cursors}},
		// GET /api/v1/openapi.json
		s.openapi,
		// /api/v1/organizations/{id}/connections…
		&rest.FederationAPI{Connections: s.federation, Auth: s.authn, Issuer: a.cfg.Issuer, MaxBody: body},
		// GET|POST /oauth/authorize, /login, /consent, /logout, /oauth/logout, /static/…
		s.pages,
		// /signup, /account…
		s.account,
		// POST /api/v1/auth/verify-email, /api/v1/auth/verify-email/resend
		&rest.EmailAPI{Flows: s.emails, MaxBody: body},
		// POST /api/v1/auth/password-reset, /api/v1/auth/password-reset/confirm
		&rest.PasswordResetAPI{Resets: s.resets, MaxBody: body},
		// GET|POST /verify-email, POST /verify-email/resend, GET|POST /password-reset, /password-reset/confirm
		s.emailPages,
		// /api/v1/users/me/mfa…, /api/v1/organizations/{id}/mfa-policy, /api/v1/auth/mfa/enroll…
		&rest.MFAAPI{Factors: s.mfa, Policies: s.mfaPolicies, SignIn: s.signIn, Tokens: s.provider, Auth: s.authn, MaxBody: body},
		// /api/v1/organizations/{id}/invitations…, POST /api/v1/invitations/accept
		&rest.InvitationAPI{Invitations: s.invitations, Auth: s.authn, Cursors: &rest.Cursors{Key: s.cursors}, MaxBody: body},
		// POST /api/v1/iam/users/me/password, POST /api/v1/iam/users/me/email
		&rest.AccountAPI{Changes: s.changes, Tokens: s.provider, Auth: s.authn, MaxBody: body},
	}
	r := mux.NewRouter()
	r.NotFoundHandler = httpapi.NotFoundHandler()
	r.MethodNotAllowedHandler = httpapi.MethodNotAllowedHandler(r)
	r.Use(httpapi.RouteLabel)
	for _, area := range areas {
		area.Mount(r)
	}
	a.router = r
	// /metrics and the probes are on the admin listener only (admin.go).
	h := httpapi.Middleware(a.log, httpapi.NewMetrics(a.registry), s.ipLimits.Wrap(r))
	if strings.HasPrefix(a.cfg.Issuer, "https://") {
		h = httpapi.StrictTransportSecurity(h)
	}
	return h
}

// healthPrincipal is what GET /api/v1/health echoes of the caller.
func healthPrincipal(ctx context.Context) *health.Principal {
	p := authz.FromContext(ctx)
	if p == nil {
		return nil
	}
	return &health.Principal{Type: p.Type, ID: p.ID, OrganizationID: p.OrganizationID}
}
