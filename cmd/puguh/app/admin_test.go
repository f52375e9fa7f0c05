package app_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

const notFoundBody = `{"detail":"Not Found"}`

// TestAdminEndpoints: /metrics, the probes and the profiler live on the admin
// listener (PUGUH_ADMIN_ADDR); the public listener answers them with its
// ordinary JSON 404.
func TestAdminEndpoints(t *testing.T) {
	publicHasNone := func(t *testing.T, e *apptest.Env) {
		t.Helper()
		for _, path := range []string{"/metrics", "/debug/pprof/", "/debug/pprof/heap", "/debug/pprof/cmdline", "/livez", "/readyz"} {
			if r := e.Do(http.MethodGet, path, nil); r.Status != http.StatusNotFound || string(r.Body) != notFoundBody {
				t.Errorf("public GET %s: %d %.200s, want 404 %s", path, r.Status, r.Body, notFoundBody)
			}
		}
	}
	eachStack(t, nil, func(t *testing.T, e *apptest.Env) {
		publicHasNone(t, e)
		e.Do(http.MethodGet, "/api/v1/health", nil)
		m := e.Admin("/metrics")
		if m.Status != http.StatusOK {
			t.Fatalf("admin /metrics: %d", m.Status)
		}
		for _, line := range []string{
			`puguh_http_requests_total{code="200",method="GET",route="/api/v1/health"} 1`,
			`puguh_http_requests_total{code="404",method="GET",route="unmatched"} 6`,
			"go_goroutines ",
		} {
			if !strings.Contains(string(m.Body), line) {
				t.Errorf("metrics lack %q", line)
			}
		}
		// The admin listener's own requests are not counted.
		if strings.Contains(string(m.Body), `route="/metrics"`) {
			t.Errorf("metrics count the admin listener's requests")
		}
		for path, want := range map[string]string{"/livez": `{"status":"ok"}`, "/readyz": `{"status":"ok","database":"ok"}`} {
			if r := e.Admin(path); r.Status != http.StatusOK || string(r.Body) != want {
				t.Errorf("admin %s: %d %s, want 200 %s", path, r.Status, r.Body, want)
			}
		}
		if r := e.Admin("/debug/pprof/"); r.Status != http.StatusNotFound {
			t.Errorf("admin /debug/pprof/ without PUGUH_ADMIN_PPROF: %d, want 404", r.Status)
		}
	})
	t.Run("profiler", func(t *testing.T) {
		e := apptest.Start(t, apptest.Options{Env: map[string]string{"PUGUH_ADMIN_PPROF": "true"}})
		publicHasNone(t, e)
		for _, path := range []string{"/debug/pprof/", "/debug/pprof/cmdline", "/debug/pprof/heap?debug=1"} {
			if r := e.Admin(path); r.Status != http.StatusOK {
				t.Errorf("admin %s: %d %.200s", path, r.Status, r.Body)
			}
		}
	})
	t.Run("off", func(t *testing.T) {
		e := apptest.Start(t, apptest.Options{Env: map[string]string{"PUGUH_ADMIN_ADDR": "off"}})
		if e.AdminURL != "" {
			t.Fatalf("admin listener %s with PUGUH_ADMIN_ADDR=off", e.AdminURL)
		}
		publicHasNone(t, e)
	})
}

// TestReadinessDuringShutdown: once a graceful shutdown begins, /readyz
// answers 503 (take this replica out of rotation) while /livez stays 200 and
// the requests in flight finish; the admin listener closes last.
func TestReadinessDuringShutdown(t *testing.T) {
	eachStack(t, nil, func(t *testing.T, e *apptest.Env) {
		if r := e.Admin("/readyz"); r.Status != http.StatusOK {
			t.Fatalf("/readyz before shutdown: %d %s", r.Status, r.Body)
		}
		// A request in flight: its handler is reading the body. The server's
		// "100 Continue" proves the handler runs, so shutdown must wait for it.
		conn, err := net.DialTimeout("tcp", strings.TrimPrefix(e.URL, "http://"), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
		body := `{"email":"nobody@example.com","password":"not the password"}`
		if _, err := io.WriteString(conn, "POST /api/v1/auth/login HTTP/1.1\r\nHost: puguh\r\nContent-Type: application/json\r\n"+
			"Content-Length: "+strconv.Itoa(len(body))+"\r\nExpect: 100-continue\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(conn)
		if line, err := br.ReadString('\n'); err != nil || line != "HTTP/1.1 100 Continue\r\n" {
			t.Fatalf("want 100 Continue, got %q %v", line, err)
		}
		if _, err := br.ReadString('\n'); err != nil { // the blank line after it
			t.Fatal(err)
		}

		done := e.Shutdown()
		got := waitFor(t, e.AdminURL+"/readyz", http.StatusServiceUnavailable, 10*time.Second)
		assertReply(t, got, http.StatusServiceUnavailable, `{"status":"shutting_down"}`)
		if ra := got.header.Get("Retry-After"); ra != "5" {
			t.Errorf("Retry-After = %q, want 5", ra)
		}
		assertReply(t, get(t, e.AdminURL+"/livez"), http.StatusOK, `{"status":"ok"}`)
		select {
		case <-done:
			t.Fatal("the server stopped with a request in flight")
		default:
		}

		// The request finishes with a whole answer; then everything stops.
		if _, err := io.WriteString(conn, body); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("in-flight request got no answer: %v", err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || !resp.Close {
			t.Fatalf("in-flight request: %d %s (close %v), want 401 and Connection: close", resp.StatusCode, b, resp.Close)
		}
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Fatal("the server did not stop after its last request")
		}
		if c, err := net.DialTimeout("tcp", strings.TrimPrefix(e.AdminURL, "http://"), 2*time.Second); err == nil {
			c.Close()
			t.Fatal("the admin listener still accepts connections after shutdown")
		}
	})
}
