package app

import (
	"net/http"
	"net/http/pprof"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/arsaka/puguh/provider/health"
)

// adminRoutes is the admin listener's URL space (PUGUH_ADMIN_ADDR), kept off
// the public listener: metrics name routes, error rates and runtime figures,
// and the profiler exposes memory and stack traces.
//
//	GET /metrics        Prometheus
//	GET /livez          liveness: the process answers
//	GET /readyz         readiness: the database answers and no shutdown has begun
//	    /debug/pprof/   Go's profiler, only with PUGUH_ADMIN_PPROF=true
//
// Its requests are not counted in the HTTP metrics nor written to the access
// log: scrapes and probes every few seconds would drown the real traffic.
func (a *App) adminRoutes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.registry, promhttp.HandlerOpts{}))
	mux.Handle("GET /livez", health.Live())
	mux.Handle("GET /readyz", health.New(a.sql, nil).Ready(a.draining.Load))
	if a.cfg.AdminPprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return mux
}
