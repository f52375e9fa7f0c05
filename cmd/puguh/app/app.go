// Package app builds a running Puguh from a Config: every dependency is
// constructed once, eagerly, in New, and handed only what it uses. cmd/puguh
// and the end-to-end tests both start Puguh through it.
package app

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"

	"github.com/arsaka/puguh/cmd/puguh/config"
	"github.com/arsaka/puguh/keys"
	"github.com/arsaka/puguh/provider/auth"
	"github.com/arsaka/puguh/provider/health"
	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/provider/identity"
	"github.com/arsaka/puguh/provider/oauth"
	"github.com/arsaka/puguh/provider/password"
	"github.com/arsaka/puguh/provider/rest"
	"github.com/arsaka/puguh/provider/web"
	"github.com/arsaka/puguh/storage/clientcache"
	"github.com/arsaka/puguh/storage/oauthstore"
	"github.com/arsaka/puguh/storage/revocation"
	"github.com/arsaka/puguh/storage/sqlstore"
	"github.com/arsaka/puguh/storage/usercache"
)

// App is a wired Puguh: storage, caches and the HTTP handler.
type App struct {
	cfg      *config.Config
	log      *slog.Logger
	store    *sqlstore.Store
	redis    *redis.Client // nil without PUGUH_REDIS_URL
	registry *prometheus.Registry
	handler  http.Handler // the public listener's
	admin    http.Handler // the admin listener's (app/admin.go)
	// draining is set once a graceful shutdown has begun; /readyz then
	// answers 503.
	draining atomic.Bool

	keys       *keys.Manager
	oauthStore *oauthstore.Store
	provider   *oauth.Provider
	denylist   revocation.List
	hasher     *password.Hasher
	identity   *rest.IdentityAPI
	authn      *auth.Authenticator
	members    *auth.MembershipCache
	limits     *rateLimits // app/ratelimit.go
	pages      *web.Pages  // the browser pages, set by routes (app/pages.go)
	// clients caches OAuth clients for the token endpoint (app/clients.go).
	clients *clientcache.Cache
	// users is store with users cached (app/users.go), for whatever reads or writes users.
	users *usercache.Store
	// accounts applies the account rules (disabling users, ending grants).
	accounts *identity.Service

	// background loops started by Start; Close stops them and waits, so a
	// final flush never races the database being closed.
	background []func(ctx context.Context)
	stopBG     context.CancelFunc
	bgDone     sync.WaitGroup
}

// Options tune what config does not cover; tests use them.
type Options struct {
	// PasswordParams overrides argon2id's cost (tests use a cheap one).
	PasswordParams *password.Params
	// Now is the clock of the key manager and caches; nil means time.Now.
	Now func() time.Time
}

// New opens the database (migrating it), connects Redis when configured and
// builds the HTTP handler. cfg.Secret must be set (see config.EnsureSecret).
func New(ctx context.Context, cfg *config.Config, log *slog.Logger) (*App, error) {
	return NewWithOptions(ctx, cfg, log, Options{})
}

// NewWithOptions is New with test knobs.
func NewWithOptions(ctx context.Context, cfg *config.Config, log *slog.Logger, opts Options) (*App, error) {
	if len(cfg.Secret) == 0 {
		return nil, errors.New("app: no master secret")
	}
	a := &App{cfg: cfg, log: log, registry: prometheus.NewRegistry()}
	a.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	store, err := sqlstore.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	a.store = store
	applied, err := store.Migrate(ctx)
	if err != nil {
		a.Close()
		return nil, fmt.Errorf("migrate database: %w", err)
	}
	if applied > 0 {
		log.Info("database migrated", "applied", applied, "dialect", store.Dialect())
	}

	if cfg.RedisURL != "" {
		ropts, err := redis.ParseURL(cfg.RedisURL)
		if err != nil {
			a.Close()
			return nil, fmt.Errorf("config: PUGUH_REDIS_URL: %w", err)
		}
		a.redis = redis.NewClient(ropts)
	}
	if err := a.build(ctx, opts); err != nil {
		a.Close()
		return nil, err
	}
	a.handler = a.routes()
	a.admin = a.adminRoutes()
	return a, nil
}

// build constructs the identity and OAuth stack in dependency order.
func (a *App) build(ctx context.Context, opts Options) error {
	cfg := a.cfg
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	var err error
	a.keys, err = keys.Open(ctx, a.store, cfg.Secret, keys.Config{
		RotationPeriod:   cfg.KeyRotationPeriod,
		MaxTokenLifetime: max(cfg.AccessTokenLifetime, cfg.IDTokenLifetime),
		KeySize:          cfg.KeySize,
		Now:              opts.Now,
		Logger:           a.log,
	})
	if err != nil {
		return fmt.Errorf("signing keys: %w", err)
	}

	// The denylist's record is the database, with or without Redis (which
	// only carries denials to the other replicas faster). It is loaded before
	// serving, so no revoked token slips through after a restart.
	deny := revocation.NewDenylist(a.store, revocation.Options{Redis: a.redis, Namespace: "puguh:", Log: a.log, Now: now})
	// Versions before the table was the record kept denials in Redis only.
	// A Redis that is down now must not keep Puguh down: its old denials
	// expire within an access-token lifetime, and the next start imports them.
	ictx, cancel := context.WithTimeout(ctx, 5*time.Second)
	if n, err := deny.ImportFromRedis(ictx, "puguh:"); err != nil {
		a.log.Warn("denylist: could not import the denials older versions kept in Redis; retrying at the next start", "error", err, "imported", n)
	} else if n > 0 {
		a.log.Info("denylist: imported the denials older versions kept in Redis", "count", n)
	}
	cancel()
	if err := deny.Load(ctx); err != nil {
		return err
	}
	a.denylist = deny
	a.background = append(a.background, deny.Run)

	a.clients = a.buildClients(now)
	a.users = a.buildUsers(now)
	ocfg := oauth.Config{
		Issuer:               cfg.Issuer,
		AccessTokenLifetime:  cfg.AccessTokenLifetime,
		RefreshTokenLifetime: cfg.RefreshTokenLifetime,
		AuthCodeLifetime:     cfg.AuthCodeLifetime,
		IDTokenLifetime:      cfg.IDTokenLifetime,
		Secret:               cfg.Secret,
		Verifier:             a.keys.Verifier(),
		Users:                a.users,
	}
	a.oauthStore, err = oauthstore.New(a.store, oauthstore.Config{
		Clients:    oauth.NewClientLookup(a.clients, ocfg),
		NewSession: oauth.NewSession,
		Logger:     a.log,

		RefreshGracePeriod: cfg.RefreshGracePeriod,
	})
	if err != nil {
		return err
	}
	a.provider, err = oauth.New(ocfg, a.oauthStore, a.clients, a.keys.FositeSigner(), a.denylist, a.log)
	if err != nil {
		return err
	}

	params := password.OWASP
	if opts.PasswordParams != nil {
		params = *opts.PasswordParams
	}
	if a.hasher, err = password.NewHasher(params, 0); err != nil {
		return err
	}
	a.members = auth.NewMembershipCache(a.store, now)
	a.accounts = &identity.Service{Users: a.users, Sessions: a.store, Grants: a.oauthStore, Tokens: a.provider,
		AccessTokenLifetime: cfg.AccessTokenLifetime, Operators: cfg.PlatformOperators, Now: now}
	apiKeys, err := a.buildAPIKeys(ctx, now)
	if err != nil {
		return err
	}
	a.authn = auth.NewAuthenticator(auth.Config{Issuer: cfg.Issuer, Audience: ocfg.APIAudience(), Leeway: 30 * time.Second},
		a.keys.Verifier(), a.provider, a.members, a.users, a.store, apiKeys)
	a.limits = a.buildRateLimits(now)
	a.background = append(a.background, func(ctx context.Context) { a.runBrowserJanitor(ctx, now) })
	return nil
}

// routes is the whole URL space in one screen.
func (a *App) routes() http.Handler {
	r := mux.NewRouter()
	r.NotFoundHandler = httpapi.NotFoundHandler()
	r.MethodNotAllowedHandler = httpapi.MethodNotAllowedHandler(r)
	r.Use(httpapi.RouteLabel)

	var redisPing health.Pinger
	if a.redis != nil {
		redisPing = health.PingFunc(func(ctx context.Context) error { return a.redis.Ping(ctx).Err() })
	}
	health.New(a.store, redisPing).WithAuth(a.authn.Optional, healthPrincipal).Mount(r)
	// /metrics is on the admin listener only (app/admin.go).
	r.Handle("/.well-known/jwks.json", a.keys.JWKSHandler()).Methods(http.MethodGet, http.MethodHead)

	cursorKey, _ := hkdf.Key(sha256.New, a.cfg.Secret, nil, "puguh pagination cursors v1", 32)
	// One IdentityAPI checks passwords for the REST login and the sign-in page,
	// so both share the per-account throttle.
	a.identity = &rest.IdentityAPI{Store: a.users, Hasher: a.hasher, Tokens: a.provider, Auth: a.authn, MaxBody: a.cfg.MaxBodyBytes, Now: time.Now, Throttle: a.limits.accounts}
	a.identity.Mount(r)
	(&rest.OrganizationAPI{Store: a.users, Roles: a.members, Auth: a.authn, Cursors: &rest.Cursors{Key: cursorKey},
		MaxBody: a.cfg.MaxBodyBytes, Now: time.Now}).Mount(r)
	(&rest.UserAdminAPI{Users: a.accounts, Auth: a.authn}).Mount(r)
	// OAuth before API keys: /api/v1/applications/grants must win over
	// /api/v1/applications/{id}.
	a.mountOAuth(r)   // app/oauth.go: /oauth/*, discovery, application grants
	a.mountAPIKeys(r) // app/apikeys.go: API keys, service accounts, applications
	a.mountPages(r)   // app/pages.go: sign-in, consent, sign-up, account pages

	h := httpapi.Middleware(a.log, httpapi.NewMetrics(a.registry), a.rateLimit(r))
	if strings.HasPrefix(a.cfg.Issuer, "https://") {
		h = httpapi.StrictTransportSecurity(h)
	}
	return h
}

// Handler is the HTTP handler of the whole API.
func (a *App) Handler() http.Handler { return a.handler }

// Store is the SQL store, for commands such as `puguh migrate`.
func (a *App) Store() *sqlstore.Store { return a.store }

// Start runs the background work until ctx ends or Close is called: key
// maintenance and rotation, the token-table janitor, following other
// replicas' revocations, API-key last-use writes, the browser-state janitor.
func (a *App) Start(ctx context.Context) {
	ctx, a.stopBG = context.WithCancel(ctx)
	loops := append([]func(context.Context){
		func(ctx context.Context) { _ = a.keys.Run(ctx) },
		func(ctx context.Context) { a.oauthStore.RunJanitor(ctx, 10*time.Minute) },
	}, a.background...)
	for _, loop := range loops {
		a.bgDone.Add(1)
		go func() {
			defer a.bgDone.Done()
			loop(ctx)
		}()
	}
}

// Accounts applies the account rules, for `puguh users`.
func (a *App) Accounts() *identity.Service { return a.accounts }

// Keys is the signing-key manager, for `puguh keys`.
func (a *App) Keys() *keys.Manager { return a.keys }

// Serve serves the public API on ln and, when admin is not nil, the admin
// endpoints (app/admin.go) on admin, until ctx is cancelled; then it shuts
// down gracefully: /readyz turns 503 at once, the public listener closes (new
// connections are refused) and in-flight requests get up to ShutdownTimeout
// to finish; the admin listener closes last, so probes see the drain.
func (a *App) Serve(ctx context.Context, ln, admin net.Listener) error {
	var conns connTracker
	srv := &http.Server{
		ConnState:         conns.track,
		Handler:           a.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10, // larger headers get 431
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	a.Start(ctx)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	var adminSrv *http.Server
	adminErr := make(chan error, 1)
	if admin != nil {
		// No WriteTimeout: a CPU profile streams for as long as it was asked to run.
		adminSrv = &http.Server{
			Handler:           a.admin,
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       120 * time.Second,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
		}
		go func() { adminErr <- adminSrv.Serve(admin) }()
	}
	select {
	case err := <-errc:
		closeAdmin(adminSrv)
		return fmt.Errorf("serve: %w", err)
	case err := <-adminErr:
		_ = srv.Close()
		return fmt.Errorf("serve admin: %w", err)
	case <-ctx.Done():
	}
	a.draining.Store(true)
	a.log.Info("shutting down", "timeout", a.cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	defer closeAdmin(adminSrv)
	// Refuse new connections now, end keep-alive (idle connections close), and
	// let requests that have started arriving finish before Shutdown.
	_ = ln.Close()
	srv.SetKeepAlivesEnabled(false)
	conns.drain(sctx)
	// Shutdown closes the listeners it still tracks and reports that close's
	// error once the connections are done; ours is already closed, and when
	// Serve has not yet noticed, that error is net.ErrClosed and means nothing.
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// closeAdmin stops the admin server: probes and scrapes are short, and a
// profile still streaming is not worth delaying the exit for.
func closeAdmin(srv *http.Server) {
	if srv != nil {
		_ = srv.Close()
	}
}

// Close releases the database and Redis connections.
func (a *App) Close() error {
	if a.stopBG != nil {
		a.stopBG()
		a.bgDone.Wait()
	}
	var errs []error
	if a.redis != nil {
		errs = append(errs, a.redis.Close())
	}
	if a.store != nil {
		errs = append(errs, a.store.Close())
	}
	return errors.Join(errs...)
}
