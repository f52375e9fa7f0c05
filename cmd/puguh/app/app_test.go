package app_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arsaka/puguh/cmd/puguh/app"
	"github.com/arsaka/puguh/cmd/puguh/config"
	"github.com/arsaka/puguh/storage/sqlstore/sqltest"
)

const (
	healthOK     = `{"status":"ok","database":"ok","redis":"disabled"}`
	healthDBDown = `{"status":"unavailable","database":"unavailable","redis":"disabled"}`
	readyOK      = `{"status":"ok","database":"ok"}`
	readyDBDown  = `{"status":"unavailable","database":"unavailable"}`
	testSecret   = "test-secret-0123456789-abcdefghijklmnop"
)

// syncBuffer collects log output written from many goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// server is a running App on a loopback listener.
type server struct {
	app  *app.App
	addr string // host:port
	base string // http://host:port
	// admin is the admin listener, http://host:port (/metrics, /livez, /readyz).
	admin string
	logs  *syncBuffer
}

// startApp builds the App from env (as config.Load reads it) and serves it on
// 127.0.0.1:0 until the test ends, then shuts it down and checks it stopped.
func startApp(t *testing.T, env map[string]string) *server {
	t.Helper()
	if env["PUGUH_DATA_DIR"] == "" {
		env["PUGUH_DATA_DIR"] = t.TempDir()
	}

	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("config.Load: %v", err)
	}
	if _, err := cfg.EnsureSecret(); err != nil {
		t.Fatalf("EnsureSecret: %v", err)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, err := app.New(context.Background(), cfg, log)
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		a.Close()
		t.Fatal(err)
	}
	admin, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		a.Close()
		ln.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln, admin) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(cfg.ShutdownTimeout + 5*time.Second):
			t.Errorf("Serve did not return after cancellation")
		}
		a.Close()
		if t.Failed() {
			t.Logf("server log:\n%s", logs)
		}
	})
	addr := ln.Addr().String()
	return &server{app: a, addr: addr, base: "http://" + addr, admin: "http://" + admin.Addr().String(), logs: logs}
}

type reply struct {
	status int
	header http.Header
	body   string
}

func get(t *testing.T, url string) reply {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", url, err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: string(body)}
}

// waitFor polls GET url until it answers status, or fails the test at the deadline.
func waitFor(t *testing.T, url string, status int, within time.Duration) reply {
	t.Helper()
	deadline := time.Now().Add(within)
	var last reply
	for time.Now().Before(deadline) {
		client := &http.Client{Timeout: 2 * time.Second}
		if resp, err := client.Get(url); err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			last = reply{status: resp.StatusCode, header: resp.Header, body: string(body)}
			if last.status == status {
				return last
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("GET %s did not answer %d within %s; last answer %d %s", url, status, within, last.status, last.body)
	return last
}

func assertReply(t *testing.T, got reply, status int, body string) {
	t.Helper()
	if got.status != status || got.body != body {
		t.Fatalf("got %d %s, want %d %s", got.status, got.body, status, body)
	}
}

func TestHealthSQLite(t *testing.T) {
	srv := startApp(t, map[string]string{})
	got := get(t, srv.base+"/api/v1/health")
	assertReply(t, got, http.StatusOK, healthOK)
	for k, want := range map[string]string{
		"Content-Type": "application/json", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
	} {
		if v := got.header.Get(k); v != want {
			t.Errorf("%s = %q, want %q", k, v, want)
		}
	}
	if id := got.header.Get("X-Request-ID"); len(id) != 24 {
		t.Errorf("X-Request-ID = %q, want a generated id", id)
	}
}

func TestHealthPostgres(t *testing.T) {
	url := sqltest.PostgresURL(t) // skips without PUGUH_TEST_DATABASE_URL
	srv := startApp(t, map[string]string{"PUGUH_DATABASE_URL": url, "PUGUH_SECRET": testSecret})
	assertReply(t, get(t, srv.base+"/api/v1/health"), http.StatusOK, healthOK)
}

func TestHealthRedis(t *testing.T) {
	redisURL := os.Getenv("PUGUH_TEST_REDIS_URL")
	if redisURL == "" {
		t.Skip("Redis case skipped: set PUGUH_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/15) to run it")
	}
	srv := startApp(t, map[string]string{"PUGUH_REDIS_URL": redisURL})
	assertReply(t, get(t, srv.base+"/api/v1/health"), http.StatusOK,
		`{"status":"ok","database":"ok","redis":"ok"}`)
}

func TestHealthRedisDown(t *testing.T) {
	// A configured Redis that does not answer makes the instance unhealthy.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	srv := startApp(t, map[string]string{"PUGUH_REDIS_URL": "redis://" + addr + "/0"})
	got := get(t, srv.base+"/api/v1/health")
	assertReply(t, got, http.StatusServiceUnavailable, `{"status":"unavailable","database":"ok","redis":"unavailable"}`)
	if ra := got.header.Get("Retry-After"); ra != "5" {
		t.Fatalf("Retry-After = %q, want 5", ra)
	}
}

func TestHealthDatabaseUnavailable(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			srv := startApp(t, map[string]string{"PUGUH_DATABASE_URL": b.URL(t), "PUGUH_SECRET": testSecret})
			assertReply(t, get(t, srv.base+"/api/v1/health"), http.StatusOK, healthOK)

			// The database goes away under the running server.
			if err := srv.app.Store().Close(); err != nil {
				t.Fatal(err)
			}
			got := waitFor(t, srv.base+"/api/v1/health", http.StatusServiceUnavailable, 5*time.Second)
			assertReply(t, got, http.StatusServiceUnavailable, healthDBDown)
			if ra := got.header.Get("Retry-After"); ra != "5" {
				t.Fatalf("Retry-After = %q, want 5", ra)
			}
			// The rest of the server keeps answering.
			assertReply(t, get(t, srv.base+"/nope"), http.StatusNotFound, `{"detail":"Not Found"}`)
		})
	}
}

func TestMetricsEndpoint(t *testing.T) {
	srv := startApp(t, map[string]string{})
	get(t, srv.base+"/api/v1/health")
	get(t, srv.base+"/api/v1/nope")
	got := get(t, srv.admin+"/metrics")
	if got.status != http.StatusOK {
		t.Fatalf("GET /metrics = %d", got.status)
	}
	for _, line := range []string{
		`puguh_http_requests_total{code="200",method="GET",route="/api/v1/health"} 1`,
		`puguh_http_requests_total{code="404",method="GET",route="unmatched"} 1`,
		`puguh_http_request_duration_seconds_bucket{method="GET",route="/api/v1/health",le="+Inf"} 1`,
		"go_goroutines ",
		"process_open_fds ",
	} {
		if !strings.Contains(got.body, line) {
			t.Errorf("metrics lack %q", line)
		}
	}
}

// rawExchange writes req on a fresh connection and reads one response, so the
// test can send what well-behaved HTTP clients refuse to.
func rawExchange(t *testing.T, addr string, req []byte) reply {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	// Read while writing: the server may answer (and close) before it has read
	// all of an oversized request.
	werr := make(chan error, 1)
	go func() {
		_, err := conn.Write(req)
		werr <- err
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read response: %v (write: %v)", err, <-werr)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, body: string(body)}
}

func TestMalformedRequests(t *testing.T) {
	srv := startApp(t, map[string]string{})
	big := strings.Repeat("a", 100<<10)
	tests := []struct {
		name   string
		req    string
		status int
		body   string // "" skips the body check (net/http's own plain-text answers)
	}{
		{name: "100 KB header", status: 431,
			req: "GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + big + "\r\n\r\n"},
		{name: "many headers", status: 431,
			req: "GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n" + strings.Repeat("X-A: b\r\n", 20000) + "\r\n"},
		{name: "100 KB request line", status: 431,
			req: "GET /api/v1/health?q=" + big + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"},
		{name: "NUL in the path", status: 400,
			req: "GET /api/v1/health\x00 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"},
		{name: "encoded NUL in the path", status: 404, body: `{"detail":"Not Found"}`,
			req: "GET /api/v1/health%00 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"},
		{name: "encoded NUL in an unknown path", status: 404, body: `{"detail":"Not Found"}`,
			req: "GET /api/v1/%00/x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"},
		{name: "invalid UTF-8 in the path", status: 404, body: `{"detail":"Not Found"}`,
			req: "GET /api/v1/%ff%fe HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"},
		{name: "NUL in a header value", status: 400,
			req: "GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: a\x00b\r\n\r\n"},
		{name: "duplicated query parameters are ignored by health", status: 200, body: healthOK,
			req: "GET /api/v1/health?x=1&x=2&x=%00 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"},
		{name: "malformed query string", status: 200, body: healthOK,
			req: "GET /api/v1/health?%zz=%&;; HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"},
		{name: "duplicated query parameters on an unknown path", status: 404, body: `{"detail":"Not Found"}`,
			req: "GET /api/v1/users?id=1&id=2 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"},
		{name: "duplicated Host", status: 400,
			req: "GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: 127.0.0.2\r\n\r\n"},
		{name: "conflicting Content-Length", status: 400,
			req: "POST /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"},
		{name: "wrong method on health", status: 405, body: `{"detail":"Method Not Allowed"}`,
			req: "POST /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\n{}"},
		{name: "unknown method", status: 405, body: `{"detail":"Method Not Allowed"}`,
			req: "BREW /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"},
		{name: "garbage request line", status: 400,
			req: "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := rawExchange(t, srv.addr, []byte(tc.req))
			if got.status != tc.status {
				t.Fatalf("status = %d, want %d (body %.200q)", got.status, tc.status, got.body)
			}
			if tc.body != "" && got.body != tc.body {
				t.Fatalf("body = %s, want %s", got.body, tc.body)
			}
		})
	}
	// None of it hurt the server.
	assertReply(t, get(t, srv.base+"/api/v1/health"), http.StatusOK, healthOK)
	if logs := srv.logs.String(); strings.Contains(logs, `"status":500`) || strings.Contains(logs, `"msg":"panic"`) {
		t.Fatalf("a request failed with 500 or panicked:\n%s", logs)
	}
}

func TestWrongMethodListsAllowed(t *testing.T) {
	srv := startApp(t, map[string]string{})
	got := rawExchange(t, srv.addr, []byte("DELETE /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"))
	if got.status != http.StatusMethodNotAllowed || got.body != `{"detail":"Method Not Allowed"}` {
		t.Fatalf("got %d %s", got.status, got.body)
	}
	if allow := got.header.Get("Allow"); allow != "GET, HEAD" {
		t.Fatalf("Allow = %q, want \"GET, HEAD\"", allow)
	}
}

func TestNewFailsOnUnreachableDatabase(t *testing.T) {
	// An unusable database fails New with an error, not a panic or a hang.
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(func(k string) string {
		return map[string]string{
			"PUGUH_DATA_DIR":     dir,
			"PUGUH_DATABASE_URL": "sqlite:" + filepath.Join(blocker, "sub", "puguh.db"), // a file is in the way
			"PUGUH_SECRET":       testSecret,
		}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err == nil {
		a.Close()
		t.Fatal("app.New succeeded on an unusable database path")
	}
	if !strings.Contains(err.Error(), "open database") {
		t.Fatalf("app.New error = %v, want it to say open database", err)
	}
}
