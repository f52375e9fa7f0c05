package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

type adminReply struct {
	status int
	body   string
}

// adminGet sends GET path to addr (host:port).
func adminGet(t *testing.T, addr, path string) adminReply {
	t.Helper()
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + addr + path)
	if err != nil {
		t.Fatalf("GET %s%s: %v", addr, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return adminReply{resp.StatusCode, string(b)}
}

// The real process serves /metrics, the probes and (with PUGUH_ADMIN_PPROF)
// the profiler on PUGUH_ADMIN_ADDR, and none of them on PUGUH_ADDR.
func TestAdminListener(t *testing.T) {
	addr, adminAddr := freeAddr(t), freeAddr(t)
	c := startChild(t, "serve", nil, nil, "PUGUH_DATA_DIR="+t.TempDir(), "PUGUH_ADDR="+addr,
		"PUGUH_ADMIN_ADDR="+adminAddr, "PUGUH_ADMIN_PPROF=true")
	waitHealthy(t, c, addr, 30*time.Second)

	for _, path := range []string{"/metrics", "/debug/pprof/", "/debug/pprof/cmdline", "/livez", "/readyz"} {
		if got := adminGet(t, addr, path); got.status != http.StatusNotFound || got.body != `{"detail":"Not Found"}` {
			t.Errorf("public %s: %d %.200s, want the JSON 404", path, got.status, got.body)
		}
	}
	for _, tc := range []struct {
		path, want string
	}{
		{"/metrics", `puguh_http_requests_total{code="200",method="GET",route="/api/v1/health"}`},
		{"/livez", `{"status":"ok"}`},
		{"/readyz", `{"status":"ok","database":"ok"}`},
		{"/debug/pprof/", "goroutine"},
		{"/debug/pprof/cmdline", ""},
	} {
		if got := adminGet(t, adminAddr, tc.path); got.status != http.StatusOK || !strings.Contains(got.body, tc.want) {
			t.Errorf("admin %s: %d %.300s, want 200 with %q", tc.path, got.status, got.body, tc.want)
		}
	}
	if !regexp.MustCompile(`"msg":"admin listening","addr":"` + regexp.QuoteMeta(adminAddr) + `","pprof":true`).MatchString(c.stderr.String()) {
		t.Errorf("no admin listening line in the log:\n%s", c.stderr)
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	if code := c.waitExit(t, 15*time.Second); code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}
}

// A non-loopback PUGUH_ADMIN_ADDR is allowed, with a warning; an address the
// admin listener cannot take stops serve with a line naming the variable.
// (192.0.2.1 is TEST-NET-1, not on this host: nothing is bound.)
func TestAdminListenerNotLoopback(t *testing.T) {
	var stderr bytes.Buffer
	env := map[string]string{"PUGUH_DATA_DIR": t.TempDir(), "PUGUH_ADDR": freeAddr(t), "PUGUH_ADMIN_ADDR": "192.0.2.1:9090"}
	code := run(context.Background(), []string{"serve"}, func(k string) string { return env[k] }, strings.NewReader(""), io.Discard, &stderr)
	if code != 1 {
		t.Fatalf("exit code %d, want 1:\n%s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), `"level":"WARN","msg":"admin listener is not on loopback`) {
		t.Errorf("no warning about the non-loopback admin address:\n%s", stderr.String())
	}
	if !regexp.MustCompile(`(?m)^puguh: listen on PUGUH_ADMIN_ADDR 192\.0\.2\.1:9090: .*$`).MatchString(stderr.String()) {
		t.Errorf("stderr does not name PUGUH_ADMIN_ADDR:\n%s", stderr.String())
	}
}
