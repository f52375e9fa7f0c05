// Command resource-server is a small API that trusts Puguh: every route but
// /healthz needs a Puguh access token issued to this service's application.
//
//	GET /healthz   no token
//	GET /reports   an access token with the read:resources scope, verified offline
//	GET /account   the same, and the token must still be active at Puguh
//	               (introspection: a user who signed out is refused at once)
//
// Configuration (environment):
//
//	PUGUH_ISSUER                 Puguh's issuer URL, e.g. https://id.example.com (required)
//	AUDIENCE                     the application's client_id: tokens for anything else are refused (required)
//	ADDR                         where to listen (default 127.0.0.1:8081)
//	INTROSPECTION_CLIENT_ID      a client of the same organization, for /account
//	INTROSPECTION_CLIENT_SECRET  (usually the application itself)
//
// See README.md in this directory.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/arsaka/puguh/sdk/go/verifier"
)

// Config is what the service needs to know.
type Config struct {
	Issuer                    string
	Audience                  string
	Addr                      string
	IntrospectionClientID     string
	IntrospectionClientSecret string
	// Options are extra verifier options (tests shorten the JWKS cooldown).
	Options []verifier.Option
}

func configFromEnv() (Config, error) {
	c := Config{
		Issuer:                    os.Getenv("PUGUH_ISSUER"),
		Audience:                  os.Getenv("AUDIENCE"),
		Addr:                      os.Getenv("ADDR"),
		IntrospectionClientID:     os.Getenv("INTROSPECTION_CLIENT_ID"),
		IntrospectionClientSecret: os.Getenv("INTROSPECTION_CLIENT_SECRET"),
	}
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8081"
	}
	if c.Issuer == "" || c.Audience == "" {
		return c, errors.New("set PUGUH_ISSUER and AUDIENCE (the application's client_id)")
	}
	return c, nil
}

// Handler builds the service: one verifier for the process (it holds the
// JWKS cache), its middleware in front of each protected route.
func Handler(ctx context.Context, cfg Config) (http.Handler, error) {
	opts := []verifier.Option{verifier.Audience(cfg.Audience), verifier.Realm("resource-server")}
	if cfg.IntrospectionClientID != "" {
		opts = append(opts, verifier.Introspection(cfg.IntrospectionClientID, cfg.IntrospectionClientSecret))
	}
	v, err := verifier.New(ctx, cfg.Issuer, append(opts, cfg.Options...)...)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]string{"status": "ok"})
	})
	mux.Handle("GET /reports", v.Require("read:resources")(http.HandlerFunc(reports)))
	if cfg.IntrospectionClientID != "" {
		mux.Handle("GET /account", v.RequireActive()(http.HandlerFunc(account)))
	}
	return mux, nil
}

// reports is a protected handler: the middleware put the verified claims in
// the request's context.
func reports(w http.ResponseWriter, r *http.Request) {
	claims, _ := verifier.ClaimsFromContext(r.Context())
	writeJSON(w, map[string]any{
		"subject":      claims.Subject,
		"client_id":    claims.ClientID,
		"organization": claims.OrganizationID,
		"scopes":       claims.Scopes(),
		"reports":      []string{"q1", "q2"},
	})
}

func account(w http.ResponseWriter, r *http.Request) {
	claims, _ := verifier.ClaimsFromContext(r.Context())
	writeJSON(w, map[string]any{"subject": claims.Subject, "active": true})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// Serve answers on ln until ctx ends, then shuts down gracefully.
func Serve(ctx context.Context, cfg Config, ln net.Listener) error {
	h, err := Handler(ctx, cfg)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(shutdown)
	}
}

func main() {
	cfg, err := configFromEnv()
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("resource-server: listening on http://%s, trusting %s for audience %s\n", ln.Addr(), cfg.Issuer, cfg.Audience)
	if err := Serve(ctx, cfg, ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}
