package app

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/arsaka/puguh/keys"
	"github.com/arsaka/puguh/provider/audit"
	"github.com/arsaka/puguh/provider/auth"
	"github.com/arsaka/puguh/provider/clients"
	"github.com/arsaka/puguh/provider/credentials"
	"github.com/arsaka/puguh/provider/federation"
	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/provider/identity"
	"github.com/arsaka/puguh/provider/mail"
	"github.com/arsaka/puguh/provider/mfa"
	"github.com/arsaka/puguh/provider/oauth"
	"github.com/arsaka/puguh/provider/orgs"
	"github.com/arsaka/puguh/provider/password"
	"github.com/arsaka/puguh/provider/ratelimit"
	"github.com/arsaka/puguh/provider/rest"
	"github.com/arsaka/puguh/provider/web"
	"github.com/arsaka/puguh/storage/cache"
	"github.com/arsaka/puguh/storage/cached"
	"github.com/arsaka/puguh/storage/oauthstore"
	"github.com/arsaka/puguh/storage/revocation"
)

// The OAuth store is what the provider's compositions and the account
// service consume: a missing method fails the build here.
var (
	_ oauth.Storage   = (*oauthstore.Store)(nil)
	_ identity.Grants = (*oauthstore.Store)(nil)
)

// services are the parts build makes, in the order it makes them; routes
// mounts them and nothing else.
type services struct {
	// Storage and the protocol engine.
	store      *cached.Store // the one store every component is handed
	keys       *keys.Manager
	denylist   *revocation.Denylist
	oauthStore *oauthstore.Store
	provider   *oauth.Provider
	// audit records every security event: a log line and a row (package audit).
	audit    *audit.Stored
	auditLog *audit.Service

	// The domain: one set of rules for the REST API, the pages and the CLI.
	signIn      *identity.SignIn
	accounts    *identity.Service
	orgs        *orgs.Service
	plans       *orgs.Plans
	credentials *credentials.Service
	apps        *clients.Service
	federation  *federation.Service
	mfa         *mfa.Service
	passkeys    *mfa.Passkeys // nil: off (an issuer on an IP address)
	mfaPolicies *mfa.Policies

	// HTTP: authentication, rate limits, pages.
	verifier    *credentials.Verifier
	authn       *auth.Authenticator
	ipLimits    *httpapi.IPLimits
	tokenLimits *httpapi.ClientLimits
	pages       *web.Pages
	account     *web.Account
	cursors     []byte // the key of the REST API's pagination cursors
	openapi     *rest.OpenAPIAPI

	// Outgoing mail and the flows that mail links (build_mail.go).
	mailer     *mail.Mailer
	emails     *identity.Emails
	resets     *identity.PasswordReset
	emailPages *web.EmailPages

	// Invitations and the user's own changes (build_invites.go).
	invitations *orgs.Invitations
	changes     *identity.Changes
}

// build constructs every dependency once, in dependency order, and records
// the background loops Start runs.
func (a *App) build(ctx context.Context, opts Options) error {
	cfg, s := a.cfg, &a.s
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	ns := cfg.RedisNamespace

	var bus *cache.Bus
	if a.redis != nil {
		bus = cache.NewBus(a.redis, ns, a.log)
		a.background = append(a.background, bus.Run)
	}
	s.store = cached.New(a.sql, cached.Config{Bus: bus, Now: opts.Now})

	var err error
	s.keys, err = keys.Open(ctx, a.sql, cfg.Secret, keys.Config{
		RotationPeriod:   cfg.KeyRotationPeriod,
		MaxTokenLifetime: max(cfg.AccessTokenLifetime, cfg.IDTokenLifetime),
		KeySize:          cfg.KeySize,
		Algorithms:       cfg.SigningAlgorithms,
		Now:              opts.Now,
		Logger:           a.log,
	})
	if err != nil {
		return fmt.Errorf("signing keys: %w", err)
	}
	a.background = append(a.background, func(ctx context.Context) { _ = s.keys.Run(ctx) })

	if s.denylist, err = a.buildDenylist(ctx, now); err != nil {
		return err
	}

	ocfg := oauth.Config{
		Issuer:               cfg.Issuer,
		AccessTokenLifetime:  cfg.AccessTokenLifetime,
		RefreshTokenLifetime: cfg.RefreshTokenLifetime,
		AuthCodeLifetime:     cfg.AuthCodeLifetime,
		IDTokenLifetime:      cfg.IDTokenLifetime,
		Secret:               cfg.Secret,
		Verifier:             s.keys.Verifier(),
		Users:                s.store,
		KeepRefreshTokens:    !cfg.RefreshTokenRotation,
		SigningAlgorithms:    s.keys.Algorithms(),
	}
	s.oauthStore, err = oauthstore.New(a.sql, oauthstore.Config{
		Clients:            oauth.NewClientLookup(s.store, ocfg),
		NewSession:         oauth.NewSession,
		Logger:             a.log,
		RefreshGracePeriod: cfg.RefreshGracePeriod,
	})
	if err != nil {
		return err
	}
	a.background = append(a.background, func(ctx context.Context) { s.oauthStore.RunJanitor(ctx, 10*time.Minute) })
	if s.provider, err = oauth.New(ocfg, s.oauthStore, s.store, s.keys.FositeSigner(), s.denylist, a.log); err != nil {
		return err
	}

	params := password.OWASP
	if opts.PasswordParams != nil {
		params = *opts.PasswordParams
	}
	hasher, err := password.NewHasher(params, 0)
	if err != nil {
		return err
	}
	if cfg.Argon2Reclaim {
		hasher.ReclaimAfterEachHash(8 << 20) // OWASP's 19 MiB, not the tests' small parameters
		if opts.ObserveHashReclaims != nil {
			hasher.ObserveReclaims(opts.ObserveHashReclaims)
		}
	}
	limits := ratelimit.Store(ratelimit.NewMemory(now))
	if a.redis != nil {
		limits = ratelimit.NewFallback(ratelimit.NewRedis(a.redis, ns), limits, a.log, ratelimit.NewMetrics(a.registry), now)
	}

	// The audit log: every domain service records its security events here.
	s.audit = audit.NewStored(a.sql, a.log, now)
	a.registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "puguh_audit_write_failures_total",
		Help: "Audit events that could not be stored (each was still logged).",
	}, func() float64 { return float64(s.audit.Failures()) }))
	s.auditLog = &audit.Service{Store: a.sql}
	if s.mailer, err = a.buildMail(now); err != nil {
		return err
	}

	// The domain.
	s.accounts = &identity.Service{Users: s.store, Sessions: s.store, Grants: s.oauthStore, Tokens: s.provider,
		AccessTokenLifetime: cfg.AccessTokenLifetime, Operators: cfg.PlatformOperators, Links: s.store, Audit: s.audit, Now: now}
	// One SignIn checks passwords for the REST login and the sign-in page, so
	// both share the per-account throttle.
	s.signIn = &identity.SignIn{Accounts: s.store, Hasher: hasher, Throttle: ratelimit.NewAccounts(limits, ratelimit.AccountLimit), Audit: s.audit, Now: now}
	// Deleting accounts (docs/lifecycle.md): erasure through the cached
	// store, client grants through the provider, re-authentication.
	s.accounts.Erasure, s.accounts.Clients, s.accounts.Passwords = s.store, s.provider, s.signIn
	a.buildEmails(limits, hasher, now)
	s.orgs = &orgs.Service{Store: s.store, Audit: s.audit, Now: now}
	a.buildInvitations(limits, hasher, now)
	s.plans = &orgs.Plans{Store: s.store, Orgs: s.store, Operators: s.accounts, Audit: s.audit}
	s.credentials = &credentials.Service{Store: s.store, Audit: s.audit, Now: now}
	s.apps = &clients.Service{Store: s.store, Tokens: s.provider, Operators: s.accounts, Audit: s.audit, Now: now}
	fedSecrets, err := keys.NewBox(cfg.Secret, "federation-client-secret")
	if err != nil {
		return fmt.Errorf("federation secrets: %w", err)
	}
	s.federation = &federation.Service{Store: s.store, Roles: s.orgs, Secrets: fedSecrets, Hasher: hasher, Now: now, Audit: s.audit}
	s.apps.SigningAlgorithms = s.keys.Algorithms()

	if s.mfa, err = a.buildMFA(now, limits); err != nil {
		return err
	}
	if s.mfa != nil {
		s.accounts.SecondFactor = s.mfa
	}
	if s.passkeys, err = a.buildPasskeys(s.mfa); err != nil {
		return err
	}
	s.mfaPolicies = &mfa.Policies{Store: s.store, Roles: s.orgs, Factors: s.mfa, Audit: s.audit, Now: now}

	// HTTP.
	s.verifier = credentials.NewVerifier(s.store, s.orgs, credentials.Config{Now: now, Logger: a.log})
	a.background = append(a.background, s.verifier.Run)
	s.authn = auth.NewAuthenticator(auth.Config{Issuer: cfg.Issuer, Audience: ocfg.APIAudience(), Leeway: 30 * time.Second}, auth.Deps{
		Tokens: s.keys.Verifier(), Denylist: s.provider, Roles: s.orgs, Users: s.store, Accounts: s.store, APIKeys: s.verifier,
		Limiter: ratelimit.NewOrganizations(limits, ratelimit.NewPlans(s.store)),
	})
	ipcfg := a.ipLimitsConfig()
	a.addMailIPRoutes(&ipcfg)
	addPasskeyIPRoutes(&ipcfg)
	ipcfg.Now = now
	s.ipLimits = httpapi.NewIPLimits(limits, httpapi.NewClientIP(cfg.TrustedProxies), ipcfg)
	s.tokenLimits = a.tokenLimits(s.ipLimits)
	if s.pages, err = web.New(web.Config{Issuer: cfg.Issuer, Secret: cfg.Secret, MaxBody: cfg.MaxBodyBytes, Audit: s.audit},
		s.store, s.signIn, s.provider, s.keys.Verifier(), a.log); err != nil {
		return err
	}
	if err := s.pages.EnableFederation(s.federation, s.store, cfg.Secret, nil); err != nil {
		return fmt.Errorf("federation: %w", err)
	}
	if s.account, err = web.NewAccount(s.pages, web.AccountDeps{Store: s.store, SignIn: s.signIn, Hasher: hasher,
		Grants: s.accounts, Passwords: s.changes, Members: s.orgs, Invitations: s.invitations, APIKeys: s.credentials, Apps: s.apps, MFA: s.mfa, MFAPolicies: s.mfaPolicies, Audit: s.auditLog, Connections: s.federation,
		RequireVerifiedEmail: a.cfg.RequireVerifiedEmail, ServiceAccounts: s.credentials, Passkeys: s.accountPasskeys(),
		Consents: s.apps, Lifecycle: s.accounts, Directory: s.store, EmailChanges: s.changes}); err != nil {
		return err
	}
	if s.emailPages, err = web.NewEmailPages(s.pages, s.emails, s.resets); err != nil {
		return err
	}
	s.pages.UseMFA(s.mfa)
	if s.passkeys != nil {
		s.pages.UsePasskeys(s.passkeys)
	}
	if err := s.pages.UseMFAPolicy(s.mfaPolicies, s.mfa); err != nil {
		return err
	}
	if s.cursors, err = hkdf.Key(sha256.New, cfg.Secret, nil, "puguh pagination cursors v1", 32); err != nil {
		return fmt.Errorf("cursor key: %w", err)
	}
	a.background = append(a.background, func(ctx context.Context) { a.runBrowserJanitor(ctx, now) })
	a.background = append(a.background, func(ctx context.Context) { a.runAuditJanitor(ctx, now) })
	if s.openapi, err = rest.NewOpenAPIAPI(); err != nil {
		return err
	}
	return nil
}

// buildDenylist loads the denylist before serving: its record is the
// database, with or without Redis (which only carries denials to the other
// replicas faster), so no revoked token slips through after a restart.
func (a *App) buildDenylist(ctx context.Context, now func() time.Time) (*revocation.Denylist, error) {
	ns := a.cfg.RedisNamespace
	deny := revocation.NewDenylist(a.sql, revocation.Options{Redis: a.redis, Namespace: ns, Log: a.log, Now: now})
	// Versions before the table was the record kept denials in Redis only.
	// A Redis that is down now must not keep Puguh down: its old denials
	// expire within an access-token lifetime, and the next start imports them.
	ictx, cancel := context.WithTimeout(ctx, 5*time.Second)
	if n, err := deny.ImportFromRedis(ictx, ns); err != nil {
		a.log.Warn("denylist: could not import the denials older versions kept in Redis; retrying at the next start", "error", err, "imported", n)
	} else if n > 0 {
		a.log.Info("denylist: imported the denials older versions kept in Redis", "count", n)
	}
	cancel()
	if err := deny.Load(ctx); err != nil {
		return nil, err
	}
	a.background = append(a.background, deny.Run)
	return deny, nil
}
