package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The health check against a real server: 0 while it is ready. The
// environment is the container's (PostgreSQL URL, no reachable database, no
// secret): healthcheck reads none of it but PUGUH_ADMIN_ADDR.
func TestHealthcheckRealServer(t *testing.T) {
	addr, adminAddr := freeAddr(t), freeAddr(t)
	c := startChild(t, "serve", nil, nil, "PUGUH_DATA_DIR="+t.TempDir(), "PUGUH_ADDR="+addr, "PUGUH_ADMIN_ADDR="+adminAddr)
	waitHealthy(t, c, addr, 30*time.Second)

	env := map[string]string{"PUGUH_ADMIN_ADDR": adminAddr, "PUGUH_DATABASE_URL": "postgres://nobody@127.0.0.1:1/none"}
	code, out, errOut := runCmd(t, env, "healthcheck")
	want := "http://" + adminAddr + `/readyz: 200 {"status":"ok","database":"ok"}` + "\n"
	if code != 0 || out != want || errOut != "" {
		t.Fatalf("got %d %q %q, want 0 %q", code, out, errOut, want)
	}

	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	if code := c.waitExit(t, 15*time.Second); code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}
	code, out, errOut = runCmd(t, env, "healthcheck")
	if code != 1 || out != "" || !strings.HasPrefix(errOut, "puguh healthcheck: http://"+adminAddr+"/readyz: not ready: ") ||
		!strings.Contains(errOut, "connection refused") || strings.Count(errOut, "\n") != 1 {
		t.Fatalf("after shutdown: got %d %q %q, want 1 and one line saying connection refused", code, out, errOut)
	}
}

// Every answer but 200 is not ready, and says what came back in one line.
func TestHealthcheckAnswers(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "5")
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("{\"status\":\"shutting_down\"}\n"))
	})
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/elsewhere", http.StatusFound) })
	hang := make(chan struct{})
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(hang) })
	admin := strings.TrimPrefix(srv.URL, "http://")

	for _, tc := range []struct {
		name    string
		env     map[string]string
		args    []string
		code    int
		errText string
	}{
		{"draining", map[string]string{"PUGUH_ADMIN_ADDR": admin}, nil, 1,
			"puguh healthcheck: not ready: " + srv.URL + `/readyz: 503 {"status":"shutting_down"}` + "\n"},
		{"redirect is not ready", nil, []string{"--url", srv.URL + "/moved"}, 1,
			"puguh healthcheck: not ready: " + srv.URL + "/moved: 302 <a href=\"/elsewhere\">Found</a>.\n"},
		{"timeout", nil, []string{"--timeout", "50ms", "--url", srv.URL + "/hang"}, 1,
			"puguh healthcheck: " + srv.URL + "/hang: not ready: Get \"" + srv.URL + "/hang\": context deadline exceeded\n"},
		{"admin listener off", map[string]string{"PUGUH_ADMIN_ADDR": "Off"}, nil, 1,
			"puguh healthcheck: the admin listener is off (PUGUH_ADMIN_ADDR=off), and readiness is served only there; set PUGUH_ADMIN_ADDR (e.g. 127.0.0.1:9090) or pass --url\n"},
		{"bad admin address", map[string]string{"PUGUH_ADMIN_ADDR": "9090"}, nil, 1,
			"puguh healthcheck: PUGUH_ADMIN_ADDR \"9090\" is not host:port or off\n"},
		{"unknown flag", nil, []string{"--verbose"}, 2, "puguh healthcheck: unknown flag --verbose; run 'puguh help healthcheck'\n"},
		{"argument", nil, []string{"now"}, 2, "puguh healthcheck: unexpected argument \"now\"; run 'puguh help healthcheck'\n"},
		{"zero timeout", nil, []string{"--timeout", "0s"}, 2, "puguh healthcheck: --timeout must be positive; run 'puguh help healthcheck'\n"},
		{"unparsable timeout", nil, []string{"--timeout=soon"}, 2,
			"puguh healthcheck: invalid value \"soon\" for --timeout: parse error; run 'puguh help healthcheck'\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, tc.env, append([]string{"healthcheck"}, tc.args...)...)
			if code != tc.code || out != "" || errOut != tc.errText {
				t.Fatalf("got %d %q %q, want %d %q", code, out, errOut, tc.code, tc.errText)
			}
		})
	}
}

// The address the check dials for each PUGUH_ADMIN_ADDR the server accepts.
func TestReadyzURL(t *testing.T) {
	for _, tc := range []struct{ addr, want string }{
		{"", "http://127.0.0.1:9090/readyz"},
		{"  127.0.0.1:9091 ", "http://127.0.0.1:9091/readyz"},
		{"0.0.0.0:9090", "http://127.0.0.1:9090/readyz"},
		{":9090", "http://127.0.0.1:9090/readyz"},
		{"[::]:9090", "http://[::1]:9090/readyz"},
		{"[::1]:9090", "http://[::1]:9090/readyz"},
		{"localhost:9090", "http://localhost:9090/readyz"},
		{"10.1.2.3:9090", "http://10.1.2.3:9090/readyz"},
	} {
		t.Run(tc.addr, func(t *testing.T) {
			got, err := readyzURL(tc.addr)
			if err != nil || got != tc.want {
				t.Fatalf("readyzURL(%q) = %q, %v; want %q", tc.addr, got, err, tc.want)
			}
		})
	}
}

// A listener on every interface is probed on loopback: what the compose file
// does (PUGUH_ADMIN_ADDR=0.0.0.0:9090, so the balancer can check it too).
func TestHealthcheckWildcardAddr(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"status":"ok","database":"ok"}`))
	})}}
	srv.Start()
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	code, out, errOut := runCmd(t, map[string]string{"PUGUH_ADMIN_ADDR": "0.0.0.0:" + port}, "healthcheck")
	if want := "http://127.0.0.1:" + port + `/readyz: 200 {"status":"ok","database":"ok"}` + "\n"; code != 0 || out != want || errOut != "" {
		t.Fatalf("got %d %q %q, want 0 %q", code, out, errOut, want)
	}
}
