package health

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestReady(t *testing.T) {
	down := errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")
	tests := []struct {
		name     string
		database error
		draining bool
		status   int
		body     string
	}{
		{name: "ready", status: 200, body: `{"status":"ok","database":"ok"}`},
		{name: "database down", database: down, status: 503, body: `{"status":"unavailable","database":"unavailable"}`},
		{name: "shutting down", draining: true, status: 503, body: `{"status":"shutting_down"}`},
		{name: "shutting down, database down", database: down, draining: true, status: 503, body: `{"status":"shutting_down"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := &fakePinger{err: tc.database}
			rec := httptest.NewRecorder()
			New(db, nil).Ready(func() bool { return tc.draining }).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
			if rec.Code != tc.status || rec.Body.String() != tc.body {
				t.Fatalf("got %d %s, want %d %s", rec.Code, rec.Body, tc.status, tc.body)
			}
			wantRetry := ""
			if tc.status == 503 {
				wantRetry = "5"
			}
			if got := rec.Header().Get("Retry-After"); got != wantRetry {
				t.Errorf("Retry-After = %q, want %q", got, wantRetry)
			}
			if tc.draining && db.calls.Load() != 0 {
				t.Errorf("pinged the database while draining")
			}
		})
	}
}

func TestLive(t *testing.T) {
	rec := httptest.NewRecorder()
	Live().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/livez", nil))
	if rec.Code != http.StatusOK || rec.Body.String() != `{"status":"ok"}` {
		t.Fatalf("got %d %s", rec.Code, rec.Body)
	}
}
