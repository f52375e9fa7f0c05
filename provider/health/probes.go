package health

import (
	"net/http"

	"github.com/arsaka/puguh/provider/httpapi"
)

// Liveness and readiness for the admin listener (Kubernetes' livez/readyz
// convention): liveness says the process serves HTTP at all, so a failing one
// means restart it; readiness says it should be sent traffic, which a
// restart would not fix while the database is down.

// Live answers 200 {"status":"ok"} whenever the process can answer at all.
func Live() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpapi.WriteJSON(w, http.StatusOK, struct {
			Status string `json:"status"`
		}{"ok"})
	})
}

type readiness struct {
	Status   string `json:"status"`
	Database string `json:"database,omitempty"`
}

// Ready answers 200 {"status":"ok","database":"ok"} when the database
// answers, and 503 with Retry-After while draining reports true (a graceful
// shutdown has begun: take this replica out of rotation) or while the
// database does not answer. Database checks share the handler's cache, so
// probes do not hammer the database. Only the database decides: build the
// handler with New(database, nil), since Puguh serves without Redis.
func (h *Handler) Ready(draining func() bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := readiness{Status: "ok", Database: "ok"}
		switch {
		case draining():
			st = readiness{Status: "shutting_down"}
		case h.check(r.Context()).Database != "ok":
			st = readiness{Status: "unavailable", Database: "unavailable"}
		}
		code := http.StatusOK
		if st.Status != "ok" {
			code = http.StatusServiceUnavailable
			w.Header().Set("Retry-After", "5")
		}
		httpapi.WriteJSON(w, code, st)
	})
}
