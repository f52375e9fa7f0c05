package health

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/mux"
)

// fakePinger answers with err and counts its calls.
type fakePinger struct {
	calls atomic.Int32
	err   error
}

func (p *fakePinger) Ping(context.Context) error {
	p.calls.Add(1)
	return p.err
}

func serveHealth(t *testing.T, h *Handler, method string) *httptest.ResponseRecorder {
	t.Helper()
	r := mux.NewRouter()
	h.Mount(r)
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(method, "/api/v1/health", nil))
	return rec
}

func TestHealth(t *testing.T) {
	down := errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")
	tests := []struct {
		name       string
		database   error
		redis      *fakePinger // nil: Redis not configured
		status     int
		body       string
		retryAfter string
	}{
		{name: "database ok, no redis", status: 200,
			body: `{"status":"ok","database":"ok","redis":"disabled"}`},
		{name: "database ok, redis ok", redis: &fakePinger{}, status: 200,
			body: `{"status":"ok","database":"ok","redis":"ok"}`},
		{name: "database down", database: down, status: 503, retryAfter: "5",
			body: `{"status":"unavailable","database":"unavailable","redis":"disabled"}`},
		{name: "redis down", redis: &fakePinger{err: down}, status: 503, retryAfter: "5",
			body: `{"status":"unavailable","database":"ok","redis":"unavailable"}`},
		{name: "both down", database: down, redis: &fakePinger{err: down}, status: 503, retryAfter: "5",
			body: `{"status":"unavailable","database":"unavailable","redis":"unavailable"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var redis Pinger
			if tc.redis != nil {
				redis = tc.redis
			}
			rec := serveHealth(t, New(&fakePinger{err: tc.database}, redis), http.MethodGet)
			if rec.Code != tc.status || rec.Body.String() != tc.body {
				t.Fatalf("got %d %s, want %d %s", rec.Code, rec.Body, tc.status, tc.body)
			}
			if got := rec.Header().Get("Retry-After"); got != tc.retryAfter {
				t.Errorf("Retry-After = %q, want %q", got, tc.retryAfter)
			}
			if got := rec.Header().Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", got)
			}
			if got := rec.Header().Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type = %q", got)
			}
		})
	}
}

func TestHealthHead(t *testing.T) {
	rec := serveHealth(t, New(&fakePinger{}, nil), http.MethodHead)
	if rec.Code != http.StatusOK {
		t.Fatalf("HEAD status = %d, want 200", rec.Code)
	}
}

func TestHealthCachesChecks(t *testing.T) {
	db := &fakePinger{}
	h := New(db, nil)
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	h.now = func() time.Time { return now }

	serveHealth(t, h, http.MethodGet)
	serveHealth(t, h, http.MethodGet)
	if n := db.calls.Load(); n != 1 {
		t.Fatalf("database pinged %d times within the TTL, want 1", n)
	}
	// The cached answer flips only after the TTL.
	db.err = errors.New("down")
	now = now.Add(h.ttl - time.Millisecond)
	if rec := serveHealth(t, h, http.MethodGet); rec.Code != http.StatusOK {
		t.Fatalf("status within TTL = %d, want the cached 200", rec.Code)
	}
	now = now.Add(time.Millisecond)
	if rec := serveHealth(t, h, http.MethodGet); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("status after TTL = %d, want 503", rec.Code)
	}
	if n := db.calls.Load(); n != 2 {
		t.Fatalf("database pinged %d times, want 2", n)
	}
}

func TestHealthConcurrentProbesPingOnce(t *testing.T) {
	db := &fakePinger{}
	h := New(db, nil)
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if rec := serveHealth(t, h, http.MethodGet); rec.Code != http.StatusOK {
				t.Errorf("status = %d", rec.Code)
			}
		}()
	}
	wg.Wait()
	if n := db.calls.Load(); n != 1 {
		t.Fatalf("20 concurrent probes pinged the database %d times, want 1", n)
	}
}

func TestHealthHangingDatabaseTimesOut(t *testing.T) {
	// A database that accepts the connection but never answers must give a 503
	// within the check timeout, not hang the probe.
	h := New(PingFunc(func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	}), nil)
	h.timeout = 50 * time.Millisecond
	start := time.Now()
	rec := serveHealth(t, h, http.MethodGet)
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("status = %d, want 503", rec.Code)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("probe took %s", d)
	}
}

func TestHealthIgnoresClientCancellation(t *testing.T) {
	// A probe that hangs up must not poison the cached answer with its own
	// cancelled context.
	h := New(PingFunc(func(ctx context.Context) error { return ctx.Err() }), nil)
	r := mux.NewRouter()
	h.Mount(r)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/health", nil).WithContext(ctx))
	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200", rec.Code)
	}
}
