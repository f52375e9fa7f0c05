package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/arsaka/puguh/app"
	"github.com/arsaka/puguh/config"
)

func serve(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("serve takes no arguments (configure with PUGUH_* variables)")
	}
	start := time.Now()
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
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on PUGUH_ADDR %s: %w", cfg.Addr, err)
	}
	log.Info("puguh listening", "addr", ln.Addr().String(), "issuer", cfg.Issuer,
		"database", a.Store().Dialect(), "redis", cfg.RedisURL != "", "version", buildVersion(),
		"startup", time.Since(start).Round(time.Millisecond).String())
	if err := a.Serve(ctx, ln); err != nil {
		return err
	}
	log.Info("puguh stopped")
	return nil
}
