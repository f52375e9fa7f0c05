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
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/arsaka/puguh/config"
	"github.com/arsaka/puguh/provider/health"
	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/storage/sqlstore"
)

// App is a wired Puguh: storage, caches and the HTTP handler.
type App struct {
	cfg      *config.Config
	log      *slog.Logger
	store    *sqlstore.Store
	redis    *redis.Client // nil without PUGUH_REDIS_URL
	registry *prometheus.Registry
	handler  http.Handler
}

// New opens the database (migrating it), connects Redis when configured and
// builds the HTTP handler. cfg.Secret must be set (see config.EnsureSecret).
func New(ctx context.Context, cfg *config.Config, log *slog.Logger) (*App, error) {
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
		opts, err := redis.ParseURL(cfg.RedisURL)
		if err != nil {
			a.Close()
			return nil, fmt.Errorf("config: PUGUH_REDIS_URL: %w", err)
		}
		a.redis = redis.NewClient(opts)
	}

	a.handler = a.routes()
	return a, nil
}

// routes is the whole URL space in one screen (STYLE.md habit 6).
func (a *App) routes() http.Handler {
	r := mux.NewRouter()
	r.NotFoundHandler = httpapi.NotFoundHandler()
	r.MethodNotAllowedHandler = httpapi.MethodNotAllowedHandler(r)
	r.Use(httpapi.RouteLabel)

	var redisPing health.Pinger
	if a.redis != nil {
		redisPing = health.PingFunc(func(ctx context.Context) error { return a.redis.Ping(ctx).Err() })
	}
	health.New(a.store, redisPing).Mount(r)
	r.Handle("/metrics", promhttp.HandlerFor(a.registry, promhttp.HandlerOpts{})).Methods(http.MethodGet)

	return httpapi.Middleware(a.log, httpapi.NewMetrics(a.registry), r)
}

// Handler is the HTTP handler of the whole API.
func (a *App) Handler() http.Handler { return a.handler }

// Store is the SQL store, for commands such as `puguh migrate`.
func (a *App) Store() *sqlstore.Store { return a.store }

// Serve serves HTTP on ln until ctx is cancelled, then shuts down gracefully:
// the listener closes at once (new connections are refused), in-flight
// requests get up to ShutdownTimeout to finish.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10, // larger headers get 431
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	a.log.Info("shutting down", "timeout", a.cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// Close releases the database and Redis connections.
func (a *App) Close() error {
	var errs []error
	if a.redis != nil {
		errs = append(errs, a.redis.Close())
	}
	if a.store != nil {
		errs = append(errs, a.store.Close())
	}
	return errors.Join(errs...)
}
