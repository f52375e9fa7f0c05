package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
)

// requestInfo travels in the context so that the outer middleware learns which
// route the router matched (mux only knows it inside the router).
type requestInfo struct {
	route string
}

// Metrics are the HTTP metrics, registered on a registry the caller owns.
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewMetrics registers the HTTP metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "puguh_http_requests_total",
			Help: "HTTP requests by method, route template and status code.",
		}, []string{"method", "route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "puguh_http_request_duration_seconds",
			Help:    "HTTP request latency by method and route template.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"method", "route"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

// Middleware wraps the whole router: it assigns a request id, recovers panics
// into a 500, writes one access-log line and records metrics. Access logs hold
// the path without its query string, never headers or bodies, so no token or
// password can reach them.
func Middleware(base *slog.Logger, metrics *Metrics, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := requestID(r.Header.Get("X-Request-ID"))
		w.Header().Set("X-Request-ID", id)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		log := base.With("request_id", id)
		info := &requestInfo{route: "unmatched"}
		ctx := context.WithValue(context.WithValue(r.Context(), loggerKey, log), infoKey, info)
		r = r.WithContext(ctx)
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}

		defer func() {
			abort := false
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p) // net/http's own signal to drop the connection
				}
				log.Error("panic", "panic", p, "stack", string(debug.Stack()))
				if rec.wroteHeader {
					// The response has started and cannot become a 500: drop the
					// connection so the client sees it truncated, not complete.
					abort = true
				} else {
					WriteError(rec, r, Internal(nil))
				}
			}
			elapsed := time.Since(start)
			if metrics != nil {
				metrics.requests.WithLabelValues(r.Method, info.route, strconv.Itoa(rec.status)).Inc()
				metrics.duration.WithLabelValues(r.Method, info.route).Observe(elapsed.Seconds())
			}
			if log.Enabled(ctx, slog.LevelInfo) {
				log.LogAttrs(ctx, slog.LevelInfo, "request",
					slog.String("method", r.Method),
					slog.String("path", r.URL.Path),
					slog.String("route", info.route),
					slog.Int("status", rec.status),
					slog.Int64("bytes", rec.bytes),
					// Milliseconds, to the microsecond (docs/operations.md).
					slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
					slog.String("remote", remoteHost(r.RemoteAddr)))
			}
			if abort {
				panic(http.ErrAbortHandler)
			}
		}()
		next.ServeHTTP(rec, r)
	})
}

// RouteLabel is a mux middleware that tells Middleware the matched route template.
func RouteLabel(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if info, ok := r.Context().Value(infoKey).(*requestInfo); ok {
			if route := mux.CurrentRoute(r); route != nil {
				if tpl, err := route.GetPathTemplate(); err == nil {
					info.route = tpl
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// requestID keeps a caller's X-Request-ID when it is short and plain, else makes one.
func requestID(given string) string {
	if n := len(given); n > 0 && n <= 64 {
		ok := true
		for i := 0; i < n && ok; i++ {
			c := given[i]
			ok = c == '-' || c == '_' || c == '.' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		}
		if ok {
			return given
		}
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func remoteHost(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

type statusRecorder struct {
	http.ResponseWriter
	status      int
	bytes       int64
	wroteHeader bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wroteHeader {
		s.status = code
		s.wroteHeader = true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.wroteHeader = true
	n, err := s.ResponseWriter.Write(b)
	s.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// MethodNotAllowedHandler answers 405 with the Allow header (RFC 9110 §15.5.6),
// computed from the routes that would match the path with another method.
func MethodNotAllowedHandler(router *mux.Router) http.Handler {
	methods := []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions}
	return HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		if err := LimitAnonymous(w, r); err != nil {
			return err
		}
		var allow []string
		for _, m := range methods {
			probe := r.Clone(r.Context())
			probe.Method = m
			var match mux.RouteMatch
			if router.Match(probe, &match) && match.MatchErr == nil {
				allow = append(allow, m)
			}
		}
		e := &Error{Status: http.StatusMethodNotAllowed, Detail: "Method Not Allowed"}
		if len(allow) > 0 {
			e.Headers = map[string]string{"Allow": strings.Join(allow, ", ")}
		}
		return e
	})
}

// HSTS is the Strict-Transport-Security value: a year, subdomains included
// (RFC 6797 §6.1). No preload: that is a decision for the domain's owner.
const HSTS = "max-age=31536000; includeSubDomains"

// StrictTransportSecurity sets HSTS on every response of next, whatever
// answers it (API, OAuth endpoints, pages, errors, 404s, redirects): a
// browser that met one https response from us refuses plain http afterwards
// (RFC 6797 §7.1). Wrap only a server whose issuer is https; a browser
// ignores the header over http anyway.
func StrictTransportSecurity(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", HSTS)
		next.ServeHTTP(w, r)
	})
}
