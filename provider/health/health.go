// Package health serves GET /api/v1/health: whether the database (and Redis,
// when configured) answer; and the admin listener's liveness and readiness
// probes (Live, Handler.Ready). Checks are cached briefly so that a health
// probe hammering the endpoint does not hammer the database too.
package health

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/mux"

	"github.com/arsaka/puguh/provider/httpapi"
)

// Pinger is a dependency whose liveness health reports.
type Pinger interface {
	Ping(ctx context.Context) error
}

// PingFunc adapts a function to Pinger.
type PingFunc func(ctx context.Context) error

// Ping calls f.
func (f PingFunc) Ping(ctx context.Context) error { return f(ctx) }

// Principal is the authenticated caller as the health endpoint echoes it.
type Principal struct {
	Type           string `json:"type"`
	ID             string `json:"id"`
	OrganizationID string `json:"organization_id"`
}

// PrincipalSource returns the caller authenticated by the middleware in
// front of the handler, or nil for an anonymous request.
type PrincipalSource func(ctx context.Context) *Principal

// Handler reports the status of its dependencies.
type Handler struct {
	database Pinger
	redis    Pinger // nil: Redis not configured
	// authn checks credentials when a request carries them (401 if bad) and
	// principal reads the result; both nil: the endpoint ignores credentials.
	authn     func(http.Handler) http.Handler
	principal PrincipalSource
	now       func() time.Time
	ttl       time.Duration
	timeout   time.Duration

	mu      sync.Mutex
	checked time.Time
	last    status
}

type status struct {
	Status    string     `json:"status"`
	Database  string     `json:"database"`
	Redis     string     `json:"redis"`
	Principal *Principal `json:"principal,omitempty"`
}

// New returns a health handler; redis may be nil when Redis is not configured.
func New(database, redis Pinger) *Handler {
	return &Handler{database: database, redis: redis, now: time.Now, ttl: time.Second, timeout: 2 * time.Second}
}

// WithAuth makes the endpoint check credentials when a request carries them
// (the guide's "Test API Key": a bad key is 401) and echo the principal.
// authn is optional authentication middleware; src reads what it found.
func (h *Handler) WithAuth(authn func(http.Handler) http.Handler, src PrincipalSource) *Handler {
	h.authn, h.principal = authn, src
	return h
}

// Mount registers the route.
func (h *Handler) Mount(r *mux.Router) {
	var handler http.Handler = httpapi.HandlerFunc(h.serve)
	if h.authn != nil {
		handler = h.authn(handler)
	}
	r.Handle("/api/v1/health", handler).Methods(http.MethodGet, http.MethodHead)
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request) error {
	st := h.check(r.Context())
	if h.principal != nil {
		st.Principal = h.principal(r.Context()) // st is a copy: the cached status stays anonymous
	}
	code := http.StatusOK
	if st.Status != "ok" {
		code = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "5")
	}
	httpapi.WriteJSON(w, code, st)
	return nil
}

// check returns the cached status, refreshing it when older than ttl. One
// caller refreshes while the others wait for its answer.
func (h *Handler) check(ctx context.Context) status {
	h.mu.Lock()
	defer h.mu.Unlock()
	if now := h.now(); !h.checked.IsZero() && now.Sub(h.checked) < h.ttl {
		return h.last
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.timeout)
	defer cancel()
	st := status{Status: "ok", Database: "ok", Redis: "disabled"}
	if err := h.database.Ping(ctx); err != nil {
		httpapi.Logger(ctx).Warn("health: database unavailable", "error", err)
		st.Status, st.Database = "unavailable", "unavailable"
	}
	if h.redis != nil {
		st.Redis = "ok"
		if err := h.redis.Ping(ctx); err != nil {
			httpapi.Logger(ctx).Warn("health: redis unavailable", "error", err)
			st.Status, st.Redis = "unavailable", "unavailable"
		}
	}
	h.last, h.checked = st, h.now()
	return st
}
