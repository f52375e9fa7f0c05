// Package app builds a running Puguh from a Config: every dependency is
// constructed once, eagerly, in New, and handed only what it uses. cmd/puguh
// and the end-to-end tests both start Puguh through it.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"

	"github.com/arsaka/puguh/cmd/puguh/config"
	"github.com/arsaka/puguh/keys"
	"github.com/arsaka/puguh/provider/federation"
	"github.com/arsaka/puguh/provider/identity"
	"github.com/arsaka/puguh/provider/oauth"
	"github.com/arsaka/puguh/provider/password"
	"github.com/arsaka/puguh/storage/cached"
	"github.com/arsaka/puguh/storage/sqlstore"
)

// App is a wired Puguh: storage, caches and the HTTP handlers.
type App struct {
	cfg      *config.Config
	log      *slog.Logger
	sql      *sqlstore.Store // closed by Close; everyone else gets s.store
	redis    *redis.Client   // nil without PUGUH_REDIS_URL
	registry *prometheus.Registry
	s        services     // what build made (build.go)
	handler  http.Handler // the public listener's (routes.go)
	router   *mux.Router  // the route table inside handler (routes.go)
	admin    http.Handler // the admin listener's (admin.go)
	// draining is set once a graceful shutdown has begun; /readyz then
	// answers 503.
	draining atomic.Bool

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
	// ObserveHashReclaims, with PUGUH_ARGON2_RECLAIM on, is called after
	// each password hash's reclaim collection (password.Hasher's
	// ObserveReclaims); serve fits the memory limit with it.
	ObserveHashReclaims func(othersBytes int64)
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

	if err := cfg.EnsureDataDir(); err != nil {
		return nil, err
	}
	store, err := sqlstore.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	a.sql = store
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

// Handler is the HTTP handler of the whole API.
func (a *App) Handler() http.Handler { return a.handler }

// Router returns the public route table, for tests that walk it (every
// /api/v1 route must be in the OpenAPI document).
func (a *App) Router() *mux.Router { return a.router }

// Store is the store every component uses (the SQL store with its caches),
// for the commands.
func (a *App) Store() *cached.Store { return a.s.store }

// Start runs the background work build recorded until ctx ends or Close is
// called: key maintenance and rotation, the token-table janitor, following
// other replicas' revocations and cache invalidations, API-key last-use
// writes, the browser-state janitor.
func (a *App) Start(ctx context.Context) {
	ctx, a.stopBG = context.WithCancel(ctx)
	for _, loop := range a.background {
		a.bgDone.Add(1)
		go func() {
			defer a.bgDone.Done()
			loop(ctx)
		}()
	}
}

// Accounts applies the account rules, for `puguh users`.
func (a *App) Accounts() *identity.Service { return a.s.accounts }

// Federation applies the federation rules, for `puguh orgs connect`.
func (a *App) Federation() *federation.Service { return a.s.federation }

// Keys is the signing-key manager, for `puguh keys`.
func (a *App) Keys() *keys.Manager { return a.s.keys }

// OAuthProvider is the composed OAuth 2.0 provider, for tests.
func (a *App) OAuthProvider() *oauth.Provider { return a.s.provider }

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
	if a.sql != nil {
		errs = append(errs, a.sql.Close())
	}
	return errors.Join(errs...)
}
