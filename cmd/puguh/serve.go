package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/arsaka/puguh/cmd/puguh/app"
	"github.com/arsaka/puguh/cmd/puguh/config"
	"github.com/arsaka/puguh/keys"
)

var serveCommand = &command{
	name:    "serve",
	summary: "run the server (the default command); applies pending migrations first",
	about: `Configured by PUGUH_* environment variables only (README.md, "Configuration"). SIGTERM or SIGINT
drains in-flight requests for up to PUGUH_SHUTDOWN_TIMEOUT, then exits 0.`,
	setup: func(*flag.FlagSet) action {
		return func(ctx context.Context, in *invocation, _ []string) error {
			cfg, log, err := in.config()
			if err != nil {
				return err
			}
			return serve(ctx, cfg, log)
		}
	},
}

func serve(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	start := time.Now()
	// The runtime read GOMEMLIMIT and GOGC from the process environment, not from run's.
	limit := applyMemoryLimit(cfg.MemoryLimit, os.Getenv)
	gcPercent := applyGCPercent(os.Getenv)
	generated, err := cfg.EnsureSecret()
	if err != nil {
		return err
	}
	if generated {
		log.Warn("generated a master secret and kept it in the data directory; back it up, and set PUGUH_SECRET in production",
			"file", cfg.SecretFile())
	}
	var opts app.Options
	hashLimit := "off"
	if fit := fitMemoryLimitWhileHashing(cfg.Argon2Reclaim, limit, os.Getenv); fit != nil {
		defer fit.stop()
		opts.ObserveHashReclaims = fit.afterReclaim
		hashLimit = "fitted"
	}
	a, err := app.NewWithOptions(ctx, cfg, log, opts)
	if err != nil {
		return err
	}
	defer a.Close()
	// Start-up hashed a dummy password (19 MiB of garbage) and read the
	// database: give that back now rather than minutes from now.
	mem := newMemReleaser()
	mem.releaseNow()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on PUGUH_ADDR %s: %w", cfg.Addr, err)
	}
	admin, err := listenAdmin(cfg, log)
	if err != nil {
		ln.Close()
		return err
	}
	log.Info("puguh listening", "addr", ln.Addr().String(), "issuer", cfg.Issuer,
		"database", a.Store().Dialect(), "redis", cfg.RedisURL != "", "signer", keys.SignerImplementation, "version", buildVersion(),
		"startup", time.Since(start).Round(time.Millisecond).String(), "memory_limit", memoryLimitAttr(limit),
		"memory_limit_while_hashing", hashLimit, "gogc", gcPercent)
	memCtx, stopMem := context.WithCancel(ctx)
	defer stopMem()
	go mem.run(memCtx, time.Second, log)
	if err := a.Serve(ctx, ln, admin); err != nil {
		return err
	}
	log.Info("puguh stopped")
	return nil
}

// listenAdmin opens the admin listener (PUGUH_ADMIN_ADDR), or returns nil
// when it is off. Any address is allowed, since Prometheus and Kubernetes
// probes may need to reach it from outside the host; one that is not
// loopback gets a warning, and config refuses the profiler on it.
func listenAdmin(cfg *config.Config, log *slog.Logger) (net.Listener, error) {
	if cfg.AdminAddr == "" {
		log.Info("admin listener off (PUGUH_ADMIN_ADDR=off): no /metrics, /livez or /readyz")
		return nil, nil
	}
	if !cfg.AdminOnLoopback() {
		log.Warn("admin listener is not on loopback: /metrics, /livez and /readyz are reachable from the network; keep that network private",
			"addr", cfg.AdminAddr)
	}
	ln, err := net.Listen("tcp", cfg.AdminAddr)
	if err != nil {
		return nil, fmt.Errorf("listen on PUGUH_ADMIN_ADDR %s: %w", cfg.AdminAddr, err)
	}
	log.Info("admin listening", "addr", ln.Addr().String(), "pprof", cfg.AdminPprof)
	return ln, nil
}
