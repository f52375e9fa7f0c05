package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"time"

	"github.com/arsaka/puguh/app"
	"github.com/arsaka/puguh/config"
	"github.com/arsaka/puguh/keys"
)

func serve(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("serve takes no arguments (configure with PUGUH_* variables)")
	}
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
	a, err := app.New(ctx, cfg, log)
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
	log.Info("puguh listening", "addr", ln.Addr().String(), "issuer", cfg.Issuer,
		"database", a.Store().Dialect(), "redis", cfg.RedisURL != "", "signer", keys.SignerImplementation, "version", buildVersion(),
		"startup", time.Since(start).Round(time.Millisecond).String(), "memory_limit", memoryLimitAttr(limit), "gogc", gcPercent)
	memCtx, stopMem := context.WithCancel(ctx)
	defer stopMem()
	go mem.run(memCtx, time.Second, log)
	if cfg.PprofAddr != "" {
		stopProfiler, err := startProfiler(cfg.PprofAddr, log)
		if err != nil {
			return err
		}
		defer stopProfiler()
	}
	if err := a.Serve(ctx, ln); err != nil {
		return err
	}
	log.Info("puguh stopped")
	return nil
}

// startProfiler serves net/http/pprof on its own loopback listener (config
// refuses other addresses), never on the public one.
func startProfiler(addr string, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on PUGUH_PPROF_ADDR %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	log.Warn("profiler listening; do not expose it", "addr", ln.Addr().String())
	return func() { _ = srv.Close() }, nil
}
